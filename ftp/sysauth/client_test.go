package sysauth

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
)

// testTimeout bounds every exchange with a test server. A wrong password
// through PAM's "login" service alone costs about three seconds.
const testTimeout = 30 * time.Second

// serve starts an engine on 127.0.0.1:0 with auth and returns its address;
// it is closed when the test ends.
func serve(t *testing.T, auth ftp.Authorizer) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := &ftp.Server{
		Auth:           auth,
		LoginFailDelay: time.Millisecond,
		Logger:         testLogger(),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Errorf("Serve did not return after Close")
		}
	})
	return l.Addr().String()
}

// testLogger shows errors only, unless FTPTEST_LOG=debug.
func testLogger() *slog.Logger {
	level := slog.LevelError
	if os.Getenv("FTPTEST_LOG") == "debug" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// client is a minimal FTP client that shows the exact reply codes.
type client struct {
	t  *testing.T
	c  net.Conn
	tp *textproto.Conn
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetDeadline(time.Now().Add(testTimeout))
	cl := &client{t: t, c: c, tp: textproto.NewConn(c)}
	t.Cleanup(func() { c.Close() })
	if code, msg := cl.read(); code != 220 {
		t.Fatalf("greeting: %d %s", code, msg)
	}
	return cl
}

func (cl *client) read() (int, string) {
	cl.t.Helper()
	code, msg, err := cl.tp.ReadResponse(0)
	if err != nil && code == 0 {
		cl.t.Fatalf("read reply: %v", err)
	}
	return code, msg
}

// cmd sends one command and returns the reply.
func (cl *client) cmd(format string, args ...any) (int, string) {
	cl.t.Helper()
	if err := cl.tp.PrintfLine(format, args...); err != nil {
		cl.t.Fatalf("send: %v", err)
	}
	return cl.read()
}

// login sends USER and PASS and returns PASS's reply code.
func (cl *client) login(user, password string) int {
	cl.t.Helper()
	if code, msg := cl.cmd("USER %s", user); code != 331 {
		cl.t.Fatalf("USER %s: %d %s", user, code, msg)
	}
	code, _ := cl.cmd("PASS %s", password)
	return code
}

// dataConn opens a passive data connection with EPSV.
func (cl *client) dataConn() net.Conn {
	cl.t.Helper()
	code, msg := cl.cmd("EPSV")
	if code != 229 {
		cl.t.Fatalf("EPSV: %d %s", code, msg)
	}
	i, j := strings.Index(msg, "(|||"), strings.LastIndex(msg, "|)")
	if i < 0 || j < i {
		cl.t.Fatalf("EPSV reply: %s", msg)
	}
	port, err := strconv.Atoi(msg[i+4 : j])
	if err != nil {
		cl.t.Fatalf("EPSV port: %s", msg)
	}
	host, _, _ := net.SplitHostPort(cl.c.RemoteAddr().String())
	d, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), testTimeout)
	if err != nil {
		cl.t.Fatalf("data connection: %v", err)
	}
	d.SetDeadline(time.Now().Add(testTimeout))
	return d
}

// stor uploads data as name and returns the final reply code (226 when
// stored); a refusal before the transfer is returned as is.
func (cl *client) stor(name string, data []byte) int {
	cl.t.Helper()
	d := cl.dataConn()
	defer d.Close()
	code, _ := cl.cmd("STOR %s", name)
	if code != 150 && code != 125 {
		return code
	}
	if _, err := d.Write(data); err != nil {
		cl.t.Fatalf("write data: %v", err)
	}
	d.Close()
	code, _ = cl.read()
	return code
}

// retr downloads name; the data is nil unless the reply is 226.
func (cl *client) retr(name string) (int, []byte) {
	cl.t.Helper()
	d := cl.dataConn()
	defer d.Close()
	code, _ := cl.cmd("RETR %s", name)
	if code != 150 && code != 125 {
		return code, nil
	}
	data, err := io.ReadAll(d)
	if err != nil {
		cl.t.Fatalf("read data: %v", err)
	}
	code, _ = cl.read()
	if code != 226 {
		return code, nil
	}
	return code, data
}

// pwd returns the working directory PWD names.
func (cl *client) pwd() string {
	cl.t.Helper()
	code, msg := cl.cmd("PWD")
	if code != 257 {
		cl.t.Fatalf("PWD: %d %s", code, msg)
	}
	var dir string
	if _, err := fmt.Sscanf(msg, "%q", &dir); err != nil {
		cl.t.Fatalf("PWD reply %q: %v", msg, err)
	}
	return dir
}
