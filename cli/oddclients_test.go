package cli_test

// Old and odd clients, as raw dialogues against the built binary: bare LF
// line ends, lowercase verbs, extra spaces, ls options after LIST and
// NLST, PORT from behind NAT, the Windows ftp.exe flow (active mode, TYPE A
// by default, X-commands), Latin-1 and CP437 file names, SYST, and a data
// connection opened long before the command that uses it.

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	oddUser = "alice"
	oddPass = "pw-odd 1" // a space in a password is kept
)

// oddServer starts ftpshare with one user on a directory of its own, with
// the files given, and returns it with the directory.
func oddServer(t *testing.T, files map[string][]byte) (*proc, string) {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		name = filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, name, data)
	}
	return start(t, nil, "--user", oddUser+":"+oddPass, dir), dir
}

// oddLogin dials and logs in with CRLF commands.
func oddLogin(t *testing.T, p *proc) *ctl {
	t.Helper()
	c := dial(t, p.Addr())
	c.login(oddUser, oddPass)
	return c
}

// raw sends line exactly as given (its own line end, or none added) and
// returns the reply.
func (c *ctl) raw(line string) (int, string) {
	c.t.Helper()
	c.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(c.c, line); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
	return c.read()
}

// rawExpect is raw, failing unless the reply's code is want.
func (c *ctl) rawExpect(want int, line string) string {
	c.t.Helper()
	code, msg := c.raw(line)
	if code != want {
		c.t.Fatalf("%q: got %d %s, want %d", line, code, msg, want)
	}
	return msg
}

// pasv opens a passive data connection with PASV (what old clients use).
func (c *ctl) pasv(line string) net.Conn {
	c.t.Helper()
	msg := c.rawExpect(227, line)
	m := regexp.MustCompile(`(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)`).FindStringSubmatch(msg)
	if m == nil {
		c.t.Fatalf("bad PASV reply %q", msg)
	}
	p1, _ := strconv.Atoi(m[5])
	p2, _ := strconv.Atoi(m[6])
	host := strings.Join(m[1:5], ".")
	d, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(p1*256+p2)), ioTimeout)
	if err != nil {
		c.t.Fatalf("dial PASV data: %v", err)
	}
	d.SetDeadline(time.Now().Add(ioTimeout))
	return d
}

// activeListener listens on loopback for the server's active data
// connection and returns the listener with its PORT argument.
func activeListener(t *testing.T, spaced bool) (*net.TCPListener, string) {
	t.Helper()
	l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	l.SetDeadline(time.Now().Add(ioTimeout))
	port := l.Addr().(*net.TCPAddr).Port
	sep := ","
	if spaced {
		sep = ", "
	}
	return l, strings.Join([]string{"127", "0", "0", "1", strconv.Itoa(port / 256), strconv.Itoa(port % 256)}, sep)
}

// activeTransfer sends PORT then cmd, accepts the server's connection,
// sends up (when not nil) or reads everything, and checks 150 then 226.
func (c *ctl) activeTransfer(portLine, cmdLine string, l *net.TCPListener, up []byte) []byte {
	c.t.Helper()
	c.rawExpect(200, portLine)
	if code, msg := c.raw(cmdLine); code != 150 && code != 125 {
		c.t.Fatalf("%q: got %d %s, want 150", cmdLine, code, msg)
	}
	d, err := l.Accept()
	if err != nil {
		c.t.Fatalf("accept the active data connection: %v", err)
	}
	defer d.Close()
	d.SetDeadline(time.Now().Add(ioTimeout))
	var data []byte
	if up != nil {
		if _, err := d.Write(up); err != nil {
			c.t.Fatalf("write data: %v", err)
		}
		d.Close()
	} else if data, err = io.ReadAll(d); err != nil {
		c.t.Fatalf("read data: %v", err)
	}
	if code, msg := c.read(); code != 226 {
		c.t.Fatalf("%q: final reply %d %s, want 226", cmdLine, code, msg)
	}
	return data
}

// passiveTransfer runs cmdLine over an open passive data connection.
func (c *ctl) passiveTransfer(d net.Conn, cmdLine string, up []byte) []byte {
	c.t.Helper()
	defer d.Close()
	if code, msg := c.raw(cmdLine); code != 150 && code != 125 {
		c.t.Fatalf("%q: got %d %s, want 150", cmdLine, code, msg)
	}
	var data []byte
	var err error
	if up != nil {
		if _, err := d.Write(up); err != nil {
			c.t.Fatalf("write data: %v", err)
		}
		d.Close()
	} else if data, err = io.ReadAll(d); err != nil {
		c.t.Fatalf("read data: %v", err)
	}
	if code, msg := c.read(); code != 226 {
		c.t.Fatalf("%q: final reply %d %s, want 226", cmdLine, code, msg)
	}
	return data
}

// lines splits a listing on CRLF, and sorts the lines.
func lines(b []byte) []string {
	l := strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")
	slices.Sort(l)
	return l
}

// TestOddBareLF: clients that end commands with a bare LF (Unix tools
// piping into nc, some embedded stacks) get the same answers.
func TestOddBareLF(t *testing.T) {
	t.Parallel()
	want := randomBytes(70_000)
	p, dir := oddServer(t, map[string][]byte{"f.bin": want})
	c := dial(t, p.Addr())
	c.rawExpect(331, "USER "+oddUser+"\n")
	c.rawExpect(230, "PASS "+oddPass+"\n")
	c.rawExpect(215, "SYST\n")
	c.rawExpect(200, "TYPE I\n")
	if got := c.passiveTransfer(c.pasv("PASV\n"), "RETR f.bin\n", nil); !bytes.Equal(got, want) {
		t.Errorf("RETR with bare LF: %d bytes, want %d", len(got), len(want))
	}
	c.passiveTransfer(c.pasv("PASV\n"), "STOR up.bin\n", want)
	if got := fileSum(t, filepath.Join(dir, "up.bin")); got != sum(want) {
		t.Errorf("STOR with bare LF: wrong bytes on disk")
	}
	// A CR alone inside a line is part of the argument, not a line end.
	c.rawExpect(257, "MKD a\rb\n")
	if !exists(filepath.Join(dir, "a\rb")) {
		t.Errorf("MKD \"a\\rb\": no such directory on disk")
	}
	c.rawExpect(221, "QUIT\n")
}

// TestOddLowercaseVerbs: verbs in any case, and the X-verbs of RFC 775
// (XPWD, XMKD, XCWD, XCUP, XRMD) that Windows ftp.exe sends.
func TestOddLowercaseVerbs(t *testing.T) {
	t.Parallel()
	want := []byte("lower case\n")
	p, dir := oddServer(t, map[string][]byte{"f.txt": want})
	c := dial(t, p.Addr())
	c.rawExpect(331, "user "+oddUser+"\r\n")
	c.rawExpect(230, "Pass "+oddPass+"\r\n")
	c.rawExpect(215, "syst\r\n")
	c.rawExpect(200, "type i\r\n")
	c.rawExpect(200, "type a\r\n")
	c.rawExpect(200, "tYpE I\r\n")
	if got := c.passiveTransfer(c.pasv("pasv\r\n"), "retr f.txt\r\n", nil); !bytes.Equal(got, want) {
		t.Errorf("retr: %q", got)
	}
	c.rawExpect(257, "xmkd low\r\n")
	c.rawExpect(250, "xcwd low\r\n")
	if msg := c.rawExpect(257, "xpwd\r\n"); !strings.Contains(msg, `"/low"`) {
		t.Errorf("xpwd: %s", msg)
	}
	c.rawExpect(250, "xcup\r\n")
	c.rawExpect(250, "xrmd low\r\n")
	c.rawExpect(350, "rnfr f.txt\r\n")
	c.rawExpect(250, "rnto g.txt\r\n")
	c.rawExpect(250, "dele g.txt\r\n")
	if exists(filepath.Join(dir, "low")) || exists(filepath.Join(dir, "f.txt")) || exists(filepath.Join(dir, "g.txt")) {
		t.Errorf("lowercase xrmd, rnfr/rnto, dele: the directory does not look right")
	}
	c.rawExpect(200, "noop\r\n")
	c.rawExpect(221, "quit\r\n")
}

// TestOddExtraSpaces decides what extra spaces mean. Blanks before the
// verb are skipped, and numeric and keyword arguments (TYPE, MODE, STRU,
// REST, PORT's numbers) may have spaces around them. Trailing spaces
// after an argumentless verb ("PASV ", as clients that print "%s %s"
// send) are accepted, and so are blanks around a user name. A path
// argument is what follows the first space,
// byte for byte: "RETR  x" asks for " x", since names may begin or end
// with spaces.
func TestOddExtraSpaces(t *testing.T) {
	t.Parallel()
	p, dir := oddServer(t, map[string][]byte{"x": []byte("plain x"), " x": []byte("space x"), "x ": []byte("x space"), "sub/in.txt": []byte("in")})
	c := oddLogin(t, p)

	c.rawExpect(200, "   NOOP\r\n")
	for _, line := range []string{"PWD \r\n", "NOOP \r\n", "SYST \r\n", "FEAT \r\n", "CDUP \r\n", "XPWD \r\n", "PWD   \r\n", "NOOP  \r\n"} {
		if code, msg := c.raw(line); code >= 500 {
			t.Errorf("%q: %d %s, want it accepted", line, code, msg)
		}
	}
	c.rawExpect(200, "TYPE  I\r\n")
	c.rawExpect(200, "TYPE I \r\n")
	c.rawExpect(200, "TYPE A  N\r\n")
	c.rawExpect(200, "TYPE  L  8\r\n")
	c.rawExpect(200, "MODE  S \r\n")
	c.rawExpect(200, "STRU  F\r\n")
	c.rawExpect(350, "REST  3 \r\n")
	c.rawExpect(350, "REST 0\r\n")
	for _, tc := range []struct{ line, want string }{
		{"RETR x\r\n", "plain x"},
		{"RETR  x\r\n", "space x"},
		{"RETR x \r\n", "x space"},
	} {
		if got := c.passiveTransfer(c.pasv("PASV \r\n"), tc.line, nil); string(got) != tc.want {
			t.Errorf("%q: got %q, want %q", tc.line, got, tc.want)
		}
	}
	c.passiveTransfer(c.epsv(), "STOR  lead.txt\r\n", []byte("lead"))
	if b, err := os.ReadFile(filepath.Join(dir, " lead.txt")); err != nil || string(b) != "lead" {
		t.Errorf("STOR with two spaces: want a file named \" lead.txt\": %v", err)
	}
	c.rawExpect(550, "CWD  sub\r\n") // " sub" does not exist
	c.rawExpect(250, "CWD sub\r\n")

	// Spaces between PORT's numbers, in active mode.
	l, arg := activeListener(t, true)
	c.rawExpect(200, "TYPE I\r\n")
	if got := c.activeTransfer("PORT "+arg+"\r\n", "RETR in.txt\r\n", l, nil); string(got) != "in" {
		t.Errorf("RETR after %q: %q", "PORT "+arg, got)
	}
	c.rawExpect(221, "QUIT \r\n")
}

// TestOddListOptions: clients send ls options after LIST and NLST
// ("LIST -al", "NLST -l" from Windows ftp.exe's "ls -l"): they are taken
// as options, not as a file name. NLST -l gives the long format.
func TestOddListOptions(t *testing.T) {
	t.Parallel()
	p, _ := oddServer(t, map[string][]byte{"a.txt": []byte("a"), ".hidden": []byte("h"), "sub/in.txt": []byte("in"), "-dash.txt": []byte("d")})
	c := oddLogin(t, p)
	long := regexp.MustCompile(`^[-d]r[-w][-x]`)
	names := func(ls []string, isLong bool) []string {
		t.Helper()
		var n []string
		for _, l := range ls {
			if isLong {
				if !long.MatchString(l) {
					t.Errorf("not a long listing line: %q", l)
					continue
				}
				f := lsNames(l)
				if len(f) != 1 {
					t.Errorf("unparsable line %q", l)
					continue
				}
				n = append(n, f[0])
			} else {
				n = append(n, l)
			}
		}
		slices.Sort(n)
		return n
	}
	all := []string{"-dash.txt", ".hidden", "a.txt", "sub"}
	for _, tc := range []struct {
		line string
		long bool
		want []string
	}{
		{"LIST -al\r\n", true, all},
		{"LIST -la sub\r\n", true, []string{"in.txt"}},
		{"LIST -a -l\r\n", true, all},
		{"NLST -l\r\n", true, all},
		{"NLST -a\r\n", false, all},
		{"NLST\r\n", false, all},
		{"NLST -dash.txt\r\n", false, []string{"-dash.txt"}}, // not an option: a name
	} {
		got := names(lines(c.passiveTransfer(c.epsv(), tc.line, nil)), tc.long)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: %q, want %q", tc.line, got, tc.want)
		}
	}
}

// TestOddPORTFromNAT: a client behind NAT sends PORT with its private
// address, which is not the address the server sees. It is refused with
// 501 and a reply that says why; the session goes on, the refused address
// is never dialled, and the client can still use passive mode.
func TestOddPORTFromNAT(t *testing.T) {
	t.Parallel()
	p, _ := oddServer(t, map[string][]byte{"f.txt": []byte("still works")})
	c := oddLogin(t, p)
	for _, line := range []string{"PORT 192,168,1,23,200,10\r\n", "EPRT |1|10.0.0.5|51234|\r\n", "PORT 172,16,0,9,4,1\r\n"} {
		msg := c.rawExpect(501, line)
		if !strings.Contains(msg, "your own address (127.0.0.1)") {
			t.Errorf("%q: the reply %q should say the data connection must go to 127.0.0.1", line, msg)
		}
	}
	// No data connection was set: the transfer is refused, not attempted.
	if code, msg := c.raw("RETR f.txt\r\n"); code != 425 {
		t.Errorf("RETR after a refused PORT: %d %s, want 425", code, msg)
	}
	// A privileged port on the client's own address is refused too.
	if msg := c.rawExpect(501, "PORT 127,0,0,1,0,21\r\n"); !strings.Contains(msg, "below 1024") {
		t.Errorf("PORT to port 21: %q", msg)
	}
	c.rawExpect(200, "NOOP\r\n")
	if got := c.passiveTransfer(c.epsv(), "RETR f.txt\r\n", nil); string(got) != "still works" {
		t.Errorf("RETR in passive mode after the refusals: %q", got)
	}
	// And active mode to the right address works.
	l, arg := activeListener(t, false)
	if got := c.activeTransfer("PORT "+arg+"\r\n", "RETR f.txt\r\n", l, nil); string(got) != "still works" {
		t.Errorf("RETR in active mode after the refusals: %q", got)
	}
}

// TestOddWindowsFtpExe plays Windows ftp.exe: active mode only (PORT
// before every transfer), ASCII until "binary", XPWD and XMKD. In ASCII,
// listings and text files come with CRLF line ends and a CRLF text upload
// is stored with LF; after "binary", bytes go through untouched.
func TestOddWindowsFtpExe(t *testing.T) {
	t.Parallel()
	text := []byte("line one\nline two\r\nline three\n")
	bin := randomBytes(200_003)
	bin[0], bin[1] = '\r', '\n'
	p, dir := oddServer(t, map[string][]byte{"readme.txt": text, "image.bin": bin})
	c := dial(t, p.Addr())
	c.rawExpect(331, "USER "+oddUser+"\r\n")
	c.rawExpect(230, "PASS "+oddPass+"\r\n")

	// ftp.exe starts in ASCII: "dir" is PORT, LIST.
	c.rawExpect(200, "TYPE A\r\n")
	l, arg := activeListener(t, false)
	listing := c.activeTransfer("PORT "+arg+"\r\n", "LIST\r\n", l, nil)
	if !bytes.HasSuffix(listing, []byte("\r\n")) || bytes.Contains(bytes.ReplaceAll(listing, []byte("\r\n"), nil), []byte("\n")) {
		t.Errorf("LIST in ASCII: want CRLF line ends: %q", listing)
	}
	if got := lsNames(string(listing)); !slices.Equal(got, []string{"image.bin", "readme.txt"}) {
		t.Errorf("LIST: names %q", got)
	}
	// "ls" is PORT, NLST.
	l, arg = activeListener(t, false)
	if got := lines(c.activeTransfer("PORT "+arg+"\r\n", "NLST\r\n", l, nil)); !slices.Equal(got, []string{"image.bin", "readme.txt"}) {
		t.Errorf("NLST: %q", got)
	}
	// "get readme.txt" in ASCII: LF becomes CRLF, CRLF stays.
	l, arg = activeListener(t, false)
	if got, want := c.activeTransfer("PORT "+arg+"\r\n", "RETR readme.txt\r\n", l, nil), "line one\r\nline two\r\nline three\r\n"; string(got) != want {
		t.Errorf("RETR in ASCII: %q, want %q", got, want)
	}
	// "put notes.txt" in ASCII: the CRLF text is stored with LF.
	l, arg = activeListener(t, false)
	c.activeTransfer("PORT "+arg+"\r\n", "STOR notes.txt\r\n", l, []byte("from\r\nwindows\r\n"))
	if b, _ := os.ReadFile(filepath.Join(dir, "notes.txt")); string(b) != "from\nwindows\n" {
		t.Errorf("STOR in ASCII stored %q, want LF line ends", b)
	}
	// "mget *.txt": NLST with the pattern, then a RETR per name.
	l, arg = activeListener(t, false)
	matched := lines(c.activeTransfer("PORT "+arg+"\r\n", "NLST *.txt\r\n", l, nil))
	if !slices.Equal(matched, []string{"notes.txt", "readme.txt"}) {
		t.Errorf("NLST *.txt: %q", matched)
	}
	for _, name := range matched {
		l, arg = activeListener(t, false)
		if got := c.activeTransfer("PORT "+arg+"\r\n", "RETR "+name+"\r\n", l, nil); !bytes.HasSuffix(got, []byte("\r\n")) {
			t.Errorf("mget %s: %q", name, got)
		}
	}
	// "pwd", "mkdir".
	c.rawExpect(257, "XPWD\r\n")
	c.rawExpect(257, "XMKD backup\r\n")
	// "binary", then "put" and "get": exact bytes.
	c.rawExpect(200, "TYPE I\r\n")
	l, arg = activeListener(t, false)
	c.activeTransfer("PORT "+arg+"\r\n", "STOR backup/image copy.bin\r\n", l, bin)
	if got := fileSum(t, filepath.Join(dir, "backup", "image copy.bin")); got != sum(bin) {
		t.Errorf("STOR in binary: the bytes on disk differ")
	}
	l, arg = activeListener(t, false)
	if got := c.activeTransfer("PORT "+arg+"\r\n", "RETR image.bin\r\n", l, nil); !bytes.Equal(got, bin) {
		t.Errorf("RETR in binary: %d bytes, differ", len(got))
	}
	c.rawExpect(221, "QUIT\r\n")
}

// TestOddLegacyEncodings: old clients send file names in their code page
// (Latin-1, CP437), not UTF-8. The names are stored, listed and found
// again byte for byte. A Latin-1 ÿ is byte 255, Telnet's IAC: sent alone
// before a letter it is kept, sent doubled (IAC IAC, as RFC 854 asks) it
// stands for one byte 255.
func TestOddLegacyEncodings(t *testing.T) {
	t.Parallel()
	p, dir := oddServer(t, nil)
	c := oddLogin(t, p)
	c.rawExpect(200, "TYPE I\r\n")
	names := []struct{ sent, stored string }{
		{"caf\xe9 d\xe9j\xe0 vu.txt", "caf\xe9 d\xe9j\xe0 vu.txt"}, // Latin-1 "café déjà vu.txt"
		{"r\x82sum\x82 K\x94ln.txt", "r\x82sum\x82 K\x94ln.txt"},   // CP437 "résumé Köln.txt"
		{"na\xefve \xffx.txt", "na\xefve \xffx.txt"},               // Latin-1 ÿ alone
		{"doubled \xff\xff.txt", "doubled \xff.txt"},               // IAC IAC
	}
	for i, n := range names {
		data := []byte(fmt.Sprintf("content %d", i))
		c.passiveTransfer(c.epsv(), "STOR "+n.sent+"\r\n", data)
		if b, err := os.ReadFile(filepath.Join(dir, n.stored)); err != nil || !bytes.Equal(b, data) {
			t.Errorf("STOR %q: on disk as %q: %v", n.sent, n.stored, err)
		}
	}
	// A directory, and a file in it.
	msg := c.rawExpect(257, "MKD d\xe9j\xe0\r\n")
	if !strings.Contains(msg, "\"/d\xe9j\xe0\"") {
		t.Errorf("MKD reply %q: want the name byte for byte", msg)
	}
	c.passiveTransfer(c.epsv(), "STOR d\xe9j\xe0/\x82t\x82.txt\r\n", []byte("in dir"))
	if b, err := os.ReadFile(filepath.Join(dir, "d\xe9j\xe0", "\x82t\x82.txt")); err != nil || string(b) != "in dir" {
		t.Errorf("STOR into a Latin-1 directory: %v", err)
	}

	// On disk, byte for byte.
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var onDisk []string
	for _, e := range ents {
		onDisk = append(onDisk, e.Name())
	}
	want := []string{"d\xe9j\xe0"}
	for _, n := range names {
		want = append(want, n.stored)
	}
	slices.Sort(want)
	if !slices.Equal(onDisk, want) {
		t.Errorf("on disk: %q, want %q", onDisk, want)
	}
	// Listed back byte for byte, by NLST and LIST.
	if got := lines(c.passiveTransfer(c.epsv(), "NLST\r\n", nil)); !slices.Equal(got, want) {
		t.Errorf("NLST: %q, want %q", got, want)
	}
	listed := lsNames(string(c.passiveTransfer(c.epsv(), "LIST\r\n", nil)))
	slices.Sort(listed)
	if !slices.Equal(listed, want) {
		t.Errorf("LIST names: %q, want %q", listed, want)
	}
	// Found again by the same bytes.
	for i, n := range names {
		if got := c.passiveTransfer(c.epsv(), "RETR "+n.sent+"\r\n", nil); string(got) != fmt.Sprintf("content %d", i) {
			t.Errorf("RETR %q: %q", n.sent, got)
		}
	}
	mlsd := string(c.passiveTransfer(c.epsv(), "MLSD\r\n", nil))
	for _, n := range want {
		if !strings.Contains(mlsd, "; "+n+"\r\n") {
			t.Errorf("MLSD does not show %q byte for byte:\n%q", n, mlsd)
		}
	}
	c.rawExpect(250, "CWD d\xe9j\xe0\r\n")
	if msg := c.rawExpect(257, "PWD\r\n"); !strings.HasPrefix(msg, "\"/d\xe9j\xe0\"") {
		t.Errorf("PWD in a Latin-1 directory: %q", msg)
	}
	if got := c.passiveTransfer(c.epsv(), "RETR \x82t\x82.txt\r\n", nil); string(got) != "in dir" {
		t.Errorf("RETR in a Latin-1 directory: %q", got)
	}
	c.rawExpect(350, "RNFR \x82t\x82.txt\r\n")
	c.rawExpect(250, "RNTO \xe9t\xe9.txt\r\n")
	if !exists(filepath.Join(dir, "d\xe9j\xe0", "\xe9t\xe9.txt")) {
		t.Errorf("RNFR/RNTO from CP437 to Latin-1: not on disk")
	}
}

// TestOddSYST: clients that pick their listing parser from SYST need
// exactly "215 UNIX Type: L8", before and after logging in.
func TestOddSYST(t *testing.T) {
	t.Parallel()
	p, _ := oddServer(t, nil)
	c := dial(t, p.Addr())
	for _, stage := range []string{"before login", "after login"} {
		if code, msg := c.cmd("SYST"); code != 215 || msg != "UNIX Type: L8" {
			t.Errorf("SYST %s: %d %q, want 215 UNIX Type: L8", stage, code, msg)
		}
		if stage == "before login" {
			c.login(oddUser, oddPass)
		}
	}
}

// TestOddDataConnectionFirst: clients that connect to the passive port as
// soon as they have it, then send other commands (TYPE, SIZE, MDTM, REST),
// and only later the transfer command; the connection waits for it.
func TestOddDataConnectionFirst(t *testing.T) {
	t.Parallel()
	want := randomBytes(300_001)
	p, dir := oddServer(t, map[string][]byte{"f.bin": want})
	c := oddLogin(t, p)
	for _, how := range []string{"PASV", "EPSV"} {
		t.Run(how, func(t *testing.T) {
			c.t = t
			var d net.Conn
			if how == "PASV" {
				d = c.pasv("PASV\r\n")
			} else {
				d = c.epsv()
			}
			time.Sleep(300 * time.Millisecond) // the connection sits idle
			c.expect(200, "TYPE I")
			if msg := c.expect(213, "SIZE f.bin"); msg != strconv.Itoa(len(want)) {
				t.Errorf("SIZE: %s", msg)
			}
			c.expect(213, "MDTM f.bin")
			c.expect(350, "REST 1")
			if got := c.passiveTransfer(d, "RETR f.bin\r\n", nil); !bytes.Equal(got, want[1:]) {
				t.Errorf("RETR on the early connection: %d bytes, want %d", len(got), len(want)-1)
			}
			// The same for an upload and a listing.
			d = c.epsv()
			time.Sleep(100 * time.Millisecond)
			c.passiveTransfer(d, "STOR up-"+how+".bin\r\n", want)
			if got := fileSum(t, filepath.Join(dir, "up-"+how+".bin")); got != sum(want) {
				t.Errorf("STOR on an early connection: wrong bytes on disk")
			}
			d = c.epsv()
			time.Sleep(100 * time.Millisecond)
			if got := lines(c.passiveTransfer(d, "NLST\r\n", nil)); !slices.Contains(got, "f.bin") {
				t.Errorf("NLST on an early connection: %q", got)
			}
		})
	}
}
