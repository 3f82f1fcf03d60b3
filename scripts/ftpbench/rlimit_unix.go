//go:build unix

package main

import (
	"fmt"
	"io"
	"syscall"
)

// raiseFileLimit lifts the soft descriptor limit to the hard one: 10,000
// idle sessions need 10,000 sockets on the client side alone.
func raiseFileLimit(stderr io.Writer) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Fprintf(stderr, "ftpbench: get file limit: %v\n", err)
		return
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			fmt.Fprintf(stderr, "ftpbench: raise file limit: %v\n", err)
		}
	}
}

// syncDisks asks the kernel to write every dirty page back now.
func syncDisks() { syscall.Sync() }
