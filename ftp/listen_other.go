//go:build !linux

package ftp

import "net"

// controlListenConfig is net's default elsewhere: whether accepted
// sockets inherit a listener's options varies by system.
var controlListenConfig net.ListenConfig

// inheritUrgentInline reports false: keepUrgentInline sets the option on
// each connection.
func inheritUrgentInline(net.Listener) bool { return false }
