package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeServer is just enough FTP, on loopback, to drive the client through
// login, both passive forms and a transfer each way. Uploaded files live
// in memory.
type fakeServer struct {
	t      *testing.T
	ln     net.Listener
	noEPSV bool // answer EPSV with 502, as a server without it would

	mu    sync.Mutex
	files map[string]int64
}

func startFakeServer(t *testing.T, noEPSV bool) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{t: t, ln: ln, noEPSV: noEPSV, files: map[string]int64{"big": 3<<20 + 7}}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
		}
	}()
	return f
}

func (f *fakeServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(format string, args ...any) { fmt.Fprintf(c, format+"\r\n", args...) }
	say("220-fake server\r\n220 ready")
	var pasv net.Listener
	defer func() {
		if pasv != nil {
			pasv.Close()
		}
	}()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd, arg, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
		switch strings.ToUpper(cmd) {
		case "USER":
			say("331 password please")
		case "PASS":
			if arg == "secret" {
				say("230 in")
			} else {
				say("530 no")
			}
		case "TYPE":
			say("200 binary")
		case "EPSV", "PASV":
			if cmd == "EPSV" && f.noEPSV {
				say("502 not implemented")
				continue
			}
			if pasv, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
				say("425 %v", err)
				continue
			}
			p := pasv.Addr().(*net.TCPAddr).Port
			if cmd == "EPSV" {
				say("229 Entering Extended Passive Mode (|||%d|)", p)
			} else {
				say("227 Entering Passive Mode (127,0,0,1,%d,%d).", p>>8, p&255)
			}
		case "RETR", "STOR":
			dc, err := pasv.Accept()
			pasv.Close()
			pasv = nil
			if err != nil {
				say("425 %v", err)
				continue
			}
			say("150 go")
			if cmd == "RETR" {
				f.mu.Lock()
				n := f.files[arg]
				f.mu.Unlock()
				io.CopyN(dc, zeros{}, n)
			} else {
				n, _ := io.Copy(io.Discard, dc)
				f.mu.Lock()
				f.files[arg] = n
				f.mu.Unlock()
			}
			dc.Close()
			say("226 done")
		case "SIZE":
			f.mu.Lock()
			n, ok := f.files[arg]
			f.mu.Unlock()
			if ok {
				say("213 %d", n)
			} else {
				say("550 no such file")
			}
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 %s?", cmd)
		}
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestClientTransfers(t *testing.T) {
	for _, noEPSV := range []bool{false, true} {
		t.Run(fmt.Sprintf("noEPSV=%v", noEPSV), func(t *testing.T) {
			f := startFakeServer(t, noEPSV)
			d := &dialer{addr: f.ln.Addr().String(), host: "127.0.0.1", user: "u", pass: "secret", timeout: 5 * time.Second}
			s, err := d.login(context.Background())
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			defer s.quit()
			buf := make([]byte, 1<<16)
			n, err := s.retr("big", buf)
			if err != nil || n != 3<<20+7 {
				t.Fatalf("retr = %d, %v; want %d", n, err, 3<<20+7)
			}
			sent, err := s.stor("up", buf, 1<<20+1, time.Time{})
			if err != nil || sent != 1<<20+1 {
				t.Fatalf("stor = %d, %v; want %d", sent, err, 1<<20+1)
			}
			if got, err := s.size("up"); err != nil || got != sent {
				t.Fatalf("size = %d, %v; want %d", got, err, sent)
			}
			sent, err = s.stor("timed", buf, 0, time.Now().Add(50*time.Millisecond))
			if err != nil || sent == 0 {
				t.Fatalf("timed stor = %d, %v", sent, err)
			}
			if s.noEPSV != noEPSV {
				t.Errorf("noEPSV = %v, want %v", s.noEPSV, noEPSV)
			}
		})
	}
}

func TestLoginRefused(t *testing.T) {
	f := startFakeServer(t, false)
	d := &dialer{addr: f.ln.Addr().String(), host: "127.0.0.1", user: "u", pass: "wrong", timeout: 5 * time.Second}
	_, tries, err := d.loginRetry(context.Background(), 5)
	if err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	if tries != 0 {
		t.Errorf("a wrong password was retried %d times", tries)
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&replyError{r: reply{code: 421}}, true},
		{&replyError{r: reply{code: 530}}, false},
		{fmt.Errorf("greeting: %w", io.EOF), true},
		{fmt.Errorf("other"), false},
	}
	for _, tt := range tests {
		if got := retryable(tt.err); got != tt.want {
			t.Errorf("retryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestLoginBatches(t *testing.T) {
	tests := []struct {
		name       string
		pass       string
		wantValue  bool
		wantErrors int
		wantNote   string
	}{
		{"good password", "secret", true, 0, "median of 3 batches: "},
		{"wrong password", "wrong", false, 3 * 4, "530"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFakeServer(t, false)
			d := &dialer{addr: f.ln.Addr().String(), host: "127.0.0.1", user: "u", pass: tt.pass, timeout: 5 * time.Second}
			b := newBench(context.Background(), config{budget: time.Minute}, d, d, io.Discard)
			rs := b.rowLoginBatches("login-7", d, " with 7 sessions open", ", 7 open", 4, 3, time.Minute)
			if len(rs) != 2 || rs[0].ID != "login-7-p50" || rs[1].ID != "login-7-p99" {
				t.Fatalf("rows = %+v, want login-7-p50 and login-7-p99", rs)
			}
			for _, r := range rs {
				if (r.Value != nil) != tt.wantValue {
					t.Errorf("%s: value %v, want one: %v", r.ID, r.Value, tt.wantValue)
				}
				if r.Value != nil && *r.Value <= 0 {
					t.Errorf("%s: value %v ms, want > 0", r.ID, *r.Value)
				}
				if r.Errors != tt.wantErrors {
					t.Errorf("%s: %d errors, want %d", r.ID, r.Errors, tt.wantErrors)
				}
				if !strings.Contains(r.Note, tt.wantNote) {
					t.Errorf("%s: note %q lacks %q", r.ID, r.Note, tt.wantNote)
				}
			}
		})
	}
}

func TestLoginBatchesStopWhenSlow(t *testing.T) {
	f := startFakeServer(t, false)
	d := &dialer{addr: f.ln.Addr().String(), host: "127.0.0.1", user: "u", pass: "secret", timeout: 5 * time.Second}
	b := newBench(context.Background(), config{budget: time.Minute}, d, d, io.Discard)
	rs := b.rowLoginBatches("login-7", d, "", "", 2, 3, time.Nanosecond)
	for _, r := range rs {
		if r.Value == nil {
			t.Fatalf("%s: no value: %s", r.ID, r.Note)
		}
		if !strings.Contains(r.Note, "1 batch") {
			t.Errorf("%s: note %q, want one batch", r.ID, r.Note)
		}
	}
}
