package ftp

import (
	"net"

	"golang.org/x/sys/unix"
)

// dataSendLowWater caps how many bytes a data connection holds queued in
// the kernel beyond what TCP can put on the wire (TCP_NOTSENT_LOWAT): the
// socket reports writable again only below it. Without the cap, sendfile
// fills the whole autotuned send buffer (up to 4 MiB) and the kernel then
// sends it piecemeal from the ACK path as the receiver's window opens,
// which on loopback with 300 downloads at once drove receive windows to
// zero, fired spurious tail-loss probes and more than doubled the
// receivers' kernel time: ftpbench 300 x RETR 10 MB took 1.10-1.34 s
// without the cap, 0.61-0.74 s with 64 KiB, 0.66-0.71 s with 128 KiB and
// 0.81-0.88 s with 256 KiB; single-stream RETR was no slower. In-flight
// data (the congestion window) is not limited, so long fat links still
// fill.
const dataSendLowWater = 64 << 10

// tuneDataConn sets the socket options a data connection wants.
func tuneDataConn(c *net.TCPConn) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	// Best effort: a kernel without TCP_NOTSENT_LOWAT (before 3.12)
	// transfers as before.
	rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT, dataSendLowWater)
	})
}
