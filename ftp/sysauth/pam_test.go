//go:build pam && cgo && (linux || freebsd)

package sysauth

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/ftpshare/ftpshare/ftp"
)

// pamAccount returns the throw-away account scripts/ci-pam.sh creates:
// FTPSHARE_PAM_TEST_USER and FTPSHARE_PAM_TEST_PASS. Without them the test
// skips, or fails when FTPSHARE_REQUIRE_CLIENTS=1 (CI must not skip).
func pamAccount(t *testing.T) (name, password string, uid, gid int, home string) {
	t.Helper()
	skip := t.Skipf
	if os.Getenv("FTPSHARE_REQUIRE_CLIENTS") == "1" {
		skip = t.Fatalf
	}
	name, password = os.Getenv("FTPSHARE_PAM_TEST_USER"), os.Getenv("FTPSHARE_PAM_TEST_PASS")
	if name == "" || password == "" {
		skip("FTPSHARE_PAM_TEST_USER and FTPSHARE_PAM_TEST_PASS are not set; scripts/ci-pam.sh sets them")
	}
	if os.Geteuid() != 0 {
		skip("the PAM test needs root: PAM reads /etc/shadow, and files are given to the account")
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("look up %s: %v", name, err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return name, password, uid, gid, u.HomeDir
}

func newPAM(t *testing.T, opts Options) *Authorizer {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	a, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// TestPAMLogin runs the real PAM stack against a real account: the right
// password, a wrong one, the jail, ownership of uploads, root refused.
func TestPAMLogin(t *testing.T) {
	name, password, uid, gid, home := pamAccount(t)
	a := newPAM(t, Options{})
	t.Logf("PAM service %q, account %s (uid %d), home %s", a.Service(), name, uid, home)

	// Things in the home that the account must not escape through or
	// take over: a symbolic link out of the home, and a file of root's.
	escape := filepath.Join(home, "escape")
	locked := filepath.Join(home, "root-owned.txt")
	if err := os.Symlink("/etc", escape); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(locked, []byte("root's"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.Remove(escape)
		os.Remove(locked)
		os.Remove(filepath.Join(home, "upload.txt"))
		os.Remove(filepath.Join(home, "newdir"))
	})
	addr := serve(t, a)

	c := dial(t, addr)
	if code := c.login(name, password+"x"); code != 530 {
		t.Errorf("wrong password: %d, want 530", code)
	}
	if code := c.login(name, password); code != 230 {
		t.Fatalf("right password: %d, want 230", code)
	}
	if dir := c.pwd(); dir != "/" {
		t.Errorf("PWD = %q, want /: the home is the top", dir)
	}
	if code, msg := c.cmd("CWD .."); code != 250 || c.pwd() != "/" {
		t.Errorf("CWD .. = %d %s; PWD %s; want to stay at /", code, msg, c.pwd())
	}
	if code, _ := c.cmd("CWD /escape"); code != 550 {
		t.Errorf("CWD through a symlink to /etc = %d, want 550", code)
	}
	if code, _ := c.retr("/escape/passwd"); code != 550 {
		t.Errorf("RETR through a symlink to /etc = %d, want 550", code)
	}
	if code, _ := c.retr("/../../etc/passwd"); code != 550 {
		t.Errorf("RETR /../../etc/passwd = %d, want 550", code)
	}

	if code := c.stor("upload.txt", []byte("hello from PAM")); code != 226 {
		t.Fatalf("STOR = %d, want 226", code)
	}
	if code, msg := c.cmd("MKD newdir"); code != 257 {
		t.Fatalf("MKD = %d %s, want 257", code, msg)
	}
	for _, n := range []string{"upload.txt", "newdir"} {
		fi, err := os.Lstat(filepath.Join(home, n))
		if err != nil {
			t.Fatal(err)
		}
		if u, g, _ := fileOwner(fi); u != uid || g != gid {
			t.Errorf("%s is owned by %d:%d, want %s's %d:%d", n, u, g, name, uid, gid)
		}
	}
	if data, err := os.ReadFile(filepath.Join(home, "upload.txt")); err != nil || string(data) != "hello from PAM" {
		t.Errorf("uploaded file holds %q, %v", data, err)
	}
	if code, _ := c.retr("root-owned.txt"); code != 550 {
		t.Errorf("RETR of root's 0600 file = %d, want 550", code)
	}
	if code := c.stor("root-owned.txt", []byte("mine")); code != 550 {
		t.Errorf("STOR over root's file = %d, want 550", code)
	}
	if code, _ := c.cmd("QUIT"); code != 221 {
		t.Errorf("QUIT = %d", code)
	}

	// root is refused whatever the password, before PAM is asked.
	r := dial(t, addr)
	if code := r.login("root", "anything"); code != 530 {
		t.Errorf("root: %d, want 530", code)
	}
	// Anonymous names never reach PAM.
	if code := r.login("ftp", "guest@example.com"); code != 530 {
		t.Errorf("ftp: %d, want 530", code)
	}
}

// TestPAMAccountExpired checks that PAM account management runs: an expired
// account is refused with its right password.
func TestPAMAccountExpired(t *testing.T) {
	_, password, _, _, _ := pamAccount(t)
	expired := os.Getenv("FTPSHARE_PAM_TEST_EXPIRED_USER")
	if expired == "" {
		t.Skip("FTPSHARE_PAM_TEST_EXPIRED_USER is not set")
	}
	a := newPAM(t, Options{})
	_, err := a.Authenticate(t.Context(), expired, password, remote)
	if !errors.Is(err, ftp.ErrAuthFailed) {
		t.Errorf("expired account = %v, want ErrAuthFailed", err)
	}
}

func TestPAMDirect(t *testing.T) {
	name, password, _, _, _ := pamAccount(t)
	a := newPAM(t, Options{})
	if acct, err := a.Authenticate(t.Context(), name, password, remote); err != nil || acct.User != name {
		t.Fatalf("Authenticate = %+v, %v", acct, err)
	}
	if _, err := a.Authenticate(t.Context(), name, "", remote); !errors.Is(err, ftp.ErrAuthFailed) {
		t.Errorf("empty password = %v, want ErrAuthFailed", err)
	}
	if _, err := a.Authenticate(t.Context(), "no-such-account-ftpshare", "x", remote); !errors.Is(err, ftp.ErrAuthFailed) {
		t.Errorf("unknown account = %v, want ErrAuthFailed", err)
	}
	// An explicit service must exist.
	if _, err := New(Options{Service: "no-such-service-ftpshare"}); err == nil {
		t.Error("New with a missing PAM service succeeded")
	}
}

// TestPAMConcurrent runs logins in parallel, as sessions do: each PAM
// conversation has its own handle, and the results must not mix.
func TestPAMConcurrent(t *testing.T) {
	name, password, _, _, _ := pamAccount(t)
	a := newPAM(t, Options{MaxConcurrent: 4})
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			pw := password
			if i%2 == 1 {
				pw += "-wrong"
			}
			_, err := a.Authenticate(t.Context(), name, pw, remote)
			if (i%2 == 0) != (err == nil) {
				errs <- fmt.Errorf("login %d (right password: %v) = %v", i, i%2 == 0, err)
				return
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestPAMLookup checks the passwd and group lookups through NSS against
// os/user's view of the same account.
func TestPAMLookup(t *testing.T) {
	name, _, uid, gid, home := pamAccount(t)
	b := pamBackend{log: testLogger()}
	pw, err := b.lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	if pw.name != name || pw.uid != uid || pw.gid != gid || pw.home != home || pw.shell != "/bin/bash" {
		t.Errorf("lookup(%s) = %+v, want uid %d gid %d home %s shell /bin/bash", name, pw, uid, gid, home)
	}
	if groups := b.groups(pw); !slices.Contains(groups, gid) {
		t.Errorf("groups = %v, want the primary group %d among them", groups, gid)
	}
	if _, err := b.lookup("no-such-account-ftpshare"); !errors.Is(err, errUnknownUser) {
		t.Errorf("lookup of an unknown name = %v, want errUnknownUser", err)
	}
}
