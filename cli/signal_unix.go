//go:build !windows

package cli

import (
	"os/signal"
	"syscall"
)

// ignoreSIGPIPE lets a write to a closed stdout (ftpshare --json | head -1)
// fail with EPIPE instead of killing the server.
func ignoreSIGPIPE() { signal.Ignore(syscall.SIGPIPE) }
