package ftp_test

// This file holds the helpers of the FTPS tests (tls_test.go,
// tls_interop_test.go, tlsbench_test.go): a certificate authority made at
// test time, server and client TLS configurations, a recorder of the
// server's TLS handshakes, and the TLS moves of a raw client (AUTH TLS on
// a rawConn, implicit-TLS dialling, protected data connections).
//
// Every name here starts with tlsT so that it cannot collide with the
// helpers of other test files in package ftp_test.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

// tlsTServerName is the name test clients verify and cache TLS sessions
// under. Go clients resume a session only when ServerName is set, and the
// certificate holds it as an IP SAN.
const tlsTServerName = "127.0.0.1"

// tlsTPKI is a test certificate authority and a server certificate it
// signed for 127.0.0.1, ::1 and localhost.
type tlsTPKI struct {
	caPEM []byte
	pool  *x509.CertPool
	cert  tls.Certificate
}

// tlsTPKIOnce makes the certificates once per test binary: ECDSA P-256
// keys are cheap, but there is no reason to make them per test.
var tlsTPKIOnce = sync.OnceValues(tlsTNewPKI)

func tlsTNewPKI() (*tlsTPKI, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ftpshare test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &tlsTPKI{
		caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pool:  pool,
		cert:  tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: key},
	}, nil
}

func tlsTCerts(t testing.TB) *tlsTPKI {
	t.Helper()
	p, err := tlsTPKIOnce()
	if err != nil {
		t.Fatalf("make test certificates: %v", err)
	}
	return p
}

// tlsTCAFile writes the CA certificate as PEM to a temporary file, for
// curl --cacert, lftp ssl:ca-file and Python's ssl context.
func tlsTCAFile(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, tlsTCerts(t).caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// tlsTServerConfig is a fresh server configuration with the test
// certificate and nothing else set: the engine's own choices apply.
func tlsTServerConfig(t testing.TB) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{tlsTCerts(t).cert}}
}

// tlsTClientConfig is a client configuration that trusts the test CA. A
// resuming client has a session cache (and ServerName, set always), as
// FileZilla, curl and lftp do; a non-resuming one has none, as Python's
// ftplib.
func tlsTClientConfig(t testing.TB, resume bool) *tls.Config {
	cfg := &tls.Config{RootCAs: tlsTCerts(t).pool, ServerName: tlsTServerName}
	if resume {
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(8)
	}
	return cfg
}

// tlsTStolenCache is the session cache of a thief: it offers the sessions
// of another client's cache and keeps nothing of its own.
type tlsTStolenCache struct{ victim tls.ClientSessionCache }

func (c tlsTStolenCache) Get(key string) (*tls.ClientSessionState, bool) { return c.victim.Get(key) }
func (c tlsTStolenCache) Put(string, *tls.ClientSessionState)            {}

// tlsTHandshakes records the TLS handshakes a server completes (control
// and data connections alike), through TLSConfig.VerifyConnection.
type tlsTHandshakes struct {
	mu     sync.Mutex
	states []tls.ConnectionState
}

func (h *tlsTHandshakes) verify(cs tls.ConnectionState) error {
	h.mu.Lock()
	h.states = append(h.states, cs)
	h.mu.Unlock()
	return nil
}

// count returns the number of handshakes and how many of them resumed.
func (h *tlsTHandshakes) count() (all, resumed int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, cs := range h.states {
		if cs.DidResume {
			resumed++
		}
	}
	return len(h.states), resumed
}

// tlsTServer starts a test server with TLSConfig set (explicit FTPS; add
// ftptest.WithImplicitTLS for implicit), a 2s DataTimeout so that a
// mistaken TLS or clear data connection fails fast, and then lets set
// change its fields. It returns the server and a handshake recorder.
func tlsTServer(t testing.TB, set func(*ftp.Server), opts ...ftptest.Option) (*ftptest.Server, *tlsTHandshakes) {
	t.Helper()
	h := &tlsTHandshakes{}
	cfg := tlsTServerConfig(t)
	cfg.VerifyConnection = h.verify
	opts = append([]ftptest.Option{func(s *ftptest.Server) {
		s.FTP.TLSConfig = cfg
		s.FTP.DataTimeout = 2 * time.Second
		if set != nil {
			set(s.FTP)
		}
	}}, opts...)
	return ftptest.NewServer(t, opts...), h
}

// tlsTSet returns an ftptest option that changes server fields.
func tlsTSet(f func(*ftp.Server)) ftptest.Option {
	return func(s *ftptest.Server) { f(s.FTP) }
}

// tlsTHandshake runs the client side of a TLS handshake on conn with a
// deadline, and returns the TLS connection.
func tlsTHandshake(conn net.Conn, cfg *tls.Config) (*tls.Conn, error) {
	tc := tls.Client(conn, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), rawTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	return tc, nil
}

// tlsTAuth sends "AUTH mech" on c, expects 234, runs the TLS handshake and
// returns a rawConn speaking over TLS (with c's greeting). c must not be
// used afterwards.
func tlsTAuth(t testing.TB, c *rawConn, mech string, cfg *tls.Config) *rawConn {
	t.Helper()
	c.expect("AUTH "+mech, 234)
	if n := c.r.Buffered(); n > 0 {
		t.Fatalf("AUTH %s: %d bytes after the 234 reply before the handshake", mech, n)
	}
	tc, err := tlsTHandshake(c.conn, cfg)
	if err != nil {
		t.Fatalf("AUTH %s: TLS handshake: %v", mech, err)
	}
	nc := newRawConn(t, tc)
	nc.Greeting = c.Greeting
	return nc
}

// tlsTDialExplicit dials addr and secures the control connection with AUTH TLS.
func tlsTDialExplicit(t testing.TB, addr string, cfg *tls.Config) *rawConn {
	t.Helper()
	return tlsTAuth(t, dialRaw(t, addr), "TLS", cfg)
}

// tlsTDialImplicit dials addr with TLS from the first byte and reads the 220.
func tlsTDialImplicit(t testing.TB, addr string, cfg *tls.Config) *rawConn {
	t.Helper()
	conn, err := tlsTDialImplicitErr(addr, cfg)
	if err != nil {
		t.Fatalf("implicit TLS dial %s: %v", addr, err)
	}
	c := newRawConn(t, conn)
	c.Greeting = c.read()
	if c.Greeting.Code != 220 {
		t.Fatalf("greeting over implicit TLS: got %v, want 220", c.Greeting)
	}
	return c
}

func tlsTDialImplicitErr(addr string, cfg *tls.Config) (*tls.Conn, error) {
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: rawTimeout}, Config: cfg}
	ctx, cancel := context.WithTimeout(context.Background(), rawTimeout)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return conn.(*tls.Conn), nil
}

// tlsTMode says how a test reaches a TLS control connection.
type tlsTMode string

const (
	tlsTExplicit tlsTMode = "explicit"
	tlsTImplicit tlsTMode = "implicit"
)

// tlsTServerFor starts a server for mode (see tlsTServer).
func tlsTServerFor(t testing.TB, mode tlsTMode, set func(*ftp.Server)) (*ftptest.Server, *tlsTHandshakes) {
	t.Helper()
	if mode == tlsTImplicit {
		return tlsTServer(t, set, ftptest.WithImplicitTLS())
	}
	return tlsTServer(t, set)
}

// tlsTDial opens a TLS control connection in mode.
func tlsTDial(t testing.TB, mode tlsTMode, addr string, cfg *tls.Config) *rawConn {
	t.Helper()
	if mode == tlsTImplicit {
		return tlsTDialImplicit(t, addr, cfg)
	}
	return tlsTDialExplicit(t, addr, cfg)
}

// tlsTResult is how a data command went, seen from the client.
type tlsTResult struct {
	// First is the reply to the command: 150, or a refusal (then Final
	// is zero and nothing else happened).
	First reply
	// Final is the reply after the data connection closed.
	Final reply
	// Data is what a download received.
	Data []byte
	// State is the TLS state of a protected data connection whose
	// handshake completed on the client's side.
	State *tls.ConnectionState
	// Err is the client's handshake or data error, if any.
	Err error
}

// tlsTGet runs a download command (RETR, LIST, NLST, MLSD) over a passive
// data connection, protected with cfg unless cfg is nil.
func tlsTGet(c *rawConn, line string, cfg *tls.Config) tlsTResult {
	c.t.Helper()
	return tlsTTransfer(c, line, cfg, false, nil)
}

// tlsTPut runs an upload command (STOR, APPE, STOU) sending data.
func tlsTPut(c *rawConn, line string, cfg *tls.Config, data []byte) tlsTResult {
	c.t.Helper()
	return tlsTTransfer(c, line, cfg, true, data)
}

func tlsTTransfer(c *rawConn, line string, cfg *tls.Config, upload bool, data []byte) tlsTResult {
	c.t.Helper()
	d := c.pasv()
	var res tlsTResult
	res.First = c.cmd(line)
	if res.First.Code != 150 {
		d.Close()
		return res
	}
	conn := d
	if cfg != nil {
		tc, err := tlsTHandshake(d, cfg)
		if err != nil {
			res.Err = fmt.Errorf("data TLS handshake: %w", err)
		} else {
			st := tc.ConnectionState()
			res.State = &st
			conn = tc
		}
	}
	if res.Err == nil {
		conn.SetDeadline(time.Now().Add(c.timeout))
		if upload {
			if _, err := conn.Write(data); err != nil {
				res.Err = fmt.Errorf("write data: %w", err)
			}
		} else {
			b, err := io.ReadAll(conn)
			res.Data = b
			if err != nil {
				res.Err = fmt.Errorf("read data: %w", err)
			}
		}
	}
	// Close sends close_notify on a TLS connection, then closes TCP.
	if err := conn.Close(); err != nil && res.Err == nil && !errors.Is(err, net.ErrClosed) {
		res.Err = fmt.Errorf("close data: %w", err)
	}
	d.Close()
	res.Final = c.read()
	return res
}

// tlsTSum is the hex SHA-256 of b.
func tlsTSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// tlsTFileSum is the hex SHA-256 of a file on disk.
func tlsTFileSum(t testing.TB, name string) string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// tlsTRandom returns n random bytes.
func tlsTRandom(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// tlsTWriteFile writes data to dir/name.
func tlsTWriteFile(t testing.TB, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}
