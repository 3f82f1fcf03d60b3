package cli_test

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// curl: one URL per transfer; -Q sends raw commands (MKD, DELE, RNFR and
// RNTO) before the transfer; -C - resumes either way (REST+RETR down,
// SIZE then APPE up); many URLs in one run share the control connection.
func curlClient() *interopClient {
	return &interopClient{
		name:  "curl",
		title: "curl",
		how:   "`curl` with `-P -` for active mode, `--ssl-reqd --cacert cert.pem` for FTPS, `-C -` to resume, `-Q` for MKD/DELE/RNFR/RNTO, and a `-K` config of 200 URLs with `-Z` for the tree (`--create-dirs`, `--ftp-create-dirs`).",
		bins:  []string{"curl"},
		modes: []interopMode{modePassive, modeActive, modeTLS},
		noModes: map[interopMode]string{
			modeTLSActive: "curl 7.87 and 7.88 (Debian 12 has 7.88.1) accept the active data connection but never start TLS on it, so the transfer times out (curl issue #10666, fixed in 8.0).",
		},
		cells: map[interopOp]interopCell{
			opLogin: {run: func(e *ienv) {
				e.testLogin(func() { e.curl(e.curlURL("")) })
			}},
			opAnonymous: {run: func(e *ienv) {
				e.testAnonymous(
					func(remote, local string) { e.curl("-o", local, e.curlURL(remote)) },
					func(local, remote string) error {
						_, _, err := e.exec("", "curl", append(e.curlBase(), "-T", local, e.curlURL(remote))...)
						return err
					})
			}},
			opList: {run: func(e *ienv) {
				e.testList(func(dir string) []string { return lsNames(e.curl(e.curlURL(dir + "/"))) })
			}},
			opDownload: {run: func(e *ienv) {
				e.testDownload(func(remote, local string) { e.curl("-o", local, e.curlURL(remote)) })
			}},
			opUpload: {run: func(e *ienv) {
				e.testUpload(func(local, remote string) { e.curl("-T", local, e.curlURL(remote)) })
			}},
			opResume: {run: func(e *ienv) {
				e.testResume(
					func(remote, local string) { e.curl("-C", "-", "-o", local, e.curlURL(remote)) },
					func(local, remote string) { e.curl("-C", "-", "-T", local, e.curlURL(remote)) })
			}},
			opMkdir: {run: func(e *ienv) {
				e.testMkdir(func(remote string) { e.curl("-Q", "MKD "+remote, e.curlURL("")) })
			}},
			opDelete: {run: func(e *ienv) {
				e.testDelete(func(remote string) { e.curl("-Q", "DELE "+remote, e.curlURL("")) })
			}},
			opRename: {run: func(e *ienv) {
				e.testRename(func(from, to string) { e.curl("-Q", "RNFR "+from, "-Q", "RNTO "+to, e.curlURL("")) })
			}},
			opTree: {note: "curl cannot walk a tree: the tests give it the 200 URLs in one run, with `-Z` (parallel transfers): curl 7.88 waits up to a second before each transfer on a reused connection (with other servers too).", run: func(e *ienv) {
				files := interopTree()
				e.testTree(
					func(remote, local string) {
						var cfg strings.Builder
						for _, rel := range sortedKeys(files) {
							fmt.Fprintf(&cfg, "url = %q\noutput = %q\n", e.curlURL(remote+"/"+rel), filepath.Join(local, filepath.FromSlash(rel)))
						}
						e.curl("-Z", "--parallel-max", "4", "--create-dirs", "-K", e.writeFile(e.home, "down.curlrc", []byte(cfg.String())))
					},
					func(local, remote string) {
						var cfg strings.Builder
						for _, rel := range sortedKeys(files) {
							fmt.Fprintf(&cfg, "upload-file = %q\nurl = %q\n", filepath.Join(local, filepath.FromSlash(rel)), e.curlURL(remote+"/"+rel))
						}
						e.curl("-Z", "--parallel-max", "4", "--ftp-create-dirs", "-K", e.writeFile(e.home, "up.curlrc", []byte(cfg.String())))
					})
			}},
		},
	}
}

// curlBase is curl's options for the cell's mode and user.
func (e *ienv) curlBase() []string {
	args := []string{"-sS", "--fail", "--max-time", "50"}
	if !e.anon {
		args = append(args, "-u", interopUser+":"+interopPass)
	}
	if e.mode.active() {
		args = append(args, "-P", "-")
	}
	if e.mode.tls() {
		args = append(args, "--ssl-reqd", "--cacert", e.caFile())
	}
	return args
}

// curlURL is the URL of a remote path.
func (e *ienv) curlURL(remote string) string {
	return "ftp://127.0.0.1:" + e.port() + "/" + escapePath(remote)
}

// escapePath escapes each segment of a remote path for a URL.
func escapePath(remote string) string {
	segs := strings.Split(remote, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// curl runs curl with the cell's options; it must succeed.
func (e *ienv) curl(args ...string) string {
	e.t.Helper()
	return e.run("curl", append(e.curlBase(), args...)...)
}
