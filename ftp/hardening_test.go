package ftp_test

// Hostile input that the control and jail suites do not already cover:
// NUL bytes in every path command (the truncation trick), control bytes
// and escape sequences in names, backslashes and encoded traversals,
// symbolic-link loops of every shape, pipelined and parallel password
// guessing, a crowd of slowloris clients, and "STAT path" sent the moment
// a transfer has ended. Each test asserts what a client sees (exact
// replies) and what is on disk.
//
// Covered elsewhere, with exact assertions, and so not repeated here:
// overlong lines and Telnet escapes (TestLineReader, TestLongLineReply),
// invalid UTF-8 names (TestNonUTF8Names), "..", absolute paths and links
// out of the home (jail_test.go), PORT/EPRT bounce (TestDataActiveRefusals),
// a passive connection from another IP (TestDataForeignPassive), the
// per-session login limit, delay and per-IP ban (limits_test.go), one
// dripping client (TestIdleTimeout).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

// hzDirNames lists the names in a directory on disk, sorted.
func hzDirNames(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestHardenNULInPaths sends a NUL inside the argument of every command
// that takes a path ("a.txt\x00.jpg": a C library would see "a.txt"):
// each is refused with 501 before it reaches the filesystem, nothing is
// created, changed or removed, and the session goes on.
func TestHardenNULInPaths(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	makeTree(t, srv.Dir, map[string]string{"a.txt": "keep", "d/": ""})
	c := loggedIn(t, srv)
	const nul = "Syntax error: NUL byte in argument."
	for _, line := range []string{
		"CWD d\x00/../..", "XCWD d\x00", "MKD new\x00", "XMKD new\x00", "RMD d\x00", "XRMD d\x00",
		"DELE a.txt\x00.jpg", "RNFR a.txt\x00", "SIZE a.txt\x00.jpg", "MDTM a.txt\x00",
		"MDTM 20200101000000 a.txt\x00", "MFMT 20200101000000 a.txt\x00", "MLST a.txt\x00",
		"STAT a.txt\x00", "SITE CHMOD 777 a.txt\x00", "REST 1\x00", "TYPE I\x00", "OPTS MLST type;\x00",
		"USER user\x00", "PASS \x00", "HELP \x00",
	} {
		c.expectText(line, 501, nul)
	}
	// The data commands are refused before a data connection is used.
	for _, line := range []string{"RETR a.txt\x00.jpg", "STOR a.txt\x00.jpg", "STOR new.txt\x00", "APPE a.txt\x00", "STOU x\x00", "LIST d\x00", "NLST \x00", "MLSD d\x00"} {
		c.pasvAddr()
		c.expectText(line, 501, nul)
	}
	// A rename whose target has a NUL is refused too.
	c.expect("RNFR a.txt", 350)
	c.expectText("RNTO b.txt\x00", 501, nul)
	c.expect("NOOP", 200)
	if got := hzDirNames(t, srv.Dir); !slices.Equal(got, []string{"a.txt", "d"}) {
		t.Errorf("home holds %q, want only a.txt and d", got)
	}
	wantContent(t, srv.Dir, "a.txt", "keep")
}

// TestHardenControlBytesInNames checks that names holding control bytes,
// terminal escape sequences, blanks, glob characters or option-like dashes
// are stored byte for byte inside the home, can be listed, downloaded and
// removed, and that every reply naming them is one line.
func TestHardenControlBytesInNames(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	c := loggedIn(t, srv)
	names := []string{
		"ctl\x01\x02\x1f",
		"esc\x1b[31mred\x1b[0m",
		"bell\x07\x08\x7f",
		"tab\there",
		" leading and trailing ",
		"-rf",
		"--help",
		"star*q?[br]",
		"quote\"d",
		"percent%2e%2e%2f",
		"semi;colon;",
	}
	for _, name := range names {
		dir := name + ".d"
		r := c.expect("MKD "+dir, 257)
		if want := `"/` + strings.ReplaceAll(dir, `"`, `""`) + `" directory created.`; r.Text != want || r.Multi() {
			t.Errorf("MKD %q: reply %v, want one line %q", dir, r, want)
		}
		if !onDisk(filepath.Join(srv.Dir, dir)) {
			t.Fatalf("directory %q is not on disk", dir)
		}
		data := []byte("content of " + name)
		c.stor(name, data)
		if got := diskRead(t, filepath.Join(srv.Dir, name)); !bytes.Equal(got, data) {
			t.Errorf("%q on disk holds %q", name, got)
		}
		if got := c.retr(name); !bytes.Equal(got, data) {
			t.Errorf("RETR %q gave %q", name, got)
		}
		c.expectText("SIZE "+name, 213, fmt.Sprint(len(data)))
		if nlst := "\r\n" + string(c.dataCmd("NLST")); !strings.Contains(nlst, "\r\n"+name+"\r\n") {
			t.Errorf("NLST %q does not list %q on a line of its own", nlst, name)
		}
		c.expect("DELE "+name, 250)
		c.expect("RMD "+dir, 250)
		if got := hzDirNames(t, srv.Dir); len(got) != 0 {
			t.Errorf("after %q the home still holds %q", name, got)
		}
	}
}

// TestHardenBackslashesAndEncodings checks traversals written the way
// other systems and decoders would read them: backslashes, "..." and
// "~", URL encoding, overlong UTF-8 for "." and "/", full-width dots,
// drive letters. Each is an ordinary name inside the home: missing (550)
// or, when created, created there under exactly that name; nothing
// outside changes.
func TestHardenBackslashesAndEncodings(t *testing.T) {
	t.Parallel()
	j := newJail(t)
	out := filepath.Base(j.outside)
	c := loggedIn(t, j.srv)
	missing := []string{
		`..\..`,
		`..\` + out + `\secret.txt`,
		`sub\..\..\` + out,
		`\..\..\etc\passwd`,
		`C:\Windows\win.ini`,
		`\\?\C:\x`,
		`...`,
		`~`,
		`~root/.bashrc`,
		`%2e%2e%2f` + out,
		`..%2f..%2f` + out,
		`..%c0%af` + out,
		"\xc0\xae\xc0\xae",               // overlong UTF-8 ".."
		"\xc0\xae\xc0\xae\xc0\xaf" + out, // and "../"
		"\xe0\x80\xae\xe0\x80\xae/" + out,
		"\uff0e\uff0e/" + out, // full-width dots
		"..\u2215" + out,      // division slash
	}
	for _, name := range missing {
		for _, cmd := range []string{"CWD ", "SIZE ", "MLST ", "DELE "} {
			c.expectText(cmd+name, 550, "No such file or directory.")
		}
		c.expectText("SIZE "+name+"/secret.txt", 550, "No such file or directory.")
	}
	c.expectText("PWD", 257, `"/" is the current directory.`)
	for _, name := range missing {
		if name == "~root/.bashrc" || strings.Contains(name, "/") {
			continue // the parent is missing
		}
		c.expectText("MKD "+name, 257, `"/`+name+`" directory created.`)
		if fi, err := os.Stat(filepath.Join(j.home, name)); err != nil || !fi.IsDir() {
			t.Errorf("MKD %q: not a directory in the home (%v)", name, err)
		}
		c.expect("CWD "+name, 250)
		c.expectText("PWD", 257, `"/`+name+`" is the current directory.`)
		c.stor("f", []byte(name))
		wantContent(t, filepath.Join(j.home, name), "f", name)
		c.expect("CWD /", 250)
	}
	j.unchanged(t)
	if onDisk(filepath.Join(filepath.Dir(j.home), "f")) || onDisk(filepath.Join(j.outside, "f")) {
		t.Error("a file landed outside the home")
	}
}

// TestHardenSymlinkLoops checks links that never resolve: a link to
// itself inside a directory, two links to each other, a chain longer than
// os.Root follows (8; the kernel 40), and directory links that recurse (d/self -> .,
// d/up -> ..). Every command on them fails with 550 (or, for LIST and
// STAT, shows the link itself), nothing hangs, the links can still be
// renamed and deleted, and a chain short enough still resolves.
func TestHardenSymlinkLoops(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	home := srv.Dir
	makeTree(t, home, map[string]string{"target.txt": "t", "d/": "", "e/": ""})
	links := map[string]string{"a": "b", "b": "a", "e/self": "self", "d/self": ".", "d/up": ".."}
	const chain = 45 // c0 -> c1 -> ... -> c44 -> target.txt
	for i := range chain {
		next := fmt.Sprintf("c%d", i+1)
		if i == chain-1 {
			next = "target.txt"
		}
		links[fmt.Sprintf("c%d", i)] = next
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(home, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	const loopText = "Too many levels of symbolic links."
	c := loggedIn(t, srv)
	c.run([]step{
		{"CWD a", 550, loopText},
		{"CWD e/self", 550, loopText},
		{"SIZE a", 550, loopText},
		{"SIZE b/x", 550, loopText},
		{"MDTM e/self", 550, loopText},
		{"MLST a", 550, loopText},
		{"MKD a/x", 550, loopText},
		{"MKD e/self/x", 550, loopText},
		{"RMD a", 550, "Not a directory."},
		{"SITE CHMOD 600 a", 550, loopText},
		{"MFMT 20200101000000 a", 550, loopText},
		{"SIZE c0", 550, loopText},                 // 45 links: too many
		{"SIZE c" + fmt.Sprint(chain-8), 213, "1"}, // 8 links: followed
		{"CWD d/self/self/self/up/d/self", 250, `Directory changed to "/d/self/self/self/up/d/self".`},
		{"SIZE ../../target.txt", 213, "1"},
		{"CWD /d/" + strings.Repeat("self/", 50), 550, loopText}, // more than 40 links in one path
		{"PWD", 257, `"/d/self/self/self/up/d/self" is the current directory.`},
		{"CWD /", 250, ""},
	})
	for _, line := range []string{"RETR a", "RETR e/self", "MLSD a", "RETR c0"} {
		c.pasvAddr()
		c.expectText(line, 550, loopText)
	}
	for _, line := range []string{"STOR a", "STOR e/self", "APPE b"} {
		c.pasvAddr()
		c.expect(line, 550)
	}
	// A listing shows the link, not where it leads.
	if r := c.expect("STAT e/self", 213); len(r.Lines) != 3 || !strings.HasSuffix(r.Lines[1], " self -> self") {
		t.Errorf("STAT e/self = %v, want the link itself", r)
	}
	if got := string(c.dataCmd("LIST a")); !strings.HasPrefix(got, "lrwxrwxrwx") || !strings.HasSuffix(got, " a -> b\r\n") {
		t.Errorf("LIST a = %q, want the link itself", got)
	}
	// The links themselves can be handled.
	c.expect("RNFR a", 350)
	c.expect("RNTO a2", 250)
	c.run([]step{
		{"DELE a2", 250, ""},
		{"DELE e/self", 250, ""},
		{"SIZE b", 550, "No such file or directory."},
	})
	if onDisk(filepath.Join(home, "a")) || onDisk(filepath.Join(home, "a2")) || onDisk(filepath.Join(home, "e", "self")) {
		t.Error("deleted links are still on disk")
	}
	wantContent(t, home, "target.txt", "t")
}

// hzCountingAuth counts the password checks that reach the Authorizer.
type hzCountingAuth struct {
	ftp.Authorizer
	calls atomic.Int64
}

func (a *hzCountingAuth) Authenticate(ctx context.Context, user, pass string, remote net.Addr) (*ftp.Account, error) {
	a.calls.Add(1)
	return a.Authorizer.Authenticate(ctx, user, pass, remote)
}

// TestHardenPipelinedGuessing sends many USER/PASS pairs in one write, as
// a brute forcer would to beat the round trip: the failed-login delay
// still applies to each, the session ends after MaxLoginAttempts (the
// right password sent later in the same write is never checked), and the
// Authorizer sees exactly MaxLoginAttempts guesses.
func TestHardenPipelinedGuessing(t *testing.T) {
	t.Parallel()
	const delay = 100 * time.Millisecond
	auth := &hzCountingAuth{}
	srv := ftptest.NewServer(t, func(s *ftptest.Server) {
		auth.Authorizer = s.Users
		s.FTP.Auth = auth
		s.FTP.LoginFailDelay = delay
		s.FTP.MaxLoginAttempts = 3
		s.FTP.MaxLoginFailuresPerIP = -1
	})
	c := dialRaw(t, srv.Addr)
	var burst bytes.Buffer
	for _, pass := range []string{"guess1", "guess2", "guess3", ftptest.Password, "guess5"} {
		fmt.Fprintf(&burst, "USER %s\r\nPASS %s\r\n", ftptest.User, pass)
	}
	burst.WriteString("PWD\r\n")
	start := time.Now()
	c.sendBytes(burst.Bytes())
	for i := 1; i <= 3; i++ {
		if r := c.read(); r.Code != 331 {
			t.Fatalf("guess %d: USER got %v", i, r)
		}
		r := c.read()
		if r.Code != 530 {
			t.Fatalf("guess %d: PASS got %v, want 530", i, r)
		}
		if d := time.Since(start); d < time.Duration(i)*delay {
			t.Errorf("530 number %d came after %v, want at least %v", i, d, time.Duration(i)*delay)
		}
		if i == 3 && r.Text != "Login incorrect; too many failures, closing the connection." {
			t.Errorf("third 530: %v", r)
		}
	}
	if rest := c.expectClosed(); len(rest) != 0 {
		t.Errorf("replies after the session should have closed: %v", rest)
	}
	if n := auth.calls.Load(); n != 3 {
		t.Errorf("the Authorizer saw %d guesses, want 3", n)
	}
}

// TestHardenParallelGuessing has 40 connections from one address guess
// passwords at once, each pipelining 5 guesses: once the address has
// failed MaxLoginFailuresPerIP times, guesses no longer reach the
// Authorizer (only those already in flight do), the right password fails,
// and new connections are refused with 421. Another address is not
// affected.
func TestHardenParallelGuessing(t *testing.T) {
	t.Parallel()
	const (
		limit   = 10
		conns   = 40
		guesses = 5
	)
	auth := &hzCountingAuth{}
	srv := ftptest.NewServer(t, func(s *ftptest.Server) {
		auth.Authorizer = s.Users
		s.FTP.Auth = auth
		s.FTP.LoginFailDelay = -1
		s.FTP.MaxLoginAttempts = guesses + 2
		s.FTP.MaxLoginFailuresPerIP = limit
		s.FTP.LoginBanDuration = time.Minute // longer than the test
		s.FTP.MaxConnsPerIP = -1
	})
	var burst bytes.Buffer
	for i := range guesses {
		fmt.Fprintf(&burst, "USER %s\r\nPASS wrong%d\r\n", ftptest.User, i)
	}
	cs := make([]*rawConn, conns)
	for i := range cs {
		cs[i] = dialRaw(t, srv.Addr)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	var errs []error
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.conn.SetWriteDeadline(time.Now().Add(rawTimeout))
			if _, err := c.conn.Write(burst.Bytes()); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			for range 2 * guesses {
				r, err := c.readReply()
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					codes[r.Code]++
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d connections failed, first: %v", len(errs), errs[0])
	}
	if codes[331] != conns*guesses || codes[530] != conns*guesses {
		t.Errorf("replies %v, want %d of 331 and of 530", codes, conns*guesses)
	}
	// At most one guess per connection can be past the ban check when
	// the ban starts.
	if n := auth.calls.Load(); n < limit || n > limit+conns-1 {
		t.Errorf("the Authorizer saw %d of %d guesses, want between %d and %d", n, conns*guesses, limit, limit+conns-1)
	}
	cs[0].expect("USER "+ftptest.User, 331)
	cs[0].expectText("PASS "+ftptest.Password, 530, "Login incorrect.")
	nc := dialRawNoGreeting(t, srv.Addr)
	if r := nc.read(); r.Code != 421 || r.Text != "Too many failed logins from your address; try again later." {
		t.Errorf("new connection while banned: %v", r)
	}
	nc.expectClosed()
	other := dialRawFrom(t, srv.Addr, "127.0.0.2")
	if r := other.read(); r.Code != 220 {
		t.Fatalf("connection from 127.0.0.2: %v", r)
	}
	other.login(ftptest.User, ftptest.Password)
}

// TestHardenSlowlorisCrowd opens 60 connections that each send a byte of
// a command every idle/4 and never finish the line (before and after
// login): every one gets "421 Control connection timed out." and is
// closed soon after the idle timeout although bytes keep coming, while a
// normal client on the same address logs in and works promptly.
func TestHardenSlowlorisCrowd(t *testing.T) {
	t.Parallel()
	const (
		idle  = 400 * time.Millisecond
		crowd = 60
	)
	srv := ftptest.NewServer(t, configure(func(s *ftp.Server) {
		s.IdleTimeout = idle
		s.MaxConnsPerIP = -1
	}))
	type outcome struct {
		replies []reply
		closed  time.Duration // since the first byte; 0 if never
		err     error
	}
	results := make([]outcome, crowd)
	var wg sync.WaitGroup
	for i := range crowd {
		c := dialRaw(t, srv.Addr)
		if i%2 == 1 {
			c.login(ftptest.User, ftptest.Password)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			c.conn.SetDeadline(start.Add(10 * idle))
			done := make(chan struct{})
			go func() { // the reader
				defer close(done)
				for range 10 {
					r, err := c.readReply()
					if err != nil {
						if errors.Is(err, io.EOF) || isReset(err) {
							results[i].closed = time.Since(start)
						} else {
							results[i].err = err
						}
						return
					}
					results[i].replies = append(results[i].replies, r)
				}
			}()
			line := []byte("STAT /some/long/path/name")
		drip:
			for _, b := range line { // never the CRLF
				if _, err := c.conn.Write([]byte{b}); err != nil {
					break
				}
				select {
				case <-done:
					break drip
				case <-time.After(idle / 4):
				}
			}
			<-done
		}()
	}
	// A normal client is served promptly meanwhile.
	time.Sleep(idle / 2)
	start := time.Now()
	c := loggedIn(t, srv)
	c.expect("NOOP", 200)
	if d := time.Since(start); d > 2*idle {
		t.Errorf("a normal login among the slowloris crowd took %v", d)
	}
	wg.Wait()
	// Bounds with room for a loaded machine: a server that renewed its
	// deadline on every byte would keep them for the whole drip (more
	// than 6 idle periods) and close them an idle period after it.
	if d := time.Since(start); d > 4*idle {
		t.Errorf("the crowd was not closed %v after the normal login", d)
	}
	for i, res := range results {
		if res.err != nil {
			t.Errorf("slow client %d: %v", i, res.err)
			continue
		}
		if len(res.replies) != 1 || res.replies[0].Code != 421 || res.replies[0].Text != "Control connection timed out." {
			t.Errorf("slow client %d got %v, want only 421 Control connection timed out.", i, res.replies)
		}
		if res.closed == 0 || res.closed > 4*idle {
			t.Errorf("slow client %d closed after %v, want within %v", i, res.closed, 4*idle)
		}
	}
}

// TestHardenSTATRightAfterTransfer sends "STAT path" as soon as a
// transfer's 226 has arrived, many times: the transfer is over for the
// client, so the reply must be the listing (213), never "450 A transfer
// is in progress".
func TestHardenSTATRightAfterTransfer(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	makeTree(t, srv.Dir, map[string]string{"f": "x"})
	c := loggedIn(t, srv)
	const rounds = 200
	busy := 0
	for range rounds {
		c.dataCmd("NLST")
		switch r := c.cmd("STAT f"); r.Code {
		case 213:
		case 450:
			busy++
		default:
			t.Fatalf("STAT f right after a transfer: %v", r)
		}
	}
	if busy > 0 {
		t.Errorf("%d of %d \"STAT path\" sent right after a transfer's 226 got \"450 A transfer is in progress\"", busy, rounds)
	}
}
