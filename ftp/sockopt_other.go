//go:build !linux

package ftp

import "net"

// tuneDataConn sets the socket options a data connection wants; only the
// Linux build has any (sockopt_linux.go).
func tuneDataConn(*net.TCPConn) {}
