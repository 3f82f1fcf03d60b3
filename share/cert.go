package share

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Lifetime of the self-signed certificate. 825 days is the longest that
// Apple's systems accept for a TLS server certificate; a certificate
// closer than CertRenewBefore to its end is made anew.
const (
	CertLifetime    = 825 * 24 * time.Hour
	CertRenewBefore = 30 * 24 * time.Hour
)

// Files in the certificate directory: SelfSignedFile holds the certificate
// and its key (read by ftpshare), CertFile the certificate alone (to give
// to clients that should trust it).
const (
	SelfSignedFile = "selfsigned.pem"
	CertFileName   = "cert.pem"
)

// maxSANs bounds how many old names a renewed certificate carries over.
const maxSANs = 64

// Certificate is the server's TLS certificate and what a user needs to
// check it.
type Certificate struct {
	TLS tls.Certificate
	// Leaf is the parsed server certificate.
	Leaf *x509.Certificate
	// Fingerprint is the SHA-256 of the certificate, as colon-separated
	// hex pairs ("AB:CD:..."), the form browsers, FileZilla and
	// `openssl x509 -fingerprint -sha256` show.
	Fingerprint string
	// PublicKeySHA256 is the base64 SHA-256 of the public key (SPKI), as
	// curl's --pinnedpubkey sha256//... wants it. It survives renewals of
	// the self-signed certificate, which keep the key.
	PublicKeySHA256 string
	// CertFile is a PEM file with the certificate, for clients to trust.
	CertFile string
	// SelfSigned is set for a certificate ftpshare made; Generated when it
	// was made (or renewed) by this call.
	SelfSigned, Generated bool
}

func newCertificate(tc tls.Certificate, certFile string) (*Certificate, error) {
	leaf, err := x509.ParseCertificate(tc.Certificate[0])
	if err != nil {
		return nil, err
	}
	tc.Leaf = leaf
	fp := sha256.Sum256(leaf.Raw)
	pk := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	return &Certificate{
		TLS:             tc,
		Leaf:            leaf,
		Fingerprint:     colonHex(fp[:]),
		PublicKeySHA256: base64.StdEncoding.EncodeToString(pk[:]),
		CertFile:        certFile,
	}, nil
}

func colonHex(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		fmt.Fprintf(&sb, "%02X", c)
	}
	return sb.String()
}

// LoadCertificate reads a PEM certificate (chain) and its key, and checks
// at once that they belong together and that the certificate is valid now.
func LoadCertificate(certFile, keyFile string) (*Certificate, error) {
	tc, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, configErrorf("certificate: %s: %v", pe.Path, pe.Err)
		}
		return nil, configErrorf("certificate %s and key %s: %v", certFile, keyFile, strings.TrimPrefix(err.Error(), "tls: "))
	}
	c, err := newCertificate(tc, certFile)
	if err != nil {
		return nil, configErrorf("certificate %s: %v", certFile, err)
	}
	now := time.Now()
	if now.After(c.Leaf.NotAfter) {
		return nil, configErrorf("certificate %s expired on %s", certFile, c.Leaf.NotAfter.Format(time.DateOnly))
	}
	if now.Before(c.Leaf.NotBefore) {
		return nil, configErrorf("certificate %s is not valid before %s", certFile, c.Leaf.NotBefore.Format(time.DateOnly))
	}
	return c, nil
}

// DefaultCertDir is where the self-signed certificate is kept:
// os.UserConfigDir()/ftpshare.
func DefaultCertDir() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "ftpshare"), nil
}

// CertNames are the names and addresses a self-signed certificate must
// cover.
type CertNames struct {
	DNS []string
	IPs []netip.Addr
}

// LocalCertNames returns the machine's names: its host name (and
// HOST.local when it has no dot, for mDNS), "localhost", and every
// interface address, plus extra (a bind address or public IP, as a name
// or an IP).
func LocalCertNames(extra ...string) CertNames {
	var n CertNames
	n.DNS = append(n.DNS, "localhost")
	if h, err := os.Hostname(); err == nil && h != "" {
		h = strings.ToLower(h)
		n.DNS = append(n.DNS, h)
		if !strings.Contains(h, ".") {
			n.DNS = append(n.DNS, h+".local")
		}
	}
	n.IPs = append(n.IPs, netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback())
	n.IPs = append(n.IPs, InterfaceAddrs()...)
	for _, e := range extra {
		if e == "" {
			continue
		}
		if ip, err := netip.ParseAddr(e); err == nil {
			if !ip.IsUnspecified() {
				n.IPs = append(n.IPs, ip.Unmap())
			}
		} else {
			n.DNS = append(n.DNS, strings.ToLower(e))
		}
	}
	n.normalize()
	return n
}

func (n *CertNames) normalize() {
	slices.Sort(n.DNS)
	n.DNS = slices.Compact(n.DNS)
	sortAddrs(n.IPs)
	n.IPs = slices.Compact(n.IPs)
}

// covers reports whether leaf has a SAN for every name in n.
func (n *CertNames) coveredBy(leaf *x509.Certificate) bool {
	for _, d := range n.DNS {
		if !slices.Contains(leaf.DNSNames, d) {
			return false
		}
	}
	for _, ip := range n.IPs {
		if !slices.ContainsFunc(leaf.IPAddresses, func(c net.IP) bool {
			a, ok := netip.AddrFromSlice(c)
			return ok && a.Unmap() == ip
		}) {
			return false
		}
	}
	return true
}

// SelfSignedCertificate returns the self-signed certificate kept in dir,
// making it (an ECDSA P-256 key and a certificate) when there is none, and
// renewing it when it is unreadable, does not cover every name in names,
// or ends within CertRenewBefore of now. A renewal keeps the key and the
// names the old certificate had, so that a client pinning the key, or
// connecting by an old address, goes on trusting it.
func SelfSignedCertificate(dir string, names CertNames, now time.Time) (*Certificate, error) {
	names.normalize()
	keep := filepath.Join(dir, SelfSignedFile)
	certFile := filepath.Join(dir, CertFileName)
	var key *ecdsa.PrivateKey
	old, err := readSelfSigned(keep)
	if err == nil {
		if names.coveredBy(old.Leaf) && now.Add(CertRenewBefore).Before(old.Leaf.NotAfter) && !now.Before(old.Leaf.NotBefore) {
			old.CertFile = certFile
			old.SelfSigned = true
			if err := ensureCertFile(certFile, old.Leaf.Raw); err != nil {
				return nil, err
			}
			return old, nil
		}
		if k, ok := old.TLS.PrivateKey.(*ecdsa.PrivateKey); ok && k.Curve == elliptic.P256() {
			key = k
		}
		if len(old.Leaf.DNSNames)+len(old.Leaf.IPAddresses) <= maxSANs {
			names.DNS = append(names.DNS, old.Leaf.DNSNames...)
			for _, ip := range old.Leaf.IPAddresses {
				if a, ok := netip.AddrFromSlice(ip); ok {
					names.IPs = append(names.IPs, a.Unmap())
				}
			}
			names.normalize()
		}
	}
	if key == nil {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate key: %w", err)
		}
	}
	der, err := makeCert(key, names, now)
	if err != nil {
		return nil, fmt.Errorf("make certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("certificate directory: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	both := append(slices.Clip(certPEM), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})...)
	if err := writeFileAtomic(keep, both, 0o600); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(certFile, certPEM, 0o644); err != nil {
		return nil, err
	}
	tc, err := tls.X509KeyPair(certPEM, both)
	if err != nil {
		return nil, err
	}
	c, err := newCertificate(tc, certFile)
	if err != nil {
		return nil, err
	}
	c.SelfSigned, c.Generated = true, true
	return c, nil
}

// readSelfSigned loads the combined certificate and key file.
func readSelfSigned(file string) (*Certificate, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	tc, err := tls.X509KeyPair(data, data)
	if err != nil {
		return nil, err
	}
	return newCertificate(tc, "")
}

// ensureCertFile rewrites the client-facing certificate file if it is
// missing or differs from der.
func ensureCertFile(file string, der []byte) error {
	want := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if have, err := os.ReadFile(file); err == nil && bytes.Equal(have, want) {
		return nil
	}
	return writeFileAtomic(file, want, 0o644)
}

func makeCert(key *ecdsa.PrivateKey, names CertNames, now time.Time) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	cn := "ftpshare"
	for _, d := range names.DNS {
		if d != "localhost" {
			cn = "ftpshare on " + d
			break
		}
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"ftpshare (self-signed)"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CertLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              names.DNS,
	}
	for _, ip := range names.IPs {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(ip.AsSlice()))
	}
	return x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
}

// writeFileAtomic writes data to a temporary file beside name and renames
// it into place, so that a reader never sees half a file.
func writeFileAtomic(name string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
