package ftp_test

// Tests of the session hooks: which run, in which order, with what.

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

// hookEvent is one hook call.
type hookEvent struct {
	name string // connect, login, loginfailed, logout, disconnect
	info ftp.SessionInfo
	user string // the user argument of LoginFailed
}

// hookLog records the session hooks of a server.
type hookLog struct {
	mu     sync.Mutex
	events []hookEvent
}

func (h *hookLog) add(e hookEvent) {
	h.mu.Lock()
	h.events = append(h.events, e)
	h.mu.Unlock()
}

// install sets the session hooks of s to record into h.
func (h *hookLog) install(s *ftp.Server) {
	s.Hooks.Connect = func(si ftp.SessionInfo) { h.add(hookEvent{name: "connect", info: si}) }
	s.Hooks.Login = func(si ftp.SessionInfo) { h.add(hookEvent{name: "login", info: si}) }
	s.Hooks.LoginFailed = func(si ftp.SessionInfo, user string) {
		h.add(hookEvent{name: "loginfailed", info: si, user: user})
	}
	s.Hooks.Logout = func(si ftp.SessionInfo) { h.add(hookEvent{name: "logout", info: si}) }
	s.Hooks.Disconnect = func(si ftp.SessionInfo) { h.add(hookEvent{name: "disconnect", info: si}) }
}

// session returns the events of session id, each as "name" (login and
// logout as "name:user", LoginFailed as "loginfailed:user"), after waiting
// for its disconnect.
func (h *hookLog) session(t *testing.T, id uint64) []string {
	t.Helper()
	var got []string
	ok := waitUntil(rawTimeout, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		got = got[:0]
		for _, e := range h.events {
			if e.info.ID != id {
				continue
			}
			s := e.name
			switch {
			case e.name == "loginfailed":
				s += ":" + e.user
			case e.name == "login" || e.name == "logout":
				s += ":" + e.info.User
			}
			got = append(got, s)
		}
		return len(got) > 0 && got[len(got)-1] == "disconnect"
	})
	if !ok {
		t.Fatalf("session %d did not disconnect; hooks so far: %v", id, got)
	}
	return got
}

// ids returns the session IDs seen, in order of first appearance.
func (h *hookLog) ids() []uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ids []uint64
	for _, e := range h.events {
		if !slices.Contains(ids, e.info.ID) {
			ids = append(ids, e.info.ID)
		}
	}
	return ids
}

func TestHooksOrder(t *testing.T) {
	tests := []struct {
		name string
		run  func(c *rawConn)
		want []string
	}{
		{"connect and quit", func(c *rawConn) { c.expect("QUIT", 221) },
			[]string{"connect", "disconnect"}},
		{"USER without PASS is no login", func(c *rawConn) {
			c.expect("USER "+ftptest.User, 331)
			c.expect("QUIT", 221)
		}, []string{"connect", "disconnect"}},
		{"full session", func(c *rawConn) {
			c.expect("USER "+ftptest.User, 331)
			c.expect("PASS bad", 530)
			c.login(ftptest.User, ftptest.Password)
			c.expect("REIN", 220)
			c.login("anonymous", "x")
			c.expect("QUIT", 221)
		}, []string{"connect", "loginfailed:user", "login:user", "logout:user", "login:anonymous", "logout:anonymous", "disconnect"}},
		{"USER while logged in logs out", func(c *rawConn) {
			c.login(ftptest.User, ftptest.Password)
			c.expect("USER anonymous", 331)
			c.expect("PASS x", 230)
			c.expect("QUIT", 221)
		}, []string{"connect", "login:user", "logout:user", "login:anonymous", "logout:anonymous", "disconnect"}},
		{"client drops the connection while logged in", func(c *rawConn) {
			c.login(ftptest.User, ftptest.Password)
			c.Close()
		}, []string{"connect", "login:user", "logout:user", "disconnect"}},
		{"too many failures", func(c *rawConn) {
			for range 3 {
				c.expect("USER nobody", 331)
				c.expect("PASS bad", 530)
			}
			c.expectClosed()
		}, []string{"connect", "loginfailed:nobody", "loginfailed:nobody", "loginfailed:nobody", "disconnect"}},
		{"idle timeout", func(c *rawConn) {
			c.login(ftptest.User, ftptest.Password)
			c.expect("STAT", 211)
			if r := c.read(); r.Code != 421 {
				c.t.Errorf("got %v, want 421", r)
			}
		}, []string{"connect", "login:user", "logout:user", "disconnect"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var h hookLog
			srv := ftptest.NewServer(t, configure(func(s *ftp.Server) {
				h.install(s)
				s.IdleTimeout = 300 * time.Millisecond
			}))
			c := dialRaw(t, srv.Addr)
			tt.run(c)
			ids := h.ids()
			if len(ids) != 1 {
				t.Fatalf("hooks saw sessions %v, want one", ids)
			}
			if got := h.session(t, ids[0]); !slices.Equal(got, tt.want) {
				t.Errorf("hooks = %v\nwant    %v", got, tt.want)
			}
		})
	}
}

func TestHooksSessionInfo(t *testing.T) {
	var h hookLog
	srv := ftptest.NewServer(t, configure(h.install))
	a := dialRaw(t, srv.Addr)
	a.login("anonymous", "x")
	b := dialRaw(t, srv.Addr)
	b.login(ftptest.User, ftptest.Password)
	a.expect("QUIT", 221)
	b.expect("QUIT", 221)
	ids := h.ids()
	if len(ids) != 2 || ids[0] == ids[1] || ids[0] == 0 || ids[1] == 0 {
		t.Fatalf("session IDs = %v, want two distinct non-zero", ids)
	}
	h.session(t, ids[0])
	h.session(t, ids[1])
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.events {
		c := a
		if e.info.ID == ids[1] {
			c = b
		}
		if e.info.RemoteAddr.String() != c.conn.LocalAddr().String() || e.info.LocalAddr.String() != srv.Addr {
			t.Errorf("%s: addresses %v -> %v, want %v -> %v", e.name, e.info.RemoteAddr, e.info.LocalAddr, c.conn.LocalAddr(), srv.Addr)
		}
		wantAnon := e.info.ID == ids[0] && e.name != "connect" // disconnect still describes the user
		if e.info.Anonymous != wantAnon {
			t.Errorf("%s of session %d: Anonymous = %v", e.name, e.info.ID, e.info.Anonymous)
		}
		if e.name == "connect" && e.info.User != "" {
			t.Errorf("connect has user %q", e.info.User)
		}
		if e.info.TLS {
			t.Errorf("%s: TLS set on a clear connection", e.name)
		}
	}
}

// TestHooksConcurrentSessions checks that each of many simultaneous
// sessions gets its own hooks, in order.
func TestHooksConcurrentSessions(t *testing.T) {
	const n = 8
	var h hookLog
	srv := ftptest.NewServer(t, configure(h.install))
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- func() error {
				c := dialRawNoGreeting(t, srv.Addr)
				defer c.Close()
				steps := []string{"", "USER " + ftptest.User, "PASS " + ftptest.Password, "REIN", "QUIT"}
				if i%2 == 1 {
					steps = []string{"", "USER anonymous", "PASS x", "QUIT"}
				}
				for _, line := range steps {
					var err error
					if line == "" {
						_, err = c.readReply()
					} else {
						_, err = c.tryCmd(line)
					}
					if err != nil {
						return fmt.Errorf("session %d: %s: %w", i, line, err)
					}
				}
				return nil
			}()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ids := h.ids()
	if len(ids) != n {
		t.Fatalf("hooks saw %d sessions, want %d", len(ids), n)
	}
	for _, id := range ids {
		got := h.session(t, id)
		if !slices.Equal(got, []string{"connect", "login:user", "logout:user", "disconnect"}) &&
			!slices.Equal(got, []string{"connect", "login:anonymous", "logout:anonymous", "disconnect"}) {
			t.Errorf("session %d hooks = %v", id, got)
		}
	}
}

// TestHooksAtShutdown checks that every session's hooks have run when
// Shutdown returns.
func TestHooksAtShutdown(t *testing.T) {
	var h hookLog
	srv := ftptest.NewServer(t, configure(h.install))
	loggedIn(t, srv)
	dialRaw(t, srv.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), rawTimeout)
	defer cancel()
	if err := srv.FTP.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var names []string
	for _, e := range h.events {
		names = append(names, e.name)
	}
	slices.Sort(names)
	if want := []string{"connect", "connect", "disconnect", "disconnect", "login", "logout"}; !slices.Equal(names, want) {
		t.Errorf("hooks run by the time Shutdown returned: %v, want %v", names, want)
	}
}

// TestHookPanic checks that a panic in a hook that runs inside a command
// (Login) ends that session with 421 and nothing else.
func TestHookPanic(t *testing.T) {
	srv := ftptest.NewServer(t, configure(func(s *ftp.Server) {
		s.Hooks.Login = func(si ftp.SessionInfo) {
			if si.Anonymous {
				panic("hook bug")
			}
		}
	}))
	c := dialRaw(t, srv.Addr)
	c.expect("USER anonymous", 331)
	c.expectText("PASS x", 421, "Internal server error; closing the connection.")
	c.expectClosed()
	loggedIn(t, srv).expect("NOOP", 200)
}
