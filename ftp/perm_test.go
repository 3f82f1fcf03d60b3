package ftp_test

// Tests of permissions: each letter allows exactly its commands, and
// per-directory overrides apply where they should.

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

// permOp is one command guarded by a permission letter.
type permOp struct {
	letter byte // "" for commands that need no letter
	line   string
	code   int  // the reply when allowed; 150 for a data command
	data   bool // needs a data connection: PASV first
	upload []byte
	after  []step // further steps when allowed (RNTO after RNFR)
	// check looks at the disk afterwards; allowed says whether the
	// command was expected to succeed.
	check func(t *testing.T, dir string, allowed bool)
}

// permTree is the tree each permission case starts from.
var permTree = map[string]string{
	"cwd/":       "",
	"sz.txt":     "12345",
	"list/a":     "a",
	"r.txt":      "retrieve me",
	"a.txt":      "a",
	"del.txt":    "d",
	"rmd1/":      "",
	"rmd2/":      "",
	"ren.txt":    "rename me",
	"chmod.txt":  "c",
	"time1.txt":  "t",
	"time2.txt":  "t",
	"replace.me": "old",
}

func wantOnDisk(t *testing.T, dir, name string, want bool) {
	t.Helper()
	if got := onDisk(filepath.Join(dir, name)); got != want {
		t.Errorf("%s on disk: %v, want %v", name, got, want)
	}
}

func wantContent(t *testing.T, dir, name, want string) {
	t.Helper()
	if got := string(diskRead(t, filepath.Join(dir, name))); got != want {
		t.Errorf("%s holds %q, want %q", name, got, want)
	}
}

var permOps = []permOp{
	{letter: 'e', line: "CWD cwd", code: 250},
	{letter: 'e', line: "XCWD /cwd", code: 250},
	{letter: 'e', line: "CDUP", code: 250},
	{letter: 'e', line: "XCUP", code: 250},
	{letter: 'l', line: "SIZE sz.txt", code: 213},
	{letter: 'l', line: "MDTM sz.txt", code: 213},
	{letter: 'l', line: "MLST sz.txt", code: 250},
	{letter: 'l', line: "STAT sz.txt", code: 213},
	{letter: 'l', line: "STAT list", code: 212},
	{letter: 'l', line: "LIST list", code: 150, data: true},
	{letter: 'l', line: "NLST list", code: 150, data: true},
	{letter: 'l', line: "MLSD list", code: 150, data: true},
	{letter: 'r', line: "RETR r.txt", code: 150, data: true},
	{letter: 'a', line: "APPE a.txt", code: 150, data: true, upload: []byte("+more"), check: func(t *testing.T, dir string, ok bool) {
		wantContent(t, dir, "a.txt", map[bool]string{true: "a+more", false: "a"}[ok])
	}},
	{letter: 'd', line: "DELE del.txt", code: 250, check: func(t *testing.T, dir string, ok bool) { wantOnDisk(t, dir, "del.txt", !ok) }},
	{letter: 'd', line: "RMD rmd1", code: 250, check: func(t *testing.T, dir string, ok bool) { wantOnDisk(t, dir, "rmd1", !ok) }},
	{letter: 'd', line: "XRMD rmd2", code: 250, check: func(t *testing.T, dir string, ok bool) { wantOnDisk(t, dir, "rmd2", !ok) }},
	{letter: 'f', line: "RNFR ren.txt", code: 350, after: []step{{"RNTO renamed.txt", 250, ""}}, check: func(t *testing.T, dir string, ok bool) {
		wantOnDisk(t, dir, "ren.txt", !ok)
		wantOnDisk(t, dir, "renamed.txt", ok)
	}},
	{letter: 'm', line: "MKD newdir", code: 257, check: func(t *testing.T, dir string, ok bool) { wantOnDisk(t, dir, "newdir", ok) }},
	{letter: 'm', line: "XMKD newdir2", code: 257, check: func(t *testing.T, dir string, ok bool) { wantOnDisk(t, dir, "newdir2", ok) }},
	{letter: 'w', line: "STOR new.txt", code: 150, data: true, upload: []byte("new"), check: func(t *testing.T, dir string, ok bool) {
		wantOnDisk(t, dir, "new.txt", ok)
		if ok {
			wantContent(t, dir, "new.txt", "new")
		}
	}},
	{letter: 'w', line: "STOU stou.txt", code: 150, data: true, upload: []byte("unique"), check: func(t *testing.T, dir string, ok bool) {
		wantOnDisk(t, dir, "stou.txt", ok)
	}},
	{letter: 'M', line: "SITE CHMOD 600 chmod.txt", code: 200, check: func(t *testing.T, dir string, ok bool) {
		fi, err := os.Stat(filepath.Join(dir, "chmod.txt"))
		if err != nil || (fi.Mode().Perm() == 0o600) != ok {
			t.Errorf("chmod.txt mode = %v, %v; changed should be %v", fi.Mode(), err, ok)
		}
	}},
	{letter: 'T', line: "MFMT 20010203040506 time1.txt", code: 213, check: func(t *testing.T, dir string, ok bool) { wantMtimeSet(t, dir, "time1.txt", ok) }},
	{letter: 'T', line: "MDTM 20010203040506 time2.txt", code: 213, check: func(t *testing.T, dir string, ok bool) { wantMtimeSet(t, dir, "time2.txt", ok) }},
	// Commands that need no letter.
	{line: "PWD", code: 257},
	{line: "SYST", code: 215},
	{line: "TYPE I", code: 200},
	{line: "MODE S", code: 200},
	{line: "STRU F", code: 200},
	{line: "ALLO 10", code: 202},
	{line: "REST 0", code: 350},
	{line: "STAT", code: 211},
	{line: "OPTS UTF8 ON", code: 200},
	{line: "SITE HELP", code: 214},
	{line: "PASV", code: 227},
}

func wantMtimeSet(t *testing.T, dir, name string, set bool) {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.ModTime().Equal(time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)); got != set {
		t.Errorf("%s mtime = %v; set should be %v", name, fi.ModTime(), set)
	}
}

// runPermOp runs op on c and checks that it is allowed or denied.
func runPermOp(t *testing.T, c *rawConn, op permOp, allowed bool) {
	t.Helper()
	var d io.ReadWriteCloser
	if op.data {
		d = c.pasv()
	}
	r := c.cmd(op.line)
	if !allowed {
		if r.Code != 550 || r.Text != "Permission denied." {
			t.Errorf("%s: got %v, want 550 Permission denied.", op.line, r)
		}
		return
	}
	if r.Code != op.code {
		t.Errorf("%s: got %v, want %d", op.line, r, op.code)
		return
	}
	if op.data {
		if op.upload != nil {
			d.Write(op.upload)
		} else {
			io.ReadAll(d)
		}
		d.Close()
		if r := c.read(); r.Code != 226 {
			t.Errorf("%s: got %v after the data, want 226", op.line, r)
		}
	}
	for _, s := range op.after {
		if r := c.cmd(s.line); r.Code != s.code {
			t.Errorf("%s: got %v, want %d", s.line, r, s.code)
		}
	}
	if op.line == "CWD cwd" || op.line == "XCWD /cwd" {
		c.expect("CWD /", 250)
	}
}

// TestPermissionMatrix gives a user one letter at a time (and none, and
// all) and checks that each command is allowed exactly when its letter is
// there, on the disk as in the reply.
func TestPermissionMatrix(t *testing.T) {
	sets := []string{"", "e", "l", "r", "a", "d", "f", "m", "w", "M", "T", "elradfmwMT"}
	for _, set := range sets {
		name := set
		if name == "" {
			name = "none"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := ftptest.NewServer(t)
			makeTree(t, srv.Dir, permTree)
			perm, err := ftp.ParsePerm(set)
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.Users.Add("u", "pw", srv.Dir, ftp.Permissions{Default: perm}); err != nil {
				t.Fatal(err)
			}
			c := dialRaw(t, srv.Addr)
			c.login("u", "pw")
			for _, op := range permOps {
				allowed := op.letter == 0 || strings.IndexByte(set, op.letter) >= 0
				runPermOp(t, c, op, allowed)
				if op.check != nil {
					op.check(t, srv.Dir, allowed)
				}
			}
			c.expect("NOOP", 200)
		})
	}
}

// TestReplaceNeedsDelete checks that overwriting a file (STOR, RNTO onto
// it) needs "d" as well as "w" or "f", while APPE does not.
func TestReplaceNeedsDelete(t *testing.T) {
	srv := ftptest.NewServer(t)
	makeTree(t, srv.Dir, permTree)
	if err := srv.Users.Add("u", "pw", srv.Dir, ftp.Permissions{Default: ftp.MustParsePerm("elrawf")}); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, srv.Addr)
	c.login("u", "pw")
	c.pasv()
	c.expectText("STOR replace.me", 550, "File exists; permission denied to replace it.")
	c.expect("RNFR ren.txt", 350)
	c.expectText("RNTO replace.me", 550, "Destination exists; permission denied to replace it.")
	wantContent(t, srv.Dir, "replace.me", "old")
	wantContent(t, srv.Dir, "ren.txt", "rename me")
}

func TestPermissionOverrides(t *testing.T) {
	srv := ftptest.NewServer(t)
	makeTree(t, srv.Dir, map[string]string{
		"f":                   "top",
		"upload/exists.txt":   "old",
		"upload/sub/":         "",
		"uploadx/":            "",
		"home/a/file":         "file",
		"home/a/file2":        "file2",
		"home/ro/deep/":       "",
		"home/ro/deep/x.txt":  "x",
		"dropbox/inner/":      "",
		"dropbox/inner/z.txt": "z",
	})
	perms := ftp.Permissions{
		Default: ftp.PermRead,
		Overrides: []ftp.PermOverride{
			{Dir: "/upload", Perm: ftp.MustParsePerm("elrw")},
			{Dir: "home", Perm: ftp.PermAll, Recursive: true},       // relative: same as /home
			{Dir: "/home/ro/", Perm: ftp.PermRead, Recursive: true}, // nested, more specific
			{Dir: "/dropbox", Perm: ftp.MustParsePerm("w")},         // not even e or l
		},
	}
	if err := srv.Users.Add("u", "pw", srv.Dir, perms); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, srv.Addr)
	c.login("u", "pw")
	stor := func(name string, want int) {
		t.Helper()
		if want != 226 {
			c.pasv()
			if r := c.cmd("STOR " + name); r.Code != want {
				t.Errorf("STOR %s: got %v, want %d", name, r, want)
			}
			return
		}
		c.stor(name, []byte("data"))
	}
	stor("/upload/new.txt", 226)       // an entry directly in the directory
	stor("/upload/sub/new.txt", 550)   // not recursive: default below
	stor("/uploadx/new.txt", 550)      // a prefix of the name is not a parent
	stor("/new.txt", 550)              // default
	stor("/upload/exists.txt", 550)    // replacing needs d
	stor("/upload/../home/new", 226)   // the cleaned path decides
	stor("/home/a/../../up", 550)      // ... both ways
	stor("/home/a/deeper.txt", 226)    // recursive
	stor("/home/ro/deep/new.txt", 550) // the longer override wins
	stor("/dropbox/drop.txt", 226)
	stor("/dropbox/inner/drop.txt", 550)
	c.run([]step{
		{"CWD /upload", 250, ""},
		{"MKD newdir", 550, "Permission denied."}, // elrw has no m
		{"CWD /home", 250, ""},
		{"MKD a/b", 257, `"/home/a/b" directory created.`},
		{"DELE a/file", 250, ""},
		{"CWD ro", 250, ""},
		{"MKD x", 550, "Permission denied."},
		{"DELE deep/x.txt", 550, "Permission denied."},
		{"CWD /dropbox", 550, "Permission denied."},
		{"SIZE /dropbox/drop.txt", 550, "Permission denied."},
		{"RNFR /home/a/file2", 350, ""},
		{"RNTO /f2", 550, "Permission denied."}, // the destination needs f too
		{"RNFR /home/a/file2", 350, ""},
		{"RNTO /home/moved", 250, ""},
		{"RNFR /f", 550, "Permission denied."},
	})
	for name, want := range map[string]bool{
		"upload/new.txt": true, "upload/sub/new.txt": false, "uploadx/new.txt": false, "new.txt": false,
		"home/new": true, "up": false, "home/a/deeper.txt": true, "home/ro/deep/new.txt": false,
		"dropbox/drop.txt": true, "dropbox/inner/drop.txt": false, "home/a/b": true, "home/a/file": false,
		"home/ro/x": false, "home/ro/deep/x.txt": true, "home/moved": true, "f2": false,
	} {
		wantOnDisk(t, srv.Dir, name, want)
	}
	wantContent(t, srv.Dir, "upload/exists.txt", "old")
}

func TestPermissionsFor(t *testing.T) {
	ps := ftp.Permissions{
		Default: ftp.PermRead,
		Overrides: []ftp.PermOverride{
			{Dir: "/a", Perm: ftp.PermChdir},
			{Dir: "/a/b", Perm: ftp.PermList, Recursive: true},
			{Dir: "/a/b/c", Perm: ftp.PermStore},
			{Dir: "x/", Perm: ftp.PermDelete, Recursive: true},
			{Dir: "/", Perm: ftp.PermRename},
		},
	}
	tests := []struct {
		path string
		want ftp.Perm
	}{
		{"/", ftp.PermRename},
		{"/top", ftp.PermRename},        // "/" covers its direct entries
		{"/other/deeper", ftp.PermRead}, // but not below: default
		{"/a", ftp.PermChdir},
		{"/a/f", ftp.PermChdir},
		{"/a/d/f", ftp.PermRead},
		{"/ab", ftp.PermRename},
		{"/ab/c", ftp.PermRead},
		{"/a/b", ftp.PermList},
		{"/a/b/f", ftp.PermList},
		{"/a/b/d/e/f", ftp.PermList},
		{"/a/b/c", ftp.PermStore},
		{"/a/b/c/f", ftp.PermStore},
		{"/a/b/c/d/f", ftp.PermList}, // back to the recursive parent
		{"/x", ftp.PermDelete},
		{"/x/y/z", ftp.PermDelete},
		{"/xy", ftp.PermRename},
	}
	for _, tt := range tests {
		if got := ps.For(tt.path); got != tt.want {
			t.Errorf("For(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
	var none ftp.Permissions
	if got := none.For("/a"); got != 0 {
		t.Errorf("zero Permissions give %q, want nothing", got)
	}
}

func TestParsePerm(t *testing.T) {
	tests := []struct {
		in   string
		want string // canonical; "!" for an error
	}{
		{"", ""},
		{"elr", "elr"},
		{"rle", "elr"},
		{"eellrr", "elr"},
		{"TMwmfdarle", "elradfmwMT"},
		{"x", "!"},
		{"elr ", "!"},
		{"E", "!"},
		{"t", "!"},
	}
	for _, tt := range tests {
		p, err := ftp.ParsePerm(tt.in)
		switch {
		case tt.want == "!" && err == nil:
			t.Errorf("ParsePerm(%q) = %q, want an error", tt.in, p)
		case tt.want != "!" && (err != nil || p.String() != tt.want):
			t.Errorf("ParsePerm(%q) = %q, %v; want %q", tt.in, p, err, tt.want)
		}
	}
	if ftp.PermRead.String() != "elr" || ftp.PermAll.String() != "elradfmwMT" || ftp.PermWrite.String() != "adfmwMT" {
		t.Errorf("PermRead, PermAll, PermWrite = %q, %q, %q", ftp.PermRead, ftp.PermAll, ftp.PermWrite)
	}
	if !ftp.PermAll.Has(ftp.PermRead) || ftp.PermRead.Has(ftp.PermRead|ftp.PermStore) {
		t.Error("Has is wrong")
	}
	defer func() {
		if recover() == nil {
			t.Error("MustParsePerm(\"q\") did not panic")
		}
	}()
	ftp.MustParsePerm("q")
}
