//go:build !windows

package share

import (
	"errors"
	"syscall"
)

func isAddrInUse(err error) bool    { return errors.Is(err, syscall.EADDRINUSE) }
func isAccessDenied(err error) bool { return errors.Is(err, syscall.EACCES) }
func isAddrNotAvail(err error) bool { return errors.Is(err, syscall.EADDRNOTAVAIL) }
