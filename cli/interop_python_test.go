package cli_test

import (
	"path/filepath"
	"strconv"
	"strings"
)

// Python's ftplib, FTP and FTP_TLS (with PROT P), driven by
// testdata/interop/ftplib_client.py.
func pythonClient() *interopClient {
	return &interopClient{
		name:       "python",
		title:      "Python `ftplib`",
		how:        "`testdata/interop/ftplib_client.py`: `FTP`, or `FTP_TLS` with `prot_p()` and the certificate as CA; `set_pasv(False)` for active mode; `retrbinary`/`storbinary` with `rest=` to resume; `nlst`, `mkd`, `delete`, `rename`; `mlsd` to walk the tree.",
		bins:       []string{"python3"},
		modes:      interopModes,
		noTLSReuse: "ftplib opens each data connection with a new TLS session (CPython issue #63699); subclassing `FTP_TLS.ntransfercmd` to pass `session=self.sock.session` works around it.",
		cells: map[interopOp]interopCell{
			opLogin: {run: func(e *ienv) {
				e.testLogin(func() {
					if got := strings.TrimSpace(e.python("login")); got != "/" {
						e.t.Errorf("pwd after login: %q, want /", got)
					}
				})
			}},
			opAnonymous: {run: func(e *ienv) {
				e.testAnonymous(
					func(remote, local string) { e.python("get", remote, local) },
					func(local, remote string) error {
						_, _, err := e.exec("", "python3", e.pythonArgs("put", local, remote)...)
						return err
					})
			}},
			opList: {run: func(e *ienv) {
				e.testList(func(dir string) []string { return strings.Split(strings.TrimSpace(e.python("list", dir)), "\n") })
			}},
			opDownload: {run: func(e *ienv) {
				e.testDownload(func(remote, local string) { e.python("get", remote, local) })
			}},
			opUpload: {run: func(e *ienv) {
				e.testUpload(func(local, remote string) { e.python("put", local, remote) })
			}},
			opResume: {run: func(e *ienv) {
				e.testResume(
					func(remote, local string) { e.python("reget", remote, local) },
					func(local, remote string) { e.python("reput", local, remote) })
			}},
			opMkdir: {run: func(e *ienv) {
				e.testMkdir(func(remote string) { e.python("mkdir", remote) })
			}},
			opDelete: {run: func(e *ienv) {
				e.testDelete(func(remote string) { e.python("delete", remote) })
			}},
			opRename: {run: func(e *ienv) {
				e.testRename(func(from, to string) { e.python("rename", from, to) })
			}},
			opTree: {run: func(e *ienv) {
				e.testTree(
					func(remote, local string) { e.python("mirror-down", remote, local) },
					func(local, remote string) { e.python("mirror-up", local, remote) })
			}},
		},
	}
}

// pythonArgs is the command line of the script for the cell.
func (e *ienv) pythonArgs(args ...string) []string {
	script, err := filepath.Abs(filepath.Join("testdata", "interop", "ftplib_client.py"))
	if err != nil {
		e.t.Fatal(err)
	}
	a := []string{script, "--port", strconv.Itoa(e.p.info.Port)}
	if !e.anon {
		a = append(a, "--user", interopUser, "--password", interopPass)
	}
	if e.mode.active() {
		a = append(a, "--active")
	}
	if e.mode.tls() {
		a = append(a, "--tls", "--cafile", e.caFile())
	}
	return append(a, args...)
}

// python runs the script; it must succeed.
func (e *ienv) python(args ...string) string {
	e.t.Helper()
	return e.run("python3", e.pythonArgs(args...)...)
}
