package cli_test

import (
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// curl: one URL per transfer; -Q sends raw commands (MKD, DELE, RNFR and
// RNTO) before the transfer; -C - resumes either way (REST+RETR down,
// SIZE then APPE up); many URLs in one run share the control connection.
func curlClient() *interopClient {
	return &interopClient{
		name:  "curl",
		title: "curl",
		how:   "`curl` with `-P -` for active mode, `--ssl-reqd --cacert cert.pem` for FTPS, `-C -` to resume, `-Q` for MKD/DELE/RNFR/RNTO, and one run per file for the tree (`--create-dirs`, `--ftp-create-dirs`).",
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
			opTree: {note: "curl cannot walk a tree: the tests run one curl per file, four at a time. (In one run with many URLs, curl 7.88 waits up to a second before each passive transfer on the reused connection, with any server; with `-Z`, its parallel connections resume each other's TLS sessions, which `--tls-session-reuse` refuses.)", run: func(e *ienv) {
				files := interopTree()
				e.testTree(
					func(remote, local string) {
						e.curlEach(sortedKeys(files), func(rel string) []string {
							return []string{"--create-dirs", "-o", filepath.Join(local, filepath.FromSlash(rel)), e.curlURL(remote + "/" + rel)}
						})
					},
					func(local, remote string) {
						e.curlEach(sortedKeys(files), func(rel string) []string {
							return []string{"--ftp-create-dirs", "-T", filepath.Join(local, filepath.FromSlash(rel)), e.curlURL(remote + "/" + rel)}
						})
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

// curlEach runs curl once per name, with the cell's options and args(name),
// four at a time; every run must succeed.
func (e *ienv) curlEach(names []string, args func(name string) []string) {
	e.t.Helper()
	base := e.curlBase()
	var (
		mu   sync.Mutex
		errs []string
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, 4)
	for _, name := range names {
		a := append(slices.Clip(base), args(name)...)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if out, errOut, err := e.exec("", "curl", a...); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Sprintf("curl %s: %v\n%s%s", shellQuote(a), err, clip(out), clip(errOut)))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		e.t.Fatalf("%d of %d curl runs failed; the first:\n%s", len(errs), len(names), errs[0])
	}
}

// curl runs curl with the cell's options; it must succeed.
func (e *ienv) curl(args ...string) string {
	e.t.Helper()
	return e.run("curl", append(e.curlBase(), args...)...)
}
