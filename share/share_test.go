package share

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
	ftpc "github.com/jlaffaye/ftp"
)

func TestHostsAndURLs(t *testing.T) {
	lan := []netip.Addr{netip.MustParseAddr("192.168.1.5"), netip.MustParseAddr("2001:db8::5")}
	tests := []struct {
		bound string
		lan   []netip.Addr
		want  []string
	}{
		{"::", lan, []string{"ftp://192.168.1.5:2121/", "ftp://[2001:db8::5]:2121/"}},
		{"0.0.0.0", lan, []string{"ftp://192.168.1.5:2121/"}},
		{"192.168.1.5", lan, []string{"ftp://192.168.1.5:2121/"}},
		{"::1", lan, []string{"ftp://[::1]:2121/"}},
		{"::ffff:127.0.0.1", lan, []string{"ftp://127.0.0.1:2121/"}},
		{"::", nil, []string{"ftp://127.0.0.1:2121/"}},
	}
	for _, tt := range tests {
		t.Run(tt.bound, func(t *testing.T) {
			got := urls("ftp", hostsFor(netip.MustParseAddr(tt.bound), tt.lan), 2121)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLANAddrs(t *testing.T) {
	for _, ip := range LANAddrs() {
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.Is4In6() {
			t.Errorf("LANAddrs has %s", ip)
		}
	}
}

func TestSelfSignedCertificate(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	names := CertNames{DNS: []string{"localhost", "myhost"}, IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.168.1.5")}}

	c1, err := SelfSignedCertificate(dir, names, now)
	if err != nil {
		t.Fatal(err)
	}
	if !c1.Generated || !c1.SelfSigned {
		t.Errorf("first call: generated %v, self-signed %v", c1.Generated, c1.SelfSigned)
	}
	if err := c1.Leaf.VerifyHostname("192.168.1.5"); err != nil {
		t.Error(err)
	}
	if err := c1.Leaf.VerifyHostname("myhost"); err != nil {
		t.Error(err)
	}
	if c1.Leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key algorithm %v, want ECDSA", c1.Leaf.PublicKeyAlgorithm)
	}
	// The client-facing file is the certificate alone, and verifies.
	pemBytes, err := os.ReadFile(filepath.Join(dir, CertFileName))
	if err != nil {
		t.Fatal(err)
	}
	if b, rest := pem.Decode(pemBytes); b == nil || b.Type != "CERTIFICATE" || len(rest) != 0 {
		t.Errorf("%s is not exactly one certificate", CertFileName)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	if _, err := c1.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "myhost", CurrentTime: now}); err != nil {
		t.Errorf("verify against itself: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, SelfSignedFile)); err != nil {
		t.Error(err)
	} else if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("%s has mode %v; the key must be private", SelfSignedFile, fi.Mode())
	}

	// Kept while it covers the names and is far from its end.
	c2, err := SelfSignedCertificate(dir, CertNames{DNS: []string{"myhost"}, IPs: names.IPs[:1]}, now.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if c2.Generated || c2.Fingerprint != c1.Fingerprint {
		t.Errorf("second call made a new certificate (generated %v)", c2.Generated)
	}

	// A new address: renewed, same key, old names kept.
	more := names
	more.IPs = append(slices.Clone(names.IPs), netip.MustParseAddr("10.0.0.9"))
	c3, err := SelfSignedCertificate(dir, more, now)
	if err != nil {
		t.Fatal(err)
	}
	if !c3.Generated || c3.Fingerprint == c1.Fingerprint {
		t.Errorf("a new address did not renew the certificate")
	}
	if c3.PublicKeySHA256 != c1.PublicKeySHA256 {
		t.Errorf("renewal changed the key")
	}
	for _, h := range []string{"10.0.0.9", "192.168.1.5", "myhost", "localhost"} {
		if err := c3.Leaf.VerifyHostname(h); err != nil {
			t.Errorf("renewed certificate: %v", err)
		}
	}

	// Near its end: renewed.
	c4, err := SelfSignedCertificate(dir, names, c3.Leaf.NotAfter.Add(-CertRenewBefore/2))
	if err != nil {
		t.Fatal(err)
	}
	if !c4.Generated || !c4.Leaf.NotAfter.After(c3.Leaf.NotAfter) {
		t.Errorf("a certificate near its end was not renewed")
	}

	// Unreadable: made anew.
	if err := os.WriteFile(filepath.Join(dir, SelfSignedFile), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	c5, err := SelfSignedCertificate(dir, names, now)
	if err != nil || !c5.Generated {
		t.Errorf("junk file: %v, generated %v", err, c5 != nil && c5.Generated)
	}
}

func TestLoadCertificateMismatch(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	names := LocalCertNames()
	if _, err := SelfSignedCertificate(d1, names, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := SelfSignedCertificate(d2, names, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCertificate(filepath.Join(d1, SelfSignedFile), filepath.Join(d1, SelfSignedFile)); err != nil {
		t.Errorf("matching pair: %v", err)
	}
	_, err := LoadCertificate(filepath.Join(d1, CertFileName), filepath.Join(d2, SelfSignedFile))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Errorf("mismatched pair: %v, want a ConfigError", err)
	}
}

// Listen and Serve end to end in process: anonymous read-only plus a user
// with a home, then a graceful Shutdown.
func TestListenServeShutdown(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "home"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "home", "f.txt"), []byte("in home"), 0o644); err != nil {
		t.Fatal(err)
	}
	sh, err := Listen(&Config{Dir: dir, Bind: "127.0.0.1", Users: []User{{Name: "u", Password: "p", Home: "home"}}, Anonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sh.Serve() }()
	info := sh.Info()
	if info.Port == 0 || info.Users[0].Home != filepath.Join(dir, "home") || !info.Users[1].Anonymous {
		t.Fatalf("info = %+v", info)
	}
	if sh.Server().MaxConns != -1 || sh.Server().MaxConnsPerIP != -1 || sh.Server().IdleTimeout != -1 {
		t.Errorf("zero limits must mean none: %d %d %v", sh.Server().MaxConns, sh.Server().MaxConnsPerIP, sh.Server().IdleTimeout)
	}
	c, err := ftpc.Dial(net.JoinHostPort("127.0.0.1", strconv.Itoa(info.Port)), ftpc.DialWithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login("u", "p"); err != nil {
		t.Fatal(err)
	}
	if size, err := c.FileSize("/f.txt"); err != nil || size != 7 {
		t.Errorf("SIZE /f.txt in u's home: %d, %v", size, err)
	}
	c.Quit()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sh.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
}

func TestListenPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = Listen(&Config{Dir: t.TempDir(), Bind: "127.0.0.1", Port: port})
	var le *ListenError
	if !errors.As(err, &le) || !le.InUse() || le.Port != port {
		t.Fatalf("Listen on a busy port: %v, want a ListenError with InUse", err)
	}
}

// TestListenTLSOptions checks that each TLS option reaches the engine
// and, alone, turns FTPS on (a self-signed certificate in CertDir).
func TestListenTLSOptions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		set   func(*Config)
		check func(*ftp.Server) bool
	}{
		{"TLSRequired", func(c *Config) { c.TLSRequired = true }, func(s *ftp.Server) bool { return s.TLSControlRequired && s.TLSDataRequired }},
		{"TLSSessionReuse", func(c *Config) { c.TLSSessionReuse = true }, func(s *ftp.Server) bool { return s.TLSSessionReuseRequired }},
		{"TLSCloseNotify", func(c *Config) { c.TLSCloseNotify = true }, func(s *ftp.Server) bool { return s.TLSCloseNotifyRequired }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Config{Dir: t.TempDir(), Bind: "127.0.0.1", CertDir: t.TempDir()}
			tc.set(cfg)
			sh, err := Listen(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer sh.Close()
			if srv := sh.Server(); srv.TLSConfig == nil || !tc.check(srv) {
				t.Errorf("%s: engine TLSConfig set %v, option passed on %v", tc.name, srv.TLSConfig != nil, tc.check(srv))
			}
		})
	}
}
