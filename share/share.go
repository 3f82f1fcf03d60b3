package share

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/ftp/sysauth"
)

// Share is a running share: an ftp.Server and its listeners.
type Share struct {
	srv         *ftp.Server
	users       *ftp.Users
	sys         *sysauth.Authorizer // system accounts, or nil
	ln          net.Listener        // plain and explicit FTPS
	tlsLn       net.Listener        // implicit FTPS, or nil
	info        Info
	cert        *Certificate
	releaseOnce sync.Once
}

// Info describes a running share, for people and scripts. It holds no
// password.
type Info struct {
	// Dir is the absolute path of the served directory.
	Dir string `json:"dir"`
	// Addresses are the listeners' addresses ("[::]:2121").
	Addresses []string `json:"addresses"`
	// Port is the control port.
	Port int `json:"port"`
	// URLs are one ftp:// URL per address a client can use.
	URLs []string `json:"urls"`
	// Users are the accounts, the anonymous one included.
	Users []UserInfo `json:"users"`
	// SystemUsers describes the machine's accounts, when they may log in.
	SystemUsers *SystemUsersInfo `json:"system_users,omitempty"`
	// TLS describes FTPS, nil when it is off.
	TLS *TLSInfo `json:"tls,omitempty"`
}

// UserInfo describes an account without its password.
type UserInfo struct {
	Name      string `json:"name"`
	Anonymous bool   `json:"anonymous,omitempty"`
	Perms     string `json:"perms"`
	// Home is the account's root directory on disk.
	Home string `json:"home"`
}

// SystemUsersInfo describes the logins of the machine's accounts.
type SystemUsersInfo struct {
	// Perms are each account's permissions in its home.
	Perms string `json:"perms"`
	// PAMService is the PAM service that checks passwords.
	PAMService string `json:"pam_service"`
}

// TLSInfo describes FTPS.
type TLSInfo struct {
	// Fingerprint is the certificate's SHA-256 fingerprint ("AB:CD:...").
	Fingerprint string `json:"fingerprint_sha256"`
	// PublicKeySHA256 is the base64 SHA-256 of the public key, for curl's
	// --pinnedpubkey sha256//...
	PublicKeySHA256 string `json:"pubkey_sha256"`
	// CertFile is the certificate (PEM) for clients to trust.
	CertFile   string    `json:"cert_file"`
	SelfSigned bool      `json:"self_signed"`
	Generated  bool      `json:"generated,omitempty"`
	NotAfter   time.Time `json:"not_after"`
	// Required is set when clear-text logins and transfers are refused.
	Required bool `json:"required"`
	// ExplicitURLs are ftpes:// URLs (explicit FTPS on Port, as FileZilla
	// writes it).
	ExplicitURLs []string `json:"explicit_urls"`
	// ImplicitPort and ImplicitURLs (ftps://) describe implicit FTPS, when on.
	ImplicitPort int      `json:"implicit_port,omitempty"`
	ImplicitURLs []string `json:"implicit_urls,omitempty"`
}

// ListenError is a listener that could not be opened.
type ListenError struct {
	Addr string // host:port asked for
	Port int
	// ImplicitTLS is set for the implicit FTPS listener.
	ImplicitTLS bool
	Err         error
}

func (e *ListenError) Error() string {
	switch {
	case e.InUse():
		return fmt.Sprintf("port %d is in use", e.Port)
	case e.Denied():
		return fmt.Sprintf("port %d needs privileges to listen on", e.Port)
	case e.NotLocal():
		return fmt.Sprintf("cannot listen on %s: the address is not one of this machine's", e.Addr)
	}
	return fmt.Sprintf("cannot listen on %s: %v", e.Addr, e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }

// InUse reports whether another program already listens on the port.
func (e *ListenError) InUse() bool { return isAddrInUse(e.Err) }

// Denied reports whether listening needs privileges (a port below 1024).
func (e *ListenError) Denied() bool { return isAccessDenied(e.Err) }

// NotLocal reports whether the address is not one of the machine's.
func (e *ListenError) NotLocal() bool { return isAddrNotAvail(e.Err) }

// Listen checks cfg, opens what it names (directory, users, certificate)
// and the listeners, and returns a Share ready to Serve. Mistakes a person
// can fix are a *ConfigError or a *ListenError.
func Listen(cfg *Config) (*Share, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	dir, err := resolveDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	sh := &Share{info: Info{Dir: dir, Users: []UserInfo{}}}
	ok := false
	defer func() {
		if !ok {
			sh.release()
		}
	}()
	if err := sh.addUsers(cfg, dir); err != nil {
		return nil, err
	}
	var auth ftp.Authorizer = sh.users
	if cfg.systemUsers() {
		if auth, err = sh.addSystemUsers(cfg); err != nil {
			return nil, err
		}
	}
	var tlsCfg *tls.Config
	if cfg.tlsEnabled() {
		if tlsCfg, err = sh.loadTLS(cfg); err != nil {
			return nil, err
		}
	}
	host, err := bindHost(cfg.Bind)
	if err != nil {
		return nil, err
	}
	if sh.ln, err = listen(host, cfg.Port); err != nil {
		return nil, err
	}
	if cfg.ImplicitTLS {
		if sh.tlsLn, err = listen(host, cfg.ImplicitTLSPort); err != nil {
			var le *ListenError
			if errors.As(err, &le) {
				le.ImplicitTLS = true
			}
			return nil, err
		}
	}
	sh.srv = &ftp.Server{
		Auth:                    auth,
		TLSConfig:               tlsCfg,
		TLSControlRequired:      cfg.TLSRequired,
		TLSDataRequired:         cfg.TLSRequired,
		TLSSessionReuseRequired: cfg.TLSSessionReuse,
		TLSCloseNotifyRequired:  cfg.TLSCloseNotify,
		PassivePorts:            cfg.PassivePorts,
		PublicIP:                cfg.PublicIP,
		IdleTimeout:             noneIfZero(cfg.IdleTimeout),
		MaxConns:                noneIfZero(cfg.MaxConns),
		MaxConnsPerIP:           noneIfZero(cfg.MaxConnsPerIP),
		MaxDownloadRate:         cfg.MaxDownloadRate,
		MaxUploadRate:           cfg.MaxUploadRate,
		Logger:                  cfg.Logger,
		Hooks:                   cfg.Hooks,
	}
	sh.describe(cfg)
	ok = true
	return sh, nil
}

// noneIfZero maps the share's "0 means none" to the engine's "negative
// means none" (where 0 means the engine's default).
func noneIfZero[T int | time.Duration](v T) T {
	if v == 0 {
		return -1
	}
	return v
}

func (sh *Share) addUsers(cfg *Config, dir string) error {
	sh.users = ftp.NewUsers()
	for i := range cfg.Users {
		u := &cfg.Users[i]
		home, err := userHome(dir, u)
		if err != nil {
			return err
		}
		perm := cfg.UserPerm(u)
		if err := sh.users.Add(u.Name, u.Password, home, ftp.Permissions{Default: perm}); err != nil {
			return &ConfigError{Msg: fmt.Sprintf("user %q", u.Name), Err: err}
		}
		sh.info.Users = append(sh.info.Users, UserInfo{Name: u.Name, Perms: perm.String(), Home: home})
	}
	if cfg.AnonymousEnabled() {
		perm := cfg.AnonymousPerm()
		if err := sh.users.AddAnonymous(dir, ftp.Permissions{Default: perm}); err != nil {
			return &ConfigError{Msg: "anonymous", Err: err}
		}
		sh.info.Users = append(sh.info.Users, UserInfo{Name: "anonymous", Anonymous: true, Perms: perm.String(), Home: dir})
	}
	return nil
}

// addSystemUsers opens PAM logins for the machine's accounts and returns
// the authorizer to use: the virtual users first, then PAM.
func (sh *Share) addSystemUsers(cfg *Config) (ftp.Authorizer, error) {
	perm := ftp.PermAll
	if cfg.ReadOnly {
		perm &^= ftp.PermWrite
	}
	var virtual []string
	for _, u := range cfg.Users {
		virtual = append(virtual, u.Name)
	}
	sys, err := sysauth.New(sysauth.Options{
		Perms:       ftp.Permissions{Default: perm},
		DeniedUsers: virtual,
		Logger:      cfg.Logger,
	})
	if err != nil {
		if errors.Is(err, sysauth.ErrNotBuilt) {
			return nil, &ConfigError{Msg: "system accounts are not available", Err: errors.New(strings.TrimPrefix(err.Error(), "sysauth: "))}
		}
		return nil, &ConfigError{Msg: "system accounts", Err: err}
	}
	sh.sys = sys
	sh.info.SystemUsers = &SystemUsersInfo{Perms: perm.String(), PAMService: sys.Service()}
	if cfg.SystemUsersOnly {
		return sys, nil
	}
	return sysauth.Chain(sh.users, sys), nil
}

// userHome resolves a user's home: relative homes are inside dir.
func userHome(dir string, u *User) (string, error) {
	if u.Home == "" {
		return dir, nil
	}
	home := u.Home
	if !filepath.IsAbs(home) {
		if !filepath.IsLocal(home) {
			return "", configErrorf("user %q: home %s leaves the shared directory (a relative home is inside it)", u.Name, u.Home)
		}
		home = filepath.Join(dir, home)
	}
	if err := checkDir(home, fmt.Sprintf("user %q: home", u.Name)); err != nil {
		return "", err
	}
	return filepath.Clean(home), nil
}

func (sh *Share) loadTLS(cfg *Config) (*tls.Config, error) {
	var err error
	if cfg.CertFile != "" {
		sh.cert, err = LoadCertificate(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, err
		}
	} else {
		dir := cfg.CertDir
		if dir == "" {
			if dir, err = DefaultCertDir(); err != nil {
				return nil, configErrorf("no directory to keep the certificate in (%v); name one", err)
			}
		}
		sh.cert, err = SelfSignedCertificate(dir, LocalCertNames(cfg.Bind, cfg.PublicIP), time.Now())
		if err != nil {
			return nil, &ConfigError{Msg: "cannot keep the self-signed certificate in " + dir, Err: err}
		}
	}
	return &tls.Config{
		Certificates: []tls.Certificate{sh.cert.TLS},
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// bindHost checks the bind address: an IP (brackets allowed around IPv6)
// or a host name.
func bindHost(bind string) (string, error) {
	bind = strings.TrimSpace(bind)
	if strings.HasPrefix(bind, "[") && strings.HasSuffix(bind, "]") {
		bind = bind[1 : len(bind)-1]
	}
	if bind == "" {
		return "", nil
	}
	if _, err := netip.ParseAddr(bind); err == nil {
		return bind, nil
	}
	if strings.ContainsAny(bind, ":/ ") {
		return "", configErrorf("bind address %q is neither an IP address nor a host name (give the port separately)", bind)
	}
	return bind, nil
}

func listen(host string, port int) (net.Listener, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	l, err := ftp.Listen("tcp", addr)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			return nil, configErrorf("bind address %q: no such host", host)
		}
		return nil, &ListenError{Addr: addr, Port: port, Err: err}
	}
	return l, nil
}

// describe fills in Info once the listeners are open.
func (sh *Share) describe(cfg *Config) {
	in := &sh.info
	in.Addresses = append(in.Addresses, sh.ln.Addr().String())
	in.Port = sh.ln.Addr().(*net.TCPAddr).Port
	bound := addrOf(sh.ln.Addr())
	hosts := hostsFor(bound, LANAddrs())
	if cfg.PublicIP != "" {
		if ip, err := netip.ParseAddr(cfg.PublicIP); err == nil && !containsAddr(hosts, ip.Unmap()) {
			hosts = append(hosts, ip.Unmap())
		}
	}
	in.URLs = urls("ftp", hosts, in.Port)
	if sh.cert == nil {
		return
	}
	t := &TLSInfo{
		Fingerprint:     sh.cert.Fingerprint,
		PublicKeySHA256: sh.cert.PublicKeySHA256,
		CertFile:        sh.cert.CertFile,
		SelfSigned:      sh.cert.SelfSigned,
		Generated:       sh.cert.Generated,
		NotAfter:        sh.cert.Leaf.NotAfter.UTC(),
		Required:        cfg.TLSRequired,
		ExplicitURLs:    urls("ftpes", hosts, in.Port),
	}
	if sh.tlsLn != nil {
		in.Addresses = append(in.Addresses, sh.tlsLn.Addr().String())
		t.ImplicitPort = sh.tlsLn.Addr().(*net.TCPAddr).Port
		t.ImplicitURLs = urls("ftps", hosts, t.ImplicitPort)
	}
	in.TLS = t
}

func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			return ip
		}
	}
	return netip.IPv6Unspecified()
}

func containsAddr(list []netip.Addr, ip netip.Addr) bool {
	for _, a := range list {
		if a == ip {
			return true
		}
	}
	return false
}

// Info describes the share.
func (sh *Share) Info() Info { return sh.info }

// Server returns the underlying server, for its Shutdown and Close or to
// inspect its settings. Do not change its fields.
func (sh *Share) Server() *ftp.Server { return sh.srv }

// Serve serves the listeners until Shutdown or Close, then returns nil;
// it returns the error of a listener that fails otherwise.
func (sh *Share) Serve() error {
	errc := make(chan error, 2)
	n := 1
	go func() { errc <- sh.srv.Serve(sh.ln) }()
	if sh.tlsLn != nil {
		n++
		go func() { errc <- sh.srv.ServeTLS(sh.tlsLn) }()
	}
	var first error
	for range n {
		err := <-errc
		if err != nil && !errors.Is(err, ftp.ErrServerClosed) && first == nil {
			first = err
			sh.srv.Close() // one listener failed: stop the other too
		}
	}
	return first
}

// Shutdown stops the share gracefully (see ftp.Server.Shutdown): no new
// sessions, idle ones told 421, transfers given until ctx ends, then cut.
func (sh *Share) Shutdown(ctx context.Context) error {
	err := sh.srv.Shutdown(ctx)
	if err != nil {
		sh.srv.Close()
	}
	sh.release()
	return err
}

// Close stops the share at once.
func (sh *Share) Close() error {
	err := sh.srv.Close()
	sh.release()
	return err
}

// release closes what Listen opened: listeners and home directories.
func (sh *Share) release() {
	sh.releaseOnce.Do(func() {
		if sh.ln != nil {
			sh.ln.Close()
		}
		if sh.tlsLn != nil {
			sh.tlsLn.Close()
		}
		if sh.users != nil {
			sh.users.Close()
		}
		if sh.sys != nil {
			sh.sys.Close()
		}
	})
}
