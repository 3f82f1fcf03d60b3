package ftp_test

// FTPS interoperability: curl (explicit with --ssl-reqd, implicit with
// ftps://), lftp (ftp:ssl-force) and Python's ftplib.FTP_TLS (prot_p)
// against an in-process test server, with downloads and uploads checked
// by sha256. Also: which of them resume the control connection's TLS
// session on data connections, the premise of TLSSessionReuseRequired
// being off by default (Python cannot) and usable (curl and lftp can).
// Every server here requires TLS's close_notify at the end of an upload
// (TLSCloseNotifyRequired): the three clients send it, so the option is
// usable with them (it is off by default for clients that do not).
//
// A missing client skips its tests unless FTPSHARE_REQUIRE_CLIENTS is
// set, when it fails them. Every client runs under a context timeout.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

// tlsTClientTimeout bounds one run of an external client.
const tlsTClientTimeout = 30 * time.Second

// tlsTNeedClient returns the path of an external client, or skips (fails
// when FTPSHARE_REQUIRE_CLIENTS is set) when it is not installed.
func tlsTNeedClient(t *testing.T, name string, fallbacks ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range fallbacks {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	if os.Getenv("FTPSHARE_REQUIRE_CLIENTS") != "" {
		t.Fatalf("%s is not installed and FTPSHARE_REQUIRE_CLIENTS is set", name)
	}
	t.Skipf("%s is not installed", name)
	return ""
}

// tlsTRun runs an external client with a timeout and returns its stdout;
// a failure shows its stdout and stderr.
func tlsTRun(t *testing.T, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), tlsTClientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s timed out after %v: %w", filepath.Base(name), tlsTClientTimeout, err)
	}
	if err != nil {
		return stdout.String(), fmt.Errorf("%w\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// tlsTInteropFiles puts a random download in the server's directory and a
// random upload in a client directory; it returns the upload's path and
// both contents.
func tlsTInteropFiles(t *testing.T, srv *ftptest.Server) (upPath string, down, up []byte) {
	t.Helper()
	down = tlsTRandom(t, 3<<20+11)
	up = tlsTRandom(t, 2<<20+5)
	tlsTWriteFile(t, srv.Dir, "f.bin", down)
	upPath = filepath.Join(t.TempDir(), "up.bin")
	if err := os.WriteFile(upPath, up, 0o644); err != nil {
		t.Fatal(err)
	}
	return upPath, down, up
}

// tlsTCheckFile fails the test unless the file holds want (by sha256).
func tlsTCheckFile(t *testing.T, what, name string, want []byte) {
	t.Helper()
	if got := tlsTFileSum(t, name); got != tlsTSum(want) {
		t.Fatalf("%s: sha256 %s, want %s", what, got, tlsTSum(want))
	}
}

// TestTLSInteropCurl runs curl: explicit FTPS with --ssl-reqd (trusting the
// test CA, and with --insecure), explicit with --ftp-ssl-control (clear
// data, PROT C), and implicit FTPS with ftps://. Each downloads, uploads
// and lists; each case also runs with TLSSessionReuseRequired, which curl
// satisfies by resuming the control connection's session.
func TestTLSInteropCurl(t *testing.T) {
	t.Parallel()
	curl := tlsTNeedClient(t, "curl", "/usr/bin/curl")
	ca := tlsTCAFile(t)
	tests := []struct {
		name     string
		implicit bool
		args     []string
		dataTLS  bool // data connections use TLS
		reuse    bool // run again with TLSSessionReuseRequired
	}{
		{"explicit --ssl-reqd --cacert", false, []string{"--ssl-reqd", "--cacert", ca}, true, true},
		{"explicit --ssl-reqd --insecure", false, []string{"--ssl-reqd", "--insecure"}, true, false},
		{"explicit --ftp-ssl-control", false, []string{"--ftp-ssl-control", "--cacert", ca}, false, false},
		{"implicit ftps://", true, []string{"--cacert", ca}, true, true},
	}
	for _, tt := range tests {
		for _, reuse := range []bool{false, true} {
			if reuse && !tt.reuse {
				continue
			}
			t.Run(fmt.Sprintf("%s/reuse=%v", tt.name, reuse), func(t *testing.T) {
				t.Parallel()
				var opts []ftptest.Option
				scheme := "ftp"
				if tt.implicit {
					opts, scheme = append(opts, ftptest.WithImplicitTLS()), "ftps"
				}
				srv, hs := tlsTServer(t, func(s *ftp.Server) { s.TLSSessionReuseRequired, s.TLSCloseNotifyRequired = reuse, true }, opts...)
				upPath, down, up := tlsTInteropFiles(t, srv)
				base := fmt.Sprintf("%s://127.0.0.1:%d/", scheme, srv.Port)
				common := append([]string{"-sS", "--max-time", "20", "-u", ftptest.User + ":" + ftptest.Password}, tt.args...)

				out := filepath.Join(t.TempDir(), "out.bin")
				if _, err := tlsTRun(t, nil, curl, append(common, "-o", out, base+"f.bin")...); err != nil {
					t.Fatalf("curl download: %v", err)
				}
				tlsTCheckFile(t, "curl download", out, down)
				if _, err := tlsTRun(t, nil, curl, append(common, "-T", upPath, base+"up.bin")...); err != nil {
					t.Fatalf("curl upload: %v", err)
				}
				tlsTCheckFile(t, "curl upload", filepath.Join(srv.Dir, "up.bin"), up)
				listing, err := tlsTRun(t, nil, curl, append(common, base)...)
				if err != nil {
					t.Fatalf("curl list: %v", err)
				}
				if !strings.Contains(listing, " f.bin") || !strings.Contains(listing, strconv.Itoa(len(down))) {
					t.Fatalf("curl list does not show f.bin with its size:\n%s", listing)
				}
				// 3 control connections, plus 3 data connections under TLS.
				all, resumed := hs.count()
				wantAll := 3
				if tt.dataTLS {
					wantAll = 6
				}
				if all != wantAll {
					t.Fatalf("server completed %d TLS handshakes, want %d", all, wantAll)
				}
				t.Logf("curl: %d TLS handshakes, %d resumed", all, resumed)
				if reuse && resumed != 3 {
					t.Fatalf("%d data connections resumed, want 3", resumed)
				}
			})
		}
	}
}

// TestTLSInteropLftp runs lftp with ftp:ssl-force (explicit) and with
// ftps:// (implicit), data protected: get, put and ls, checked by sha256;
// and again with TLSSessionReuseRequired, which lftp (GnuTLS) satisfies.
func TestTLSInteropLftp(t *testing.T) {
	t.Parallel()
	lftp := tlsTNeedClient(t, "lftp", "/usr/bin/lftp")
	ca := tlsTCAFile(t)
	for _, implicit := range []bool{false, true} {
		for _, reuse := range []bool{false, true} {
			name := fmt.Sprintf("implicit=%v/reuse=%v", implicit, reuse)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				var opts []ftptest.Option
				scheme := "ftp"
				if implicit {
					opts, scheme = append(opts, ftptest.WithImplicitTLS()), "ftps"
				}
				srv, hs := tlsTServer(t, func(s *ftp.Server) { s.TLSSessionReuseRequired, s.TLSCloseNotifyRequired = reuse, true }, opts...)
				upPath, down, up := tlsTInteropFiles(t, srv)
				out := filepath.Join(t.TempDir(), "out.bin")
				script := strings.Join([]string{
					"set cmd:fail-exit true",
					"set net:max-retries 1",
					"set net:timeout 10",
					"set net:reconnect-interval-base 1",
					"set ftp:ssl-force true",
					"set ftp:ssl-protect-data true",
					"set ftp:ssl-protect-list true",
					"set ftp:passive-mode true",
					"set ssl:verify-certificate true",
					"set ssl:ca-file " + ca,
					"set xfer:clobber true",
					fmt.Sprintf("open -u %s,%s %s://127.0.0.1:%d", ftptest.User, ftptest.Password, scheme, srv.Port),
					"get f.bin -o " + out,
					"put " + upPath + " -o up.bin",
					"ls",
					"bye",
				}, "; ")
				// A private HOME: lftp reads ~/.lftprc and writes its history there.
				env := []string{"HOME=" + t.TempDir(), "LFTP_HOME=" + t.TempDir()}
				listing, err := tlsTRun(t, env, lftp, "-c", script)
				if err != nil {
					t.Fatalf("lftp: %v", err)
				}
				tlsTCheckFile(t, "lftp get", out, down)
				tlsTCheckFile(t, "lftp put", filepath.Join(srv.Dir, "up.bin"), up)
				if !strings.Contains(listing, " f.bin") || !strings.Contains(listing, " up.bin") {
					t.Fatalf("lftp ls:\n%s", listing)
				}
				all, resumed := hs.count()
				t.Logf("lftp: %d TLS handshakes, %d resumed", all, resumed)
				if all < 4 {
					t.Fatalf("server completed %d TLS handshakes, want control + 3 data", all)
				}
				if reuse && resumed != all-1 {
					t.Fatalf("%d of %d data connections resumed", resumed, all-1)
				}
			})
		}
	}
}

// tlsTPythonScript drives ftplib.FTP_TLS: login (which sends AUTH TLS),
// prot_p, RETR, STOR of a file and of an empty file, LIST. It prints one
// line per step, or "ERROR <reply>" when the server refuses.
const tlsTPythonScript = `
import ftplib, hashlib, io, ssl, sys
host, port, ca, src = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
f = ftplib.FTP_TLS(context=ctx, timeout=15)
f.connect(host, port)
f.login("user", "pass")
f.prot_p()
try:
    buf = io.BytesIO()
    f.retrbinary("RETR f.bin", buf.write)
    print("RETR", hashlib.sha256(buf.getvalue()).hexdigest())
    with open(src, "rb") as fp:
        f.storbinary("STOR up.bin", fp)
    f.storbinary("STOR empty.bin", io.BytesIO(b""))
    print("STOR ok")
    lines = []
    f.retrlines("LIST", lines.append)
    print("LIST", " ".join(sorted(l.split()[-1] for l in lines)))
except ssl.SSLError as e:
    # A refused data handshake: the reason is in the control reply.
    print("SSL", e.reason)
    try:
        f.voidresp()
    except ftplib.error_temp as e:
        print("ERROR", e)
except ftplib.error_temp as e:
    print("ERROR", e)
f.quit()
`

// TestTLSInteropPython runs Python's ftplib.FTP_TLS with prot_p(). It
// cannot resume TLS sessions on data connections, so with
// TLSSessionReuseRequired its first transfer is refused with 425: the
// reason the option is off by default.
func TestTLSInteropPython(t *testing.T) {
	t.Parallel()
	python := tlsTNeedClient(t, "python3", "/root/.pyenv/shims/python3")
	ca := tlsTCAFile(t)
	for _, reuse := range []bool{false, true} {
		t.Run(fmt.Sprintf("reuse=%v", reuse), func(t *testing.T) {
			t.Parallel()
			srv, hs := tlsTServer(t, func(s *ftp.Server) { s.TLSSessionReuseRequired, s.TLSCloseNotifyRequired = reuse, true })
			upPath, down, up := tlsTInteropFiles(t, srv)
			out, err := tlsTRun(t, nil, python, "-c", tlsTPythonScript, "127.0.0.1", strconv.Itoa(srv.Port), ca, upPath)
			if err != nil {
				t.Fatalf("python: %v", err)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if reuse {
				// Go's server refuses the handshake with a bad_certificate
				// alert (VerifyConnection failed); the 425 says why.
				if len(lines) != 2 || !strings.HasPrefix(lines[0], "SSL ") || !strings.HasPrefix(lines[1], "ERROR 425 ") {
					t.Fatalf("ftplib with session reuse required: %q, want an SSL error then 425 on the first transfer", out)
				}
				t.Logf("ftplib with session reuse required: %q", out)
				if _, resumed := hs.count(); resumed != 0 {
					t.Fatalf("%d handshakes resumed, want 0", resumed)
				}
				return
			}
			want := []string{
				"RETR " + tlsTSum(down),
				"STOR ok",
				"LIST empty.bin f.bin up.bin",
			}
			if strings.Join(lines, "\n") != strings.Join(want, "\n") {
				t.Fatalf("ftplib output:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
			}
			tlsTCheckFile(t, "ftplib STOR", filepath.Join(srv.Dir, "up.bin"), up)
			tlsTCheckFile(t, "ftplib empty STOR", filepath.Join(srv.Dir, "empty.bin"), nil)
			// control + RETR + 2 STOR + LIST
			if all, resumed := hs.count(); all != 5 || resumed != 0 {
				t.Fatalf("handshakes %d (resumed %d), want 5 (0)", all, resumed)
			}
		})
	}
}
