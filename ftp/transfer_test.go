package ftp_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goftp "github.com/jlaffaye/ftp"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

// startRETR starts a download of name that stays in progress while the
// client does not read (small receive buffer) and returns its data
// connection.
func startRETR(c *dcClient, name string) net.Conn {
	c.t.Helper()
	d := c.data(dcPASV, dcSmallRcvBuf)
	c.expect("RETR "+name, 150)
	return d.Conn()
}

// startSTOR starts an upload to line ("STOR x", "APPE x") and returns its
// data connection.
func startSTOR(c *dcClient, line string) net.Conn {
	c.t.Helper()
	d := c.data(dcPASV)
	c.expect(line, 150)
	return d.Conn()
}

// drain reads conn to its end and returns how many bytes came; it fails
// the test if the end does not come before the deadline.
func dcDrain(t *testing.T, conn net.Conn) int64 {
	t.Helper()
	n, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("data connection still open after %d bytes: %v", n, err)
	}
	return n
}

// TestTransferResumeRETR checks REST then RETR at several offsets, with a
// raw client and with jlaffaye/ftp's RetrFrom, and the FileSent hook.
func TestTransferResumeRETR(t *testing.T) {
	t.Parallel()
	hooks, opt := dcRecordHooks()
	srv := ftptest.NewServer(t, opt)
	src := dcRandom(t, 1<<20+3)
	dcWriteFile(t, srv.Dir, "f.bin", src)
	for _, off := range []int{0, 1, 500000, len(src) - 1, len(src)} {
		c := dcLoginUser(t, srv)
		r := c.expect("REST "+strconv.Itoa(off), 350)
		if !strings.Contains(r.Text, strconv.Itoa(off)) {
			t.Errorf("REST reply %v does not repeat the offset", r)
		}
		got := c.get(dcEPSV, "f.bin")
		if !bytes.Equal(got, src[off:]) {
			t.Errorf("REST %d + RETR: got %d bytes, want the %d after the offset", off, len(got), len(src)-off)
		}
		hooks.expect(t, "FileSent", "RETR", "/f.bin", int64(off), int64(len(src)-off), false)
		// The offset is used once: the next RETR starts at 0.
		if got := c.get(dcEPSV, "f.bin"); !bytes.Equal(got, src) {
			t.Errorf("RETR after a resumed RETR: got %d bytes, want %d", len(got), len(src))
		}
		hooks.expect(t, "FileSent", "RETR", "/f.bin", 0, int64(len(src)), false)
	}
	t.Run("jlaffaye RetrFrom", func(t *testing.T) {
		gc := dcGoClient(t, srv)
		resp, err := gc.RetrFrom("f.bin", 12345)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp)
		resp.Close()
		if err != nil || !bytes.Equal(got, src[12345:]) {
			t.Fatalf("RetrFrom 12345: %d bytes, %v", len(got), err)
		}
		hooks.expect(t, "FileSent", "RETR", "/f.bin", 12345, int64(len(src)-12345), false)
	})
}

// dcGoClient logs in with jlaffaye/ftp.
func dcGoClient(t *testing.T, srv *ftptest.Server) *goftp.ServerConn {
	t.Helper()
	gc, err := goftp.Dial(srv.Addr, goftp.DialWithTimeout(dcTimeout))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gc.Quit() })
	if err := gc.Login(ftptest.User, ftptest.Password); err != nil {
		t.Fatal(err)
	}
	return gc
}

// TestTransferResumeSTOR checks REST then STOR: the file keeps its bytes
// before the offset, takes the new ones from there, and ends with them
// (whatever followed the offset before is replaced).
func TestTransferResumeSTOR(t *testing.T) {
	t.Parallel()
	hooks, opt := dcRecordHooks()
	srv := ftptest.NewServer(t, opt)
	src := dcRandom(t, 1<<20+5)
	junk := bytes.Repeat([]byte("J"), 1000)
	for _, off := range []int{0, 1, 700000, len(src) - 1, len(src)} {
		name := fmt.Sprintf("resume-%d.bin", off)
		dcWriteFile(t, srv.Dir, name, append(append([]byte(nil), src[:off]...), junk...))
		c := dcLoginUser(t, srv)
		c.expect("REST "+strconv.Itoa(off), 350)
		c.put(dcPASV, "STOR "+name, src[off:])
		if got := dcReadFile(t, srv.Dir, name); !bytes.Equal(got, src) {
			t.Errorf("REST %d + STOR: file has %d bytes, want %d (sha256 %x vs %x)", off, len(got), len(src), sha256.Sum256(got), sha256.Sum256(src))
		}
		hooks.expect(t, "FileReceived", "STOR", "/"+name, int64(off), int64(len(src)-off), false)
	}
	t.Run("jlaffaye StorFrom", func(t *testing.T) {
		dcWriteFile(t, srv.Dir, "go.bin", src[:4096])
		gc := dcGoClient(t, srv)
		if err := gc.StorFrom("go.bin", bytes.NewReader(src[4096:]), 4096); err != nil {
			t.Fatal(err)
		}
		if got := dcReadFile(t, srv.Dir, "go.bin"); !bytes.Equal(got, src) {
			t.Fatalf("StorFrom 4096: file has %d bytes, want %d", len(got), len(src))
		}
		hooks.expect(t, "FileReceived", "STOR", "/go.bin", 4096, int64(len(src)-4096), false)
	})
}

// TestTransferRESTErrors checks the refusals around REST, and that a
// refused transfer leaves the file alone and the offset spent.
func TestTransferRESTErrors(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	tests := []struct {
		name  string
		cmds  []string
		codes []int
	}{
		{"RETR beyond EOF", []string{"REST 11", "RETR ten.txt"}, []int{350, 554}},
		{"STOR beyond EOF", []string{"REST 11", "STOR ten.txt"}, []int{350, 554}},
		{"APPE beyond EOF", []string{"REST 11", "APPE ten.txt"}, []int{350, 554}},
		{"STOR resume of a missing file", []string{"REST 5", "STOR missing.txt"}, []int{350, 550}},
		{"negative", []string{"REST -1"}, []int{501}},
		{"not a number", []string{"REST abc"}, []int{501}},
		{"fraction", []string{"REST 10.1"}, []int{501}},
		{"no argument", []string{"REST"}, []int{501}},
		{"ASCII mode", []string{"TYPE A", "REST 5"}, []int{200, 504}},
		{"ASCII mode, REST 0", []string{"TYPE A", "REST 0"}, []int{200, 350}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.Name()[len("TestTransferRESTErrors/"):]
			c := dcLoginUser(t, srv)
			c.expect("MKD "+dir, 257)
			c.expect("CWD "+dir, 250)
			dcWriteFile(t, srv.Dir, dir+"/ten.txt", []byte("0123456789"))
			for i, cmd := range tt.cmds {
				if strings.HasPrefix(cmd, "RETR") || strings.HasPrefix(cmd, "STOR") || strings.HasPrefix(cmd, "APPE") {
					c.pasvReply()
				}
				c.expect(cmd, tt.codes[i])
			}
			if got := dcReadFile(t, srv.Dir, dir+"/ten.txt"); string(got) != "0123456789" {
				t.Errorf("file changed to %q", got)
			}
			if _, err := os.Stat(filepath.Join(srv.Dir, dir, "missing.txt")); !os.IsNotExist(err) {
				t.Errorf("a refused resume created the file (%v)", err)
			}
			// Whatever REST set was spent: a RETR now starts at 0.
			c.expect("TYPE I", 200)
			if got := c.get(dcEPSV, "ten.txt"); string(got) != "0123456789" {
				t.Errorf("RETR after the refusal: %q", got)
			}
		})
	}
}

// TestTransferRESTSpent checks that REST applies to the next transfer
// command only, even when that command is refused or is STOU: a REST
// left pending would make a later RETR silently start mid-file.
func TestTransferRESTSpent(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	dcWriteFile(t, srv.Dir, "ten.txt", []byte("0123456789"))
	if err := srv.Users.Add("reader", "pw", srv.Dir, ftp.Permissions{Default: ftp.PermRead}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Users.Add("writer", "pw", srv.Dir, ftp.Permissions{Default: ftp.PermAll &^ ftp.PermRetrieve}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, user string
		cmd        string
		code       int
		upload     bool
	}{
		{"RETR of a missing file", "user", "RETR missing.txt", 550, false},
		{"STOR to a directory", "user", "STOR /", 550, false},
		{"STOR refused by permissions", "reader", "STOR new.txt", 550, false},
		{"APPE refused by permissions", "reader", "APPE ten.txt", 550, false},
		{"RETR refused by permissions", "writer", "RETR ten.txt", 550, false},
		{"STOU", "user", "STOU", 150, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pass := ftptest.Password
			if tt.user != "user" {
				pass = "pw"
			}
			c := dcLogin(t, srv, tt.user, pass)
			c.expect("REST 3", 350)
			if tt.upload {
				// Either runs (and spends the offset) or is refused
				// while a REST is pending, as pyftpdlib does (450).
				d := c.data(dcEPSV)
				switch r := c.cmd(tt.cmd); r.Code {
				case 150:
					d.Conn().Write([]byte("unique"))
					d.Conn().Close()
					c.expectReply(226)
				case 450, 503:
				default:
					t.Fatalf("%s after REST: %v", tt.cmd, r)
				}
			} else {
				c.pasvReply()
				c.expect(tt.cmd, tt.code)
			}
			// The offset is spent: a RETR sends the whole file, a STOR of
			// a new file is not taken for a resume (550).
			if tt.user == "writer" {
				c.put(dcEPSV, "STOR fresh-after-rest.txt", []byte("whole"))
				if got := dcReadFile(t, srv.Dir, "fresh-after-rest.txt"); string(got) != "whole" {
					t.Errorf("STOR after REST 3 and %s stored %q", tt.cmd, got)
				}
				return
			}
			if got := c.get(dcEPSV, "ten.txt"); string(got) != "0123456789" {
				t.Errorf("RETR after REST 3 and %s: %q, want the whole file", tt.cmd, got)
			}
		})
	}
}

// TestTransferAPPE checks APPE on a new file, on an existing one, and
// resumed with REST at the file's size, with the FileReceived hook.
func TestTransferAPPE(t *testing.T) {
	t.Parallel()
	hooks, opt := dcRecordHooks()
	srv := ftptest.NewServer(t, opt)
	c := dcLoginUser(t, srv)

	c.put(dcEPSV, "APPE log.txt", []byte("one\n"))
	hooks.expect(t, "FileReceived", "APPE", "/log.txt", 0, 4, false)
	c.put(dcPORT, "APPE log.txt", []byte("two\n"))
	hooks.expect(t, "FileReceived", "APPE", "/log.txt", 4, 4, false)
	c.expect("REST 8", 350)
	c.put(dcEPSV, "APPE log.txt", []byte("three\n"))
	hooks.expect(t, "FileReceived", "APPE", "/log.txt", 8, 6, false)
	if got := dcReadFile(t, srv.Dir, "log.txt"); string(got) != "one\ntwo\nthree\n" {
		t.Errorf("after three APPEs the file holds %q", got)
	}
	big := dcRandom(t, 3<<20)
	c.put(dcPASV, "APPE log.txt", big)
	hooks.expect(t, "FileReceived", "APPE", "/log.txt", 14, int64(len(big)), false)
	if got := dcReadFile(t, srv.Dir, "log.txt"); !bytes.Equal(got, append([]byte("one\ntwo\nthree\n"), big...)) {
		t.Errorf("after a large APPE the file has %d bytes, want %d", len(got), 14+len(big))
	}
	c.expect("MKD adir", 257)
	c.pasvReply()
	c.expect("APPE adir", 550)
}

// TestTransferSTOU checks STOU: the 150 reply names the file ("FILE:
// name"), the name is the suggested one when free and a unique variant
// otherwise, and an existing file is never touched.
func TestTransferSTOU(t *testing.T) {
	t.Parallel()
	hooks, opt := dcRecordHooks()
	srv := ftptest.NewServer(t, opt)
	dcWriteFile(t, srv.Dir, "report.txt", []byte("original"))
	dcWriteFile(t, srv.Dir, "sub/keep", nil)
	fileRe := regexp.MustCompile(`FILE: (\S+)`)
	tests := []struct {
		name   string
		cwd    string
		cmd    string
		want   *regexp.Regexp // the name in "FILE: name"
		inDir  string
		repeat int
	}{
		{"no argument", "/", "STOU", regexp.MustCompile(`^ftp\.[0-9a-f]{8}$`), "", 2},
		{"free name", "/", "STOU fresh.txt", regexp.MustCompile(`^fresh\.txt$`), "", 1},
		{"taken name", "/", "STOU report.txt", regexp.MustCompile(`^report\.txt\.[0-9a-f]{8}$`), "", 2},
		{"in a subdirectory", "/", "STOU sub/x.log", regexp.MustCompile(`^x\.log$`), "sub", 1},
		{"in the working directory", "/sub", "STOU", regexp.MustCompile(`^ftp\.[0-9a-f]{8}$`), "sub", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dcLoginUser(t, srv)
			c.expect("CWD "+tt.cwd, 250)
			seen := map[string]bool{}
			for i := 0; i < tt.repeat; i++ {
				body := []byte(fmt.Sprintf("%s #%d", tt.name, i))
				opening, _ := c.put(dcEPSV, tt.cmd, body)
				m := fileRe.FindStringSubmatch(opening.Text)
				if m == nil || !tt.want.MatchString(m[1]) {
					t.Fatalf("%s: 150 reply %v, want FILE: %v", tt.cmd, opening, tt.want)
				}
				if seen[m[1]] {
					t.Fatalf("%s gave the name %s twice", tt.cmd, m[1])
				}
				seen[m[1]] = true
				if got := dcReadFile(t, srv.Dir, filepath.Join(tt.inDir, m[1])); !bytes.Equal(got, body) {
					t.Errorf("%s: file %s holds %q, want %q", tt.cmd, m[1], got, body)
				}
				hooks.expect(t, "FileReceived", "STOU", "/"+filepath.ToSlash(filepath.Join(tt.inDir, m[1])), 0, int64(len(body)), false)
			}
		})
	}
	if got := dcReadFile(t, srv.Dir, "report.txt"); string(got) != "original" {
		t.Errorf("STOU changed an existing file: %q", got)
	}
	t.Run("anonymous", func(t *testing.T) {
		c := dcLogin(t, srv, "anonymous", "a@b.c")
		c.pasvReply()
		c.expect("STOU", 550)
	})
}

// dcToCRLF is a reference LF -> CRLF conversion: every LF not already
// after a CR gains one.
func dcToCRLF(b []byte) []byte {
	var out []byte
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

// TestTransferASCIIRETR checks TYPE A downloads: bare LF becomes CRLF,
// existing CRLF and lone CR stay, also where a CRLF or an LF falls on the
// server's read-chunk boundary.
func TestTransferASCIIRETR(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	const chunk = 128 << 10 // the engine's ASCII read size
	mixed := make([]byte, 0, 1<<20)
	for i := 0; len(mixed) < 1<<20; i++ {
		mixed = append(mixed, "line "+strconv.Itoa(i)...)
		switch i % 4 {
		case 0, 1:
			mixed = append(mixed, '\n')
		case 2:
			mixed = append(mixed, "\r\n"...)
		case 3:
			mixed = append(mixed, "\r"...) // a lone CR, then the next line
		}
	}
	tests := []struct {
		name string
		in   []byte
		want []byte
	}{
		{"empty", nil, nil},
		{"LF", []byte("a\nb\n"), []byte("a\r\nb\r\n")},
		{"CRLF kept", []byte("a\r\nb\r\n"), []byte("a\r\nb\r\n")},
		{"blank lines", []byte("\n\n"), []byte("\r\n\r\n")},
		{"lone CR kept", []byte("a\rb\r"), []byte("a\rb\r")},
		{"CRLF across the chunk boundary", append(bytes.Repeat([]byte("x"), chunk-1), "\r\ny\n"...), append(bytes.Repeat([]byte("x"), chunk-1), "\r\ny\r\n"...)},
		{"LF first in the next chunk", append(bytes.Repeat([]byte("x"), chunk), "\ny"...), append(bytes.Repeat([]byte("x"), chunk), "\r\ny"...)},
		{"mixed 1 MiB", mixed, dcToCRLF(mixed)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name := fmt.Sprintf("a%d.txt", i)
			dcWriteFile(t, srv.Dir, name, tt.in)
			c := dcLoginUser(t, srv)
			c.expect("TYPE A", 200)
			if got := c.get(dcEPSV, name); !bytes.Equal(got, tt.want) {
				t.Errorf("TYPE A RETR: got %d bytes %q, want %d bytes %q", len(got), dcClip(got), len(tt.want), dcClip(tt.want))
			}
			c.expect("TYPE I", 200)
			if got := c.get(dcEPSV, name); !bytes.Equal(got, tt.in) {
				t.Errorf("TYPE I RETR after TYPE A: got %d bytes, want the file's %d", len(got), len(tt.in))
			}
		})
	}
}

func dcClip(b []byte) []byte {
	if len(b) > 60 {
		return b[len(b)-60:]
	}
	return b
}

// TestTransferASCIISTOR checks TYPE A uploads: CRLF becomes LF, a lone CR
// stays, also when the CR and its LF come in separate writes (and so,
// most likely, separate reads on the server).
func TestTransferASCIISTOR(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"CRLF", []string{"a\r\nb\r\n"}, "a\nb\n"},
		{"bare LF kept", []string{"a\nb\n"}, "a\nb\n"},
		{"lone CR kept", []string{"a\rb"}, "a\rb"},
		{"CR at the end kept", []string{"end\r"}, "end\r"},
		{"CR CR LF", []string{"\r\r\n"}, "\r\n"},
		{"CRLF split across writes", []string{"line1\r", "\nline2\r", "\n"}, "line1\nline2\n"},
		{"CR then other byte across writes", []string{"x\r", "y"}, "x\ry"},
		{"CR alone in a write", []string{"a", "\r", "\n", "b"}, "a\nb"},
		{"CR CR across writes", []string{"\r", "\r", "\n"}, "\r\n"},
		// The server gathers at least 64 KiB per read and at most 128 KiB:
		// a CR that ends either read has its LF in the next one.
		{"CRLF split at 64 KiB", []string{strings.Repeat("x", 64<<10-1) + "\r", "\ny"}, strings.Repeat("x", 64<<10-1) + "\ny"},
		{"CRLF split at 128 KiB", []string{strings.Repeat("x", 128<<10-1) + "\r", "\ny"}, strings.Repeat("x", 128<<10-1) + "\ny"},
		{"lone CR at 64 KiB", []string{strings.Repeat("x", 64<<10-1) + "\r", "y"}, strings.Repeat("x", 64<<10-1) + "\ry"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name := fmt.Sprintf("s%d.txt", i)
			c := dcLoginUser(t, srv)
			c.expect("TYPE A", 200)
			conn := startSTOR(c, "STOR "+name)
			for j, w := range tt.writes {
				if j > 0 {
					time.Sleep(40 * time.Millisecond)
				}
				if _, err := io.WriteString(conn, w); err != nil {
					t.Fatal(err)
				}
			}
			conn.Close()
			c.expectReply(226)
			if got := dcReadFile(t, srv.Dir, name); string(got) != tt.want {
				t.Errorf("TYPE A STOR of %q: file holds %q, want %q", dcClip([]byte(strings.Join(tt.writes, "|"))), dcClip(got), dcClip([]byte(tt.want)))
			}
		})
	}
	t.Run("round trip", func(t *testing.T) {
		t.Parallel()
		text := []byte(strings.Repeat("some text\r\n", 50000))
		c := dcLoginUser(t, srv)
		c.expect("TYPE A", 200)
		c.put(dcPASV, "STOR rt.txt", text)
		if got := dcReadFile(t, srv.Dir, "rt.txt"); !bytes.Equal(got, bytes.ReplaceAll(text, []byte("\r\n"), []byte("\n"))) {
			t.Errorf("stored %d bytes, want %d with LF line ends", len(got), len(text)-50000)
		}
		if got := c.get(dcPASV, "rt.txt"); !bytes.Equal(got, text) {
			t.Errorf("TYPE A RETR gave %d bytes, want the %d sent", len(got), len(text))
		}
	})
}

// TestTransferBinaryDefault checks that without TYPE, and after TYPE I or
// TYPE L 8, bytes travel untouched.
func TestTransferBinaryDefault(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	data := append([]byte("a\r\nb\nc\r\x00\xff"), dcRandom(t, 1<<16)...)
	for _, typ := range []string{"", "TYPE I", "TYPE L 8", "TYPE A|TYPE I"} {
		t.Run("["+typ+"]", func(t *testing.T) {
			c := dcLoginUser(t, srv)
			if typ != "" {
				for _, cmd := range strings.Split(typ, "|") {
					c.expect(cmd, 200)
				}
			}
			c.put(dcEPSV, "STOR bin.dat", data)
			if got := dcReadFile(t, srv.Dir, "bin.dat"); !bytes.Equal(got, data) {
				t.Errorf("stored file differs (%d bytes, want %d)", len(got), len(data))
			}
			if got := c.get(dcEPSV, "bin.dat"); !bytes.Equal(got, data) {
				t.Errorf("retrieved bytes differ (%d, want %d)", len(got), len(data))
			}
		})
	}
}

// TestTransferABOR checks ABOR in the middle of a RETR and of a STOR
// (plain, and preceded by Telnet IP and Synch as RFC 959 asks): 426 then
// 226, the data connection closed, the incomplete hooks called, the
// partial upload kept.
func TestTransferABOR(t *testing.T) {
	t.Parallel()
	hooks, opt := dcRecordHooks()
	srv := ftptest.NewServer(t, opt)
	const size = 16 << 20
	src := dcRandom(t, size)
	dcWriteFile(t, srv.Dir, "big.bin", src)
	abors := map[string][]byte{
		"ABOR":        []byte("ABOR\r\n"),
		"IAC IP DM":   []byte("\xff\xf4\xff\xf2ABOR\r\n"),
		"lower case":  []byte("abor\r\n"),
		"IAC IP only": []byte("\xff\xf4ABOR\r\n"),
	}
	for name, abor := range abors {
		t.Run("RETR/"+name, func(t *testing.T) {
			c := dcLoginUser(t, srv)
			conn := startRETR(c, "big.bin")
			head := make([]byte, 64<<10)
			if _, err := io.ReadFull(conn, head); err != nil || !bytes.Equal(head, src[:len(head)]) {
				t.Fatalf("first bytes of RETR: %v", err)
			}
			c.sendBytes(abor)
			if r := c.read(); r.Code != 426 {
				t.Fatalf("ABOR during RETR: first reply %v, want 426", r)
			}
			c.expectReply(226)
			if n := dcDrain(t, conn); int64(len(head))+n >= size {
				t.Errorf("the whole file arrived (%d bytes) despite ABOR", int64(len(head))+n)
			}
			ti := hooks.next(t)
			if ti.Kind != "IncompleteSent" || ti.Info.Path != "/big.bin" || ti.Info.Err == nil || ti.Info.Bytes >= size || ti.Info.Bytes < int64(len(head)) {
				t.Errorf("hook after ABOR: %s %+v", ti.Kind, ti.Info)
			}
			c.expect("NOOP", 200)
		})
		t.Run("STOR/"+name, func(t *testing.T) {
			c := dcLoginUser(t, srv)
			target := "up-" + strings.ReplaceAll(name, " ", "_") + ".bin"
			conn := startSTOR(c, "STOR "+target)
			part := src[:256<<10]
			if _, err := conn.Write(part); err != nil {
				t.Fatal(err)
			}
			c.statBytes(int64(len(part)))
			c.sendBytes(abor)
			r := c.read()
			if r.Code != 426 {
				t.Fatalf("ABOR during STOR: first reply %v, want 426", r)
			}
			c.expectReply(226)
			dcDrain(t, conn)
			if got := dcReadFile(t, srv.Dir, target); !bytes.Equal(got, part) {
				t.Errorf("partial file has %d bytes, want the %d sent", len(got), len(part))
			}
			hooks.expect(t, "IncompleteReceived", "STOR", "/"+target, 0, int64(len(part)), true)
			c.expect("NOOP", 200)
		})
	}
}

// TestTransferClientClosesRETR checks a download whose client closes the
// data connection early: 426 (not 226) and IncompleteSent.
func TestTransferClientClosesRETR(t *testing.T) {
	t.Parallel()
	hooks, opt := dcRecordHooks()
	srv := ftptest.NewServer(t, opt)
	const size = 16 << 20
	dcWriteFile(t, srv.Dir, "big.bin", dcRandom(t, size))
	for _, typ := range []string{"I", "A"} {
		t.Run("TYPE "+typ, func(t *testing.T) {
			c := dcLoginUser(t, srv)
			c.expect("TYPE "+typ, 200)
			conn := startRETR(c, "big.bin")
			if _, err := io.ReadFull(conn, make([]byte, 64<<10)); err != nil {
				t.Fatal(err)
			}
			conn.Close()
			r := c.expectReply(426)
			ev := hooks.next(t)
			if ev.Kind != "IncompleteSent" || ev.Info.Err == nil || ev.Info.Bytes >= size {
				t.Errorf("hook after an early close: %s %+v (reply %v)", ev.Kind, ev.Info, r)
			}
			c.expect("NOOP", 200)
		})
	}
}

// TestTransferABORIdle checks ABOR with no transfer (225), after PASV (225,
// and the passive port is closed) and while a transfer waits for its data
// connection (426 then 226).
func TestTransferABORIdle(t *testing.T) {
	t.Parallel()
	hooks, opt := dcRecordHooks()
	srv := ftptest.NewServer(t, opt)
	dcWriteFile(t, srv.Dir, "keep.txt", []byte("precious"))
	c := dcLoginUser(t, srv)
	c.expect("ABOR", 225)

	port := c.pasvReply().Port()
	c.expect("ABOR", 225)
	if conn, err := dcDialFrom(c.localIP(), c.serverAddr(port)); err == nil {
		conn.Close()
		t.Errorf("the passive port %d still accepts after ABOR", port)
	}
	c.expect("LIST", 425)

	c.pasvReply()
	c.expect("STOR keep.txt", 150)
	c.expect("ABOR", 426)
	c.expectReply(226)
	if got := dcReadFile(t, srv.Dir, "keep.txt"); string(got) != "precious" {
		t.Errorf("ABOR before the data connection opened changed the file to %q", got)
	}
	hooks.none(t)
	c.expect("NOOP", 200)
}

// TestTransferControlDuringTransfer checks the control connection while a
// RETR or STOR runs: STAT reports progress, NOOP answers at once, STAT
// with a path waits its turn (450), QUIT lets the transfer finish (226)
// before 221, and other commands wait so replies stay in order.
func TestTransferControlDuringTransfer(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	const size = 16 << 20
	src := dcRandom(t, size)
	want := sha256.Sum256(src)
	dcWriteFile(t, srv.Dir, "big.bin", src)
	readRest := func(t *testing.T, conn net.Conn, head []byte) {
		t.Helper()
		h := sha256.New()
		h.Write(head)
		if _, err := io.Copy(h, conn); err != nil {
			t.Fatal(err)
		}
		if [32]byte(h.Sum(nil)) != want {
			t.Fatal("downloaded bytes differ from the file")
		}
	}
	readHead := func(t *testing.T, conn net.Conn) []byte {
		t.Helper()
		head := make([]byte, 256<<10)
		if _, err := io.ReadFull(conn, head); err != nil {
			t.Fatal(err)
		}
		return head
	}

	t.Run("STAT and NOOP during RETR", func(t *testing.T) {
		t.Parallel()
		c := dcLoginUser(t, srv)
		conn := startRETR(c, "big.bin")
		head := readHead(t, conn)
		r := c.expect("STAT", 211)
		m := dcProgressRe.FindStringSubmatch(strings.Join(r.Lines, "\n"))
		if m == nil {
			for _, l := range r.Lines {
				if m = dcProgressRe.FindStringSubmatch(l); m != nil {
					break
				}
			}
		}
		if m == nil || m[1] != "RETR" || m[2] != "/big.bin" {
			t.Fatalf("STAT during RETR: %v, want a progress line for RETR /big.bin", r)
		}
		if n, _ := strconv.ParseInt(m[3], 10, 64); n < int64(len(head)) || n >= size {
			t.Errorf("STAT progress %d bytes, want between %d and %d", n, len(head), size)
		}
		c.expect("NOOP", 200)
		c.expect("PWD", 257)
		c.expect("STAT /", 450)
		readRest(t, conn, head)
		c.expectReply(226)
		if r := c.expect("STAT", 211); strings.Contains(r.Full(), "Transferring") {
			t.Errorf("STAT after the transfer still shows it: %v", r)
		}
	})
	t.Run("STAT during STOR", func(t *testing.T) {
		t.Parallel()
		c := dcLoginUser(t, srv)
		conn := startSTOR(c, "STOR stat-up.bin")
		if _, err := conn.Write(src[:512<<10]); err != nil {
			t.Fatal(err)
		}
		n := c.statBytes(512 << 10)
		if n != 512<<10 {
			t.Errorf("STAT progress %d bytes, want %d", n, 512<<10)
		}
		r := c.expect("STAT", 211)
		if !strings.Contains(r.Full(), "Transferring (STOR /stat-up.bin)") {
			t.Errorf("STAT during STOR: %v", r)
		}
		conn.Close()
		c.expectReply(226)
	})
	t.Run("QUIT during RETR", func(t *testing.T) {
		t.Parallel()
		c := dcLoginUser(t, srv)
		conn := startRETR(c, "big.bin")
		head := readHead(t, conn)
		c.send("QUIT")
		c.expectSilence(100 * time.Millisecond)
		readRest(t, conn, head)
		c.expectReply(226)
		c.expectReply(221)
		if extra := c.expectClosed(); len(extra) != 0 {
			t.Errorf("replies after 221: %v", extra)
		}
	})
	t.Run("QUIT during STOR", func(t *testing.T) {
		t.Parallel()
		c := dcLoginUser(t, srv)
		conn := startSTOR(c, "STOR quit-up.bin")
		if _, err := conn.Write(src[:1<<20]); err != nil {
			t.Fatal(err)
		}
		c.send("QUIT")
		if _, err := conn.Write(src[1<<20:]); err != nil {
			t.Fatal(err)
		}
		conn.Close()
		c.expectReply(226)
		c.expectReply(221)
		c.expectClosed()
		if sum, n := dcFileSum(t, filepath.Join(srv.Dir, "quit-up.bin")); sum != want || n != size {
			t.Errorf("upload finished after QUIT holds %d bytes with another sha256", n)
		}
	})
	t.Run("other commands wait", func(t *testing.T) {
		t.Parallel()
		c := dcLoginUser(t, srv)
		conn := startRETR(c, "big.bin")
		head := readHead(t, conn)
		c.send("MKD waited")
		c.send("SIZE big.bin")
		c.expectSilence(300 * time.Millisecond)
		if _, err := os.Stat(filepath.Join(srv.Dir, "waited")); !os.IsNotExist(err) {
			t.Errorf("MKD ran while the transfer was running (%v)", err)
		}
		readRest(t, conn, head)
		c.expectReply(226)
		c.expectReply(257)
		if r := c.expectReply(213); r.Text != strconv.Itoa(size) {
			t.Errorf("SIZE: %v", r)
		}
	})
}

// TestTransferRateLimits checks MaxDownloadRate and MaxUploadRate: the
// data arrive intact and not faster than the limit allows (a generous
// bound: 256 KiB at 128 KiB/s takes more than one second).
func TestTransferRateLimits(t *testing.T) {
	t.Parallel()
	const rate = 128 << 10
	src := dcRandom(t, 256<<10)
	for _, dir := range []string{"download", "upload"} {
		for _, typ := range []string{"I", "A"} {
			t.Run(dir+"/TYPE "+typ, func(t *testing.T) {
				t.Parallel()
				srv := ftptest.NewServer(t, dcWithServer(func(s *ftp.Server) {
					if dir == "download" {
						s.MaxDownloadRate = rate
					} else {
						s.MaxUploadRate = rate
					}
				}))
				// In TYPE A, bytes without line ends travel as they are.
				data := src
				if typ == "A" {
					data = bytes.Repeat([]byte("x"), len(src))
				}
				dcWriteFile(t, srv.Dir, "f.bin", data)
				c := dcLoginUser(t, srv)
				c.expect("TYPE "+typ, 200)
				start := time.Now()
				if dir == "download" {
					if got := c.get(dcEPSV, "f.bin"); !bytes.Equal(got, data) {
						t.Fatalf("rate-limited RETR: %d bytes differ", len(got))
					}
				} else {
					c.put(dcEPSV, "STOR up.bin", data)
					if got := dcReadFile(t, srv.Dir, "up.bin"); !bytes.Equal(got, data) {
						t.Fatalf("rate-limited STOR: %d bytes differ", len(got))
					}
				}
				if d := time.Since(start); d < time.Second {
					t.Errorf("%d bytes at %d B/s took %s, want more than 1s", len(data), rate, d)
				}
			})
		}
	}
}

// TestTransferIdleTimeoutPauses checks that the control idle timeout does
// not cut a session whose transfer runs longer than it, while an idle
// session is cut (421).
func TestTransferIdleTimeoutPauses(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t, dcWithServer(func(s *ftp.Server) {
		s.IdleTimeout = 300 * time.Millisecond
		s.MaxDownloadRate = 128 << 10
		s.MaxUploadRate = 128 << 10
	}))
	src := dcRandom(t, 256<<10)
	dcWriteFile(t, srv.Dir, "slow.bin", src)
	t.Run("download", func(t *testing.T) {
		t.Parallel()
		c := dcLoginUser(t, srv)
		start := time.Now()
		if got := c.get(dcEPSV, "slow.bin"); !bytes.Equal(got, src) {
			t.Fatal("slow download differs")
		}
		if d := time.Since(start); d < time.Second {
			t.Errorf("transfer took only %s: it did not outlast the idle timeout", d)
		}
		c.expect("NOOP", 200)
	})
	t.Run("upload", func(t *testing.T) {
		t.Parallel()
		c := dcLoginUser(t, srv)
		c.put(dcEPSV, "STOR slow-up.bin", src)
		if got := dcReadFile(t, srv.Dir, "slow-up.bin"); !bytes.Equal(got, src) {
			t.Fatal("slow upload differs")
		}
		c.expect("NOOP", 200)
	})
	t.Run("idle session is cut", func(t *testing.T) {
		t.Parallel()
		c := dcLoginUser(t, srv)
		c.expectReply(421)
		c.expectClosed()
	})
}

// TestTransferStallTimeout checks that a transfer moving no byte for
// StallTimeout is aborted with 426, the hooks say so, and the session
// goes on; and that a slow transfer that keeps moving is not. TYPE I
// runs the zero-copy path, TYPE A the buffered one (as TLS does).
func TestTransferStallTimeout(t *testing.T) {
	t.Parallel()
	hooks, opt := dcRecordHooks()
	const stall = 300 * time.Millisecond
	srv := ftptest.NewServer(t, opt, dcWithServer(func(s *ftp.Server) { s.StallTimeout = stall }))
	const size = 16 << 20
	dcWriteFile(t, srv.Dir, "big.bin", dcRandom(t, size))
	for _, typ := range []string{"I", "A"} {
		t.Run("STOR TYPE "+typ, func(t *testing.T) {
			c := dcLoginUser(t, srv)
			c.expect("TYPE "+typ, 200)
			conn := startSTOR(c, "STOR stalled.bin")
			if _, err := conn.Write([]byte("ten bytes.")); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			r := c.expectReply(426)
			if d := time.Since(start); d < 250*time.Millisecond {
				t.Errorf("426 after %s, before StallTimeout", d)
			}
			if !strings.Contains(r.Text, "stalled") {
				t.Errorf("stall reply %v does not say so", r)
			}
			if got := dcReadFile(t, srv.Dir, "stalled.bin"); string(got) != "ten bytes." {
				t.Errorf("partial file holds %q", got)
			}
			hooks.expect(t, "IncompleteReceived", "STOR", "/stalled.bin", 0, 10, true)
			c.expect("NOOP", 200)
		})
		t.Run("slow STOR TYPE "+typ, func(t *testing.T) {
			// 24 writes 50 ms apart: four stall periods in all, never one
			// without a byte.
			c := dcLoginUser(t, srv)
			c.expect("TYPE "+typ, 200)
			conn := startSTOR(c, "STOR slow.bin")
			var sent []byte
			for i := range 24 {
				line := fmt.Appendf(nil, "line %02d\n", i)
				if _, err := conn.Write(line); err != nil {
					t.Fatal(err)
				}
				sent = append(sent, line...)
				time.Sleep(stall / 6)
			}
			conn.Close()
			c.expectReply(226)
			if got := dcReadFile(t, srv.Dir, "slow.bin"); string(got) != string(sent) {
				t.Errorf("slow upload stored %q, want %q", got, sent)
			}
			hooks.expect(t, "FileReceived", "STOR", "/slow.bin", 0, int64(len(sent)), false)
		})
		t.Run("RETR TYPE "+typ, func(t *testing.T) {
			c := dcLoginUser(t, srv)
			c.expect("TYPE "+typ, 200)
			conn := startRETR(c, "big.bin")
			r := c.expectReply(426) // the client never reads
			if !strings.Contains(r.Text, "stalled") {
				t.Errorf("stall reply %v does not say so", r)
			}
			ev := hooks.next(t)
			if ev.Kind != "IncompleteSent" || ev.Info.Err == nil || ev.Info.Bytes >= size {
				t.Errorf("hook after a stalled RETR: %s %+v", ev.Kind, ev.Info)
			}
			dcDrain(t, conn)
			c.expect("NOOP", 200)
		})
	}
}

// TestTransferBrokenUpload checks that an upload whose data connection is
// reset by the client keeps the bytes received, says 426 and calls
// IncompleteReceived, never FileReceived.
func TestTransferBrokenUpload(t *testing.T) {
	t.Parallel()
	hooks, opt := dcRecordHooks()
	srv := ftptest.NewServer(t, opt)
	for _, typ := range []string{"I", "A"} {
		t.Run("TYPE "+typ, func(t *testing.T) {
			c := dcLoginUser(t, srv)
			c.expect("TYPE "+typ, 200)
			part := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB, no line ends
			name := "broken-" + typ + ".bin"
			conn := startSTOR(c, "STOR "+name)
			if _, err := conn.Write(part); err != nil {
				t.Fatal(err)
			}
			// The server may gather up to 128 KiB before it counts them.
			seen := c.statBytes(int64(len(part) - 128<<10))
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close() // RST
			r := c.expectReply(426)
			if !strings.Contains(r.Text, "partial") {
				t.Errorf("reply to a broken upload %v does not say the partial file is kept", r)
			}
			got := dcReadFile(t, srv.Dir, name)
			if int64(len(got)) < seen || !bytes.Equal(got, part[:len(got)]) {
				t.Errorf("partial file has %d bytes (a prefix: %v), want at least the %d the server had counted", len(got), bytes.Equal(got, part[:min(len(got), len(part))]), seen)
			}
			hooks.expect(t, "IncompleteReceived", "STOR", "/"+name, 0, int64(len(got)), true)
			hooks.none(t)
			c.expect("NOOP", 200)
		})
	}
}

// TestTransferNeverOpened checks that a STOR (or APPE) whose data
// connection never opens neither truncates an existing file nor leaves a
// new empty one.
func TestTransferNeverOpened(t *testing.T) {
	t.Parallel()
	hooks, opt := dcRecordHooks()
	srv := ftptest.NewServer(t, opt, dcWithServer(func(s *ftp.Server) { s.DataTimeout = 300 * time.Millisecond }))
	dcWriteFile(t, srv.Dir, "keep.txt", []byte("precious"))
	for _, cmd := range []string{"STOR keep.txt", "APPE keep.txt", "REST 3|STOR keep.txt", "STOR new.txt", "APPE new2.txt"} {
		t.Run(cmd, func(t *testing.T) {
			c := dcLoginUser(t, srv)
			cmds := strings.Split(cmd, "|")
			for _, pre := range cmds[:len(cmds)-1] {
				c.expect(pre, 350)
			}
			c.pasvReply()
			c.expect(cmds[len(cmds)-1], 150)
			c.expectReply(425)
			if got := dcReadFile(t, srv.Dir, "keep.txt"); string(got) != "precious" {
				t.Errorf("file became %q", got)
			}
			for _, n := range []string{"new.txt", "new2.txt"} {
				if _, err := os.Stat(filepath.Join(srv.Dir, n)); !os.IsNotExist(err) {
					t.Errorf("%s left behind (%v)", n, err)
				}
			}
			hooks.none(t)
		})
	}
}

// dcFaultyFS is a RootFS whose files opened for writing fail to close
// with err, as a full disk or a network filesystem can.
type dcFaultyFS struct {
	*ftp.RootFS
	err error
}

func (f dcFaultyFS) OpenFile(name string, flag int, perm fs.FileMode) (ftp.File, error) {
	file, err := f.RootFS.OpenFile(name, flag, perm)
	if err != nil || flag&(os.O_WRONLY|os.O_RDWR) == 0 {
		return file, err
	}
	return dcFaultyFile{file.(*os.File), f.err}, nil
}

type dcFaultyFile struct {
	*os.File
	err error
}

func (f dcFaultyFile) Close() error {
	f.File.Close()
	return f.err
}

// TestTransferCloseError checks that 226 comes only after the uploaded
// file closed without error: a failing Close gives an error reply and
// IncompleteReceived instead.
func TestTransferCloseError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		code int
	}{
		{"disk full", syscall.ENOSPC, 452},
		{"quota", syscall.EDQUOT, 552},
		{"other", errors.New("write-back failed"), 451},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hooks, opt := dcRecordHooks()
			srv := ftptest.NewServer(t, opt)
			root := dcRootFS(t, srv.Dir)
			if err := srv.Users.AddFS("faulty", "pw", dcFaultyFS{root, tt.err}, ftp.Permissions{Default: ftp.PermAll}); err != nil {
				t.Fatal(err)
			}
			c := dcLogin(t, srv, "faulty", "pw")
			conn := startSTOR(c, "STOR f.bin")
			conn.Write([]byte("data"))
			conn.Close()
			c.expectReply(tt.code)
			hooks.expect(t, "IncompleteReceived", "STOR", "/f.bin", 0, 4, true)
			c.expect("NOOP", 200)
		})
	}
}

// TestTransferFileClosedBefore226 checks that when 226 arrives the
// uploaded file is complete on disk, and that FileReceived saw it so.
func TestTransferFileClosedBefore226(t *testing.T) {
	t.Parallel()
	src := dcRandom(t, 8<<20)
	var srv *ftptest.Server
	sizes := make(chan int64, 1)
	srv = ftptest.NewServer(t, func(s *ftptest.Server) {
		s.FTP.Hooks.FileReceived = func(ti ftp.TransferInfo) {
			fi, err := os.Stat(filepath.Join(srv.Dir, ti.Path))
			if err != nil {
				sizes <- -1
				return
			}
			sizes <- fi.Size()
		}
	})
	c := dcLoginUser(t, srv)
	for _, mode := range []string{"I", "A"} {
		c.expect("TYPE "+mode, 200)
		data := src
		if mode == "A" {
			data = bytes.Repeat([]byte("y"), len(src))
		}
		c.put(dcEPSV, "STOR closed.bin", data)
		if sum, n := dcFileSum(t, filepath.Join(srv.Dir, "closed.bin")); sum != sha256.Sum256(data) {
			t.Errorf("TYPE %s: at 226 the file has %d bytes and another sha256", mode, n)
		}
		select {
		case n := <-sizes:
			if n != int64(len(data)) {
				t.Errorf("TYPE %s: FileReceived saw %d bytes on disk, want %d", mode, n, len(data))
			}
		case <-time.After(dcTimeout):
			t.Fatal("FileReceived not called")
		}
	}
}

// TestTransferSameNameConcurrent checks that while one session uploads a
// file, another session's STOR or APPE of the same name gets 450, and can
// go ahead once the first is done.
func TestTransferSameNameConcurrent(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	a, b := dcLoginUser(t, srv), dcLoginUser(t, srv)
	conn := startSTOR(a, "STOR shared.bin")
	if _, err := conn.Write([]byte("first writer ")); err != nil {
		t.Fatal(err)
	}
	a.statBytes(13)
	for _, cmd := range []string{"STOR shared.bin", "APPE shared.bin", "STOR /./shared.bin"} {
		b.pasvReply()
		b.expect(cmd, 450)
	}
	if _, err := conn.Write([]byte("done")); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	a.expectReply(226)
	if got := dcReadFile(t, srv.Dir, "shared.bin"); string(got) != "first writer done" {
		t.Errorf("file holds %q", got)
	}
	b.put(dcEPSV, "STOR shared.bin", []byte("second"))
	if got := dcReadFile(t, srv.Dir, "shared.bin"); string(got) != "second" {
		t.Errorf("file holds %q after the second STOR", got)
	}
}

// TestTransferReplaceNeedsDelete checks the engine's rule that replacing
// a file destroys it, so STOR over an existing file needs "d" as well as
// "w"; APPE needs only "a".
func TestTransferReplaceNeedsDelete(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	if err := srv.Users.Add("dropbox", "pw", srv.Dir, ftp.Permissions{Default: ftp.PermAll &^ ftp.PermDelete}); err != nil {
		t.Fatal(err)
	}
	c := dcLogin(t, srv, "dropbox", "pw")
	c.put(dcEPSV, "STOR new.txt", []byte("first"))
	c.pasvReply()
	c.expect("STOR new.txt", 550)
	c.expect("REST 2", 350)
	c.pasvReply()
	c.expect("STOR new.txt", 550)
	if got := dcReadFile(t, srv.Dir, "new.txt"); string(got) != "first" {
		t.Errorf("refused STOR changed the file to %q", got)
	}
	c.put(dcEPSV, "APPE new.txt", []byte("+more"))
	c.put(dcEPSV, "STOU new.txt", []byte("unique"))
	if got := dcReadFile(t, srv.Dir, "new.txt"); string(got) != "first+more" {
		t.Errorf("file holds %q", got)
	}
	full := dcLoginUser(t, srv)
	full.put(dcEPSV, "STOR new.txt", []byte("replaced"))
	if got := dcReadFile(t, srv.Dir, "new.txt"); string(got) != "replaced" {
		t.Errorf("full user's STOR left %q", got)
	}
}

// TestTransferHooks checks the TransferInfo of completed transfers, and
// that listings call no transfer hook.
func TestTransferHooks(t *testing.T) {
	t.Parallel()
	hooks, opt := dcRecordHooks()
	srv := ftptest.NewServer(t, opt)
	c := dcLoginUser(t, srv)
	c.expect("MKD d", 257)
	c.put(dcPORT, "STOR d/h.bin", []byte("0123456789"))
	ti := hooks.expect(t, "FileReceived", "STOR", "/d/h.bin", 0, 10, false)
	if ti.Session.User != ftptest.User || ti.Session.Anonymous || ti.Duration <= 0 {
		t.Errorf("TransferInfo.Session %+v, Duration %s", ti.Session, ti.Duration)
	}
	c.expect("CWD d", 250)
	if got := c.get(dcEPRT, "h.bin"); string(got) != "0123456789" {
		t.Fatalf("RETR: %q", got)
	}
	hooks.expect(t, "FileSent", "RETR", "/d/h.bin", 0, 10, false)
	c.expect("REST 4", 350)
	c.get(dcPASV, "../d/h.bin")
	hooks.expect(t, "FileSent", "RETR", "/d/h.bin", 4, 6, false)
	c.expect("REST 10", 350)
	c.put(dcEPSV, "STOR h.bin", []byte("abc"))
	hooks.expect(t, "FileReceived", "STOR", "/d/h.bin", 10, 3, false)
	c.put(dcEPSV, "APPE /d/h.bin", []byte("de"))
	hooks.expect(t, "FileReceived", "APPE", "/d/h.bin", 13, 2, false)
	c.list("LIST")
	c.list("NLST")
	c.list("MLSD")
	hooks.none(t)

	anon := dcLogin(t, srv, "anonymous", "x@y.z")
	anon.get(dcEPSV, "/d/h.bin")
	ti = hooks.expect(t, "FileSent", "RETR", "/d/h.bin", 0, 15, false)
	if !ti.Session.Anonymous {
		t.Errorf("anonymous download: Session %+v", ti.Session)
	}
}

// TestTransferRefusals checks the replies of transfers that cannot run.
func TestTransferRefusals(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	dcWriteFile(t, srv.Dir, "f.txt", []byte("x"))
	dcWriteFile(t, srv.Dir, "dir/g.txt", []byte("y"))
	tests := []struct {
		user string
		cmd  string
		code int
	}{
		{"user", "RETR missing.txt", 550},
		{"user", "RETR dir", 550},
		{"user", "RETR", 501},
		{"user", "STOR dir", 550},
		{"user", "STOR nodir/x.txt", 550},
		{"user", "STOR", 501},
		{"user", "APPE", 501},
		{"anonymous", "STOR a.txt", 550},
		{"anonymous", "APPE f.txt", 550},
		{"anonymous", "STOU", 550},
		{"anonymous", "STOR f.txt", 550},
	}
	for _, tt := range tests {
		t.Run(tt.user+"/"+tt.cmd, func(t *testing.T) {
			t.Parallel()
			pass := ftptest.Password
			if tt.user == "anonymous" {
				pass = "a@b.c"
			}
			c := dcLogin(t, srv, tt.user, pass)
			c.pasvReply()
			c.expect(tt.cmd, tt.code)
			c.expect("NOOP", 200)
		})
	}
	if got := dcReadFile(t, srv.Dir, "f.txt"); string(got) != "x" {
		t.Errorf("a refused command changed f.txt to %q", got)
	}
	if _, err := os.Stat(filepath.Join(srv.Dir, "a.txt")); !os.IsNotExist(err) {
		t.Errorf("anonymous STOR created a.txt (%v)", err)
	}
}

// TestTransferBeyond4GiB checks offsets and sizes past 32 bits, as disk
// images and videos have, on a sparse file of 5 GiB and a few bytes (no
// 5 GiB is moved): SIZE, MLST, LIST, REST+RETR of the tail (sendfile from
// that offset, passive and active), REST+STOR and APPE past 4 GiB.
func TestTransferBeyond4GiB(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	const base = 5 << 30 // 5,368,709,120
	path := filepath.Join(srv.Dir, "big.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteAt([]byte("tail bytes."), base)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Skipf("cannot make a sparse file of 5 GiB here: %v", err)
	}
	size := strconv.Itoa(base + 11)
	c := dcLoginUser(t, srv)
	c.expect("TYPE I", 200)
	if r := c.expect("SIZE big.img", 213); r.Text != size {
		t.Errorf("SIZE: %q, want %s", r.Text, size)
	}
	if r := c.expect("MLST big.img", 250); !strings.Contains(strings.ToLower(r.Full()), "size="+size+";") {
		t.Errorf("MLST does not give size=%s:\n%s", size, r.Full())
	}
	if b := c.list("LIST big.img"); !bytes.Contains(b, []byte(" "+size+" ")) {
		t.Errorf("LIST does not give the size %s: %q", size, b)
	}
	for _, mode := range []dcMode{dcEPSV, dcPORT} {
		c.expect(fmt.Sprintf("REST %d", base+5), 350)
		if b := c.get(mode, "big.img"); string(b) != "bytes." {
			t.Errorf("%s: REST %d + RETR: %q, want %q", mode, base+5, b, "bytes.")
		}
	}
	// REST + STOR writes from the offset and drops what followed it.
	c.expect(fmt.Sprintf("REST %d", base+5), 350)
	c.put(dcEPSV, "STOR big.img", []byte("BYTES"))
	c.put(dcEPSV, "APPE big.img", []byte(", more"))
	want := base + int64(len("tail BYTES, more"))
	if fi, err := os.Stat(path); err != nil || fi.Size() != want {
		t.Fatalf("after REST+STOR and APPE: size %v, %v; want %d", fi.Size(), err, want)
	}
	g, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	tail := make([]byte, 16)
	if _, err := g.ReadAt(tail, base); err != nil || string(tail) != "tail BYTES, more" {
		t.Errorf("the file ends with %q, %v; want %q", tail, err, "tail BYTES, more")
	}
}
