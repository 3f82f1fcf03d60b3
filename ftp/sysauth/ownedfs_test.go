//go:build unix

package sysauth

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
)

// recordingFS is a RootFS whose Lchown records instead of changing owners,
// so that the tests run without root.
type recordingFS struct {
	*ftp.RootFS
	mu     sync.Mutex
	chowns []string
}

func (r *recordingFS) Lchown(name string, uid, gid int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.chowns = append(r.chowns, name)
	return nil
}

// fakeOwners says who owns files by base name; others keep their real
// owner. The account is the test process itself, so the kernel lets every
// operation through and only ownedFS's own checks can refuse.
type fakeOwners map[string][2]int

func (o fakeOwners) owner(fi fs.FileInfo) (int, int, bool) {
	if ids, ok := o[fi.Name()]; ok {
		return ids[0], ids[1], true
	}
	return fileOwner(fi)
}

const (
	otherUID    = 7001
	otherGID    = 7002
	sharedGroup = 7003 // a supplementary group of the account
)

// newOwnedTest returns an ownedFS for the test process as the account, on
// a directory holding:
//
//	mine.txt         the account's, 0644
//	theirs.txt       another user's, 0644
//	private.txt      another user's, 0600
//	shared.txt       another user's, group sharedGroup, 0664
//	locked/          another user's directory, 0755, with locked/in.txt (the account's, 0644)
//	sticky/          another user's directory, 01777, with sticky/their.txt and sticky/my.txt
func newOwnedTest(t *testing.T) (*ownedFS, *recordingFS, string) {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, mode fs.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("content of "+name), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []struct {
		name string
		mode fs.FileMode
	}{{"locked", 0o755}, {"sticky", 0o777 | fs.ModeSticky}} {
		if err := os.Mkdir(filepath.Join(dir, d.name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, d.name), d.mode); err != nil {
			t.Fatal(err)
		}
	}
	write("mine.txt", 0o644)
	write("theirs.txt", 0o644)
	write("private.txt", 0o600)
	write("shared.txt", 0o664)
	write("locked/in.txt", 0o644)
	write("sticky/their.txt", 0o644)
	write("sticky/my.txt", 0o644)
	owners := fakeOwners{
		"theirs.txt":  {otherUID, otherGID},
		"private.txt": {otherUID, otherGID},
		"shared.txt":  {otherUID, sharedGroup},
		"locked":      {otherUID, otherGID},
		"sticky":      {otherUID, otherGID},
		"their.txt":   {otherUID, otherGID},
	}
	root, err := ftp.NewRootFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	rec := &recordingFS{RootFS: root}
	id := identity{uid: os.Geteuid(), gid: os.Getegid(), groups: []int{sharedGroup}}
	return newOwnedFS(rec, id, owners.owner), rec, dir
}

func isDenied(err error) bool { return errors.Is(err, fs.ErrPermission) }

func TestOwnedFSMay(t *testing.T) {
	o, _, _ := newOwnedTest(t)
	for _, tc := range []struct {
		name string
		want uint32
		ok   bool
	}{
		{"/mine.txt", mayRead | mayWrite, true},
		{"/mine.txt", mayExec, false},
		{"/theirs.txt", mayRead, true},
		{"/theirs.txt", mayWrite, false},
		{"/private.txt", mayRead, false},
		{"/shared.txt", mayRead | mayWrite, true},
		{"/locked", mayRead | mayExec, true},
		{"/locked", mayWrite, false},
		{"/sticky", mayWrite | mayExec, true},
	} {
		fi, err := o.Stat(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if got := o.may(fi, tc.want); got != tc.ok {
			t.Errorf("may(%s, %o) = %v, want %v", tc.name, tc.want, got, tc.ok)
		}
	}
	unknown := &ownedFS{id: o.id, owner: func(fs.FileInfo) (int, int, bool) { return 0, 0, false }}
	fi, _ := o.Stat("/mine.txt")
	if unknown.may(fi, mayRead) {
		t.Error("a file whose owner is unknown must be refused")
	}
}

func TestOwnedFSOpenExisting(t *testing.T) {
	o, rec, dir := newOwnedTest(t)
	for _, tc := range []struct {
		name string
		flag int
		ok   bool
	}{
		{"/mine.txt", os.O_RDONLY, true},
		{"/mine.txt", os.O_RDWR, true},
		{"/theirs.txt", os.O_RDONLY, true},
		{"/theirs.txt", os.O_WRONLY, false},
		{"/theirs.txt", os.O_WRONLY | os.O_CREATE, false}, // STOR over it
		{"/private.txt", os.O_RDONLY, false},
		{"/shared.txt", os.O_WRONLY | os.O_CREATE, true},
		{"/locked/in.txt", os.O_WRONLY | os.O_CREATE, true}, // a writable file in a locked directory
		{"/locked", os.O_RDONLY, true},                      // listing
	} {
		f, err := o.OpenFile(tc.name, tc.flag, 0o644)
		if tc.ok != (err == nil) || !tc.ok && !isDenied(err) {
			t.Errorf("OpenFile(%s, %#x) = %v, want ok=%v", tc.name, tc.flag, err, tc.ok)
		}
		if err == nil {
			if _, isOS := f.(*os.File); !isOS {
				t.Errorf("OpenFile returned %T: the zero-copy path needs the *os.File", f)
			}
			f.Close()
		}
	}
	if len(rec.chowns) != 0 {
		t.Errorf("opening existing files changed owners of %v", rec.chowns)
	}

	// O_TRUNC is applied only once the file may be written.
	if _, err := o.OpenFile("/theirs.txt", os.O_WRONLY|os.O_TRUNC, 0); !isDenied(err) {
		t.Errorf("OpenFile(theirs, O_TRUNC) = %v, want permission denied", err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "theirs.txt")); string(data) != "content of theirs.txt" {
		t.Errorf("a refused O_TRUNC truncated the file to %q", data)
	}
	f, err := o.OpenFile("/mine.txt", os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, _ := os.Stat(filepath.Join(dir, "mine.txt")); fi.Size() != 0 {
		t.Errorf("O_TRUNC left %d bytes", fi.Size())
	}
}

func TestOwnedFSCreate(t *testing.T) {
	o, _, dir := newOwnedTest(t)
	for _, flag := range []int{os.O_WRONLY | os.O_CREATE | os.O_EXCL, os.O_WRONLY | os.O_CREATE} {
		f, err := o.OpenFile("/locked/new.txt", flag, 0o644)
		if !isDenied(err) {
			t.Errorf("creating in another user's 0755 directory (flag %#x) = %v, want permission denied", flag, err)
		}
		if err == nil {
			f.Close()
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "locked/new.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused create left a file: %v", err)
	}

	// Created files belong to the account: through the descriptor (the
	// test process gives them to itself, which needs no privilege).
	f, err := o.OpenFile("/new.txt", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	f, err = o.OpenFile("/sticky/new.txt", os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatalf("creating in a sticky world-writable directory: %v", err)
	}
	f.Close()
	if _, err := o.OpenFile("/new.txt", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644); !errors.Is(err, fs.ErrExist) {
		t.Errorf("O_EXCL on an existing file = %v, want ErrExist", err)
	}
}

func TestOwnedFSMkdir(t *testing.T) {
	o, rec, _ := newOwnedTest(t)
	if err := o.Mkdir("/locked/sub", 0o755); !isDenied(err) {
		t.Errorf("Mkdir in another user's directory = %v, want permission denied", err)
	}
	if err := o.Mkdir("/sub", 0o755); err != nil {
		t.Fatal(err)
	}
	if len(rec.chowns) != 1 || rec.chowns[0] != "/sub" {
		t.Errorf("Lchown calls = %v, want [/sub]", rec.chowns)
	}
	if err := o.Mkdir("/sub", 0o755); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Mkdir of an existing directory = %v", err)
	}
	if len(rec.chowns) != 1 {
		t.Errorf("a failed Mkdir changed an owner: %v", rec.chowns)
	}
}

func TestOwnedFSRemoveAndRename(t *testing.T) {
	o, _, _ := newOwnedTest(t)
	for _, tc := range []struct {
		op   string
		err  error
		deny bool
	}{
		{"remove /locked/in.txt", o.Remove("/locked/in.txt"), true},
		{"remove /sticky/their.txt", o.Remove("/sticky/their.txt"), true},
		{"remove /sticky/my.txt", o.Remove("/sticky/my.txt"), false},
		{"rename /locked/in.txt out", o.Rename("/locked/in.txt", "/out.txt"), true},
		{"rename into /locked", o.Rename("/mine.txt", "/locked/mine.txt"), true},
		{"rename /theirs.txt in the home", o.Rename("/theirs.txt", "/theirs2.txt"), false},
		{"rename over /sticky/their.txt", o.Rename("/theirs2.txt", "/sticky/their.txt"), true},
		{"move /locked elsewhere", o.Rename("/locked", "/sticky/locked"), true},
		{"rename /locked in place", o.Rename("/locked", "/locked2"), false},
		{"remove /theirs2.txt", o.Remove("/theirs2.txt"), false},
	} {
		if tc.deny != isDenied(tc.err) || !tc.deny && tc.err != nil {
			t.Errorf("%s = %v, want denied=%v", tc.op, tc.err, tc.deny)
		}
	}
}

func TestOwnedFSChmodAndChtimes(t *testing.T) {
	o, _, dir := newOwnedTest(t)
	if err := o.Chmod("/theirs.txt", 0o777|fs.ModeSetuid); !isDenied(err) {
		t.Errorf("Chmod of another user's file = %v, want permission denied", err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "theirs.txt")); fi.Mode() != 0o644 {
		t.Errorf("another user's file has mode %v", fi.Mode())
	}
	if err := o.Chmod("/mine.txt", 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "mine.txt")); fi.Mode() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode())
	}
	if err := o.Chtimes("/theirs.txt", time.Time{}, time.Unix(1e9, 0)); !isDenied(err) {
		t.Errorf("Chtimes of another user's file = %v, want permission denied", err)
	}
	if err := o.Chtimes("/mine.txt", time.Time{}, time.Unix(1e9, 0)); err != nil {
		t.Errorf("Chtimes of the account's file: %v", err)
	}

	// setgid survives only on a file of one of the account's groups.
	notMine := &ownedFS{root: o.root, id: identity{uid: o.id.uid, gid: otherGID}, owner: o.owner}
	if err := notMine.Chmod("/mine.txt", 0o755|fs.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "mine.txt")); fi.Mode() != 0o755 {
		t.Errorf("mode = %v, want setgid dropped", fi.Mode())
	}
	if err := o.Chmod("/mine.txt", 0o755|fs.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "mine.txt")); fi.Mode() != 0o755|fs.ModeSetgid {
		t.Errorf("mode = %v, want setgid kept", fi.Mode())
	}
}

func TestOwnedFSDir(t *testing.T) {
	o, rec, _ := newOwnedTest(t)
	if o.Dir() != rec.Dir() {
		t.Errorf("Dir = %s, want %s (the engine's upload locks use it)", o.Dir(), rec.Dir())
	}
}

// TestOwnedFSChownsAsRoot checks the real ownership change, which only
// root can make.
func TestOwnedFSChownsAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a file's owner needs root")
	}
	dir := t.TempDir()
	if err := os.Chown(dir, 4242, 4243); err != nil { // the account's home
		t.Fatal(err)
	}
	// root's, and writable by all: the account may write it, not own it.
	if err := os.WriteFile(filepath.Join(dir, "existing.txt"), nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "existing.txt"), 0o666); err != nil {
		t.Fatal(err)
	}
	root, err := ftp.NewRootFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	o := newOwnedFS(root, identity{uid: 4242, gid: 4243}, fileOwner)
	f, err := o.OpenFile("/new.txt", os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := o.Mkdir("/newdir", 0o755); err != nil {
		t.Fatal(err)
	}
	f, err = o.OpenFile("/existing.txt", os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	for name, want := range map[string][2]int{"new.txt": {4242, 4243}, "newdir": {4242, 4243}, "existing.txt": {0, 0}} {
		fi, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if uid, gid, _ := fileOwner(fi); uid != want[0] || gid != want[1] {
			t.Errorf("%s is owned by %d:%d, want %d:%d", name, uid, gid, want[0], want[1])
		}
	}
}
