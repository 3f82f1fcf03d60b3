//go:build unix

package sysauth

import (
	"io/fs"
	"syscall"
)

// openNonblock keeps Chmod's open of a FIFO from waiting for a writer.
const openNonblock = syscall.O_NONBLOCK

// fileOwner returns the uid and gid that own fi, from its stat data.
func fileOwner(fi fs.FileInfo) (uid, gid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(st.Uid), int(st.Gid), true
}
