//go:build unix

package ftp

import (
	"net"
	"syscall"
)

// keepUrgentInline sets SO_OOBINLINE on a control connection. Clients send
// ABOR's Telnet "synch" as TCP urgent data (Python's ftplib sends the whole
// "ABOR\r\n" with MSG_OOB); without the option the kernel takes the urgent
// byte out of the stream, here the final LF, and the line never ends.
func keepUrgentInline(conn net.Conn) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_OOBINLINE, 1)
	})
}
