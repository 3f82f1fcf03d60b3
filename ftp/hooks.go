package ftp

import (
	"net"
	"time"
)

// SessionInfo describes a control connection, for hooks.
type SessionInfo struct {
	// ID numbers sessions from 1 in the order they were accepted.
	ID uint64
	// RemoteAddr and LocalAddr are the control connection's addresses.
	RemoteAddr net.Addr
	LocalAddr  net.Addr
	// User is the logged-in user name, or "" before login.
	User string
	// Anonymous is set when the anonymous account is logged in.
	Anonymous bool
	// TLS is set once the control connection is encrypted.
	TLS bool
}

// TransferInfo describes a finished or failed file transfer, for hooks.
type TransferInfo struct {
	Session SessionInfo
	// Command is RETR, STOR, APPE or STOU.
	Command string
	// Path is the file's virtual path in the user's home.
	Path string
	// Offset is the REST offset the transfer started from.
	Offset int64
	// Bytes counts the bytes moved over the data connection.
	Bytes int64
	// Duration is the time from the data connection's start to its end.
	Duration time.Duration
	// Err is nil when the transfer completed, else why it did not.
	Err error
}

// Hooks are callbacks on session and transfer events. Any may be nil. They
// run on the session's goroutine (or the transfer's), so a slow hook slows
// only that session; they must be safe for concurrent use across sessions.
type Hooks struct {
	// Connect runs when a connection is accepted, before the greeting.
	Connect func(SessionInfo)
	// Login runs after a successful login.
	Login func(SessionInfo)
	// LoginFailed runs after a failed login attempt for user.
	LoginFailed func(s SessionInfo, user string)
	// Logout runs when a logged-in user logs out (QUIT, REIN, USER) or
	// the connection of a logged-in user ends.
	Logout func(SessionInfo)
	// Disconnect runs when the control connection is closed.
	Disconnect func(SessionInfo)
	// FileSent runs after a RETR completed.
	FileSent func(TransferInfo)
	// FileReceived runs after a STOR, APPE or STOU completed and the file
	// closed without error.
	FileReceived func(TransferInfo)
	// IncompleteSent runs after a RETR that did not complete.
	IncompleteSent func(TransferInfo)
	// IncompleteReceived runs after an upload that did not complete; the
	// partial file is left in place.
	IncompleteReceived func(TransferInfo)
}
