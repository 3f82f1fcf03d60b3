package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	ftpc "github.com/jlaffaye/ftp"
	"golang.org/x/crypto/bcrypt"
)

// client logs in with a real FTP client library.
func client(t *testing.T, addr, user, pass string) *ftpc.ServerConn {
	t.Helper()
	c, err := ftpc.Dial(addr, ftpc.DialWithTimeout(ioTimeout))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Quit() })
	if err := c.Login(user, pass); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return c
}

func retr(t *testing.T, c *ftpc.ServerConn, name string) []byte {
	t.Helper()
	r, err := c.Retr(name)
	if err != nil {
		t.Fatalf("RETR %s: %v", name, err)
	}
	defer r.Close()
	r.SetDeadline(time.Now().Add(ioTimeout))
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("RETR %s: %v", name, err)
	}
	return b
}

// The first "done when": start with --port 0 --json --user a:b,
// read the port, log in as a, PWD is "/".
func TestJSONFirstLineAndLogin(t *testing.T) {
	dir := shareDir(t)
	p := start(t, nil, "--user", "alice:pw-not-shown", dir)

	if p.info.Dir != dir {
		t.Errorf("dir = %q, want %q", p.info.Dir, dir)
	}
	wantURL := fmt.Sprintf("ftp://127.0.0.1:%d/", p.info.Port)
	if len(p.info.URLs) != 1 || p.info.URLs[0] != wantURL {
		t.Errorf("urls = %q, want [%q]", p.info.URLs, wantURL)
	}
	if len(p.info.Addresses) != 1 || p.info.Addresses[0] != p.Addr() {
		t.Errorf("addresses = %q, want [%q]", p.info.Addresses, p.Addr())
	}
	if len(p.info.Users) != 1 || p.info.Users[0].Name != "alice" || p.info.Users[0].Perms != "elradfmwMT" || p.info.Users[0].Anonymous {
		t.Errorf("users = %+v, want alice with elradfmwMT and no anonymous", p.info.Users)
	}
	if strings.Contains(p.first, "pw-not-shown") {
		t.Errorf("the first line shows a password: %s", p.first)
	}
	if p.info.TLS != nil {
		t.Errorf("tls = %+v without --tls", p.info.TLS)
	}

	c := dial(t, p.Addr())
	c.login("alice", "pw-not-shown")
	if msg := c.expect(257, "PWD"); !strings.HasPrefix(msg, `"/"`) {
		t.Errorf(`PWD: got %q, want "/"`, msg)
	}
	c.expect(221, "QUIT")

	// Anonymous is off when users are given.
	a := dial(t, p.Addr())
	a.expect(331, "USER anonymous")
	a.expect(530, "PASS guest@")
}

func TestAnonymousReadOnly(t *testing.T) {
	dir := shareDir(t)
	p := start(t, nil, dir)
	if len(p.info.Users) != 1 || !p.info.Users[0].Anonymous || p.info.Users[0].Perms != "elr" {
		t.Fatalf("users = %+v, want only anonymous elr", p.info.Users)
	}

	fc := client(t, p.Addr(), "anonymous", "guest@")
	for _, name := range []string{"hello.txt", "data.bin", "sub/inner.txt"} {
		if got, want := sum(retr(t, fc, name)), fileSum(t, filepath.Join(dir, name)); got != want {
			t.Errorf("RETR %s: sha256 %s, want %s", name, got, want)
		}
	}
	entries, err := fc.List("/")
	var names []string
	for _, e := range entries {
		if e.Name != "." && e.Name != ".." {
			names = append(names, e.Name)
		}
	}
	if err != nil || len(names) != 3 {
		t.Errorf("LIST /: %q, err %v; want the 3 entries", names, err)
	}

	c := dial(t, p.Addr())
	c.login("anonymous", "guest@")
	if first, _, _ := c.transfer([]byte("x"), "STOR new.txt"); first != 550 {
		t.Errorf("STOR: got %d, want 550", first)
	}
	c.expect(550, "DELE hello.txt")
	c.expect(550, "MKD newdir")
	c.expect(550, "RNFR hello.txt")
	if _, err := os.Stat(filepath.Join(dir, "new.txt")); !os.IsNotExist(err) {
		t.Errorf("new.txt exists after a refused STOR (err %v)", err)
	}
	if fileSum(t, filepath.Join(dir, "hello.txt")) != sum([]byte("hello, world\n")) {
		t.Error("hello.txt changed")
	}

	// Named users do not exist.
	u := dial(t, p.Addr())
	u.expect(331, "USER alice")
	u.expect(530, "PASS x")
}

func TestAnonymousWrite(t *testing.T) {
	dir := shareDir(t)
	p := start(t, nil, "--write", dir)
	if p.info.Users[0].Perms != "elradfmwMT" {
		t.Fatalf("anonymous perms %q, want elradfmwMT", p.info.Users[0].Perms)
	}
	fc := client(t, p.Addr(), "anonymous", "guest@")
	data := randomBytes(300_000)
	if err := fc.Stor("up.bin", bytes.NewReader(data)); err != nil {
		t.Fatalf("STOR: %v", err)
	}
	if got := fileSum(t, filepath.Join(dir, "up.bin")); got != sum(data) {
		t.Errorf("up.bin on disk: sha256 %s, want %s", got, sum(data))
	}
	if err := fc.Stor("hello.txt", strings.NewReader("replaced\n")); err != nil {
		t.Errorf("STOR over an existing file: %v", err)
	}
	if err := fc.MakeDir("newdir"); err != nil {
		t.Errorf("MKD: %v", err)
	}
	if err := fc.Rename("up.bin", "newdir/moved.bin"); err != nil {
		t.Errorf("rename: %v", err)
	}
	if err := fc.Delete("newdir/moved.bin"); err != nil {
		t.Errorf("DELE: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "hello.txt")); string(got) != "replaced\n" {
		t.Errorf("hello.txt = %q", got)
	}
}

func TestDropBox(t *testing.T) {
	dir := shareDir(t)
	p := start(t, nil, "--drop-box", "--user", "owner:pw", dir)
	var anon string
	for _, u := range p.info.Users {
		if u.Anonymous {
			anon = u.Perms
		}
	}
	if anon != "ew" {
		t.Fatalf("anonymous perms %q, want ew (users %+v)", anon, p.info.Users)
	}

	c := dial(t, p.Addr())
	c.login("anonymous", "guest@")
	data := randomBytes(50_000)
	if first, _, final := c.transfer(data, "STOR dropped.bin"); first != 150 || final != 226 {
		t.Fatalf("STOR new file: %d then %d, want 150 then 226", first, final)
	}
	if got := fileSum(t, filepath.Join(dir, "dropped.bin")); got != sum(data) {
		t.Fatalf("dropped.bin: sha256 %s, want %s", got, sum(data))
	}
	tests := []struct {
		name string
		cmd  string
		data bool // a transfer command
		send []byte
	}{
		{"overwrite own upload", "STOR dropped.bin", true, []byte("evil")},
		{"overwrite existing", "STOR hello.txt", true, []byte("evil")},
		{"download", "RETR hello.txt", true, nil},
		{"download own upload", "RETR dropped.bin", true, nil},
		{"list", "LIST", true, nil},
		{"name list", "NLST", true, nil},
		{"machine list", "MLSD", true, nil},
		{"append", "APPE hello.txt", true, []byte("evil")},
		{"delete", "DELE hello.txt", false, nil},
		{"rename", "RNFR hello.txt", false, nil},
		{"mkdir", "MKD newdir", false, nil},
		{"size", "SIZE hello.txt", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			var code int
			if tt.data {
				code, _, _ = c.transfer(tt.send, tt.cmd)
			} else {
				code, _ = c.cmd(tt.cmd)
			}
			if code != 550 {
				t.Errorf("%s: got %d, want 550", tt.cmd, code)
			}
		})
	}
	c.t = t
	if fileSum(t, filepath.Join(dir, "dropped.bin")) != sum(data) || fileSum(t, filepath.Join(dir, "hello.txt")) != sum([]byte("hello, world\n")) {
		t.Error("a refused command changed a file")
	}
	// The owner sees what was dropped.
	fc := client(t, p.Addr(), "owner", "pw")
	if got := sum(retr(t, fc, "dropped.bin")); got != sum(data) {
		t.Errorf("owner RETR dropped.bin: sha256 %s, want %s", got, sum(data))
	}
}

func TestReadOnly(t *testing.T) {
	dir := shareDir(t)
	p := start(t, nil, "--read-only", "--user", "alice:pw", "--user", "bob:pw:elrw", dir)
	for _, u := range p.info.Users {
		if u.Perms != "elr" {
			t.Errorf("user %s has %q, want elr under --read-only", u.Name, u.Perms)
		}
	}
	for _, user := range []string{"alice", "bob"} {
		c := dial(t, p.Addr())
		c.login(user, "pw")
		if first, data, final := c.transfer(nil, "RETR hello.txt"); first != 150 || final != 226 || string(data) != "hello, world\n" {
			t.Errorf("%s RETR: %d %q %d", user, first, data, final)
		}
		if first, _, _ := c.transfer([]byte("x"), "STOR x.txt"); first != 550 {
			t.Errorf("%s STOR: got %d, want 550", user, first)
		}
		c.expect(550, "DELE hello.txt")
	}
}

func TestUsersFromFlags(t *testing.T) {
	dir := shareDir(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("hashed-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, nil,
		"--user", "plain:plain-pw",
		"--user", "hashed:"+string(hash),
		"--user", "reader:pw:elr",
		"--user", "colon:pa:ss:", // a password with a colon, default perms
		"--anonymous",
		dir)
	tests := []struct {
		user, pass string
		canWrite   bool
	}{
		{"plain", "plain-pw", true},
		{"hashed", "hashed-pw", true},
		{"reader", "pw", false},
		{"colon", "pa:ss", true},
		{"anonymous", "guest@", false},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			c := dial(t, p.Addr())
			c.login(tt.user, tt.pass)
			code, _, _ := c.transfer([]byte("data"), "STOR %s.txt", tt.user)
			if tt.canWrite != (code == 150) {
				t.Errorf("STOR: got %d, canWrite %v", code, tt.canWrite)
			}
		})
	}
	// A wrong password for a hashed user fails, and the hash is not the password.
	c := dial(t, p.Addr())
	c.expect(331, "USER hashed")
	c.expect(530, "PASS %s", hash)
	if strings.Contains(p.first, string(hash)) {
		t.Error("the first line shows a password hash")
	}
}

func TestUsersFile(t *testing.T) {
	dir := shareDir(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "users")
	write(t, file, []byte("# ftpshare users\n"+
		"\n"+
		"alice:alice-pw\n"+
		"  bob:"+string(hash)+":elr  \n"+
		"# carol is jailed in sub, read-only\n"+
		"carol:carol-pw:elr:sub\r\n"))
	p := start(t, nil, "--users-file", file, "--user", "dave:dave-pw", dir)
	if len(p.info.Users) != 4 {
		t.Fatalf("users = %+v, want 4", p.info.Users)
	}

	fc := client(t, p.Addr(), "alice", "alice-pw")
	if err := fc.Stor("alice.txt", strings.NewReader("from alice")); err != nil {
		t.Errorf("alice STOR: %v", err)
	}
	client(t, p.Addr(), "dave", "dave-pw")

	b := dial(t, p.Addr())
	b.login("bob", "s3cret")
	if code, _, _ := b.transfer([]byte("x"), "STOR bob.txt"); code != 550 {
		t.Errorf("bob (elr) STOR: got %d, want 550", code)
	}

	cc := client(t, p.Addr(), "carol", "carol-pw")
	if got := string(retr(t, cc, "/inner.txt")); got != "inner\n" {
		t.Errorf("carol RETR /inner.txt = %q; her home should be sub", got)
	}
	c := dial(t, p.Addr())
	c.login("carol", "carol-pw")
	c.expect(550, "SIZE /hello.txt") // outside her home: /hello.txt is sub/hello.txt, absent
	c.expect(250, "CWD ..")          // stays in her home
	if msg := c.expect(257, "PWD"); !strings.HasPrefix(msg, `"/"`) {
		t.Errorf("PWD after CWD ..: %s", msg)
	}
	c.expect(550, "RETR ../hello.txt")
}

func TestEnvironmentVariables(t *testing.T) {
	dir := shareDir(t)
	p := startRaw(t, []string{
		"FTPSHARE_BIND=127.0.0.1",
		"FTPSHARE_PORT=0",
		"FTPSHARE_JSON=true",
		"FTPSHARE_USER=alice:a-pw\nbob:b-pw:elr",
		"FTPSHARE_ANONYMOUS=1",
		"FTPSHARE_MAX_CONNS_PER_IP=2",
		"FTPSHARE_IDLE_TIMEOUT=1m",
	}, dir)
	if err := json.Unmarshal([]byte(p.first), &p.info); err != nil || p.info.Port == 0 {
		t.Fatalf("first line %q: %v", p.first, err)
	}
	if len(p.info.Users) != 3 {
		t.Fatalf("users = %+v, want alice, bob, anonymous", p.info.Users)
	}
	a := dial(t, p.Addr())
	a.login("alice", "a-pw")
	b := dial(t, p.Addr())
	b.login("bob", "b-pw")
	// FTPSHARE_MAX_CONNS_PER_IP=2: a third connection is refused.
	c, err := net.DialTimeout("tcp", p.Addr(), ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(ioTimeout))
	line, _ := io.ReadAll(io.LimitReader(c, 200))
	if !strings.HasPrefix(string(line), "421 ") {
		t.Errorf("third connection: got %q, want 421", line)
	}
}

func TestConnectionLimitZeroMeansNone(t *testing.T) {
	p := start(t, nil, "--max-conns-per-ip", "0", "--max-conns", "0", shareDir(t))
	const n = 40 // more than the engine's default of 32 per address
	for i := 0; i < n; i++ {
		dial(t, p.Addr()) // fails the test unless the greeting is 220
	}
}

func TestIdleTimeout(t *testing.T) {
	p := start(t, nil, "--idle-timeout", "500ms", shareDir(t))
	c := dial(t, p.Addr())
	c.login("anonymous", "x")
	start := time.Now()
	if code, msg := c.read(); code != 421 {
		t.Errorf("idle: got %d %s, want 421", code, msg)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("idle timeout came after %v", d)
	}
}

func TestPassivePortsAndPublicIP(t *testing.T) {
	p := start(t, nil, "--passive-ports", "41000-41099", "--public-ip", "203.0.113.7", shareDir(t))
	found := false
	for _, u := range p.info.URLs {
		found = found || u == fmt.Sprintf("ftp://203.0.113.7:%d/", p.info.Port)
	}
	if !found {
		t.Errorf("urls %q lack the public IP", p.info.URLs)
	}
	c := dial(t, p.Addr())
	c.login("anonymous", "x")
	msg := c.expect(227, "PASV")
	m := regexp.MustCompile(`\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)`).FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("PASV reply %q", msg)
	}
	if ip := strings.Join(m[1:5], "."); ip != "203.0.113.7" {
		t.Errorf("PASV announces %s, want the public IP 203.0.113.7", ip)
	}
	hi, _ := strconv.Atoi(m[5])
	lo, _ := strconv.Atoi(m[6])
	if port := hi*256 + lo; port < 41000 || port > 41099 {
		t.Errorf("PASV port %d outside 41000-41099", port)
	}
	d := c.epsv() // EPSV: same range, the control connection's address
	defer d.Close()
	if port := d.RemoteAddr().(*net.TCPAddr).Port; port < 41000 || port > 41099 {
		t.Errorf("EPSV port %d outside 41000-41099", port)
	}
}

// Options may come after DIR.
func TestOptionsAfterDir(t *testing.T) {
	dir := shareDir(t)
	p := startRaw(t, nil, dir, "--bind", "127.0.0.1", "--port=0", "--json", "--write")
	if err := json.Unmarshal([]byte(p.first), &p.info); err != nil {
		t.Fatalf("first line %q: %v", p.first, err)
	}
	if p.info.Dir != dir || p.info.Users[0].Perms != "elradfmwMT" {
		t.Errorf("dir %q perms %q; want %q with --write", p.info.Dir, p.info.Users[0].Perms, dir)
	}
}

func TestJSONEvents(t *testing.T) {
	dir := shareDir(t)
	p := start(t, nil, "--write", dir)
	c := dial(t, p.Addr())
	if ev := p.event("connect", ioTimeout); ev["remote"] == "" {
		t.Errorf("connect event without remote: %v", ev)
	}
	c.login("anonymous", "me@")
	if ev := p.event("login", ioTimeout); ev["user"] != "anonymous" || ev["anonymous"] != true {
		t.Errorf("login event: %v", ev)
	}
	c.transfer(nil, "RETR data.bin")
	ev := p.event("file_sent", ioTimeout)
	if ev["path"] != "/data.bin" || ev["bytes"] != float64(100_000) || ev["command"] != "RETR" {
		t.Errorf("file_sent event: %v", ev)
	}
	if _, ok := ev["rate"].(float64); !ok {
		t.Errorf("file_sent event has no rate: %v", ev)
	}
	c.transfer([]byte("12345"), "STOR five.txt")
	if ev := p.event("file_received", ioTimeout); ev["path"] != "/five.txt" || ev["bytes"] != float64(5) {
		t.Errorf("file_received event: %v", ev)
	}
	c.expect(221, "QUIT")
	p.event("disconnect", ioTimeout)
}

func TestLogLevelsAndFormat(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		want, deny []string
		json       bool
	}{
		{"default", nil, []string{`msg="session opened"`, `msg="transfer complete"`, "bytes=13", "rate="}, []string{"msg=command"}, false},
		{"quiet", []string{"-q"}, nil, []string{"session opened", "transfer complete", "ftpshare is sharing"}, false},
		{"verbose", []string{"-v"}, []string{"msg=command", "verb=RETR"}, []string{"PASS x"}, false},
		{"json", []string{"--log-format", "json"}, []string{`"msg":"transfer complete"`}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := start(t, nil, append(tt.args, shareDir(t))...)
			c := dial(t, p.Addr())
			c.login("anonymous", "x")
			c.transfer(nil, "RETR hello.txt")
			c.expect(221, "QUIT")
			p.event("disconnect", ioTimeout)
			time.Sleep(50 * time.Millisecond) // the log line after the hook
			logs := p.stderr.String()
			for _, w := range tt.want {
				if !strings.Contains(logs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, logs)
				}
			}
			for _, d := range tt.deny {
				if strings.Contains(logs, d) {
					t.Errorf("stderr has %q:\n%s", d, logs)
				}
			}
			if tt.json {
				for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
					if strings.HasPrefix(l, "{") && !json.Valid([]byte(l)) {
						t.Errorf("log line is not JSON: %s", l)
					}
				}
			}
		})
	}
}

// Without --json the banner goes to stdout: the directory, the access, a
// URL and the hints, with no colour codes when stdout is not a terminal.
func TestBanner(t *testing.T) {
	dir := shareDir(t)
	p := startRaw(t, nil, "--bind", "127.0.0.1", "--port", "0", "--user", "alice:pw", "--drop-box", dir)
	var lines []string
	lines = append(lines, p.first)
	deadline := time.After(ioTimeout)
	for done := false; !done; {
		select {
		case l := <-p.lines:
			lines = append(lines, l)
			done = strings.Contains(l, "Ctrl+C")
		case <-deadline:
			t.Fatalf("banner incomplete: %q", lines)
		}
	}
	banner := strings.Join(lines, "\n")
	for _, want := range []string{
		"ftpshare is sharing " + dir,
		"alice: read and write (elradfmwMT)",
		"anyone (anonymous): drop box: upload new files only (ew)",
		"ftp://127.0.0.1:",
		"curl -u alice ftp://127.0.0.1:",
		"curl -T FILE ftp://127.0.0.1:",
		"file manager",
	} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	if strings.Contains(banner, "\x1b[") {
		t.Errorf("colour codes on a non-terminal stdout:\n%q", banner)
	}
}

// Without --bind the share listens on every interface, IPv4 and IPv6, and
// prints URLs for the machine's LAN addresses (IPv6 in brackets), not for
// loopback, unless it has no other address.
func TestDefaultBindDualStack(t *testing.T) {
	p := startRaw(t, nil, "--port", "0", "--json", shareDir(t))
	if err := json.Unmarshal([]byte(p.first), &p.info); err != nil {
		t.Fatal(err)
	}
	if len(p.info.Addresses) != 1 || !strings.HasPrefix(p.info.Addresses[0], "[::]:") && !strings.HasPrefix(p.info.Addresses[0], "0.0.0.0:") {
		t.Errorf("addresses %q, want the unspecified address", p.info.Addresses)
	}
	port := strconv.Itoa(p.info.Port)
	for _, u := range p.info.URLs {
		host := strings.TrimSuffix(strings.TrimPrefix(u, "ftp://"), ":"+port+"/")
		if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
			t.Errorf("IPv6 URL without brackets: %s", u)
		}
		ip := net.ParseIP(strings.Trim(host, "[]"))
		if ip == nil {
			t.Errorf("URL %s has no IP address", u)
		} else if ip.IsLoopback() && len(p.info.URLs) > 1 {
			t.Errorf("loopback URL %s among LAN URLs %q", u, p.info.URLs)
		}
	}
	dial(t, net.JoinHostPort("127.0.0.1", port))
	if strings.HasPrefix(p.info.Addresses[0], "[::]:") {
		if l, err := net.Listen("tcp6", "[::1]:0"); err == nil {
			l.Close()
			dial(t, net.JoinHostPort("::1", port))
		}
	}
}

func TestUploadRateLimit(t *testing.T) {
	dir := t.TempDir()
	p := start(t, nil, "--write", "--max-upload-rate", "100KB", dir)
	c := dial(t, p.Addr())
	c.login("anonymous", "x")
	data := randomBytes(120_000)
	start := time.Now()
	if first, _, final := c.transfer(data, "STOR slow.bin"); first != 150 || final != 226 {
		t.Fatalf("STOR: %d %d", first, final)
	}
	if d := time.Since(start); d < 600*time.Millisecond {
		t.Errorf("120 kB at 100 kB/s took %v", d)
	}
	if got := fileSum(t, filepath.Join(dir, "slow.bin")); got != sum(data) {
		t.Errorf("slow.bin: sha256 %s, want %s", got, sum(data))
	}
}
