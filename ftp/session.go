package ftp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

const (
	// maxLineLen caps a command line; longer lines get 500 and are dropped.
	maxLineLen = 4096
	// readBufSize is small on purpose: idle sessions are many, command
	// lines short, and the line buffer grows only for the rare long one.
	readBufSize = 128
	// replyTimeout bounds each write on the control connection when
	// there is no idle timeout (which bounds them otherwise, see
	// armDeadline), so a client that stops reading cannot hold a session
	// forever.
	replyTimeout = time.Minute
)

// session is one control connection and everything it owns: the login, the
// working directory, the data channel and the transfer running on it.
type session struct {
	srv    *Server
	id     uint64
	log    sessionLog
	remote net.Addr
	local  net.Addr
	ctx    context.Context
	cancel context.CancelFunc

	// mu guards conn (swapped by AUTH TLS), idle, closed and xfer.
	mu   sync.Mutex
	conn net.Conn
	idle bool // blocked reading the next command, no transfer running
	// handshaking: the control connection's TLS handshake is under way.
	handshaking bool
	closed      bool
	xfer        *transfer
	// deadline is the deadline armed on conn, see armDeadline.
	deadline time.Time
	// waitSince is when readLine began to wait for a command (Unix
	// nanoseconds; 0 while none is awaited), and parkRequested is set when
	// the hot sessions' sweeper asks the session to park (see hot.go).
	waitSince     atomic.Int64
	parkRequested atomic.Bool

	r    *bufio.Reader
	line []byte // the command line being read

	wmu sync.Mutex // serialises replies from the session and its transfer

	// Login state.
	userName string // from USER, waiting for PASS
	acct     *Account
	failed   int // failed logins in this session

	// Command state.
	cwd        string
	renameFrom string
	restOffset int64
	ascii      bool // TYPE A; binary until the client asks otherwise
	facts      factSet
	quit       bool // stop after the current command

	data dataState // PASV/PORT state, see datachan.go
	// Per-session bandwidth limits, nil when unlimited.
	upLimit, downLimit *rate.Limiter

	tls  tlsState  // see tls.go
	park parkState // see park_linux.go
}

func newSession(srv *Server, conn net.Conn, id uint64) *session {
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{
		srv:    srv,
		id:     id,
		remote: conn.RemoteAddr(),
		local:  conn.LocalAddr(),
		ctx:    ctx,
		cancel: cancel,
		conn:   conn,
		r:      bufio.NewReaderSize(conn, readBufSize),
		cwd:    "/",
		facts:  defaultFacts,
	}
	s.upLimit = newLimiter(srv.MaxUploadRate)
	s.downLimit = newLimiter(srv.MaxDownloadRate)
	s.log = sessionLog{s}
	return s
}

// info describes the session for hooks.
func (s *session) info() SessionInfo {
	si := SessionInfo{ID: s.id, RemoteAddr: s.remote, LocalAddr: s.local, TLS: s.tls.control}
	if s.acct != nil {
		si.User, si.Anonymous = s.acct.User, s.acct.Anonymous
	}
	return si
}

// serve runs the session until the client quits, the connection fails or
// the server closes it.
func (s *session) serve(implicitTLS bool) {
	if !s.start(implicitTLS) {
		s.finish()
		return
	}
	s.next()
}

// continueOnFreshStack waits for the next command on a new goroutine and
// lets the current one end. The session's goroutine spends its life
// waiting for the next command line; command handlers (TLS handshakes,
// Authorizers, listings, logging) need far deeper stacks, and a
// goroutine's stack never shrinks below half of what it grew to. A new
// goroutine starts at the minimum 2 KiB, which is most of what an idle
// session costs. Handlers run on the goroutine that read their line, so a
// reply goes out with no hand-off between goroutines; the new goroutine
// is started after it, off the client's round trip.
func (s *session) continueOnFreshStack() {
	s.srv.running.Add(1)
	go func() {
		defer s.srv.running.Done()
		s.next()
	}()
}

// start greets the client (after the TLS handshake for implicit FTPS).
func (s *session) start(implicitTLS bool) bool {
	s.log.Info("session opened", "local", s.local.String())
	if h := s.srv.Hooks.Connect; h != nil && !s.runHook("Connect", func() { h(s.info()) }) {
		s.reply(421, "Internal server error; closing the connection.")
		return false
	}
	if implicitTLS {
		if err := s.startTLS(true); err != nil {
			s.log.Info("implicit TLS handshake failed", "err", err)
			return false
		}
	}
	banner := s.srv.Banner
	if banner == "" {
		banner = DefaultBanner
	}
	s.reply(220, banner)
	return true
}

// next reads command lines and runs them. Once the session is logged in,
// it waits for each next command on the same goroutine while the session
// is hot (see hot.go), else parked (see tryPark) or on a fresh goroutine
// (see continueOnFreshStack). A login (USER, PASS, perhaps AUTH TLS) runs
// on one goroutine: starting a goroutine wakes an idle thread to look for
// it (runtime.wakep), which on a small machine takes a core from the
// client and moves the session between cores. A login and a burst of
// commands start one goroutine, for the connection; perf stat, 2,000
// sequential logins on 2 cores: about 8.5 context switches per login,
// where pyftpdlib's single thread needs 4.
func (s *session) next() {
	for {
		line, err := s.readLine()
		if err == errParkRequested {
			// The sweeper took s out of the hot set, but a command may
			// have put it back since: a parked session must not hold a
			// place there.
			s.srv.hot.remove(s)
			if !s.tryPark() {
				s.continueOnFreshStack()
			}
			return
		}
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Debug("control connection ended", "err", err)
			}
			s.finish()
			return
		}
		s.handle(line)
		if s.quit {
			s.finish()
			return
		}
		if s.acct == nil {
			continue // still logging in: a login is over in moments
		}
		if s.stayHot() {
			continue
		}
		if s.tryPark() {
			return
		}
		s.continueOnFreshStack()
		return
	}
}

// tryPark hands a logged-in session that is waiting for its next command
// to the server's parker (see park_linux.go), which holds it without a
// goroutine; it reports whether it did, and the caller's goroutine then
// ends. Sessions still logging in wait on a goroutine so that USER and
// PASS answer without a detour, and so do TLS control connections, whose
// tls.Conn may hold decrypted input that epoll cannot see.
//
// The parked wait keeps the deadline as it is: the reply to the last
// command armed it (see send), or readLine did when the wait began, so
// the idle timeout counts from then.
func (s *session) tryPark() bool {
	if s.acct == nil || s.r.Buffered() > 0 || s.transferring() {
		return false
	}
	p := s.srv.idleParker()
	if p == nil {
		return false
	}
	s.mu.Lock()
	tc, plain := s.conn.(*net.TCPConn)
	closed := s.closed
	s.idle = true // for Shutdown, which says goodbye to idle sessions
	var deadline time.Time
	if duration(s.srv.IdleTimeout, DefaultIdleTimeout) > 0 {
		deadline = s.deadline
	}
	s.mu.Unlock()
	if !plain || closed {
		return false
	}
	return p.park(s, tc, deadline)
}

// finish tears the session down: it waits for a running transfer to end
// (its connection is closed, so it ends promptly), closes everything and
// runs the hooks.
func (s *session) finish() {
	s.mu.Lock()
	s.closed = true
	conn := s.conn
	s.mu.Unlock()
	conn.Close()
	s.srv.hot.remove(s)
	s.park.release()
	s.abortTransfer()
	s.data.close()
	s.cancel()
	if s.acct != nil {
		if h := s.srv.Hooks.Logout; h != nil {
			s.runHook("Logout", func() { h(s.info()) })
		}
	}
	if h := s.srv.Hooks.Disconnect; h != nil {
		s.runHook("Disconnect", func() { h(s.info()) })
	}
	s.srv.forget(s)
	s.log.Info("session closed")
}

// goodbye ends a session that Shutdown can wait for no longer: a running
// transfer is aborted (426), then the client hears 421, then the
// connection closes. Clients then know the server went away on purpose.
func (s *session) goodbye() {
	s.mu.Lock()
	x, closed := s.xfer, s.closed
	s.closed = true
	conn := s.conn
	s.mu.Unlock()
	if closed {
		return
	}
	s.cancel()
	if x != nil {
		x.abort()
		select {
		case <-x.done:
		case <-time.After(time.Second):
		}
	}
	conn.SetWriteDeadline(time.Now().Add(time.Second))
	s.reply(421, "Server is shutting down; goodbye.")
	conn.Close()
	s.srv.unpark(s)
}

// runHook runs a hook outside a command handler, where a panic would
// otherwise take the whole server down. It reports whether h returned.
func (s *session) runHook(name string, h func()) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in hook", "hook", name, "panic", r, "stack", string(debug.Stack()))
			ok = false
		}
	}()
	h()
	return true
}

// kill closes the connections of the session at once; serve then returns.
func (s *session) kill() {
	s.mu.Lock()
	s.closed = true
	conn, x := s.conn, s.xfer
	s.mu.Unlock()
	s.cancel() // ends a failed-login delay or an Authorizer call
	conn.Close()
	s.srv.unpark(s)
	if x != nil {
		x.abort()
	}
}

// closeIfIdle says 421 and closes the session if it is waiting for a
// command with no transfer running; Shutdown calls it until all are gone.
func (s *session) closeIfIdle() {
	s.mu.Lock()
	idle := s.idle && s.xfer == nil && !s.closed
	handshaking := s.handshaking && !s.closed
	if idle || handshaking {
		s.closed = true
	}
	conn := s.conn
	s.mu.Unlock()
	switch {
	case handshaking:
		s.cancel() // no reply: the client is mid-handshake and cannot read one
		conn.Close()
	case idle:
		s.reply(421, "Server is shutting down; goodbye.")
		conn.Close()
		s.srv.unpark(s)
	}
}

func (s *session) setIdle(idle bool) {
	s.mu.Lock()
	s.idle = idle
	s.mu.Unlock()
}

// readLine returns the next command line, terminator included. Lines over
// maxLineLen are answered with 500 and skipped. The idle timeout applies to
// the whole line (so a client sending a byte now and then cannot hold the
// session) but is extended while a transfer runs.
func (s *session) readLine() ([]byte, error) {
	now := time.Now()
	s.mu.Lock()
	closed := s.closed
	s.idle = true
	if s.park.keepDeadline {
		s.park.keepDeadline = false // armed when the session parked; it runs on
	} else {
		s.armDeadline(now)
	}
	s.mu.Unlock()
	if closed {
		return nil, net.ErrClosed
	}
	s.waitSince.Store(now.UnixNano())
	defer s.waitSince.Store(0)
	idle := duration(s.srv.IdleTimeout, DefaultIdleTimeout)
	s.line = s.line[:0]
	overlong := false
	for {
		chunk, err := s.r.ReadSlice('\n')
		if len(s.line)+len(chunk) > maxLineLen {
			overlong = true
			s.line = s.line[:0]
		} else if !overlong {
			s.line = append(s.line, chunk...)
		}
		if err == nil && !overlong {
			break
		}
		if isTimeout(err) && s.parkRequested.Swap(false) {
			s.restoreReadDeadline()
			if len(s.line) == 0 && !overlong {
				return nil, errParkRequested
			}
			continue // half a line came: read the rest here
		}
		if err = s.lineError(err, &overlong, idle); err != nil {
			s.setIdle(false)
			return nil, err
		}
	}
	s.setIdle(false)
	if cap(s.line) > 4*readBufSize && len(s.line) <= readBufSize {
		s.line = append([]byte(nil), s.line...) // give back a grown buffer
	}
	return s.line, nil
}

// lineError handles what interrupted the reading of a line: the end of an
// overlong line, a full buffer, or a timeout. It returns nil to go on.
func (s *session) lineError(err error, overlong *bool, idle time.Duration) error {
	switch {
	case err == nil: // the end of an overlong line
		s.reply(500, "Command line too long.") // which renews the deadline
		*overlong = false
		return nil
	case errors.Is(err, bufio.ErrBufferFull):
		return nil
	case isTimeout(err) && s.transferring():
		s.mu.Lock()
		s.armDeadline(time.Now())
		s.mu.Unlock()
		return nil
	case isTimeout(err):
		s.reply(421, "Control connection timed out.")
		s.log.Info("idle timeout", "after", idle)
	}
	return err
}

// armDeadline makes sure the control connection's deadline lies at least
// one idle timeout ahead, for reads and for writes alike (a client that
// stops reading replies is as idle as one that stops sending commands).
// With the idle timeout off, only writes get one: replyTimeout.
//
// It moves the deadline only when it has come nearer than that, and then
// an eighth further out, so a busy session moves it once in an eighth of a
// timeout rather than twice a command; the timeout fires between one and
// nine eighths of it after the last command. Moving a deadline is not
// free: each move re-queues the runtime's timer, and often wakes an idle
// thread to watch it, which on a small machine costs a context switch on
// the core the client runs on. One deadline for both directions is one
// runtime timer (internal/poll merges equal read and write deadlines).
// Called with s.mu held; a closed session keeps what it has (goodbye sets
// a short one).
func (s *session) armDeadline(now time.Time) {
	if s.closed {
		return
	}
	d, both := duration(s.srv.IdleTimeout, DefaultIdleTimeout), true
	if d == 0 {
		d, both = replyTimeout, false
	}
	if s.deadline.Sub(now) >= d {
		return
	}
	s.deadline = now.Add(d + d/8)
	if both {
		s.conn.SetDeadline(s.deadline)
	} else {
		s.conn.SetWriteDeadline(s.deadline)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// handle parses and runs one command line.
func (s *session) handle(line []byte) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in command handler", "panic", r, "stack", string(debug.Stack()))
			s.reply(421, "Internal server error; closing the connection.")
			s.quit = true
		}
	}()
	rawVerb, arg := parseLine(line)
	if len(rawVerb) == 0 {
		s.reply(500, "Empty command line.")
		return
	}
	cmd := s.srv.cmds[string(rawVerb)]
	if cmd == nil {
		s.log.Debug("unknown command", "verb", truncate(string(rawVerb), 16))
		s.reply(500, fmt.Sprintf("Unknown command %q.", truncate(string(rawVerb), 16)))
		return
	}
	verb := cmd.name
	// RFC 959: RNTO must come right after RNFR; any other command, or an
	// RNTO refused before it runs, cancels the rename.
	renameFrom := s.renameFrom
	s.renameFrom = ""
	if s.srv.log.Enabled(s.ctx, slog.LevelDebug) {
		shown := arg
		if verb == "PASS" && !IsAnonymous(s.userName) {
			shown = "****"
		}
		s.log.Debug("command", "verb", verb, "arg", shown)
	}
	if !cmd.concurrent {
		s.waitTransfer()
	}
	switch {
	case cmd.auth && s.acct == nil:
		s.reply(530, "Please log in with USER and PASS first.")
	case cmd.arg == argRequired && arg == "":
		s.reply(501, fmt.Sprintf("Syntax error: %s needs an argument.", verb))
	case cmd.arg == argNone && strings.Trim(arg, " ") != "": // trailing blanks are harmless
		s.reply(501, fmt.Sprintf("Syntax error: %s takes no argument.", verb))
	case hasNUL(arg):
		s.reply(501, "Syntax error: NUL byte in argument.")
	case !s.tlsAllows(verb):
		// tlsAllows replied.
	default:
		if verb == "RNTO" {
			s.renameFrom = renameFrom
		}
		cmd.handler(s, arg)
	}
}

func hasNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// reply writes a one-line reply.
func (s *session) reply(code int, msg string) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	bp := replyBufs.Get().(*[]byte)
	b := strconv.AppendInt((*bp)[:0], int64(code), 10)
	b = append(b, ' ')
	b = appendReplyText(b, msg)
	s.send(bp, b)
}

// replyBufs lend reply buffers, so that idle sessions keep none.
var replyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// replyLines writes a multi-line reply: "code-first", the lines in between
// as they are (a leading space is added to a line that starts with a
// digit, per RFC 959), and "code last".
func (s *session) replyLines(code int, first string, lines []string, last string) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	bp := replyBufs.Get().(*[]byte)
	b := strconv.AppendInt((*bp)[:0], int64(code), 10)
	b = append(b, '-')
	b = appendReplyText(b, first)
	for _, l := range lines {
		if l != "" && l[0] >= '0' && l[0] <= '9' {
			b = append(b, ' ')
		}
		b = appendReplyText(b, l)
	}
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = appendReplyText(b, last)
	s.send(bp, b)
}

// appendReplyText appends msg and CRLF. A CR or LF inside msg (a file name
// can hold them) would end the reply early, so it is sent as RFC 2640 asks:
// CR as CR NUL, LF as NUL.
func appendReplyText(b []byte, msg string) []byte {
	for i := 0; i < len(msg); i++ {
		switch c := msg[i]; c {
		case '\r':
			b = append(b, '\r', 0)
		case '\n':
			b = append(b, 0)
		default:
			b = append(b, c)
		}
	}
	return append(b, '\r', '\n')
}

// send writes b on the control connection and gives its buffer back to
// the pool through bp; the caller holds wmu.
func (s *session) send(bp *[]byte, b []byte) {
	s.mu.Lock()
	conn := s.conn
	s.armDeadline(time.Now())
	s.mu.Unlock()
	if _, err := conn.Write(b); err != nil {
		s.log.Debug("reply not sent", "err", err)
		conn.Close() // the reader sees it and ends the session
		s.srv.unpark(s)
	}
	if cap(b) <= 4096 { // a large STAT listing's buffer is left to the GC
		*bp = b[:0]
		replyBufs.Put(bp)
	}
}

// abs turns a path argument into a cleaned virtual path.
func (s *session) abs(arg string) string {
	if arg == "" {
		return s.cwd
	}
	if arg[0] == '/' {
		return path.Clean(arg)
	}
	return path.Join(s.cwd, arg)
}

// permit reports whether the user holds p at the virtual path vpath, and
// answers 550 when not.
func (s *session) permit(p Perm, vpath string) bool {
	if s.acct.Perms.For(vpath).Has(p) {
		return true
	}
	s.reply(550, "Permission denied.")
	return false
}

// can reports, without replying, whether the user holds p at vpath.
func (s *session) can(p Perm, vpath string) bool {
	return s.acct != nil && s.acct.Perms.For(vpath).Has(p)
}

// startTLS turns the control connection into a TLS server connection and
// completes the handshake within the data timeout.
func (s *session) startTLS(implicit bool) error {
	s.mu.Lock()
	raw := s.conn
	s.handshaking = true // Shutdown may close the connection meanwhile
	s.mu.Unlock()
	tc := tls.Server(raw, s.controlTLSConfig())
	raw.SetDeadline(time.Now().Add(duration(s.srv.DataTimeout, DefaultDataTimeout)))
	err := tc.HandshakeContext(s.ctx)
	s.mu.Lock()
	s.handshaking = false
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("ftp: TLS handshake: %w", err)
	}
	raw.SetDeadline(time.Time{})
	s.mu.Lock()
	s.conn = tc
	s.mu.Unlock()
	s.r = bufio.NewReaderSize(tc, readBufSize)
	s.tls.control = true
	if implicit {
		s.tls.implicit = true
		s.tls.resetData()
	}
	return nil
}
