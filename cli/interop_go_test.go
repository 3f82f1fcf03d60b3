package cli_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	ftpc "github.com/jlaffaye/ftp"
)

// The Go client the other tests use, github.com/jlaffaye/ftp, in process.
func goClient() *interopClient {
	const noActive = "github.com/jlaffaye/ftp has no active mode."
	return &interopClient{
		name:  "go",
		title: "Go `jlaffaye/ftp`",
		how:   "`github.com/jlaffaye/ftp` in the test process (EPSV), with `DialWithExplicitTLS` for FTPS; `RetrFrom`/`StorFrom` to resume, `Walk` for the tree.",
		modes: []interopMode{modePassive, modeTLS},
		noModes: map[interopMode]string{
			modeActive:    noActive,
			modeTLSActive: noActive,
		},
		cells: map[interopOp]interopCell{
			opLogin: {run: func(e *ienv) {
				e.testLogin(func() {
					if dir, err := e.goConn().CurrentDir(); err != nil || dir != "/" {
						e.t.Errorf("PWD after login: %q, %v", dir, err)
					}
				})
			}},
			opAnonymous: {run: func(e *ienv) {
				c := e.goConn()
				e.testAnonymous(
					func(remote, local string) { goGet(e, c, remote, local, 0) },
					func(local, remote string) error {
						f, err := os.Open(local)
						if err != nil {
							e.t.Fatal(err)
						}
						defer f.Close()
						return c.Stor(remote, f)
					})
			}},
			opList: {run: func(e *ienv) {
				e.testList(func(dir string) []string {
					entries, err := e.goConn().List(dir)
					if err != nil {
						e.t.Fatalf("List: %v", err)
					}
					var names []string
					for _, en := range entries {
						names = append(names, en.Name)
					}
					return names
				})
			}},
			opDownload: {run: func(e *ienv) {
				e.testDownload(func(remote, local string) { goGet(e, e.goConn(), remote, local, 0) })
			}},
			opUpload: {run: func(e *ienv) {
				e.testUpload(func(local, remote string) { goPut(e, e.goConn(), local, remote, 0) })
			}},
			opResume: {run: func(e *ienv) {
				c := e.goConn()
				e.testResume(
					func(remote, local string) {
						fi, err := os.Stat(local)
						if err != nil {
							e.t.Fatal(err)
						}
						goGet(e, c, remote, local, fi.Size())
					},
					func(local, remote string) {
						size, err := c.FileSize(remote)
						if err != nil {
							e.t.Fatalf("SIZE: %v", err)
						}
						goPut(e, c, local, remote, size)
					})
			}},
			opMkdir: {run: func(e *ienv) {
				e.testMkdir(func(remote string) {
					if err := e.goConn().MakeDir(remote); err != nil {
						e.t.Fatalf("MKD: %v", err)
					}
				})
			}},
			opDelete: {run: func(e *ienv) {
				e.testDelete(func(remote string) {
					if err := e.goConn().Delete(remote); err != nil {
						e.t.Fatalf("DELE: %v", err)
					}
				})
			}},
			opRename: {run: func(e *ienv) {
				e.testRename(func(from, to string) {
					if err := e.goConn().Rename(from, to); err != nil {
						e.t.Fatalf("rename: %v", err)
					}
				})
			}},
			opTree: {run: func(e *ienv) {
				c := e.goConn()
				e.testTree(
					func(remote, local string) {
						w := c.Walk(remote)
						for w.Next() {
							if w.Stat().Type != ftpc.EntryTypeFile {
								continue
							}
							rel := strings.TrimPrefix(w.Path(), remote+"/")
							dst := filepath.Join(local, filepath.FromSlash(rel))
							if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
								e.t.Fatal(err)
							}
							goGet(e, c, w.Path(), dst, 0)
						}
						if err := w.Err(); err != nil {
							e.t.Fatalf("walk: %v", err)
						}
					},
					func(local, remote string) {
						err := filepath.WalkDir(local, func(p string, d os.DirEntry, err error) error {
							if err != nil {
								return err
							}
							rel, _ := filepath.Rel(local, p)
							dst := remote + "/" + filepath.ToSlash(rel)
							if rel == "." {
								dst = remote
							}
							if d.IsDir() {
								return c.MakeDir(dst)
							}
							goPut(e, c, p, dst, 0)
							return nil
						})
						if err != nil {
							e.t.Fatalf("upload tree: %v", err)
						}
					})
			}},
		},
	}
}

// goConn logs in for the cell. Every connection it makes, control and
// data, has a deadline.
func (e *ienv) goConn() *ftpc.ServerConn {
	e.t.Helper()
	var tlsConfig *tls.Config
	if e.mode.tls() {
		tlsConfig = trust(e.t, e.p)
	}
	first := true
	dial := func(network, addr string) (net.Conn, error) {
		c, err := net.DialTimeout(network, addr, ioTimeout)
		if err != nil {
			return nil, err
		}
		c.SetDeadline(time.Now().Add(clientTimeout))
		if first || tlsConfig == nil {
			first = false // the library itself starts TLS on the control connection
			return c, nil
		}
		return tls.Client(c, tlsConfig), nil
	}
	opts := []ftpc.DialOption{ftpc.DialWithDialFunc(dial)}
	if tlsConfig != nil {
		opts = append(opts, ftpc.DialWithExplicitTLS(tlsConfig))
	}
	c, err := ftpc.Dial(e.p.Addr(), opts...)
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	e.t.Cleanup(func() { c.Quit() })
	user, pass := interopUser, interopPass
	if e.anon {
		user, pass = "anonymous", "go@example.com"
	}
	if err := c.Login(user, pass); err != nil {
		e.t.Fatalf("login: %v", err)
	}
	return c
}

// goGet downloads remote into local from offset (appending to local when
// offset is not 0).
func goGet(e *ienv, c *ftpc.ServerConn, remote, local string, offset int64) {
	e.t.Helper()
	r, err := c.RetrFrom(remote, uint64(offset))
	if err != nil {
		e.t.Fatalf("RETR %s: %v", remote, err)
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if offset > 0 {
		flags = os.O_WRONLY | os.O_APPEND
	}
	f, err := os.OpenFile(local, flags, 0o644)
	if err != nil {
		e.t.Fatal(err)
	}
	_, err = io.Copy(f, r)
	err = errors.Join(err, r.Close(), f.Close())
	if err != nil {
		e.t.Fatalf("RETR %s: %v", remote, err)
	}
}

// goPut uploads local to remote from offset.
func goPut(e *ienv, c *ftpc.ServerConn, local, remote string, offset int64) {
	e.t.Helper()
	f, err := os.Open(local)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		e.t.Fatal(err)
	}
	if err := c.StorFrom(remote, f, uint64(offset)); err != nil {
		e.t.Fatalf("STOR %s: %v", remote, err)
	}
}
