// Package ftptest starts throw-away FTP servers for tests, as
// net/http/httptest does for HTTP:
//
//	srv := ftptest.NewServer(t)
//	conn, _ := net.Dial("tcp", srv.Addr)
//
// The server listens on 127.0.0.1 at a free port, serves a fresh temporary
// directory to the user "user" (password "pass", all permissions) and to
// anonymous (read-only), and is closed when the test ends.
package ftptest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
)

// The credentials of the default user.
const (
	User     = "user"
	Password = "pass"
)

// Server is a running test server.
type Server struct {
	// FTP is the server; options may change its fields before it starts.
	FTP *ftp.Server
	// Users is the server's Authorizer, with User and anonymous in it.
	Users *ftp.Users
	// Dir is the directory served to User and anonymous.
	Dir string
	// Network is "tcp4" (127.0.0.1) unless an option sets "tcp6" (::1).
	Network string
	// Addr is the address the server listens on, "127.0.0.1:port".
	Addr string
	// Port is the port of Addr.
	Port int
	// ImplicitTLS serves implicit FTPS (TLS from the first byte, with
	// ftp.Server.ServeTLS) instead of plain FTP; see WithImplicitTLS.
	ImplicitTLS bool
	// Listen opens the listener: ftp.Listen unless an option sets another
	// (WithListen).
	Listen func(network, address string) (net.Listener, error)

	done      chan error
	closeOnce sync.Once
}

// Option changes a Server before it starts.
type Option func(*Server)

// WithListen makes the server listen with listen, such as net.Listen,
// instead of ftp.Listen.
func WithListen(listen func(network, address string) (net.Listener, error)) Option {
	return func(s *Server) { s.Listen = listen }
}

// WithIPv6 makes the server listen on [::1] instead of 127.0.0.1.
func WithIPv6() Option { return func(s *Server) { s.Network = "tcp6" } }

// WithImplicitTLS makes the server speak TLS from the first byte, as on
// port 990 (ftp.Server.ServeTLS). FTP.TLSConfig must be set as well, by
// another option.
func WithImplicitTLS() Option { return func(s *Server) { s.ImplicitTLS = true } }

// NewServer starts a server and registers its shutdown with t.Cleanup. By
// default it logs only errors (FTPTEST_LOG=debug shows every command),
// delays failed logins by 1ms, and keeps the engine's other defaults.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{Dir: t.TempDir(), Users: ftp.NewUsers(), Network: "tcp4"}
	s.FTP = &ftp.Server{
		Auth:           s.Users,
		LoginFailDelay: time.Millisecond,
		Logger:         testLogger(),
	}
	for _, o := range opts {
		o(s)
	}
	if err := s.Users.Add(User, Password, s.Dir, ftp.Permissions{Default: ftp.PermAll}); err != nil {
		t.Fatalf("ftptest: %v", err)
	}
	if err := s.Users.AddAnonymous(s.Dir, ftp.Permissions{Default: ftp.PermRead}); err != nil {
		t.Fatalf("ftptest: %v", err)
	}
	host := "127.0.0.1"
	if s.Network == "tcp6" {
		host = "::1"
	}
	listen := s.Listen
	if listen == nil {
		listen = ftp.Listen
	}
	l, err := listen(s.Network, net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("ftptest: listen: %v", err)
	}
	s.Addr = l.Addr().String()
	s.Port = l.Addr().(*net.TCPAddr).Port
	s.done = make(chan error, 1)
	serve := s.FTP.Serve
	if s.ImplicitTLS {
		serve = s.FTP.ServeTLS
	}
	go func() { s.done <- serve(l) }()
	t.Cleanup(func() { s.Close(t) })
	return s
}

// Close shuts the server down, cutting what still runs after a grace second.
func (s *Server) Close(t testing.TB) {
	s.closeOnce.Do(func() { s.close(t) })
}

func (s *Server) close(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.FTP.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ftptest: shutdown: %v", err)
	}
	s.FTP.Close()
	select {
	case err := <-s.done:
		if err != nil && !errors.Is(err, ftp.ErrServerClosed) {
			t.Errorf("ftptest: serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("ftptest: Serve did not return after Close")
	}
	s.Users.Close()
}

func testLogger() *slog.Logger {
	level := slog.LevelError
	if os.Getenv("FTPTEST_LOG") == "debug" {
		level = slog.LevelDebug
	}
	var w io.Writer = os.Stderr
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
