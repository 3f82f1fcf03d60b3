//go:build !linux

package ftp

import (
	"io"
	"net"
	"os"
	"sync/atomic"
)

// sendFileTo copies f from its current offset onto c. io.Copy uses
// sendfile(2) where the platform has it; the stop flag and the low-water
// mark only matter to the chunked Linux loop, and closing the connection
// ends this copy too.
func sendFileTo(c *net.TCPConn, f *os.File, _ *atomic.Bool, _ func() int) (int64, error) {
	return io.Copy(c, f)
}
