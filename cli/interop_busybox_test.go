package cli_test

import (
	"os"
	"path/filepath"
)

// busybox ftpget and ftpput, what embedded devices (routers, cameras,
// NAS boxes) use: one file per run, passive mode (PASV) only, no TLS, no
// listing, no MKD, DELE or rename. ftpget -c resumes a download; ftpput
// cannot resume.
func busyboxClient() *interopClient {
	const onlyFiles = "ftpget and ftpput move one file each and have no other command."
	return &interopClient{
		name:  "busybox",
		title: "busybox `ftpget`/`ftpput`",
		how:   "`busybox ftpget [-c] -u USER -p PASS -P PORT HOST LOCAL REMOTE` and `busybox ftpput -u USER -p PASS -P PORT HOST REMOTE LOCAL`; without `-u` they log in as anonymous.",
		bins:  []string{"busybox"},
		modes: []interopMode{modePassive},
		noModes: map[interopMode]string{
			modeActive:    "ftpget/ftpput only use PASV (and no FTPS).",
			modeTLS:       "ftpget/ftpput only use PASV (and no FTPS).",
			modeTLSActive: "ftpget/ftpput only use PASV (and no FTPS).",
		},
		cells: map[interopOp]interopCell{
			opLogin: {note: "Logging in means fetching a file: ftpget has nothing lighter.", run: func(e *ienv) {
				e.writeFile(e.share, "hello.txt", []byte("hello\n"))
				e.testLogin(func() { e.busybox("ftpget", filepath.Join(e.work, "hello.txt"), "hello.txt") })
			}},
			opAnonymous: {run: func(e *ienv) {
				e.testAnonymous(
					func(remote, local string) { e.busybox("ftpget", local, remote) },
					func(local, remote string) error {
						_, _, err := e.exec("", "busybox", e.busyboxArgs("ftpput", remote, local)...)
						return err
					})
			}},
			opList: {why: onlyFiles},
			opDownload: {run: func(e *ienv) {
				e.testDownload(func(remote, local string) { e.busybox("ftpget", local, remote) })
			}},
			opUpload: {run: func(e *ienv) {
				e.testUpload(func(local, remote string) { e.busybox("ftpput", remote, local) })
			}},
			opResume: {note: "Downloads only (`ftpget -c`): ftpput cannot resume.", run: func(e *ienv) {
				e.testResume(func(remote, local string) { e.busybox("ftpget", "-c", local, remote) }, nil)
			}},
			opMkdir:  {why: onlyFiles},
			opDelete: {why: onlyFiles},
			opRename: {why: onlyFiles},
			opTree: {note: "Downloads only, one ftpget per file into directories the test makes: ftpget cannot list, and ftpput cannot make directories.", run: func(e *ienv) {
				files := interopTree()
				e.testTree(func(remote, local string) {
					for _, rel := range sortedKeys(files) {
						dst := filepath.Join(local, filepath.FromSlash(rel))
						if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
							e.t.Fatal(err)
						}
						e.busyboxQuiet("ftpget", dst, remote+"/"+rel)
					}
				}, nil)
			}},
		},
	}
}

// busyboxArgs is the command line of busybox APPLET with the cell's user.
// ftpget takes LOCAL REMOTE, ftpput REMOTE LOCAL, after the host.
func (e *ienv) busyboxArgs(applet string, args ...string) []string {
	a := []string{applet}
	if applet == "ftpget" && args[0] == "-c" {
		a, args = append(a, "-c"), args[1:]
	}
	if !e.anon {
		a = append(a, "-u", interopUser, "-p", interopPass)
	}
	a = append(a, "-P", e.port(), "127.0.0.1")
	return append(a, args...)
}

// busybox runs an ftpget or ftpput; it must succeed.
func (e *ienv) busybox(applet string, args ...string) {
	e.t.Helper()
	e.run("busybox", e.busyboxArgs(applet, args...)...)
}

// busyboxQuiet is busybox without a log line per run.
func (e *ienv) busyboxQuiet(applet string, args ...string) {
	e.t.Helper()
	a := e.busyboxArgs(applet, args...)
	if out, errOut, err := e.exec("", "busybox", a...); err != nil {
		e.t.Fatalf("busybox %s: %v\n%s%s", shellQuote(a), err, out, errOut)
	}
}
