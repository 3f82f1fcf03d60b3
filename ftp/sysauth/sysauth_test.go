package sysauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
)

// fakePAM stands in for PAM and the passwd database.
type fakePAM struct {
	mu        sync.Mutex
	accounts  map[string]*passwd
	passwords map[string]string
	mapTo     map[string]string // PAM_USER after authentication
	err       error             // a broken PAM stack
	gate      chan struct{}     // when set, authenticate waits for it
	asked     []string          // names that reached PAM
	rhosts    []string
}

func (f *fakePAM) authenticate(service, user, password, rhost string) (string, error) {
	f.mu.Lock()
	f.asked = append(f.asked, user)
	f.rhosts = append(f.rhosts, rhost)
	gate, err := f.gate, f.err
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if want, ok := f.passwords[user]; !ok || want != password {
		return "", fmt.Errorf("fake PAM: %w", ftp.ErrAuthFailed)
	}
	if to, ok := f.mapTo[user]; ok {
		return to, nil
	}
	return user, nil
}

func (f *fakePAM) lookup(name string) (*passwd, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pw, ok := f.accounts[name]
	if !ok {
		return nil, errUnknownUser
	}
	cp := *pw
	return &cp, nil
}

func (f *fakePAM) groups(*passwd) []int { return nil }

func (f *fakePAM) askedPAM() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.asked)
}

// add creates an account whose home is a new directory owned by the test
// process, with uid as the account's uid.
func (f *fakePAM) add(t *testing.T, name, password string, uid int, shell string) *passwd {
	t.Helper()
	if f.accounts == nil {
		f.accounts, f.passwords = map[string]*passwd{}, map[string]string{}
	}
	pw := &passwd{name: name, uid: uid, gid: os.Getgid(), home: t.TempDir(), shell: shell}
	if os.Geteuid() == 0 {
		// Give the home to the account, as useradd does.
		if err := os.Chown(pw.home, uid, pw.gid); err != nil {
			t.Fatal(err)
		}
	}
	f.accounts[name], f.passwords[name] = pw, password
	return pw
}

var remote = &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 40000}

// newTest returns an Authorizer on f that believes it runs as euid, with
// /etc/shells listing /bin/bash and /bin/sh.
func newTest(t *testing.T, opts Options, f *fakePAM, euid int) *Authorizer {
	t.Helper()
	shells := filepath.Join(t.TempDir(), "shells")
	if err := os.WriteFile(shells, []byte("# valid shells\n/bin/sh\n/bin/bash\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	a := newAuthorizer(opts, f, "test")
	a.shellsFile = shells
	a.euid = euid
	t.Cleanup(func() { a.Close() })
	return a
}

// me is the uid test accounts get, and the euid a test Authorizer believes
// it runs as when it is not "root": the test process's, unless that is
// root, which accounts may not be by default.
func me() int {
	if uid := os.Geteuid(); uid != 0 {
		return uid
	}
	return 4242
}

func TestParseShells(t *testing.T) {
	in := "# /etc/shells: valid login shells\n/bin/sh\n\n  /bin/bash  \n/usr/bin/zsh # comment\nnot/a/path\n#/bin/csh\n"
	got, err := parseShells(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"/bin/sh": true, "/bin/bash": true, "/usr/bin/zsh": true}
	if len(got) != len(want) {
		t.Fatalf("parseShells = %v, want %v", got, want)
	}
	for s := range want {
		if !got[s] {
			t.Errorf("parseShells misses %s (got %v)", s, got)
		}
	}
}

func TestReadShellsMissingFileUsesDefault(t *testing.T) {
	got, err := readShells(filepath.Join(t.TempDir(), "none"))
	if err != nil {
		t.Fatal(err)
	}
	if !got["/bin/sh"] || !got["/bin/csh"] || len(got) != 2 {
		t.Errorf("readShells(missing) = %v, want getusershell's default", got)
	}
}

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"alice", true},
		{"ftpshare-pam-123", true},
		{"j.doe@example.com", true},
		{"", false},
		{"ali\x00ce", false},
		{"a:b", false},
		{"../etc", false},
		{"+", false},
		{"+@netgroup", false},
		{"-bob", false},
		{"tab\tname", false},
		{strings.Repeat("a", 257), false},
	} {
		if got := validName(tc.name); got != tc.ok {
			t.Errorf("validName(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestResolveService(t *testing.T) {
	with, without := t.TempDir(), t.TempDir()
	for _, name := range []string{"ftpshare", "custom"} {
		if err := os.WriteFile(filepath.Join(with, name), []byte("auth required pam_deny.so\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		service string
		dirs    []string
		want    string // "" means an error
	}{
		{"", []string{with}, "ftpshare"},
		{"", []string{without}, "login"},
		{"", []string{without, with}, "ftpshare"},
		{"custom", []string{with}, "custom"},
		{"custom", []string{without}, ""},
		{"../ftpshare", []string{with}, ""},
		{"..", []string{with}, ""},
	} {
		got, err := resolveService(tc.service, tc.dirs)
		if tc.want == "" {
			if err == nil {
				t.Errorf("resolveService(%q) = %q, want an error", tc.service, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("resolveService(%q, %v) = %q, %v; want %q", tc.service, tc.dirs, got, err, tc.want)
		}
	}
}

// login authenticates and fails the test on an unexpected outcome: want is
// "ok", "denied" (ErrAuthFailed) or "error" (any other error).
func login(t *testing.T, a ftp.Authorizer, name, password, want string) *ftp.Account {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	acct, err := a.Authenticate(ctx, name, password, remote)
	got := "ok"
	switch {
	case errors.Is(err, ftp.ErrAuthFailed):
		got = "denied"
	case err != nil:
		got = "error"
	}
	if got != want {
		t.Fatalf("Authenticate(%q) = %v, %v; want %s", name, acct, err, want)
	}
	if err == nil && (acct == nil || acct.FS == nil) {
		t.Fatalf("Authenticate(%q) returned an account without a filesystem", name)
	}
	return acct
}

func TestAuthenticate(t *testing.T) {
	f := &fakePAM{}
	alice := f.add(t, "alice", "secret", me(), "/bin/bash")
	a := newTest(t, Options{}, f, me())

	acct := login(t, a, "alice", "secret", "ok")
	if acct.User != "alice" || acct.Anonymous {
		t.Errorf("account = %+v", acct)
	}
	if acct.Perms.Default != ftp.PermAll {
		t.Errorf("default permissions = %v, want %v", acct.Perms.Default, ftp.PermAll)
	}
	root, ok := acct.FS.(*ftp.RootFS)
	if !ok {
		t.Fatalf("FS = %T, want *ftp.RootFS when the server runs as the account", acct.FS)
	}
	if want, _ := filepath.EvalSymlinks(alice.home); root.Dir() != alice.home && root.Dir() != want {
		t.Errorf("home = %s, want %s", root.Dir(), alice.home)
	}
	if got := f.rhosts[len(f.rhosts)-1]; got != "192.0.2.7" {
		t.Errorf("PAM_RHOST = %q, want the client's IP", got)
	}

	// One os.Root per home, shared by the sessions.
	if again := login(t, a, "alice", "secret", "ok"); again.FS != acct.FS {
		t.Errorf("second login opened the home again")
	}

	login(t, a, "alice", "wrong", "denied")
	login(t, a, "nobody-here", "secret", "denied")
	if asked := f.askedPAM(); !slices.Contains(asked, "nobody-here") {
		t.Errorf("an unknown name must still go through PAM (same delay as a wrong password); PAM saw %v", asked)
	}
}

func TestAuthenticatePermissions(t *testing.T) {
	f := &fakePAM{}
	f.add(t, "alice", "secret", me(), "/bin/bash")
	perms := ftp.Permissions{Default: ftp.PermRead}
	a := newTest(t, Options{Perms: perms}, f, me())
	if acct := login(t, a, "alice", "secret", "ok"); acct.Perms.Default != ftp.PermRead {
		t.Errorf("permissions = %v, want %v", acct.Perms.Default, ftp.PermRead)
	}
}

// TestRefusedBeforePAM checks that policy refuses accounts without asking
// PAM, so that their passwords are never tested.
func TestRefusedBeforePAM(t *testing.T) {
	f := &fakePAM{}
	f.add(t, "root", "toor", 0, "/bin/bash")
	f.add(t, "ftp", "ftp", me(), "/bin/bash")
	f.add(t, "anonymous", "x", me(), "/bin/bash")
	f.add(t, "daemon", "pw", me(), "/usr/sbin/nologin")
	f.add(t, "bob", "pw", me(), "/bin/bash")
	f.add(t, "carol", "pw", me(), "/bin/bash")
	a := newTest(t, Options{DeniedUsers: []string{"bob"}}, f, me())
	for _, name := range []string{"root", "ftp", "anonymous", "daemon", "bob", "+", "-x", "a\x00b"} {
		login(t, a, name, f.passwords[name], "denied")
	}
	if asked := f.askedPAM(); len(asked) != 0 {
		t.Errorf("PAM was asked about %v", asked)
	}

	only := newTest(t, Options{AllowedUsers: []string{"carol"}}, f, me())
	login(t, only, "bob", "pw", "denied")
	login(t, only, "carol", "pw", "ok")
}

func TestAllowRootAndAnyShell(t *testing.T) {
	f := &fakePAM{}
	f.add(t, "root", "toor", 0, "/bin/bash")
	f.add(t, "daemon", "pw", me(), "/usr/sbin/nologin")
	f.add(t, "old", "pw", me(), "") // an empty shell is /bin/sh
	a := newTest(t, Options{AllowRoot: true, AllowAnyShell: true}, f, 0)
	login(t, a, "root", "toor", "ok")
	login(t, a, "daemon", "pw", "ok")

	strict := newTest(t, Options{}, f, me())
	login(t, strict, "old", "pw", "ok")
}

func TestPAMMapsName(t *testing.T) {
	f := &fakePAM{mapTo: map[string]string{"Alice": "alice", "sneaky": "root"}}
	f.add(t, "alice", "secret", me(), "/bin/bash")
	f.add(t, "root", "toor", 0, "/bin/bash")
	f.passwords["Alice"], f.passwords["sneaky"] = "secret", "pw"
	a := newTest(t, Options{}, f, me())
	if acct := login(t, a, "Alice", "secret", "ok"); acct.User != "alice" {
		t.Errorf("User = %q, want the name PAM mapped to", acct.User)
	}
	login(t, a, "sneaky", "pw", "denied") // mapped to root: refused after PAM
}

func TestBackendFailures(t *testing.T) {
	f := &fakePAM{}
	f.add(t, "alice", "secret", me(), "/bin/bash")
	f.err = errors.New("PAM service module failed")
	a := newTest(t, Options{}, f, me())
	login(t, a, "alice", "secret", "error")
}

func TestHomeChecks(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix owners")
	}
	f := &fakePAM{}
	missing := f.add(t, "missing", "pw", me(), "/bin/bash")
	missing.home = filepath.Join(missing.home, "gone")
	file := f.add(t, "file", "pw", me(), "/bin/bash")
	file.home = filepath.Join(file.home, "f")
	if err := os.WriteFile(file.home, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	relative := f.add(t, "relative", "pw", me(), "/bin/bash")
	relative.home = "home/relative"
	stranger := f.add(t, "stranger", "pw", me()+1, "/bin/bash")
	if err := os.Chown(stranger.home, me(), -1); err != nil && os.Geteuid() == 0 {
		t.Fatal(err) // as another user the home is the test process's anyway
	}
	f.add(t, "owner", "pw", me(), "/bin/bash")

	// As root: the home must be the account's.
	asRoot := newTest(t, Options{}, f, 0)
	for _, name := range []string{"missing", "file", "relative", "stranger"} {
		login(t, asRoot, name, "pw", "error")
	}
	acct := login(t, asRoot, "owner", "pw", "ok")
	if _, ok := acct.FS.(*ownedFS); !ok {
		t.Errorf("FS = %T, want the chown-ing wrapper when running as root", acct.FS)
	}

	// As another user: only that same account.
	asUser := newTest(t, Options{}, f, me()+2)
	login(t, asUser, "owner", "pw", "error")
}

func TestHomeReplacedIsReopened(t *testing.T) {
	f := &fakePAM{}
	pw := f.add(t, "alice", "secret", me(), "/bin/bash")
	a := newTest(t, Options{}, f, me())
	first := login(t, a, "alice", "secret", "ok")
	// The account is deleted and created again: same path, new directory.
	if err := os.RemoveAll(pw.home); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(pw.home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pw.home, "new"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	second := login(t, a, "alice", "secret", "ok")
	if second.FS == first.FS {
		t.Fatal("a replaced home was served from the old directory handle")
	}
	if _, err := second.FS.Stat("/new"); err != nil {
		t.Errorf("new home not served: %v", err)
	}
}

func TestClosedAuthorizerRefuses(t *testing.T) {
	f := &fakePAM{}
	f.add(t, "alice", "secret", me(), "/bin/bash")
	a := newTest(t, Options{}, f, me())
	login(t, a, "alice", "secret", "ok")
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	login(t, a, "alice", "secret", "error")
}

// TestSessionEndStopsWaiting checks that a login stuck in PAM (or waiting
// for a PAM slot) gives up when the session's context ends.
func TestSessionEndStopsWaiting(t *testing.T) {
	gate := make(chan struct{})
	f := &fakePAM{gate: gate}
	f.add(t, "alice", "secret", me(), "/bin/bash")
	a := newTest(t, Options{MaxConcurrent: 1}, f, me())
	defer close(gate)

	errs := make(chan error, 2)
	ctx1, cancel1 := context.WithCancel(context.Background())
	go func() {
		_, err := a.Authenticate(ctx1, "alice", "secret", remote)
		errs <- err
	}()
	waitFor(t, func() bool { return len(f.askedPAM()) == 1 })

	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() {
		_, err := a.Authenticate(ctx2, "alice", "secret", remote)
		errs <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if n := len(f.askedPAM()); n != 1 {
		t.Fatalf("%d PAM conversations run with MaxConcurrent 1", n)
	}
	cancel2()
	cancel1()
	for range 2 {
		select {
		case err := <-errs:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Authenticate after the session ended = %v, want context.Canceled", err)
			}
		case <-time.After(testTimeout):
			t.Fatal("Authenticate did not return when its session ended")
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

// fixedAuth answers every login the same way.
type fixedAuth struct {
	acct  *ftp.Account
	err   error
	calls int
}

func (f *fixedAuth) Authenticate(context.Context, string, string, net.Addr) (*ftp.Account, error) {
	f.calls++
	return f.acct, f.err
}

func TestChain(t *testing.T) {
	acct := &ftp.Account{User: "x"}
	broken := errors.New("backend down")
	deniedA := fmt.Errorf("first: %w", ftp.ErrAuthFailed)
	deniedB := fmt.Errorf("second: %w", ftp.ErrAuthFailed)
	for _, tc := range []struct {
		name        string
		first, last *fixedAuth
		want        error
		lastCalls   int
	}{
		{"first accepts", &fixedAuth{acct: acct}, &fixedAuth{}, nil, 0},
		{"first denies, second accepts", &fixedAuth{err: deniedA}, &fixedAuth{acct: acct}, nil, 1},
		{"both deny", &fixedAuth{err: deniedA}, &fixedAuth{err: deniedB}, deniedB, 1},
		{"backend error stops", &fixedAuth{err: broken}, &fixedAuth{acct: acct}, broken, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Chain(tc.first, tc.last).Authenticate(context.Background(), "u", "p", remote)
			if err != tc.want {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err == nil && got != acct {
				t.Errorf("account = %v", got)
			}
			if tc.last.calls != tc.lastCalls {
				t.Errorf("second Authorizer called %d times, want %d", tc.last.calls, tc.lastCalls)
			}
		})
	}
	if _, err := Chain().Authenticate(context.Background(), "u", "p", remote); !errors.Is(err, ftp.ErrAuthFailed) {
		t.Errorf("empty chain = %v, want ErrAuthFailed", err)
	}
}

// TestChainWithVirtualUsers is the CLI's combination: virtual users and
// anonymous first, system accounts after; neither anonymous names nor
// virtual users' names reach PAM.
func TestChainWithVirtualUsers(t *testing.T) {
	users := ftp.NewUsers()
	t.Cleanup(func() { users.Close() })
	if err := users.Add("vuser", "vpass", t.TempDir(), ftp.Permissions{Default: ftp.PermAll}); err != nil {
		t.Fatal(err)
	}
	f := &fakePAM{}
	f.add(t, "alice", "secret", me(), "/bin/bash")
	f.add(t, "vuser", "system-password", me(), "/bin/bash")
	f.add(t, "ftp", "x", me(), "/bin/bash")
	sys := newTest(t, Options{DeniedUsers: []string{"vuser"}}, f, me())
	auth := Chain(users, sys)

	login(t, auth, "vuser", "vpass", "ok")
	login(t, auth, "vuser", "system-password", "denied")
	login(t, auth, "alice", "secret", "ok")
	login(t, auth, "ftp", "x", "denied") // anonymous is off in users
	if asked := f.askedPAM(); !slices.Equal(asked, []string{"alice"}) {
		t.Errorf("PAM saw %v, want only alice", asked)
	}

	if err := users.AddAnonymous(t.TempDir(), ftp.Permissions{Default: ftp.PermRead}); err != nil {
		t.Fatal(err)
	}
	if acct := login(t, auth, "ftp", "me@example.com", "ok"); !acct.Anonymous {
		t.Errorf("ftp logged in as %+v, want the anonymous account", acct)
	}
}

func TestNotBuiltMessage(t *testing.T) {
	for _, want := range []string{"apt-get install libpam0g-dev", "go build -tags pam"} {
		if !strings.Contains(ErrNotBuilt.Error(), want) {
			t.Errorf("ErrNotBuilt = %q, want it to say %q", ErrNotBuilt, want)
		}
	}
	if !Supported {
		if _, err := New(Options{}); !errors.Is(err, ErrNotBuilt) {
			t.Errorf("New in a build without PAM = %v, want ErrNotBuilt", err)
		}
	}
}

// TestEngineServesSystemAccount drives a real engine with the Authorizer
// (PAM replaced by a fake): login, the jail, and, when the test runs as
// root, ownership of what the account creates.
func TestEngineServesSystemAccount(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix accounts")
	}
	f := &fakePAM{}
	uid, gid := me(), os.Getgid()
	asRoot := os.Geteuid() == 0
	if asRoot {
		gid = 4243 // an account that is not the server's
	}
	pw := f.add(t, "alice", "secret", uid, "/bin/bash")
	pw.gid = gid
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(pw.home, "escape")); err != nil {
		t.Fatal(err)
	}
	a := newTest(t, Options{}, f, os.Geteuid())
	addr := serve(t, a)

	c := dial(t, addr)
	if code := c.login("alice", "wrong"); code != 530 {
		t.Errorf("wrong password: %d, want 530", code)
	}
	if code := c.login("alice", "secret"); code != 230 {
		t.Fatalf("login: %d, want 230", code)
	}
	if dir := c.pwd(); dir != "/" {
		t.Errorf("PWD = %q, want /", dir)
	}
	if code, msg := c.cmd("CWD .."); code != 250 || c.pwd() != "/" {
		t.Errorf("CWD .. = %d %s, PWD %s: want to stay at /", code, msg, c.pwd())
	}
	if code, _ := c.cmd("CWD /escape"); code != 550 {
		t.Errorf("CWD through a symlink out of the home = %d, want 550", code)
	}
	if code, _ := c.retr("/escape/secret.txt"); code != 550 {
		t.Errorf("RETR through a symlink out of the home = %d, want 550", code)
	}
	if code := c.stor("up.txt", []byte("hello")); code != 226 {
		t.Fatalf("STOR = %d, want 226", code)
	}
	if code, _ := c.cmd("MKD sub"); code != 257 {
		t.Fatalf("MKD = %d, want 257", code)
	}
	for _, name := range []string{"up.txt", "sub"} {
		fi, err := os.Lstat(filepath.Join(pw.home, name))
		if err != nil {
			t.Fatal(err)
		}
		if u, g, _ := fileOwner(fi); u != uid || g != gid {
			t.Errorf("%s is owned by %d:%d, want the account's %d:%d", name, u, g, uid, gid)
		}
	}
	if code, data := c.retr("up.txt"); code != 226 || string(data) != "hello" {
		t.Errorf("RETR = %d %q", code, data)
	}
	if !asRoot {
		return
	}
	// What root owns in the home stays out of the account's reach.
	locked := filepath.Join(pw.home, "locked.txt")
	if err := os.WriteFile(locked, []byte("root's"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _ := c.retr("locked.txt"); code != 550 {
		t.Errorf("RETR of root's 0600 file = %d, want 550", code)
	}
	if code := c.stor("locked.txt", []byte("mine now")); code != 550 {
		t.Errorf("STOR over root's file = %d, want 550", code)
	}
	if code, _ := c.cmd("SITE CHMOD 4777 locked.txt"); code != 550 {
		t.Errorf("SITE CHMOD of root's file = %d, want 550", code)
	}
	if data, _ := os.ReadFile(locked); string(data) != "root's" {
		t.Errorf("root's file now holds %q", data)
	}
	if fi, _ := os.Stat(locked); fi.Mode() != 0o600 {
		t.Errorf("root's file mode is now %v", fi.Mode())
	}
}
