package ftp

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// sendfileChunk bounds one sendfile(2) call. Measured on loopback
// (Linux 6.18, 2 cores, ftpbench RETR, 6 rounds each): one call for the
// whole file, what io.Copy makes, 2,450 MB/s; 192 KiB to 512 KiB chunks
// 3,400-3,550 MB/s; 1 MiB 2,750. Within one call the kernel passes
// MSG_MORE while bytes remain, so TCP holds back partial segments; a
// chunk's end pushes them.
const sendfileChunk = 256 << 10

// A lone download (see sendFileTo) waits for its full socket in poll(2)
// for at most fullSocketPoll before it hands the wait to the netpoller,
// and yields its P every yieldChunks chunks.
const (
	fullSocketPoll = 50 // milliseconds
	yieldChunks    = 8
)

// sendFileTo copies f from its current offset to its end onto c with
// sendfile(2) in chunks of sendfileChunk, advancing f's offset as it goes
// (the transfer watchdog reads progress from it). It stops between chunks
// once stop is set, so ABOR does not wait for the rest of a large file.
// Before each chunk it applies lowWater() (see sendLowWater), when not
// nil, as the socket's TCP_NOTSENT_LOWAT if it changed. The loop runs
// inside one RawConn.Write, so it allocates nothing per chunk and the
// connection's write deadline still applies while the socket is full.
//
// A download that runs alone (low water 0, or no lowWater) waits for its
// full socket in poll(2), on its own thread, rather than in the
// netpoller: parking the goroutine leaves every P idle, so the runtime's
// monitor thread (sysmon) goes to deep sleep and the next system call
// wakes it to poll every 20 us for a millisecond; and the goroutine
// resumes on whichever thread the netpoller picks. Either way the
// client's core loses time, and it is the client's core that limits a
// loopback or LAN download. For the same reason the loop yields its P
// now and then: a goroutine that holds its P for 10 ms is preempted, and
// sysmon, having retaken the P, polls every 20 us again. perf, 3 s of
// RETR on loopback: the server's threads switched 27,000 times before
// (10,800 of them sysmon's), 12,100 after; in 8 alternating runs with
// client and server pinned to one core each, the median went from 2,530
// to 2,610 MB/s (pyftpdlib, whose one thread never blocks: 2,850).
// After fullSocketPoll the wait moves to the netpoller, which honours the
// deadline and a Close from another goroutine (whose close(2) waits for
// this loop to return).
func sendFileTo(c *net.TCPConn, f *os.File, stop *atomic.Bool, lowWater func() int) (int64, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return io.Copy(c, f)
	}
	src := int(f.Fd())
	var written int64
	var serr error
	applied := 0 // the socket's own default: no cap
	chunks := 0
	werr := rc.Write(func(fd uintptr) bool {
		for {
			if stop.Load() {
				serr = net.ErrClosed
				return true
			}
			if lowWater != nil {
				if lw := lowWater(); lw != applied {
					// Best effort: a kernel without the option (before
					// 3.12) sends as it always did.
					_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT, lw)
					applied = lw
				}
			}
			if chunks++; chunks%yieldChunks == 0 {
				runtime.Gosched()
			}
			n, err := syscall.Sendfile(int(fd), src, nil, sendfileChunk)
			if n > 0 {
				written += int64(n)
			}
			switch {
			case err == syscall.EINTR:
			case err == syscall.EAGAIN:
				if applied == 0 && waitWritable(int(fd), fullSocketPoll) {
					continue
				}
				return false // the netpoller waits until the socket drains
			case err != nil:
				serr = err
				return true
			case n == 0:
				return true // end of file
			}
		}
	})
	switch {
	case serr != nil && written == 0 && (serr == syscall.EINVAL || serr == syscall.ENOSYS || serr == syscall.EOPNOTSUPP):
		// The file system cannot sendfile (some FUSE and network file
		// systems); io.Copy falls back to reads and writes.
		return io.Copy(c, f)
	case errors.Is(serr, net.ErrClosed):
		return written, serr
	case serr != nil:
		return written, &net.OpError{Op: "sendfile", Net: "tcp", Addr: c.RemoteAddr(), Err: os.NewSyscallError("sendfile", serr)}
	}
	return written, werr
}

// waitWritable blocks in poll(2) until fd is writable (or has failed, which
// the next write reports) or ms milliseconds pass, and reports which.
func waitWritable(fd, ms int) bool {
	pfd := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for {
		n, err := unix.Poll(pfd[:], ms)
		if err != unix.EINTR {
			return n > 0
		}
	}
}
