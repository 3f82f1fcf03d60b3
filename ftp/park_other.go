//go:build !linux

package ftp

import (
	"errors"
	"net"
	"time"
)

// parker would hold idle sessions without a goroutine each; only the Linux
// build has one (park_linux.go). Elsewhere every session keeps its
// goroutine.
type parker struct{}

type parkState struct{ keepDeadline bool }

func (*parkState) release() {}

func newParker() (*parker, error)                           { return nil, errors.ErrUnsupported }
func (*parker) park(*session, *net.TCPConn, time.Time) bool { return false }
func (*parker) wake(*session)                               {}
func (*parker) stop()                                       {}
