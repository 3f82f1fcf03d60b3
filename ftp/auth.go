package ftp

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Authorizer decides who may log in and what they then see.
type Authorizer interface {
	// Authenticate checks a user name and password sent by the client at
	// remote. It returns the account to serve, or an error: ErrAuthFailed
	// (or one wrapping it) for wrong credentials, anything else for a
	// failure of the backend. Either way the client gets 530 after the
	// server's failed-login delay. ctx ends when the session does.
	Authenticate(ctx context.Context, user, password string, remote net.Addr) (*Account, error)
}

// ErrAuthFailed is returned by an [Authorizer] for a wrong user name or password.
var ErrAuthFailed = errors.New("ftp: authentication failed")

// Account is a logged-in user: a name, a filesystem and rights on it. The
// engine never changes an Account, so an Authorizer may hand the same one
// to every session of a user.
type Account struct {
	// User is the name used in logs and listings.
	User string
	// FS is the user's home; "/" is its top.
	FS FileSystem
	// Perms says what the user may do where.
	Perms Permissions
	// Anonymous marks the anonymous account (for logs and hooks).
	Anonymous bool
}

// AnonymousNames are the user names that log in as the anonymous account,
// with any password (by custom an e-mail address).
var AnonymousNames = []string{"anonymous", "ftp"}

// IsAnonymous reports whether name is one of [AnonymousNames].
func IsAnonymous(name string) bool {
	for _, n := range AnonymousNames {
		if name == n {
			return true
		}
	}
	return false
}

// Users is the built-in [Authorizer]: virtual users, each with a password
// (plain or a bcrypt hash), a home directory and permissions, plus an
// optional anonymous account. It is safe for concurrent use.
type Users struct {
	mu    sync.RWMutex
	users map[string]*user
	anon  *user
}

type user struct {
	name     string
	password string // plain text, or a bcrypt hash when hashed is set
	hashed   bool
	acct     *Account // shared by the user's sessions, which only read it
	owned    *RootFS  // closed by Users.Close
}

// NewUsers returns an empty set of users: nobody can log in until some are added.
func NewUsers() *Users {
	return &Users{users: make(map[string]*user)}
}

// IsBcryptHash reports whether s is a bcrypt hash ("$2a$10$..."), which
// [Users.Add] then treats as a hash rather than a plain password.
func IsBcryptHash(s string) bool {
	_, err := bcrypt.Cost([]byte(s))
	return err == nil
}

// Add adds a user whose home is the directory dir on disk, jailed with
// [os.Root]. password is plain text or a bcrypt hash (see [IsBcryptHash]).
func (u *Users) Add(name, password, dir string, perms Permissions) error {
	root, err := NewRootFS(dir)
	if err != nil {
		return fmt.Errorf("ftp: user %q: %w", name, err)
	}
	if err := u.add(name, password, root, perms, root); err != nil {
		return errors.Join(err, root.Close())
	}
	return nil
}

// AddFS adds a user whose home is an arbitrary [FileSystem].
func (u *Users) AddFS(name, password string, fsys FileSystem, perms Permissions) error {
	return u.add(name, password, fsys, perms, nil)
}

func (u *Users) add(name, password string, fsys FileSystem, perms Permissions, owned *RootFS) error {
	if name == "" || strings.ContainsAny(name, "\x00\r\n") {
		return fmt.Errorf("ftp: invalid user name %q", name)
	}
	if IsAnonymous(name) {
		return fmt.Errorf("ftp: user name %q is reserved for anonymous access; use AddAnonymous", name)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.users[name]; ok {
		return fmt.Errorf("ftp: user %q already exists", name)
	}
	u.users[name] = &user{name: name, password: password, hashed: IsBcryptHash(password),
		acct: &Account{User: name, FS: fsys, Perms: perms}, owned: owned}
	return nil
}

// AddAnonymous lets "anonymous" and "ftp" log in with any password, served
// from the directory dir with perms (usually [PermRead]).
func (u *Users) AddAnonymous(dir string, perms Permissions) error {
	root, err := NewRootFS(dir)
	if err != nil {
		return fmt.Errorf("ftp: anonymous: %w", err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.anon != nil && u.anon.owned != nil {
		u.anon.owned.Close()
	}
	u.anon = &user{name: "anonymous", acct: &Account{User: "anonymous", FS: root, Perms: perms, Anonymous: true}, owned: root}
	return nil
}

// Authenticate implements [Authorizer].
func (u *Users) Authenticate(_ context.Context, name, password string, _ net.Addr) (*Account, error) {
	u.mu.RLock()
	usr, anon := u.users[name], u.anon
	u.mu.RUnlock()
	if IsAnonymous(name) {
		if anon == nil {
			return nil, fmt.Errorf("anonymous access is disabled: %w", ErrAuthFailed)
		}
		return anon.acct, nil
	}
	if usr == nil || !usr.check(password) {
		return nil, ErrAuthFailed
	}
	return usr.acct, nil
}

func (usr *user) check(password string) bool {
	if usr.hashed {
		return bcrypt.CompareHashAndPassword([]byte(usr.password), []byte(password)) == nil
	}
	return subtle.ConstantTimeCompare([]byte(usr.password), []byte(password)) == 1
}

// Close releases the home directories opened by Add and AddAnonymous.
func (u *Users) Close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	var errs []error
	for _, usr := range u.users {
		if usr.owned != nil {
			errs = append(errs, usr.owned.Close())
		}
	}
	if u.anon != nil && u.anon.owned != nil {
		errs = append(errs, u.anon.owned.Close())
	}
	return errors.Join(errs...)
}
