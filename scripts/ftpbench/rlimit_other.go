//go:build !unix

package main

import "io"

// raiseFileLimit has nothing to raise where there is no RLIMIT_NOFILE.
func raiseFileLimit(io.Writer) {}

// syncDisks does nothing where there is no sync(2) to call.
func syncDisks() {}
