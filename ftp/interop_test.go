package ftp_test

// Interop tests: real clients (curl, lftp) against an in-process ftptest
// server. A missing client skips its test, unless FTPSHARE_REQUIRE_CLIENTS
// is set (as in CI), which makes it a failure.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

// dcClientTimeout bounds each run of an external client.
const dcClientTimeout = 60 * time.Second

// dcRun runs an external client with a timeout, HOME set to an empty
// directory (no user configuration), and returns its standard output. It
// fails the test if the client fails.
func dcRun(t *testing.T, dir string, name string, args ...string) []byte {
	t.Helper()
	out, errOut, err := dcTryRun(t, dir, name, args...)
	if err != nil {
		t.Fatalf("%s %q: %v\nstdout:\n%s\nstderr:\n%s", name, args, err, dcClip(out), errOut)
	}
	return out
}

func dcTryRun(t *testing.T, dir string, name string, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), dcClientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_DATA_HOME="+home, "LC_ALL=C.UTF-8")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s: %w", dcClientTimeout, err)
	}
	return o.Bytes(), e.Bytes(), err
}

// dcURL is the ftp:// URL of path on srv, with the default user.
func dcURL(srv *ftptest.Server, path string) string {
	return fmt.Sprintf("ftp://%s:%s@%s/%s", ftptest.User, ftptest.Password, srv.Addr, strings.TrimPrefix(path, "/"))
}

// dcCurlModes are the data-connection modes curl can be asked for.
var dcCurlModes = []struct {
	name string
	args []string
	ipv4 bool // the mode exists for IPv4 only
}{
	{"default", nil, false},
	{"--ftp-pasv", []string{"--ftp-pasv"}, false},
	{"PASV", []string{"--ftp-pasv", "--disable-epsv"}, true},
	{"active", []string{"-P", "-"}, false},
	{"active PORT", []string{"-P", "-", "--disable-eprt"}, true},
}

// TestInteropCurl downloads, uploads and lists with curl in every data
// connection mode, over IPv4 and IPv6, and compares what arrived byte
// for byte.
func TestInteropCurl(t *testing.T) {
	t.Parallel()
	curl := dcClientPath(t, "curl")
	families := []struct {
		name string
		ipv6 bool
	}{{"IPv4", false}, {"IPv6", true}}
	big := dcRandom(t, 3<<20+7)
	for _, fam := range families {
		t.Run(fam.name, func(t *testing.T) {
			t.Parallel()
			var srv *ftptest.Server
			if fam.ipv6 {
				dcNeedIPv6(t)
				srv = ftptest.NewServer(t, ftptest.WithIPv6())
			} else {
				srv = ftptest.NewServer(t)
			}
			dcWriteFile(t, srv.Dir, "pub/big.bin", big)
			dcWriteFile(t, srv.Dir, "pub/empty.bin", nil)
			dcWriteFile(t, srv.Dir, "pub/notes.txt", []byte("one\ntwo\n"))
			if err := os.Mkdir(filepath.Join(srv.Dir, "pub", "sub dir"), 0o755); err != nil {
				t.Fatal(err)
			}
			local := t.TempDir()
			for _, mode := range dcCurlModes {
				if mode.ipv4 && fam.ipv6 {
					continue
				}
				t.Run(mode.name, func(t *testing.T) {
					t.Parallel()
					out := filepath.Join(t.TempDir(), "out")
					base := append([]string{"-sS", "--fail", "--max-time", "60"}, mode.args...)

					// Download.
					for _, name := range []string{"big.bin", "empty.bin"} {
						dcRun(t, local, curl, append(base, "-o", out, dcURL(srv, "pub/"+name))...)
						if got, want := dcReadFile(t, filepath.Dir(out), "out"), dcReadFile(t, srv.Dir, "pub/"+name); !bytes.Equal(got, want) {
							t.Errorf("curl download of %s: %d bytes, want %d", name, len(got), len(want))
						}
					}

					// Upload (-T), into a directory curl creates.
					up := "up-" + strings.ReplaceAll(mode.name, " ", "_")
					src := filepath.Join(t.TempDir(), "src.bin")
					if err := os.WriteFile(src, big, 0o644); err != nil {
						t.Fatal(err)
					}
					dcRun(t, local, curl, append(base, "--ftp-create-dirs", "-T", src, dcURL(srv, up+"/copy.bin"))...)
					if got := dcReadFile(t, srv.Dir, up+"/copy.bin"); !bytes.Equal(got, big) {
						t.Errorf("curl upload: %d bytes on the server, want %d", len(got), len(big))
					}

					// Name list (-l): NLST in the directory.
					names := strings.Fields(strings.ReplaceAll(string(dcRun(t, local, curl, append(base, "-l", dcURL(srv, "pub/"))...)), "sub dir", "sub_dir"))
					if want := []string{"big.bin", "empty.bin", "notes.txt", "sub_dir"}; !slices.Equal(names, want) {
						t.Errorf("curl -l: %q, want %q", names, want)
					}

					// Directory listing: LIST, parsed.
					listing := dcRun(t, local, curl, append(base, dcURL(srv, "pub/"))...)
					sizes := map[string]int64{}
					// curl turns the listing's CRLF into LF, as for any
					// ASCII download.
					for _, l := range strings.Split(strings.TrimSuffix(string(listing), "\n"), "\n") {
						e, err := dcParseLS(strings.TrimSuffix(l, "\r"))
						if err != nil {
							t.Fatalf("curl listing: %v (whole listing %q)", err, listing)
						}
						sizes[e.Name] = e.Size
					}
					if sizes["big.bin"] != int64(len(big)) || sizes["empty.bin"] != 0 || sizes["notes.txt"] != 8 || len(sizes) != 4 {
						t.Errorf("curl listing sizes %v", sizes)
					}
				})
			}
		})
	}
}

// TestInteropCurlResume checks curl's resumed download (-C -, REST then
// RETR) and resumed upload (-C - -T, SIZE then APPE), and its ASCII mode.
func TestInteropCurlResume(t *testing.T) {
	t.Parallel()
	curl := dcClientPath(t, "curl")
	srv := ftptest.NewServer(t)
	big := dcRandom(t, 2<<20+11)
	dcWriteFile(t, srv.Dir, "big.bin", big)
	local := t.TempDir()
	base := []string{"-sS", "--fail", "--max-time", "60"}

	part := filepath.Join(local, "part.bin")
	if err := os.WriteFile(part, big[:777777], 0o644); err != nil {
		t.Fatal(err)
	}
	dcRun(t, local, curl, append(base, "-C", "-", "-o", part, dcURL(srv, "big.bin"))...)
	if got := dcReadFile(t, local, "part.bin"); !bytes.Equal(got, big) {
		t.Errorf("resumed download: %d bytes, want %d", len(got), len(big))
	}

	dcWriteFile(t, srv.Dir, "upload.bin", big[:1234567])
	src := filepath.Join(local, "src.bin")
	if err := os.WriteFile(src, big, 0o644); err != nil {
		t.Fatal(err)
	}
	dcRun(t, local, curl, append(base, "-C", "-", "-T", src, dcURL(srv, "upload.bin"))...)
	if got := dcReadFile(t, srv.Dir, "upload.bin"); !bytes.Equal(got, big) {
		t.Errorf("resumed upload: %d bytes on the server, want %d", len(got), len(big))
	}

	// ASCII: the server sends CRLF line ends, which curl on Unix turns
	// into LF; on upload curl sends CRLF, which the server stores as LF.
	dcWriteFile(t, srv.Dir, "unix.txt", []byte("a\nb\r\nc\n"))
	got := dcRun(t, local, curl, append(base, "--use-ascii", dcURL(srv, "unix.txt"))...)
	if string(got) != "a\nb\nc\n" {
		t.Errorf("curl --use-ascii: %q", got)
	}
	lf := filepath.Join(local, "lf.txt")
	if err := os.WriteFile(lf, []byte("x\ny\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dcRun(t, local, curl, append(base, "--use-ascii", "-T", lf, dcURL(srv, "lf.txt"))...)
	if got := dcReadFile(t, srv.Dir, "lf.txt"); string(got) != "x\ny\n" {
		t.Errorf("curl --use-ascii upload stored %q", got)
	}
}

// dcMakeMirrorTree writes a small tree with nested, empty and oddly named
// entries.
func dcMakeMirrorTree(t *testing.T, root string) {
	t.Helper()
	files := map[string][]byte{
		"a.txt":                   []byte("hello\n"),
		"empty.bin":               nil,
		"big.bin":                 dcRandom(t, 1<<20+13),
		"sub/deeper/x.dat":        dcRandom(t, 70000),
		"sub/y.txt":               []byte("why\r\nnot\n"),
		"with space/name (1).txt": []byte("spaces"),
		".dotfile":                []byte("dot"),
		"caf\u00e9/\u00fcber.txt": []byte("utf-8 names"),
	}
	for name, data := range files {
		dcWriteFile(t, root, name, data)
	}
	if err := os.MkdirAll(filepath.Join(root, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// dcLftpScript is the lftp command line for a session on srv.
func dcLftpScript(srv *ftptest.Server, settings []string, cmds ...string) string {
	host, port, _ := net.SplitHostPort(srv.Addr)
	s := []string{
		"set cmd:fail-exit yes",
		"set net:max-retries 1",
		"set net:timeout 20",
		"set net:reconnect-interval-base 1",
		"set ftp:ssl-allow no",
		"set xfer:clobber yes",
		"set file:charset UTF-8",
	}
	s = append(s, settings...)
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	s = append(s, fmt.Sprintf("open -u %s,%s -p %s ftp://%s", ftptest.User, ftptest.Password, port, host))
	s = append(s, cmds...)
	return strings.Join(s, "; ")
}

// TestInteropLftpMirror mirrors a small tree down (mirror) and up
// (mirror -R) with lftp, in passive and active mode over IPv4 and IPv6,
// and compares the trees byte for byte.
func TestInteropLftpMirror(t *testing.T) {
	t.Parallel()
	lftp := dcClientPath(t, "lftp")
	tests := []struct {
		name     string
		ipv6     bool
		settings []string
	}{
		{"IPv4 EPSV", false, []string{"set ftp:passive-mode on", "set ftp:prefer-epsv yes"}},
		{"IPv4 PASV", false, []string{"set ftp:passive-mode on", "set ftp:prefer-epsv no"}},
		{"IPv4 active", false, []string{"set ftp:passive-mode off"}},
		{"IPv6 EPSV", true, []string{"set ftp:passive-mode on"}},
		// No "IPv6 active": lftp 4.9's EPRT names the unspecified address
		// (EPRT |2|::|port|), which the server refuses as not the client's
		// own (as vsftpd and pyftpdlib do); lftp then retries each file on
		// a new connection. curl covers active mode over IPv6.
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var srv *ftptest.Server
			if tt.ipv6 {
				dcNeedIPv6(t)
				srv = ftptest.NewServer(t, ftptest.WithIPv6())
			} else {
				srv = ftptest.NewServer(t)
			}
			remote := filepath.Join(srv.Dir, "tree")
			dcMakeMirrorTree(t, remote)
			work := t.TempDir()

			dcRun(t, work, lftp, "-c", dcLftpScript(srv, tt.settings, "mirror /tree down"))
			dcCompareTrees(t, remote, filepath.Join(work, "down"))

			local := filepath.Join(work, "local")
			dcMakeMirrorTree(t, local)
			dcRun(t, work, lftp, "-c", dcLftpScript(srv, tt.settings, "mirror -R local /up"))
			dcCompareTrees(t, local, filepath.Join(srv.Dir, "up"))

			// A second mirror -R of a changed tree updates the changed file.
			dcWriteFile(t, local, "a.txt", []byte("changed, and longer than before\n"))
			past := time.Now().Add(time.Hour)
			os.Chtimes(filepath.Join(local, "a.txt"), past, past)
			dcRun(t, work, lftp, "-c", dcLftpScript(srv, tt.settings, "mirror -R local /up"))
			dcCompareTrees(t, local, filepath.Join(srv.Dir, "up"))
		})
	}
}

// TestInteropLftpCommands checks lftp's get/put with resume (REST) and
// its cls listing.
func TestInteropLftpCommands(t *testing.T) {
	t.Parallel()
	lftp := dcClientPath(t, "lftp")
	srv := ftptest.NewServer(t)
	big := dcRandom(t, 2<<20+3)
	dcWriteFile(t, srv.Dir, "big.bin", big)
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "big.bin"), big[:100000], 0o644); err != nil {
		t.Fatal(err)
	}
	dcRun(t, work, lftp, "-c", dcLftpScript(srv, nil, "get -c big.bin"))
	if got := dcReadFile(t, work, "big.bin"); !bytes.Equal(got, big) {
		t.Errorf("lftp get -c: %d bytes, want %d", len(got), len(big))
	}
	dcWriteFile(t, srv.Dir, "up.bin", big[:300000])
	if err := os.WriteFile(filepath.Join(work, "up.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	dcRun(t, work, lftp, "-c", dcLftpScript(srv, nil, "put -c up.bin"))
	if got := dcReadFile(t, srv.Dir, "up.bin"); !bytes.Equal(got, big) {
		t.Errorf("lftp put -c: %d bytes on the server, want %d", len(got), len(big))
	}
	out := dcRun(t, work, lftp, "-c", dcLftpScript(srv, nil, "cls -l --sort=name /"))
	var sizes []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) < 5 {
			t.Fatalf("lftp cls -l line %q", l)
		}
		sizes = append(sizes, strings.TrimPrefix(f[len(f)-1], "/")+"="+f[1])
	}
	if want := []string{"big.bin=" + strconv.Itoa(len(big)), "up.bin=" + strconv.Itoa(len(big))}; !slices.Equal(sizes, want) {
		t.Errorf("lftp cls -l: %q (output %q), want %q", sizes, out, want)
	}
}
