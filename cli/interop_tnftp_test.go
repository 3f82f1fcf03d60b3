package cli_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// tnftp, the BSD ftp client (Debian's ftp, macOS's old ftp), scripted on
// its standard input as a user would type. It has no FTPS.
func tnftpClient() *interopClient {
	const noTLS = "tnftp has no FTPS (its https:// is for HTTP)."
	return &interopClient{
		name:  "tnftp",
		title: "tnftp (BSD `ftp`)",
		how:   "`tnftp -n -v HOST PORT` with a script on stdin: `user`, `binary`, `passive off` for active mode, `ls`, `get`, `put`, `reget`, `restart N` + `put`, `mkdir`, `delete`, `rename`.",
		bins:  []string{"tnftp"},
		modes: []interopMode{modePassive, modeActive},
		noModes: map[interopMode]string{
			modeTLS:       noTLS,
			modeTLSActive: noTLS,
		},
		cells: map[interopOp]interopCell{
			opLogin: {run: func(e *ienv) {
				e.testLogin(func() { e.tnftp("pwd") })
			}},
			opAnonymous: {run: func(e *ienv) {
				e.testAnonymous(
					func(remote, local string) { e.tnftp("get " + tq(remote) + " " + tq(local)) },
					func(local, remote string) error {
						_, err := e.tnftpTry("put " + tq(local) + " " + tq(remote))
						return err
					})
			}},
			opList: {run: func(e *ienv) {
				e.testList(func(dir string) []string {
					// ls DIR FILE writes the listing (LIST) to a local file.
					out := filepath.Join(e.work, "listing.txt")
					e.tnftp("ls " + tq(dir) + " " + tq(out))
					return lsNames(string(e.readFile(out)))
				})
			}},
			opDownload: {run: func(e *ienv) {
				e.testDownload(func(remote, local string) { e.tnftp("get " + tq(remote) + " " + tq(local)) })
			}},
			opUpload: {run: func(e *ienv) {
				e.testUpload(func(local, remote string) { e.tnftp("put " + tq(local) + " " + tq(remote)) })
			}},
			opResume: {note: "`reget` down; `restart N` then `put` up.", run: func(e *ienv) {
				e.testResume(
					func(remote, local string) { e.tnftp("reget " + tq(remote) + " " + tq(local)) },
					func(local, remote string) {
						e.tnftp(fmt.Sprintf("restart %d", resumeFrom), "put "+tq(local)+" "+tq(remote))
					})
			}},
			opMkdir: {run: func(e *ienv) {
				e.testMkdir(func(remote string) { e.tnftp("mkdir " + tq(remote)) })
			}},
			opDelete: {run: func(e *ienv) {
				e.testDelete(func(remote string) { e.tnftp("delete " + tq(remote)) })
			}},
			opRename: {run: func(e *ienv) {
				e.testRename(func(from, to string) { e.tnftp("rename " + tq(from) + " " + tq(to)) })
			}},
			opTree: {note: "tnftp cannot recurse: one session runs a `get` per file (into directories the test makes) down, and `mkdir` per directory and `put` per file up.", run: func(e *ienv) {
				files := interopTree()
				e.testTree(
					func(remote, local string) {
						var cmds []string
						for _, rel := range sortedKeys(files) {
							dst := filepath.Join(local, filepath.FromSlash(rel))
							if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
								e.t.Fatal(err)
							}
							cmds = append(cmds, "get "+tq(remote+"/"+rel)+" "+tq(dst))
						}
						e.tnftpQuiet(cmds...)
					},
					func(local, remote string) {
						cmds := []string{"mkdir " + tq(remote)}
						for _, d := range treeDirsOf(files) {
							cmds = append(cmds, "mkdir "+tq(remote+"/"+d))
						}
						for _, rel := range sortedKeys(files) {
							cmds = append(cmds, "put "+tq(filepath.Join(local, filepath.FromSlash(rel)))+" "+tq(remote+"/"+rel))
						}
						e.tnftpQuiet(cmds...)
					})
			}},
		},
	}
}

// tq quotes a name for tnftp's command line.
func tq(s string) string { return `"` + s + `"` }

// tnftpScript is the script for cmds: log in, binary, the mode, cmds, quit.
func (e *ienv) tnftpScript(cmds ...string) string {
	s := []string{"user " + interopUser + " " + interopPass}
	if e.anon {
		s = []string{"user anonymous tnftp@example.com"}
	}
	s = append(s, "binary", "prompt off")
	if e.mode.active() {
		s = append(s, "passive off")
	} else {
		s = append(s, "passive on")
	}
	return strings.Join(append(append(s, cmds...), "quit"), "\n") + "\n"
}

// tnftpFailure matches a reply that means a command failed, or tnftp's
// own complaint. tnftp exits 0 whatever its commands did, so its output
// is the only report.
var tnftpFailure = regexp.MustCompile(`^[45]\d\d[ -]|^ftp: |^tnftp: `)

// tnftpFailed returns the first line of out that reports a failure.
func tnftpFailed(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if tnftpFailure.MatchString(l) && !strings.Contains(l, " bytes ") {
			return l
		}
	}
	return ""
}

// tnftpTry runs a script; it returns an error if tnftp failed or printed a
// failure reply.
func (e *ienv) tnftpTry(cmds ...string) (string, error) {
	e.t.Helper()
	script := e.tnftpScript(cmds...)
	out, errOut, err := e.exec(script, "tnftp", "-n", "-v", "127.0.0.1", e.port())
	if err == nil {
		if m := tnftpFailed(out + errOut); m != "" {
			err = errors.New(m)
		}
	}
	if err != nil {
		return out, fmt.Errorf("tnftp: %w\nscript:\n%s\nstdout:\n%s\nstderr:\n%s", err, clip(script), clip(out), clip(errOut))
	}
	return out, nil
}

// tnftp runs a script that must succeed.
func (e *ienv) tnftp(cmds ...string) string {
	e.t.Helper()
	out, err := e.tnftpTry(cmds...)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Logf("tnftp: %s: ok", strings.Join(cmds, "; "))
	return out
}

// tnftpQuiet is tnftp without the log line.
func (e *ienv) tnftpQuiet(cmds ...string) {
	e.t.Helper()
	if _, err := e.tnftpTry(cmds...); err != nil {
		e.t.Fatal(err)
	}
}
