package ftp

import (
	"errors"
	"io/fs"
	"syscall"
)

// ReplyError is an error that carries the FTP reply it should produce. A
// [FileSystem] may return one to choose the reply a client sees.
type ReplyError struct {
	Code int
	Msg  string
}

func (e *ReplyError) Error() string { return e.Msg }

// fsReply maps a filesystem error to the FTP reply a client should see.
// Errors it does not know become 550 and are logged by the caller.
func fsReply(err error) (code int, msg string, known bool) {
	var re *ReplyError
	var errno syscall.Errno
	switch {
	case errors.As(err, &re):
		return re.Code, re.Msg, true
	case errors.Is(err, errTruncated):
		return 451, "The file was truncated while it was being sent; transfer incomplete.", true
	case isEscape(err):
		return 550, "Permission denied: the path leads outside your home directory.", true
	case errors.Is(err, syscall.ENOTEMPTY):
		// Checked before fs.ErrExist, which ENOTEMPTY also matches.
		return 550, "Directory not empty.", true
	case errors.Is(err, fs.ErrNotExist):
		return 550, "No such file or directory.", true
	case errors.Is(err, fs.ErrExist):
		return 550, "File exists.", true
	case errors.Is(err, fs.ErrPermission):
		return 550, "Permission denied.", true
	case errors.As(err, &errno):
		switch errno {
		case syscall.ENOSPC:
			return 452, "Insufficient storage space: the disk is full.", true
		case syscall.EDQUOT:
			return 552, "Exceeded storage allocation (disk quota).", true
		case syscall.EFBIG:
			return 552, "File too large.", true
		case syscall.ENOTDIR:
			return 550, "Not a directory.", true
		case syscall.EISDIR:
			return 550, "Is a directory.", true
		case syscall.ENAMETOOLONG:
			return 553, "File name too long.", true
		case syscall.EINVAL:
			return 553, "File name not allowed.", true
		case syscall.ELOOP:
			return 550, "Too many levels of symbolic links.", true
		case syscall.EROFS:
			return 550, "Read-only file system.", true
		case syscall.EBUSY:
			return 550, "Resource busy.", true
		case syscall.EXDEV:
			return 550, "Cannot move across file systems.", true
		}
	}
	return 550, "Requested action not taken.", false
}

// replyFSErr answers a failed filesystem operation op on vpath.
func (s *session) replyFSErr(op, vpath string, err error) {
	code, msg, known := fsReply(err)
	if !known {
		s.log.Warn("filesystem error", "op", op, "path", vpath, "err", err)
	} else {
		s.log.Debug("filesystem error", "op", op, "path", vpath, "err", err)
	}
	s.reply(code, msg)
}
