//go:build !linux

package ftp

import (
	"net"
	"syscall"
)

// controlListenConfig is net's default elsewhere: whether accepted
// sockets inherit a listener's options varies by system.
var controlListenConfig net.ListenConfig

// inheritUrgentInline reports false: keepUrgentInline sets the option on
// each connection.
func inheritUrgentInline(net.Listener) bool { return false }

// dataDialControl does nothing elsewhere: the ports a bind before
// connect(2) takes are a Linux finding (see listen_linux.go).
func dataDialControl(string, string, syscall.RawConn) error { return nil }
