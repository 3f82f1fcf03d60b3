package cli_test

import "path/filepath"

// wget downloads only: it has no FTP upload, and no command for MKD, DELE
// or rename. Its ftps:// URLs are explicit FTPS (AUTH TLS, PROT P).
func wgetClient() *interopClient {
	const readOnly = "wget only downloads."
	return &interopClient{
		name:  "wget",
		title: "wget",
		how:   "`wget` with `--no-passive-ftp` for active mode, `ftps://` URLs and `--ca-certificate cert.pem` for FTPS, `-c` to resume, `--no-remove-listing` to keep the listing, `-r -l inf` for the tree.",
		bins:  []string{"wget"},
		modes: interopModes,
		cells: map[interopOp]interopCell{
			opLogin: {run: func(e *ienv) {
				e.testLogin(func() { e.wget("-O", filepath.Join(e.work, "index.html"), e.wgetURL("")) })
			}},
			opAnonymous: {note: "wget cannot upload, so only the anonymous download is tried.", run: func(e *ienv) {
				e.testAnonymous(func(remote, local string) { e.wget("-O", local, e.wgetURL(remote)) }, nil)
			}},
			opList: {run: func(e *ienv) {
				e.testList(func(dir string) []string {
					out := filepath.Join(e.work, "list")
					e.wget("--no-remove-listing", "-P", out, "-nH", e.wgetURL(dir+"/"))
					// Not recursive, wget keeps the raw LIST in -P's directory.
					return lsNames(string(e.readFile(filepath.Join(out, ".listing"))))
				})
			}},
			opDownload: {run: func(e *ienv) {
				e.testDownload(func(remote, local string) { e.wget("-O", local, e.wgetURL(remote)) })
			}},
			opUpload: {why: readOnly},
			opResume: {note: "Downloads only.", run: func(e *ienv) {
				e.testResume(func(remote, local string) {
					// -c continues the file of the URL's name in -P's directory.
					e.wget("-c", "-P", filepath.Dir(local), e.wgetURL(remote))
				}, nil)
			}},
			opMkdir:  {why: readOnly},
			opDelete: {why: readOnly},
			opRename: {why: readOnly},
			opTree: {note: "Downloads only (`wget -r`).", run: func(e *ienv) {
				e.testTree(func(remote, local string) {
					e.wget("-r", "-l", "inf", "-nH", "--cut-dirs=1", "-P", local, e.wgetURL(remote+"/"))
				}, nil)
			}},
		},
	}
}

// wgetURL is the URL of a remote path, with the cell's user and scheme.
func (e *ienv) wgetURL(remote string) string {
	scheme, user := "ftp", ""
	if e.mode.tls() {
		scheme = "ftps"
	}
	if !e.anon {
		user = interopUser + ":" + interopPass + "@"
	}
	return scheme + "://" + user + "127.0.0.1:" + e.port() + "/" + escapePath(remote)
}

// wget runs wget with the cell's options; it must succeed.
func (e *ienv) wget(args ...string) string {
	e.t.Helper()
	base := []string{"-nv", "--tries=1", "--timeout=30", "--no-config"}
	if e.mode.active() {
		base = append(base, "--no-passive-ftp")
	}
	if e.mode.tls() {
		base = append(base, "--ca-certificate="+e.caFile())
	}
	return e.run("wget", append(base, args...)...)
}
