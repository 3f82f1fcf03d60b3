//go:build !unix

package main

import "io"

// raiseFileLimit has nothing to raise where there is no RLIMIT_NOFILE.
func raiseFileLimit(io.Writer) {}
