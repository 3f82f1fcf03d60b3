package ftp

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestUnitListenerOptionsInherited checks what the server counts on when
// it skips the per-connection system calls: a socket accepted from Listen
// has SO_OOBINLINE and net's default keepalive; and that a listener from
// net.Listen is not taken for one that passes SO_OOBINLINE on.
func TestUnitListenerOptionsInherited(t *testing.T) {
	type opt struct {
		level, opt, want int
		name             string
	}
	oob := opt{unix.SOL_SOCKET, unix.SO_OOBINLINE, 1, "SO_OOBINLINE"}
	keepalive := []opt{
		{unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1, "SO_KEEPALIVE"},
		{unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 15, "TCP_KEEPIDLE"},
		{unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, 15, "TCP_KEEPINTVL"},
		{unix.IPPROTO_TCP, unix.TCP_KEEPCNT, 9, "TCP_KEEPCNT"},
	}
	for _, tc := range []struct {
		name   string
		listen func() (net.Listener, error)
		want   []opt
	}{
		{"Listen", func() (net.Listener, error) { return Listen("tcp", "127.0.0.1:0") }, append([]opt{oob}, keepalive...)},
		{"Listen IPv6", func() (net.Listener, error) { return Listen("tcp", "[::1]:0") }, append([]opt{oob}, keepalive...)},
		{"Listen dual-stack", func() (net.Listener, error) { return Listen("tcp", ":0") }, append([]opt{oob}, keepalive...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := tc.listen()
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if !inheritUrgentInline(l) {
				t.Error("inheritUrgentInline reports false for a listener from Listen")
			}
			c, err := net.DialTimeout("tcp", l.Addr().String(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			l.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
			a, err := l.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			rc, err := a.(*net.TCPConn).SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range tc.want {
				var got int
				var gerr error
				rc.Control(func(fd uintptr) { got, gerr = unix.GetsockoptInt(int(fd), o.level, o.opt) })
				if gerr != nil || got != o.want {
					t.Errorf("accepted socket: %s = %d (%v), want %d", o.name, got, gerr, o.want)
				}
			}
		})
	}
}

func TestUnitForeignListenerNotInherited(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if inheritUrgentInline(l) {
		t.Error("inheritUrgentInline reports true for a listener from net.Listen")
	}
}

// TestUnitListenUnixSocket checks that Listen, whose options are TCP's,
// still listens on a Unix socket.
func TestUnitListenUnixSocket(t *testing.T) {
	l, err := Listen("unix", filepath.Join(t.TempDir(), "ftp.sock"))
	if err != nil {
		t.Fatalf("Listen on a Unix socket: %v", err)
	}
	l.Close()
}

// TestUnitDataDialerBindsNoPort checks that an active-mode data
// connection, which binds the control connection's address before it
// connects, asks Linux to choose its port at connect(2)
// (IP_BIND_ADDRESS_NO_PORT), over IPv4 and IPv6, and still leaves from
// that address.
func TestUnitDataDialerBindsNoPort(t *testing.T) {
	for _, ip := range []string{"127.0.0.1", "::1"} {
		t.Run(ip, func(t *testing.T) {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
			if err != nil {
				t.Skipf("no %s on this host: %v", ip, err)
			}
			defer l.Close()
			d := dataDialer
			d.Timeout = 5 * time.Second
			d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(ip)}
			c, err := d.Dial("tcp", l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := c.LocalAddr().(*net.TCPAddr); !got.IP.Equal(net.ParseIP(ip)) || got.Port == 0 {
				t.Errorf("dialed from %v, want %s and a port", got, ip)
			}
			rc, err := c.(*net.TCPConn).SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			on, gerr := 0, error(nil)
			if err := rc.Control(func(fd uintptr) {
				on, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT)
			}); err != nil {
				t.Fatal(err)
			}
			if gerr != nil || on != 1 {
				t.Errorf("IP_BIND_ADDRESS_NO_PORT = %d, %v; want 1", on, gerr)
			}
		})
	}
}
