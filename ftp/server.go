package ftp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// errTooManyFiles is the accept error that a full file table gives; the
// accept loop waits and retries on it rather than giving up.
var errTooManyFiles = syscall.EMFILE

// Defaults for the zero values of [Server] fields.
const (
	DefaultAddr             = ":21"
	DefaultBanner           = "ftpshare ready."
	DefaultIdleTimeout      = 5 * time.Minute
	DefaultDataTimeout      = 30 * time.Second
	DefaultStallTimeout     = 5 * time.Minute
	DefaultMaxConns         = 512
	DefaultMaxConnsPerIP    = 32
	DefaultMaxLoginAttempts = 3
	DefaultLoginFailDelay   = time.Second
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown or Close.
var ErrServerClosed = errors.New("ftp: Server closed")

// PortRange is an inclusive range of TCP ports. The zero value means any
// free port the system picks.
type PortRange struct {
	Min, Max int
}

// Server is an FTP server. Its exported fields configure it; set them
// before calling Serve and do not change them afterwards. The zero value of
// each field is a safe default, noted beside it.
type Server struct {
	// Addr is the address ListenAndServe listens on; "" means ":21".
	Addr string

	// Auth checks logins. nil lets nobody in.
	Auth Authorizer

	// Banner is the text of the 220 greeting; "" means DefaultBanner.
	Banner string

	// TLSConfig enables AUTH TLS (explicit FTPS) and is used by ServeTLS
	// (implicit FTPS). nil disables FTPS.
	TLSConfig *tls.Config

	// TLSControlRequired refuses USER and PASS until the control
	// connection is encrypted with AUTH TLS (534/530).
	TLSControlRequired bool

	// TLSDataRequired refuses transfers and listings until the client
	// sends PROT P (521).
	TLSDataRequired bool

	// TLSSessionReuseRequired refuses a TLS data connection that does not
	// resume the TLS session of its own control connection, so that a
	// stolen data connection cannot be used. Off by default: some clients
	// (Python's ftplib among them) cannot resume.
	TLSSessionReuseRequired bool

	// TLSCloseNotifyRequired fails (426) a TLS upload whose data
	// connection ends without TLS's close_notify alert. A bare TCP end
	// may be a client cut off between two records, or a forged FIN, and
	// the file is then shorter than what the client meant to send, with
	// nothing to tell. Off by default, as vsftpd's strict_ssl_read_eof:
	// a client that skips the alert would fail every upload. Either way
	// such an upload is logged with a warning.
	TLSCloseNotifyRequired bool

	// PassivePorts limits the ports PASV and EPSV listen on; the zero
	// value lets the system pick.
	PassivePorts PortRange

	// PublicIP is the IPv4 address PASV replies announce, for a server
	// behind NAT. "" announces the control connection's local address.
	PublicIP string

	// AllowForeignAddresses allows PORT and EPRT to an address other than
	// the client's (FXP) and passive data connections from one. Off by
	// default: it enables bounce attacks and data-connection theft.
	AllowForeignAddresses bool

	// AllowPrivilegedPorts allows PORT and EPRT to ports below 1024.
	AllowPrivilegedPorts bool

	// IdleTimeout closes a control connection that sends no complete
	// command line, or reads no reply, for this long (421); it may run up
	// to an eighth longer. It pauses while a transfer runs. 0 means
	// DefaultIdleTimeout; negative means never (a reply that the client
	// does not read for a minute still ends the session).
	IdleTimeout time.Duration

	// DataTimeout bounds the wait for a data connection to be opened
	// (passive accept or active dial); 0 means DefaultDataTimeout.
	DataTimeout time.Duration

	// StallTimeout aborts a transfer that moves no byte for this long;
	// 0 means DefaultStallTimeout; negative means never.
	StallTimeout time.Duration

	// MaxConns limits simultaneous control connections; 0 means
	// DefaultMaxConns, negative means no limit.
	MaxConns int

	// MaxConnsPerIP limits simultaneous control connections from one IP
	// address; 0 means DefaultMaxConnsPerIP, negative means no limit.
	MaxConnsPerIP int

	// MaxLoginAttempts is the number of failed logins after which a
	// session is closed; 0 means DefaultMaxLoginAttempts.
	MaxLoginAttempts int

	// MaxLoginFailuresPerIP bans an address that fails this many logins
	// (across sessions) within LoginBanDuration, for LoginBanDuration: its
	// logins fail and its new connections are refused. 0 means
	// DefaultMaxLoginFailuresPerIP, negative means no ban.
	MaxLoginFailuresPerIP int

	// LoginBanDuration is the window and length of a ban; 0 means
	// DefaultLoginBanDuration.
	LoginBanDuration time.Duration

	// LoginFailDelay delays the reply to a failed login; 0 means
	// DefaultLoginFailDelay, negative means no delay.
	LoginFailDelay time.Duration

	// MaxDownloadRate and MaxUploadRate limit each session's transfer
	// rate in bytes per second; 0 means no limit.
	MaxDownloadRate int64
	MaxUploadRate   int64

	// Logger receives one line per session event and transfer, and each
	// command at debug level. nil means slog.Default().
	Logger *slog.Logger

	// Hooks are called on session and transfer events.
	Hooks Hooks

	initOnce sync.Once
	tlsOnce  sync.Once
	tlsCfg   *tls.Config
	cmds     map[string]*command
	site     map[string]siteCommand
	log      *slog.Logger

	mu        sync.Mutex
	listeners map[*net.Listener]struct{}
	sessions  map[*session]struct{}
	perIP     map[netip.Addr]int
	logs      logQueue
	running   sync.WaitGroup // session goroutines and parked sessions

	parkMu sync.Mutex
	parker *parker // idle sessions without a goroutine; nil until one parks
	noPark bool    // the platform cannot park, or the server has closed
	// hot holds the sessions waiting for their next command on their
	// goroutine before they park (see hot.go); parkAfter is how long they
	// wait (0: defaultParkAfter; negative: they park at once).
	hot       hotSet
	parkAfter time.Duration
	failures  loginFailures
	uploads   map[uploadKey]struct{}
	// downloads counts the zero-copy downloads running, whose share of
	// sendQueueBudget each takes (see sendLowWater).
	downloads atomic.Int32
	nextID    atomic.Uint64
	shutdown  atomic.Bool
}

func (srv *Server) init() {
	srv.initOnce.Do(func() {
		srv.cmds = commandTable()
		srv.site = siteTable()
		srv.log = srv.Logger
		if srv.log == nil {
			srv.log = slog.Default()
		}
		srv.listeners = make(map[*net.Listener]struct{})
		srv.sessions = make(map[*session]struct{})
		srv.perIP = make(map[netip.Addr]int)
	})
}

// ListenAndServe listens on srv.Addr and serves FTP on it.
func (srv *Server) ListenAndServe() error {
	if srv.shutdown.Load() {
		return ErrServerClosed
	}
	addr := srv.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	l, err := Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("ftp: listen: %w", err)
	}
	return srv.Serve(l)
}

// Serve accepts connections on l and serves each in its own goroutine. It
// always returns a non-nil error and closes l; after Shutdown or Close the
// error is ErrServerClosed.
func (srv *Server) Serve(l net.Listener) error {
	return srv.serve(l, false)
}

// ServeTLS is Serve for implicit FTPS: every connection speaks TLS from its
// first byte (conventionally on port 990), using srv.TLSConfig.
func (srv *Server) ServeTLS(l net.Listener) error {
	if srv.TLSConfig == nil {
		l.Close()
		return errors.New("ftp: ServeTLS needs a TLSConfig")
	}
	return srv.serve(l, true)
}

func (srv *Server) serve(l net.Listener, implicitTLS bool) error {
	srv.init()
	if !srv.trackListener(&l, true) {
		l.Close()
		return ErrServerClosed
	}
	defer srv.trackListener(&l, false)
	defer l.Close()
	urgentInline := inheritUrgentInline(l)

	var delay time.Duration // backoff on temporary accept errors, as net/http does
	for {
		conn, err := l.Accept()
		if err != nil {
			if srv.shutdown.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, errTooManyFiles) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				srv.log.Warn("ftp: accept error; retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("ftp: accept: %w", err)
		}
		delay = 0
		srv.accept(conn, implicitTLS, urgentInline)
	}
}

// accept admits conn as a new session, or refuses it when a limit is reached.
// urgentInline says conn has SO_OOBINLINE from its listener.
func (srv *Server) accept(conn net.Conn, implicitTLS, urgentInline bool) {
	ip := addrIP(conn.RemoteAddr())
	srv.mu.Lock()
	var refuse string
	switch {
	case srv.shutdown.Load():
		refuse = "421 Server is shutting down.\r\n"
	case srv.banned(conn.RemoteAddr()):
		refuse = "421 Too many failed logins from your address; try again later.\r\n"
	case limit(srv.MaxConns, DefaultMaxConns) > 0 && len(srv.sessions) >= limit(srv.MaxConns, DefaultMaxConns):
		refuse = "421 Too many connections; try again later.\r\n"
	case limit(srv.MaxConnsPerIP, DefaultMaxConnsPerIP) > 0 && srv.perIP[ip] >= limit(srv.MaxConnsPerIP, DefaultMaxConnsPerIP):
		refuse = "421 Too many connections from your IP address.\r\n"
	}
	if refuse != "" {
		srv.mu.Unlock()
		srv.log.Info("ftp: connection refused", "remote", conn.RemoteAddr().String(), "reason", refuse[4:len(refuse)-2])
		go refuseConn(conn, refuse, implicitTLS)
		return
	}
	if !urgentInline {
		keepUrgentInline(conn)
	}
	s := newSession(srv, conn, srv.nextID.Add(1))
	srv.sessions[s] = struct{}{}
	srv.perIP[ip]++
	srv.running.Add(1)
	srv.mu.Unlock()
	go func() {
		defer srv.running.Done()
		s.serve(implicitTLS)
	}()
}

// refuseConn tells a refused client why, without letting it hold the server.
func refuseConn(conn net.Conn, msg string, implicitTLS bool) {
	defer conn.Close()
	if implicitTLS {
		return // a reply in clear would only confuse a TLS client
	}
	conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(conn, msg)
}

// limit resolves a limit field: 0 means def, negative means none (0).
func limit(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// duration resolves a duration field: 0 means def, negative means none (0).
func duration(v, def time.Duration) time.Duration {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// addrIP returns the IP of a TCP address, IPv4-mapped IPv6 unmapped.
func addrIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

func (srv *Server) forget(s *session) {
	ip := addrIP(s.remote)
	srv.mu.Lock()
	delete(srv.sessions, s)
	if srv.perIP[ip]--; srv.perIP[ip] <= 0 {
		delete(srv.perIP, ip)
	}
	srv.mu.Unlock()
}

func (srv *Server) trackListener(l *net.Listener, add bool) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if add {
		if srv.shutdown.Load() {
			return false
		}
		srv.listeners[l] = struct{}{}
	} else {
		delete(srv.listeners, l)
	}
	return true
}

// closeListeners closes every listener; the caller holds srv.mu.
func (srv *Server) closeListeners() error {
	var errs []error
	for l := range srv.listeners {
		if err := (*l).Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Shutdown stops the server gracefully: it closes the listeners, says 421
// to idle sessions and closes them, and lets sessions that are running a
// transfer or a command finish, then closes them too. If ctx ends first,
// the remaining sessions are closed at once and ctx's error is returned.
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.init()
	srv.shutdown.Store(true)
	srv.mu.Lock()
	err := srv.closeListeners()
	srv.mu.Unlock()

	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		live := srv.liveSessions()
		for _, s := range live {
			s.closeIfIdle()
		}
		if len(live) == 0 {
			srv.waitSessions()
			srv.stopParker()
			return err
		}
		select {
		case <-ctx.Done():
			for _, s := range srv.liveSessions() {
				go s.goodbye() // a client that does not read must not hold up the others
			}
			srv.waitSessions()
			srv.stopParker()
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Close stops the server at once: listeners and every connection are closed
// and transfers in progress are cut. It returns when the sessions have ended.
func (srv *Server) Close() error {
	srv.init()
	srv.shutdown.Store(true)
	srv.mu.Lock()
	err := srv.closeListeners()
	srv.mu.Unlock()
	srv.closeSessions()
	srv.waitSessions()
	srv.stopParker()
	return err
}

// idleParker returns the server's parker, starting it on first use, or
// nil where sessions cannot be parked.
func (srv *Server) idleParker() *parker {
	srv.parkMu.Lock()
	defer srv.parkMu.Unlock()
	if srv.parker == nil && !srv.noPark {
		p, err := newParker()
		if err != nil {
			srv.noPark = true
			if !errors.Is(err, errors.ErrUnsupported) {
				srv.log.Warn("ftp: idle sessions will each keep a goroutine", "err", err)
			}
			return nil
		}
		srv.parker = p
	}
	return srv.parker
}

// unpark resumes s if it is parked, after its connection was closed from
// outside its own goroutine.
func (srv *Server) unpark(s *session) {
	srv.parkMu.Lock()
	p := srv.parker
	srv.parkMu.Unlock()
	if p != nil {
		p.wake(s)
	}
}

// stopParker ends the parker's goroutine, and the hot sessions' sweeper,
// once the sessions are gone.
func (srv *Server) stopParker() {
	srv.hot.close()
	srv.parkMu.Lock()
	p := srv.parker
	srv.parker, srv.noPark = nil, true
	srv.parkMu.Unlock()
	if p != nil {
		p.stop()
	}
}

// waitSessions waits for the session goroutines to end (their connections
// are closed, so they end promptly; the bound guards against a hook that
// never returns) and for their log records to be written.
func (srv *Server) waitSessions() {
	done := make(chan struct{})
	go func() {
		srv.running.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		srv.log.Warn("ftp: sessions still running after Close")
	}
	srv.logs.flush()
}

func (srv *Server) closeSessions() {
	for _, s := range srv.liveSessions() {
		s.kill()
	}
}

// liveSessions returns a snapshot of the open sessions.
func (srv *Server) liveSessions() []*session {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	live := make([]*session, 0, len(srv.sessions))
	for s := range srv.sessions {
		live = append(live, s)
	}
	return live
}
