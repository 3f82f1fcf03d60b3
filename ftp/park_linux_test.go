package ftp_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

// These tests cover the Linux parker (park_linux.go): a logged-in session
// waiting for its next command holds no goroutine, yet answers, times out,
// notices its client leaving and says goodbye at Shutdown as before; and
// hot sessions (hot.go), which wait on their goroutine for a while first.

// parkModes are the two ways a logged-in session waits for its next
// command: parked at once, or hot (on its goroutine) for longer than any
// test runs.
var parkModes = []struct {
	name  string
	after time.Duration
}{
	{"parked", -1},
	{"hot", time.Hour},
}

// goroutinesAtMost waits until the process runs at most n goroutines and
// returns the last count.
func goroutinesAtMost(n int) int {
	got := 0
	waitUntil(rawTimeout, func() bool {
		got = runtime.NumGoroutine()
		return got <= n
	})
	return got
}

// TestParkIdleSessionsHoldNoGoroutine opens 200 logged-in sessions and
// checks that, idle, they add almost no goroutines, and that every one
// still answers (and parks again after answering).
func TestParkIdleSessionsHoldNoGoroutine(t *testing.T) {
	const n = 200
	srv := ftptest.NewServer(t, configure(func(s *ftp.Server) { s.MaxConnsPerIP = -1 }), parkAfter(-1))
	base := runtime.NumGoroutine()
	conns := make([]*rawConn, n)
	for i := range conns {
		conns[i] = loggedIn(t, srv)
		defer conns[i].Close()
	}
	// The parker's goroutine and a few session goroutines still ending;
	// without parking there would be one per session.
	if got := goroutinesAtMost(base + 10); got > base+10 {
		t.Fatalf("%d idle logged-in sessions run %d goroutines more than none; want at most 10", n, got-base)
	}
	for round, cmd := range []string{"NOOP", "PWD"} {
		for i, c := range conns {
			if r := c.cmd(cmd); r.Code != 200 && r.Code != 257 {
				t.Fatalf("round %d: session %d answered %s with %v", round, i, cmd, r)
			}
		}
		if got := goroutinesAtMost(base + 10); got > base+10 {
			t.Fatalf("after %s, %d sessions run %d goroutines more than none; want at most 10", cmd, n, got-base)
		}
	}
}

// TestParkInput checks the ways input reaches a parked session: several
// commands in one packet, a line cut in two with a pause between the
// halves, and commands sent the moment the previous reply arrives.
func TestParkInput(t *testing.T) {
	for _, mode := range parkModes {
		t.Run(mode.name, func(t *testing.T) { testParkInput(t, ftptest.NewServer(t, parkAfter(mode.after))) })
	}
}

func testParkInput(t *testing.T, srv *ftptest.Server) {
	c := loggedIn(t, srv)

	c.sendBytes([]byte("NOOP\r\nPWD\r\nSYST\r\n"))
	for _, want := range []int{200, 257, 215} {
		if r := c.read(); r.Code != want {
			t.Fatalf("pipelined commands: got %v, want %d", r, want)
		}
	}

	time.Sleep(50 * time.Millisecond) // parked
	c.sendBytes([]byte("NO"))
	time.Sleep(50 * time.Millisecond)
	c.sendBytes([]byte("OP\r\n"))
	if r := c.read(); r.Code != 200 {
		t.Fatalf("a line sent in two halves: got %v, want 200", r)
	}

	for i := range 200 {
		if r := c.cmd("NOOP"); r.Code != 200 {
			t.Fatalf("NOOP %d: %v", i, r)
		}
	}
}

// TestParkIdleTimeout checks that a parked session still ends with 421 at
// its idle timeout, counted from its last command, and that a partial
// line does not restart the count.
func TestParkIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	for _, mode := range parkModes {
		t.Run(mode.name, func(t *testing.T) {
			testParkIdleTimeout(t, idle, ftptest.NewServer(t, configure(func(s *ftp.Server) { s.IdleTimeout = idle }), parkAfter(mode.after)))
		})
	}
}

func testParkIdleTimeout(t *testing.T, idle time.Duration, srv *ftptest.Server) {
	for _, partial := range []bool{false, true} {
		c := loggedIn(t, srv)
		c.expect("NOOP", 200)
		start := time.Now()
		if partial {
			time.Sleep(idle / 2)
			c.sendBytes([]byte("NO"))
		}
		c.setTimeout(10 * idle)
		if r := c.read(); r.Code != 421 || r.Text != "Control connection timed out." {
			t.Fatalf("partial line %v: got %v, want 421 Control connection timed out.", partial, r)
		}
		if took := time.Since(start); took < idle*9/10 {
			t.Errorf("partial line %v: timed out after %v, before the %v idle timeout", partial, took, idle)
		}
		c.expectClosed()
	}
}

// TestParkClientLeaves checks that a parked session whose client closes
// the connection ends: its Logout and Disconnect hooks run.
func TestParkClientLeaves(t *testing.T) {
	for _, mode := range parkModes {
		t.Run(mode.name, func(t *testing.T) { testParkClientLeaves(t, mode.after) })
	}
}

func testParkClientLeaves(t *testing.T, after time.Duration) {
	var h hookLog
	srv := ftptest.NewServer(t, configure(h.install), parkAfter(after))
	c := loggedIn(t, srv)
	c.expect("NOOP", 200)
	time.Sleep(20 * time.Millisecond) // parked
	c.Close()
	h.mu.Lock()
	id := h.events[0].info.ID
	h.mu.Unlock()
	if got, want := strings.Join(h.session(t, id), " "), "connect login:user logout:user disconnect"; got != want {
		t.Errorf("hooks of a session whose client left while parked: %q, want %q", got, want)
	}
}

// TestParkShutdownAndClose checks that Shutdown says goodbye to parked
// sessions and returns at once, and that Close ends them too.
func TestParkShutdownAndClose(t *testing.T) {
	for _, mode := range parkModes {
		t.Run(mode.name, func(t *testing.T) { testParkShutdownAndClose(t, mode.after) })
	}
}

func testParkShutdownAndClose(t *testing.T, after time.Duration) {
	for _, graceful := range []bool{true, false} {
		srv := ftptest.NewServer(t, configure(func(s *ftp.Server) { s.MaxConnsPerIP = -1 }), parkAfter(after))
		conns := make([]*rawConn, 20)
		for i := range conns {
			conns[i] = loggedIn(t, srv)
			conns[i].expect("NOOP", 200)
		}
		time.Sleep(20 * time.Millisecond) // parked
		start := time.Now()
		if graceful {
			ctx, cancel := context.WithTimeout(context.Background(), rawTimeout)
			if err := srv.FTP.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown with parked sessions: %v", err)
			}
			cancel()
		} else if err := srv.FTP.Close(); err != nil {
			t.Fatalf("Close with parked sessions: %v", err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("graceful %v: took %v with 20 parked sessions", graceful, took)
		}
		for i, c := range conns {
			replies := c.expectClosed()
			if graceful && (len(replies) != 1 || replies[0].Code != 421) {
				t.Errorf("session %d at Shutdown: got %v, want one 421", i, replies)
			}
		}
	}
}

// TestHotSessionsParkWhenIdle checks that sessions stay on their goroutine
// after a command, park once idle for the park delay, and answer after.
func TestHotSessionsParkWhenIdle(t *testing.T) {
	// The delay leaves the logins time to finish before the first of them
	// parks, even under the race detector on a loaded machine.
	const n, after = 20, time.Second
	srv := ftptest.NewServer(t, parkAfter(after))
	base := runtime.NumGoroutine()
	conns := openWithNOOP(t, srv, n)
	if got := runtime.NumGoroutine() - base; got < n {
		t.Errorf("just after a command, %d sessions run %d goroutines; want one each (hot)", n, got)
	}
	if got := goroutinesAtMost(base + 5); got > base+5 {
		t.Fatalf("idle for longer than the park delay, %d sessions still run %d goroutines; want them parked", n, got-base)
	}
	if got := ftp.HotCount(srv.FTP); got != 0 {
		t.Errorf("%d parked sessions still hold places in the hot set", got)
	}
	for i, c := range conns {
		if r := c.cmd("PWD"); r.Code != 257 {
			t.Fatalf("session %d after parking: %v", i, r)
		}
	}
	// A session joins the set just after its reply goes out.
	if !waitUntil(rawTimeout, func() bool { return ftp.HotCount(srv.FTP) == n }) {
		t.Errorf("after a command each, %d of %d sessions are hot", ftp.HotCount(srv.FTP), n)
	}
}

// TestHotSessionsBounded checks that no more than ftp.HotMax sessions stay
// on their goroutines between commands: the rest park at once.
func TestHotSessionsBounded(t *testing.T) {
	n := ftp.HotMax + 40
	srv := ftptest.NewServer(t, configure(func(s *ftp.Server) { s.MaxConnsPerIP = -1 }), parkAfter(time.Hour))
	base := runtime.NumGoroutine()
	conns := openWithNOOP(t, srv, n)
	limit := base + ftp.HotMax + 10
	if got := goroutinesAtMost(limit); got > limit {
		t.Fatalf("%d idle sessions run %d goroutines; want at most %d hot ones and a few more", n, got-base, ftp.HotMax)
	}
	for i, c := range conns {
		if r := c.cmd("NOOP"); r.Code != 200 {
			t.Fatalf("session %d: %v", i, r)
		}
	}
}

// TestHotSessionParkMidLine checks that a park request that comes while
// half a command line has arrived loses none of it.
func TestHotSessionParkMidLine(t *testing.T) {
	const after = 50 * time.Millisecond
	srv := ftptest.NewServer(t, parkAfter(after))
	c := loggedIn(t, srv)
	c.expect("NOOP", 200)
	c.sendBytes([]byte("NO"))
	time.Sleep(4 * after) // the sweeper asks while "NO" waits for its end
	c.sendBytes([]byte("OP\r\n"))
	if r := c.read(); r.Code != 200 {
		t.Fatalf("a line cut by a park request: got %v, want 200", r)
	}
	time.Sleep(4 * after) // parked now
	c.expect("PWD", 257)
}

// openWithNOOP logs n sessions in to srv, each sending one NOOP, and
// closes them when the test ends.
func openWithNOOP(t *testing.T, srv *ftptest.Server, n int) []*rawConn {
	t.Helper()
	conns := make([]*rawConn, n)
	for i := range conns {
		conns[i] = loggedIn(t, srv)
		t.Cleanup(func() { conns[i].Close() })
		conns[i].expect("NOOP", 200)
	}
	return conns
}
