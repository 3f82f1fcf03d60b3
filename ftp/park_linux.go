package ftp

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// parker holds idle control connections without a goroutine each.
//
// A goroutine blocked reading costs its stack (2 KiB at least) and its
// g (about 470 bytes): over half of what an idle logged-in session costs.
// A parked session instead sits in one epoll set, registered one-shot for
// input; the set's own descriptor is waited on through the runtime's
// netpoller, so one goroutine serves every parked session and the
// scheduler sees no blocking system call. When a command arrives, the
// session resumes on a new goroutine and reads it as usual.
type parker struct {
	file *os.File        // the epoll descriptor, for closing it
	rc   syscall.RawConn // the same, for waiting on it
	epfd int

	done chan struct{} // closed when run returns

	mu      sync.Mutex
	parked  map[uint64]*session // by session ID, the epoll event's data
	stopped bool
}

// parkState is a session's share of the parker's state.
type parkState struct {
	registered   bool        // the descriptor is in the epoll set (disarmed once it fires)
	timer        *time.Timer // wakes the session when its idle timeout ends
	timerAt      time.Time   // the deadline timer was last set for
	keepDeadline bool        // the deadline was armed for the parked wait; keep it
}

// release stops the idle timer of a session that is ending; a pending
// timer would keep the session's memory until it fired.
func (ps *parkState) release() {
	if ps.timer != nil {
		ps.timer.Stop()
	}
}

func newParker() (*parker, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	// A non-blocking descriptor given to os.NewFile joins the netpoller.
	f := os.NewFile(uintptr(epfd), "ftp-idle-sessions")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	p := &parker{file: f, rc: rc, epfd: epfd, done: make(chan struct{}), parked: make(map[uint64]*session)}
	go p.run()
	return p, nil
}

// run delivers the sessions whose connections have input (or have closed)
// until stop closes the epoll descriptor.
func (p *parker) run() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 256)
	for {
		var n int
		err := p.rc.Read(func(fd uintptr) bool {
			for {
				var err error
				n, err = unix.EpollWait(int(fd), events, 0)
				if err != unix.EINTR {
					// Wait for the netpoller only after seeing the set
					// empty: its registration is edge-triggered.
					return n > 0 || err != nil
				}
			}
		})
		if err != nil {
			return // stopped
		}
		for _, ev := range events[:n] {
			p.wakeID(uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32)
		}
	}
}

// park registers s, whose goroutine is about to end, to resume when its
// connection has input or at deadline (zero for none), the connection's
// own deadline, by which its idle timeout has come. It reports false if s
// cannot be parked; the caller then keeps waiting on a goroutine.
func (p *parker) park(s *session, conn *net.TCPConn, deadline time.Time) bool {
	rc, err := conn.SyscallConn()
	if err != nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return false
	}
	// In the map before the descriptor is armed: its event may come at once
	// (the registration is level-triggered, so input already waiting
	// counts), and run looks the session up under p.mu.
	p.parked[s.id] = s
	s.srv.running.Add(1) // the parked session, until it resumes
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(uint32(s.id)), Pad: int32(uint32(s.id >> 32))}
	var cerr error
	if err := rc.Control(func(fd uintptr) {
		if s.park.registered {
			cerr = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, int(fd), &ev)
			if !errors.Is(cerr, unix.ENOENT) {
				return
			}
		}
		cerr = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev)
	}); err != nil || cerr != nil {
		delete(p.parked, s.id)
		s.srv.running.Done()
		return false
	}
	s.park.registered = true
	s.park.keepDeadline = !deadline.IsZero()
	// The timer is left running when the session wakes for input, and
	// moved only when the deadline has moved: moving it costs what moving
	// the deadline does (see armDeadline). When it fires for a session that
	// is not parked, or parked again with a later deadline that it has not
	// been moved to yet, wakeID finds nothing to do or wakes the session
	// early, which then reads on a goroutine until its real deadline.
	switch {
	case deadline.IsZero():
	case s.park.timer == nil:
		s.park.timer = time.AfterFunc(time.Until(deadline), func() { p.wake(s) })
		s.park.timerAt = deadline
	case !s.park.timerAt.Equal(deadline):
		s.park.timer.Reset(time.Until(deadline))
		s.park.timerAt = deadline
	}
	return true
}

// wake resumes s if it is parked: on input, at its idle timeout, or when
// its connection is closed from elsewhere (a parked session has no reader
// to notice).
func (p *parker) wake(s *session) { p.wakeID(s.id) }

func (p *parker) wakeID(id uint64) {
	p.mu.Lock()
	s := p.parked[id]
	delete(p.parked, id)
	p.mu.Unlock()
	if s == nil {
		return // woken already, or an event for a session that moved on
	}
	go func() {
		defer s.srv.running.Done()
		s.next()
	}()
}

// stop wakes every parked session (Close and Shutdown have closed their
// connections, so each ends at once) and ends run.
func (p *parker) stop() {
	p.mu.Lock()
	p.stopped = true
	ids := make([]uint64, 0, len(p.parked))
	for id := range p.parked {
		ids = append(ids, id)
	}
	p.mu.Unlock()
	for _, id := range ids {
		p.wakeID(id)
	}
	p.file.Close()
	<-p.done
}
