//go:build !unix

package ftp

import "io/fs"

// statInfo is what listings use beyond fs.FileInfo.
type statInfo struct {
	nlink, dev, ino uint64
}

// statOf has nothing to add where there is no Unix stat.
func statOf(fs.FileInfo) (statInfo, bool) { return statInfo{}, false }
