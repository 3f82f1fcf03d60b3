package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// testServer starts the engine in-process for cfg, or fails the test.
func testServer(t *testing.T, cfg *soakConfig) {
	t.Helper()
	cfg.dir = t.TempDir()
	stop, err := startServer(cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
}

// TestSoakShort runs a short soak against the engine: every operation
// succeeds and every file checks out on disk.
func TestSoakShort(t *testing.T) {
	cfg := &soakConfig{user: "u", pass: "p", clients: 4, duration: 2 * time.Second, maxSize: 256 << 10, seed: 1, timeout: 10 * time.Second}
	testServer(t, cfg)
	rep := runLogged(t, cfg)
	total := 0
	for _, n := range rep.ops {
		total += n
	}
	if !rep.ok() || total < 20 || rep.files == 0 || rep.ops["RETR"] == 0 || rep.ops["APPE"] == 0 {
		t.Errorf("soak: ok %v, %d operations, %d files checked", rep.ok(), total, rep.files)
	}
	if !rep.hooksChecked {
		t.Error("the engine's transfer hooks were not checked")
	}
}

// TestHookCountsCheck checks that a hook run too often, too rarely or for
// an incomplete transfer is reported.
func TestHookCountsCheck(t *testing.T) {
	ops := map[string]int{"STOR": 2, "APPE": 1, "RETR": 3, "REST+RETR": 1}
	for _, tc := range []struct {
		name    string
		set     func(h *hookCounts)
		wantBad int
	}{
		{"all match", func(h *hookCounts) {}, 0},
		{"one upload not reported", func(h *hookCounts) { h.received.Add(-1) }, 1},
		{"a download reported twice", func(h *hookCounts) { h.sent.Add(1) }, 1},
		{"an upload reported incomplete", func(h *hookCounts) { h.received.Add(-1); h.incompleteReceived.Add(1) }, 2},
	} {
		h := &hookCounts{}
		h.received.Store(3)
		h.sent.Store(4)
		tc.set(h)
		if bad := h.check(ops); len(bad) != tc.wantBad {
			t.Errorf("%s: %q, want %d complaints", tc.name, bad, tc.wantBad)
		}
	}
}

// TestSoakModes runs short soaks over FTPS, in active mode, both, and
// mixed with TYPE A: every operation succeeds, each kind runs, the data
// connections open the way the mode says, and every TLS data connection
// resumes its control connection's session (the engine requires it).
func TestSoakModes(t *testing.T) {
	tests := []struct {
		name  string
		tls   bool
		mode  string
		ascii bool
		from  string // the clients' address, "" for the system's pick
		// implicit FTPS (TLS from the first byte) instead of AUTH TLS
		implicit bool
		want     []string // data connection events that must occur
		never    []string // ... and that must not
	}{
		{name: "tls", tls: true, mode: modePassive,
			want: []string{"EPSV", "PASV", "TLS 1.3", "TLS 1.2"}, never: []string{"PORT", "EPRT", "TYPE A"}},
		{name: "active", mode: modeActive,
			want: []string{"PORT", "EPRT"}, never: []string{"EPSV", "PASV", "TLS 1.3", "TLS 1.2"}},
		{name: "tls+active", tls: true, mode: modeActive,
			want: []string{"PORT", "EPRT", "TLS 1.3", "TLS 1.2"}, never: []string{"EPSV", "PASV"}},
		{name: "tls+mixed+ascii", tls: true, mode: modeMixed, ascii: true,
			want: []string{"EPSV", "PASV", "PORT", "EPRT", "TLS 1.3", "TLS 1.2", "TYPE A"}},
		{name: "implicit+mixed", tls: true, implicit: true, mode: modeMixed,
			want: []string{"EPSV", "PASV", "PORT", "EPRT", "TLS 1.3", "TLS 1.2"}, never: []string{"TYPE A"}},
		// Over IPv6 PASV and PORT cannot name the address (RFC 2428).
		{name: "ipv6+tls+mixed", tls: true, mode: modeMixed, from: "::1",
			want: []string{"EPSV", "EPRT", "TLS 1.3", "TLS 1.2"}, never: []string{"PASV", "PORT"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A fixed seed and number of steps make the mix of operations
			// the same on every run; the duration only bounds a slow one.
			cfg := &soakConfig{
				user: "u", pass: "p", clients: 4, duration: 20 * time.Second, steps: 150,
				maxSize: 128 << 10, seed: uint64(10 + i), timeout: 10 * time.Second,
				tls: tt.tls, implicit: tt.implicit, mode: tt.mode, ascii: tt.ascii,
			}
			if tt.from != "" {
				cfg.from = netip.MustParseAddr(tt.from)
				l, err := net.Listen("tcp", net.JoinHostPort(tt.from, "0"))
				if err != nil {
					t.Skipf("no %s on this host: %v", tt.from, err)
				}
				l.Close()
			}
			testServer(t, cfg)
			rep := runLogged(t, cfg)
			if !rep.ok() || rep.files == 0 {
				t.Errorf("soak failed: ok %v, %d files checked", rep.ok(), rep.files)
			}
			for _, op := range opNames {
				if op != "reconnect" && rep.ops[op] == 0 {
					t.Errorf("no %s done", op)
				}
			}
			for _, e := range tt.want {
				if rep.data[e] == 0 {
					t.Errorf("no data connection with %s", e)
				}
			}
			for _, e := range tt.never {
				if rep.data[e] != 0 {
					t.Errorf("%d data connections with %s, want none", rep.data[e], e)
				}
			}
			for _, v := range []string{"TLS 1.2", "TLS 1.3"} {
				if rep.data[v+" resumed"] != rep.data[v] {
					t.Errorf("%d of %d %s data connections resumed, want all", rep.data[v+" resumed"], rep.data[v], v)
				}
			}
		})
	}
}

// TestDataArgs checks the PORT and EPRT arguments the client sends.
func TestDataArgs(t *testing.T) {
	tests := []struct {
		addr       string
		port, eprt string
	}{
		{"127.0.0.1:2121", "127,0,0,1,8,73", "|1|127.0.0.1|2121|"},
		{"192.168.1.20:65535", "192,168,1,20,255,255", "|1|192.168.1.20|65535|"},
		{"10.0.0.1:1024", "10,0,0,1,4,0", "|1|10.0.0.1|1024|"},
		{"[::1]:40000", "", "|2|::1|40000|"},
		{"[2001:db8::7]:50001", "", "|2|2001:db8::7|50001|"},
	}
	for _, tt := range tests {
		ap := netip.MustParseAddrPort(tt.addr)
		if tt.port != "" {
			if got := portArg(ap); got != tt.port {
				t.Errorf("portArg(%s) = %q, want %q", tt.addr, got, tt.port)
			}
		}
		if got := eprtArg(ap); got != tt.eprt {
			t.Errorf("eprtArg(%s) = %q, want %q", tt.addr, got, tt.eprt)
		}
	}
}

// TestAcceptActive checks the wait for the server's data connection in
// active mode: a connection is taken, even one the server has finished
// with (its 226 already sent), and a reply instead of a connection (425)
// ends the wait at once.
func TestAcceptActive(t *testing.T) {
	tests := []struct {
		name    string
		connect bool   // the server connects to the listener
		reply   string // then replies on the control connection
		wantErr string // "" wants the data connection
	}{
		{name: "connection", connect: true},
		{name: "connection and 226 at once", connect: true, reply: "226 Transfer complete."},
		{name: "425 instead", reply: "425 Can't open data connection.", wantErr: "the server replied 425"},
		{name: "nothing", wantErr: "i/o timeout"}, // after the client's timeout
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctl, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ctl.Close()
			conn, err := net.DialTimeout("tcp", ctl.Addr().String(), time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			srv, err := ctl.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			timeout := 5 * time.Second
			if tt.name == "nothing" {
				timeout = 300 * time.Millisecond
			}
			c := &client{conn: conn, r: bufio.NewReader(conn), timeout: timeout}
			l, err := listenActive(netip.MustParseAddr("127.0.0.1"))
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if tt.connect {
				d, err := net.DialTimeout("tcp", l.Addr().String(), time.Second)
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
			}
			if tt.reply != "" {
				io.WriteString(srv, tt.reply+"\r\n")
				time.Sleep(50 * time.Millisecond) // the reply comes first
			}
			start := time.Now()
			d, err := c.accept(l)
			if d != nil {
				d.Close()
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("accept: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("accept: %v, want an error with %q", err, tt.wantErr)
			case tt.reply != "" && time.Since(start) > timeout/2:
				t.Errorf("accept took %v to see the reply", time.Since(start))
			}
			if tt.reply != "" && tt.wantErr == "" {
				// The reply stays for the transfer to read.
				if text, err := c.expect("", 226); err != nil {
					t.Errorf("the 226 after the transfer: %q, %v", text, err)
				}
			}
		})
	}
}

// TestText checks text segments (printable ASCII and LF only) and their
// TYPE A form (CRLF line ends), across reads of every size.
func TestText(t *testing.T) {
	rec := &fileRec{segs: []segment{{1, 100 << 10, true}, {2, 0, true}, {3, 7, true}}}
	disk, err := io.ReadAll(rec.reader())
	if err != nil || len(disk) != 100<<10+7 {
		t.Fatalf("text file: %d bytes, %v", len(disk), err)
	}
	if i := bytes.IndexFunc(disk, func(r rune) bool { return r != '\n' && (r < ' ' || r > '~') }); i >= 0 {
		t.Fatalf("byte %d of a text file is %q", i, disk[i])
	}
	lines := bytes.Count(disk, []byte("\n"))
	if lines < 1000 {
		t.Fatalf("%d lines in %d bytes of text", lines, len(disk))
	}
	want := bytes.ReplaceAll(disk, []byte("\n"), []byte("\r\n"))
	for _, chunk := range []int{1, 2, 3, 4096, 1 << 20} {
		var got bytes.Buffer
		r := newCRLFReader(rec.reader())
		buf := make([]byte, chunk)
		for {
			n, err := r.Read(buf)
			got.Write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("reads of %d: TYPE A form of %d bytes differs from the %d wanted", chunk, got.Len(), len(want))
		}
	}
	sum, n := rec.asciiSum()
	if wantSum := sha256.Sum256(want); n != int64(len(want)) || sum != wantSum {
		t.Errorf("asciiSum = %x, %d; want %x, %d", sum[:8], n, wantSum[:8], len(want))
	}
}

// TestSoakDetectsDamage checks that the final check fails when a file on
// disk is not what was stored, and when a stray file appears.
func TestSoakDetectsDamage(t *testing.T) {
	cfg := &soakConfig{user: "u", pass: "p", clients: 2, duration: 500 * time.Millisecond, maxSize: 64 << 10, seed: 2, timeout: 10 * time.Second}
	testServer(t, cfg)
	cfg.beforeCheck = func() {
		dirs, _ := filepath.Glob(filepath.Join(cfg.dir, "soak-*"))
		if len(dirs) == 0 {
			t.Fatal("no soak directories")
		}
		files, _ := filepath.Glob(filepath.Join(dirs[0], "*.bin"))
		if len(files) == 0 {
			t.Fatal("no files stored")
		}
		if err := os.WriteFile(files[0], []byte("damaged"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dirs[len(dirs)-1], "stray.bin"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := runSoak(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ok() || len(rep.mismatches) != 2 {
		t.Errorf("damage not detected: ok %v, mismatches %q", rep.ok(), rep.mismatches)
	}
}

// TestProbeSmall runs -memprobe's measurement with a few sessions against
// an in-process server.
func TestProbeSmall(t *testing.T) {
	cfg := &soakConfig{user: "u", pass: "p"}
	testServer(t, cfg)
	pc := &probeConfig{addr: cfg.addr, user: "u", pass: "p", pid: os.Getpid(), sessions: 50, logins: 10, timeout: 10 * time.Second}
	rep, err := runProbe(pc)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.print(&b)
	t.Log("\n" + b.String())
	if rep.failed != 0 || rep.loginLoaded.n != 10 || (runtime.GOOS == "linux" && rep.rssLoaded <= 0) {
		t.Errorf("probe: %+v", rep)
	}
}

// TestSoakChaos runs short soaks with a third of the transfers
// interrupted, in the clear and over FTPS (active and passive mixed):
// every interruption gets the replies the engine documents, each kind
// happens, files whose upload was interrupted are stored again, and the
// engine, in this process, holds no more descriptors or goroutines after
// the clients leave than before they came.
func TestSoakChaos(t *testing.T) {
	for i, useTLS := range []bool{false, true} {
		name := "plain"
		if useTLS {
			name = "tls"
		}
		t.Run(name, func(t *testing.T) {
			cfg := &soakConfig{
				user: "u", pass: "p", clients: 4, duration: 20 * time.Second, steps: 150,
				maxSize: 256 << 10, seed: uint64(20 + i), timeout: 10 * time.Second,
				tls: useTLS, mode: modeMixed, chaos: 0.3,
			}
			testServer(t, cfg)
			cfg.leak = &leakCheck{pid: os.Getpid(), goroutines: true}
			rep := runLogged(t, cfg)
			if !rep.ok() || rep.files == 0 {
				t.Errorf("soak failed: ok %v, %d files checked", rep.ok(), rep.files)
			}
			for _, k := range chaosNames {
				if rep.ops[k] == 0 {
					t.Errorf("no %s done", k)
				}
			}
			switch {
			case rep.leak == nil:
				t.Error("no leak check")
			case runtime.GOOS == "linux" && rep.leak.before.fds < 0:
				t.Error("descriptors not counted")
			case rep.leak.before.goroutines < 0 || !rep.leak.ok():
				t.Errorf("leak check: %+v", rep.leak)
			}
		})
	}
}

// TestLeakCheck checks that the leak check sees descriptors and
// goroutines left open, and passes once they are gone.
func TestLeakCheck(t *testing.T) {
	if n, _ := countFDs(os.Getpid()); n < 0 {
		t.Skip("no /proc/self/fd")
	}
	l := &leakCheck{pid: os.Getpid(), goroutines: true, settle: 200 * time.Millisecond}
	base := l.sample()
	var files []*os.File
	for range fdMargin + 3 {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	stop := make(chan struct{})
	for range goroutineMargin + 3 {
		go func() { <-stop }()
	}
	r := l.check(base)
	if r.ok() || !r.fdsLeaked() || !r.goroutinesLeaked() {
		t.Errorf("%d files and %d goroutines left: check %+v passed", len(files), goroutineMargin+3, r)
	}
	for _, f := range files {
		f.Close()
	}
	close(stop)
	if r := l.check(base); !r.ok() {
		t.Errorf("all closed: check %+v failed", r)
	}
}

// TestPrefixWriter checks the comparison of partial data with what was
// stored.
func TestPrefixWriter(t *testing.T) {
	seg := segment{7, 100 << 10, false}
	data, _ := io.ReadAll(seg.reader())
	p := &prefixWriter{want: seg.reader()}
	if _, err := p.Write(data[:1000]); err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(data[1001:5000]) // the comparison went on at 1000
	if _, err := p.Write(bad); err == nil || !strings.Contains(err.Error(), "byte 1000 ") {
		t.Errorf("a skipped byte: %v", err)
	}
	p = &prefixWriter{want: seg.reader()}
	if _, err := p.Write(data[:1000]); err != nil || p.atEnd() == nil {
		t.Errorf("1000 bytes of 100 KiB: %v, and at the end", err)
	}
	p = &prefixWriter{want: seg.reader()}
	if _, err := p.Write(append(bytes.Clone(data), 0)); err == nil {
		t.Error("a byte past the end passed")
	}
	p = &prefixWriter{want: seg.reader()}
	if _, err := p.Write(data); err != nil || p.atEnd() != nil {
		t.Errorf("all of it: %v, %v", err, p.atEnd())
	}
}

// runLogged runs a soak and logs its report.
func runLogged(t *testing.T, cfg *soakConfig) *soakReport {
	t.Helper()
	rep, err := runSoak(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.print(&b, cfg)
	t.Log("\n" + b.String())
	return rep
}
