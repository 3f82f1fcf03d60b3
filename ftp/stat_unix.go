//go:build unix

package ftp

import (
	"io/fs"
	"syscall"
)

// statInfo is what listings use beyond fs.FileInfo.
type statInfo struct {
	nlink, dev, ino uint64
}

func statOf(fi fs.FileInfo) (statInfo, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return statInfo{}, false
	}
	return statInfo{nlink: uint64(st.Nlink), dev: uint64(st.Dev), ino: uint64(st.Ino)}, true
}
