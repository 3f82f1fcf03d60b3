package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// binDir holds the ftpshare binary the tests run; ftpshare builds it on
// first use (with -race when the tests run with -race), so that listing or
// fuzzing the package builds nothing.
var (
	binDir   string
	binOnce  sync.Once
	binPath  string
	binError error
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ftpshare-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	return m.Run()
}

// ftpshare returns the path of the built binary.
func ftpshare(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binPath = filepath.Join(binDir, "ftpshare")
		if runtime.GOOS == "windows" {
			binPath += ".exe"
		}
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, "..")...).CombinedOutput()
		if err != nil {
			binError = fmt.Errorf("build ftpshare: %v\n%s", err, out)
		}
	})
	if binError != nil {
		t.Fatal(binError)
	}
	return binPath
}

// testEnv is the environment of every run: the test's own, less any
// FTPSHARE_* setting, with HOME and the config directory in a temporary
// directory (so that no test writes the real ~/.config/ftpshare), and no
// NO_COLOR (the output is a pipe: colour must be off without it).
func testEnv(t *testing.T, extra ...string) []string {
	t.Helper()
	home := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "FTPSHARE_") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "XDG_CONFIG_HOME=") || strings.HasPrefix(kv, "NO_COLOR=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"))
	return append(env, extra...)
}

// listening is the first --json line.
type listening struct {
	Event     string   `json:"event"`
	Dir       string   `json:"dir"`
	Addresses []string `json:"addresses"`
	Port      int      `json:"port"`
	URLs      []string `json:"urls"`
	Users     []struct {
		Name      string `json:"name"`
		Anonymous bool   `json:"anonymous"`
		Perms     string `json:"perms"`
		Home      string `json:"home"`
	} `json:"users"`
	TLS *struct {
		Fingerprint  string   `json:"fingerprint_sha256"`
		PubKey       string   `json:"pubkey_sha256"`
		CertFile     string   `json:"cert_file"`
		SelfSigned   bool     `json:"self_signed"`
		Required     bool     `json:"required"`
		ExplicitURLs []string `json:"explicit_urls"`
		ImplicitPort int      `json:"implicit_port"`
		ImplicitURLs []string `json:"implicit_urls"`
	} `json:"tls"`
}

// proc is a running ftpshare.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	info   listening
	first  string      // the first stdout line, raw
	lines  chan string // the stdout lines after the first
	stderr *syncBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // cmd.Wait's result, once done
}

// Addr is the control address, 127.0.0.1:port.
func (p *proc) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.info.Port)) }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// start runs ftpshare --bind 127.0.0.1 --port 0 --json args... with env
// added to testEnv, waits for the first JSON line and parses it. The
// process is killed when the test ends.
func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := startRaw(t, env, append([]string{"--bind", "127.0.0.1", "--port", "0", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(p.first), &p.info); err != nil {
		t.Fatalf("first line is not JSON: %v\n%s", err, p.first)
	}
	if p.info.Event != "listening" || p.info.Port == 0 {
		t.Fatalf("first line: want a listening event with a port, got %s", p.first)
	}
	return p
}

// startRaw runs ftpshare with exactly args and waits for its first stdout line.
func startRaw(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, lines: make(chan string, 1000), stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(ftpshare(t), args...)
	p.cmd.Env = testEnv(t, env...)
	p.cmd.Stderr = p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		n := 0
		for sc.Scan() {
			if n == 0 {
				first <- sc.Text()
			} else {
				select {
				case p.lines <- sc.Text():
				default: // nobody reads them; drop
				}
			}
			n++
		}
		close(first)
		close(p.lines)
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if strings.Contains(p.stderr.String(), "DATA RACE") {
			t.Errorf("ftpshare found a data race:\n%s", p.stderr.String())
		}
		if t.Failed() {
			t.Logf("ftpshare %s stderr:\n%s", strings.Join(args, " "), p.stderr.String())
		}
	})
	select {
	case line, ok := <-first:
		if !ok {
			<-p.done
			t.Fatalf("ftpshare exited (%v) before printing a line; stderr:\n%s", p.err, p.stderr.String())
		}
		p.first = line
	case <-time.After(15 * time.Second):
		t.Fatalf("ftpshare printed no line in 15s; stderr:\n%s", p.stderr.String())
	}
	return p
}

// kill ends the process if it still runs and waits for it.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Errorf("ftpshare did not exit after SIGKILL")
	}
}

// wait waits up to d for the process to exit and returns its exit code.
func (p *proc) wait(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		p.t.Fatalf("ftpshare still running after %v; stderr:\n%s", d, p.stderr.String())
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatalf("wait: %v", p.err)
	}
	return 0
}

// event waits for the next JSON event line whose "event" is name and
// returns it decoded.
func (p *proc) event(name string, d time.Duration) map[string]any {
	p.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("stdout closed before a %q event", name)
			}
			var ev map[string]any
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				p.t.Fatalf("stdout line is not JSON: %v: %s", err, line)
			}
			if ev["event"] == name {
				return ev
			}
		case <-timeout:
			p.t.Fatalf("no %q event within %v", name, d)
		}
	}
}

// run runs ftpshare to its end (at most 20s) and returns its exit code,
// stdout and stderr.
func run(t *testing.T, env []string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ftpshare(t), args...)
	cmd.Env = testEnv(t, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("ftpshare %v did not finish in time; stderr:\n%s", args, errb.String())
	}
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run ftpshare: %v", err)
	}
	return code, out.String(), errb.String()
}

// ctl is a raw control connection, for asserting exact replies.
type ctl struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

const ioTimeout = 10 * time.Second

// dial connects to addr and reads the greeting, which must be 220.
func dial(t *testing.T, addr string) *ctl {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	cc := &ctl{t: t, c: c, r: bufio.NewReader(c)}
	if code, msg := cc.read(); code != 220 {
		t.Fatalf("greeting: %d %s", code, msg)
	}
	return cc
}

// read reads one reply, multi-line or not.
func (c *ctl) read() (int, string) {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(ioTimeout))
	line, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read reply: %v", err)
	}
	if len(line) < 4 {
		c.t.Fatalf("short reply %q", line)
	}
	code, err := strconv.Atoi(line[:3])
	if err != nil {
		c.t.Fatalf("bad reply %q", line)
	}
	text := strings.TrimRight(line[4:], "\r\n")
	if line[3] == '-' {
		end := line[:3] + " "
		for {
			l, err := c.r.ReadString('\n')
			if err != nil {
				c.t.Fatalf("read multi-line reply: %v", err)
			}
			text += "\n" + strings.TrimRight(l, "\r\n")
			if strings.HasPrefix(l, end) {
				break
			}
		}
	}
	return code, text
}

// cmd sends a command and returns its reply.
func (c *ctl) cmd(format string, args ...any) (int, string) {
	c.t.Helper()
	c.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := fmt.Fprintf(c.c, format+"\r\n", args...); err != nil {
		c.t.Fatalf("send %q: %v", format, err)
	}
	return c.read()
}

// expect sends a command and fails the test unless the reply code is want.
func (c *ctl) expect(want int, format string, args ...any) string {
	c.t.Helper()
	code, msg := c.cmd(format, args...)
	if code != want {
		c.t.Fatalf("%s: got %d %s, want %d", fmt.Sprintf(format, args...), code, msg, want)
	}
	return msg
}

func (c *ctl) login(user, pass string) {
	c.t.Helper()
	c.expect(331, "USER %s", user)
	c.expect(230, "PASS %s", pass)
}

// epsv opens a passive data connection.
func (c *ctl) epsv() net.Conn {
	c.t.Helper()
	msg := c.expect(229, "EPSV")
	i, j := strings.Index(msg, "(|||"), strings.LastIndex(msg, "|)")
	if i < 0 || j < i {
		c.t.Fatalf("bad EPSV reply %q", msg)
	}
	port := msg[i+4 : j]
	host, _, _ := net.SplitHostPort(c.c.RemoteAddr().String())
	d, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), ioTimeout)
	if err != nil {
		c.t.Fatalf("dial data: %v", err)
	}
	d.SetDeadline(time.Now().Add(ioTimeout))
	return d
}

// transfer runs a data command (RETR, STOR, LIST...): it returns the first
// reply's code and, when that is 150, the data read (or written) and the
// final reply's code.
func (c *ctl) transfer(send []byte, format string, args ...any) (first int, data []byte, final int) {
	c.t.Helper()
	d := c.epsv()
	defer d.Close()
	first, msg := c.cmd(format, args...)
	if first != 150 && first != 125 {
		_ = msg
		return first, nil, 0
	}
	if send != nil {
		if _, err := d.Write(send); err != nil {
			c.t.Fatalf("write data: %v", err)
		}
		d.Close()
	} else {
		var err error
		if data, err = io.ReadAll(d); err != nil {
			c.t.Fatalf("read data: %v", err)
		}
	}
	final, _ = c.read()
	return first, data, final
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func fileSum(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return sum(b)
}

// randomBytes returns n bytes of a fixed pseudo-random pattern.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// shareDir makes a directory with a few files to share.
func shareDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "hello.txt"), []byte("hello, world\n"))
	write(t, filepath.Join(dir, "data.bin"), randomBytes(100_000))
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "sub", "inner.txt"), []byte("inner\n"))
	return dir
}

func write(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// requireClient returns the path of an external client, skipping the test
// when it is missing, unless FTPSHARE_REQUIRE_CLIENTS is set.
func requireClient(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("FTPSHARE_REQUIRE_CLIENTS") != "" {
			t.Fatalf("%s is required (FTPSHARE_REQUIRE_CLIENTS is set) but missing: %v", name, err)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}
