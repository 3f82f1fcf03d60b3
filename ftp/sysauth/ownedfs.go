package sysauth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
)

// homeFS is what ownedFS needs of the filesystem it wraps: *ftp.RootFS.
type homeFS interface {
	ftp.FileSystem
	// Lchown gives name to uid and gid without following a symbolic link.
	Lchown(name string, uid, gid int) error
	// Dir is the directory on disk; the engine keys upload locks on it, so
	// users whose homes overlap share them.
	Dir() string
}

// identity is the account a session acts for.
type identity struct {
	uid, gid int
	groups   []int // supplementary groups
}

func (id identity) inGroup(gid int) bool {
	return gid == id.gid || slices.Contains(id.groups, gid)
}

// Access bits, as access(2) names them.
const (
	mayRead  = 4
	mayWrite = 2
	mayExec  = 1
)

// ownedFS is an account's home when the server runs as root. The server
// cannot take the account's identity for a goroutine, so this wrapper does
// what the kernel would have done for the account: it gives what it creates
// to the account, and checks access to what exists with the account's uid
// and groups against the owner/group/other bits.
//
// OpenFile returns the *os.File of the RootFS unchanged: the engine's
// zero-copy transfers need the concrete type.
type ownedFS struct {
	root  homeFS
	id    identity
	owner func(fs.FileInfo) (uid, gid int, ok bool)
}

func newOwnedFS(root homeFS, id identity, owner func(fs.FileInfo) (int, int, bool)) *ownedFS {
	return &ownedFS{root: root, id: id, owner: owner}
}

// Dir returns the directory on disk that the home is.
func (o *ownedFS) Dir() string { return o.root.Dir() }

// may reports whether the account may access fi with want (mayRead,
// mayWrite, mayExec), by the rules the kernel applies to an unprivileged
// process: the owner bits if it owns the file, else the group bits if it is
// in the file's group, else the other bits. An unknown owner is refused.
func (o *ownedFS) may(fi fs.FileInfo, want uint32) bool {
	uid, gid, ok := o.owner(fi)
	if !ok {
		return false
	}
	perm := uint32(fi.Mode().Perm())
	var bits uint32
	switch {
	case uid == o.id.uid:
		bits = perm >> 6
	case o.id.inGroup(gid):
		bits = perm >> 3
	default:
		bits = perm
	}
	return bits&want == want
}

// owns reports whether the account owns fi.
func (o *ownedFS) owns(fi fs.FileInfo) bool {
	uid, _, ok := o.owner(fi)
	return ok && uid == o.id.uid
}

func denied(op, name string) error {
	return &fs.PathError{Op: op, Path: name, Err: fs.ErrPermission}
}

// mayChangeDir checks that the account may add or remove entries in dir.
func (o *ownedFS) mayChangeDir(op, dir string) error {
	fi, err := o.root.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() || !o.may(fi, mayWrite|mayExec) {
		return denied(op, dir)
	}
	return nil
}

// mayUnlink checks that the account may remove (or rename away) name: it
// may change the directory, and in a sticky directory (such as /tmp) it
// owns the entry or the directory.
func (o *ownedFS) mayUnlink(op, name string) error {
	dir := path.Dir(name)
	dfi, err := o.root.Stat(dir)
	if err != nil {
		return err
	}
	if !dfi.IsDir() || !o.may(dfi, mayWrite|mayExec) {
		return denied(op, dir)
	}
	if dfi.Mode()&fs.ModeSticky == 0 {
		return nil
	}
	fi, err := o.root.Lstat(name)
	if err != nil {
		return err
	}
	if !o.owns(fi) && !o.owns(dfi) {
		return denied(op, name)
	}
	return nil
}

// chownFile gives a file just created to the account: through its
// descriptor when it has one, so that no path can be swapped in between.
func (o *ownedFS) chownFile(f ftp.File, name string) error {
	if c, ok := f.(interface{ Chown(uid, gid int) error }); ok {
		return c.Chown(o.id.uid, o.id.gid)
	}
	return o.root.Lchown(name, o.id.uid, o.id.gid)
}

// accessFor is the access an open flag asks for.
func accessFor(flag int) uint32 {
	switch flag & (os.O_WRONLY | os.O_RDWR) {
	case os.O_WRONLY:
		return mayWrite
	case os.O_RDWR:
		return mayRead | mayWrite
	}
	return mayRead
}

// OpenFile implements [ftp.FileSystem]. A file it creates is given to the
// account at once. An existing file is checked after opening, on the open
// descriptor, so the check and the file cannot differ; O_TRUNC is applied
// only after that check, lest it destroy a file the account may not write.
//
// Only a file this call created changes owner. Always chowning would be
// simpler, but STOR opens existing files with O_CREATE too, and it would
// then hand the account a file that another user owns and merely lets it
// write.
func (o *ownedFS) OpenFile(name string, flag int, perm fs.FileMode) (ftp.File, error) {
	trunc := flag&os.O_TRUNC != 0
	flag &^= os.O_TRUNC
	var dirErr error
	if flag&os.O_CREATE != 0 {
		// Create with O_EXCL, so that "created" is known, not guessed: a
		// file that appears in between makes this fail and is then opened
		// as an existing file below.
		if dirErr = o.mayChangeDir("open", path.Dir(name)); dirErr == nil {
			f, err := o.root.OpenFile(name, flag|os.O_EXCL, perm)
			if err == nil {
				if err := o.chownFile(f, name); err != nil {
					f.Close()
					o.root.Remove(name)
					return nil, fmt.Errorf("sysauth: give new file %s to uid %d: %w", name, o.id.uid, err)
				}
				return f, nil
			}
			if flag&os.O_EXCL != 0 || !errors.Is(err, fs.ErrExist) {
				return nil, err
			}
		} else if flag&os.O_EXCL != 0 {
			return nil, dirErr
		}
		// An existing file may be writable in a directory that is not.
		flag &^= os.O_CREATE
	}
	f, err := o.root.OpenFile(name, flag, 0)
	if err != nil {
		if dirErr != nil && errors.Is(err, fs.ErrNotExist) {
			return nil, dirErr // the account could not have created it
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !o.may(fi, accessFor(flag)) {
		f.Close()
		return nil, denied("open", name)
	}
	if trunc {
		t, ok := f.(interface{ Truncate(int64) error })
		if !ok {
			f.Close()
			return nil, fmt.Errorf("sysauth: open %s: the file cannot be truncated", name)
		}
		if err := t.Truncate(0); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// Stat implements [ftp.FileSystem].
func (o *ownedFS) Stat(name string) (fs.FileInfo, error) { return o.root.Stat(name) }

// Lstat implements [ftp.FileSystem].
func (o *ownedFS) Lstat(name string) (fs.FileInfo, error) { return o.root.Lstat(name) }

// Readlink implements [ftp.FileSystem].
func (o *ownedFS) Readlink(name string) (string, error) { return o.root.Readlink(name) }

// Mkdir implements [ftp.FileSystem]; the new directory belongs to the account.
func (o *ownedFS) Mkdir(name string, perm fs.FileMode) error {
	if err := o.mayChangeDir("mkdir", path.Dir(name)); err != nil {
		return err
	}
	if err := o.root.Mkdir(name, perm); err != nil {
		return err
	}
	if err := o.root.Lchown(name, o.id.uid, o.id.gid); err != nil {
		o.root.Remove(name)
		return fmt.Errorf("sysauth: give new directory %s to uid %d: %w", name, o.id.uid, err)
	}
	return nil
}

// Remove implements [ftp.FileSystem].
func (o *ownedFS) Remove(name string) error {
	if err := o.mayUnlink("remove", name); err != nil {
		return err
	}
	return o.root.Remove(name)
}

// Rename implements [ftp.FileSystem].
func (o *ownedFS) Rename(oldname, newname string) error {
	if err := o.mayUnlink("rename", oldname); err != nil {
		return err
	}
	if _, err := o.root.Lstat(newname); err == nil {
		if err := o.mayUnlink("rename", newname); err != nil {
			return err
		}
	} else if err := o.mayChangeDir("rename", path.Dir(newname)); err != nil {
		return err
	}
	// Moving a directory elsewhere rewrites its "..", which needs write
	// permission on the directory itself.
	if src, err := o.root.Lstat(oldname); err == nil && src.IsDir() &&
		path.Dir(oldname) != path.Dir(newname) && !o.may(src, mayWrite) {
		return denied("rename", oldname)
	}
	return o.root.Rename(oldname, newname)
}

// Chmod implements [ftp.FileSystem]: only the owner may change a mode, as
// chmod(2) says, and setgid is dropped on a file of a group the account is
// not in. Owner and mode are read from an open descriptor and changed
// through it, so a symbolic link swapped in between cannot redirect the
// change to a file of someone else (say, a setuid bit onto root's file).
func (o *ownedFS) Chmod(name string, mode fs.FileMode) error {
	fi, err := o.root.Stat(name)
	if err != nil {
		return err
	}
	// Opening a device or a FIFO could block or act on hardware: only
	// files and directories change mode over FTP.
	if !fi.Mode().IsRegular() && !fi.IsDir() {
		return denied("chmod", name)
	}
	f, err := o.root.OpenFile(name, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() && !fi.IsDir() || !o.owns(fi) {
		return denied("chmod", name)
	}
	if _, gid, _ := o.owner(fi); !o.id.inGroup(gid) {
		mode &^= fs.ModeSetgid
	}
	if c, ok := f.(interface{ Chmod(fs.FileMode) error }); ok {
		return c.Chmod(mode)
	}
	return o.root.Chmod(name, mode)
}

// Chtimes implements [ftp.FileSystem]: setting explicit times is for the
// owner only, as utimensat(2) says.
func (o *ownedFS) Chtimes(name string, atime, mtime time.Time) error {
	fi, err := o.root.Stat(name)
	if err != nil {
		return err
	}
	if !o.owns(fi) {
		return denied("chtimes", name)
	}
	return o.root.Chtimes(name, atime, mtime)
}
