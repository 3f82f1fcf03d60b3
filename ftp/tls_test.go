package ftp_test

// End-to-end tests of FTPS (RFC 4217) in the engine: explicit (AUTH TLS)
// and implicit (ServeTLS) TLS, PBSZ/PROT/CCC replies, the TLS policy
// options, session reuse on data connections, the handshake deadline and
// the version floor. Helpers are in tlshelpers_test.go; tests against
// curl, lftp and Python are in tls_interop_test.go.

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goftp "github.com/jlaffaye/ftp"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

// TestTLSFeat checks that FEAT lists AUTH TLS, PBSZ and PROT exactly
// when the server has a TLSConfig, before and after AUTH TLS.
func TestTLSFeat(t *testing.T) {
	t.Parallel()
	tlsLines := []string{" AUTH TLS", " PBSZ", " PROT"}
	tests := []struct {
		name string
		tls  bool // the server has a TLSConfig
		auth bool // FEAT is sent after AUTH TLS
	}{
		{"no TLSConfig", false, false},
		{"TLSConfig, clear", true, false},
		{"TLSConfig, after AUTH TLS", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *ftptest.Server
			if tt.tls {
				srv, _ = tlsTServer(t, nil)
			} else {
				srv = ftptest.NewServer(t)
			}
			c := dialRaw(t, srv.Addr)
			if tt.auth {
				c = tlsTAuth(t, c, "TLS", tlsTClientConfig(t, false))
			}
			r := c.expect("FEAT", 211)
			for _, want := range tlsLines {
				has := false
				for _, l := range r.Lines[1 : len(r.Lines)-1] {
					has = has || l == want
				}
				if has != tt.tls {
					t.Errorf("FEAT has %q: %v, want %v; reply:\n%s", want, has, tt.tls, r.Full())
				}
			}
		})
	}
}

// tlsTStep is one command of a scripted dialogue and its expected reply.
type tlsTStep struct {
	line string
	code int
	text string // the exact reply text when not ""
}

// TestTLSCommandReplies checks the reply codes of AUTH, PBSZ, PROT and
// CCC in each state: on a server without TLS, in clear on a server with
// TLS, and on a secured control connection (RFC 4217 sections 4-6, 8-9).
func TestTLSCommandReplies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		tls   bool // the server has a TLSConfig
		auth  bool // the steps run after AUTH TLS
		login bool // the steps run after login
		steps []tlsTStep
	}{
		{"no TLSConfig", false, false, false, []tlsTStep{
			{"AUTH TLS", 502, ""},
			{"AUTH SSL", 502, ""},
			{"PBSZ 0", 503, ""},
			{"PROT P", 503, ""},
			{"PROT C", 503, ""},
			{"CCC", 533, ""},
			{"NOOP", 200, ""}, // the session goes on
		}},
		{"clear, TLSConfig set", true, false, false, []tlsTStep{
			{"AUTH KERBEROS_V4", 504, ""},
			{"AUTH GSSAPI", 504, ""},
			{"AUTH", 501, ""},
			{"PBSZ 0", 503, ""},
			{"PROT P", 503, ""},
			{"PROT C", 503, ""},
			{"CCC", 533, ""},
			{"NOOP", 200, ""},
		}},
		{"secured, before login", true, true, false, []tlsTStep{
			{"AUTH TLS", 503, ""},
			{"AUTH SSL", 503, ""},
			{"PBSZ 0", 200, "PBSZ=0"},
			{"PBSZ 1048576", 200, "PBSZ=0"}, // RFC 4217 8: the server says the size it uses
			{"PBSZ", 501, ""},
			{"PROT S", 536, ""},
			{"PROT E", 536, ""},
			{"PROT X", 504, ""},
			{"PROT", 501, ""},
			{"PROT C", 200, ""},
			{"PROT P", 200, ""},
			{"PROT p", 200, ""},
			{"CCC", 534, ""},
			{"NOOP", 200, ""}, // still over TLS after the refused CCC
		}},
		{"secured, logged in", true, true, true, []tlsTStep{
			{"PBSZ 0", 200, "PBSZ=0"},
			{"PROT P", 200, ""},
			{"PROT S", 536, ""},
			{"CCC", 534, ""},
			{"AUTH TLS", 503, ""},
			{"PWD", 257, ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *ftptest.Server
			if tt.tls {
				srv, _ = tlsTServer(t, nil)
			} else {
				srv = ftptest.NewServer(t)
			}
			c := dialRaw(t, srv.Addr)
			if tt.auth {
				c = tlsTAuth(t, c, "TLS", tlsTClientConfig(t, false))
			}
			if tt.login {
				c.login(ftptest.User, ftptest.Password)
			}
			for _, st := range tt.steps {
				if st.text != "" {
					c.expectText(st.line, st.code, st.text)
				} else {
					c.expect(st.line, st.code)
				}
			}
		})
	}
}

// TestTLSAuthMechanisms checks the AUTH mechanisms the engine accepts, in
// any case, and that AUTH SSL and AUTH TLS-P imply PROT P (old clients
// expect protected data after them) while TLS and TLS-C leave data clear.
func TestTLSAuthMechanisms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mech  string
		protP bool // data is protected without PBSZ/PROT
	}{
		{"TLS", false},
		{"tls", false},
		{"TLS-C", false},
		{"SSL", true},
		{"ssl", true},
		{"TLS-P", true},
	}
	for _, tt := range tests {
		t.Run(tt.mech, func(t *testing.T) {
			srv, _ := tlsTServer(t, nil)
			tlsTWriteFile(t, srv.Dir, "f", []byte("hello"))
			cfg := tlsTClientConfig(t, false)
			c := tlsTAuth(t, dialRaw(t, srv.Addr), tt.mech, cfg)
			c.login(ftptest.User, ftptest.Password)
			var dataCfg *tls.Config
			if tt.protP {
				dataCfg = cfg
			}
			res := tlsTGet(c, "RETR f", dataCfg)
			if res.Err != nil || res.Final.Code != 226 || string(res.Data) != "hello" {
				t.Fatalf("RETR with data TLS=%v: %v, final %v, data %q", tt.protP, res.Err, res.Final, res.Data)
			}
			if (res.State != nil) != tt.protP {
				t.Fatalf("data connection protected: %v, want %v", res.State != nil, tt.protP)
			}
		})
	}
}

// TestTLSTransfers runs a session with the raw client over explicit and
// implicit TLS, with PROT C and PROT P: login, STOR and RETR of empty and
// 1 MiB files checked by sha256, LIST, NLST and MLSD. It counts the
// server's TLS handshakes: one for the control connection, plus one per
// data connection under PROT P only.
func TestTLSTransfers(t *testing.T) {
	t.Parallel()
	payloads := map[string][]byte{"empty.bin": {}, "big.bin": tlsTRandom(t, 1<<20+17)}
	for _, mode := range []tlsTMode{tlsTExplicit, tlsTImplicit} {
		for _, prot := range []string{"C", "P"} {
			t.Run(fmt.Sprintf("%s/PROT_%s", mode, prot), func(t *testing.T) {
				srv, hs := tlsTServerFor(t, mode, nil)
				cfg := tlsTClientConfig(t, false)
				c := tlsTDial(t, mode, srv.Addr, cfg)
				c.login(ftptest.User, ftptest.Password)
				c.expectText("PBSZ 0", 200, "PBSZ=0")
				c.expect("PROT "+prot, 200)
				var dataCfg *tls.Config
				if prot == "P" {
					dataCfg = cfg
				}
				check := func(what string, res tlsTResult) {
					t.Helper()
					if res.First.Code != 150 || res.Err != nil || res.Final.Code != 226 {
						t.Fatalf("%s: reply %v, client error %v, final %v", what, res.First, res.Err, res.Final)
					}
					if (res.State != nil) != (prot == "P") {
						t.Fatalf("%s: data connection protected: %v under PROT %s", what, res.State != nil, prot)
					}
					if res.State != nil && res.State.Version < tls.VersionTLS12 {
						t.Fatalf("%s: data connection uses TLS version %x", what, res.State.Version)
					}
				}
				dataConns := 0
				for name, data := range payloads {
					check("STOR "+name, tlsTPut(c, "STOR "+name, dataCfg, data))
					if got, want := tlsTFileSum(t, filepath.Join(srv.Dir, name)), tlsTSum(data); got != want {
						t.Fatalf("STOR %s: sha256 on disk %s, want %s", name, got, want)
					}
					res := tlsTGet(c, "RETR "+name, dataCfg)
					check("RETR "+name, res)
					if got, want := tlsTSum(res.Data), tlsTSum(data); got != want || len(res.Data) != len(data) {
						t.Fatalf("RETR %s: %d bytes sha256 %s, want %d bytes %s", name, len(res.Data), got, len(data), want)
					}
					dataConns += 2
				}
				for _, cmd := range []string{"LIST", "NLST", "MLSD"} {
					res := tlsTGet(c, cmd, dataCfg)
					check(cmd, res)
					for name := range payloads {
						if !bytes.Contains(res.Data, []byte(name)) {
							t.Fatalf("%s does not list %s:\n%s", cmd, name, res.Data)
						}
					}
					dataConns++
				}
				c.expect("QUIT", 221)
				c.expectClosed()
				wantHS := 1
				if prot == "P" {
					wantHS += dataConns
				}
				if n, _ := hs.count(); n != wantHS {
					t.Fatalf("server completed %d TLS handshakes, want %d (control + %d data)", n, wantHS, wantHS-1)
				}
			})
		}
	}
}

// TestTLSGoClient runs github.com/jlaffaye/ftp over explicit and implicit
// TLS (it always sends PBSZ 0 and PROT P): login, STOR and RETR checked by
// sha256 (an empty file too: the client forces the data handshake),
// LIST and NLST. A client with a session cache resumes the control
// connection's TLS session on every data connection, with the engine's
// defaults; one without a cache resumes none and still works.
func TestTLSGoClient(t *testing.T) {
	t.Parallel()
	data := tlsTRandom(t, 1<<20+3)
	for _, mode := range []tlsTMode{tlsTExplicit, tlsTImplicit} {
		for _, resume := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/resume=%v", mode, resume), func(t *testing.T) {
				srv, hs := tlsTServerFor(t, mode, nil)
				cfg := tlsTClientConfig(t, resume)
				opt := goftp.DialWithExplicitTLS(cfg)
				if mode == tlsTImplicit {
					opt = goftp.DialWithTLS(cfg)
				}
				c, err := goftp.Dial(srv.Addr, opt, goftp.DialWithTimeout(rawTimeout))
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				defer c.Quit()
				if err := c.Login(ftptest.User, ftptest.Password); err != nil {
					t.Fatalf("login: %v", err)
				}
				files := map[string][]byte{"a.bin": data, "empty": {}}
				for name, want := range files {
					if err := c.Stor(name, bytes.NewReader(want)); err != nil {
						t.Fatalf("STOR %s: %v", name, err)
					}
					if got := tlsTFileSum(t, filepath.Join(srv.Dir, name)); got != tlsTSum(want) {
						t.Fatalf("STOR %s: sha256 on disk %s, want %s", name, got, tlsTSum(want))
					}
					r, err := c.Retr(name)
					if err != nil {
						t.Fatalf("RETR %s: %v", name, err)
					}
					r.SetDeadline(time.Now().Add(rawTimeout))
					got, err := io.ReadAll(r)
					if cerr := r.Close(); err == nil {
						err = cerr
					}
					if err != nil || tlsTSum(got) != tlsTSum(want) {
						t.Fatalf("RETR %s: %v, %d bytes sha256 %s, want %s", name, err, len(got), tlsTSum(got), tlsTSum(want))
					}
				}
				entries, err := c.List("/")
				if err != nil {
					t.Fatalf("LIST: %v", err)
				}
				sizes := map[string]uint64{}
				for _, e := range entries {
					if e.Name != "." && e.Name != ".." { // MLSD's cdir and pdir facts
						sizes[e.Name] = e.Size
					}
				}
				if sizes["a.bin"] != uint64(len(data)) || len(sizes) != 2 {
					t.Fatalf("LIST: %v", sizes)
				}
				names, err := c.NameList("/")
				if err != nil || len(names) != 2 {
					t.Fatalf("NLST: %v, %v", names, err)
				}
				all, resumed := hs.count()
				// control + (STOR + RETR) per file + LIST + NLST
				if wantAll := 1 + 2*len(files) + 2; all != wantAll {
					t.Fatalf("server completed %d TLS handshakes, want %d", all, wantAll)
				}
				wantResumed := 0
				if resume {
					wantResumed = all - 1
				}
				if resumed != wantResumed {
					t.Fatalf("%d of %d data connections resumed the TLS session, want %d", resumed, all-1, wantResumed)
				}
			})
		}
	}
}

// TestTLSLargeTransfer stores and retrieves 16 MiB under PROT P, checked
// by sha256: the user-space copy through TLS loses and adds nothing.
func TestTLSLargeTransfer(t *testing.T) {
	t.Parallel()
	data := tlsTRandom(t, 16<<20)
	srv, _ := tlsTServer(t, nil)
	cfg := tlsTClientConfig(t, true)
	c := tlsTDialExplicit(t, srv.Addr, cfg)
	c.setTimeout(20 * time.Second)
	c.login(ftptest.User, ftptest.Password)
	c.expect("PBSZ 0", 200)
	c.expect("PROT P", 200)
	if res := tlsTPut(c, "STOR big", cfg, data); res.Err != nil || res.Final.Code != 226 {
		t.Fatalf("STOR: %v, final %v", res.Err, res.Final)
	}
	if got := tlsTFileSum(t, filepath.Join(srv.Dir, "big")); got != tlsTSum(data) {
		t.Fatalf("STOR: sha256 on disk %s, want %s", got, tlsTSum(data))
	}
	res := tlsTGet(c, "RETR big", cfg)
	if res.Err != nil || res.Final.Code != 226 || res.State == nil {
		t.Fatalf("RETR: %v, final %v, TLS %v", res.Err, res.Final, res.State != nil)
	}
	if len(res.Data) != len(data) || tlsTSum(res.Data) != tlsTSum(data) {
		t.Fatalf("RETR: %d bytes sha256 %s, want %d bytes %s", len(res.Data), tlsTSum(res.Data), len(data), tlsTSum(data))
	}
}

// TestTLSActiveData checks PROT P on an active (PORT) data connection:
// the server dials the client and is still the TLS server (RFC 4217 10.2).
func TestTLSActiveData(t *testing.T) {
	t.Parallel()
	srv, hs := tlsTServer(t, nil)
	tlsTWriteFile(t, srv.Dir, "f", []byte("active and private"))
	cfg := tlsTClientConfig(t, true)
	c := tlsTDialExplicit(t, srv.Addr, cfg)
	c.login(ftptest.User, ftptest.Password)
	c.expect("PBSZ 0", 200)
	c.expect("PROT P", 200)
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	c.expect(fmt.Sprintf("PORT 127,0,0,1,%d,%d", port>>8, port&0xff), 200)
	c.expect("RETR f", 150)
	l.(*net.TCPListener).SetDeadline(time.Now().Add(rawTimeout))
	d, err := l.Accept()
	if err != nil {
		t.Fatalf("accept the server's data connection: %v", err)
	}
	defer d.Close()
	tc, err := tlsTHandshake(d, cfg)
	if err != nil {
		t.Fatalf("TLS handshake as client on an active data connection: %v", err)
	}
	tc.SetDeadline(time.Now().Add(rawTimeout))
	got, err := io.ReadAll(tc)
	tc.Close()
	if err != nil || string(got) != "active and private" {
		t.Fatalf("RETR: %q, %v", got, err)
	}
	if r := c.read(); r.Code != 226 {
		t.Fatalf("RETR: final %v, want 226", r)
	}
	if all, resumed := hs.count(); all != 2 || resumed != 1 {
		t.Fatalf("handshakes %d (resumed %d), want 2 (1)", all, resumed)
	}
}

// TestTLSControlRequired checks TLSControlRequired: USER answers 534 and
// PASS 530 in clear (for named and anonymous users), other commands still
// work, and login succeeds after AUTH TLS or over implicit TLS.
func TestTLSControlRequired(t *testing.T) {
	t.Parallel()
	set := func(s *ftp.Server) { s.TLSControlRequired = true }
	t.Run("clear", func(t *testing.T) {
		srv, _ := tlsTServer(t, set)
		c := dialRaw(t, srv.Addr)
		steps := []tlsTStep{
			{"USER " + ftptest.User, 534, ""},
			{"PASS " + ftptest.Password, 530, ""},
			{"USER anonymous", 534, ""},
			{"PASS guest@example.com", 530, ""},
			{"FEAT", 211, ""},
			{"SYST", 215, ""},
			{"NOOP", 200, ""},
			{"PWD", 530, ""}, // not logged in
		}
		for _, st := range steps {
			c.expect(st.line, st.code)
		}
		// A client that learns and secures the connection then logs in.
		c = tlsTAuth(t, c, "TLS", tlsTClientConfig(t, false))
		c.login(ftptest.User, ftptest.Password)
		c.expect("PWD", 257)
	})
	for _, mode := range []tlsTMode{tlsTExplicit, tlsTImplicit} {
		t.Run(string(mode), func(t *testing.T) {
			srv, _ := tlsTServerFor(t, mode, set)
			c := tlsTDial(t, mode, srv.Addr, tlsTClientConfig(t, false))
			c.login(ftptest.User, ftptest.Password)
			c.expect("USER anonymous", 331)
			c.expect("PASS guest@example.com", 230)
		})
	}
}

// TestTLSDataRequired checks TLSDataRequired: every transfer and listing
// command answers 521 until PROT P, touches no file, and works after it;
// implicit TLS protects data by default and so passes at once.
func TestTLSDataRequired(t *testing.T) {
	t.Parallel()
	set := func(s *ftp.Server) { s.TLSDataRequired = true }
	cmds := []string{"LIST", "NLST", "MLSD", "RETR f", "STOR new", "APPE f", "STOU"}
	tests := []struct {
		name  string
		mode  tlsTMode
		clear bool   // the control connection stays clear
		prot  string // PROT sent before the commands, if any
	}{
		{"clear control", tlsTExplicit, true, ""},
		{"TLS control, no PROT", tlsTExplicit, false, ""},
		{"TLS control, PROT C", tlsTExplicit, false, "C"},
		{"implicit, PROT C", tlsTImplicit, false, "C"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := tlsTServerFor(t, tt.mode, set)
			tlsTWriteFile(t, srv.Dir, "f", []byte("data"))
			var c *rawConn
			if tt.clear {
				c = dialRaw(t, srv.Addr)
			} else {
				c = tlsTDial(t, tt.mode, srv.Addr, tlsTClientConfig(t, false))
			}
			c.login(ftptest.User, ftptest.Password)
			if tt.prot != "" {
				c.expect("PBSZ 0", 200)
				c.expect("PROT "+tt.prot, 200)
			}
			for _, cmd := range cmds {
				c.pasvAddr()
				c.expect(cmd, 521)
			}
			entries, err := os.ReadDir(srv.Dir)
			if err != nil || len(entries) != 1 {
				t.Fatalf("files after the refusals: %v, %v (want only f)", entries, err)
			}
			if got := diskRead(t, filepath.Join(srv.Dir, "f")); string(got) != "data" {
				t.Fatalf("f changed by refused commands: %q", got)
			}
		})
	}
	for _, mode := range []tlsTMode{tlsTExplicit, tlsTImplicit} {
		t.Run(string(mode)+", PROT P", func(t *testing.T) {
			srv, _ := tlsTServerFor(t, mode, set)
			tlsTWriteFile(t, srv.Dir, "f", []byte("data"))
			cfg := tlsTClientConfig(t, false)
			c := tlsTDial(t, mode, srv.Addr, cfg)
			c.login(ftptest.User, ftptest.Password)
			if mode == tlsTExplicit {
				c.expect("PBSZ 0", 200)
				c.expect("PROT P", 200)
			}
			for _, cmd := range cmds {
				var res tlsTResult
				if strings.HasPrefix(cmd, "ST") || strings.HasPrefix(cmd, "AP") {
					res = tlsTPut(c, cmd, cfg, []byte("more"))
				} else {
					res = tlsTGet(c, cmd, cfg)
				}
				if res.Err != nil || res.Final.Code != 226 || res.State == nil {
					t.Fatalf("%s: reply %v, error %v, final %v, TLS %v", cmd, res.First, res.Err, res.Final, res.State != nil)
				}
			}
			if got := diskRead(t, filepath.Join(srv.Dir, "f")); string(got) != "datamore" {
				t.Fatalf("f after APPE: %q", got)
			}
		})
	}
}

// TestTLSSessionReuse checks TLSSessionReuseRequired on TLS 1.2 and 1.3,
// explicit and implicit: a client that resumes the control connection's
// session gets its data; one that does not gets 425 and no byte of the
// file; and a client that presents the ticket of another control
// connection (a stolen data connection) is refused as well.
func TestTLSSessionReuse(t *testing.T) {
	t.Parallel()
	set := func(s *ftp.Server) { s.TLSSessionReuseRequired = true }
	secret := []byte("secret file contents")
	for _, mode := range []tlsTMode{tlsTExplicit, tlsTImplicit} {
		for _, ver := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			for _, resume := range []bool{true, false} {
				name := fmt.Sprintf("%s/%s/resume=%v", mode, tls.VersionName(ver), resume)
				t.Run(name, func(t *testing.T) {
					srv, _ := tlsTServerFor(t, mode, set)
					tlsTWriteFile(t, srv.Dir, "f", secret)
					cfg := tlsTClientConfig(t, resume)
					cfg.MinVersion, cfg.MaxVersion = ver, ver
					c := tlsTDial(t, mode, srv.Addr, cfg)
					c.login(ftptest.User, ftptest.Password)
					c.expect("PBSZ 0", 200)
					c.expect("PROT P", 200)
					for _, cmd := range []string{"RETR f", "LIST", "STOR up"} {
						var res tlsTResult
						if cmd == "STOR up" {
							res = tlsTPut(c, cmd, cfg, secret)
						} else {
							res = tlsTGet(c, cmd, cfg)
						}
						if resume {
							if res.Err != nil || res.Final.Code != 226 || res.State == nil || !res.State.DidResume {
								t.Fatalf("%s: error %v, final %v, resumed %v", cmd, res.Err, res.Final, res.State != nil && res.State.DidResume)
							}
							continue
						}
						if res.First.Code != 150 || res.Final.Code != 425 {
							t.Fatalf("%s without resumption: reply %v, final %v, want 150 then 425", cmd, res.First, res.Final)
						}
						if len(res.Data) != 0 {
							t.Fatalf("%s without resumption: the client received %q", cmd, res.Data)
						}
					}
					if _, err := os.Stat(filepath.Join(srv.Dir, "up")); resume == (err != nil) {
						t.Fatalf("uploaded file exists: %v, want %v", err == nil, resume)
					}
					c.expect("NOOP", 200) // a refused data connection does not end the session
				})
			}
		}
	}
	t.Run("stolen ticket", func(t *testing.T) {
		srv, hs := tlsTServer(t, set)
		tlsTWriteFile(t, srv.Dir, "f", secret)
		// The victim's client, whose session cache holds tickets of its
		// own control connection.
		victimCfg := tlsTClientConfig(t, true)
		victim := tlsTDialExplicit(t, srv.Addr, victimCfg)
		victim.login(ftptest.User, ftptest.Password)
		// The attacker has its own control connection but presents the
		// victim's session (ticket and secret) on its data connection.
		attacker := tlsTDialExplicit(t, srv.Addr, tlsTClientConfig(t, false))
		attacker.login(ftptest.User, ftptest.Password)
		attacker.expect("PBSZ 0", 200)
		attacker.expect("PROT P", 200)
		stolen := tlsTClientConfig(t, false)
		stolen.ClientSessionCache = tlsTStolenCache{victimCfg.ClientSessionCache}
		res := tlsTGet(attacker, "RETR f", stolen)
		if res.Final.Code != 425 || len(res.Data) != 0 {
			t.Fatalf("data connection with another session's ticket: final %v, data %q, want 425 and nothing", res.Final, res.Data)
		}
		if _, resumed := hs.count(); resumed != 0 {
			t.Fatalf("%d handshakes resumed, want 0", resumed)
		}
		// The victim's own data connection still resumes.
		victim.expect("PBSZ 0", 200)
		victim.expect("PROT P", 200)
		if res := tlsTGet(victim, "RETR f", victimCfg); res.Final.Code != 226 || !bytes.Equal(res.Data, secret) {
			t.Fatalf("victim's RETR: final %v, error %v", res.Final, res.Err)
		}
	})
}

// TestTLSHandshakeTimeout checks that a client that opens TLS and stalls
// cannot hold a session: after AUTH TLS and over implicit TLS, with no
// byte or with half a record sent, the server closes the connection
// within DataTimeout. A completed handshake is not cut by that deadline.
func TestTLSHandshakeTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	set := func(s *ftp.Server) { s.DataTimeout = timeout }
	tests := []struct {
		name string
		mode tlsTMode
		send []byte // sent after AUTH TLS's 234, or first over implicit TLS
	}{
		{"explicit, silent", tlsTExplicit, nil},
		{"explicit, half a record", tlsTExplicit, []byte{0x16, 0x03, 0x01, 0x02}},
		{"implicit, silent", tlsTImplicit, nil},
		{"implicit, half a record", tlsTImplicit, []byte{0x16, 0x03, 0x01, 0x02}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := tlsTServerFor(t, tt.mode, set)
			var c *rawConn
			if tt.mode == tlsTImplicit {
				c = dialRawNoGreeting(t, srv.Addr)
			} else {
				c = dialRaw(t, srv.Addr)
				c.expect("AUTH TLS", 234)
			}
			start := time.Now()
			if tt.send != nil {
				c.sendBytes(tt.send)
			}
			c.conn.SetReadDeadline(time.Now().Add(rawTimeout))
			b, err := io.ReadAll(c.r)
			took := time.Since(start)
			if err != nil && !isReset(err) {
				t.Fatalf("waiting for the server to close: %v after %v", err, took)
			}
			if len(b) > 0 && tt.send == nil {
				t.Fatalf("server sent %q to a silent client", b)
			}
			// Well under the 5 min idle timeout and the 30 s default data
			// timeout; loose above, since loaded CI machines are slow.
			if took < timeout/2 || took > 4*time.Second {
				t.Fatalf("server closed after %v, want about %v", took, timeout)
			}
		})
	}
	for _, mode := range []tlsTMode{tlsTExplicit, tlsTImplicit} {
		t.Run(string(mode)+", completed handshake outlives the deadline", func(t *testing.T) {
			t.Parallel()
			srv, _ := tlsTServerFor(t, mode, set)
			c := tlsTDial(t, mode, srv.Addr, tlsTClientConfig(t, false))
			time.Sleep(3 * timeout)
			c.login(ftptest.User, ftptest.Password)
			c.expect("NOOP", 200)
		})
	}
	t.Run("data connection", func(t *testing.T) {
		t.Parallel()
		srv, _ := tlsTServer(t, set)
		tlsTWriteFile(t, srv.Dir, "f", []byte("x"))
		c := tlsTDialExplicit(t, srv.Addr, tlsTClientConfig(t, false))
		c.login(ftptest.User, ftptest.Password)
		c.expect("PBSZ 0", 200)
		c.expect("PROT P", 200)
		d := c.pasv() // connected, but the client never starts TLS on it
		c.expect("RETR f", 150)
		start := time.Now()
		r := c.read()
		if took := time.Since(start); r.Code != 425 || took > 4*time.Second {
			t.Fatalf("stalled data handshake: %v after %v, want 425 within about %v", r, took, timeout)
		}
		d.SetReadDeadline(time.Now().Add(rawTimeout))
		if b, _ := io.ReadAll(d); len(b) != 0 {
			t.Fatalf("server sent %q on a data connection that never handshook", b)
		}
		c.expect("NOOP", 200)
	})
}

// TestTLSVersionFloor checks that the engine raises the TLS floor to 1.2
// even when TLSConfig allows 1.0: TLS 1.0 and 1.1 clients are refused on
// control connections (explicit and implicit) and on data connections;
// 1.2 and 1.3 are served.
func TestTLSVersionFloor(t *testing.T) {
	t.Parallel()
	set := func(s *ftp.Server) { s.TLSConfig.MinVersion = tls.VersionTLS10 }
	versions := []struct {
		v  uint16
		ok bool
	}{
		{tls.VersionTLS10, false},
		{tls.VersionTLS11, false},
		{tls.VersionTLS12, true},
		{tls.VersionTLS13, true},
	}
	for _, mode := range []tlsTMode{tlsTExplicit, tlsTImplicit} {
		for _, tv := range versions {
			t.Run(fmt.Sprintf("%s/%s", mode, tls.VersionName(tv.v)), func(t *testing.T) {
				srv, _ := tlsTServerFor(t, mode, set)
				cfg := tlsTClientConfig(t, false)
				cfg.MinVersion, cfg.MaxVersion = tv.v, tv.v
				var tc *tls.Conn
				var err error
				if mode == tlsTImplicit {
					tc, err = tlsTDialImplicitErr(srv.Addr, cfg)
				} else {
					c := dialRaw(t, srv.Addr)
					c.expect("AUTH TLS", 234)
					tc, err = tlsTHandshake(c.conn, cfg)
				}
				if !tv.ok {
					if err == nil {
						tc.Close()
						t.Fatalf("handshake at %s succeeded, want refused", tls.VersionName(tv.v))
					}
					if !strings.Contains(err.Error(), "protocol version") {
						t.Fatalf("handshake error %q, want the server's protocol_version alert", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("handshake at %s: %v", tls.VersionName(tv.v), err)
				}
				defer tc.Close()
				if got := tc.ConnectionState().Version; got != tv.v {
					t.Fatalf("negotiated %s", tls.VersionName(got))
				}
			})
		}
	}
	t.Run("data connection at TLS 1.1", func(t *testing.T) {
		srv, _ := tlsTServer(t, set)
		tlsTWriteFile(t, srv.Dir, "f", []byte("x"))
		c := tlsTDialExplicit(t, srv.Addr, tlsTClientConfig(t, false))
		c.login(ftptest.User, ftptest.Password)
		c.expect("PBSZ 0", 200)
		c.expect("PROT P", 200)
		old := tlsTClientConfig(t, false)
		old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		res := tlsTGet(c, "RETR f", old)
		if res.Err == nil || res.Final.Code != 425 || len(res.Data) != 0 {
			t.Fatalf("TLS 1.1 data connection: error %v, final %v, data %q; want refused with 425", res.Err, res.Final, res.Data)
		}
	})
}

// TestTLSREIN checks that REIN resets the data protection: after REIN
// and a new login on an explicit-TLS session, data goes clear again (and
// with TLSDataRequired, is refused with 521 until PROT P), while the
// control connection stays encrypted. REIN resets it whether or not a
// user was logged in.
func TestTLSREIN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		loginFirst   bool // log in before REIN
		dataRequired bool
	}{
		{"logged in", true, false},
		{"logged in, TLSDataRequired", true, true},
		{"before login", false, false},
		{"before login, TLSDataRequired", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := tlsTServer(t, func(s *ftp.Server) { s.TLSDataRequired = tt.dataRequired })
			tlsTWriteFile(t, srv.Dir, "f", []byte("x"))
			cfg := tlsTClientConfig(t, false)
			c := tlsTDialExplicit(t, srv.Addr, cfg)
			c.expect("PBSZ 0", 200)
			c.expect("PROT P", 200)
			if tt.loginFirst {
				c.login(ftptest.User, ftptest.Password)
				if res := tlsTGet(c, "LIST", cfg); res.Final.Code != 226 || res.State == nil {
					t.Fatalf("LIST under PROT P: %v, final %v", res.Err, res.Final)
				}
			}
			c.expect("REIN", 220)
			c.login(ftptest.User, ftptest.Password)
			if tt.dataRequired {
				c.pasvAddr()
				c.expect("LIST", 521)
				return
			}
			res := tlsTGet(c, "LIST", nil)
			if res.Err != nil || res.Final.Code != 226 || !bytes.Contains(res.Data, []byte(" f\r\n")) {
				t.Fatalf("clear LIST after REIN: %v, final %v, data %q", res.Err, res.Final, res.Data)
			}
		})
	}
}

// TestTLSReloginKeepsPROT checks that logging in again with USER and PASS
// (no REIN) keeps PROT P: the client still expects TLS on data
// connections, and a server that went clear would send it the file in
// clear.
func TestTLSReloginKeepsPROT(t *testing.T) {
	t.Parallel()
	srv, _ := tlsTServer(t, nil)
	tlsTWriteFile(t, srv.Dir, "f", []byte("private"))
	cfg := tlsTClientConfig(t, false)
	c := tlsTDialExplicit(t, srv.Addr, cfg)
	c.expect("PBSZ 0", 200)
	c.expect("PROT P", 200)
	c.login(ftptest.User, ftptest.Password)
	c.login(ftptest.User, ftptest.Password)
	res := tlsTGet(c, "RETR f", cfg)
	if res.Err != nil || res.Final.Code != 226 || res.State == nil || string(res.Data) != "private" {
		t.Fatalf("RETR after a new login: client error %v, final %v, TLS %v; want a protected transfer", res.Err, res.Final, res.State != nil)
	}
}

// TestTLSREINImplicit checks that REIN on an implicit-TLS session keeps
// data protected: implicit FTPS protects data by default, so after REIN a
// client that never sent PROT still expects TLS, and the server must not
// send it file contents in clear.
func TestTLSREINImplicit(t *testing.T) {
	t.Parallel()
	srv, _ := tlsTServer(t, nil, ftptest.WithImplicitTLS())
	tlsTWriteFile(t, srv.Dir, "f", []byte("private"))
	cfg := tlsTClientConfig(t, false)
	c := tlsTDialImplicit(t, srv.Addr, cfg)
	c.login(ftptest.User, ftptest.Password)
	if res := tlsTGet(c, "RETR f", cfg); res.Final.Code != 226 || res.State == nil {
		t.Fatalf("RETR before REIN: %v, final %v", res.Err, res.Final)
	}
	c.expect("REIN", 220)
	c.login(ftptest.User, ftptest.Password)
	res := tlsTGet(c, "RETR f", cfg)
	if res.Err != nil || res.Final.Code != 226 || res.State == nil || string(res.Data) != "private" {
		t.Fatalf("RETR after REIN on implicit TLS: client error %v, final %v, TLS %v; want a protected transfer", res.Err, res.Final, res.State != nil)
	}
}

// TestTLSPipelinedAUTH checks the guard against command injection: bytes
// sent after AUTH in the same write, before the TLS handshake, would be
// read as if protected, so the server answers 503 and closes.
func TestTLSPipelinedAUTH(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, send string }{
		{"AUTH TLS + USER", "AUTH TLS\r\nUSER x\r\n"},
		{"AUTH SSL + NOOP", "AUTH SSL\r\nNOOP\r\n"},
		{"AUTH TLS + partial line", "AUTH TLS\r\nUS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := tlsTServer(t, nil)
			c := dialRaw(t, srv.Addr)
			c.sendBytes([]byte(tt.send))
			if r := c.read(); r.Code != 503 {
				t.Fatalf("pipelined AUTH: got %v, want 503", r)
			}
			if more := c.expectClosed(); len(more) != 0 {
				t.Fatalf("after 503 the server sent %v, want the connection closed", more)
			}
		})
	}
}

// TestTLSServeTLSNeedsConfig checks that ServeTLS without a TLSConfig
// fails at once and closes the listener.
func TestTLSServeTLSNeedsConfig(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &ftp.Server{}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(l) }()
	select {
	case err := <-done:
		if err == nil || errors.Is(err, ftp.ErrServerClosed) {
			t.Fatalf("ServeTLS without TLSConfig: %v, want a configuration error", err)
		}
	case <-time.After(rawTimeout):
		srv.Close()
		t.Fatal("ServeTLS without TLSConfig did not return")
	}
	if _, err := l.Accept(); err == nil {
		t.Fatal("listener still open after ServeTLS failed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	srv.Shutdown(ctx)
}

// TestTLSABORDuringDataHandshake checks that ABOR stops a transfer whose
// data connection is open but has not finished its TLS handshake: the
// client gets 426 and 226 at once, not after DataTimeout.
func TestTLSABORDuringDataHandshake(t *testing.T) {
	t.Parallel()
	const dataTimeout = 5 * time.Second
	srv, _ := tlsTServer(t, func(s *ftp.Server) { s.DataTimeout = dataTimeout })
	tlsTWriteFile(t, srv.Dir, "f", []byte("x"))
	c := tlsTDialExplicit(t, srv.Addr, tlsTClientConfig(t, false))
	c.login(ftptest.User, ftptest.Password)
	c.expect("PBSZ 0", 200)
	c.expect("PROT P", 200)
	c.pasv() // connected; the client never starts TLS on it
	c.expect("RETR f", 150)
	time.Sleep(50 * time.Millisecond) // the server is in the data handshake
	start := time.Now()
	c.send("ABOR")
	r1, r2 := c.read(), c.read()
	if took := time.Since(start); r1.Code != 426 || r2.Code != 226 || took > dataTimeout/5 {
		t.Fatalf("ABOR during the data handshake: %v then %v after %v; want 426 then 226 at once", r1, r2, took)
	}
	c.expect("NOOP", 200)
}

// TestTLSABORDuringBlockedRETR checks ABOR of a TLS download whose client
// has stopped reading, so the server is blocked sending: 426 and 226 come
// at once. The abort closes the connection under TLS; a TLS close would
// first send close_notify into the full socket and wait (up to 5 s, or
// the stall timeout, which the watchdog keeps pushing out while earlier
// chunks count as progress). Soak found it: ABOR answered after 30 s.
func TestTLSABORDuringBlockedRETR(t *testing.T) {
	t.Parallel()
	srv, _ := tlsTServer(t, nil)
	const size = 32 << 20
	tlsTWriteFile(t, srv.Dir, "big.bin", bytes.Repeat([]byte("0123456789abcdef"), size/16))
	for _, stopAfter := range []int{0, 256 << 10} {
		t.Run(fmt.Sprintf("read %d", stopAfter), func(t *testing.T) {
			c := tlsTDialExplicit(t, srv.Addr, tlsTClientConfig(t, true))
			c.login(ftptest.User, ftptest.Password)
			c.expect("PBSZ 0", 200)
			c.expect("PROT P", 200)
			d := c.pasv()
			c.expect("RETR big.bin", 150)
			tc, err := tlsTHandshake(d, tlsTClientConfig(t, true))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(tc, make([]byte, stopAfter)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond) // the server fills the socket and blocks
			start := time.Now()
			c.send("ABOR")
			r1, r2 := c.read(), c.read()
			if took := time.Since(start); r1.Code != 426 || r2.Code != 226 || took > 2*time.Second {
				t.Fatalf("ABOR of a blocked TLS RETR: %v then %v after %v; want 426 then 226 at once", r1, r2, took)
			}
			c.expect("NOOP", 200)
		})
	}
}

// TestTLSShutdownDuringImplicitHandshake checks that Shutdown does not wait
// for an implicit-TLS connection that has not finished its handshake (no
// command is running; the client has not even been greeted).
func TestTLSShutdownDuringImplicitHandshake(t *testing.T) {
	t.Parallel()
	const dataTimeout = 5 * time.Second
	srv, _ := tlsTServer(t, func(s *ftp.Server) { s.DataTimeout = dataTimeout }, ftptest.WithImplicitTLS())
	c := dialRawNoGreeting(t, srv.Addr)
	time.Sleep(50 * time.Millisecond) // the session is in the handshake
	ctx, cancel := context.WithTimeout(context.Background(), 2*dataTimeout)
	defer cancel()
	start := time.Now()
	err := srv.FTP.Shutdown(ctx)
	if took := time.Since(start); err != nil || took > dataTimeout/5 {
		t.Fatalf("Shutdown: %v after %v; want nil at once", err, took)
	}
	c.setTimeout(time.Second)
	c.expectClosed()
}

// TestTLSGetConfigForClient checks that the engine's TLS rules hold when
// TLSConfig hands out its configuration through GetConfigForClient (a
// library user reloading certificates, or choosing them by SNI): the
// TLS 1.2 floor, and TLSSessionReuseRequired on data connections.
func TestTLSGetConfigForClient(t *testing.T) {
	t.Parallel()
	inner := tlsTServerConfig(t)
	inner.MinVersion = tls.VersionTLS10
	srv, _ := tlsTServer(t, func(s *ftp.Server) {
		s.TLSSessionReuseRequired = true
		s.TLSConfig = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return inner, nil }}
	})
	tlsTWriteFile(t, srv.Dir, "f", []byte("secret"))
	t.Run("reuse required", func(t *testing.T) {
		cfg := tlsTClientConfig(t, false) // cannot resume
		c := tlsTDialExplicit(t, srv.Addr, cfg)
		c.login(ftptest.User, ftptest.Password)
		c.expect("PBSZ 0", 200)
		c.expect("PROT P", 200)
		if res := tlsTGet(c, "RETR f", cfg); res.Final.Code != 425 || len(res.Data) != 0 {
			t.Fatalf("non-resuming data connection: final %v, data %q; want 425 and nothing", res.Final, res.Data)
		}
	})
	t.Run("TLS 1.1 refused", func(t *testing.T) {
		old := tlsTClientConfig(t, false)
		old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		c := dialRaw(t, srv.Addr)
		c.expect("AUTH TLS", 234)
		if tc, err := tlsTHandshake(c.conn, old); err == nil {
			tc.Close()
			t.Fatal("TLS 1.1 handshake succeeded, want refused")
		}
	})
}

// TestTLSControlHotSession checks a TLS control connection across the
// hot sessions' park request, which cannot park it: the session goes on
// on a fresh goroutine, whole lines and a line cut in two alike.
func TestTLSControlHotSession(t *testing.T) {
	const after = 50 * time.Millisecond
	srv, _ := tlsTServer(t, nil, parkAfter(after))
	c := tlsTDialExplicit(t, srv.Addr, tlsTClientConfig(t, false))
	c.login(ftptest.User, ftptest.Password)
	c.expect("NOOP", 200)
	time.Sleep(4 * after) // asked to park
	c.expect("PWD", 257)
	c.sendBytes([]byte("NO"))
	time.Sleep(4 * after) // asked again while half a line waits
	c.sendBytes([]byte("OP\r\n"))
	if r := c.read(); r.Code != 200 {
		t.Fatalf("a line cut by a park request over TLS: got %v, want 200", r)
	}
	c.expect("QUIT", 221)
}

// TestTLSUploadWithoutCloseNotify checks a TLS upload whose client ends
// TCP (FIN) after its last record without TLS's close_notify: what a
// killed client or a forged FIN leaves, indistinguishable in the bytes
// from a complete file. By default the upload stands (226, as vsftpd
// and pyftpdlib do); with TLSCloseNotifyRequired it fails with 426 and
// the IncompleteReceived hook, the bytes kept either way. An upload that
// ends with close_notify succeeds under both.
func TestTLSUploadWithoutCloseNotify(t *testing.T) {
	t.Parallel()
	data := tlsTRandom(t, 300<<10+5)
	for _, tc := range []struct {
		name        string
		required    bool
		closeNotify bool
		maxVersion  uint16
		wantCode    int
		wantHook    string
	}{
		{"default/FIN", false, false, 0, 226, "FileReceived"},
		{"default/FIN/TLS1.2", false, false, tls.VersionTLS12, 226, "FileReceived"},
		{"required/FIN", true, false, 0, 426, "IncompleteReceived"},
		{"required/FIN/TLS1.2", true, false, tls.VersionTLS12, 426, "IncompleteReceived"},
		{"required/close_notify", true, true, 0, 226, "FileReceived"},
		{"required/close_notify/TLS1.2", true, true, tls.VersionTLS12, 226, "FileReceived"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hooks := make(chan string, 4)
			srv, _ := tlsTServer(t, func(s *ftp.Server) {
				s.TLSCloseNotifyRequired = tc.required
				s.Hooks.FileReceived = func(ftp.TransferInfo) { hooks <- "FileReceived" }
				s.Hooks.IncompleteReceived = func(ftp.TransferInfo) { hooks <- "IncompleteReceived" }
			})
			cfg := tlsTClientConfig(t, false)
			cfg.MaxVersion = tc.maxVersion
			c := tlsTDialExplicit(t, srv.Addr, cfg)
			c.login(ftptest.User, ftptest.Password)
			c.expect("PBSZ 0", 200)
			c.expect("PROT P", 200)
			d := c.pasv()
			defer d.Close()
			c.expect("STOR up.bin", 150)
			dc, err := tlsTHandshake(d, cfg)
			if err != nil {
				t.Fatal(err)
			}
			dc.SetDeadline(time.Now().Add(rawTimeout))
			if _, err := dc.Write(data); err != nil {
				t.Fatal(err)
			}
			if tc.closeNotify {
				err = dc.Close()
			} else {
				// A half-close: FIN even with the server's session
				// tickets unread (a full close would then send RST).
				err = d.(*net.TCPConn).CloseWrite()
			}
			if err != nil {
				t.Fatal(err)
			}
			r := c.read()
			if r.Code != tc.wantCode || tc.wantCode == 426 && !strings.Contains(r.Text, "close_notify") {
				t.Fatalf("upload ended by %s: reply %v, want %d", map[bool]string{true: "close_notify", false: "FIN"}[tc.closeNotify], r, tc.wantCode)
			}
			select {
			case h := <-hooks:
				if h != tc.wantHook {
					t.Errorf("hook %s ran, want %s", h, tc.wantHook)
				}
			case <-time.After(rawTimeout):
				t.Errorf("no hook ran, want %s", tc.wantHook)
			}
			if got, want := tlsTFileSum(t, filepath.Join(srv.Dir, "up.bin")), tlsTSum(data); got != want {
				t.Errorf("file on disk: sha256 %s, want the %d bytes sent (%s)", got, len(data), want)
			}
			c.expect("NOOP", 200)
		})
	}
}
