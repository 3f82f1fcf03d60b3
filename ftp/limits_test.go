package ftp_test

// Tests of the server's limits and lifecycle: login attempts and delays,
// the per-address ban, connection limits, the idle timeout, Shutdown and
// Close.

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

func TestMaxLoginAttempts(t *testing.T) {
	for _, tt := range []struct {
		max, attempts int
	}{
		{0, 3}, // the default
		{1, 1},
		{2, 2},
		{5, 5},
	} {
		srv := ftptest.NewServer(t, configure(func(s *ftp.Server) { s.MaxLoginAttempts = tt.max }))
		c := dialRaw(t, srv.Addr)
		for i := 1; i < tt.attempts; i++ {
			c.expect("USER "+ftptest.User, 331)
			c.expectText("PASS bad", 530, "Login incorrect.")
		}
		c.expect("USER "+ftptest.User, 331)
		c.expectText("PASS bad", 530, "Login incorrect; too many failures, closing the connection.")
		c.expectClosed()
		// Successful logins do not count.
		c = dialRaw(t, srv.Addr)
		for range tt.attempts + 1 {
			c.login(ftptest.User, ftptest.Password)
		}
	}
}

func TestLoginFailDelay(t *testing.T) {
	const delay = 150 * time.Millisecond
	srv := ftptest.NewServer(t, configure(func(s *ftp.Server) { s.LoginFailDelay = delay }))
	c := dialRaw(t, srv.Addr)
	c.expect("USER "+ftptest.User, 331)
	start := time.Now()
	c.expect("PASS bad", 530)
	if d := time.Since(start); d < delay {
		t.Errorf("530 came after %v, want at least %v", d, delay)
	}
	// A client that leaves during the delay leaks nothing (goleak).
	c.expect("USER "+ftptest.User, 331)
	c.send("PASS bad")
	c.Close()
}

func TestLoginBan(t *testing.T) {
	const ban = 500 * time.Millisecond
	srv := ftptest.NewServer(t, configure(func(s *ftp.Server) {
		s.MaxLoginFailuresPerIP = 3
		s.LoginBanDuration = ban
		s.MaxLoginAttempts = 10
		s.LoginFailDelay = -1
	}))
	held := dialRaw(t, srv.Addr) // opened before the ban
	for range 3 {
		c := dialRaw(t, srv.Addr)
		c.expect("USER "+ftptest.User, 331)
		c.expect("PASS bad", 530)
		c.Close()
	}
	bannedAt := time.Now()
	// New connections from the address are refused.
	c := dialRawNoGreeting(t, srv.Addr)
	if r := c.read(); r.Code != 421 || r.Text != "Too many failed logins from your address; try again later." {
		t.Errorf("connection while banned: got %v", r)
	}
	c.expectClosed()
	// A session opened before cannot log in, even with the password.
	held.expect("USER "+ftptest.User, 331)
	held.expectText("PASS "+ftptest.Password, 530, "Login incorrect.")
	// Other addresses are not banned.
	other := dialRawFrom(t, srv.Addr, "127.0.0.2")
	if r := other.read(); r.Code != 220 {
		t.Fatalf("connection from 127.0.0.2: got %v", r)
	}
	other.login(ftptest.User, ftptest.Password)
	// The ban ends.
	time.Sleep(time.Until(bannedAt.Add(ban + 50*time.Millisecond)))
	c = dialRaw(t, srv.Addr)
	c.login(ftptest.User, ftptest.Password)
}

// TestLoginBanOutlivesWindow checks that a failure counted in a new window
// does not lift a ban still in force: a client that keeps a session open
// must not shorten its ban by failing once more.
func TestLoginBanOutlivesWindow(t *testing.T) {
	const ban = 600 * time.Millisecond
	srv := ftptest.NewServer(t, configure(func(s *ftp.Server) {
		s.MaxLoginFailuresPerIP = 2
		s.LoginBanDuration = ban
		s.MaxLoginAttempts = 10
		s.LoginFailDelay = -1
	}))
	a, b := dialRaw(t, srv.Addr), dialRaw(t, srv.Addr)
	a.expect("USER x", 331)
	a.expect("PASS bad", 530)
	start := time.Now() // the window started no later than this
	time.Sleep(ban / 2)
	a.expect("USER x", 331)
	a.expect("PASS bad", 530) // banned until at least start + 1.5 ban
	time.Sleep(time.Until(start.Add(ban + 50*time.Millisecond)))
	b.expect("USER x", 331)
	b.expect("PASS bad", 530) // a failure in a new window
	c := dialRawNoGreeting(t, srv.Addr)
	if r := c.read(); r.Code != 421 {
		t.Errorf("connection while still banned: got %v, want 421", r)
	}
}

func TestLoginBanDisabled(t *testing.T) {
	srv := ftptest.NewServer(t, configure(func(s *ftp.Server) {
		s.MaxLoginFailuresPerIP = -1
		s.LoginFailDelay = -1
	}))
	for range 25 { // more than the default limit
		c := dialRaw(t, srv.Addr)
		c.expect("USER x", 331)
		c.expect("PASS bad", 530)
		c.Close()
	}
	dialRaw(t, srv.Addr).login(ftptest.User, ftptest.Password)
}

func TestMaxConns(t *testing.T) {
	srv := ftptest.NewServer(t, configure(func(s *ftp.Server) {
		s.MaxConns = 2
		s.MaxConnsPerIP = -1
	}))
	a := dialRaw(t, srv.Addr)
	dialRawFrom(t, srv.Addr, "127.0.0.2").read()
	for _, from := range []string{"127.0.0.1", "127.0.0.3"} {
		c := dialRawFrom(t, srv.Addr, from)
		if r := c.read(); r.Code != 421 || r.Text != "Too many connections; try again later." {
			t.Errorf("third connection (from %s): got %v", from, r)
		}
		c.expectClosed()
	}
	// A place frees up when a session ends.
	a.expect("QUIT", 221)
	a.expectClosed()
	var r reply
	if !waitUntil(rawTimeout, func() bool {
		c := dialRawNoGreeting(t, srv.Addr)
		defer c.Close()
		r = c.read()
		return r.Code == 220
	}) {
		t.Errorf("no place after a session ended: %v", r)
	}
}

func TestMaxConnsPerIP(t *testing.T) {
	srv := ftptest.NewServer(t, configure(func(s *ftp.Server) { s.MaxConnsPerIP = 2 }))
	dialRaw(t, srv.Addr)
	dialRaw(t, srv.Addr)
	c := dialRawNoGreeting(t, srv.Addr)
	if r := c.read(); r.Code != 421 || r.Text != "Too many connections from your IP address." {
		t.Errorf("third connection: got %v", r)
	}
	c.expectClosed()
	for _, ip := range []string{"127.0.0.2", "127.0.0.2"} {
		if r := dialRawFrom(t, srv.Addr, ip).read(); r.Code != 220 {
			t.Errorf("connection from %s: got %v", ip, r)
		}
	}
	if r := dialRawFrom(t, srv.Addr, "127.0.0.2").read(); r.Code != 421 {
		t.Errorf("third connection from 127.0.0.2: got %v", r)
	}
}

func TestIdleTimeout(t *testing.T) {
	const idle = 200 * time.Millisecond
	tests := []struct {
		name  string
		login bool
		drip  bool // send a byte now and then, never a whole line
	}{
		{"before login", false, false},
		{"after login", true, false},
		{"partial line", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := ftptest.NewServer(t, configure(func(s *ftp.Server) { s.IdleTimeout = idle }))
			// The clock starts before the last exchange, so that the server
			// cannot have started its own earlier: the lower bound holds
			// however late this goroutine runs on a loaded machine.
			start := time.Now()
			c := dialRaw(t, srv.Addr)
			if tt.login {
				c.login(ftptest.User, ftptest.Password)
			}
			type result struct {
				r   reply
				err error
				at  time.Duration
			}
			got := make(chan result, 1)
			go func() {
				r, err := c.readReply()
				got <- result{r, err, time.Since(start)}
			}()
			var res result
			if tt.drip {
			drip: // a byte every idle/4 for 3 idle periods, unless the reply comes
				for range 12 {
					c.conn.Write([]byte("N"))
					select {
					case res = <-got:
						break drip
					case <-time.After(idle / 4):
					}
				}
			}
			if res.r.Lines == nil && res.err == nil {
				res = <-got // bounded by the read deadline
			}
			if res.err != nil || res.r.Code != 421 || res.r.Text != "Control connection timed out." {
				t.Fatalf("got %v, %v; want 421 Control connection timed out.", res.r, res.err)
			}
			if res.at < idle || res.at > 25*idle {
				t.Errorf("timed out after %v, want about %v", res.at, idle)
			}
			c.expectClosed()
		})
	}
}

func TestIdleTimeoutResetByCommands(t *testing.T) {
	const idle = 300 * time.Millisecond
	srv := ftptest.NewServer(t, configure(func(s *ftp.Server) { s.IdleTimeout = idle }))
	c := loggedIn(t, srv)
	for range 10 { // 0.5 s in all, longer than the timeout
		time.Sleep(idle / 6)
		c.expect("NOOP", 200)
	}
}

func TestIdleTimeoutNever(t *testing.T) {
	srv := ftptest.NewServer(t, configure(func(s *ftp.Server) { s.IdleTimeout = -1 }))
	c := loggedIn(t, srv)
	c.expectSilence(300 * time.Millisecond)
	c.expect("NOOP", 200)
}

func TestShutdown(t *testing.T) {
	srv := ftptest.NewServer(t)
	idle := dialRaw(t, srv.Addr)
	user := loggedIn(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), rawTimeout)
	defer cancel()
	if err := srv.FTP.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, c := range []*rawConn{idle, user} {
		if got := c.expectClosed(); len(got) != 1 || got[0].Code != 421 || got[0].Text != "Server is shutting down; goodbye." {
			t.Errorf("an idle session got %v at shutdown, want 421", got)
		}
	}
	if c, err := net.DialTimeout("tcp", srv.Addr, rawTimeout); err == nil {
		c.Close()
		t.Error("the listener still accepts after Shutdown")
	}
	if err := srv.FTP.ListenAndServe(); !errors.Is(err, ftp.ErrServerClosed) {
		t.Errorf("ListenAndServe after Shutdown = %v, want ErrServerClosed", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.FTP.Serve(l); !errors.Is(err, ftp.ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v, want ErrServerClosed", err)
	}
	if _, err := l.Accept(); err == nil {
		t.Error("Serve after Shutdown left its listener open")
	}
}

// TestShutdownWaitsForTransfer checks that Shutdown lets a running upload
// finish (226), then closes the session with 421.
func TestShutdownWaitsForTransfer(t *testing.T) {
	srv := ftptest.NewServer(t)
	c := loggedIn(t, srv)
	d := c.pasv()
	c.expect("STOR up.txt", 150)
	d.Write([]byte("part one, "))
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), rawTimeout)
		defer cancel()
		done <- srv.FTP.Shutdown(ctx)
	}()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v while a transfer ran", err)
	case <-time.After(100 * time.Millisecond):
	}
	c.expectSilence(10 * time.Millisecond)
	d.Write([]byte("part two"))
	d.Close()
	got := c.expectClosed()
	if len(got) != 2 || got[0].Code != 226 || got[1].Code != 421 {
		t.Errorf("replies after the upload = %v, want 226 then 421", got)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	wantContent(t, srv.Dir, "up.txt", "part one, part two")
}

// TestShutdownDeadline checks that Shutdown gives up when its context
// ends, cutting what still runs.
func TestShutdownDeadline(t *testing.T) {
	srv := ftptest.NewServer(t)
	c := loggedIn(t, srv)
	c.pasv()
	c.expect("STOR stuck.txt", 150)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := srv.FTP.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want DeadlineExceeded", err)
	}
	// The upload is cut (426), then the client is told why (421).
	got := c.expectClosed()
	var codes []int
	for _, r := range got {
		codes = append(codes, r.Code)
	}
	if len(codes) != 2 || codes[0] != 426 || codes[1] != 421 {
		t.Errorf("replies after the Shutdown deadline: %v, want 426 then 421", got)
	}
}

func TestClose(t *testing.T) {
	srv := ftptest.NewServer(t)
	c := loggedIn(t, srv)
	if err := srv.FTP.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if got := c.expectClosed(); len(got) != 0 {
		t.Errorf("Close sent %v, want a plain close", got)
	}
	if c, err := net.DialTimeout("tcp", srv.Addr, rawTimeout); err == nil {
		c.Close()
		t.Error("the listener still accepts after Close")
	}
}
