//go:build linux

package ftp_test

import (
	"net"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

// TestABORAsUrgentData sends ABOR the way Python's ftplib abort() does:
// the whole line with MSG_OOB, which makes its last byte (the LF) urgent.
// Unless the server keeps urgent data inline, that LF never arrives and
// the line never ends.
//
// A listener from ftp.Listen passes SO_OOBINLINE on to the connections it
// accepts; with one from net.Listen the server sets it on each.
func TestABORAsUrgentData(t *testing.T) {
	t.Run("ftp.Listen", func(t *testing.T) { testABORAsUrgentData(t, ftptest.NewServer(t)) })
	t.Run("net.Listen", func(t *testing.T) { testABORAsUrgentData(t, ftptest.NewServer(t, ftptest.WithListen(net.Listen))) })
}

func testABORAsUrgentData(t *testing.T, srv *ftptest.Server) {
	c := loggedIn(t, srv)
	sc, ok := c.conn.(syscall.Conn)
	if !ok {
		t.Fatalf("control connection is %T, not a syscall.Conn", c.conn)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var sendErr error
	raw.Write(func(fd uintptr) bool {
		sendErr = syscall.Sendto(int(fd), []byte("ABOR\r\n"), syscall.MSG_OOB, nil)
		return true
	})
	if sendErr != nil {
		t.Fatal(sendErr)
	}
	if r := c.read(); r.Code != 225 {
		t.Fatalf("ABOR sent as urgent data: got %v, want 225", r)
	}
	c.expect("NOOP", 200)
}

// TestConnectHookPanic checks that a panic in the Connect hook, which runs
// before any command, ends only that session.
func TestConnectHookPanic(t *testing.T) {
	var panicking atomic.Bool
	panicking.Store(true)
	srv := ftptest.NewServer(t, configure(func(s *ftp.Server) {
		s.Hooks.Connect = func(ftp.SessionInfo) {
			if panicking.Load() {
				panic("hook bug")
			}
		}
	}))
	c := dialRawNoGreeting(t, srv.Addr)
	if r := c.read(); r.Code != 421 {
		t.Fatalf("greeting after a panicking Connect hook: got %v, want 421", r)
	}
	c.expectClosed()
	panicking.Store(false)
	dialRaw(t, srv.Addr).login(ftptest.User, ftptest.Password)
}
