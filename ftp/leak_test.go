package ftp_test

// Leaks: a thousand sessions dropped in every way a client can drop one
// (before the greeting, after a failed login, with a passive listener
// pending, in the middle of a download or an upload, during a listing, in
// the middle of a command line) must give back every goroutine and every
// file descriptor. TestMain's goleak check covers what outlives the test
// servers; this test checks, with the server still running, that the
// counts return to where they were.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

// hzOpenFDs counts the process's open file descriptors, or returns -1
// where /proc/self/fd does not exist.
func hzOpenFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}

// hzDial connects to addr with deadlines, for use on any goroutine.
func hzDial(t testing.TB, addr string, timeout time.Duration) (*rawConn, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(timeout))
	c := newRawConn(t, conn)
	c.setTimeout(timeout)
	return c, nil
}

// hzExpect sends line (unless empty) and checks the reply's code, for use
// on any goroutine.
func hzExpect(c *rawConn, line string, code int) error {
	var r reply
	var err error
	if line == "" {
		r, err = c.readReply()
	} else {
		r, err = c.tryCmd(line)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", showCmd(line), err)
	}
	if r.Code != code {
		return fmt.Errorf("%s: got %v, want %d", showCmd(line), r, code)
	}
	return nil
}

func hzLogin(c *rawConn) error {
	if err := hzExpect(c, "", 220); err != nil {
		return err
	}
	if err := hzExpect(c, "USER "+ftptest.User, 331); err != nil {
		return err
	}
	return hzExpect(c, "PASS "+ftptest.Password, 230)
}

// hzPassive sends EPSV and dials the port it announces.
func hzPassive(c *rawConn) (net.Conn, error) {
	r, err := c.tryCmd("EPSV")
	if err != nil {
		return nil, err
	}
	port, err := dcParse229(r.Text)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(c.conn.RemoteAddr().String())
	d, err := net.DialTimeout("tcp", net.JoinHostPort(host, fmt.Sprint(port)), c.timeout)
	if err != nil {
		return nil, err
	}
	d.SetDeadline(time.Now().Add(c.timeout))
	return d, nil
}

// hzDrop is one way for a client to abandon a session; n numbers it.
type hzDrop struct {
	name string
	run  func(c *rawConn, n int) error
}

var hzDrops = []hzDrop{
	{"close before the greeting", func(c *rawConn, n int) error {
		return c.Close()
	}},
	{"reset after the greeting", func(c *rawConn, n int) error {
		if err := hzExpect(c, "", 220); err != nil {
			return err
		}
		hzReset(c.conn)
		return nil
	}},
	{"close after a failed login", func(c *rawConn, n int) error {
		if err := hzExpect(c, "", 220); err != nil {
			return err
		}
		if err := hzExpect(c, "USER "+ftptest.User, 331); err != nil {
			return err
		}
		if err := hzExpect(c, "PASS wrong", 530); err != nil {
			return err
		}
		return c.Close()
	}},
	{"close with a passive listener pending", func(c *rawConn, n int) error {
		if err := hzLogin(c); err != nil {
			return err
		}
		if err := hzExpect(c, "PASV", 227); err != nil {
			return err
		}
		return c.Close()
	}},
	{"close in the middle of a RETR", func(c *rawConn, n int) error {
		if err := hzLogin(c); err != nil {
			return err
		}
		d, err := hzPassive(c)
		if err != nil {
			return err
		}
		defer d.Close()
		if err := hzExpect(c, "RETR big.bin", 150); err != nil {
			return err
		}
		if _, err := io.ReadFull(d, make([]byte, 32<<10)); err != nil {
			return err
		}
		return c.Close()
	}},
	{"reset in the middle of a STOR", func(c *rawConn, n int) error {
		if err := hzLogin(c); err != nil {
			return err
		}
		d, err := hzPassive(c)
		if err != nil {
			return err
		}
		if err := hzExpect(c, fmt.Sprintf("STOR up%d.bin", n), 150); err != nil {
			d.Close()
			return err
		}
		if _, err := d.Write(make([]byte, 64<<10)); err != nil {
			d.Close()
			return err
		}
		hzReset(c.conn)
		hzReset(d)
		return nil
	}},
	{"close before reading a listing", func(c *rawConn, n int) error {
		if err := hzLogin(c); err != nil {
			return err
		}
		d, err := hzPassive(c)
		if err != nil {
			return err
		}
		defer d.Close()
		if err := hzExpect(c, "LIST", 150); err != nil {
			return err
		}
		return c.Close()
	}},
	{"close in the middle of a command line", func(c *rawConn, n int) error {
		if err := hzLogin(c); err != nil {
			return err
		}
		c.conn.Write([]byte("RETR big"))
		return c.Close()
	}},
	{"close with an active data connection waiting", func(c *rawConn, n int) error {
		if err := hzLogin(c); err != nil {
			return err
		}
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer ln.Close()
		port := ln.Addr().(*net.TCPAddr).Port
		if err := hzExpect(c, fmt.Sprintf("PORT 127,0,0,1,%d,%d", port>>8, port&0xff), 200); err != nil {
			return err
		}
		if err := hzExpect(c, "RETR big.bin", 150); err != nil {
			return err
		}
		return c.Close() // the server's connection waits in ln's backlog
	}},
}

// TestLeakDroppedSessions opens 1,000 sessions and drops each in one of
// the ways of hzDrops, 50 at a time; then every session must have ended
// (Disconnect for each Connect), and the process's goroutines and open
// file descriptors must come back to their count before, with the server
// still running. Not parallel: it counts process-wide resources.
func TestLeakDroppedSessions(t *testing.T) {
	const (
		sessions = 1000
		parallel = 50
		// Sessions park after 50 ms idle, so that drops find some hot
		// and some parked.
		parkAfterHere = 50 * time.Millisecond
	)
	var connects, disconnects atomic.Int64
	srv := ftptest.NewServer(t, configure(func(s *ftp.Server) {
		s.MaxConns = -1
		s.MaxConnsPerIP = -1
		s.MaxLoginFailuresPerIP = -1
		s.LoginFailDelay = -1
		s.DataTimeout = 2 * time.Second
		s.Hooks.Connect = func(ftp.SessionInfo) { connects.Add(1) }
		s.Hooks.Disconnect = func(ftp.SessionInfo) { disconnects.Add(1) }
	}), parkAfter(parkAfterHere))
	dcWriteFile(t, srv.Dir, "big.bin", make([]byte, 4<<20))
	settled := func(d time.Duration) bool {
		return waitUntil(d, func() bool { return disconnects.Load() == connects.Load() })
	}
	run := func(n int) error {
		drop := hzDrops[(n+len(hzDrops))%len(hzDrops)]
		c, err := hzDial(t, srv.Addr, 10*time.Second)
		if err != nil {
			return fmt.Errorf("session %d (%s): %w", n, drop.name, err)
		}
		if err := drop.run(c, n); err != nil {
			c.Close()
			return fmt.Errorf("session %d (%s): %w", n, drop.name, err)
		}
		return nil
	}
	// Warm up: every kind once, so that pools and lazily made state exist,
	// the parker included (made when the first session parks).
	for n := range hzDrops {
		if err := run(n - len(hzDrops)); err != nil {
			t.Fatal(err)
		}
	}
	idle := loggedIn(t, srv)
	idle.expect("NOOP", 200)
	time.Sleep(3 * parkAfterHere)
	idle.expect("NOOP", 200)
	idle.Close()
	if !settled(10 * time.Second) {
		t.Fatalf("warm-up sessions did not end: %d connects, %d disconnects", connects.Load(), disconnects.Load())
	}
	runtime.GC()
	runtime.GC()
	baseFDs, baseG := hzOpenFDs(), runtime.NumGoroutine()
	start := time.Now()
	errs := hzParallel(sessions, parallel, run)
	if len(errs) > 0 {
		if strings.Contains(errs[0].Error(), "too many open files") {
			t.Skipf("file descriptor limit too low for this test: %v", errs[0])
		}
		t.Fatalf("%d of %d sessions failed; first: %v", len(errs), sessions, errs[0])
	}
	if !settled(20 * time.Second) {
		t.Fatalf("after %v, %d sessions were accepted and only %d ended", time.Since(start), connects.Load(), disconnects.Load())
	}
	if got, want := connects.Load(), int64(sessions+len(hzDrops)+1); got != want {
		t.Errorf("%d sessions were accepted, want %d", got, want)
	}
	var fds, gs int
	ok := waitUntil(10*time.Second, func() bool {
		// Splice pipes are pooled by the runtime and closed by a
		// finalizer once the pool lets them go: collect before counting.
		runtime.GC()
		fds, gs = hzOpenFDs(), runtime.NumGoroutine()
		return fds <= baseFDs && gs <= baseG
	})
	t.Logf("%d sessions dropped in %v; fds %d -> %d, goroutines %d -> %d", sessions, time.Since(start).Round(time.Millisecond), baseFDs, fds, baseG, gs)
	if !ok {
		if gs > baseG {
			buf := make([]byte, 1<<20)
			t.Logf("goroutines:\n%s", buf[:runtime.Stack(buf, true)])
		}
		if baseFDs >= 0 && fds > baseFDs {
			t.Errorf("open file descriptors: %d before, %d after the sessions ended", baseFDs, fds)
		}
		if gs > baseG {
			t.Errorf("goroutines: %d before, %d after the sessions ended", baseG, gs)
		}
	}
	if baseFDs < 0 {
		t.Log("no /proc/self/fd on this system: file descriptors not counted")
	}
	// The server still works.
	c := loggedIn(t, srv)
	c.expect("NOOP", 200)
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}
