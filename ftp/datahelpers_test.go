package ftp_test

// Helpers for the data-channel, transfer, listing and interop tests: a raw
// control-connection client (dcClient) that can open data connections in
// every mode, listing parsers, hook recorders and tree comparison. Every
// name starts with "dc" so that it cannot collide with other test helpers
// of the package.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

// dcTimeout bounds every connection of these tests: no read or write may
// block longer, so no test can hang.
const dcTimeout = 30 * time.Second

// dcClient is a raw control connection (rawConn, from rawclient_test.go)
// with data-channel helpers for every mode: PASV, EPSV, PORT and EPRT.
type dcClient struct {
	*rawConn
	srv *ftptest.Server
}

// dcDial connects to srv and reads the 220 greeting. Reads and writes
// have dcTimeout as their deadline: a 64 MiB transfer under -race on a
// loaded machine must not fail on a slow 226.
func dcDial(t testing.TB, srv *ftptest.Server) *dcClient {
	t.Helper()
	c := &dcClient{rawConn: dialRaw(t, srv.Addr), srv: srv}
	c.setTimeout(dcTimeout)
	return c
}

// dcLogin connects and logs in as user.
func dcLogin(t testing.TB, srv *ftptest.Server, user, pass string) *dcClient {
	t.Helper()
	c := dcDial(t, srv)
	c.login(user, pass)
	return c
}

// dcLoginUser connects and logs in as ftptest's full user.
func dcLoginUser(t testing.TB, srv *ftptest.Server) *dcClient {
	t.Helper()
	return dcLogin(t, srv, ftptest.User, ftptest.Password)
}

// expectReply reads a reply and checks its code.
func (c *dcClient) expectReply(code int) reply {
	c.t.Helper()
	r := c.read()
	if r.Code != code {
		c.t.Fatalf("got reply %v, want code %d", r, code)
	}
	return r
}

// localIP is the address of the client's end of the control connection.
func (c *dcClient) localIP() netip.Addr {
	return netip.MustParseAddrPort(c.conn.LocalAddr().String()).Addr()
}

// serverIP is the IP the control connection reached.
func (c *dcClient) serverIP() netip.Addr {
	return netip.MustParseAddrPort(c.conn.RemoteAddr().String()).Addr()
}

// serverAddr is the server's control IP with another port.
func (c *dcClient) serverAddr(port uint16) netip.AddrPort {
	return netip.AddrPortFrom(c.serverIP(), port)
}

var (
	dcPASVRe = regexp.MustCompile(`\((\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})\)`)
	dcEPSVRe = regexp.MustCompile(`\(\|\|\|(\d{1,5})\|\)`)
)

// dcParse227 reads the address of a 227 reply.
func dcParse227(msg string) (netip.AddrPort, error) {
	m := dcPASVRe.FindStringSubmatch(msg)
	if m == nil {
		return netip.AddrPort{}, fmt.Errorf("no (h1,h2,h3,h4,p1,p2) in %q", msg)
	}
	var v [6]byte
	for i := range v {
		n, err := strconv.Atoi(m[i+1])
		if err != nil || n > 255 {
			return netip.AddrPort{}, fmt.Errorf("bad number %q in %q", m[i+1], msg)
		}
		v[i] = byte(n)
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte(v[:4])), uint16(v[4])<<8|uint16(v[5])), nil
}

// dcParse229 reads the port of a 229 reply.
func dcParse229(msg string) (int, error) {
	m := dcEPSVRe.FindStringSubmatch(msg)
	if m == nil {
		return 0, fmt.Errorf("no (|||port|) in %q", msg)
	}
	port, err := strconv.Atoi(m[1])
	if err != nil || port < 1 || port > 65535 {
		return 0, fmt.Errorf("bad port in %q", msg)
	}
	return port, nil
}

// pasvReply sends PASV and returns the announced address.
func (c *dcClient) pasvReply() netip.AddrPort {
	c.t.Helper()
	r := c.expect("PASV", 227)
	ap, err := dcParse227(r.Text)
	if err != nil {
		c.t.Fatal(err)
	}
	return ap
}

// epsvPort sends EPSV and returns the announced port.
func (c *dcClient) epsvPort() int {
	c.t.Helper()
	r := c.expect("EPSV", 229)
	port, err := dcParse229(r.Text)
	if err != nil {
		c.t.Fatal(err)
	}
	return port
}

// dcMode is how a data connection is opened.
type dcMode string

const (
	dcPASV dcMode = "PASV"
	dcEPSV dcMode = "EPSV"
	dcPORT dcMode = "PORT"
	dcEPRT dcMode = "EPRT"
)

// dcData is a data connection being prepared: dialled at once in passive
// mode, accepted on demand in active mode.
type dcData struct {
	t      testing.TB
	conn   net.Conn
	ln     *net.TCPListener
	rcvBuf int
}

// dcDataOpt changes how a data connection is prepared.
type dcDataOpt func(*dcData)

// dcSmallRcvBuf shrinks the client's receive buffer so that a download
// stays in progress while the client does not read.
func dcSmallRcvBuf(d *dcData) { d.rcvBuf = 16 << 10 }

// data prepares a data connection with mode.
func (c *dcClient) data(mode dcMode, opts ...dcDataOpt) *dcData {
	c.t.Helper()
	d := &dcData{t: c.t}
	for _, o := range opts {
		o(d)
	}
	switch mode {
	case dcPASV:
		d.setConn(c.dialData(c.pasvReply().Port()))
	case dcEPSV:
		d.setConn(c.dialData(uint16(c.epsvPort())))
	case dcPORT, dcEPRT:
		ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(c.localIP(), 0)))
		if err != nil {
			c.t.Fatalf("active listener: %v", err)
		}
		c.t.Cleanup(func() { ln.Close() })
		d.ln = ln
		c.expect(dcActiveCmd(mode, netip.MustParseAddrPort(ln.Addr().String())), 200)
	default:
		c.t.Fatalf("unknown mode %q", mode)
	}
	return d
}

// dcActiveCmd is the PORT or EPRT line for ap.
func dcActiveCmd(mode dcMode, ap netip.AddrPort) string {
	ip := ap.Addr().Unmap()
	if mode == dcPORT {
		a := ip.As4()
		return fmt.Sprintf("PORT %d,%d,%d,%d,%d,%d", a[0], a[1], a[2], a[3], ap.Port()>>8, ap.Port()&0xff)
	}
	proto := 1
	if ip.Is6() {
		proto = 2
	}
	return fmt.Sprintf("EPRT |%d|%s|%d|", proto, ip, ap.Port())
}

// dialData connects to the server's passive port from the client's IP.
func (c *dcClient) dialData(port uint16) net.Conn {
	c.t.Helper()
	conn, err := dcDialFrom(c.localIP(), netip.AddrPortFrom(c.serverIP(), port))
	if err != nil {
		c.t.Fatalf("dial passive port %d: %v", port, err)
	}
	c.t.Cleanup(func() { conn.Close() })
	return conn
}

// dcDialFrom dials to from the local address from, with deadlines.
func dcDialFrom(from netip.Addr, to netip.AddrPort) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(from, 0))}
	conn, err := d.Dial("tcp", to.String())
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(dcTimeout))
	return conn, nil
}

func (d *dcData) setConn(conn net.Conn) {
	if d.rcvBuf > 0 {
		conn.(*net.TCPConn).SetReadBuffer(d.rcvBuf)
	}
	d.conn = conn
}

// Conn returns the data connection, accepting it in active mode (so call
// it after the transfer command's 150).
func (d *dcData) Conn() net.Conn {
	d.t.Helper()
	if d.conn != nil {
		return d.conn
	}
	d.ln.SetDeadline(time.Now().Add(dcTimeout))
	conn, err := d.ln.AcceptTCP()
	if err != nil {
		d.t.Fatalf("accept active data connection: %v", err)
	}
	d.ln.Close()
	d.t.Cleanup(func() { conn.Close() })
	if d.rcvBuf > 0 {
		conn.SetReadBuffer(d.rcvBuf)
	}
	conn.SetDeadline(time.Now().Add(dcTimeout))
	d.conn = conn
	return conn
}

// get downloads name with mode and returns its bytes.
func (c *dcClient) get(mode dcMode, name string) []byte {
	c.t.Helper()
	d := c.data(mode)
	c.expect("RETR "+name, 150)
	b, err := io.ReadAll(d.Conn())
	if err != nil {
		c.t.Fatalf("RETR %s: read data: %v", name, err)
	}
	d.Conn().Close()
	c.expectReply(226)
	return b
}

// getSum downloads name with mode and returns its digest and length,
// without holding it in memory.
func (c *dcClient) getSum(mode dcMode, name string) ([32]byte, int64) {
	c.t.Helper()
	d := c.data(mode)
	c.expect("RETR "+name, 150)
	h := sha256.New()
	n, err := io.Copy(h, d.Conn())
	if err != nil {
		c.t.Fatalf("RETR %s: read data: %v", name, err)
	}
	d.Conn().Close()
	c.expectReply(226)
	return [32]byte(h.Sum(nil)), n
}

// put sends body with line (STOR x, APPE x, STOU) and returns the 150
// and final replies; it checks that the final one is 226.
func (c *dcClient) put(mode dcMode, line string, body []byte) (opening, final reply) {
	c.t.Helper()
	d := c.data(mode)
	opening = c.expect(line, 150)
	conn := d.Conn()
	if _, err := conn.Write(body); err != nil {
		c.t.Fatalf("%s: write data: %v", line, err)
	}
	if err := conn.Close(); err != nil {
		c.t.Fatalf("%s: close data: %v", line, err)
	}
	return opening, c.expectReply(226)
}

// list runs a listing command (LIST, NLST, MLSD...) and returns its data.
func (c *dcClient) list(line string) []byte {
	c.t.Helper()
	d := c.data(dcEPSV)
	c.expect(line, 150)
	b, err := io.ReadAll(d.Conn())
	if err != nil {
		c.t.Fatalf("%s: read data: %v", line, err)
	}
	c.expectReply(226)
	return b
}

// listLines runs a listing command and returns its CRLF-terminated lines.
func (c *dcClient) listLines(line string) []string {
	c.t.Helper()
	b := c.list(line)
	if len(b) == 0 {
		return nil
	}
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		c.t.Fatalf("%s: listing does not end with CRLF: %q", line, dcTail(b))
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")
	for _, l := range lines {
		if strings.ContainsAny(l, "\r\n") {
			c.t.Fatalf("%s: line %q holds a bare CR or LF", line, l)
		}
	}
	return lines
}

// statBytes polls STAT during a transfer until it reports at least min
// bytes moved, and returns the count it saw.
func (c *dcClient) statBytes(min int64) int64 {
	c.t.Helper()
	deadline := time.Now().Add(dcTimeout)
	for {
		r := c.expect("STAT", 211)
		n, ok := dcTransferBytes(r)
		if !ok {
			c.t.Fatalf("STAT during a transfer does not show it: %s", r)
		}
		if n >= min {
			return n
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("STAT shows %d bytes after %s, want %d", n, dcTimeout, min)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var dcProgressRe = regexp.MustCompile(`^ Transferring \((\w+) (.*)\): (\d+) bytes in `)

// dcTransferBytes finds the progress line of a STAT reply.
func dcTransferBytes(r reply) (int64, bool) {
	for _, l := range r.Lines {
		if m := dcProgressRe.FindStringSubmatch(l); m != nil {
			n, _ := strconv.ParseInt(m[3], 10, 64)
			return n, true
		}
	}
	return 0, false
}

func dcTail(b []byte) []byte {
	if len(b) > 40 {
		return b[len(b)-40:]
	}
	return b
}

// dcRandom returns n random bytes.
func dcRandom(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// dcWriteFile writes a file under the served directory.
func dcWriteFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// dcReadFile reads a file under the served directory.
func dcReadFile(t testing.TB, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dcFileSum hashes a file on disk.
func dcFileSum(t testing.TB, p string) ([32]byte, int64) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil)), n
}

// dcWithServer returns an option that changes the ftp.Server before it
// starts.
func dcWithServer(f func(*ftp.Server)) ftptest.Option {
	return func(s *ftptest.Server) { f(s.FTP) }
}

// dcNeedIPv6 skips the test when the host has no IPv6 loopback (some
// containers), which is an environment limit rather than an engine one.
func dcNeedIPv6(t testing.TB) {
	t.Helper()
	if !dcHaveIPv6() {
		t.Skip("no IPv6 loopback on this host")
	}
}

// dcHaveIPv6 reports whether [::1] can be listened on.
func dcHaveIPv6() bool {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// dcHookEvent is one transfer hook call.
type dcHookEvent struct {
	Kind string // FileSent, FileReceived, IncompleteSent, IncompleteReceived
	Info ftp.TransferInfo
}

// dcHooks records the transfer hooks of a server.
type dcHooks struct {
	ch chan dcHookEvent
}

// dcRecordHooks installs recording transfer hooks.
func dcRecordHooks() (*dcHooks, ftptest.Option) {
	h := &dcHooks{ch: make(chan dcHookEvent, 1024)}
	rec := func(kind string) func(ftp.TransferInfo) {
		return func(ti ftp.TransferInfo) { h.ch <- dcHookEvent{kind, ti} }
	}
	return h, func(s *ftptest.Server) {
		s.FTP.Hooks.FileSent = rec("FileSent")
		s.FTP.Hooks.FileReceived = rec("FileReceived")
		s.FTP.Hooks.IncompleteSent = rec("IncompleteSent")
		s.FTP.Hooks.IncompleteReceived = rec("IncompleteReceived")
	}
}

// next waits for the next hook call.
func (h *dcHooks) next(t testing.TB) dcHookEvent {
	t.Helper()
	select {
	case ev := <-h.ch:
		return ev
	case <-time.After(dcTimeout):
		t.Fatal("no transfer hook was called")
	}
	panic("unreachable")
}

// expect waits for the next hook call and checks it.
func (h *dcHooks) expect(t testing.TB, kind, cmd, path string, offset, bytes int64, failed bool) ftp.TransferInfo {
	t.Helper()
	ev := h.next(t)
	ti := ev.Info
	if ev.Kind != kind || ti.Command != cmd || ti.Path != path || ti.Offset != offset || ti.Bytes != bytes || (ti.Err != nil) != failed {
		t.Errorf("hook %s{Command:%s Path:%q Offset:%d Bytes:%d Err:%v}, want %s{Command:%s Path:%q Offset:%d Bytes:%d failed:%v}",
			ev.Kind, ti.Command, ti.Path, ti.Offset, ti.Bytes, ti.Err, kind, cmd, path, offset, bytes, failed)
	}
	return ti
}

// none checks that no hook was called.
func (h *dcHooks) none(t testing.TB) {
	t.Helper()
	select {
	case ev := <-h.ch:
		t.Errorf("unexpected hook %s %+v", ev.Kind, ev.Info)
	default:
	}
}

// dcLS is one parsed "ls -l" line.
type dcLS struct {
	Mode   string
	Links  int
	Owner  string
	Group  string
	Size   int64
	Date   string // "Jan _2 15:04" or "Jan _2  2006"
	Name   string
	Target string // after " -> " for a symbolic link
}

var dcLSRe = regexp.MustCompile(`^([-dlpscb][-r][-w][-xsS][-r][-w][-xsS][-r][-w][-xtT]) +(\d+) (\S+) +(\S+) +(\d+) ((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123]\d (?:[012]\d:[0-5]\d| \d{4})) (.+)$`)

// dcParseLS parses an "ls -l" line.
func dcParseLS(line string) (dcLS, error) {
	m := dcLSRe.FindStringSubmatch(line)
	if m == nil {
		return dcLS{}, fmt.Errorf("not an ls -l line: %q", line)
	}
	e := dcLS{Mode: m[1], Owner: m[3], Group: m[4], Date: m[6], Name: m[7]}
	e.Links, _ = strconv.Atoi(m[2])
	e.Size, _ = strconv.ParseInt(m[5], 10, 64)
	if e.Mode[0] == 'l' {
		if name, target, ok := strings.Cut(e.Name, " -> "); ok {
			e.Name, e.Target = name, target
		}
	}
	if _, err := time.Parse("Jan _2 15:04", e.Date); err != nil {
		if _, err := time.Parse("Jan _2  2006", e.Date); err != nil {
			return dcLS{}, fmt.Errorf("bad date %q in %q", e.Date, line)
		}
	}
	return e, nil
}

// dcParseMLSx parses an MLSD line (or an MLST line without its leading
// space): facts (keys lowercased) and the name.
func dcParseMLSx(line string) (map[string]string, string, error) {
	factStr, name, ok := strings.Cut(line, " ")
	if !ok || name == "" {
		return nil, "", fmt.Errorf("no space before the name in %q", line)
	}
	facts := map[string]string{}
	if factStr == "" {
		return facts, name, nil
	}
	if !strings.HasSuffix(factStr, ";") {
		return nil, "", fmt.Errorf("facts do not end with ';' in %q", line)
	}
	for _, f := range strings.Split(strings.TrimSuffix(factStr, ";"), ";") {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return nil, "", fmt.Errorf("bad fact %q in %q", f, line)
		}
		k = strings.ToLower(k)
		if _, dup := facts[k]; dup {
			return nil, "", fmt.Errorf("fact %q twice in %q", k, line)
		}
		facts[k] = v
	}
	return facts, name, nil
}

// dcClientPath finds an interop client, skipping the test when it is
// missing unless FTPSHARE_REQUIRE_CLIENTS is set (as CI does).
func dcClientPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("FTPSHARE_REQUIRE_CLIENTS") != "" {
			t.Fatalf("%s is required (FTPSHARE_REQUIRE_CLIENTS is set) but not found: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

// dcCompareTrees checks that two directory trees hold the same
// directories and files, byte for byte.
func dcCompareTrees(t testing.TB, want, got string) {
	t.Helper()
	snapshot := func(root string) map[string]string {
		m := map[string]string{}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			switch {
			case d.IsDir():
				m[rel] = "dir"
			case d.Type().IsRegular():
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				m[rel] = fmt.Sprintf("file %x", sha256.Sum256(b))
			default:
				m[rel] = "other " + d.Type().String()
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", root, err)
		}
		return m
	}
	w, g := snapshot(want), snapshot(got)
	for k, v := range w {
		if g[k] != v {
			t.Errorf("%s: got %q, want %q", k, g[k], v)
		}
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			t.Errorf("%s: unexpected entry %q", k, g[k])
		}
	}
}

// dcFreePortRange finds n consecutive ports, below the usual ephemeral
// range, that can be listened on at 127.0.0.1 right now.
func dcFreePortRange(t testing.TB, n int) ftp.PortRange {
	t.Helper()
	for try := 0; try < 200; try++ {
		base := 20000 + mrand.IntN(10000)
		ok := true
		for p := base; p < base+n; p++ {
			l, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return ftp.PortRange{Min: base, Max: base + n - 1}
		}
	}
	t.Fatal("no free port range found")
	return ftp.PortRange{}
}

// dcRootFS opens dir as a jailed filesystem for a test, closed at its end;
// tests wrap it to inject faults.
func dcRootFS(t *testing.T, dir string) *ftp.RootFS {
	t.Helper()
	root, err := ftp.NewRootFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return root
}

// activeRETR sends PORT or EPRT (mode) for ln, then RETR name, accepts
// the server's data connection and returns what came over it and the
// address it came from.
func (c *dcClient) activeRETR(mode dcMode, ln net.Listener, name string) ([]byte, *net.TCPAddr) {
	c.t.Helper()
	c.expect(dcActiveCmd(mode, netip.MustParseAddrPort(ln.Addr().String())), 200)
	c.expect("RETR "+name, 150)
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(dcTimeout))
	conn, err := ln.Accept()
	if err != nil {
		c.t.Fatalf("%s: accept the data connection: %v", mode, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(dcTimeout))
	b, err := io.ReadAll(conn)
	if err != nil {
		c.t.Fatalf("%s: RETR %s: %v", mode, name, err)
	}
	return b, conn.RemoteAddr().(*net.TCPAddr)
}
