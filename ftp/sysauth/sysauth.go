// Package sysauth logs the machine's own users in: an [ftp.Authorizer] that
// checks passwords with PAM and jails each account to its home directory.
//
//	sys, err := sysauth.New(sysauth.Options{})
//	if err != nil {
//		return err // errors.Is(err, sysauth.ErrNotBuilt) in a build without PAM
//	}
//	defer sys.Close()
//	srv := &ftp.Server{Addr: ":21", Auth: sys}
//
// PAM needs cgo and the PAM headers, so it is compiled only with the build
// tag "pam", on Linux and FreeBSD:
//
//	apt-get install libpam0g-dev
//	CGO_ENABLED=1 go build -tags pam
//
// Without the tag the package still compiles everywhere and [New] returns
// [ErrNotBuilt].
//
// # The model, and its limits
//
// A Go server cannot switch user per goroutine (setuid applies to the whole
// process), so every session reads and writes with the server's own
// credentials, confined to the account's home by [os.Root].
//
//   - Running as root, the server can authenticate any account. It serves a
//     home only if the account owns it, gives each file and directory it
//     creates to the account (fchown/lchown right after creation), and checks
//     an account's access to existing files and directories itself, with the
//     owner/group/other bits as the kernel would for that account (ACLs,
//     capabilities and search permission on intermediate directories are not
//     consulted). Checks on an opened file are made on its descriptor; checks
//     on a directory before creating, removing or renaming in it are made by
//     path just before the operation, so a local user racing renames in their
//     own home could slip past them (never outside the home: that is
//     [os.Root]'s job).
//   - Running as any other user, the server serves only that same account
//     (PAM's pam_unix can usually check no other password without root
//     anyway), and the kernel checks every access.
//
// Accounts with uid 0 and accounts whose login shell is not listed in
// /etc/shells are refused unless [Options] allows them; they are refused
// before PAM is asked, so the server never tells whether their password was
// right. PAM runs authentication and account management (expired accounts
// and passwords are refused); it never opens a PAM session or sets
// credentials, which would change the server process itself.
package sysauth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ftpshare/ftpshare/ftp"
)

// ErrNotBuilt is returned by [New] in a build without PAM support.
var ErrNotBuilt = errors.New("sysauth: this program was built without PAM, which system accounts need; " +
	"on Linux or FreeBSD, install the PAM headers (apt-get install libpam0g-dev) and build with " +
	"CGO_ENABLED=1 go build -tags pam")

// DefaultService is the PAM service used when [Options.Service] is empty and
// a file for it exists in a PAM configuration directory; otherwise
// [FallbackService] is used.
const (
	DefaultService  = "ftpshare"
	FallbackService = "login"
)

// DefaultMaxConcurrent bounds the PAM conversations that run at once when
// [Options.MaxConcurrent] is 0.
const DefaultMaxConcurrent = 16

// pamDirs are where Linux-PAM and OpenPAM look for service files.
var pamDirs = []string{"/etc/pam.d", "/usr/lib/pam.d", "/usr/local/etc/pam.d"}

// Options configure an [Authorizer]. The zero value is a safe default.
type Options struct {
	// Service is the PAM service name: the file in /etc/pam.d that says
	// how passwords are checked. "" means DefaultService ("ftpshare") when
	// /etc/pam.d/ftpshare exists, else FallbackService ("login").
	Service string

	// AllowRoot lets accounts with uid 0 log in. Off by default: an FTP
	// password travels in clear text unless the client uses TLS, and a
	// root login would serve the whole of root's home with no check.
	AllowRoot bool

	// AllowAnyShell lets accounts log in whatever their login shell. Off
	// by default: accounts whose shell is not in /etc/shells (system
	// daemons, /usr/sbin/nologin) are not meant to log in.
	AllowAnyShell bool

	// Perms are each account's permissions inside its home; the zero
	// value means ftp.PermAll ("elradfmwMT") everywhere.
	Perms ftp.Permissions

	// AllowedUsers, when not empty, lists the only accounts that may log in.
	AllowedUsers []string

	// DeniedUsers lists accounts that may never log in; it wins over
	// AllowedUsers. When chaining with virtual users (see [Chain]), list
	// their names here so that their passwords never reach PAM.
	DeniedUsers []string

	// MaxConcurrent bounds the PAM conversations running at once (each
	// holds a thread, for seconds when PAM delays a failure); 0 means
	// DefaultMaxConcurrent.
	MaxConcurrent int

	// Logger receives PAM's informational messages (at debug level) and
	// warnings about the set-up; nil means slog.Default(). Refused logins
	// and PAM failures are returned as errors, which ftp.Server logs (never
	// with the password).
	Logger *slog.Logger
}

// passwd is an entry of the passwd database.
type passwd struct {
	name     string
	uid, gid int
	home     string
	shell    string
}

// errUnknownUser is what a backend's lookup returns for a name the passwd
// database does not know.
var errUnknownUser = errors.New("sysauth: no such account")

// backend is what a PAM build provides, and what tests replace.
type backend interface {
	// authenticate runs PAM authentication and account management for
	// user, and returns the name PAM settled on (a module may map it).
	authenticate(service, user, password, rhost string) (string, error)
	// lookup reads the passwd database.
	lookup(name string) (*passwd, error)
	// groups lists the account's groups, for permission checks; it is
	// asked only after PAM accepted the password, as it can be slow
	// (LDAP). On failure it returns none: fewer rights, never more.
	groups(pw *passwd) []int
}

// Authorizer is an [ftp.Authorizer] for the machine's accounts. It is safe
// for concurrent use. Close it to release the home directories it opened.
type Authorizer struct {
	service    string
	perms      ftp.Permissions
	allowRoot  bool
	anyShell   bool
	allowed    map[string]bool
	denied     map[string]bool
	log        *slog.Logger
	backend    backend
	shellsFile string
	euid       int
	owner      func(fs.FileInfo) (uid, gid int, ok bool)
	sem        chan struct{}

	mu      sync.Mutex
	homes   map[string]*ftp.RootFS // by home path, one os.Root shared by sessions
	retired []*ftp.RootFS          // replaced homes, still used by older sessions
	closed  bool
}

// newAuthorizer builds an Authorizer on b; New supplies PAM.
func newAuthorizer(opts Options, b backend, service string) *Authorizer {
	a := &Authorizer{
		service:    service,
		perms:      opts.Perms,
		allowRoot:  opts.AllowRoot,
		anyShell:   opts.AllowAnyShell,
		allowed:    set(opts.AllowedUsers),
		denied:     set(opts.DeniedUsers),
		log:        opts.Logger,
		backend:    b,
		shellsFile: "/etc/shells",
		euid:       os.Geteuid(),
		owner:      fileOwner,
		homes:      make(map[string]*ftp.RootFS),
	}
	slots := opts.MaxConcurrent
	if slots <= 0 {
		slots = DefaultMaxConcurrent
	}
	a.sem = make(chan struct{}, slots)
	if a.perms.Default == 0 && len(a.perms.Overrides) == 0 {
		a.perms = ftp.Permissions{Default: ftp.PermAll}
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	return a
}

func set(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// Service returns the PAM service the Authorizer uses.
func (a *Authorizer) Service() string { return a.service }

// resolveService picks the PAM service for Options.Service.
func resolveService(name string, dirs []string) (string, error) {
	if name == "" {
		if serviceExists(DefaultService, dirs) {
			return DefaultService, nil
		}
		return FallbackService, nil
	}
	if strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return "", fmt.Errorf("sysauth: invalid PAM service name %q", name)
	}
	if !serviceExists(name, dirs) {
		return "", fmt.Errorf("sysauth: PAM service %q has no file in %s", name, strings.Join(dirs, ", "))
	}
	return name, nil
}

func serviceExists(name string, dirs []string) bool {
	for _, d := range dirs {
		if fi, err := os.Stat(filepath.Join(d, name)); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// Authenticate implements [ftp.Authorizer]. Wrong passwords, unknown names
// and refused accounts return an error wrapping [ftp.ErrAuthFailed]; a
// broken PAM stack or an unusable home returns another error.
func (a *Authorizer) Authenticate(ctx context.Context, name, password string, remote net.Addr) (*ftp.Account, error) {
	rhost := remoteHost(remote)
	if err := a.admit(name); err != nil {
		return nil, refuse(name, err)
	}
	// Refuse what policy refuses before PAM sees the password: the server
	// must not become a way to test root's password, for instance.
	pw, err := a.backend.lookup(name)
	switch {
	case err == nil:
		if err := a.policy(pw); err != nil {
			return nil, refuse(name, err)
		}
	case errors.Is(err, errUnknownUser):
		// Ask PAM all the same: answering an unknown name faster than a
		// wrong password would tell a guesser which names exist.
		pw = nil
	default:
		return nil, fmt.Errorf("sysauth: look up account %q: %w", name, err)
	}

	final, err := a.converse(ctx, name, password, rhost)
	if err != nil {
		return nil, err
	}
	if final != name || pw == nil {
		// PAM let in a name the passwd lookup did not know, or mapped the
		// name to another account: check that one.
		if err := a.admit(final); err != nil {
			return nil, refuse(final, err)
		}
		if pw, err = a.backend.lookup(final); err != nil {
			return nil, fmt.Errorf("sysauth: look up account %q after PAM: %w", final, err)
		}
		if err := a.policy(pw); err != nil {
			return nil, refuse(final, err)
		}
	}
	fsys, err := a.home(pw)
	if err != nil {
		return nil, err
	}
	return &ftp.Account{User: pw.name, FS: fsys, Perms: a.perms}, nil
}

// refuse returns why a login was refused, wrapping ftp.ErrAuthFailed. The
// engine logs it with the session; the client sees only 530.
func refuse(name string, err error) error {
	return fmt.Errorf("sysauth: %q: %w: %w", name, err, ftp.ErrAuthFailed)
}

// admit checks a name before anything is looked up.
func (a *Authorizer) admit(name string) error {
	switch {
	case ftp.IsAnonymous(name):
		// "ftp" is often a real account on Unix; it must never reach PAM.
		return errors.New("anonymous names are not system accounts")
	case !validName(name):
		return errors.New("not a valid account name")
	case a.denied[name]:
		return errors.New("the account is denied")
	case len(a.allowed) > 0 && !a.allowed[name]:
		return errors.New("the account is not in the allowed list")
	}
	return nil
}

// validName accepts what could be an account name. A NUL would cut the name
// short on its way to C; a leading "+" or "-" names NIS compatibility
// entries in /etc/passwd, not accounts.
func validName(name string) bool {
	if name == "" || len(name) > 256 || name[0] == '+' || name[0] == '-' {
		return false
	}
	for _, c := range []byte(name) {
		if c < ' ' || c == 0x7f || c == ':' || c == '/' {
			return false
		}
	}
	return true
}

// policy checks an account against AllowRoot and AllowAnyShell.
func (a *Authorizer) policy(pw *passwd) error {
	if pw.uid == 0 && !a.allowRoot {
		return errors.New("the account has uid 0 (root), which is not allowed")
	}
	if a.anyShell {
		return nil
	}
	shells, err := readShells(a.shellsFile)
	if err != nil {
		return fmt.Errorf("cannot read the valid shells: %w", err)
	}
	shell := pw.shell
	if shell == "" {
		shell = "/bin/sh" // passwd(5): an empty shell field means /bin/sh
	}
	if !shells[shell] {
		return fmt.Errorf("the account's shell %s is not listed in %s", shell, a.shellsFile)
	}
	return nil
}

// readShells reads the valid login shells, one path a line, as
// getusershell(3) does, including its default when the file is missing.
func readShells(file string) (map[string]bool, error) {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]bool{"/bin/sh": true, "/bin/csh": true}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseShells(f)
}

// parseShells parses the format of /etc/shells: absolute paths, blank lines
// and "#" comments.
func parseShells(r io.Reader) (map[string]bool, error) {
	shells := make(map[string]bool)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "/") {
			shells[line] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read shells: %w", err)
	}
	return shells, nil
}

// converse runs PAM for one login. It holds one of a bounded number of
// slots, and stops waiting when the session ends; PAM itself cannot be
// interrupted, so its goroutine finishes on its own and frees the slot.
func (a *Authorizer) converse(ctx context.Context, name, password, rhost string) (string, error) {
	select {
	case a.sem <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("sysauth: login abandoned while waiting for PAM: %w", ctx.Err())
	}
	type result struct {
		user string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		defer func() { <-a.sem }()
		user, err := a.backend.authenticate(a.service, name, password, rhost)
		done <- result{user, err}
	}()
	select {
	case r := <-done:
		return r.user, r.err
	case <-ctx.Done():
		return "", fmt.Errorf("sysauth: login abandoned during PAM: %w", ctx.Err())
	}
}

// remoteHost is the client's IP address, for PAM_RHOST and logs.
func remoteHost(remote net.Addr) string {
	if remote == nil {
		return ""
	}
	if ta, ok := remote.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	if host, _, err := net.SplitHostPort(remote.String()); err == nil {
		return host
	}
	return remote.String()
}

// home opens the account's home and wraps it as the server's privileges
// require.
func (a *Authorizer) home(pw *passwd) (ftp.FileSystem, error) {
	if a.euid != 0 && pw.uid != a.euid {
		return nil, fmt.Errorf("sysauth: account %q (uid %d): the server runs as uid %d and can serve only that account; run it as root to serve others", pw.name, pw.uid, a.euid)
	}
	if !filepath.IsAbs(pw.home) {
		return nil, fmt.Errorf("sysauth: account %q: home directory %q is not an absolute path", pw.name, pw.home)
	}
	root, err := a.openHome(pw.home)
	if err != nil {
		return nil, fmt.Errorf("sysauth: account %q: %w", pw.name, err)
	}
	// Check the directory actually served, not the path: the two cannot
	// differ once it is open.
	fi, err := root.Stat("/")
	if err != nil {
		return nil, fmt.Errorf("sysauth: account %q: stat home %s: %w", pw.name, pw.home, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("sysauth: account %q: home %s is not a directory", pw.name, pw.home)
	}
	if a.euid != 0 || pw.uid == 0 {
		return root, nil // the kernel checks every access with the right uid
	}
	uid, _, ok := a.owner(fi)
	if !ok {
		return nil, fmt.Errorf("sysauth: account %q: cannot tell who owns home %s; refusing to serve it", pw.name, pw.home)
	}
	if uid != pw.uid {
		return nil, fmt.Errorf("sysauth: account %q (uid %d): home %s is owned by uid %d; refusing to serve a home the account does not own", pw.name, pw.uid, pw.home, uid)
	}
	return newOwnedFS(root, identity{uid: pw.uid, gid: pw.gid, groups: a.backend.groups(pw)}, a.owner), nil
}

// openHome returns the shared RootFS for dir, reopening it when the
// directory at that path was replaced (an account deleted and re-created).
func (a *Authorizer) openHome(dir string) (*ftp.RootFS, error) {
	onDisk, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("home directory: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, errors.New("the Authorizer is closed")
	}
	if root := a.homes[dir]; root != nil {
		if open, err := root.Stat("/"); err == nil && os.SameFile(open, onDisk) {
			return root, nil
		}
		a.retired = append(a.retired, root)
		delete(a.homes, dir)
	}
	root, err := ftp.NewRootFS(dir)
	if err != nil {
		return nil, err
	}
	a.homes[dir] = root
	return root, nil
}

// Close releases the home directories opened for logins. Sessions still
// using them fail; later logins are refused.
func (a *Authorizer) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	var errs []error
	for dir, root := range a.homes {
		errs = append(errs, root.Close())
		delete(a.homes, dir)
	}
	for _, root := range a.retired {
		errs = append(errs, root.Close())
	}
	a.retired = nil
	return errors.Join(errs...)
}

// Chain returns an [ftp.Authorizer] that asks each of auths in turn: it goes
// on to the next only when one answers [ftp.ErrAuthFailed], and returns the
// first account, or the first other error, or the last ErrAuthFailed.
//
// To offer virtual users and system accounts together, put the virtual
// users first and list their names in [Options.DeniedUsers]:
//
//	users := ftp.NewUsers() // with the virtual users, and anonymous if wanted
//	sys, err := sysauth.New(sysauth.Options{DeniedUsers: virtualNames})
//	srv := &ftp.Server{Auth: sysauth.Chain(users, sys)}
//
// A wrong password for a virtual user then never reaches PAM, and anonymous
// names never do (the Authorizer refuses them itself).
func Chain(auths ...ftp.Authorizer) ftp.Authorizer { return chain(auths) }

type chain []ftp.Authorizer

func (c chain) Authenticate(ctx context.Context, user, password string, remote net.Addr) (*ftp.Account, error) {
	err := error(ftp.ErrAuthFailed)
	for _, a := range c {
		var acct *ftp.Account
		acct, err = a.Authenticate(ctx, user, password, remote)
		if err == nil || !errors.Is(err, ftp.ErrAuthFailed) {
			return acct, err
		}
	}
	return nil, err
}
