//go:build unix

package ftp_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

// dcTree is the directory the listing tests serve.
type dcTree struct {
	dir  string
	now  time.Time
	mode map[string]string // expected ls mode of each top-level entry
}

// dcMakeTree fills dir with files of known modes and times, a
// subdirectory, symbolic links and a dotfile.
func dcMakeTree(t *testing.T, dir string) *dcTree {
	t.Helper()
	now := time.Now()
	tr := &dcTree{dir: dir, now: now, mode: map[string]string{}}
	file := func(name string, size int, perm os.FileMode, mtime time.Time, mode string) {
		p := dcWriteFile(t, dir, name, bytes.Repeat([]byte("z"), size))
		if err := os.Chmod(p, perm); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(name, "/") {
			tr.mode[name] = mode
		}
	}
	file("plain.txt", 123, 0o644, now.Add(-2*time.Hour), "-rw-r--r--")
	file("old.bin", 7, 0o600, now.AddDate(-2, 0, 0), "-rw-------")
	file("mid.txt", 1, 0o640, now.Add(-150*24*time.Hour), "-rw-r-----")
	file("past.txt", 2, 0o644, now.Add(-220*24*time.Hour), "-rw-r--r--")
	file("future.txt", 3, 0o644, now.Add(30*24*time.Hour), "-rw-r--r--")
	file("far-future.txt", 4, 0o644, now.AddDate(1, 1, 0), "-rw-r--r--")
	file("exec.sh", 40, 0o755, now.Add(-time.Minute), "-rwxr-xr-x")
	file("setuid", 5, 0o755|os.ModeSetuid, now.Add(-time.Minute), "-rwsr-xr-x")
	file("setgid-noexec", 5, 0o640|os.ModeSetgid, now.Add(-time.Minute), "-rw-r-S---")
	file(".hidden", 6, 0o644, now.Add(-time.Minute), "-rw-r--r--")
	file("with space.txt", 8, 0o644, now.Add(-time.Minute), "-rw-r--r--")
	file("sub/a.txt", 10, 0o644, now.Add(-time.Hour), "")
	file("sub/b.txt", 20, 0o644, now.Add(-time.Hour), "")
	file("sub/c.log", 30, 0o644, now.Add(-time.Hour), "")
	tr.mode["sub"] = "drwxr-xr-x"
	if err := os.Mkdir(filepath.Join(dir, "sticky"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "sticky"), 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	tr.mode["sticky"] = "drwxrwxrwt"
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	tr.mode["empty"] = "drwxr-xr-x"
	for name, target := range map[string]string{
		"rel-link": "plain.txt",
		"dir-link": "sub",
		"dangling": "nonexistent",
		"abs-link": filepath.Join(dir, "plain.txt"),
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		tr.mode[name] = "lrwxrwxrwx"
	}
	return tr
}

// names returns the sorted top-level names of the tree.
func (tr *dcTree) names() []string {
	var names []string
	for n := range tr.mode {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// dcLSDate is how a listing shows mtime: the time of day within six
// months of now, else the year.
func dcLSDate(mtime, now time.Time) string {
	// The tree's times are far from the boundary (150 and 220 days ago,
	// 30 days and 13 months ahead), so any six-month rule agrees.
	const sixMonths = 182 * 24 * time.Hour
	mtime = mtime.UTC()
	if d := now.Sub(mtime); d < sixMonths && d > -sixMonths {
		return mtime.Format("Jan _2 15:04")
	}
	return mtime.Format("Jan _2  2006")
}

// dcNlink is the link count of a file on disk (not following links).
func dcNlink(t *testing.T, p string) int {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Nlink)
}

// checkLS checks a parsed ls line field by field against the file on disk.
func (tr *dcTree) checkLS(t *testing.T, e dcLS, diskPath, wantMode string) {
	t.Helper()
	fi, err := os.Lstat(diskPath)
	if err != nil {
		t.Fatal(err)
	}
	if e.Mode != wantMode {
		t.Errorf("%s: mode %s, want %s", e.Name, e.Mode, wantMode)
	}
	if want := dcNlink(t, diskPath); e.Links != want {
		t.Errorf("%s: %d links, want %d", e.Name, e.Links, want)
	}
	if e.Owner != "ftp" || e.Group != "ftp" {
		t.Errorf("%s: owner %q group %q, want ftp ftp", e.Name, e.Owner, e.Group)
	}
	if e.Size != fi.Size() {
		t.Errorf("%s: size %d, want %d", e.Name, e.Size, fi.Size())
	}
	if want := dcLSDate(fi.ModTime(), tr.now); e.Date != want {
		t.Errorf("%s: date %q, want %q (mtime %s)", e.Name, e.Date, want, fi.ModTime().UTC())
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		target, _ := os.Readlink(diskPath)
		want := target
		if filepath.IsAbs(target) {
			want = "" // an absolute target would reveal where the share lives
		}
		if e.Target != want {
			t.Errorf("%s: link target %q, want %q", e.Name, e.Target, want)
		}
	} else if e.Target != "" {
		t.Errorf("%s: not a link but shows target %q", e.Name, e.Target)
	}
}

// TestListingLIST checks a LIST of a directory field by field: mode,
// links, owner, group, size, date (time of day within six months, year
// beyond), name and link target, in name order.
func TestListingLIST(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	tr := dcMakeTree(t, srv.Dir)
	c := dcLoginUser(t, srv)
	for _, typ := range []string{"I", "A"} {
		c.expect("TYPE "+typ, 200)
		lines := c.listLines("LIST")
		var names []string
		for _, l := range lines {
			e, err := dcParseLS(l)
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, e.Name)
			want, ok := tr.mode[e.Name]
			if !ok {
				t.Errorf("unexpected entry %q", l)
				continue
			}
			tr.checkLS(t, e, filepath.Join(srv.Dir, e.Name), want)
		}
		if !slices.Equal(names, tr.names()) {
			t.Errorf("TYPE %s: LIST names %q, want %q (sorted, dotfiles included)", typ, names, tr.names())
		}
	}
}

// TestListingLISTArguments checks LIST with ls-style options, with
// directories, files, links, patterns and missing paths.
func TestListingLISTArguments(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	tr := dcMakeTree(t, srv.Dir)
	sub := []string{"a.txt", "b.txt", "c.log"}
	tests := []struct {
		cmd   string
		names []string // nil: a 550
	}{
		{"LIST", tr.names()},
		{"LIST -la", tr.names()},
		{"LIST -a", tr.names()},
		{"LIST -l", tr.names()},
		{"LIST -al", tr.names()},
		{"LIST /", tr.names()},
		{"LIST -a /sub", sub},
		{"LIST -la sub", sub},
		{"LIST sub", sub},
		{"LIST /sub/", sub},
		{"LIST sub/../sub", sub},
		{"LIST dir-link", sub},
		{"LIST empty", []string{}},
		{"LIST plain.txt", []string{"plain.txt"}},
		{"LIST -l plain.txt", []string{"plain.txt"}},
		{"LIST sub/a.txt", []string{"a.txt"}},
		{"LIST with space.txt", []string{"with space.txt"}},
		{"LIST rel-link", []string{"rel-link"}},
		{"LIST *.txt", []string{"far-future.txt", "future.txt", "mid.txt", "past.txt", "plain.txt", "with space.txt"}},
		{"LIST nosuch", nil},
		{"LIST -a nosuch", nil},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			t.Parallel()
			c := dcLoginUser(t, srv)
			if tt.names == nil {
				c.pasvReply()
				c.expect(tt.cmd, 550)
				return
			}
			names := []string{}
			for _, l := range c.listLines(tt.cmd) {
				e, err := dcParseLS(l)
				if err != nil {
					t.Fatal(err)
				}
				names = append(names, e.Name)
			}
			if !slices.Equal(names, tt.names) {
				t.Errorf("%s: names %q, want %q", tt.cmd, names, tt.names)
			}
		})
	}
}

// TestListingNLST checks NLST: names only; with a directory argument
// each name is prefixed with it (as vsftpd does, so "mget dir/*" works);
// patterns; single files.
func TestListingNLST(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	tr := dcMakeTree(t, srv.Dir)
	tests := []struct {
		cmd   string
		code  int
		names []string
	}{
		{"NLST", 226, tr.names()},
		{"NLST -a", 226, tr.names()},
		{"NLST /", 226, dcPrefixed("/", tr.names())},
		{"NLST sub", 226, []string{"sub/a.txt", "sub/b.txt", "sub/c.log"}},
		{"NLST sub/", 226, []string{"sub/a.txt", "sub/b.txt", "sub/c.log"}},
		{"NLST /sub", 226, []string{"/sub/a.txt", "/sub/b.txt", "/sub/c.log"}},
		{"NLST -a sub", 226, []string{"sub/a.txt", "sub/b.txt", "sub/c.log"}},
		{"NLST *.txt", 226, []string{"far-future.txt", "future.txt", "mid.txt", "past.txt", "plain.txt", "with space.txt"}},
		{"NLST sub/*.txt", 226, []string{"sub/a.txt", "sub/b.txt"}},
		{"NLST /sub/?.log", 226, []string{"/sub/c.log"}},
		{"NLST sub/*.zzz", 226, nil},
		{"NLST empty", 226, nil},
		{"NLST plain.txt", 226, []string{"plain.txt"}},
		{"NLST sub/a.txt", 226, []string{"sub/a.txt"}},
		{"NLST nosuch", 550, nil},
		{"NLST [", 501, nil},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			t.Parallel()
			c := dcLoginUser(t, srv)
			if tt.code != 226 {
				c.pasvReply()
				c.expect(tt.cmd, tt.code)
				return
			}
			if got := c.listLines(tt.cmd); !slices.Equal(got, tt.names) {
				t.Errorf("%s: %q, want %q", tt.cmd, got, tt.names)
			}
		})
	}
	t.Run("NLST -l is a long listing", func(t *testing.T) {
		t.Parallel()
		c := dcLoginUser(t, srv)
		lines := c.listLines("NLST -l sub")
		if len(lines) != 3 {
			t.Fatalf("NLST -l sub: %q", lines)
		}
		for _, l := range lines {
			if _, err := dcParseLS(l); err != nil {
				t.Error(err)
			}
		}
	})
}

func dcPrefixed(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}

// TestListingSTATPath checks STAT with a path: a listing on the control
// connection, 212 for a directory and 213 for a file.
func TestListingSTATPath(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	tr := dcMakeTree(t, srv.Dir)
	tests := []struct {
		cmd   string
		code  int
		names []string
	}{
		{"STAT /", 212, tr.names()},
		{"STAT sub", 212, []string{"a.txt", "b.txt", "c.log"}},
		{"STAT -la /sub", 212, []string{"a.txt", "b.txt", "c.log"}},
		{"STAT empty", 212, []string{}},
		{"STAT plain.txt", 213, []string{"plain.txt"}},
		{"STAT sub/a.txt", 213, []string{"a.txt"}},
		{"STAT rel-link", 213, []string{"rel-link"}},
		{"STAT nosuch", 550, nil},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			t.Parallel()
			c := dcLoginUser(t, srv)
			r := c.expect(tt.cmd, tt.code)
			if tt.code == 550 {
				return
			}
			if len(r.Lines) < 2 {
				t.Fatalf("%s: %v is not a multi-line reply", tt.cmd, r)
			}
			names := []string{}
			for _, l := range r.Lines[1 : len(r.Lines)-1] {
				if !strings.HasPrefix(l, " ") {
					t.Errorf("%s: line %q does not start with a space", tt.cmd, l)
				}
				e, err := dcParseLS(strings.TrimPrefix(l, " "))
				if err != nil {
					t.Fatal(err)
				}
				names = append(names, e.Name)
				dir := srv.Dir
				if tt.code == 212 {
					dir = filepath.Join(srv.Dir, strings.TrimPrefix(strings.Fields(tt.cmd)[len(strings.Fields(tt.cmd))-1], "/"))
				} else {
					dir = filepath.Dir(filepath.Join(srv.Dir, strings.Fields(tt.cmd)[1]))
				}
				want := tr.mode[e.Name]
				if want == "" {
					want = "-rw-r--r--"
				}
				tr.checkLS(t, e, filepath.Join(dir, e.Name), want)
			}
			if !slices.Equal(names, tt.names) {
				t.Errorf("%s: names %q, want %q", tt.cmd, names, tt.names)
			}
		})
	}
}

// dcFollow is what MLSx describes for a name on disk: the target of a
// relative link that resolves (the jail refuses absolute ones), else the
// name itself.
func dcFollow(t *testing.T, p string) os.FileInfo {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		if target, err := os.Readlink(p); err == nil && !filepath.IsAbs(target) {
			if tfi, err := os.Stat(p); err == nil {
				return tfi
			}
		}
	}
	return fi
}

// dcUnique is the unique fact of a file on disk: device and inode in hex.
func dcUnique(t *testing.T, p string) string {
	t.Helper()
	fi := dcFollow(t, p)
	st := fi.Sys().(*syscall.Stat_t)
	return fmt.Sprintf("%xg%x", uint64(st.Dev), uint64(st.Ino))
}

// dcUnixMode is the UNIX.mode fact of a file on disk (links followed, as
// MLSx does).
func dcUnixMode(t *testing.T, p string) string {
	t.Helper()
	fi := dcFollow(t, p)
	return fmt.Sprintf("0%o", fi.Sys().(*syscall.Stat_t).Mode&0o7777)
}

// TestListingMLSD checks every fact of MLSD and MLST lines (RFC 3659):
// type, size, modify, perm (from the user's permissions, per directory),
// unique and UNIX.mode.
func TestListingMLSD(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	dcMakeTree(t, srv.Dir)
	if err := srv.Users.Add("mixed", "pw", srv.Dir, ftp.Permissions{
		Default:   ftp.PermRead,
		Overrides: []ftp.PermOverride{{Dir: "/sub", Perm: ftp.PermAll}},
	}); err != nil {
		t.Fatal(err)
	}
	const (
		fullFile, fullDir = "adfrw", "cdeflmp"
		readFile, readDir = "r", "el"
	)
	users := []struct {
		user, pass string
		perm       func(path string, dir bool) string // want perm fact
	}{
		{ftptest.User, ftptest.Password, func(string, bool) string { return "" }},
		{"anonymous", "x@y", func(_ string, dir bool) string {
			if dir {
				return readDir
			}
			return readFile
		}},
		{"mixed", "pw", func(p string, dir bool) string {
			full := p == "/sub" || strings.HasPrefix(p, "/sub/")
			switch {
			case full && dir:
				return fullDir
			case full:
				return fullFile
			case dir:
				return readDir
			}
			return readFile
		}},
	}
	users[0].perm = func(_ string, dir bool) string {
		if dir {
			return fullDir
		}
		return fullFile
	}
	for _, u := range users {
		for _, dir := range []string{"/", "/sub"} {
			t.Run(u.user+dir, func(t *testing.T) {
				t.Parallel()
				c := dcLogin(t, srv, u.user, u.pass)
				seen := map[string]bool{}
				for _, l := range c.listLines("MLSD " + dir) {
					facts, name, err := dcParseMLSx(l)
					if err != nil {
						t.Fatal(err)
					}
					seen[name] = true
					vpath := filepath.ToSlash(filepath.Join(dir, name))
					disk := filepath.Join(srv.Dir, filepath.FromSlash(vpath))
					fi, err := os.Lstat(disk)
					if err != nil {
						t.Fatalf("MLSD lists %q, which is not on disk: %v", name, err)
					}
					fi = dcFollow(t, disk)
					wantType := "file"
					switch {
					case name == ".":
						wantType = "cdir"
					case name == "..":
						wantType = "pdir"
					case fi.IsDir():
						wantType = "dir"
					case fi.Mode()&os.ModeSymlink != 0:
						wantType = facts["type"] // checked below
						if !strings.HasPrefix(wantType, "OS.unix=") {
							t.Errorf("%s: link type %q, want OS.unix=...", name, wantType)
						}
					}
					want := map[string]string{
						"type":      wantType,
						"size":      strconv.FormatInt(fi.Size(), 10),
						"modify":    fi.ModTime().UTC().Format("20060102150405"),
						"perm":      u.perm(vpath, fi.IsDir()),
						"unique":    dcUnique(t, disk),
						"unix.mode": dcUnixMode(t, disk),
					}
					for k, v := range want {
						if facts[k] != v {
							t.Errorf("%s: fact %s=%q, want %q (line %q)", name, k, facts[k], v, l)
						}
					}
					if len(facts) != len(want) {
						t.Errorf("%s: facts %v, want exactly %v", name, facts, want)
					}
				}
				wantNames := []string{".", "a.txt", "b.txt", "c.log", ".."}
				if dir == "/" {
					wantNames = []string{".", "plain.txt", "sub", "sticky", "rel-link", "setuid", ".hidden"}
				}
				for _, n := range wantNames {
					if !seen[n] {
						t.Errorf("MLSD %s: no %q in %v", dir, n, seen)
					}
				}
				if dir == "/" && seen[".."] {
					t.Errorf("MLSD / lists a parent directory")
				}
			})
		}
	}
	t.Run("MLST", func(t *testing.T) {
		t.Parallel()
		c := dcLoginUser(t, srv)
		tests := []struct {
			arg, path, typ, perm string
		}{
			{"plain.txt", "/plain.txt", "file", fullFile},
			{"/sub/a.txt", "/sub/a.txt", "file", fullFile},
			{"sub", "/sub", "dir", fullDir},
			{"", "/", "dir", fullDir},
			{"sub/../plain.txt", "/plain.txt", "file", fullFile},
		}
		for _, tt := range tests {
			cmd := strings.TrimSpace("MLST " + tt.arg)
			r := c.expect(cmd, 250)
			if len(r.Lines) != 3 || r.Lines[0] != "250-Listing "+tt.path || r.Lines[2] != "250 End." {
				t.Errorf("%s: %v, want 250-Listing %s, a fact line and 250 End.", cmd, r, tt.path)
				continue
			}
			if !strings.HasPrefix(r.Lines[1], " ") {
				t.Errorf("%s: fact line %q does not start with a space", cmd, r.Lines[1])
			}
			facts, name, err := dcParseMLSx(r.Lines[1][1:])
			if err != nil {
				t.Fatal(err)
			}
			disk := filepath.Join(srv.Dir, filepath.FromSlash(tt.path))
			fi, _ := os.Stat(disk)
			if name != tt.path || facts["type"] != tt.typ || facts["perm"] != tt.perm ||
				facts["size"] != strconv.FormatInt(fi.Size(), 10) || facts["modify"] != fi.ModTime().UTC().Format("20060102150405") ||
				facts["unique"] != dcUnique(t, disk) || facts["unix.mode"] != dcUnixMode(t, disk) {
				t.Errorf("%s: %q", cmd, r.Lines[1])
			}
		}
		c.expect("MLST nosuch", 550)
	})
	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		c := dcLoginUser(t, srv)
		for _, tt := range []struct {
			cmd  string
			code int
		}{{"MLSD plain.txt", 501}, {"MLSD rel-link", 501}, {"MLSD nosuch", 550}} {
			c.pasvReply()
			c.expect(tt.cmd, tt.code)
		}
		// A link to a directory lists the directory.
		var names []string
		for _, l := range c.listLines("MLSD dir-link") {
			_, name, _ := dcParseMLSx(l)
			names = append(names, name)
		}
		if !slices.Contains(names, "a.txt") {
			t.Errorf("MLSD dir-link: %q", names)
		}
	})
}

// TestListingOPTSMLST checks that OPTS MLST selects the facts of MLSD and
// MLST lines, FEAT marks them with *, and other sessions keep the default.
func TestListingOPTSMLST(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	dcWriteFile(t, srv.Dir, "f.txt", []byte("facts"))
	all := []string{"type", "size", "modify", "perm", "unique", "UNIX.mode"}
	tests := []struct {
		arg   string
		reply string
		facts []string
	}{
		{"type;size;", "MLST OPTS type;size;", []string{"type", "size"}},
		{"Type;UNIX.MODE;bogus;", "MLST OPTS type;UNIX.mode;", []string{"type", "UNIX.mode"}},
		{"modify;", "MLST OPTS modify;", []string{"modify"}},
		{"", "MLST OPTS", nil},
		{"type;size;modify;perm;unique;UNIX.mode;", "MLST OPTS type;size;modify;perm;unique;UNIX.mode;", all},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			t.Parallel()
			c := dcLoginUser(t, srv)
			r := c.expect(strings.TrimSpace("OPTS MLST "+tt.arg), 200)
			if r.Text != tt.reply {
				t.Errorf("OPTS MLST %s: %v, want %q", tt.arg, r, tt.reply)
			}
			var feat strings.Builder
			for _, f := range all {
				feat.WriteString(f)
				if slices.Contains(tt.facts, f) {
					feat.WriteString("*")
				}
				feat.WriteString(";")
			}
			fr := c.expect("FEAT", 211)
			if !slices.Contains(fr.Lines, " MLST "+feat.String()) {
				t.Errorf("FEAT %v, want the line %q", fr, " MLST "+feat.String())
			}
			var want []string
			for _, f := range tt.facts {
				want = append(want, strings.ToLower(f))
			}
			slices.Sort(want)
			check := func(what, line string) {
				facts, name, err := dcParseMLSx(line)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				var got []string
				for k := range facts {
					got = append(got, k)
				}
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("%s: facts %q of %q, want %q", what, got, name, want)
				}
			}
			for _, l := range c.listLines("MLSD") {
				check("MLSD", l)
			}
			mr := c.expect("MLST f.txt", 250)
			check("MLST", strings.TrimPrefix(mr.Lines[1], " "))
			// Another session still has every fact.
			other := dcLoginUser(t, srv)
			if fr := other.expect("FEAT", 211); !slices.Contains(fr.Lines, " MLST type*;size*;modify*;perm*;unique*;UNIX.mode*;") {
				t.Errorf("another session's FEAT: %v", fr)
			}
		})
	}
}

// TestListingLargeDirectory checks that a directory of 10,000 entries is
// listed completely by LIST, NLST and MLSD.
func TestListingLargeDirectory(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	const n = 10000
	dir := filepath.Join(srv.Dir, "many")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Hard links, 100 to each of 100 files: creating 10,000 inodes
	// costs seconds on some filesystems, linking a fraction of that.
	var src string
	for i := 0; i < n; i++ {
		if i%100 == 0 {
			src = dcWriteFile(t, srv.Dir, fmt.Sprintf("src/%d", i), []byte("x"))
		}
		if err := os.Link(src, filepath.Join(dir, fmt.Sprintf("file-%05d.dat", i))); err != nil {
			t.Fatal(err)
		}
	}
	c := dcLoginUser(t, srv)
	lines := c.listLines("LIST many")
	if len(lines) != n {
		t.Errorf("LIST: %d lines, want %d", len(lines), n)
	}
	for i, l := range lines {
		e, err := dcParseLS(l)
		if err != nil || e.Name != fmt.Sprintf("file-%05d.dat", i) {
			t.Fatalf("LIST line %d: %q (%v)", i, l, err)
		}
	}
	names := c.listLines("NLST many")
	if len(names) != n || names[0] != "many/file-00000.dat" || names[n-1] != fmt.Sprintf("many/file-%05d.dat", n-1) {
		t.Errorf("NLST: %d names, first %q", len(names), names[0])
	}
	if mlsd := c.listLines("MLSD many"); len(mlsd) != n+2 {
		t.Errorf("MLSD: %d lines, want %d (with cdir and pdir)", len(mlsd), n+2)
	}
	if r := c.expect("STAT many", 212); len(r.Lines) != n+2 {
		t.Errorf("STAT many: %d lines, want %d", len(r.Lines), n+2)
	}
}

// TestListingManyLinks checks that a link count of five digits still
// leaves a space between the mode and the count, as ls does.
func TestListingManyLinks(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	src := dcWriteFile(t, srv.Dir, "popular", []byte("x"))
	if err := os.Mkdir(filepath.Join(srv.Dir, "links"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 10000; i++ {
		if err := os.Link(src, filepath.Join(srv.Dir, "links", strconv.Itoa(i))); err != nil {
			t.Skipf("cannot make 10,000 hard links here: %v", err)
		}
	}
	c := dcLoginUser(t, srv)
	for _, cmd := range []string{"LIST popular", "NLST -l popular"} {
		lines := c.listLines(cmd)
		if len(lines) != 1 {
			t.Fatalf("%s: %q", cmd, lines)
		}
		e, err := dcParseLS(lines[0])
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		if e.Links != 10000 {
			t.Errorf("%s: %d links, want 10000", cmd, e.Links)
		}
	}
	r := c.expect("STAT popular", 213)
	if _, err := dcParseLS(strings.TrimPrefix(r.Lines[1], " ")); err != nil {
		t.Errorf("STAT popular: %v", err)
	}
}

// TestListingLatin1Names checks that names that are not UTF-8 (Latin-1
// from old clients) are listed back and usable byte for byte.
func TestListingLatin1Names(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	const (
		file = "caf\xe9.txt"        // "café" in Latin-1
		dir  = "r\xe9sum\xe9s"      // "résumés"
		sub  = "na\xefve \xbd.txt"  // "naïve ½"
		ff   = "\xffm\xe4rchen.txt" // a 0xFF byte, as Telnet's IAC
	)
	dcWriteFile(t, srv.Dir, file, []byte("latin-1"))
	dcWriteFile(t, srv.Dir, dir+"/"+sub, []byte("inside"))
	dcWriteFile(t, srv.Dir, ff, []byte("ff"))
	c := dcLoginUser(t, srv)
	if got := c.listLines("NLST"); !slices.Equal(got, []string{file, ff, dir}) && !slices.Equal(got, []string{file, dir, ff}) {
		t.Errorf("NLST: %q", got)
	}
	var listed []string
	for _, l := range c.listLines("LIST") {
		e, err := dcParseLS(l)
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, e.Name)
	}
	slices.Sort(listed)
	if want := []string{file, dir, ff}; !slices.Equal(listed, want) {
		t.Errorf("LIST names %q, want %q", listed, want)
	}
	var mlsd []string
	for _, l := range c.listLines("MLSD") {
		_, name, _ := dcParseMLSx(l)
		mlsd = append(mlsd, name)
	}
	if !slices.Contains(mlsd, file) || !slices.Contains(mlsd, dir) || !slices.Contains(mlsd, ff) {
		t.Errorf("MLSD names %q", mlsd)
	}
	if got := c.listLines("NLST " + dir); !slices.Equal(got, []string{dir + "/" + sub}) {
		t.Errorf("NLST %q: %q", dir, got)
	}
	if got := c.get(dcEPSV, file); string(got) != "latin-1" {
		t.Errorf("RETR %q: %q", file, got)
	}
	// RFC 959 doubles a 0xFF data byte on the control connection (IAC IAC).
	if got := c.get(dcEPSV, strings.ReplaceAll(ff, "\xff", "\xff\xff")); string(got) != "ff" {
		t.Errorf("RETR with IAC IAC: %q", got)
	}
	c.expect("CWD "+dir, 250)
	if got := c.get(dcEPSV, sub); string(got) != "inside" {
		t.Errorf("RETR %q: %q", sub, got)
	}
	if r := c.expect("STAT "+sub, 213); !strings.HasSuffix(r.Lines[1], " "+sub) {
		t.Errorf("STAT %q: %v", sub, r)
	}
	const up = "\xfcber.txt" // "über"
	c.put(dcEPSV, "STOR "+up, []byte("uploaded"))
	if got := dcReadFile(t, srv.Dir, dir+"/"+up); string(got) != "uploaded" {
		t.Errorf("STOR %q stored %q", up, got)
	}
}
