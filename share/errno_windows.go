package share

import (
	"errors"

	"golang.org/x/sys/windows"
)

func isAddrInUse(err error) bool    { return errors.Is(err, windows.WSAEADDRINUSE) }
func isAccessDenied(err error) bool { return errors.Is(err, windows.WSAEACCES) }
func isAddrNotAvail(err error) bool { return errors.Is(err, windows.WSAEADDRNOTAVAIL) }
