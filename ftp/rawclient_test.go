package ftp_test

// This file holds the raw-protocol test client that every end-to-end test
// of the engine uses, and the TestMain of package ftp_test.
//
// A rawConn is one control connection driven line by line, so tests can
// assert exact reply codes and texts, send malformed input, and look at
// bytes that a client library would hide:
//
//	srv := ftptest.NewServer(t)
//	c := dialRaw(t, srv.Addr)        // reads and checks the 220 greeting
//	c.login(ftptest.User, ftptest.Password)
//	c.expect("MKD a", 257)           // send a line, fail unless the reply is 257
//	r := c.cmd("PWD")                // send a line, return the reply
//	if r.Text != `"/" is the current directory.` { ... }
//
// Every read and write has a deadline (rawTimeout unless changed with
// setTimeout), so a test never hangs on a silent server; a failure is
// reported with t.Fatalf from the test goroutine. Helpers that must run on
// other goroutines use the error-returning forms (readReply, tryCmd).

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

// TestMain fails the package's tests if any goroutine (a session, a
// transfer, an accept loop) outlives the test servers.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// rawTimeout bounds every read and write of a rawConn; a reply slower than
// this fails the test.
const rawTimeout = 5 * time.Second

// maxReplyLines bounds a multi-line reply, so that a server that never
// sends the last line cannot make a test read forever.
const maxReplyLines = 100000

// reply is one complete server reply.
type reply struct {
	// Code is the 3-digit reply code.
	Code int
	// Text is the text of a single-line reply after "ddd ", or of the
	// last line of a multi-line reply.
	Text string
	// Lines are all lines of the reply as received, without CRLF; a
	// single-line reply has one. Lines[0] starts with "ddd-" or "ddd ".
	Lines []string
}

// Full returns the whole reply as received, lines joined with "\n".
func (r reply) Full() string { return strings.Join(r.Lines, "\n") }

// Multi reports whether the reply had more than one line.
func (r reply) Multi() bool { return len(r.Lines) > 1 }

// String is the reply as a test failure shows it.
func (r reply) String() string { return fmt.Sprintf("%q", r.Full()) }

// rawConn is a control connection for tests. Its methods that take no
// error report failures with t.Fatalf, so use them from the test's own
// goroutine only.
type rawConn struct {
	t        testing.TB
	conn     net.Conn
	r        *bufio.Reader
	timeout  time.Duration
	Greeting reply
}

// dialRaw connects to addr over TCP, reads the greeting and fails the test
// unless it is a 220. The connection is closed when the test ends.
func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c := dialRawNoGreeting(t, addr)
	c.Greeting = c.read()
	if c.Greeting.Code != 220 {
		t.Fatalf("greeting from %s: got %v, want 220", addr, c.Greeting)
	}
	return c
}

// dialRawNoGreeting connects to addr without reading anything, for tests
// of refused connections.
func dialRawNoGreeting(t testing.TB, addr string) *rawConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, rawTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	return newRawConn(t, conn)
}

// dialRawFrom is dialRaw from a chosen local IP (127.0.0.2 is another
// loopback address on Linux), without reading the greeting.
func dialRawFrom(t testing.TB, addr, localIP string) *rawConn {
	t.Helper()
	d := net.Dialer{Timeout: rawTimeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, localIP, err)
	}
	return newRawConn(t, conn)
}

func newRawConn(t testing.TB, conn net.Conn) *rawConn {
	c := &rawConn{t: t, conn: conn, r: bufio.NewReader(conn), timeout: rawTimeout}
	t.Cleanup(func() { conn.Close() })
	return c
}

// setTimeout changes the deadline of each later read and write.
func (c *rawConn) setTimeout(d time.Duration) { c.timeout = d }

// Close closes the connection.
func (c *rawConn) Close() error { return c.conn.Close() }

// sendBytes writes b exactly as given, with no line terminator added.
func (c *rawConn) sendBytes(b []byte) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("write %q: %v", clip(b), err)
	}
}

// send writes line followed by CRLF.
func (c *rawConn) send(line string) {
	c.t.Helper()
	c.sendBytes([]byte(line + "\r\n"))
}

// readReply reads one complete reply. A multi-line reply ("ddd-" on its
// first line) ends at the first later line that starts with the same
// code followed by a space (RFC 959 section 4.2); lines in between may
// hold anything. It returns an error for a malformed first line, an EOF,
// or a timeout.
func (c *rawConn) readReply() (reply, error) {
	c.conn.SetReadDeadline(time.Now().Add(c.timeout))
	first, err := c.readLine()
	if err != nil {
		return reply{}, err
	}
	if len(first) < 4 || !isCode(first[:3]) || first[3] != ' ' && first[3] != '-' {
		return reply{Lines: []string{first}}, fmt.Errorf("malformed reply line %q", clip([]byte(first)))
	}
	code, _ := strconv.Atoi(first[:3])
	r := reply{Code: code, Lines: []string{first}, Text: first[4:]}
	if first[3] == ' ' {
		return r, nil
	}
	end := first[:3] + " "
	for len(r.Lines) < maxReplyLines {
		l, err := c.readLine()
		if err != nil {
			return r, fmt.Errorf("multi-line %d reply cut after %d lines: %w", code, len(r.Lines), err)
		}
		r.Lines = append(r.Lines, l)
		if strings.HasPrefix(l, end) {
			r.Text = l[4:]
			return r, nil
		}
	}
	return r, fmt.Errorf("multi-line %d reply longer than %d lines", code, maxReplyLines)
}

// readLine reads one line ending in LF and returns it without CRLF. It
// fails if the line does not end in CRLF, since replies must.
func (c *rawConn) readLine() (string, error) {
	l, err := c.r.ReadString('\n')
	if err != nil {
		if l != "" {
			return l, fmt.Errorf("partial line %q: %w", clip([]byte(l)), err)
		}
		return "", err
	}
	if !strings.HasSuffix(l, "\r\n") {
		return l, fmt.Errorf("reply line %q does not end in CRLF", clip([]byte(l)))
	}
	return l[:len(l)-2], nil
}

func isCode(s string) bool {
	return len(s) == 3 && s[0] >= '1' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9'
}

// read reads one reply and fails the test on error.
func (c *rawConn) read() reply {
	c.t.Helper()
	r, err := c.readReply()
	if err != nil {
		c.t.Fatalf("read reply: %v", err)
	}
	return r
}

// tryCmd sends line and reads its reply, returning errors instead of
// failing the test; safe on any goroutine.
func (c *rawConn) tryCmd(line string) (reply, error) {
	c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
	if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
		return reply{}, err
	}
	return c.readReply()
}

// cmd sends line and returns its reply.
func (c *rawConn) cmd(line string) reply {
	c.t.Helper()
	c.send(line)
	r, err := c.readReply()
	if err != nil {
		c.t.Fatalf("%s: %v", showCmd(line), err)
	}
	return r
}

// expect sends line and fails the test unless the reply has code.
func (c *rawConn) expect(line string, code int) reply {
	c.t.Helper()
	r := c.cmd(line)
	if r.Code != code {
		c.t.Fatalf("%s: got %v, want %d", showCmd(line), r, code)
	}
	return r
}

// expectText sends line and fails the test unless the reply is exactly
// "code text" (for a multi-line reply, text is that of the last line).
func (c *rawConn) expectText(line string, code int, text string) reply {
	c.t.Helper()
	r := c.cmd(line)
	if r.Code != code || r.Text != text {
		c.t.Fatalf("%s: got %v, want %q", showCmd(line), r, fmt.Sprintf("%d %s", code, text))
	}
	return r
}

// login sends USER and PASS and fails the test unless it gets 331 and 230.
func (c *rawConn) login(user, pass string) {
	c.t.Helper()
	c.expect("USER "+user, 331)
	c.expect("PASS "+pass, 230)
}

// expectClosed fails the test unless the server closes the connection
// (after any replies still in flight, which it returns) within the
// timeout.
func (c *rawConn) expectClosed() []reply {
	c.t.Helper()
	var got []reply
	for range 100 {
		r, err := c.readReply()
		if err == nil {
			got = append(got, r)
			continue
		}
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			return got
		}
		c.t.Fatalf("waiting for the server to close the connection: %v (replies before: %v)", err, got)
	}
	c.t.Fatalf("server sent 100 replies and did not close the connection: %v", got)
	return nil
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout() && (strings.Contains(err.Error(), "reset") || strings.Contains(err.Error(), "broken pipe"))
}

// expectSilence fails the test if anything arrives within d: after a
// command that must not be answered yet.
func (c *rawConn) expectSilence(d time.Duration) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(d))
	b, err := c.r.Peek(1)
	if err == nil {
		c.t.Fatalf("unexpected data from server: %q", b)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		c.t.Fatalf("expected silence, got %v", err)
	}
}

// pasvAddr sends PASV and returns the address of the 227 reply.
func (c *rawConn) pasvAddr() string {
	c.t.Helper()
	r := c.expect("PASV", 227)
	open, close := strings.IndexByte(r.Text, '('), strings.IndexByte(r.Text, ')')
	if open < 0 || close < open {
		c.t.Fatalf("PASV reply %v has no (h1,h2,h3,h4,p1,p2)", r)
	}
	var h [6]int
	f := strings.Split(r.Text[open+1:close], ",")
	if len(f) != 6 {
		c.t.Fatalf("PASV reply %v: want 6 numbers", r)
	}
	for i := range f {
		n, err := strconv.Atoi(f[i])
		if err != nil || n < 0 || n > 255 {
			c.t.Fatalf("PASV reply %v: bad number %q", r, f[i])
		}
		h[i] = n
	}
	return net.JoinHostPort(fmt.Sprintf("%d.%d.%d.%d", h[0], h[1], h[2], h[3]), strconv.Itoa(h[4]<<8|h[5]))
}

// pasv sends PASV and opens the data connection it announces; it is closed
// when the test ends.
func (c *rawConn) pasv() net.Conn {
	c.t.Helper()
	addr := c.pasvAddr()
	d, err := net.DialTimeout("tcp", addr, c.timeout)
	if err != nil {
		c.t.Fatalf("dial PASV data address %s: %v", addr, err)
	}
	d.SetDeadline(time.Now().Add(c.timeout))
	c.t.Cleanup(func() { d.Close() })
	return d
}

// stor uploads data to name over a passive data connection and fails the
// test unless the server answers 150 then 226.
func (c *rawConn) stor(name string, data []byte) {
	c.t.Helper()
	d := c.pasv()
	c.expect("STOR "+name, 150)
	if _, err := d.Write(data); err != nil {
		c.t.Fatalf("STOR %s: write data: %v", name, err)
	}
	d.Close()
	if r := c.read(); r.Code != 226 {
		c.t.Fatalf("STOR %s: got %v after the data, want 226", name, r)
	}
}

// retr downloads name over a passive data connection and fails the test
// unless the server answers 150 then 226.
func (c *rawConn) retr(name string) []byte {
	c.t.Helper()
	return c.dataCmd("RETR " + name)
}

// dataCmd runs a command that sends data to the client (RETR, LIST,
// NLST, MLSD) over a passive data connection and returns the data. It
// fails the test unless the server answers 150 then 226.
func (c *rawConn) dataCmd(line string) []byte {
	c.t.Helper()
	d := c.pasv()
	c.expect(line, 150)
	data, err := io.ReadAll(d)
	if err != nil {
		c.t.Fatalf("%s: read data: %v", showCmd(line), err)
	}
	if r := c.read(); r.Code != 226 {
		c.t.Fatalf("%s: got %v after the data, want 226", showCmd(line), r)
	}
	return data
}

// showCmd hides the password of a PASS line in failure messages.
func showCmd(line string) string {
	if len(line) >= 5 && strings.EqualFold(line[:5], "PASS ") {
		return "PASS ****"
	}
	return fmt.Sprintf("%q", clip([]byte(line)))
}

func clip(b []byte) []byte {
	if len(b) > 200 {
		return append(b[:200:200], "..."...)
	}
	return b
}

// diskRead returns the content of a file on disk, failing the test if it
// cannot be read.
func diskRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// diskWrite writes a file on disk, failing the test on error.
func diskWrite(t testing.TB, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// onDisk reports whether name exists on disk (without following a final
// symbolic link).
func onDisk(name string) bool {
	_, err := os.Lstat(name)
	return err == nil
}

// waitUntil polls cond every 5ms until it holds or d passes, and reports
// whether it held.
func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// configure returns an ftptest option that sets fields of the ftp.Server
// before it starts: timeouts, limits, hooks.
func configure(f func(*ftp.Server)) ftptest.Option {
	return func(s *ftptest.Server) { f(s.FTP) }
}

// parkAfter configures how long logged-in sessions stay hot (on their
// goroutine) before they park; zero or less parks at once.
func parkAfter(d time.Duration) ftptest.Option {
	return configure(func(s *ftp.Server) { ftp.SetParkAfter(s, d) })
}

// loggedIn dials srv and logs in as ftptest.User.
func loggedIn(t testing.TB, srv *ftptest.Server) *rawConn {
	t.Helper()
	c := dialRaw(t, srv.Addr)
	c.login(ftptest.User, ftptest.Password)
	return c
}

// fixtureTime is the modification time makeTree gives every entry.
var fixtureTime = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

// makeTree creates files and directories under dir: a name ending in "/"
// is a directory, any other a file holding its value. Every entry gets
// fixtureTime as modification time.
func makeTree(t testing.TB, dir string, tree map[string]string) {
	t.Helper()
	names := make([]string, 0, len(tree))
	for name := range tree {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(dir, filepath.FromSlash(name))
		var err error
		if strings.HasSuffix(name, "/") {
			err = os.MkdirAll(p, 0o755)
		} else {
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				err = os.WriteFile(p, []byte(tree[name]), 0o644)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// Times last, deepest first, so that creating children does not
	// touch a parent's time again.
	for i := len(names) - 1; i >= 0; i-- {
		if err := os.Chtimes(filepath.Join(dir, filepath.FromSlash(names[i])), fixtureTime, fixtureTime); err != nil {
			t.Fatal(err)
		}
	}
}
