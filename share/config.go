package share

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
)

// DefaultPort is the port ftpshare listens on unless told otherwise: above
// 1023, so that no privileges are needed.
const DefaultPort = 2121

// Permissions of the anonymous account in each mode.
const (
	// AnonymousRead is the default: list and download.
	AnonymousRead = ftp.PermRead
	// AnonymousWrite is Config.Write: everything a named user may do.
	AnonymousWrite = ftp.PermAll
	// AnonymousDropBox is Config.DropBox: change directory (which most
	// clients do on connecting) and store new files. Without "d" the
	// engine refuses to overwrite an existing file; without "l" and "r"
	// nothing can be listed or downloaded.
	AnonymousDropBox = ftp.PermChdir | ftp.PermStore
)

// Config describes a share. The zero value serves the current directory
// anonymously, read-only, on a free port of every interface.
type Config struct {
	// Dir is the directory served; "" means ".".
	Dir string

	// Users are the named accounts. With none, anonymous access is on.
	Users []User
	// Anonymous keeps anonymous access on when Users are given.
	Anonymous bool
	// Write gives the anonymous account every permission
	// (AnonymousWrite). It turns anonymous access on.
	Write bool
	// DropBox makes the anonymous account upload-only (AnonymousDropBox):
	// new files can be stored, but nothing listed, downloaded, overwritten,
	// renamed or deleted. It turns anonymous access on.
	DropBox bool
	// ReadOnly removes every write permission from every account.
	ReadOnly bool
	// SystemUsers lets the machine's own accounts log in with their
	// passwords (PAM, see package ftp/sysauth; the program must be built
	// with the "pam" tag), each in its home directory with every
	// permission. Users are tried first, and their names never reach PAM.
	// System accounts count as users: anonymous access is off unless
	// Anonymous, Write or DropBox turns it on.
	SystemUsers bool
	// SystemUsersOnly is SystemUsers with no Users and no anonymous access.
	SystemUsersOnly bool

	// Bind is the host or IP address to listen on; "" means every
	// interface, IPv4 and IPv6.
	Bind string
	// Port is the control connection's port; 0 picks a free one.
	Port int
	// PassivePorts limits the ports of passive data connections; the zero
	// value lets the system pick.
	PassivePorts ftp.PortRange
	// PublicIP is the IPv4 address announced in PASV replies, for a
	// server behind NAT; "" announces the address the client connected to.
	PublicIP string

	// MaxConns and MaxConnsPerIP limit simultaneous control connections,
	// in all and from one address; 0 means no limit.
	MaxConns      int
	MaxConnsPerIP int
	// IdleTimeout closes a control connection idle for so long; 0 means
	// never.
	IdleTimeout time.Duration
	// MaxDownloadRate and MaxUploadRate limit each session, in bytes per
	// second; 0 means no limit.
	MaxDownloadRate int64
	MaxUploadRate   int64

	// TLS enables explicit FTPS (AUTH TLS). Without CertFile and KeyFile a
	// self-signed certificate is made, or reused, in CertDir.
	TLS bool
	// CertFile and KeyFile are a PEM certificate (chain) and its key.
	// Setting them turns TLS on.
	CertFile, KeyFile string
	// CertDir keeps the self-signed certificate; "" means
	// DefaultCertDir().
	CertDir string
	// ImplicitTLS adds a listener for implicit FTPS (TLS from the first
	// byte) on ImplicitTLSPort (0 picks a free port). It turns TLS on.
	ImplicitTLS     bool
	ImplicitTLSPort int
	// TLSRequired refuses logins and transfers that are not encrypted. It
	// turns TLS on.
	TLSRequired bool
	// TLSSessionReuse requires each TLS data connection to resume its
	// control connection's TLS session.
	TLSSessionReuse bool
	// TLSCloseNotify fails a TLS upload that ends without TLS's
	// close_notify, as a cut-off one does (ftp.Server's
	// TLSCloseNotifyRequired).
	TLSCloseNotify bool

	// Logger receives the server's log; nil means slog.Default().
	Logger *slog.Logger
	// Hooks are passed to the server.
	Hooks ftp.Hooks
}

// User is a named account.
type User struct {
	// Name is the login name; "anonymous" and "ftp" are reserved.
	Name string
	// Password is plain text or a bcrypt hash ("$2a$...").
	Password string
	// Perm is what the user may do; 0 means ftp.PermAll.
	Perm ftp.Perm
	// Home is the user's root directory: "" means Config.Dir, a relative
	// path is inside Config.Dir, an absolute path is used as it is. It
	// must exist.
	Home string
}

// ConfigError is a mistake in a Config, or in something it names (a
// directory, a users file, a certificate), that the person running the
// share can correct. Its message is meant to be shown as it is.
type ConfigError struct {
	Msg string
	Err error
}

func (e *ConfigError) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *ConfigError) Unwrap() error { return e.Err }

func configErrorf(format string, args ...any) *ConfigError {
	return &ConfigError{Msg: fmt.Sprintf(format, args...)}
}

// tlsEnabled reports whether any setting asks for FTPS.
func (c *Config) tlsEnabled() bool {
	return c.TLS || c.CertFile != "" || c.KeyFile != "" || c.ImplicitTLS || c.TLSRequired || c.TLSSessionReuse || c.TLSCloseNotify
}

// AnonymousEnabled reports whether the anonymous account can log in.
func (c *Config) AnonymousEnabled() bool {
	if c.SystemUsersOnly {
		return false
	}
	return len(c.Users) == 0 && !c.SystemUsers || c.Anonymous || c.Write || c.DropBox
}

// systemUsers reports whether system accounts may log in.
func (c *Config) systemUsers() bool { return c.SystemUsers || c.SystemUsersOnly }

// AnonymousPerm returns the anonymous account's permissions (meaningful
// when AnonymousEnabled).
func (c *Config) AnonymousPerm() ftp.Perm {
	p := AnonymousRead
	switch {
	case c.Write:
		p = AnonymousWrite
	case c.DropBox:
		p = AnonymousDropBox
	}
	if c.ReadOnly {
		p &^= ftp.PermWrite
	}
	return p
}

// UserPerm returns u's permissions with the defaults and ReadOnly applied.
func (c *Config) UserPerm(u *User) ftp.Perm {
	p := u.Perm
	if p == 0 {
		p = ftp.PermAll
	}
	if c.ReadOnly {
		p &^= ftp.PermWrite
	}
	return p
}

// check finds the mistakes in c that need no filesystem or network.
func (c *Config) check() error {
	switch {
	case c.Write && c.DropBox:
		return configErrorf("write and drop-box contradict each other: a drop box is upload-only")
	case c.Write && c.ReadOnly:
		return configErrorf("write and read-only contradict each other")
	case c.DropBox && c.ReadOnly:
		return configErrorf("drop-box and read-only contradict each other: a read-only drop box accepts nothing")
	case c.SystemUsersOnly && (len(c.Users) > 0 || c.Anonymous || c.Write || c.DropBox):
		return configErrorf("system-users-only excludes other users and anonymous access")
	case (c.CertFile == "") != (c.KeyFile == ""):
		return configErrorf("a certificate needs both a certificate file and a key file")
	case c.Port < 0 || c.Port > 65535:
		return configErrorf("port %d is out of range (0-65535)", c.Port)
	case c.ImplicitTLS && (c.ImplicitTLSPort < 0 || c.ImplicitTLSPort > 65535):
		return configErrorf("implicit TLS port %d is out of range (0-65535)", c.ImplicitTLSPort)
	case c.ImplicitTLS && c.ImplicitTLSPort != 0 && c.ImplicitTLSPort == c.Port:
		return configErrorf("the implicit TLS port and the port are both %d; choose two ports", c.Port)
	case c.MaxConns < 0 || c.MaxConnsPerIP < 0:
		return configErrorf("connection limits cannot be negative (0 means no limit)")
	case c.IdleTimeout < 0:
		return configErrorf("the idle timeout cannot be negative (0 means never)")
	case c.MaxDownloadRate < 0 || c.MaxUploadRate < 0:
		return configErrorf("rate limits cannot be negative (0 means no limit)")
	}
	if err := checkPortRange(c.PassivePorts); err != nil {
		return err
	}
	if c.PublicIP != "" {
		ip, err := netip.ParseAddr(c.PublicIP)
		if err != nil || !ip.Unmap().Is4() {
			return configErrorf("public IP %q is not an IPv4 address (PASV can announce only IPv4)", c.PublicIP)
		}
	}
	seen := make(map[string]bool)
	for i := range c.Users {
		u := &c.Users[i]
		if err := checkUserName(u.Name); err != nil {
			return err
		}
		if seen[u.Name] {
			return configErrorf("user %q is given twice", u.Name)
		}
		seen[u.Name] = true
		if u.Password == "" {
			return configErrorf("user %q has an empty password", u.Name)
		}
	}
	return nil
}

func checkPortRange(r ftp.PortRange) error {
	if r == (ftp.PortRange{}) {
		return nil
	}
	if r.Min < 1 || r.Max > 65535 || r.Min > r.Max {
		return configErrorf("invalid passive port range %d-%d: want MIN-MAX with 1 <= MIN <= MAX <= 65535", r.Min, r.Max)
	}
	return nil
}

// resolveDir resolves and checks the served directory.
func resolveDir(dir string) (string, error) {
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", &ConfigError{Msg: fmt.Sprintf("directory %s", dir), Err: err}
	}
	if err := checkDir(abs, "directory"); err != nil {
		return "", err
	}
	return abs, nil
}

// checkDir checks that dir exists, is a directory and can be listed.
func checkDir(dir, what string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return configErrorf("%s %s does not exist", what, dir)
	case err != nil:
		return configErrorf("%s %s: %v", what, dir, unwrapPath(err))
	case !fi.IsDir():
		return configErrorf("%s %s is not a directory", what, dir)
	}
	f, err := os.Open(dir)
	if err == nil {
		_, err = f.Readdirnames(1)
		f.Close()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return configErrorf("%s %s cannot be read: %v", what, dir, unwrapPath(err))
	}
	return nil
}

// unwrapPath drops the *PathError wrapping whose path the message already names.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
