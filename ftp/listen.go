package ftp

import (
	"context"
	"net"
)

// Listen announces on the local network address for FTP control
// connections, as net.Listen does. On Linux, which copies a listening
// socket's options to each socket it accepts (the keepalive timer
// included), the options every control connection needs are set once on
// the listener: keepalive (15 s, as net's default) and SO_OOBINLINE (see
// keepUrgentInline). That saves five system calls per connection; any
// listener given to Serve still works, with the options set per
// connection as needed.
func Listen(network, address string) (net.Listener, error) {
	// The error is net's *OpError, which names the operation and address.
	return controlListenConfig.Listen(context.Background(), network, address)
}

// dataListenConfig and dataDialer open data connections without TCP
// keepalive: a data connection is never idle for long (StallTimeout ends
// one that is), and net's default costs four system calls on each. The
// dialer's control (see dataDialControl) lets an active-mode connection
// bind the control connection's address without using up ports.
var (
	dataListenConfig = net.ListenConfig{KeepAlive: -1}
	dataDialer       = net.Dialer{KeepAlive: -1, Control: dataDialControl}
)
