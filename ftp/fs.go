package ftp

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"time"
)

// FileSystem is the storage a user sees. Every name it receives is a virtual
// path: absolute, slash-separated and cleaned ("/", "/a/b"), already resolved
// against the session's working directory, so an implementation never sees
// "..". An implementation must keep every name inside its own tree.
//
// The default implementation, [RootFS], is a directory on disk jailed with
// [os.Root]. When a File is an [*os.File], transfers use sendfile and splice.
type FileSystem interface {
	// OpenFile opens a file or directory like [os.OpenFile].
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	// Stat follows symbolic links; Lstat does not.
	Stat(name string) (fs.FileInfo, error)
	Lstat(name string) (fs.FileInfo, error)
	// Readlink returns a symbolic link's target, for listings.
	Readlink(name string) (string, error)
	Mkdir(name string, perm fs.FileMode) error
	// Remove removes a file or an empty directory.
	Remove(name string) error
	Rename(oldname, newname string) error
	Chmod(name string, mode fs.FileMode) error
	Chtimes(name string, atime, mtime time.Time) error
}

// File is an open file or directory of a [FileSystem]. An [*os.File] is one.
type File interface {
	io.Reader
	io.Writer
	io.Seeker
	io.Closer
	Stat() (fs.FileInfo, error)
	// ReadDir reads directory entries in directory order, n at a time, as
	// [os.File.ReadDir] does, so that large directories stream.
	ReadDir(n int) ([]fs.DirEntry, error)
}

// RootFS is a [FileSystem] on a directory of the local disk. It is built on
// [os.Root], so no name, "..", or symbolic link can reach outside the
// directory; a link that points outside (or is absolute) behaves as if it
// did not resolve.
type RootFS struct {
	root *os.Root
}

// NewRootFS opens dir as a jailed filesystem. Close it when done.
func NewRootFS(dir string) (*RootFS, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("ftp: open root %s: %w", dir, err)
	}
	return &RootFS{root: r}, nil
}

// Sub returns a filesystem for the directory name inside r, jailed there.
func (r *RootFS) Sub(name string) (*RootFS, error) {
	sub, err := r.root.OpenRoot(rel(name))
	if err != nil {
		return nil, fmt.Errorf("ftp: open root %s: %w", name, err)
	}
	return &RootFS{root: sub}, nil
}

// Dir returns the directory on disk that r serves.
func (r *RootFS) Dir() string { return r.root.Name() }

// Close releases the directory handle.
func (r *RootFS) Close() error { return r.root.Close() }

// rel turns a virtual path into the relative form os.Root requires.
func rel(name string) string {
	name = path.Clean("/" + name)
	if name == "/" {
		return "."
	}
	return name[1:]
}

// OpenFile implements [FileSystem]; the File is an [*os.File].
func (r *RootFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := r.root.OpenFile(rel(name), flag, perm)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Stat implements [FileSystem].
func (r *RootFS) Stat(name string) (fs.FileInfo, error) { return r.root.Stat(rel(name)) }

// Lstat implements [FileSystem].
func (r *RootFS) Lstat(name string) (fs.FileInfo, error) { return r.root.Lstat(rel(name)) }

// Readlink implements [FileSystem].
func (r *RootFS) Readlink(name string) (string, error) { return r.root.Readlink(rel(name)) }

// Mkdir implements [FileSystem].
func (r *RootFS) Mkdir(name string, perm fs.FileMode) error { return r.root.Mkdir(rel(name), perm) }

// Remove implements [FileSystem].
func (r *RootFS) Remove(name string) error { return r.root.Remove(rel(name)) }

// Rename implements [FileSystem].
func (r *RootFS) Rename(oldname, newname string) error {
	return r.root.Rename(rel(oldname), rel(newname))
}

// Chmod implements [FileSystem].
func (r *RootFS) Chmod(name string, mode fs.FileMode) error { return r.root.Chmod(rel(name), mode) }

// Chtimes implements [FileSystem].
func (r *RootFS) Chtimes(name string, atime, mtime time.Time) error {
	return r.root.Chtimes(rel(name), atime, mtime)
}

// Lchown changes the owner of name without following a final symbolic link.
// It is not part of [FileSystem]; servers running as root use it to give new
// files to the account that created them.
func (r *RootFS) Lchown(name string, uid, gid int) error {
	return r.root.Lchown(rel(name), uid, gid)
}

// errEscapeText is what os.Root reports for a path that leaves the root; it
// has no exported sentinel, so it is recognised by its text.
const errEscapeText = "path escapes from parent"

// isEscape reports whether err says a path (through a symbolic link) tried to
// leave the jail.
func isEscape(err error) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if err.Error() == errEscapeText {
			return true
		}
	}
	return false
}
