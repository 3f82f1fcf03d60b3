package ftp

// Fuzz targets for the engine's handling of untrusted arguments, beyond
// the parsers of fuzz_test.go: the control-line reader, path resolution
// (checked against a real os.Root jail with escaping symbolic links),
// MLST fact options, and the argument handling of whole commands (REST,
// MFMT, MDTM, EPSV, OPTS, SITE CHMOD and the path commands) run on a
// session over a fake connection. Their seeds run with every "go test";
// scripts/fuzz.sh fuzzes each for a while:
//
//	go test -run '^$' -fuzz '^FuzzResolvePath$' ./ftp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzReadLine feeds any bytes, cut into reads of any size, to the
// control-line reader and checks it against a plain split on LF: every
// line of at most maxLineLen bytes (LF included) comes back byte for
// byte, every longer one is answered "500 Command line too long." and
// dropped, and the unterminated tail ends the session with io.EOF. So
// that inputs stay small (and quick to minimise), long lines come from a
// run of pad bytes 'x' inserted at offset at.
func FuzzReadLine(f *testing.F) {
	f.Add([]byte("NOOP\r\nUSER x\r\n"), uint16(1), uint16(0), uint16(0))
	f.Add([]byte("NO"), uint16(3), uint16(0), uint16(0))
	f.Add([]byte("\n"), uint16(511), uint16(maxLineLen-1), uint16(0))
	f.Add([]byte("\n"), uint16(512), uint16(maxLineLen), uint16(0))
	f.Add([]byte("STOR \nNOOP\n"), uint16(100), uint16(maxLineLen), uint16(5))
	f.Add([]byte("A\nB"), uint16(0), uint16(2*maxLineLen), uint16(2))
	f.Add([]byte("\n\n\r\n\x00\n\xff\xf4\xff\xf2ABOR\r\n"), uint16(2), uint16(0), uint16(0))
	f.Fuzz(func(t *testing.T, in []byte, chunk, pad, at uint16) {
		in = in[:min(len(in), 1024)]
		n := int(pad) % (2*maxLineLen + 2)
		i := int(at) % (len(in) + 1)
		data := make([]byte, 0, len(in)+n)
		data = append(data, in[:i]...)
		data = append(data, bytes.Repeat([]byte("x"), n)...)
		data = append(data, in[i:]...)
		conn := &fakeConn{in: data, chunk: int(chunk)%1500 + 1}
		s := newFuzzSession(conn)
		defer s.cancel()
		var got [][]byte
		var err error
		for range len(data) + 2 {
			var line []byte
			if line, err = s.readLine(); err != nil {
				break
			}
			got = append(got, bytes.Clone(line))
		}
		if !errors.Is(err, io.EOF) {
			t.Fatalf("readLine ended with %v, want io.EOF", err)
		}
		var want [][]byte
		overlong := 0
		rest := data
		for {
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				break
			}
			if seg := rest[:i+1]; len(seg) > maxLineLen {
				overlong++
			} else {
				want = append(want, seg)
			}
			rest = rest[i+1:]
		}
		if len(got) != len(want) {
			t.Fatalf("read %d lines, want %d", len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("line %d = %q, want %q", i, clipBytes(got[i]), clipBytes(want[i]))
			}
		}
		if wantOut := strings.Repeat("500 Command line too long.\r\n", overlong); conn.out.String() != wantOut {
			t.Fatalf("replies %q, want %q", clipBytes(conn.out.Bytes()), clipBytes([]byte(wantOut)))
		}
	})
}

// FuzzResolvePath checks path resolution for any working directory and
// argument: the virtual path is absolute, cleaned, free of "..", equal to
// an independent resolver's, and relative and local once given to
// os.Root. Then it is used on a real RootFS whose home holds symbolic
// links that escape (relative, absolute, through "..") and loops: no
// stat, open, mkdir or create may see or touch anything outside the home.
func FuzzResolvePath(f *testing.F) {
	for _, s := range [][2]string{
		{"/", "a"}, {"/", ".."}, {"/sub", "../../.."}, {"/", "/../outside/secret.txt"},
		{"/", "esc/secret.txt"}, {"/", "abs/secret.txt"}, {"/", "escdir/outside/secret.txt"},
		{"/sub", "../esc"}, {"/", "loop/x"}, {"/", "a/b"}, {"/", "..\\outside\\secret.txt"},
		{"/", "sub/../../outside"}, {"//x/../", "./././"}, {"/", "up/up/up/in.txt"},
		{"/", "caf\xe9/\xc0\xae\xc0\xae/x"}, {"/", "a\x00b"}, {"/sub/", ""}, {"", "~/x"},
	} {
		f.Add(s[0], s[1])
	}
	parent := f.TempDir()
	home := filepath.Join(parent, "home")
	outside := filepath.Join(parent, "outside")
	for _, d := range []string{home, outside, filepath.Join(home, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			f.Fatal(err)
		}
	}
	secret := filepath.Join(outside, "secret.txt")
	for name, data := range map[string]string{secret: "SECRET", filepath.Join(home, "in.txt"): "inside"} {
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"esc":    "../outside",
		"escdir": "..",
		"abs":    outside,
		"up":     "sub/..",
		"loop":   "loop",
		"a":      "b",
		"b":      "a",
	} {
		if err := os.Symlink(target, filepath.Join(home, link)); err != nil {
			f.Fatal(err)
		}
	}
	rootfs, err := NewRootFS(home)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { rootfs.Close() })
	forbidden := statAll(f, parent, outside, secret)
	snapshot := outsideSnapshot(f, parent)

	f.Fuzz(func(t *testing.T, cwd, arg string) {
		s := &session{cwd: path.Clean("/" + cwd)}
		p := s.abs(arg)
		if !strings.HasPrefix(p, "/") || path.Clean(p) != p || slices.Contains(strings.Split(p, "/"), "..") {
			t.Fatalf("abs(%q) in %q = %q: not absolute, clean and free of ..", arg, s.cwd, p)
		}
		if want := resolveVirtual(s.cwd, arg); p != want {
			t.Fatalf("abs(%q) in %q = %q, want %q", arg, s.cwd, p, want)
		}
		if r := rel(p); r != "." && !filepath.IsLocal(r) {
			t.Fatalf("rel(%q) = %q: not a local path", p, r)
		}

		check := func(op string, fi fs.FileInfo) {
			for _, bad := range forbidden {
				if os.SameFile(fi, bad) {
					t.Fatalf("%s %q (from %q in %q) reached %s outside the home", op, p, arg, s.cwd, bad.Name())
				}
			}
		}
		if fi, err := rootfs.Stat(p); err == nil {
			check("Stat", fi)
		}
		if fi, err := rootfs.Lstat(p); err == nil {
			check("Lstat", fi)
		}
		if file, err := rootfs.OpenFile(p, os.O_RDONLY, 0); err == nil {
			fi, _ := file.Stat()
			if fi != nil {
				check("Open", fi)
			}
			b := make([]byte, 16)
			n, _ := file.Read(b)
			file.Close()
			if string(b[:n]) == "SECRET" {
				t.Fatalf("Open %q read the secret outside the home", p)
			}
		}
		if err := rootfs.Mkdir(p, 0o755); err == nil {
			mustBeInside(t, home, p, true)
		}
		if file, err := rootfs.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644); err == nil {
			file.Close()
			mustBeInside(t, home, p, false)
		}
		if got := outsideSnapshot(t, parent); got != snapshot {
			t.Fatalf("resolving %q in %q changed what is outside the home:\n%s\nwant:\n%s", arg, s.cwd, got, snapshot)
		}
	})
}

// resolveVirtual is an independent model of path resolution: the
// argument's elements applied one by one to the working directory (or to
// "/" for an absolute argument), ".." stopping at the top.
func resolveVirtual(cwd, arg string) string {
	if arg == "" {
		return cwd
	}
	var stack []string
	if !strings.HasPrefix(arg, "/") {
		stack = strings.FieldsFunc(cwd, func(r rune) bool { return r == '/' })
	}
	for _, e := range strings.Split(arg, "/") {
		switch e {
		case "", ".":
		case "..":
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		default:
			stack = append(stack, e)
		}
	}
	return "/" + strings.Join(stack, "/")
}

// mustBeInside checks that the directory or file just created for the
// virtual path p is in the home (through the home's own links), and
// removes it.
func mustBeInside(t *testing.T, home, p string, dir bool) {
	t.Helper()
	onDisk := filepath.Join(home, filepath.FromSlash(rel(p)))
	fi, err := os.Stat(onDisk)
	if err != nil || fi.IsDir() != dir {
		t.Fatalf("created %q, but %s is not there (%v)", p, onDisk, err)
	}
	if err := os.Remove(onDisk); err != nil {
		t.Fatalf("remove %s: %v", onDisk, err)
	}
}

// statAll stats names, failing on error.
func statAll(tb testing.TB, names ...string) []fs.FileInfo {
	tb.Helper()
	var infos []fs.FileInfo
	for _, n := range names {
		fi, err := os.Stat(n)
		if err != nil {
			tb.Fatal(err)
		}
		infos = append(infos, fi)
	}
	return infos
}

// outsideSnapshot describes everything under parent except the home:
// names, types, modes, sizes, times and the secret's content.
func outsideSnapshot(tb testing.TB, parent string) string {
	tb.Helper()
	var b strings.Builder
	err := filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch p {
		case parent:
			return nil // its time changes as the home comes and goes
		case filepath.Join(parent, "home"):
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v %d %d\n", p, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "  %q\n", data)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return b.String()
}

// FuzzParseFacts checks OPTS MLST parsing: only known facts, each named
// by a field of the argument (ASCII case and blanks around it aside),
// every such field honoured, and the reply's list parsing back to the
// same set.
func FuzzParseFacts(f *testing.F) {
	for _, s := range []string{"", "type;size;", "TYPE;Size;modify;perm;unique;UNIX.mode;", "size", " size ; type ;", ";;;", "sizes;typ;", "unix.MODE", "t\xffype;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set := parseFacts(s)
		if set&^defaultFacts != 0 {
			t.Fatalf("parseFacts(%q) = %b: unknown bits", s, set)
		}
		named := factSet(0)
		for _, field := range strings.Split(s, ";") {
			for _, fn := range factNames {
				if strings.EqualFold(strings.TrimSpace(field), fn.name) {
					named |= factSet(fn.f)
				}
			}
		}
		if set != named {
			t.Fatalf("parseFacts(%q) = %q, want %q", s, set, named)
		}
		if back := parseFacts(set.String()); back != set {
			t.Fatalf("parseFacts(%q) = %q, which parses back as %q", s, set, back)
		}
		if up := parseFacts(asciiUpper(s)); up != set {
			t.Fatalf("parseFacts(%q) = %q but upper-cased gives %q", s, set, up)
		}
		for _, name := range strings.Split(strings.TrimSuffix(set.String(), ";"), ";") {
			if name != "" && !strings.Contains(set.feat(), name+"*;") {
				t.Fatalf("FEAT %q does not star the chosen fact %q", set.feat(), name)
			}
		}
	})
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}

// argVerbs are the commands FuzzCommandArgs runs: every command that
// works on arguments without a data connection (data transfers would dial
// out or wait for a client).
var argVerbs = []string{
	"REST", "MFMT", "MDTM", "SIZE", "EPSV", "OPTS", "SITE", "MLST", "STAT",
	"CWD", "XCWD", "CDUP", "PWD", "MKD", "RMD", "DELE", "RNFR", "RNTO",
	"TYPE", "MODE", "STRU", "ALLO", "HELP", "FEAT", "NOOP", "SYST",
	"AUTH", "PBSZ", "PROT", "CCC", "ABOR", "ACCT", "SMNT",
}

// FuzzCommandArgs runs two commands with any arguments on a logged-in
// session over a fake connection, in a fresh home whose symbolic links
// escape or loop. It checks that each command gets exactly one
// well-formed reply and never the 421 of a recovered panic; that REST,
// MFMT and EPSV accept exactly the arguments their syntax allows and do
// what they said; that the working directory stays a clean absolute
// path; and that nothing outside the home changes (content, mode or
// time).
func FuzzCommandArgs(f *testing.F) {
	verbIndex := func(v string) uint8 { return uint8(slices.Index(argVerbs, v)) }
	for _, s := range []struct {
		v1, a1, v2, a2 string
	}{
		{"REST", "100", "REST", "-1"},
		{"REST", " 9223372036854775807 ", "REST", "9223372036854775808"},
		{"REST", "1e3", "TYPE", "A"},
		{"MFMT", "20200102030405 in.txt", "MDTM", "in.txt"},
		{"MFMT", "20200102030405.5 esc/secret.txt", "MFMT", "2020 in.txt"},
		{"MDTM", "20200102030405 abs/secret.txt", "MDTM", "20201340000000 in.txt"},
		{"EPSV", "ALL", "EPSV", " 1 "},
		{"EPSV", "2", "EPSV", "3"},
		{"OPTS", "MLST type;size;", "MLST", "in.txt"},
		{"OPTS", "MLST ", "MLST", "esc"},
		{"SITE", "CHMOD 777 esc/secret.txt", "SITE", "CHMOD 7777 in.txt"},
		{"SITE", "CHMOD 0 sub", "SITE", "HELP CHMOD"},
		{"RNFR", "in.txt", "RNTO", "esc/stolen.txt"},
		{"RNFR", "in.txt", "RNTO", "sub"},
		{"CWD", "esc", "PWD", ""},
		{"CWD", "../../..", "MKD", "..\\..\\x"},
		{"MKD", "loop/x", "RMD", "escdir"},
		{"DELE", "esc/secret.txt", "DELE", "esc"},
		{"STAT", "escdir", "STAT", "-la sub"},
		{"SIZE", "loop", "SIZE", "a"},
		{"HELP", "site", "FEAT", ""},
		{"PROT", "P", "AUTH", "TLS"},
		{"CWD", "caf\xe9\xff\xff", "MKD", "a\x00b"},
	} {
		f.Add(verbIndex(s.v1), s.a1, verbIndex(s.v2), s.a2)
	}
	parent := f.TempDir()
	outside := filepath.Join(parent, "outside")
	secret := filepath.Join(outside, "secret.txt")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(secret, []byte("SECRET"), 0o600); err != nil {
		f.Fatal(err)
	}
	snapshot := outsideSnapshot(f, parent)

	f.Fuzz(func(t *testing.T, v1 uint8, a1 string, v2 uint8, a2 string) {
		home := filepath.Join(parent, "home")
		makeFuzzHome(t, home, outside)
		defer removeFuzzHome(t, home)
		rootfs, err := NewRootFS(home)
		if err != nil {
			t.Fatal(err)
		}
		defer rootfs.Close()
		conn := &fakeConn{}
		s := newFuzzSession(conn)
		s.acct = &Account{User: "fuzz", FS: rootfs, Perms: Permissions{Default: PermAll}}
		defer func() {
			s.data.close()
			s.cancel()
		}()
		for _, c := range []struct {
			verb string
			arg  string
		}{{argVerbs[int(v1)%len(argVerbs)], a1}, {argVerbs[int(v2)%len(argVerbs)], a2}} {
			if i := strings.IndexByte(c.arg, '\n'); i >= 0 {
				c.arg = c.arg[:i] // a line ends at its LF
			}
			line := c.verb
			if c.arg != "" {
				line += " " + c.arg
			}
			conn.out.Reset()
			restBefore := s.restOffset
			s.handle([]byte(line + "\r\n"))
			code, err := oneReply(conn.out.Bytes())
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			if code == 421 {
				t.Fatalf("%q: 421 (a panic was recovered): %q", line, conn.out.Bytes())
			}
			if !strings.HasPrefix(s.cwd, "/") || path.Clean(s.cwd) != s.cwd {
				t.Fatalf("%q: working directory %q is not clean and absolute", line, s.cwd)
			}
			_, arg := parseLine([]byte(line + "\r\n"))
			checkArgReply(t, s, c.verb, arg, code, conn.out.String(), restBefore, home)
		}
		if got := outsideSnapshot(t, parent); got != snapshot {
			t.Fatalf("commands changed what is outside the home:\n%s\nwant:\n%s", got, snapshot)
		}
	})
}

// checkArgReply checks the commands whose arguments have a simple
// syntax: the reply code must be exactly what the syntax calls for.
func checkArgReply(t *testing.T, s *session, verb, arg string, code int, reply string, restBefore int64, home string) {
	t.Helper()
	switch verb {
	case "REST":
		n, err := strconv.ParseInt(strings.TrimSpace(arg), 10, 64)
		switch {
		case arg == "" || hasNUL(arg) || err != nil || n < 0:
			if code != 501 || s.restOffset != restBefore {
				t.Fatalf("REST %q: %d (offset %d), want 501 and offset %d kept", arg, code, s.restOffset, restBefore)
			}
		case n > 0 && s.ascii:
			if code != 504 {
				t.Fatalf("REST %q in ASCII mode: %d, want 504", arg, code)
			}
		default:
			if code != 350 || s.restOffset != n {
				t.Fatalf("REST %q: %d (offset %d), want 350 and offset %d", arg, code, s.restOffset, n)
			}
		}
	case "MFMT":
		tv, name, _ := strings.Cut(arg, " ")
		tm, ok := parseTimeval(tv)
		switch {
		case arg == "":
			if code != 501 {
				t.Fatalf("MFMT with no argument: %d, want 501", code)
			}
		case hasNUL(arg) || name == "" || !ok:
			if code != 501 {
				t.Fatalf("MFMT %q: %d, want 501", arg, code)
			}
		case code == 213:
			fi, err := os.Stat(filepath.Join(home, filepath.FromSlash(rel(s.abs(name)))))
			if err != nil {
				t.Fatalf("MFMT %q said 213, but: %v", arg, err)
			}
			if d := fi.ModTime().Sub(tm).Abs(); d > mtimeSlack {
				t.Fatalf("MFMT %q said 213, but the file's time is %v, want %v", arg, fi.ModTime(), tm)
			}
			if want := "Modify=" + fi.ModTime().UTC().Format(timeLayout) + ";"; !strings.Contains(reply, want) {
				t.Fatalf("MFMT %q: reply %q does not give the stored time (%s)", arg, reply, want)
			}
		case code != 550 && code != 553:
			t.Fatalf("MFMT %q: %d, want 213 or 550/553", arg, code)
		}
	case "EPSV":
		want := 501
		switch strings.ToUpper(strings.TrimSpace(arg)) {
		case "", "1":
			want = 229
		case "2":
			want = 522
		case "ALL":
			want = 200
		}
		if hasNUL(arg) {
			want = 501
		}
		if code != want {
			t.Fatalf("EPSV %q: %d, want %d", arg, code, want)
		}
		if s.data.ready() != (code == 229) {
			t.Fatalf("EPSV %q: %d, but a passive listener is ready: %v", arg, code, s.data.ready())
		}
		s.data.close()
	}
}

// oneReply checks that out is exactly one well-formed reply (single- or
// multi-line, RFC 959 4.2) and returns its code.
func oneReply(out []byte) (int, error) {
	if !bytes.HasSuffix(out, []byte("\r\n")) {
		return 0, fmt.Errorf("reply %q does not end in CRLF", clipBytes(out))
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\r\n"), "\r\n")
	first := lines[0]
	if len(first) < 4 || first[3] != ' ' && first[3] != '-' {
		return 0, fmt.Errorf("malformed first reply line %q", clipBytes([]byte(first)))
	}
	code, err := strconv.Atoi(first[:3])
	if err != nil || code < 100 || code > 599 {
		return 0, fmt.Errorf("bad reply code in %q", clipBytes([]byte(first)))
	}
	end := first[:3] + " "
	if first[3] == ' ' {
		if len(lines) != 1 {
			return 0, fmt.Errorf("%d lines after a single-line reply: %q", len(lines)-1, clipBytes(out))
		}
		return code, nil
	}
	for i, l := range lines[1:] {
		if strings.HasPrefix(l, end) {
			if i != len(lines)-2 {
				return 0, fmt.Errorf("lines after the end of a multi-line reply: %q", clipBytes(out))
			}
			return code, nil
		}
	}
	return 0, fmt.Errorf("multi-line reply without its last line: %q", clipBytes(out))
}

// makeFuzzHome creates a fresh home: a file, a directory, and links that
// escape it (relative, absolute, through "..") or loop.
func makeFuzzHome(t *testing.T, home, outside string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(home, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "in.txt"), []byte("inside"), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"esc": "../outside", "escdir": "..", "abs": outside, "loop": "loop", "a": "b", "b": "a"} {
		if err := os.Symlink(target, filepath.Join(home, link)); err != nil {
			t.Fatal(err)
		}
	}
}

// removeFuzzHome removes the home, first giving back any permission a
// SITE CHMOD took away.
func removeFuzzHome(t *testing.T, home string) {
	if err := os.RemoveAll(home); err == nil {
		return
	}
	filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	if err := os.RemoveAll(home); err != nil {
		t.Fatal(err)
	}
}

// newFuzzSession makes a session on conn for a server that logs nothing
// and answers failed logins at once.
func newFuzzSession(conn net.Conn) *session {
	srv := &Server{Logger: slog.New(slog.DiscardHandler), LoginFailDelay: -1, IdleTimeout: -1}
	srv.init()
	return newSession(srv, conn, 1)
}

// fakeConn is a net.Conn that reads from in, chunk bytes at a time (all
// of it when chunk is 0), then io.EOF, and records what is written.
type fakeConn struct {
	in    []byte
	chunk int
	out   bytes.Buffer
}

func (c *fakeConn) Read(b []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := len(b)
	if c.chunk > 0 {
		n = min(n, c.chunk)
	}
	n = copy(b[:n], c.in)
	c.in = c.in[n:]
	return n, nil
}

func (c *fakeConn) Write(b []byte) (int, error) { return c.out.Write(b) }
func (c *fakeConn) Close() error                { return nil }
func (c *fakeConn) LocalAddr() net.Addr         { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2121} }
func (c *fakeConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *fakeConn) SetDeadline(time.Time) error      { return nil }
func (c *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fakeConn) SetWriteDeadline(time.Time) error { return nil }

func clipBytes(b []byte) []byte {
	if len(b) > 120 {
		return append(b[:120:120], "..."...)
	}
	return b
}
