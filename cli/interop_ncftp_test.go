package cli_test

import (
	"os"
	"path/filepath"
	"strings"
)

// ncftp's batch tools: ncftpget, ncftpput and ncftpls. They have no
// FTPS. Their own ways to make, delete and rename: ncftpput -m makes the
// target directory, ncftpget -DD deletes the remote file once it is
// down, ncftpput -S uploads under a temporary name then renames.
func ncftpClient() *interopClient {
	const noTLS = "ncftp has no FTPS."
	return &interopClient{
		name:  "ncftp",
		title: "ncftp (`ncftpget`/`ncftpput`/`ncftpls`)",
		how:   "`ncftpget`, `ncftpput` and `ncftpls -l` with `-u USER -p PASS -P PORT`, `-E` for active mode (`-F`, PASV, is their default); `ncftpget` resumes by itself, `ncftpput -z -s` resumes; `ncftpput -m` makes the directory, `ncftpget -DD` deletes, `ncftpput -S .tmp` renames; `-R` (and `-T`, no tar) for the tree.",
		bins:  []string{"ncftpget", "ncftpput", "ncftpls"},
		modes: []interopMode{modePassive, modeActive},
		noModes: map[interopMode]string{
			modeTLS:       noTLS,
			modeTLSActive: noTLS,
		},
		cells: map[interopOp]interopCell{
			opLogin: {run: func(e *ienv) {
				e.testLogin(func() { e.ncftp("ncftpls", e.ncftpURL("")) })
			}},
			opAnonymous: {run: func(e *ienv) {
				e.testAnonymous(
					func(remote, local string) { e.ncftp("ncftpget", "-C", "127.0.0.1", "/"+remote, local) },
					func(local, remote string) error {
						_, _, err := e.exec("", "ncftpput", e.ncftpArgs("-C", "127.0.0.1", local, "/"+remote)...)
						return err
					})
			}},
			opList: {run: func(e *ienv) {
				e.testList(func(dir string) []string { return lsNames(e.ncftp("ncftpls", "-l", e.ncftpURL(dir+"/"))) })
			}},
			opDownload: {run: func(e *ienv) {
				e.testDownload(func(remote, local string) { e.ncftp("ncftpget", "-C", "127.0.0.1", "/"+remote, local) })
			}},
			opUpload: {run: func(e *ienv) {
				e.testUpload(func(local, remote string) { e.ncftp("ncftpput", "-C", "127.0.0.1", local, "/"+remote) })
			}},
			opResume: {note: "`ncftpput -z` needs `-s`: without it, ncftpput 3.2.6 sends REST and then the whole file through sendfile(2), so the server appends it all after the part it had (a client bug; the result is too long).", run: func(e *ienv) {
				e.testResume(
					// ncftpget resumes a shorter local file of the same name (-z is its default).
					func(remote, local string) {
						e.ncftp("ncftpget", "-z", "127.0.0.1", filepath.Dir(local), "/"+remote)
					},
					func(local, remote string) {
						e.ncftp("ncftpput", "-z", "-s", "127.0.0.1", "/"+pathDir(remote), local)
					})
			}},
			opMkdir: {note: "`ncftpput -m` makes the directory it uploads into.", run: func(e *ienv) {
				e.testMkdir(func(remote string) {
					e.ncftp("ncftpput", "-m", "127.0.0.1", "/"+remote, e.writeFile(e.work, "x.txt", []byte("x\n")))
				})
			}},
			opDelete: {note: "`ncftpget -DD` deletes the file once downloaded.", run: func(e *ienv) {
				e.testDelete(func(remote string) {
					local := filepath.Join(e.work, "deleted")
					if err := os.Mkdir(local, 0o755); err != nil {
						e.t.Fatal(err)
					}
					e.ncftp("ncftpget", "-DD", "127.0.0.1", local, "/"+remote)
					e.sameBytes("ncftpget -DD", filepath.Join(local, pathBase(remote)), []byte("delete me\n"))
				})
			}},
			opRename: {note: "`ncftpput -S .tmp` uploads to NAME.tmp then renames it to NAME (RNFR, RNTO); the test renames nothing else.", run: func(e *ienv) {
				want := pattern(5, 70_000)
				if err := os.Mkdir(filepath.Join(e.share, "dir"), 0o755); err != nil {
					e.t.Fatal(err)
				}
				local := e.writeFile(e.work, "renamed file.bin", want)
				e.ncftp("ncftpput", "-S", ".tmp", "127.0.0.1", "/dir", local)
				e.sameBytes("ncftpput -S", filepath.Join(e.share, "dir", "renamed file.bin"), want)
				if exists(filepath.Join(e.share, "dir", "renamed file.bin.tmp")) {
					e.t.Errorf("ncftpput -S left its temporary file")
				}
				if !e.logged("verb=RNTO") {
					e.t.Errorf("ncftpput -S sent no RNTO")
				}
			}},
			opTree: {run: func(e *ienv) {
				e.testTree(
					func(remote, local string) {
						// ncftpget -R makes local/<base of remote>.
						if err := os.Mkdir(local+".parent", 0o755); err != nil {
							e.t.Fatal(err)
						}
						e.ncftp("ncftpget", "-R", "-T", "127.0.0.1", local+".parent", "/"+remote)
						if err := os.Rename(filepath.Join(local+".parent", remote), local); err != nil {
							e.t.Fatal(err)
						}
					},
					func(local, remote string) {
						// ncftpput -R makes <remote dir>/<base of local>.
						e.ncftp("ncftpput", "-R", "127.0.0.1", "/"+pathDir(remote), local)
					})
			}},
		},
	}
}

// ncftpArgs are the common flags for the cell, then args.
func (e *ienv) ncftpArgs(args ...string) []string {
	a := []string{"-t", "30", "-r", "0", "-P", e.port()}
	if !e.anon {
		a = append(a, "-u", interopUser, "-p", interopPass)
	}
	if e.mode.active() {
		a = append(a, "-E")
	} else {
		a = append(a, "-F")
	}
	return append(a, args...)
}

// ncftpURL is ncftpls's URL of a remote directory.
func (e *ienv) ncftpURL(remote string) string {
	return "ftp://127.0.0.1/" + escapePath(remote)
}

// ncftp runs ncftpget, ncftpput or ncftpls; it must succeed.
func (e *ienv) ncftp(tool string, args ...string) string {
	e.t.Helper()
	a := e.ncftpArgs(args...)
	if tool != "ncftpls" {
		a = append([]string{"-V"}, a...) // no progress meter
	}
	return e.run(tool, a...)
}

// pathDir and pathBase split a remote path ("/"-separated, relative).
func pathDir(p string) string {
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[:i]
	}
	return ""
}

func pathBase(p string) string { return p[strings.LastIndex(p, "/")+1:] }
