package ftp_test

// End-to-end tests of the control connection: every command of the
// engine's control half with its exact replies, in success and failure,
// the line reader (terminators, Telnet, length cap, garbage), and names
// that are not UTF-8.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

// step is one command and the reply it must get. An empty text accepts
// any text; a text starting with "~" needs only to contain the rest.
type step struct {
	line string
	code int
	text string
}

// run sends each step and checks its reply. After every reply but 221,
// 421 and an accepted RNFR (RNTO must come right after it) it checks with
// NOOP that the session is still usable.
func (c *rawConn) run(steps []step) {
	c.t.Helper()
	for _, s := range steps {
		r := c.cmd(s.line)
		if r.Code != s.code || !textMatches(r.Text, s.text) {
			c.t.Fatalf("%s: got %v, want %d %s", showCmd(s.line), r, s.code, s.text)
		}
		if s.code != 221 && s.code != 421 && s.code != 350 {
			if r := c.cmd("NOOP"); r.Code != 200 {
				c.t.Fatalf("NOOP after %s: got %v, want 200", showCmd(s.line), r)
			}
		}
	}
}

func textMatches(got, want string) bool {
	if rest, ok := strings.CutPrefix(want, "~"); ok {
		return strings.Contains(got, rest)
	}
	return want == "" || got == want
}

// controlTree is the tree each command case starts from.
var controlTree = map[string]string{
	"f":            "hello",
	"g":            "other",
	"d/":           "",
	"full/x":       "x",
	"sub/deep/":    "",
	"sub/file.txt": "sub file",
}

func TestCommands(t *testing.T) {
	const modTime = "20200102030405" // fixtureTime
	tests := []struct {
		name  string
		anon  bool // log in as anonymous instead of ftptest.User
		steps []step
		check func(t *testing.T, dir string)
	}{
		{name: "SYST", steps: []step{{"SYST", 215, "UNIX Type: L8"}}},
		{name: "NOOP", steps: []step{{"NOOP", 200, ""}, {"noop", 200, ""}}},
		{name: "ACCT not implemented", steps: []step{{"ACCT x", 502, ""}}},
		{name: "SMNT not implemented", steps: []step{{"SMNT /d", 502, ""}}},
		{name: "ALLO", steps: []step{{"ALLO 1000", 202, ""}, {"ALLO 10 R 5", 202, ""}}},
		{name: "TYPE", steps: []step{
			{"TYPE A", 200, "Type set to A (ASCII)."},
			{"TYPE a", 200, "Type set to A (ASCII)."},
			{"TYPE A N", 200, "Type set to A (ASCII)."},
			{"TYPE I", 200, "Type set to I (binary)."},
			{"TYPE i", 200, "Type set to I (binary)."},
			{"TYPE L 8", 200, "Type set to I (binary)."},
			{"TYPE L8", 200, "Type set to I (binary)."},
			{"TYPE A T", 504, ""},
			{"TYPE A C", 504, ""},
			{"TYPE L 7", 504, ""},
			{"TYPE L7", 504, ""},
			{"TYPE E", 504, ""},
			{"TYPE X", 501, ""},
			{"TYPE I X", 501, ""},
		}},
		{name: "MODE", steps: []step{
			{"MODE S", 200, ""}, {"MODE s", 200, ""},
			{"MODE B", 504, ""}, {"MODE C", 504, ""}, {"MODE Z", 504, ""},
			{"MODE X", 501, ""},
		}},
		{name: "STRU", steps: []step{
			{"STRU F", 200, ""}, {"STRU f", 200, ""},
			{"STRU R", 504, ""}, {"STRU P", 504, ""},
			{"STRU X", 501, ""},
		}},
		{name: "PWD", steps: []step{
			{"PWD", 257, `"/" is the current directory.`},
			{"XPWD", 257, `"/" is the current directory.`},
		}},
		{name: "CWD and CDUP", steps: []step{
			{"CWD sub", 250, `Directory changed to "/sub".`},
			{"PWD", 257, `"/sub" is the current directory.`},
			{"CWD deep", 250, `Directory changed to "/sub/deep".`},
			{"CDUP", 250, `Directory changed to "/sub".`},
			{"XCWD /sub/deep", 250, `Directory changed to "/sub/deep".`},
			{"XCUP", 250, `Directory changed to "/sub".`},
			{"CWD ../d", 250, `Directory changed to "/d".`},
			{"CWD", 250, `Directory changed to "/".`}, // CWD alone goes home
			{"CDUP", 250, `Directory changed to "/".`},
			{"CWD ..", 250, `Directory changed to "/".`},
			{"CWD sub/", 250, `Directory changed to "/sub".`},
			{"CWD //sub//deep/.", 250, `Directory changed to "/sub/deep".`},
		}},
		{name: "CWD failures", steps: []step{
			{"CWD nope", 550, "No such file or directory."},
			{"CWD f", 550, "Not a directory."},
			{"XCWD f/x", 550, ""},
			{"PWD", 257, `"/" is the current directory.`},
		}},
		{name: "MKD", steps: []step{
			{"MKD new", 257, `"/new" directory created.`},
			{"XMKD /sub/new2", 257, `"/sub/new2" directory created.`},
			{"CWD sub", 250, ""},
			{"MKD rel", 257, `"/sub/rel" directory created.`},
			{"MKD ../top", 257, `"/top" directory created.`},
		}, check: func(t *testing.T, dir string) {
			for _, d := range []string{"new", "sub/new2", "sub/rel", "top"} {
				if fi, err := os.Stat(filepath.Join(dir, d)); err != nil || !fi.IsDir() {
					t.Errorf("%s is not a directory on disk: %v", d, err)
				}
			}
		}},
		{name: "MKD failures", steps: []step{
			{"MKD d", 550, "File exists."},
			{"MKD f", 550, "File exists."},
			{"MKD /", 550, ""},
			{"MKD nope/x", 550, "No such file or directory."},
			{"MKD f/x", 550, ""},
		}},
		{name: "MKD and PWD quote double quotes", steps: []step{
			{`MKD a"b`, 257, `"/a""b" directory created.`},
			{`CWD a"b`, 250, `Directory changed to "/a""b".`},
			{"PWD", 257, `"/a""b" is the current directory.`},
			{`MKD ""c""`, 257, `"/a""b/""""c""""" directory created.`},
		}, check: func(t *testing.T, dir string) {
			if !onDisk(filepath.Join(dir, `a"b`, `""c""`)) {
				t.Errorf(`a"b/""c"" not created`)
			}
		}},
		{name: "RMD", steps: []step{
			{"RMD d", 250, "Directory removed."},
			{"XRMD /sub/deep", 250, "Directory removed."},
		}, check: func(t *testing.T, dir string) {
			if onDisk(filepath.Join(dir, "d")) || onDisk(filepath.Join(dir, "sub/deep")) {
				t.Error("RMD left the directory on disk")
			}
		}},
		{name: "RMD failures", steps: []step{
			{"RMD full", 550, "Directory not empty."},
			{"RMD f", 550, "Not a directory."},
			{"RMD nope", 550, "No such file or directory."},
			{"RMD /", 550, ""},
			{"RMD ..", 550, ""},
		}, check: func(t *testing.T, dir string) {
			if !onDisk(filepath.Join(dir, "full/x")) || !onDisk(filepath.Join(dir, "f")) {
				t.Error("a failed RMD removed something")
			}
		}},
		{name: "DELE", steps: []step{
			{"DELE f", 250, "File deleted."},
			{"DELE /sub/file.txt", 250, "File deleted."},
			{"DELE f", 550, "No such file or directory."},
			{"DELE d", 550, ""},
		}, check: func(t *testing.T, dir string) {
			if onDisk(filepath.Join(dir, "f")) || onDisk(filepath.Join(dir, "sub/file.txt")) {
				t.Error("DELE left the file on disk")
			}
			if !onDisk(filepath.Join(dir, "d")) {
				t.Error("DELE removed a directory")
			}
		}},
		{name: "RNFR and RNTO", steps: []step{
			{"RNFR f", 350, ""},
			{"RNTO moved", 250, ""},
			{"RNFR d", 350, ""},
			{"RNTO /sub/d2", 250, ""},
			{"RNFR moved", 350, ""},
			{"RNTO moved", 250, ""}, // to itself
		}, check: func(t *testing.T, dir string) {
			if got := diskRead(t, filepath.Join(dir, "moved")); string(got) != "hello" {
				t.Errorf("moved holds %q", got)
			}
			if onDisk(filepath.Join(dir, "f")) || onDisk(filepath.Join(dir, "d")) || !onDisk(filepath.Join(dir, "sub/d2")) {
				t.Error("rename did not move the entries")
			}
		}},
		{name: "RNTO replaces a file", steps: []step{
			{"RNFR f", 350, ""},
			{"RNTO g", 250, ""},
		}, check: func(t *testing.T, dir string) {
			if got := diskRead(t, filepath.Join(dir, "g")); string(got) != "hello" {
				t.Errorf("g holds %q, want the renamed file's content", got)
			}
		}},
		{name: "RNFR and RNTO failures", steps: []step{
			{"RNTO x", 503, "Bad sequence of commands: send RNFR first."},
			{"RNFR nope", 550, "No such file or directory."},
			{"RNTO x", 503, ""}, // a failed RNFR leaves nothing to rename
			{"RNFR /", 550, ""},
			{"RNFR f", 350, ""},
			{"RNTO d", 550, "Destination exists and is a directory."},
			{"RNTO x", 503, ""}, // RNTO consumed the RNFR even though it failed
			{"RNFR f", 350, ""},
			{"RNTO /", 550, ""},
			{"RNFR sub", 350, ""},
			{"RNTO sub/deep/sub", 553, ""}, // into itself
			{"RNFR f", 350, ""},
			{"RNTO nope/f", 550, "No such file or directory."},
			{"RNFR f", 350, ""},
			{"NOOP", 200, ""},
			{"RNTO g2", 503, ""}, // RNTO must come right after RNFR
		}, check: func(t *testing.T, dir string) {
			if !onDisk(filepath.Join(dir, "f")) || !onDisk(filepath.Join(dir, "sub/deep")) {
				t.Error("a failed rename moved something")
			}
		}},
		{name: "SIZE", steps: []step{
			{"SIZE f", 213, "5"},
			{"SIZE /sub/file.txt", 213, "8"},
			{"SIZE d", 550, ""},
			{"SIZE nope", 550, "No such file or directory."},
			{"TYPE A", 200, ""},
			{"SIZE f", 550, ""}, // would need a scan in ASCII mode
			{"TYPE I", 200, ""},
			{"SIZE f", 213, "5"},
		}},
		{name: "MDTM", steps: []step{
			{"MDTM f", 213, modTime},
			{"MDTM /sub/file.txt", 213, modTime},
			{"MDTM nope", 550, "No such file or directory."},
		}},
		{name: "MDTM sets the time with two arguments", steps: []step{
			{"MDTM 20210304050607 f", 213, "Modify=20210304050607; /f"},
			{"MDTM f", 213, "20210304050607"},
			{"MDTM 20210304050607 nope", 550, ""},
		}, check: func(t *testing.T, dir string) {
			fi, err := os.Stat(filepath.Join(dir, "f"))
			if err != nil || !fi.ModTime().Equal(time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)) {
				t.Errorf("mtime on disk = %v, %v", fi.ModTime(), err)
			}
		}},
		{name: "MFMT", steps: []step{
			{"MFMT 20210304050607 f", 213, "Modify=20210304050607; /f"},
			{"MFMT 19991231235959 sub/file.txt", 213, "Modify=19991231235959; /sub/file.txt"},
			{"MDTM f", 213, "20210304050607"},
			{"MFMT 20210304050607 nope", 550, ""},
			{"MFMT 2021030405060 f", 501, ""},
			{"MFMT 20211304050607 f", 501, ""},
			{"MFMT notatime f", 501, ""},
			{"MFMT 20210304050607", 501, ""},
		}, check: func(t *testing.T, dir string) {
			fi, err := os.Stat(filepath.Join(dir, "f"))
			if err != nil || !fi.ModTime().Equal(time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)) {
				t.Errorf("mtime on disk = %v, %v", fi.ModTime(), err)
			}
		}},
		{name: "SITE CHMOD", steps: []step{
			{"SITE CHMOD 600 f", 200, ""},
			{"site chmod 0751 d", 200, ""},
			{"SITE CHMOD 999 f", 501, ""},
			{"SITE CHMOD -177 f", 501, ""},
			{"SITE CHMOD 778 f", 501, ""},
			{"SITE CHMOD foo f", 501, ""},
			{"SITE CHMOD 17777 f", 501, ""},
			{"SITE CHMOD 755", 501, ""},
			{"SITE CHMOD 755 nope", 550, ""},
			{"SITE CHMOD 4755 f", 550, "Setuid, setgid and sticky bits cannot be set."},
			{"SITE CHMOD 2755 d", 550, "Setuid, setgid and sticky bits cannot be set."},
			{"SITE CHMOD 1777 d", 550, "Setuid, setgid and sticky bits cannot be set."},
		}, check: func(t *testing.T, dir string) {
			for name, want := range map[string]fs.FileMode{"f": 0o600, "d": 0o751} {
				if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != want {
					t.Errorf("mode of %s = %v, %v; want %v", name, fi.Mode().Perm(), err, want)
				}
			}
		}},
		{name: "SITE", steps: []step{
			{"SITE BOGUS", 500, ""},
			{"SITE  HELP", 214, "Help OK."},
			{"SITE HELP CHMOD", 214, "Syntax: SITE CHMOD <sp> mode <sp> pathname"},
			{"SITE HELP BOGUS", 501, ""},
		}},
		{name: "OPTS", steps: []step{
			{"OPTS UTF8 ON", 200, ""},
			{"OPTS utf8 on", 200, ""},
			{"OPTS UTF8", 200, ""},
			{"OPTS UTF8 OFF", 200, ""},
			{"OPTS UTF8 MAYBE", 501, ""},
			{"OPTS BOGUS", 501, ""},
			{"OPTS MLST type;size;", 200, "MLST OPTS type;size;"},
			{"OPTS MLST Size;TYPE;bogus;", 200, "MLST OPTS type;size;"},
			{"OPTS MLST", 200, "MLST OPTS"},
		}},
		{name: "STAT of files", steps: []step{
			{"STAT f", 213, "End of status."},
			{"STAT /sub", 212, "End of status."},
			{"STAT nope", 550, ""},
		}},
		{name: "HELP", steps: []step{
			{"HELP cwd", 214, "Syntax: CWD [<sp> pathname]"},
			{"HELP MFMT", 214, "Syntax: MFMT <sp> YYYYMMDDHHMMSS <sp> pathname"},
			{"HELP BOGUS", 501, ""},
		}},
		{name: "REIN", steps: []step{
			{"CWD sub", 250, ""},
			{"REIN", 220, ""},
			{"PWD", 530, ""},
			{"USER " + ftptest.User, 331, ""},
			{"PASS " + ftptest.Password, 230, ""},
			{"PWD", 257, `"/" is the current directory.`},
		}},
		{name: "USER again logs out", steps: []step{
			{"USER " + ftptest.User, 331, ""},
			{"PWD", 530, ""},
			{"PASS " + ftptest.Password, 230, ""},
			{"PASS " + ftptest.Password, 503, ""},
		}},
		{name: "USER trims blanks, PASS does not", steps: []step{
			{"USER   " + ftptest.User + "  ", 331, ""},
			{"PASS " + ftptest.Password + " ", 530, ""},
			{"USER  " + ftptest.User, 331, ""},
			{"PASS " + ftptest.Password, 230, ""},
			{"USER   ", 501, ""},
			{"PWD  ", 530, ""}, // the failed USER still logged the user out
		}},
		{name: "anonymous", anon: true, steps: []step{
			{"PWD", 257, ""},
			{"SIZE f", 213, "5"},
			{"MKD x", 550, "Permission denied."},
			{"DELE f", 550, "Permission denied."},
		}},
		{name: "unknown and empty commands", steps: []step{
			{"BOGUS", 500, `Unknown command "BOGUS".`},
			{"bogus arg", 500, `Unknown command "BOGUS".`},
			{"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", 500, `Unknown command "XXXXXXXXXXXXXXXX...".`},
			{"", 500, ""},
			{"   ", 500, ""},
		}},
		{name: "NUL byte in argument", steps: []step{
			{"CWD d\x00x", 501, ""},
			{"MKD a\x00b", 501, ""},
		}},
		{name: "QUIT", steps: []step{{"QUIT", 221, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := ftptest.NewServer(t)
			makeTree(t, srv.Dir, controlTree)
			c := dialRaw(t, srv.Addr)
			if tt.anon {
				c.login("anonymous", "me@example.com")
			} else {
				c.login(ftptest.User, ftptest.Password)
			}
			c.run(tt.steps)
			if tt.check != nil {
				tt.check(t, srv.Dir)
			}
		})
	}
}

// allVerbs are the commands the engine implements.
var allVerbs = strings.Fields(`ABOR ACCT ALLO APPE AUTH CCC CDUP CWD DELE EPRT EPSV FEAT HELP LIST MDTM
	MFMT MKD MLSD MLST MODE NLST NOOP OPTS PASS PASV PBSZ PORT PROT PWD QUIT REIN REST RETR RMD RNFR RNTO
	SITE SIZE SMNT STAT STOR STOU STRU SYST TYPE USER XCUP XCWD XMKD XPWD XRMD`)

// Commands that need an argument, and commands that take none.
var (
	argVerbs   = strings.Fields("USER ACCT SMNT MKD XMKD RMD XRMD DELE RNFR RNTO SIZE MDTM MFMT SITE TYPE MODE STRU ALLO REST PORT EPRT RETR STOR APPE OPTS AUTH PBSZ PROT")
	noArgVerbs = strings.Fields("REIN QUIT CDUP XCUP PWD XPWD PASV ABOR SYST NOOP FEAT CCC")
)

func TestArgumentRules(t *testing.T) {
	srv := ftptest.NewServer(t)
	c := loggedIn(t, srv)
	for _, v := range argVerbs {
		c.run([]step{
			{v, 501, "Syntax error: " + v + " needs an argument."},
			{strings.ToLower(v) + " ", 501, "Syntax error: " + v + " needs an argument."},
		})
	}
	for _, v := range noArgVerbs {
		c.run([]step{{v + " x", 501, "Syntax error: " + v + " takes no argument."}})
	}
	c.expect("PWD", 257) // still logged in, nothing was run
}

func TestBeforeLogin(t *testing.T) {
	// Commands that work before login, and their replies.
	allowed := []step{
		{"SYST", 215, ""},
		{"NOOP", 200, ""},
		{"HELP", 214, "Help OK."},
		{"HELP USER", 214, ""},
		{"FEAT", 211, "End"},
		{"STAT", 211, "End of status."},
		{"SITE HELP", 214, "Help OK."},
		{"OPTS UTF8 ON", 200, ""},
		{"ACCT x", 502, ""},
		{"PASS x", 503, "Login with USER first."},
		{"REIN", 220, ""},
	}
	// Everything else needs a login: 530, and nothing happens.
	denied := []string{
		"CWD d", "XCWD d", "CDUP", "XCUP", "PWD", "XPWD", "MKD x", "XMKD x", "RMD d", "XRMD d",
		"DELE f", "RNFR f", "RNTO g", "SIZE f", "MDTM f", "MDTM 20200101000000 f", "MFMT 20200101000000 f",
		"TYPE I", "MODE S", "STRU F", "ALLO 1", "REST 0", "PASV", "EPSV", "PORT 127,0,0,1,4,1",
		"EPRT |1|127.0.0.1|1025|", "RETR f", "STOR x", "APPE f", "STOU", "ABOR", "LIST", "NLST", "MLSD",
		"MLST f", "SMNT /", "STAT /", "STAT f", "SITE CHMOD 777 f", "cdup x",
	}
	srv := ftptest.NewServer(t)
	makeTree(t, srv.Dir, controlTree)
	c := dialRaw(t, srv.Addr)
	c.run(allowed)
	for _, line := range denied {
		c.run([]step{{line, 530, "Please log in with USER and PASS first."}})
	}
	// After USER, until PASS, still not logged in.
	c.expect("USER "+ftptest.User, 331)
	c.run([]step{{"STAT", 211, ""}})
	c.run([]step{{"PWD", 530, ""}})
	if !onDisk(filepath.Join(srv.Dir, "f")) || onDisk(filepath.Join(srv.Dir, "x")) {
		t.Error("a command before login changed the disk")
	}
	c.expect("QUIT", 221)
	c.expectClosed()
}

func TestHELPListsEveryCommand(t *testing.T) {
	srv := ftptest.NewServer(t)
	c := loggedIn(t, srv)
	r := c.expect("HELP", 214)
	if !r.Multi() || !strings.HasPrefix(r.Lines[0], "214-") || r.Lines[len(r.Lines)-1] != "214 Help OK." {
		t.Fatalf("HELP is not a multi-line 214 reply: %v", r)
	}
	var listed []string
	for _, l := range r.Lines[1 : len(r.Lines)-1] {
		if !strings.HasPrefix(l, " ") {
			t.Errorf("HELP line %q does not start with a space", l)
		}
		listed = append(listed, strings.Fields(l)...)
	}
	slices.Sort(listed)
	if !slices.Equal(listed, allVerbs) {
		t.Errorf("HELP lists %v\nwant %v", listed, allVerbs)
	}
	for _, v := range listed {
		if r := c.cmd("HELP " + v); r.Code != 214 || !strings.HasPrefix(r.Text, "Syntax: "+v) {
			t.Errorf("HELP %s = %v", v, r)
		}
	}
	r = c.expect("SITE HELP", 214)
	if r.Full() != "214-The following SITE commands are recognized:\n CHMOD\n HELP\n214 Help OK." {
		t.Errorf("SITE HELP = %v", r)
	}
}

func TestFEAT(t *testing.T) {
	want := []string{
		"211-Features:",
		" EPRT",
		" EPSV",
		" MDTM",
		" MFMT",
		" MLST type*;size*;modify*;perm*;unique*;UNIX.mode*;",
		" REST STREAM",
		" SIZE",
		" TVFS",
		" UTF8",
		"211 End",
	}
	srv := ftptest.NewServer(t)
	c := dialRaw(t, srv.Addr)
	if r := c.expect("FEAT", 211); !slices.Equal(r.Lines, want) {
		t.Errorf("FEAT before login =\n%s\nwant\n%s", r.Full(), strings.Join(want, "\n"))
	}
	c.login(ftptest.User, ftptest.Password)
	c.expectText("OPTS MLST type;modify;", 200, "MLST OPTS type;modify;")
	r := c.expect("FEAT", 211)
	if !slices.Contains(r.Lines, " MLST type*;size;modify*;perm;unique;UNIX.mode;") {
		t.Errorf("FEAT after OPTS MLST does not mark the chosen facts: %v", r)
	}
	// Every feature is a command that works.
	makeTree(t, srv.Dir, map[string]string{"f": "x"})
	c.run([]step{
		{"MDTM f", 213, ""}, {"MFMT 20200101000000 f", 213, ""}, {"SIZE f", 213, ""},
		{"REST 0", 350, ""}, {"OPTS UTF8 ON", 200, ""}, {"MLST f", 250, ""},
		{"EPRT |1|127.0.0.1|65000|", 200, ""}, {"EPSV", 229, ""},
	})
}

func TestFEATWithTLS(t *testing.T) {
	srv := ftptest.NewServer(t, configure(func(s *ftp.Server) { s.TLSConfig = ctlTLSConfig(t) }))
	c := dialRaw(t, srv.Addr)
	r := c.expect("FEAT", 211)
	for _, f := range []string{" AUTH TLS", " PBSZ", " PROT"} {
		if !slices.Contains(r.Lines, f) {
			t.Errorf("FEAT with a TLSConfig lacks %q: %v", f, r)
		}
	}
}

func TestMLSTReply(t *testing.T) {
	srv := ftptest.NewServer(t)
	makeTree(t, srv.Dir, map[string]string{"f": "hello", "d/": ""})
	c := loggedIn(t, srv)
	c.expect("OPTS MLST type;size;modify;", 200)
	r := c.expect("MLST f", 250)
	want := "250-Listing /f\n type=file;size=5;modify=20200102030405; /f\n250 End."
	if r.Full() != want {
		t.Errorf("MLST f =\n%s\nwant\n%s", r.Full(), want)
	}
	c.expect("OPTS MLST type;", 200)
	if r := c.expect("MLST /d", 250); r.Lines[1] != " type=dir; /d" {
		t.Errorf("MLST /d = %v", r)
	}
	c.expect("OPTS MLST", 200)
	if r := c.expect("MLST", 250); r.Lines[1] != "  /" {
		t.Errorf("MLST with no facts = %v, want a line of two spaces and /", r)
	}
}

func TestSTATServerStatus(t *testing.T) {
	srv := ftptest.NewServer(t)
	c := dialRaw(t, srv.Addr)
	r := c.expect("STAT", 211)
	if !r.Multi() || r.Lines[0] != "211-FTP server status:" || r.Text != "End of status." {
		t.Fatalf("STAT = %v", r)
	}
	if !strings.Contains(r.Full(), "Not logged in") || !strings.Contains(r.Full(), "from "+c.conn.LocalAddr().String()) {
		t.Errorf("STAT before login = %v", r)
	}
	c.expect("USER "+ftptest.User, 331)
	if r := c.expect("STAT", 211); !strings.Contains(r.Full(), "Waiting for password") {
		t.Errorf("STAT after USER = %v", r)
	}
	c.expect("PASS "+ftptest.Password, 230)
	c.expect("TYPE A", 200)
	r = c.expect("STAT", 211)
	for _, want := range []string{"Logged in as user", "TYPE: ASCII", "No data connection"} {
		if !strings.Contains(r.Full(), want) {
			t.Errorf("STAT after login lacks %q: %v", want, r)
		}
	}
}

func TestSTATPath(t *testing.T) {
	srv := ftptest.NewServer(t)
	makeTree(t, srv.Dir, map[string]string{"f": "hello", "d/a": "1", "d/b": "22"})
	c := loggedIn(t, srv)
	r := c.expect("STAT f", 213)
	if len(r.Lines) != 3 || r.Lines[0] != "213-Status of /f:" || !strings.HasPrefix(r.Lines[1], " -rw-r--r--") || !strings.HasSuffix(r.Lines[1], " 5 Jan  2  2020 f") {
		t.Errorf("STAT f = %v", r)
	}
	r = c.expect("STAT d", 212)
	if len(r.Lines) != 4 || !strings.HasSuffix(r.Lines[1], " a") || !strings.HasSuffix(r.Lines[2], " b") {
		t.Errorf("STAT d = %v", r)
	}
}

func TestQUIT(t *testing.T) {
	srv := ftptest.NewServer(t)
	for _, login := range []bool{false, true} {
		c := dialRaw(t, srv.Addr)
		if login {
			c.login(ftptest.User, ftptest.Password)
		}
		c.expectText("QUIT", 221, "Goodbye.")
		if extra := c.expectClosed(); len(extra) != 0 {
			t.Errorf("replies after 221: %v", extra)
		}
	}
}

// TestLineReader checks how command lines are read: terminators,
// pipelining, case, Telnet commands, the length cap and garbage. After
// each the session must still work.
func TestLineReader(t *testing.T) {
	const maxLine = 4096 // the cap, CRLF included
	tests := []struct {
		name  string
		in    []string // written one after the other
		codes []int    // the replies, in order
	}{
		{"CRLF", []string{"NOOP\r\n"}, []int{200}},
		{"bare LF", []string{"NOOP\n"}, []int{200}},
		{"lower case", []string{"syst\r\n"}, []int{215}},
		{"mixed case", []string{"SySt\r\n"}, []int{215}},
		{"pipelined", []string{"NOOP\r\nSYST\nPWD\r\n"}, []int{200, 215, 257}},
		{"split across writes", []string{"NO", "OP", "\r", "\n"}, []int{200}},
		{"leading blanks", []string{"  NOOP\r\n"}, []int{200}},
		{"empty line", []string{"\r\n", "\n"}, []int{500, 500}},
		{"garbage", []string{"\x00\x01\x02\x80\xfe\r\n"}, []int{500}},
		{"binary junk", []string{"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n"}, []int{500}},
		{"CR alone is not a terminator", []string{"NOOP\rSYST\r\n"}, []int{500}},
		{"Telnet IP and DM before ABOR", []string{"\xff\xf4\xff\xf2ABOR\r\n"}, []int{225}},
		{"Telnet IP before ABOR, DM out of band", []string{"\xff\xf4\xff", "ABOR\r\n"}, []int{225}},
		{"Telnet option negotiation", []string{"\xff\xfb\x01\xff\xfd\x03NOOP\r\n"}, []int{200}},
		{"Telnet NOP inside the verb", []string{"SY\xff\xf1ST\r\n"}, []int{215}},
		{"longest line", []string{"NOOP " + strings.Repeat("x", maxLine-7) + "\r\n"}, []int{501}},
		{"line one byte too long", []string{"NOOP " + strings.Repeat("x", maxLine-6) + "\r\n"}, []int{500}},
		{"long line in pieces", []string{"NOOP ", strings.Repeat("x", 3000), strings.Repeat("y", 3000), "\r\n"}, []int{500}},
		{"1 MiB line", []string{strings.Repeat("A", 1<<20) + "\r\n"}, []int{500}},
		{"long line then command in one write", []string{strings.Repeat("A", 5000) + "\r\nSYST\r\n"}, []int{500, 215}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := ftptest.NewServer(t)
			c := loggedIn(t, srv)
			for i, chunk := range tt.in {
				c.sendBytes([]byte(chunk))
				if i < len(tt.in)-1 {
					time.Sleep(2 * time.Millisecond) // let the pieces arrive apart
				}
			}
			for i, want := range tt.codes {
				r := c.read()
				if r.Code != want {
					t.Fatalf("reply %d: got %v, want %d", i, r, want)
				}
				for _, b := range []byte(r.Full()) {
					if b < ' ' && b != '\n' || b == 0x7f {
						t.Errorf("reply %v holds a control byte", r)
						break
					}
				}
			}
			c.expectSilence(20 * time.Millisecond)
			c.expect("NOOP", 200)
			c.expect("PWD", 257)
		})
	}
}

// TestLongLineReply checks the text of the reply to an overlong line.
func TestLongLineReply(t *testing.T) {
	srv := ftptest.NewServer(t)
	c := dialRaw(t, srv.Addr)
	c.expectText(strings.Repeat("a", 5000), 500, "Command line too long.")
	c.login(ftptest.User, ftptest.Password) // still works before login too
}

// TestNonUTF8Names checks that names are bytes: a Latin-1 name made with
// MKD and STOR appears byte-exact on disk and in replies and listings.
func TestNonUTF8Names(t *testing.T) {
	srv := ftptest.NewServer(t)
	c := loggedIn(t, srv)
	const dir, file = "caf\xe9", "r\xe9sum\xe9.txt" // "café", "résumé.txt" in Latin-1
	c.expectText("MKD "+dir, 257, `"/`+dir+`" directory created.`)
	c.expectText("CWD "+dir, 250, `Directory changed to "/`+dir+`".`)
	c.expectText("PWD", 257, `"/`+dir+`" is the current directory.`)
	c.stor(file, []byte("latin-1 \xe9\n"))
	if got := diskRead(t, filepath.Join(srv.Dir, dir, file)); string(got) != "latin-1 \xe9\n" {
		t.Errorf("file content on disk = %q", got)
	}
	c.expectText("SIZE "+file, 213, "10")
	if got := string(c.dataCmd("NLST")); got != file+"\r\n" {
		t.Errorf("NLST = %q, want %q", got, file+"\r\n")
	}
	if got := c.retr("/" + dir + "/" + file); string(got) != "latin-1 \xe9\n" {
		t.Errorf("RETR = %q", got)
	}
	// 0xFF is sent doubled (Telnet IAC IAC) and stored as one byte.
	c.expectText("MKD y\xff\xff", 257, `"/`+dir+`/y`+"\xff"+`" directory created.`)
	c.expect("RNFR "+file, 350)
	c.expect("RNTO \xe0\xff\xff\x80", 250)
	entries, err := os.ReadDir(filepath.Join(srv.Dir, dir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"y\xff", "\xe0\xff\x80"}; !slices.Equal(names, want) {
		t.Errorf("names on disk = %q, want %q", names, want)
	}
	// Invalid UTF-8 of every kind, and a CR, in one name.
	weird := "\x80\xc3(\xed\xa0\x80\xf8\x88\x80\x80\x80 a\rb"
	r := c.expect("MKD "+weird, 257)
	if want := `"/` + dir + "/\x80\xc3(\xed\xa0\x80\xf8\x88\x80\x80\x80 a\r\x00b" + `" directory created.`; r.Text != want {
		t.Errorf("MKD reply = %q, want %q (CR sent as CR NUL)", r.Text, want)
	}
	if !onDisk(filepath.Join(srv.Dir, dir, weird)) {
		t.Errorf("%q not on disk", weird)
	}
}

// TestSessionsAreIndependent checks that the state of one session (working
// directory, type, rename) does not leak into another.
func TestSessionsAreIndependent(t *testing.T) {
	srv := ftptest.NewServer(t)
	makeTree(t, srv.Dir, controlTree)
	a, b := loggedIn(t, srv), loggedIn(t, srv)
	a.expect("CWD sub", 250)
	a.expect("TYPE A", 200)
	a.expect("RNFR /f", 350)
	b.expectText("PWD", 257, `"/" is the current directory.`)
	b.expectText("SIZE f", 213, "5")
	b.expect("RNTO x", 503)
	a.expect("RNTO /g2", 250)
	a.expectText("PWD", 257, `"/sub" is the current directory.`)
}

// TestIPv6Session runs a session over ::1.
func TestIPv6Session(t *testing.T) {
	if l, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback on this machine: %v", err)
	} else {
		l.Close()
	}
	srv := ftptest.NewServer(t, ftptest.WithIPv6())
	makeTree(t, srv.Dir, map[string]string{"f": "hello"})
	c := loggedIn(t, srv)
	c.expectText("SIZE f", 213, "5")
	c.expectText("MKD d", 257, `"/d" directory created.`)
	r := c.expect("STAT", 211)
	if want := "Connected to " + srv.Addr + " from " + c.conn.LocalAddr().String(); !strings.Contains(r.Full(), want) || !strings.Contains(want, "[::1]") {
		t.Errorf("STAT over IPv6 = %v, want %q", r, want)
	}
	c.expect("QUIT", 221)
}

// ctlTLSConfig returns a TLS configuration with a fresh self-signed
// certificate for 127.0.0.1.
func ctlTLSConfig(t testing.TB) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "ftpshare test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// FuzzSession feeds arbitrary bytes to a control connection and checks that every reply is well formed, that no
// command panics (421 "Internal server error"), and that the server keeps
// serving.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"NOOP\r\n",
		"USER anonymous\r\nPASS x\r\nPWD\r\nCWD ..\r\nSIZE f\r\n",
		"USER anonymous\r\nPASS\r\nMLST f\r\nSTAT /\r\nOPTS MLST type;\r\nMDTM 20200101000000 f\r\n",
		"user ftp\npass\nTYPE L 8\nRNFR f\nRNTO g\nSITE CHMOD 7 f\nHELP SITE\n",
		"\xff\xf4\xff\xf2ABOR\r\n\x00\x01\r\n\r\n",
		strings.Repeat("x", 5000) + "\r\nNOOP\r\n",
		"USER anonymous\r\nPASS\r\nPASV\r\nLIST\r\nREST 1\r\nSTAT\r\nABOR\r\n",
		"REIN\r\nQUIT\r\n",
	} {
		f.Add([]byte(s))
	}
	srv := ftptest.NewServer(f, configure(func(s *ftp.Server) {
		s.DataTimeout = 20 * time.Millisecond
		s.IdleTimeout = 2 * time.Second
		s.LoginFailDelay = -1
		s.MaxLoginFailuresPerIP = -1
		s.MaxConnsPerIP = -1
	}))
	makeTree(f, srv.Dir, map[string]string{"f": "hello", "d/": ""})
	f.Fuzz(func(t *testing.T, in []byte) {
		c := dialRaw(t, srv.Addr)
		c.sendBytes(in)
		c.conn.(*net.TCPConn).CloseWrite()
		for range 10000 {
			r, err := c.readReply()
			if err == io.EOF || isReset(err) {
				break // the server closed the connection
			}
			if err != nil {
				t.Fatalf("bad reply to %q: %v", in, err)
			}
			if r.Code == 421 && strings.Contains(r.Text, "Internal") {
				t.Fatalf("input %q made the server fail: %v", in, r)
			}
		}
		c.Close()
		// The server goes on.
		c2 := dialRaw(t, srv.Addr)
		c2.expect("NOOP", 200)
		c2.Close()
	})
}

// TestRNTORefusedCancelsRename checks that an RNTO refused before it runs
// (here for a NUL byte) still uses up the RNFR: a second RNTO must not
// rename the file.
func TestRNTORefusedCancelsRename(t *testing.T) {
	srv := ftptest.NewServer(t)
	makeTree(t, srv.Dir, map[string]string{"f": "x"})
	c := loggedIn(t, srv)
	c.expect("RNFR f", 350)
	c.expect("RNTO a\x00b", 501)
	c.expect("RNTO g", 503)
	if !onDisk(filepath.Join(srv.Dir, "f")) || onDisk(filepath.Join(srv.Dir, "g")) {
		t.Error("the file was renamed after a refused RNTO")
	}
}

// TestMFMTTimeTheFileSystemCannotStore sets times that most file
// systems clamp silently (ext4 and XFS keep 1901 to 2446 or 2038): the
// server must not say 213 for a time it did not store, and must leave
// the file's time as it was. tmpfs stores any time, so what to expect is
// asked of the file system under the test first.
func TestMFMTTimeTheFileSystemCannotStore(t *testing.T) {
	srv := ftptest.NewServer(t)
	makeTree(t, srv.Dir, map[string]string{"f": "hello"})
	c := loggedIn(t, srv)
	c.expect("MFMT 20210304050607 f", 213)
	probe := filepath.Join(t.TempDir(), "probe")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		timeval string
		when    time.Time
	}{
		{"00000101000000", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"18000101000000", time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"99991231235959", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
	} {
		if err := os.Chtimes(probe, time.Time{}, tc.when); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(probe)
		if err != nil {
			t.Fatal(err)
		}
		if fi.ModTime().Equal(tc.when) {
			c.expect("MFMT "+tc.timeval+" f", 213)
			c.expect("MFMT 20210304050607 f", 213)
			continue
		}
		if r := c.cmd("MFMT " + tc.timeval + " f"); r.Code != 553 || r.Text != "The file system cannot store that time." {
			t.Errorf("MFMT %s f: got %v, want 553 (the file system stored %v)", tc.timeval, r, fi.ModTime())
		}
		if r := c.cmd("MDTM f"); r.Code != 213 || r.Text != "20210304050607" {
			t.Errorf("MDTM f after a refused MFMT %s: got %v, want 213 20210304050607", tc.timeval, r)
		}
	}
}
