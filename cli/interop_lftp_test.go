package cli_test

import (
	"fmt"
	"strings"
)

// lftp does everything, and mirrors both ways.
func lftpClient() *interopClient {
	return &interopClient{
		name:  "lftp",
		title: "lftp",
		how:   "`lftp -c` scripts with `set ftp:passive-mode off` for active mode, `set ftp:ssl-force yes`, `ftp:ssl-protect-data yes`, `ssl:ca-file cert.pem` (and `ftp:ssl-allow-anonymous yes`, or lftp logs in as anonymous in clear text) for FTPS; `get -c`/`put -c` to resume, `mirror` and `mirror -R` for the tree.",
		bins:  []string{"lftp"},
		modes: interopModes,
		cells: map[interopOp]interopCell{
			opLogin: {run: func(e *ienv) {
				e.testLogin(func() { e.lftp("cls -1 /") })
			}},
			opAnonymous: {run: func(e *ienv) {
				e.testAnonymous(
					func(remote, local string) { e.lftp("get " + lq(remote) + " -o " + lq(local)) },
					func(local, remote string) error {
						_, _, err := e.exec("", "lftp", "-c", e.lftpScript("put "+lq(local)+" -o "+lq(remote)))
						return err
					})
			}},
			opList: {run: func(e *ienv) {
				e.testList(func(dir string) []string {
					var names []string
					for _, l := range strings.Split(strings.TrimSpace(e.lftp("cls -1 "+lq(dir))), "\n") {
						// cls shows "dir/name", and a "/" after directories.
						names = append(names, strings.TrimSuffix(strings.TrimPrefix(l, dir+"/"), "/"))
					}
					return names
				})
			}},
			opDownload: {run: func(e *ienv) {
				e.testDownload(func(remote, local string) { e.lftp("get " + lq(remote) + " -o " + lq(local)) })
			}},
			opUpload: {run: func(e *ienv) {
				e.testUpload(func(local, remote string) { e.lftp("put " + lq(local) + " -o " + lq(remote)) })
			}},
			opResume: {run: func(e *ienv) {
				e.testResume(
					func(remote, local string) { e.lftp("get -c " + lq(remote) + " -o " + lq(local)) },
					func(local, remote string) { e.lftp("put -c " + lq(local) + " -o " + lq(remote)) })
			}},
			opMkdir: {run: func(e *ienv) {
				e.testMkdir(func(remote string) { e.lftp("mkdir " + lq(remote)) })
			}},
			opDelete: {run: func(e *ienv) {
				e.testDelete(func(remote string) { e.lftp("rm " + lq(remote)) })
			}},
			opRename: {run: func(e *ienv) {
				e.testRename(func(from, to string) { e.lftp("mv " + lq(from) + " " + lq(to)) })
			}},
			opTree: {run: func(e *ienv) {
				e.testTree(
					func(remote, local string) { e.lftp("mirror " + lq(remote) + " " + lq(local)) },
					func(local, remote string) { e.lftp("mirror -R " + lq(local) + " " + lq(remote)) })
			}},
		},
	}
}

// lq quotes a name for an lftp command line.
func lq(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// lftpScript is an lftp -c script: settings for the cell's mode, open,
// then cmds.
func (e *ienv) lftpScript(cmds ...string) string {
	s := []string{
		"set cmd:fail-exit yes",
		"set net:max-retries 1",
		"set net:timeout 20",
		"set net:reconnect-interval-base 1",
		"set xfer:clobber yes",
		"set cmd:interactive no",
	}
	if e.mode.active() {
		s = append(s, "set ftp:passive-mode off")
	} else {
		s = append(s, "set ftp:passive-mode on")
	}
	if e.mode.tls() {
		// lftp keeps anonymous logins in clear text unless told.
		s = append(s, "set ftp:ssl-force yes", "set ftp:ssl-protect-data yes", "set ftp:ssl-protect-list yes", "set ftp:ssl-allow-anonymous yes",
			"set ssl:verify-certificate yes", "set ssl:ca-file "+lq(e.caFile()))
	} else {
		s = append(s, "set ftp:ssl-allow no")
	}
	user := ""
	if !e.anon {
		user = fmt.Sprintf("-u %s,%s ", interopUser, interopPass)
	}
	s = append(s, fmt.Sprintf("open %s-p %s ftp://127.0.0.1", user, e.port()))
	return strings.Join(append(s, cmds...), "; ")
}

// lftp runs an lftp script; it must succeed.
func (e *ienv) lftp(cmds ...string) string {
	e.t.Helper()
	return e.run("lftp", "-c", e.lftpScript(cmds...))
}
