package cli_test

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// Every usage error exits 2 with one line on stderr that says what to
// fix, nothing on stdout, and no Go stack trace.
func TestUsageErrors(t *testing.T) {
	dir := shareDir(t)
	file := filepath.Join(dir, "hello.txt")
	badUsers := filepath.Join(t.TempDir(), "users")
	write(t, badUsers, []byte("# users\nalice:pw\nbob\n"))

	// A port in use.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() }) // not defer: the subtests run in parallel after this function returns
	busy := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)

	tests := []struct {
		name string
		env  []string
		args []string
		want string // in the message
	}{
		{"missing dir", nil, []string{filepath.Join(dir, "nope")}, "nope does not exist"},
		{"dir is a file", nil, []string{file}, "hello.txt is not a directory"},
		{"port in use", nil, []string{"--bind", "127.0.0.1", "--port", busy, dir}, "port " + busy + " is in use; try --port 0"},
		{"implicit TLS port in use", nil, []string{"--bind", "127.0.0.1", "--port", "0", "--tls-dir", t.TempDir(), "--implicit-tls-port", busy, dir}, "port " + busy + " (--implicit-tls-port) is in use; try --implicit-tls-port 0"},
		{"port out of range", nil, []string{"--port", "70000", dir}, "--port 70000: want 0 to 65535"},
		{"port not a number", nil, []string{"--port", "ftp", dir}, `invalid value "ftp" for flag -port`},
		{"user without password", nil, []string{"--user", "alice", dir}, `user "alice" has no password: want NAME:PASSWORD[:PERMS]`},
		{"user with empty password", nil, []string{"--user", "alice:", dir}, `user "alice" has an empty password`},
		{"unknown permission letter", nil, []string{"--user", "alice:pw:elrz", dir}, `unknown permission letter 'z' (valid letters: elradfmwMT)`},
		{"reserved user name", nil, []string{"--user", "anonymous:pw", dir}, `"anonymous" is reserved`},
		{"broken bcrypt hash", nil, []string{"--user", "alice:$2a$10$short", dir}, "looks like a bcrypt hash but is not a valid one"},
		{"duplicate user", nil, []string{"--user", "a:1", "--user", "a:2", dir}, `user "a" is given twice`},
		{"reversed range", nil, []string{"--passive-ports", "50100-50000", dir}, `--passive-ports "50100-50000": MIN is above MAX`},
		{"malformed range", nil, []string{"--passive-ports", "50000", dir}, "want a range MIN-MAX"},
		{"range out of bounds", nil, []string{"--passive-ports", "0-70000", dir}, "ports go from 1 to 65535"},
		{"bad size", nil, []string{"--max-download-rate", "10XB", dir}, `--max-download-rate "10XB": want a size such as 500KB`},
		{"bad duration", nil, []string{"--idle-timeout", "5 minutes", dir}, `invalid value "5 minutes" for flag -idle-timeout`},
		{"negative limit", nil, []string{"--max-conns", "-1", dir}, "cannot be negative (0 means no limit)"},
		{"unknown flag", nil, []string{"--colour", dir}, "flag provided but not defined: -colour"},
		{"two directories", nil, []string{dir, dir}, "one directory at a time"},
		{"write and drop box", nil, []string{"--write", "--drop-box", dir}, "--write and --drop-box contradict each other"},
		{"read-only and write", nil, []string{"--write", "--read-only", dir}, "--write and --read-only contradict each other"},
		{"quiet and verbose", nil, []string{"-q", "-v", dir}, "--quiet and --verbose contradict each other"},
		{"log format", nil, []string{"--log-format", "xml", dir}, `--log-format "xml": want text or json`},
		{"missing users file", nil, []string{"--users-file", filepath.Join(dir, "nofile"), dir}, "nofile: no such file or directory"},
		{"bad users file line", nil, []string{"--users-file", badUsers, dir}, "line 3: user \"bob\" has no password"},
		{"home outside DIR", nil, []string{"--users-file", writeUsers(t, "eve:pw:elr:../..\n"), dir}, "leaves the shared directory"},
		{"missing home", nil, []string{"--users-file", writeUsers(t, "eve:pw:elr:nohome\n"), dir}, "home " + filepath.Join(dir, "nohome") + " does not exist"},
		{"cert without key", nil, []string{"--cert", file, dir}, "--cert and --key go together"},
		{"public ip not IPv4", nil, []string{"--public-ip", "::1", dir}, `public IP "::1" is not an IPv4 address`},
		{"bind not local", nil, []string{"--bind", "192.0.2.1", "--port", "0", dir}, "is not one of this machine's"},
		{"bad env var", []string{"FTPSHARE_PORT=abc"}, []string{dir}, `could not parse "abc" as int value from environment variable "FTPSHARE_PORT"`},
		{"bad env bool", []string{"FTPSHARE_WRITE=maybe"}, []string{dir}, `environment variable "FTPSHARE_WRITE"`},
		{"bad env user", []string{"FTPSHARE_USER=nopass"}, []string{dir}, `user "nopass" has no password`},
		{"system users without PAM", nil, []string{"--system-users", dir}, "this program was built without PAM"},
		{"system users only with a user", nil, []string{"--system-users-only", "--user", "a:b", dir}, "--system-users-only and --user contradict each other"},
		{"system users only with env user", []string{"FTPSHARE_USER=a:b"}, []string{"--system-users-only", dir}, "--system-users-only and --user contradict each other"},
		{"hash-password with arguments", nil, []string{"hash-password", "secret"}, "hash-password takes no arguments"},
		{"completion without shell", nil, []string{"completion"}, "name a shell"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := run(t, tt.env, "", tt.args...)
			if code != 2 {
				t.Errorf("exit code %d, want 2; stderr:\n%s", code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout: %q, want nothing", stdout)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "ftpshare: ") {
				t.Errorf("stderr: want one line starting with \"ftpshare: \", got:\n%s", stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr: %q does not say %q", stderr, tt.want)
			}
			for _, bad := range []string{"goroutine ", "panic", ".go:"} {
				if strings.Contains(stderr, bad) {
					t.Errorf("stderr has %q: %s", bad, stderr)
				}
			}
		})
	}
}

func writeUsers(t *testing.T, content string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "users")
	write(t, f, []byte(content))
	return f
}

func TestHelpAndVersion(t *testing.T) {
	code, out, _ := run(t, nil, "", "--help")
	if code != 0 {
		t.Errorf("--help: exit %d", code)
	}
	for _, want := range []string{"EXAMPLES:", "ftpshare --drop-box", "--json", "[$FTPSHARE_PORT]", "[$FTPSHARE_MAX_CONNS_PER_IP]", "hash-password", "EXIT STATUS"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	if code, help, _ := run(t, nil, "", "help"); code != 0 || help != out {
		t.Errorf("help: exit %d, and not the same text as --help", code)
	}
	code, out, _ = run(t, nil, "", "--version")
	if code != 0 || !strings.HasPrefix(out, "ftpshare ") || strings.Count(out, "\n") != 1 {
		t.Errorf("--version: exit %d, %q", code, out)
	}
}

func TestHashPassword(t *testing.T) {
	code, out, stderr := run(t, nil, "correct horse\n", "hash-password", "--cost", "4")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	hash := strings.TrimSpace(out)
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("correct horse")); err != nil {
		t.Fatalf("hash %q does not match the password: %v", hash, err)
	}
	// The hash works as a password.
	p := start(t, nil, "--user", "alice:"+hash, shareDir(t))
	c := dial(t, p.Addr())
	c.login("alice", "correct horse")

	code, _, stderr = run(t, nil, "", "hash-password")
	if code != 2 || !strings.Contains(stderr, "no password on standard input") {
		t.Errorf("empty input: exit %d, %q", code, stderr)
	}
	code, _, stderr = run(t, nil, "x\n", "hash-password", "--cost", "99")
	if code != 2 || !strings.Contains(stderr, "--cost 99") {
		t.Errorf("bad cost: exit %d, %q", code, stderr)
	}
}

func TestCompletion(t *testing.T) {
	code, out, _ := run(t, nil, "", "completion", "bash")
	if code != 0 || !strings.Contains(out, "complete ") || !strings.Contains(out, "--generate-bash-completion") {
		t.Errorf("completion bash: exit %d:\n%s", code, out)
	}
	code, out, _ = run(t, nil, "", "--generate-bash-completion")
	if code != 0 || !strings.Contains(out, "hash-password") {
		t.Errorf("--generate-bash-completion: exit %d: %q", code, out)
	}
	code, out, _ = run(t, nil, "", "-", "--generate-bash-completion")
	if code != 0 || !strings.Contains(out, "--drop-box") {
		t.Errorf("flag completion: exit %d: %q", code, out)
	}
}
