package ftp_test

// Tests of the filesystem jail: no path, "..", absolute name or symbolic
// link lets a user read, change or even see anything outside the home.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

// jail is a served home with an outside world next to it and symbolic
// links that lead there.
type jail struct {
	srv     *ftptest.Server
	home    string // srv.Dir
	outside string // a directory outside the home
}

const escapeText = "Permission denied: the path leads outside your home directory."

func newJail(t *testing.T) *jail {
	t.Helper()
	srv := ftptest.NewServer(t)
	outside := t.TempDir()
	makeTree(t, outside, map[string]string{"secret.txt": "secret", "sub/": ""})
	makeTree(t, srv.Dir, map[string]string{"inside.txt": "inside", "sub/file.txt": "in sub", "empty/": ""})
	rel, err := filepath.Rel(srv.Dir, outside)
	if err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"out":        outside,                              // absolute, outside
		"outrel":     rel,                                  // relative, outside
		"outfile":    filepath.Join(outside, "secret.txt"), // a file outside
		"outrelfile": filepath.Join(rel, "secret.txt"),     // the same, relative
		"sub/up":     "../..",                              // climbs out from below
		"inlink":     "sub",                                // relative, inside: fine
		"absinside":  filepath.Join(srv.Dir, "sub"),        // absolute, even inside: refused
		"loop":       "loop",                               // a loop
		"dangling":   "nowhere",                            // points to nothing
		"chain":      "outrel",                             // a link to a link out
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(srv.Dir, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	return &jail{srv: srv, home: srv.Dir, outside: outside}
}

// unchanged fails the test if anything outside the home changed.
func (j *jail) unchanged(t *testing.T) {
	t.Helper()
	entries, err := os.ReadDir(j.outside)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "secret.txt,sub" {
		t.Errorf("outside holds %v, want secret.txt and sub", names)
	}
	fi, err := os.Stat(filepath.Join(j.outside, "secret.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 || !fi.ModTime().Equal(fixtureTime) || fi.Size() != 6 {
		t.Errorf("outside secret.txt changed: %v %v %d", fi.Mode(), fi.ModTime(), fi.Size())
	}
	if got := string(diskRead(t, filepath.Join(j.outside, "secret.txt"))); got != "secret" {
		t.Errorf("outside secret.txt holds %q", got)
	}
	if sub, _ := os.ReadDir(filepath.Join(j.outside, "sub")); len(sub) != 0 {
		t.Errorf("outside sub/ holds %v", sub)
	}
}

func TestJailDotDot(t *testing.T) {
	j := newJail(t)
	c := loggedIn(t, j.srv)
	c.run([]step{
		{"CWD ..", 250, `Directory changed to "/".`},
		{"CWD ../../..", 250, `Directory changed to "/".`},
		{"CWD /../../../", 250, `Directory changed to "/".`},
		{"CDUP", 250, `Directory changed to "/".`},
		{"PWD", 257, `"/" is the current directory.`},
		{"CWD sub", 250, ""},
		{"CWD ../..", 250, `Directory changed to "/".`},
		{"SIZE ../inside.txt", 213, "6"}, // ".." at the top is the top
		{"SIZE ../../../../inside.txt", 213, "6"},
		{"SIZE ../" + filepath.Base(j.outside) + "/secret.txt", 550, "No such file or directory."},
		{"MKD ../../made", 257, `"/made" directory created.`},
		{"RNFR inside.txt", 350, ""},
		{"RNTO ../../../moved.txt", 250, ""},
		{"DELE ../../moved.txt", 250, ""},
	})
	if !onDisk(filepath.Join(j.home, "made")) || onDisk(filepath.Join(filepath.Dir(j.home), "made")) {
		t.Error("MKD ../../made did not land in the home")
	}
	j.unchanged(t)
}

func TestJailAbsolutePaths(t *testing.T) {
	j := newJail(t)
	c := loggedIn(t, j.srv)
	secret := filepath.Join(j.outside, "secret.txt")
	c.run([]step{
		{"SIZE " + secret, 550, "No such file or directory."},
		{"CWD " + j.outside, 550, "No such file or directory."},
		{"CWD /etc", 550, "No such file or directory."},
		{"SIZE /etc/passwd", 550, ""},
		{"MKD " + j.outside + "/x", 550, ""},
		{"DELE " + secret, 550, ""},
		{"RNFR " + secret, 550, ""},
		{"SITE CHMOD 777 " + secret, 550, ""},
		{"MFMT 20000101000000 " + secret, 550, ""},
		{"SIZE /inside.txt", 213, "6"},
	})
	j.unchanged(t)
}

func TestJailSymlinks(t *testing.T) {
	for _, link := range []string{"out", "outrel", "sub/up", "chain"} {
		t.Run(strings.ReplaceAll(link, "/", "_"), func(t *testing.T) {
			t.Parallel()
			j := newJail(t)
			c := loggedIn(t, j.srv)
			file := link + "/secret.txt"
			if link == "sub/up" {
				file = "sub/up/" + filepath.Base(j.outside) + "/secret.txt"
			}
			c.run([]step{
				{"CWD " + link, 550, escapeText},
				{"PWD", 257, `"/" is the current directory.`},
				{"SIZE " + file, 550, escapeText},
				{"MDTM " + file, 550, escapeText},
				{"MLST " + file, 550, escapeText},
				{"STAT " + file, 550, escapeText},
				{"MKD " + link + "/sub/new", 550, escapeText},
				{"DELE " + file, 550, escapeText},
				{"RMD " + link + "/sub", 550, escapeText},
				{"RNFR " + file, 550, escapeText},
				{"RNFR inside.txt", 350, ""},
				{"RNTO " + link + "/stolen.txt", 550, escapeText},
				{"SITE CHMOD 777 " + file, 550, escapeText},
				{"MFMT 20000101000000 " + file, 550, escapeText},
				{"MDTM 20000101000000 " + file, 550, escapeText},
			})
			for _, cmd := range []string{"RETR " + file, "STOR " + link + "/new.txt", "APPE " + file, "STOU " + link + "/u", "MLSD " + link} {
				c.pasv()
				if r := c.cmd(cmd); r.Code != 550 {
					t.Errorf("%s: got %v, want 550", cmd, r)
				}
			}
			// LIST of the link shows the link itself, not what is outside.
			if got := string(c.dataCmd("LIST " + link)); strings.Contains(got, "secret") || strings.Contains(got, j.outside) {
				t.Errorf("LIST %s shows the outside: %q", link, got)
			}
			if r := c.cmd("STAT " + link); strings.Contains(r.Full(), "secret") || strings.Contains(r.Full(), j.outside) {
				t.Errorf("STAT %s shows the outside: %v", link, r)
			}
			c.expect("NOOP", 200)
			j.unchanged(t)
			wantContent(t, j.home, "inside.txt", "inside")
		})
	}
}

func TestJailSymlinkFiles(t *testing.T) {
	j := newJail(t)
	c := loggedIn(t, j.srv)
	for _, link := range []string{"outfile", "outrelfile"} {
		c.run([]step{
			{"SIZE " + link, 550, escapeText},
			{"MDTM " + link, 550, escapeText},
			{"SITE CHMOD 600 " + link, 550, escapeText},
			{"MFMT 20000101000000 " + link, 550, escapeText},
		})
		for _, cmd := range []string{"RETR " + link, "APPE " + link} {
			c.pasv()
			if r := c.cmd(cmd); r.Code != 550 {
				t.Errorf("%s: got %v, want 550", cmd, r)
			}
		}
		// STOR onto the link must not write through it.
		c.pasv()
		if r := c.cmd("STOR " + link); r.Code != 550 {
			t.Errorf("STOR %s: got %v, want 550", link, r)
		}
	}
	j.unchanged(t)
	// Deleting the link removes the link, not its target.
	c.expect("DELE outfile", 250)
	if onDisk(filepath.Join(j.home, "outfile")) {
		t.Error("DELE left the link")
	}
	j.unchanged(t)
}

func TestJailOtherLinks(t *testing.T) {
	j := newJail(t)
	c := loggedIn(t, j.srv)
	c.run([]step{
		{"CWD inlink", 250, `Directory changed to "/inlink".`}, // inside: followed
		{"SIZE file.txt", 213, "6"},
		{"CWD /", 250, ""},
		{"CWD absinside", 550, escapeText}, // absolute targets are refused even inside
		{"CWD loop", 550, ""},
		{"SIZE loop", 550, ""},
		{"SIZE dangling", 550, "No such file or directory."},
		{"RNFR loop", 350, ""}, // the link itself can be renamed
		{"RNTO loop2", 250, ""},
		{"DELE loop2", 250, ""},
	})
	j.unchanged(t)
}

// TestJailSymlinkRace swaps a directory for a link out while a client
// works in it: os.Root checks every step, so nothing outside is touched.
func TestJailSymlinkRace(t *testing.T) {
	j := newJail(t)
	c := loggedIn(t, j.srv)
	c.expect("CWD empty", 250)
	if err := os.Remove(filepath.Join(j.home, "empty")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(j.outside, filepath.Join(j.home, "empty")); err != nil {
		t.Fatal(err)
	}
	c.run([]step{
		{"SIZE secret.txt", 550, escapeText},
		{"MKD sub/x", 550, escapeText},
		{"PWD", 257, `"/empty" is the current directory.`},
		{"CDUP", 250, `Directory changed to "/".`},
		{"SIZE inside.txt", 213, "6"},
	})
	j.unchanged(t)
}
