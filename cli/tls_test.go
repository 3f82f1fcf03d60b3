package cli_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	ftpc "github.com/jlaffaye/ftp"
)

// trust returns a TLS client configuration that trusts the certificate
// the share printed, after checking that the printed fingerprint and key
// pin are those of the certificate file.
func trust(t *testing.T, p *proc) *tls.Config {
	t.Helper()
	if p.info.TLS == nil {
		t.Fatalf("no tls in the first line: %s", p.first)
	}
	pemBytes, err := os.ReadFile(p.info.TLS.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		t.Fatalf("%s holds no PEM", p.info.TLS.CertFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	fp := sha256.Sum256(cert.Raw)
	var hexPairs []string
	for _, b := range fp {
		hexPairs = append(hexPairs, fmt.Sprintf("%02X", b))
	}
	if want := strings.Join(hexPairs, ":"); p.info.TLS.Fingerprint != want {
		t.Errorf("fingerprint %s, want %s", p.info.TLS.Fingerprint, want)
	}
	pk := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	if want := base64.StdEncoding.EncodeToString(pk[:]); p.info.TLS.PubKey != want {
		t.Errorf("pubkey pin %s, want %s", p.info.TLS.PubKey, want)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{
		RootCAs:            pool,
		ServerName:         "127.0.0.1", // checked against the certificate's IP SANs; needed to resume sessions
		ClientSessionCache: tls.NewLRUClientSessionCache(16),
	}
}

// Explicit FTPS with the generated certificate, from a Go client: login,
// LIST, and sha256-checked STOR and RETR with PROT P.
func TestExplicitTLS(t *testing.T) {
	for _, reuse := range []bool{false, true} {
		t.Run(fmt.Sprintf("session-reuse=%v", reuse), func(t *testing.T) {
			dir := shareDir(t)
			tlsDir := t.TempDir()
			args := []string{"--tls", "--tls-dir", tlsDir, "--user", "alice:pw", dir}
			if reuse {
				args = append([]string{"--tls-session-reuse"}, args...)
			}
			p := start(t, nil, args...)
			if !p.info.TLS.SelfSigned || p.info.TLS.CertFile != filepath.Join(tlsDir, "cert.pem") {
				t.Errorf("tls = %+v", p.info.TLS)
			}
			if want := fmt.Sprintf("ftpes://127.0.0.1:%d/", p.info.Port); len(p.info.TLS.ExplicitURLs) != 1 || p.info.TLS.ExplicitURLs[0] != want {
				t.Errorf("explicit urls %q, want [%s]", p.info.TLS.ExplicitURLs, want)
			}
			cfg := trust(t, p)

			c, err := ftpc.Dial(p.Addr(), ftpc.DialWithTimeout(ioTimeout), ftpc.DialWithExplicitTLS(cfg))
			if err != nil {
				t.Fatalf("dial with AUTH TLS: %v", err)
			}
			defer c.Quit()
			if err := c.Login("alice", "pw"); err != nil {
				t.Fatalf("login over TLS: %v", err)
			}
			entries, err := c.List("/")
			if err != nil || len(entries) < 3 {
				t.Fatalf("LIST over TLS: %d entries, %v", len(entries), err)
			}
			data := randomBytes(700_000)
			if err := c.Stor("up.bin", bytes.NewReader(data)); err != nil {
				t.Fatalf("STOR over TLS: %v", err)
			}
			if got := fileSum(t, filepath.Join(dir, "up.bin")); got != sum(data) {
				t.Errorf("up.bin on disk: sha256 %s, want %s", got, sum(data))
			}
			if got := sum(retr(t, c, "up.bin")); got != sum(data) {
				t.Errorf("RETR over TLS: sha256 %s, want %s", got, sum(data))
			}
			if got := sum(retr(t, c, "data.bin")); got != fileSum(t, filepath.Join(dir, "data.bin")) {
				t.Errorf("RETR data.bin over TLS: wrong sha256")
			}
		})
	}
}

// The certificate is kept: a second start with the same directory shows
// the same fingerprint, and does not say it made one.
func TestCertificateKept(t *testing.T) {
	tlsDir := t.TempDir()
	p1 := start(t, nil, "--tls", "--tls-dir", tlsDir, shareDir(t))
	p1.kill()
	p2 := start(t, []string{"FTPSHARE_TLS_DIR=" + tlsDir}, "--tls", shareDir(t))
	if p1.info.TLS.Fingerprint != p2.info.TLS.Fingerprint {
		t.Errorf("fingerprint changed between runs: %s then %s", p1.info.TLS.Fingerprint, p2.info.TLS.Fingerprint)
	}
	if !strings.Contains(p1.first, `"generated":true`) || strings.Contains(p2.first, `"generated":true`) {
		t.Errorf("generated: first run %s, second run %s", p1.first, p2.first)
	}
}

// Without --tls-dir the certificate goes to the user's config directory
// (here the test's XDG_CONFIG_HOME, never the real one).
func TestCertificateInConfigDir(t *testing.T) {
	p := start(t, nil, "--tls", shareDir(t))
	cfgHome := ""
	for _, kv := range p.cmd.Env {
		if v, ok := strings.CutPrefix(kv, "XDG_CONFIG_HOME="); ok {
			cfgHome = v
		}
	}
	want := filepath.Join(cfgHome, "ftpshare", "cert.pem")
	if runtime.GOOS == "linux" && p.info.TLS.CertFile != want {
		t.Errorf("cert file %s, want %s", p.info.TLS.CertFile, want)
	}
	if _, err := os.Stat(p.info.TLS.CertFile); err != nil {
		t.Error(err)
	}
}

func TestTLSRequired(t *testing.T) {
	p := start(t, nil, "--tls-required", "--tls-dir", t.TempDir(), "--user", "alice:pw", shareDir(t))
	if !p.info.TLS.Required {
		t.Errorf("tls.required false: %s", p.first)
	}
	c := dial(t, p.Addr())
	c.expect(534, "USER alice")
	c.expect(530, "PASS pw")

	fc, err := ftpc.Dial(p.Addr(), ftpc.DialWithTimeout(ioTimeout), ftpc.DialWithExplicitTLS(trust(t, p)))
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Quit()
	if err := fc.Login("alice", "pw"); err != nil {
		t.Fatalf("login over TLS: %v", err)
	}
	if got := string(retr(t, fc, "hello.txt")); got != "hello, world\n" {
		t.Errorf("RETR: %q", got)
	}
}

// A bad or mismatched --cert/--key is an error at start: exit 2.
func TestBadCertificate(t *testing.T) {
	dir := t.TempDir()
	cert1, key1 := makeCertPair(t, dir, "one", time.Now().Add(time.Hour))
	_, key2 := makeCertPair(t, dir, "two", time.Now().Add(time.Hour))
	expired, expiredKey := makeCertPair(t, dir, "old", time.Now().Add(-time.Hour))
	garbage := filepath.Join(dir, "garbage.pem")
	write(t, garbage, []byte("not a certificate\n"))
	share := shareDir(t)

	// A good pair works, and is not self-signed in the JSON.
	p := start(t, nil, "--cert", cert1, "--key", key1, share)
	if p.info.TLS == nil || p.info.TLS.SelfSigned || p.info.TLS.CertFile != cert1 {
		t.Errorf("tls = %+v", p.info.TLS)
	}

	tests := []struct {
		name, cert, key, want string
	}{
		{"mismatched pair", cert1, key2, "private key does not match public key"},
		{"garbage certificate", garbage, key1, "garbage.pem"},
		{"missing key", cert1, filepath.Join(dir, "nokey.pem"), "nokey.pem: no such file or directory"},
		{"expired", expired, expiredKey, "expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, nil, "", "--bind", "127.0.0.1", "--port", "0", "--cert", tt.cert, "--key", tt.key, share)
			if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and one line with %q", code, stderr, tt.want)
			}
		})
	}
}

// makeCertPair writes a self-signed certificate for 127.0.0.1 and its key.
func makeCertPair(t *testing.T, dir, name string, notAfter time.Time) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    notAfter.Add(-48 * time.Hour),
		NotAfter:     notAfter,
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	write(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	write(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	return certFile, keyFile
}

// curl against the implicit FTPS listener, and against explicit FTPS with
// the command line the banner prints (the key pin).
func TestImplicitTLSWithCurl(t *testing.T) {
	curl := requireClient(t, "curl")
	dir := shareDir(t)
	p := start(t, nil, "--implicit-tls-port", "0", "--tls-dir", t.TempDir(), "--write", dir)
	tl := p.info.TLS
	if tl == nil || tl.ImplicitPort == 0 || len(tl.ImplicitURLs) != 1 || tl.ImplicitURLs[0] != fmt.Sprintf("ftps://127.0.0.1:%d/", tl.ImplicitPort) {
		t.Fatalf("tls = %+v", tl)
	}
	curlRun := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, curl, append([]string{"-sS", "--max-time", "15"}, args...)...)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, stderr.String())
		}
		return out
	}
	implicitURL := tl.ImplicitURLs[0]
	if got := curlRun("--cacert", tl.CertFile, implicitURL+"data.bin"); sum(got) != fileSum(t, filepath.Join(dir, "data.bin")) {
		t.Errorf("curl %sdata.bin: wrong sha256", implicitURL)
	}
	up := filepath.Join(t.TempDir(), "up.bin")
	data := randomBytes(200_000)
	write(t, up, data)
	curlRun("--cacert", tl.CertFile, "-T", up, implicitURL+"up.bin")
	if got := fileSum(t, filepath.Join(dir, "up.bin")); got != sum(data) {
		t.Errorf("curl upload over implicit FTPS: sha256 %s, want %s", got, sum(data))
	}
	if got := curlRun("--ssl-reqd", "--insecure", "--pinnedpubkey", "sha256//"+tl.PubKey, p.info.URLs[0]+"hello.txt"); string(got) != "hello, world\n" {
		t.Errorf("curl with the key pin: %q", got)
	}
	// A wrong pin is refused: the pin means something.
	cmd := exec.Command(curl, "-sS", "--max-time", "15", "--ssl-reqd", "--insecure", "--pinnedpubkey", "sha256//"+base64.StdEncoding.EncodeToString(make([]byte, 32)), p.info.URLs[0]+"hello.txt")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("curl with a wrong pin succeeded: %s", out)
	}
}
