package ftp

import (
	"errors"
	"sync"
	"time"
)

// Hot sessions: a logged-in session whose client has just sent a command
// is likely to send the next one soon, so it waits for it on its own
// goroutine, blocked in the netpoller, and parks (see park_linux.go) only
// once it has been idle for parkAfter. Parking at once, after every
// command, cost each round trip a hand-off: the parker's goroutine woke,
// started a goroutine for the session, and the runtime woke an idle thread
// to run it (runtime.wakep), on the core the client needs. perf stat, 2,000
// sequential logins (connect, USER, PASS, QUIT) on 2 cores, 4 runs each:
// 10.5-11.6 context switches and 140-166 µs of server CPU per login
// parking at once, 8.2-9.0 and 98-121 µs hot.
//
// At most hotMax sessions stay hot at once, so that a burst of thousands
// of logins does not hold thousands of goroutine stacks: past that, a
// session parks after each command as before. The stacks of the last hot
// sessions stay with the process after they park: ftpbench, 1,000 idle
// sessions opened at once, 2.79 KiB a session with 32 hot, 2.44 with none.
//
// One sweeper goroutine, running only while some session is hot, parks
// those idle for parkAfter: it expires the session's read deadline, and
// the session, finding its read timed out with parkRequested set, restores
// the deadline and parks. A session that cannot park (TLS, or no parker on
// this platform) moves to a fresh goroutine instead, shedding the deep
// stack its commands grew.
const (
	hotMax = 32
	// defaultParkAfter is how long a hot session waits for its next
	// command on its goroutine before it parks.
	defaultParkAfter = time.Second
)

// errParkRequested is readLine's answer when the sweeper asked the
// session to park between two commands.
var errParkRequested = errors.New("ftp: park requested")

// hotSet is the server's set of hot sessions and its sweeper.
type hotSet struct {
	mu      sync.Mutex
	m       map[*session]struct{}
	running bool          // a sweeper goroutine runs
	closed  bool          // the server has closed: no more hot sessions
	stop    chan struct{} // ends the running sweeper
	done    chan struct{} // closed when the running sweeper has returned
}

// parkDelay returns how long a hot session waits before it parks: the
// default unless a test set another (see export_test.go); a negative
// delay means that sessions park at once.
func (srv *Server) parkDelay() time.Duration {
	if srv.parkAfter == 0 {
		return defaultParkAfter
	}
	return srv.parkAfter
}

// stayHot reports whether s, logged in and done with a command, waits
// for the next one on its goroutine, which it does while the hot set has
// room for it. A session that cannot park (a TLS control connection, or
// a platform without a parker) sheds its goroutine's stack instead when
// asked to park (see next): command handlers need deep stacks, a wait
// does not.
func (s *session) stayHot() bool {
	h := &s.srv.hot
	if s.srv.parkDelay() <= 0 {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	if _, ok := h.m[s]; !ok {
		if len(h.m) >= hotMax {
			return false
		}
		if h.m == nil {
			h.m = make(map[*session]struct{})
		}
		h.m[s] = struct{}{}
	}
	if !h.running {
		h.running = true
		h.stop, h.done = make(chan struct{}), make(chan struct{})
		go h.sweep(s.srv.parkDelay(), h.stop, h.done)
	}
	return true
}

// remove takes s out of the set: it ends, or parks.
func (h *hotSet) remove(s *session) {
	h.mu.Lock()
	delete(h.m, s)
	h.mu.Unlock()
}

// sweep asks the hot sessions idle for after to park, every after/2,
// until the set is empty or stop is closed.
func (h *hotSet) sweep(after time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(max(after/2, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			h.mu.Lock()
			if len(h.m) == 0 {
				h.running = false
				h.mu.Unlock()
				return
			}
			for s := range h.m {
				if since := s.waitSince.Load(); since != 0 && now.UnixNano()-since >= int64(after) {
					delete(h.m, s)
					s.requestPark()
				}
			}
			h.mu.Unlock()
		}
	}
}

// close stops the sweeper and keeps sessions from becoming hot; the
// server calls it once its sessions are gone.
func (h *hotSet) close() {
	h.mu.Lock()
	h.closed = true
	running, stop, done := h.running, h.stop, h.done
	h.running = false
	h.mu.Unlock()
	if running {
		close(stop)
		<-done
	}
}

// requestPark makes the session's pending read return at once (its read
// deadline expires), with parkRequested set so that readLine knows why.
func (s *session) requestPark() {
	s.parkRequested.Store(true)
	s.mu.Lock()
	if !s.closed {
		s.conn.SetReadDeadline(time.Unix(1, 0))
	}
	s.mu.Unlock()
}

// restoreReadDeadline puts back the read deadline requestPark expired:
// the one armDeadline keeps, or none when the idle timeout is off.
func (s *session) restoreReadDeadline() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if duration(s.srv.IdleTimeout, DefaultIdleTimeout) > 0 {
		s.conn.SetReadDeadline(s.deadline)
	} else {
		s.conn.SetReadDeadline(time.Time{})
	}
}
