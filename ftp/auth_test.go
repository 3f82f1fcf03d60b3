package ftp_test

// Tests of logging in: the built-in Users authorizer (plain and bcrypt
// passwords, anonymous), custom Authorizers, and the USER/PASS sequence.

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

func TestLogin(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	srv := ftptest.NewServer(t, configure(func(s *ftp.Server) {
		s.MaxLoginAttempts = 100
		s.MaxLoginFailuresPerIP = -1
	}))
	if err := srv.Users.Add("hashed", string(hash), srv.Dir, ftp.Permissions{Default: ftp.PermAll}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Users.Add("spaces", " pass with spaces ", srv.Dir, ftp.Permissions{Default: ftp.PermAll}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Users.Add("nopass", "", srv.Dir, ftp.Permissions{Default: ftp.PermAll}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, pass string // pass "-" sends PASS with no argument
		ok         bool
	}{
		{ftptest.User, ftptest.Password, true},
		{ftptest.User, "wrong", false},
		{ftptest.User, "-", false},
		{ftptest.User, ftptest.Password + " ", false},
		{"USER", ftptest.Password, false}, // names are case-sensitive
		{"nobody", ftptest.Password, false},
		{"hashed", "s3cret pass", true},
		{"hashed", "s3cret pas", false},
		{"hashed", string(hash), false}, // the hash is not the password
		{"spaces", " pass with spaces ", true},
		{"spaces", "pass with spaces", false},
		{"nopass", "-", true},
		{"nopass", "x", false},
		{"anonymous", "me@example.com", true},
		{"anonymous", "-", true},
		{"ftp", "anything at all", true},
		{"Anonymous", "me@example.com", false}, // only the exact names
		{"FTP", "x", false},
	}
	c := dialRaw(t, srv.Addr)
	for _, tt := range tests {
		r := c.cmd("USER " + tt.user)
		if r.Code != 331 {
			t.Fatalf("USER %s: got %v, want 331", tt.user, r)
		}
		line := "PASS " + tt.pass
		if tt.pass == "-" {
			line = "PASS"
		}
		r = c.cmd(line)
		switch {
		case tt.ok && (r.Code != 230 || r.Text != "Login successful."):
			t.Errorf("login %q/%q: got %v, want 230", tt.user, tt.pass, r)
		case !tt.ok && (r.Code != 530 || r.Text != "Login incorrect."):
			t.Errorf("login %q/%q: got %v, want 530 Login incorrect.", tt.user, tt.pass, r)
		}
		if tt.ok {
			c.expect("PWD", 257)
			c.expect("REIN", 220)
		}
		c.expect("PWD", 530)
	}
}

func TestLoginSequence(t *testing.T) {
	srv := ftptest.NewServer(t)
	c := dialRaw(t, srv.Addr)
	c.run([]step{
		{"PASS x", 503, "Login with USER first."},
		{"USER anonymous", 331, "Anonymous login okay, send your e-mail address as password."},
		{"USER " + ftptest.User, 331, "User name okay, need password."}, // replaces the first
		{"PASS x", 530, "Login incorrect."},
		{"PASS " + ftptest.Password, 503, "Login with USER first."}, // a failed PASS uses up the USER
		{"USER " + ftptest.User, 331, ""},
		{"PASS " + ftptest.Password, 230, ""},
		{"PASS " + ftptest.Password, 503, "Already logged in."},
		{"REIN", 220, ""},
		{"PASS " + ftptest.Password, 503, "Login with USER first."},
		{"USER anonymous", 331, ""},
		{"PASS", 230, ""},
		{"STAT", 211, "End of status."},
	})
	if r := c.cmd("STAT"); !strings.Contains(r.Full(), "Logged in as anonymous") {
		t.Errorf("STAT after anonymous login = %v", r)
	}
}

func TestAnonymousIsReadOnly(t *testing.T) {
	srv := ftptest.NewServer(t)
	makeTree(t, srv.Dir, map[string]string{"pub/f": "public"})
	c := dialRaw(t, srv.Addr)
	c.login("ftp", "")
	if got := c.retr("pub/f"); string(got) != "public" {
		t.Errorf("RETR = %q", got)
	}
	c.pasv()
	c.run([]step{
		{"STOR new", 550, "Permission denied."},
		{"MKD new", 550, "Permission denied."},
		{"DELE pub/f", 550, "Permission denied."},
		{"RNFR pub/f", 550, "Permission denied."},
	})
	wantOnDisk(t, srv.Dir, "new", false)
	wantOnDisk(t, srv.Dir, "pub/f", true)
}

func TestAnonymousDisabled(t *testing.T) {
	users := ftp.NewUsers()
	t.Cleanup(func() { users.Close() })
	if err := users.Add("alice", "pw", t.TempDir(), ftp.Permissions{Default: ftp.PermAll}); err != nil {
		t.Fatal(err)
	}
	srv := ftptest.NewServer(t, configure(func(s *ftp.Server) { s.Auth, s.MaxLoginAttempts = users, 10 }))
	c := dialRaw(t, srv.Addr)
	for _, name := range []string{"anonymous", "ftp", ftptest.User} {
		c.expect("USER "+name, 331)
		c.expectText("PASS "+ftptest.Password, 530, "Login incorrect.")
	}
	c2 := dialRaw(t, srv.Addr)
	c2.login("alice", "pw")
}

func TestUserHomes(t *testing.T) {
	srv := ftptest.NewServer(t)
	alice, bob := t.TempDir(), t.TempDir()
	makeTree(t, alice, map[string]string{"alice.txt": "a"})
	makeTree(t, bob, map[string]string{"bob.txt": "b"})
	for name, dir := range map[string]string{"alice": alice, "bob": bob} {
		if err := srv.Users.Add(name, name+"pw", dir, ftp.Permissions{Default: ftp.PermAll}); err != nil {
			t.Fatal(err)
		}
	}
	a, b := dialRaw(t, srv.Addr), dialRaw(t, srv.Addr)
	a.login("alice", "alicepw")
	b.login("bob", "bobpw")
	a.expectText("SIZE /alice.txt", 213, "1")
	a.expect("SIZE /bob.txt", 550)
	b.expect("SIZE /alice.txt", 550)
	b.expect("MKD /new", 257)
	wantOnDisk(t, bob, "new", true)
	wantOnDisk(t, alice, "new", false)
	wantOnDisk(t, srv.Dir, "new", false)
	if got := string(a.dataCmd("NLST")); got != "alice.txt\r\n" {
		t.Errorf("alice's NLST = %q", got)
	}
}

func TestUsersAdd(t *testing.T) {
	dir := t.TempDir()
	u := ftp.NewUsers()
	t.Cleanup(func() { u.Close() })
	all := ftp.Permissions{Default: ftp.PermAll}
	if err := u.Add("alice", "pw", dir, all); err != nil {
		t.Fatalf("Add alice: %v", err)
	}
	for _, tt := range []struct{ name, dir string }{
		{"alice", dir},           // already there
		{"", dir},                // empty
		{"anonymous", dir},       // reserved
		{"ftp", dir},             // reserved
		{"a\r\nPASS x", dir},     // would break the protocol
		{"nul\x00", dir},         //
		{"carol", dir + "/nope"}, // no such directory
	} {
		if err := u.Add(tt.name, "pw", tt.dir, all); err == nil {
			t.Errorf("Add(%q, %q) succeeded, want an error", tt.name, tt.dir)
		}
	}
	if err := u.AddFS("anonymous", "pw", nil, all); err == nil {
		t.Error("AddFS(anonymous) succeeded")
	}
	if err := u.AddAnonymous(dir+"/nope", all); err == nil {
		t.Error("AddAnonymous of a missing directory succeeded")
	}
	// A user on any FileSystem.
	rfs, err := ftp.NewRootFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rfs.Close() })
	if err := u.AddFS("dave", "pw", rfs, all); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	acct, err := u.Authenticate(ctx, "dave", "pw", remote)
	if err != nil || acct.User != "dave" || acct.FS != rfs || acct.Anonymous || acct.Perms.Default != ftp.PermAll {
		t.Errorf("Authenticate(dave) = %+v, %v", acct, err)
	}
	if _, err := u.Authenticate(ctx, "dave", "bad", remote); !errors.Is(err, ftp.ErrAuthFailed) {
		t.Errorf("wrong password: %v, want ErrAuthFailed", err)
	}
	if _, err := u.Authenticate(ctx, "anonymous", "", remote); !errors.Is(err, ftp.ErrAuthFailed) {
		t.Errorf("anonymous without AddAnonymous: %v, want ErrAuthFailed", err)
	}
	if err := u.AddAnonymous(dir, ftp.Permissions{Default: ftp.PermRead}); err != nil {
		t.Fatal(err)
	}
	acct, err = u.Authenticate(ctx, "ftp", "", remote)
	if err != nil || !acct.Anonymous || acct.Perms.Default != ftp.PermRead {
		t.Errorf("Authenticate(ftp) = %+v, %v", acct, err)
	}
}

func TestIsBcryptHash(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost)
	for s, want := range map[string]bool{
		string(hash): true,
		"x":          false,
		"$2a$10$":    false,
		"":           false,
	} {
		if got := ftp.IsBcryptHash(s); got != want {
			t.Errorf("IsBcryptHash(%q) = %v, want %v", s, got, want)
		}
	}
}

// authFunc is an Authorizer made of a function.
type authFunc func(ctx context.Context, user, pass string, remote net.Addr) (*ftp.Account, error)

func (f authFunc) Authenticate(ctx context.Context, user, pass string, remote net.Addr) (*ftp.Account, error) {
	return f(ctx, user, pass, remote)
}

func TestCustomAuthorizer(t *testing.T) {
	dir := t.TempDir()
	rfs, err := ftp.NewRootFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rfs.Close() })
	var (
		mu      sync.Mutex
		remotes []net.Addr
		ctxs    = map[string]context.Context{}
	)
	auth := authFunc(func(ctx context.Context, user, pass string, remote net.Addr) (*ftp.Account, error) {
		mu.Lock()
		remotes = append(remotes, remote)
		ctxs[user] = ctx
		mu.Unlock()
		switch user {
		case "ok":
			return &ftp.Account{User: "Display Name", FS: rfs, Perms: ftp.Permissions{Default: ftp.PermRead}}, nil
		case "nofs":
			return &ftp.Account{User: "x"}, nil
		case "nil":
			return nil, nil
		case "backend":
			return nil, errors.New("database is down")
		case "boom":
			panic("authorizer bug")
		}
		return nil, ftp.ErrAuthFailed
	})
	srv := ftptest.NewServer(t, configure(func(s *ftp.Server) {
		s.Auth = auth
		s.MaxLoginAttempts = 100
		s.MaxLoginFailuresPerIP = -1
	}))
	c := dialRaw(t, srv.Addr)
	for _, user := range []string{"nofs", "nil", "backend", "bad"} {
		c.expect("USER "+user, 331)
		c.expectText("PASS x", 530, "Login incorrect.")
	}
	c.login("ok", "x")
	if r := c.expect("STAT", 211); !strings.Contains(r.Full(), "Logged in as Display Name") {
		t.Errorf("STAT = %v", r)
	}
	c.expect("MKD x", 550) // the account's permissions apply
	mu.Lock()
	for _, r := range remotes {
		if r.String() != c.conn.LocalAddr().String() {
			t.Errorf("Authenticate got remote %v, want %v", r, c.conn.LocalAddr())
		}
	}
	ctx := ctxs["ok"]
	mu.Unlock()
	if ctx.Err() != nil {
		t.Error("the context given to Authenticate ended while the session lives")
	}
	c.expect("QUIT", 221)
	select {
	case <-ctx.Done():
	case <-time.After(rawTimeout):
		t.Error("the context given to Authenticate did not end with the session")
	}

	// A panicking Authorizer ends only its own session, with 421.
	p := dialRaw(t, srv.Addr)
	p.expect("USER boom", 331)
	p.expectText("PASS x", 421, "Internal server error; closing the connection.")
	p.expectClosed()
	dialRaw(t, srv.Addr).login("ok", "x")
}

func TestNoAuthorizer(t *testing.T) {
	srv := ftptest.NewServer(t, configure(func(s *ftp.Server) { s.Auth = nil }))
	c := dialRaw(t, srv.Addr)
	c.expect("USER anonymous", 331)
	c.expectText("PASS x", 530, "Login incorrect.")
}

// TestRootFSSub checks that a filesystem made with Sub is jailed in its
// directory.
func TestRootFSSub(t *testing.T) {
	base := t.TempDir()
	makeTree(t, base, map[string]string{"secret.txt": "s", "home/mine.txt": "m"})
	root, err := ftp.NewRootFS(base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	sub, err := root.Sub("/home")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	if _, err := root.Sub("/nope"); err == nil {
		t.Error("Sub of a missing directory succeeded")
	}
	srv := ftptest.NewServer(t)
	if err := srv.Users.AddFS("subuser", "pw", sub, ftp.Permissions{Default: ftp.PermAll}); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, srv.Addr)
	c.login("subuser", "pw")
	c.expectText("SIZE mine.txt", 213, "1")
	c.expect("SIZE ../secret.txt", 550)
	c.expect("SIZE /secret.txt", 550)
	if sub.Dir() != filepath.Join(base, "home") && !strings.HasSuffix(sub.Dir(), "home") {
		t.Errorf("Sub(...).Dir() = %q", sub.Dir())
	}
	if _, err := os.Stat(filepath.Join(base, "home", "mine.txt")); err != nil {
		t.Fatal(err)
	}
}
