package ftp

import (
	"bufio"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// fact is one MLSx fact (RFC 3659 section 7).
type fact uint8

const (
	factType fact = 1 << iota
	factSize
	factModify
	factPerm
	factUnique
	factUnixMode
)

// factNames are the facts in the order they are written.
var factNames = [...]struct {
	f    fact
	name string
}{
	{factType, "type"},
	{factSize, "size"},
	{factModify, "modify"},
	{factPerm, "perm"},
	{factUnique, "unique"},
	{factUnixMode, "UNIX.mode"},
}

// factSet is the set of facts a session asked for with OPTS MLST.
type factSet uint8

const defaultFacts = factSet(factType | factSize | factModify | factPerm | factUnique | factUnixMode)

// parseFacts reads "type;size;" (case-insensitive); unknown facts are
// dropped, as RFC 3659 asks.
func parseFacts(s string) factSet {
	var set factSet
	for _, name := range strings.Split(s, ";") {
		for _, fn := range factNames {
			if strings.EqualFold(strings.TrimSpace(name), fn.name) {
				set |= factSet(fn.f)
			}
		}
	}
	return set
}

// String lists the facts in the set, as the reply to OPTS MLST does.
func (set factSet) String() string {
	var b strings.Builder
	for _, fn := range factNames {
		if set&factSet(fn.f) != 0 {
			b.WriteString(fn.name)
			b.WriteByte(';')
		}
	}
	return b.String()
}

// feat lists every fact, with a * on those in the set (the FEAT line).
func (set factSet) feat() string {
	var b strings.Builder
	for _, fn := range factNames {
		b.WriteString(fn.name)
		if set&factSet(fn.f) != 0 {
			b.WriteByte('*')
		}
		b.WriteByte(';')
	}
	return b.String()
}

// listFormat says how each entry of a listing is written.
type listFormat uint8

const (
	formatLIST listFormat = iota // ls -l
	formatNLST                   // names only
	formatMLSD                   // RFC 3659 facts
)

// listOpts strips the options ("-a", "-la", "-l") that clients send after
// LIST and NLST as if to ls, and reports whether -l was among them.
func listOpts(arg string) (rest string, long bool) {
	for {
		arg = strings.TrimLeft(arg, " ")
		if len(arg) < 2 || arg[0] != '-' {
			return arg, long
		}
		opt, after, _ := strings.Cut(arg, " ")
		for _, c := range opt[1:] {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				return arg, long // a file name that starts with "-"
			}
		}
		long = long || strings.ContainsRune(opt, 'l')
		arg = after
	}
}

// entry is a listed name with its metadata.
type entry struct {
	name string // as written: a base name, or the path as the client gave it
	path string // virtual path, for permissions
	info fs.FileInfo
}

func (s *session) handleLIST(arg string) {
	arg, _ = listOpts(arg)
	s.list("LIST", arg, formatLIST)
}

func (s *session) handleNLST(arg string) {
	arg, long := listOpts(arg)
	if long {
		s.list("NLST", arg, formatLIST)
		return
	}
	s.list("NLST", arg, formatNLST)
}

func (s *session) handleMLSD(arg string) {
	p := s.abs(arg)
	if !s.permit(PermList, p) {
		return
	}
	fi, err := s.acct.FS.Stat(p)
	if err != nil {
		s.replyFSErr("mlsd", p, err)
		return
	}
	if !fi.IsDir() {
		s.reply(501, "Not a directory; use MLST for a file.")
		return
	}
	s.listDir("MLSD", p, "", fi, formatMLSD)
}

// list runs LIST and NLST: a directory's entries, a single file, or the
// entries matching a pattern in the last path element ("*.txt", as
// "mget *.txt" sends).
func (s *session) list(cmd, arg string, format listFormat) {
	p := s.abs(arg)
	if !s.permit(PermList, p) {
		return
	}
	fi, err := s.acct.FS.Stat(p)
	if err != nil && !strings.HasSuffix(arg, "/") {
		// A link that does not resolve (dangling, or leading out of the
		// home) is listed as itself, as ls does; "link/" asks for what it
		// points to, and gets the error.
		if lfi, lerr := s.acct.FS.Lstat(p); lerr == nil && lfi.Mode()&fs.ModeSymlink != 0 {
			fi, err = lfi, nil
		}
	}
	switch {
	case err != nil && strings.ContainsAny(path.Base(p), "*?["):
		s.listGlob(cmd, arg, p, format)
	case err != nil:
		s.replyFSErr(strings.ToLower(cmd), p, err)
	case fi.IsDir():
		prefix := ""
		if format == formatNLST && arg != "" {
			prefix = strings.TrimSuffix(arg, "/") + "/"
		}
		s.listDir(cmd, p, prefix, fi, format)
	default:
		name := path.Base(p)
		if format == formatNLST && arg != "" {
			name = arg
		}
		s.listEntries(cmd, p, format, []entry{{name: name, path: p, info: fi}})
	}
}

func (s *session) listGlob(cmd, arg, p string, format listFormat) {
	dir, pattern := path.Split(p)
	if _, err := path.Match(pattern, ""); err != nil {
		s.reply(501, "Invalid pattern.")
		return
	}
	entries, err := s.readDir(dir)
	if err != nil {
		s.replyFSErr(strings.ToLower(cmd), dir, err)
		return
	}
	prefix := ""
	if i := strings.LastIndexByte(arg, '/'); i >= 0 {
		prefix = arg[:i+1]
	}
	matched := entries[:0]
	for _, e := range entries {
		if ok, _ := path.Match(pattern, e.name); ok {
			e.name = prefix + e.name
			matched = append(matched, e)
		}
	}
	s.listEntries(cmd, p, format, matched)
}

// readDir reads a directory whole, sorted by name. Entries whose metadata
// cannot be read (they vanished meanwhile) are left out.
func (s *session) readDir(dir string) ([]entry, error) {
	d, err := s.acct.FS.OpenFile(dir, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	var entries []entry
	for {
		batch, err := d.ReadDir(1024)
		for _, de := range batch {
			fi, ierr := de.Info()
			if ierr != nil {
				continue
			}
			entries = append(entries, entry{name: de.Name(), path: path.Join(dir, de.Name()), info: fi})
		}
		if err == io.EOF || len(batch) == 0 && err == nil {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	return entries, nil
}

// listDir lists the directory p over the data connection.
func (s *session) listDir(cmd, p, prefix string, dirInfo fs.FileInfo, format listFormat) {
	entries, err := s.readDir(p)
	if err != nil {
		s.replyFSErr(strings.ToLower(cmd), p, err)
		return
	}
	if prefix != "" {
		for i := range entries {
			entries[i].name = prefix + entries[i].name
		}
	}
	if format == formatMLSD {
		// MLSx facts describe what a name leads to: clients (lftp mirror,
		// FileZilla) skip entries of an unknown type. A link that does
		// not resolve inside the home stays a link, without its target.
		for i := range entries {
			if entries[i].info.Mode()&fs.ModeSymlink != 0 {
				if target, err := s.acct.FS.Stat(entries[i].path); err == nil {
					entries[i].info = target
				}
			}
		}
		head := []entry{{name: ".", path: p, info: dirInfo}}
		if p != "/" {
			if pfi, err := s.acct.FS.Stat(path.Dir(p)); err == nil {
				head = append(head, entry{name: "..", path: path.Dir(p), info: pfi})
			}
		}
		entries = append(head, entries...)
	}
	s.listEntries(cmd, p, format, entries)
}

// listEntries sends entries over the data connection.
func (s *session) listEntries(cmd, p string, format listFormat, entries []entry) {
	if !s.dataReady() {
		return
	}
	facts := s.facts
	now := time.Now()
	s.startTransfer(cmd, p, "Opening ASCII mode data connection for file list.", 0, func(x *transfer, conn net.Conn) xferResult {
		if conn == nil {
			return xferResult{}
		}
		w := bufio.NewWriterSize(deadlineWriter{conn, duration(s.srv.StallTimeout, DefaultStallTimeout)}, 64<<10)
		var line []byte
		for i := range entries {
			line = s.formatEntry(line[:0], &entries[i], format, facts, now)
			if _, err := w.Write(line); err != nil {
				return s.failure(x, err, false)
			}
			x.bytes.Add(int64(len(line)))
		}
		if err := w.Flush(); err != nil {
			return s.failure(x, err, false)
		}
		return xferResult{226, "Transfer complete."}
	})
}

// deadlineWriter renews the write deadline before each write, so that a
// client that stops reading a listing cannot hold the transfer forever.
type deadlineWriter struct {
	conn    net.Conn
	timeout time.Duration
}

func (w deadlineWriter) Write(b []byte) (int, error) {
	setDeadline(w.conn.SetWriteDeadline, w.timeout)
	return w.conn.Write(b)
}

// formatEntry appends one listing line, CRLF included.
func (s *session) formatEntry(b []byte, e *entry, format listFormat, facts factSet, now time.Time) []byte {
	switch format {
	case formatNLST:
		b = append(b, e.name...)
	case formatMLSD:
		b = s.appendFacts(b, e, facts)
		b = append(b, ' ')
		b = append(b, e.name...)
	default:
		b = s.appendLS(b, e, now)
	}
	return append(b, '\r', '\n')
}

// appendLS appends an "ls -l" line:
//
//	-rw-r--r--    1 ftp      ftp          1234 Jan  2 15:04 name
//	drwxr-xr-x    2 ftp      ftp          4096 Jan  2  2006 dir
//	lrwxrwxrwx    1 ftp      ftp             4 Jan  2 15:04 link -> target
func (s *session) appendLS(b []byte, e *entry, now time.Time) []byte {
	fi := e.info
	b = appendMode(b, fi.Mode())
	nlink := uint64(1)
	if st, ok := statOf(fi); ok {
		nlink = st.nlink
	}
	var num [20]byte
	b = append(b, ' ') // always one, however wide the link count
	b = appendPadded(b, strconv.AppendUint(num[:0], nlink, 10), 4)
	b = append(b, " ftp      ftp     "...)
	b = appendPadded(b, strconv.AppendInt(num[:0], fi.Size(), 10), 13)
	b = append(b, ' ')
	b = appendLSTime(b, fi.ModTime().UTC(), now)
	b = append(b, ' ')
	b = append(b, e.name...)
	if fi.Mode()&fs.ModeSymlink != 0 {
		// A target outside the share would tell where the share lives on
		// disk; show only targets that stay relative.
		if target, err := s.acct.FS.Readlink(e.path); err == nil && !path.IsAbs(target) {
			b = append(b, " -> "...)
			b = append(b, target...)
		}
	}
	return b
}

func appendPadded(b, v []byte, width int) []byte {
	for i := len(v); i < width; i++ {
		b = append(b, ' ')
	}
	return append(b, v...)
}

// appendLSTime writes "Jan _2 15:04" for times within six months of now,
// else "Jan _2  2006", as ls does.
func appendLSTime(b []byte, t, now time.Time) []byte {
	const halfYear = 182 * 24 * time.Hour
	if d := now.Sub(t); d < halfYear && d > -halfYear {
		return t.AppendFormat(b, "Jan _2 15:04")
	}
	return t.AppendFormat(b, "Jan _2  2006")
}

// appendMode writes the ten-character mode of ls (Go's FileMode.String
// differs: "L" for links, "u" for setuid...).
func appendMode(b []byte, m fs.FileMode) []byte {
	var t byte = '-'
	switch {
	case m&fs.ModeDir != 0:
		t = 'd'
	case m&fs.ModeSymlink != 0:
		t = 'l'
	case m&fs.ModeNamedPipe != 0:
		t = 'p'
	case m&fs.ModeSocket != 0:
		t = 's'
	case m&fs.ModeCharDevice != 0:
		t = 'c'
	case m&fs.ModeDevice != 0:
		t = 'b'
	}
	b = append(b, t)
	const rwx = "rwxrwxrwx"
	for i := 0; i < 9; i++ {
		if m&(1<<(8-i)) != 0 {
			b = append(b, rwx[i])
		} else {
			b = append(b, '-')
		}
	}
	n := len(b)
	special := func(set bool, pos int, lower, upper byte) {
		if !set {
			return
		}
		if b[pos] != '-' {
			b[pos] = lower
		} else {
			b[pos] = upper
		}
	}
	special(m&fs.ModeSetuid != 0, n-7, 's', 'S')
	special(m&fs.ModeSetgid != 0, n-4, 's', 'S')
	special(m&fs.ModeSticky != 0, n-1, 't', 'T')
	return b
}

// appendFacts writes "type=file;size=1;modify=...;" for the chosen facts.
func (s *session) appendFacts(b []byte, e *entry, facts factSet) []byte {
	fi := e.info
	if facts&factSet(factType) != 0 {
		b = append(b, "type="...)
		switch {
		case e.name == ".":
			b = append(b, "cdir"...)
		case e.name == "..":
			b = append(b, "pdir"...)
		case fi.IsDir():
			b = append(b, "dir"...)
		case fi.Mode().IsRegular():
			b = append(b, "file"...)
		case fi.Mode()&fs.ModeSymlink != 0:
			b = append(b, "OS.unix=symlink"...)
		default:
			b = append(b, "OS.unix=special"...)
		}
		b = append(b, ';')
	}
	if facts&factSet(factSize) != 0 {
		b = append(b, "size="...)
		b = strconv.AppendInt(b, fi.Size(), 10)
		b = append(b, ';')
	}
	if facts&factSet(factModify) != 0 {
		b = append(b, "modify="...)
		b = fi.ModTime().UTC().AppendFormat(b, timeLayout)
		b = append(b, ';')
	}
	if facts&factSet(factPerm) != 0 {
		b = append(b, "perm="...)
		b = appendPermFact(b, s.acct.Perms.For(e.path), fi.IsDir())
		b = append(b, ';')
	}
	st, ok := statOf(fi)
	if facts&factSet(factUnique) != 0 && ok {
		b = append(b, "unique="...)
		b = strconv.AppendUint(b, st.dev, 16)
		b = append(b, 'g')
		b = strconv.AppendUint(b, st.ino, 16)
		b = append(b, ';')
	}
	if facts&factSet(factUnixMode) != 0 {
		b = append(b, "UNIX.mode=0"...)
		b = strconv.AppendUint(b, uint64(unixBits(fi.Mode())), 8)
		b = append(b, ';')
	}
	return b
}

// unixBits returns the Unix permission bits of m, special bits included.
func unixBits(m fs.FileMode) uint32 {
	bits := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		bits |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		bits |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		bits |= 0o1000
	}
	return bits
}

// appendPermFact writes the RFC 3659 perm fact from the user's rights (not
// the file's mode bits, which say nothing about a virtual user).
func appendPermFact(b []byte, p Perm, dir bool) []byte {
	add := func(ok bool, c byte) {
		if ok {
			b = append(b, c)
		}
	}
	if dir {
		add(p.Has(PermStore), 'c')
		add(p.Has(PermDelete), 'd')
		add(p.Has(PermChdir), 'e')
		add(p.Has(PermRename), 'f')
		add(p.Has(PermList), 'l')
		add(p.Has(PermMkdir), 'm')
		add(p.Has(PermDelete), 'p')
		return b
	}
	add(p.Has(PermAppend), 'a')
	add(p.Has(PermDelete), 'd')
	add(p.Has(PermRename), 'f')
	add(p.Has(PermRetrieve), 'r')
	add(p.Has(PermStore|PermDelete), 'w') // replacing a file needs both
	return b
}

func (s *session) handleMLST(arg string) {
	p := s.abs(arg)
	if !s.permit(PermList, p) {
		return
	}
	fi, err := s.acct.FS.Stat(p)
	if err != nil {
		s.replyFSErr("mlst", p, err)
		return
	}
	e := entry{name: p, path: p, info: fi}
	line := s.appendFacts([]byte{' '}, &e, s.facts)
	line = append(line, ' ')
	line = append(line, p...)
	s.replyLines(250, "Listing "+p, []string{string(line)}, "End.")
}

// statPath answers "STAT path": a listing over the control connection,
// 212 for a directory, 213 for a file.
func (s *session) statPath(arg string) {
	arg, _ = listOpts(arg)
	p := s.abs(arg)
	if !s.permit(PermList, p) {
		return
	}
	fi, err := s.acct.FS.Lstat(p)
	if err != nil {
		s.replyFSErr("stat", p, err)
		return
	}
	code := 213
	entries := []entry{{name: path.Base(p), path: p, info: fi}}
	if fi.IsDir() {
		code = 212
		if entries, err = s.readDir(p); err != nil {
			s.replyFSErr("stat", p, err)
			return
		}
	}
	now := time.Now()
	lines := make([]string, 0, len(entries))
	var b []byte
	for i := range entries {
		b = s.appendLS(b[:0], &entries[i], now)
		lines = append(lines, " "+string(b))
	}
	s.replyLines(code, "Status of "+p+":", lines, "End of status.")
}
