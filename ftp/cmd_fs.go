package ftp

import (
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// quote doubles the quotes in a path for a 257 reply (RFC 959 appendix II).
func quote(p string) string { return strings.ReplaceAll(p, `"`, `""`) }

func (s *session) handleCWD(arg string) {
	if arg == "" {
		arg = "/" // CWD alone goes home, as in pyftpdlib and proftpd
	}
	s.chdir(s.abs(arg))
}

func (s *session) handleCDUP(string) {
	s.chdir(s.abs(".."))
}

func (s *session) chdir(p string) {
	if !s.permit(PermChdir, p) {
		return
	}
	fi, err := s.acct.FS.Stat(p)
	if err != nil {
		s.replyFSErr("chdir", p, err)
		return
	}
	if !fi.IsDir() {
		s.reply(550, "Not a directory.")
		return
	}
	s.cwd = p
	s.reply(250, `Directory changed to "`+quote(p)+`".`)
}

func (s *session) handlePWD(string) {
	s.reply(257, `"`+quote(s.cwd)+`" is the current directory.`)
}

func (s *session) handleMKD(arg string) {
	p := s.abs(arg)
	if p == "/" {
		s.reply(550, "File exists.")
		return
	}
	if !s.permit(PermMkdir, p) {
		return
	}
	if err := s.acct.FS.Mkdir(p, 0o755); err != nil {
		s.replyFSErr("mkdir", p, err)
		return
	}
	s.log.Info("mkdir", "path", p)
	s.reply(257, `"`+quote(p)+`" directory created.`)
}

func (s *session) handleRMD(arg string) {
	p := s.abs(arg)
	if p == "/" {
		s.reply(550, "Cannot remove the root directory.")
		return
	}
	if !s.permit(PermDelete, p) {
		return
	}
	fi, err := s.acct.FS.Lstat(p)
	if err != nil {
		s.replyFSErr("rmdir", p, err)
		return
	}
	if !fi.IsDir() {
		s.reply(550, "Not a directory.")
		return
	}
	if err := s.acct.FS.Remove(p); err != nil {
		s.replyFSErr("rmdir", p, err)
		return
	}
	s.log.Info("rmdir", "path", p)
	s.reply(250, "Directory removed.")
}

func (s *session) handleDELE(arg string) {
	p := s.abs(arg)
	if !s.permit(PermDelete, p) {
		return
	}
	fi, err := s.acct.FS.Lstat(p)
	if err != nil {
		s.replyFSErr("delete", p, err)
		return
	}
	if fi.IsDir() {
		s.reply(550, "Is a directory; use RMD.")
		return
	}
	if err := s.acct.FS.Remove(p); err != nil {
		s.replyFSErr("delete", p, err)
		return
	}
	s.log.Info("delete", "path", p)
	s.reply(250, "File deleted.")
}

func (s *session) handleRNFR(arg string) {
	s.renameFrom = ""
	p := s.abs(arg)
	if p == "/" {
		s.reply(550, "Cannot rename the root directory.")
		return
	}
	if !s.permit(PermRename, p) {
		return
	}
	if _, err := s.acct.FS.Lstat(p); err != nil {
		s.replyFSErr("rename", p, err)
		return
	}
	s.renameFrom = p
	s.reply(350, "Ready for destination name.")
}

func (s *session) handleRNTO(arg string) {
	from := s.renameFrom
	s.renameFrom = ""
	if from == "" {
		s.reply(503, "Bad sequence of commands: send RNFR first.")
		return
	}
	to := s.abs(arg)
	if to == "/" {
		s.reply(550, "Cannot rename over the root directory.")
		return
	}
	if !s.permit(PermRename, to) {
		return
	}
	src, err := s.acct.FS.Lstat(from)
	if err != nil {
		s.replyFSErr("rename", from, err)
		return
	}
	// A rename must never silently destroy a directory, and replacing a
	// file destroys it, so it needs the right to delete there too.
	if dst, err := s.acct.FS.Lstat(to); err == nil && !os.SameFile(src, dst) {
		if dst.IsDir() {
			s.reply(550, "Destination exists and is a directory.")
			return
		}
		if !s.can(PermDelete, to) {
			s.reply(550, "Destination exists; permission denied to replace it.")
			return
		}
	}
	if err := s.acct.FS.Rename(from, to); err != nil {
		s.replyFSErr("rename", from, err)
		return
	}
	s.log.Info("rename", "from", from, "to", to)
	s.reply(250, "Rename successful.")
}

func (s *session) handleSIZE(arg string) {
	p := s.abs(arg)
	if !s.permit(PermList, p) {
		return
	}
	fi, err := s.acct.FS.Stat(p)
	if err != nil {
		s.replyFSErr("size", p, err)
		return
	}
	switch {
	case !fi.Mode().IsRegular():
		s.reply(550, "Not a regular file.")
	case s.ascii:
		// The size in ASCII would need a scan of the whole file.
		s.reply(550, "SIZE not allowed in ASCII mode; send TYPE I first.")
	default:
		s.reply(213, strconv.FormatInt(fi.Size(), 10))
	}
}

// timeLayout is the time-val of RFC 3659: YYYYMMDDHHMMSS, UTC.
const timeLayout = "20060102150405"

// parseTimeval parses a time-val with an optional fraction of a second.
func parseTimeval(v string) (time.Time, bool) {
	whole, frac, hasFrac := strings.Cut(v, ".")
	if len(whole) != len(timeLayout) || !allDigits(whole) || hasFrac && (frac == "" || !allDigits(frac)) {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(timeLayout, whole, time.UTC)
	if err != nil {
		return time.Time{}, false
	}
	if hasFrac {
		ns, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
		t = t.Add(time.Duration(ns))
	}
	return t, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (s *session) handleMDTM(arg string) {
	// Some clients set the time with "MDTM YYYYMMDDHHMMSS path"; a file
	// whose name merely looks like that still wins.
	if tv, name, ok := strings.Cut(arg, " "); ok && name != "" {
		if t, ok := parseTimeval(tv); ok {
			if _, err := s.acct.FS.Lstat(s.abs(arg)); err != nil {
				s.setMtime(name, t)
				return
			}
		}
	}
	p := s.abs(arg)
	if !s.permit(PermList, p) {
		return
	}
	fi, err := s.acct.FS.Stat(p)
	if err != nil {
		s.replyFSErr("mdtm", p, err)
		return
	}
	s.reply(213, fi.ModTime().UTC().Format(timeLayout))
}

func (s *session) handleMFMT(arg string) {
	tv, name, _ := strings.Cut(arg, " ")
	if name == "" {
		s.reply(501, "Syntax error: MFMT needs a time and a path.")
		return
	}
	t, ok := parseTimeval(tv)
	if !ok {
		s.reply(501, "Invalid time; expected YYYYMMDDHHMMSS.")
		return
	}
	s.setMtime(name, t)
}

func (s *session) setMtime(name string, t time.Time) {
	p := s.abs(name)
	if !s.permit(PermChtime, p) {
		return
	}
	before, err := s.acct.FS.Stat(p)
	if err != nil {
		s.replyFSErr("chtimes", p, err)
		return
	}
	if err := s.acct.FS.Chtimes(p, time.Time{}, t); err != nil {
		s.replyFSErr("chtimes", p, err)
		return
	}
	// File systems clamp times they cannot store without an error: ext4
	// and XFS keep 1901 to 2446 (or 2038), FAT 1980 to 2107 in steps of
	// two seconds. A client that syncs timestamps must not be told a time
	// was set when another one was, so the stored time is read back.
	after, err := s.acct.FS.Stat(p)
	if err != nil {
		s.replyFSErr("chtimes", p, err)
		return
	}
	got := after.ModTime()
	if d := got.Sub(t); d > mtimeSlack || d < -mtimeSlack {
		if err := s.acct.FS.Chtimes(p, time.Time{}, before.ModTime()); err != nil {
			s.log.Warn("cannot restore the modification time", "path", p, "err", err)
		}
		s.reply(553, "The file system cannot store that time.")
		return
	}
	s.reply(213, "Modify="+got.UTC().Format(timeLayout)+"; "+p)
}

// mtimeSlack is the coarsest time step of a common file system (FAT's
// two seconds): a stored time this close to the asked one is the asked
// time as that file system keeps it.
const mtimeSlack = 2 * time.Second

func (s *session) handleSiteCHMOD(arg string) {
	m, name, _ := strings.Cut(strings.TrimLeft(arg, " "), " ")
	if name == "" {
		s.reply(501, "Syntax error: SITE CHMOD needs a mode and a path.")
		return
	}
	bits, err := strconv.ParseUint(m, 8, 32)
	if err != nil || len(m) > 4 || bits > 0o7777 {
		s.reply(501, "Invalid mode; expected octal such as 644.")
		return
	}
	if bits&0o7000 != 0 {
		// A setuid or setgid file made by a server running as root would
		// be a root shell for whoever uploaded it.
		s.reply(550, "Setuid, setgid and sticky bits cannot be set.")
		return
	}
	p := s.abs(name)
	if !s.permit(PermChmod, p) {
		return
	}
	if err := s.acct.FS.Chmod(p, fs.FileMode(bits)); err != nil {
		s.replyFSErr("chmod", p, err)
		return
	}
	s.reply(200, "SITE CHMOD command successful.")
}
