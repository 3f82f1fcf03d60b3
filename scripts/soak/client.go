package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// client is a minimal FTP control connection with a deadline on every
// read and write, so that a stuck server fails the soak instead of
// hanging it.
type client struct {
	conn    net.Conn
	raw     net.Conn // the TCP connection under conn (the same without TLS)
	r       *bufio.Reader
	timeout time.Duration
	dialer  *net.Dialer // for passive data connections
	local   netip.Addr  // the control connection's own address, where active mode listens
	epsv    bool        // passive mode: EPSV, else PASV
	active  bool        // data connections in active mode (PORT or EPRT), else passive
	eprt    bool        // the next active IPv4 transfer uses EPRT, else PORT; they alternate
	// tlsCfg, when set, makes every data connection a TLS client (PROT P)
	// with the control connection's configuration, so that it can resume
	// the control connection's session from its cache.
	tlsCfg *tls.Config
	// note, if set, is told how each data connection was opened: "PASV",
	// "EPSV", "PORT" or "EPRT", then for TLS its version ("TLS 1.3"), and
	// the version with " resumed" when it resumed a session.
	note func(event string)
}

// connOptions say how a client connects.
type connOptions struct {
	timeout time.Duration // every dial, read and write
	// from is the local address of its connections, control and data; the
	// zero value lets the system pick.
	from   netip.Addr
	tls    bool   // AUTH TLS, PBSZ 0 and PROT P before USER; every data connection in TLS
	maxTLS uint16 // the highest TLS version offered; 0 for crypto/tls's default
	// implicit speaks TLS from the first byte (implicit FTPS, as on port
	// 990) instead of AUTH TLS; it implies tls.
	implicit bool
}

// dialer dials from o.from, within o.timeout.
func (o connOptions) dialer() *net.Dialer {
	d := &net.Dialer{Timeout: o.timeout}
	if o.from.IsValid() {
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(o.from, 0))
	}
	return d
}

// replyError is a reply other than the one expected.
type replyError struct {
	line string
	code int
	text string
	want int
}

func (e *replyError) Error() string {
	return fmt.Sprintf("%s: got %d %s, want %d", showLine(e.line), e.code, e.text, e.want)
}

func showLine(line string) string {
	if strings.HasPrefix(strings.ToUpper(line), "PASS ") {
		return "PASS ****"
	}
	return line
}

// dial connects to addr and reads the greeting, after a TLS handshake
// for implicit FTPS.
func dial(addr string, opt connOptions) (*client, error) {
	d := opt.dialer()
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	local := conn.LocalAddr().(*net.TCPAddr).AddrPort().Addr().Unmap()
	c := &client{conn: conn, raw: conn, r: bufio.NewReaderSize(conn, 4096), timeout: opt.timeout, dialer: d, local: local, epsv: true}
	if opt.implicit {
		cfg, err := clientTLSConfig(addr, opt.maxTLS)
		if err == nil {
			err = c.handshake(cfg)
		}
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("implicit TLS: %w", err)
		}
	}
	if _, err := c.expect("", 220); err != nil {
		conn.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	return c, nil
}

// login dials addr, secures the connection if opt says so, and logs in.
func login(addr, user, pass string, opt connOptions) (*client, error) {
	c, err := dial(addr, opt)
	if err != nil {
		return nil, err
	}
	if opt.tls || opt.implicit {
		if err := c.startTLS(addr, opt.maxTLS, opt.implicit); err != nil {
			c.close()
			return nil, err
		}
	}
	if _, err := c.expect("USER "+user, 331); err != nil {
		c.close()
		return nil, err
	}
	if _, err := c.expect("PASS "+pass, 230); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// startTLS secures the control connection (AUTH TLS; already done for
// implicit FTPS) and asks for protected data connections (PBSZ 0, PROT P),
// as FileZilla and lftp do.
func (c *client) startTLS(addr string, maxVersion uint16, implicit bool) error {
	if !implicit {
		cfg, err := clientTLSConfig(addr, maxVersion)
		if err != nil {
			return err
		}
		if _, err := c.expect("AUTH TLS", 234); err != nil {
			return err
		}
		if err := c.handshake(cfg); err != nil {
			return fmt.Errorf("AUTH TLS: %w", err)
		}
	}
	if _, err := c.expect("PBSZ 0", 200); err != nil {
		return err
	}
	if _, err := c.expect("PROT P", 200); err != nil {
		return err
	}
	return nil
}

// clientTLSConfig is a control connection's TLS configuration, which its
// data connections share.
func clientTLSConfig(addr string, maxVersion uint16) (*tls.Config, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		// The soak checks transfers, not the PKI: the in-process engine
		// and `ftpshare --tls` serve self-signed certificates that no
		// system pool trusts, and a server under test is the one the
		// caller named. So the certificate is not verified.
		InsecureSkipVerify: true,
		// ServerName is also the key of the session cache. Without it
		// crypto/tls keys sessions by the remote address, whose port
		// differs on every data connection, and they could never resume
		// the control connection's session, which the server may require.
		ServerName: host,
		// One cache per control connection, shared by its data
		// connections: each resumes this control connection's session.
		ClientSessionCache: tls.NewLRUClientSessionCache(4),
		MinVersion:         tls.VersionTLS12,
		MaxVersion:         maxVersion,
	}, nil
}

// handshake runs TLS over the control connection, within the timeout.
func (c *client) handshake(cfg *tls.Config) error {
	tc := tls.Client(c.conn, cfg)
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	c.conn.SetDeadline(time.Time{})
	c.conn, c.r, c.tlsCfg = tc, bufio.NewReaderSize(tc, 4096), cfg
	return nil
}

func (c *client) close() { c.conn.Close() }

// reset closes conn abruptly: with SO_LINGER 0 the kernel sends RST, as
// for a client killed or cut off, where a plain close would send FIN,
// which ends an upload as if it were whole.
func reset(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// send writes line on the control connection without reading a reply.
func (c *client) send(line string) error {
	c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
	_, err := io.WriteString(c.conn, line+"\r\n")
	return err
}

// readReply reads one reply, single or multi-line.
func (c *client) readReply() (int, string, error) {
	c.conn.SetReadDeadline(time.Now().Add(c.timeout))
	line, err := c.r.ReadString('\n')
	if err != nil {
		return 0, "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if len(line) < 4 || (line[3] != ' ' && line[3] != '-') {
		return 0, "", fmt.Errorf("malformed reply %q", line)
	}
	code, err := strconv.Atoi(line[:3])
	if err != nil {
		return 0, "", fmt.Errorf("malformed reply %q", line)
	}
	text := line[4:]
	if line[3] == '-' {
		end := line[:3] + " "
		for range 100000 {
			l, err := c.r.ReadString('\n')
			if err != nil {
				return 0, "", err
			}
			if l = strings.TrimRight(l, "\r\n"); strings.HasPrefix(l, end) {
				return code, l[4:], nil
			}
		}
		return 0, "", errors.New("multi-line reply too long")
	}
	return code, text, nil
}

// cmd sends line (unless empty) and reads the reply.
func (c *client) cmd(line string) (int, string, error) {
	if line != "" {
		c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
		if err := c.send(line); err != nil {
			return 0, "", err
		}
	}
	return c.readReply()
}

// expect sends line and fails unless the reply has code.
func (c *client) expect(line string, code int) (string, error) {
	got, text, err := c.cmd(line)
	if err != nil {
		return "", fmt.Errorf("%s: %w", showLine(line), err)
	}
	if got != code {
		return text, &replyError{line, got, text, code}
	}
	return text, nil
}

func (c *client) noteEvent(event string) {
	if c.note != nil {
		c.note(event)
	}
}

var (
	pasvRe = regexp.MustCompile(`\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)`)
	epsvRe = regexp.MustCompile(`\(\|\|\|(\d+)\|\)`)
)

// dataChan is a data connection on its way: dialled already (passive
// mode), or a listener waiting for the server (active mode). It opens
// once the transfer command has its 150 reply.
type dataChan struct {
	verb string       // PASV, EPSV, PORT or EPRT
	conn net.Conn     // the connection; dialled at once in passive mode
	raw  net.Conn     // the TCP connection under conn, once open
	l    net.Listener // active mode: where the server connects
}

// close closes the connection and the listener, whichever are open.
func (d *dataChan) close() {
	if d.conn != nil {
		d.conn.Close()
	}
	if d.l != nil {
		d.l.Close()
	}
}

// prepareData readies the data connection of the next transfer: passive
// (EPSV or PASV, as c.epsv says) or active (PORT or EPRT, alternately).
func (c *client) prepareData() (*dataChan, error) {
	if c.active {
		return c.prepareActive()
	}
	host, _, _ := net.SplitHostPort(c.conn.RemoteAddr().String())
	var addr string
	verb := "PASV"
	if c.epsv {
		verb = "EPSV"
		text, err := c.expect("EPSV", 229)
		if err != nil {
			return nil, err
		}
		m := epsvRe.FindStringSubmatch(text)
		if m == nil {
			return nil, fmt.Errorf("EPSV reply %q has no port", text)
		}
		addr = net.JoinHostPort(host, m[1])
	} else {
		text, err := c.expect("PASV", 227)
		if err != nil {
			return nil, err
		}
		m := pasvRe.FindStringSubmatch(text)
		if m == nil {
			return nil, fmt.Errorf("PASV reply %q has no address", text)
		}
		hi, _ := strconv.Atoi(m[5])
		lo, _ := strconv.Atoi(m[6])
		addr = net.JoinHostPort(strings.Join(m[1:5], "."), strconv.Itoa(hi<<8|lo))
	}
	d, err := c.dialer.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial data %s: %w", addr, err)
	}
	return &dataChan{verb: verb, conn: d}, nil
}

// prepareActive listens on the control connection's own address, at a
// port the system picks, and tells the server with PORT or EPRT.
func (c *client) prepareActive() (*dataChan, error) {
	l, err := listenActive(c.local)
	if err != nil {
		return nil, fmt.Errorf("active mode: listen: %w", err)
	}
	target := l.Addr().(*net.TCPAddr).AddrPort()
	verb, arg := "EPRT", eprtArg(target)
	if c.local.Is4() {
		if !c.eprt {
			verb, arg = "PORT", portArg(target)
		}
		c.eprt = !c.eprt
	}
	if _, err := c.expect(verb+" "+arg, 200); err != nil {
		l.Close()
		return nil, err
	}
	return &dataChan{verb: verb, l: l}, nil
}

// listenActive listens on ip at a random port of the ephemeral range,
// and at the system's pick (port 0) only after 16 are taken, as the
// engine's passive listeners do: on loopback the clients and the server
// share the ports of one address, and after tens of thousands of data
// connections a minute most ports have a socket in TIME_WAIT. The
// system's pick then scans ever longer (it took a fifth of the machine's
// CPU in a 50-client active soak, whose throughput fell threefold) and
// finally fails, while a named port may take over a TIME_WAIT one (net
// sets SO_REUSEADDR).
func listenActive(ip netip.Addr) (*net.TCPListener, error) {
	lo, hi := ephemeralPorts()
	for range 16 {
		port := uint16(lo + rand.IntN(hi-lo+1))
		if l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, port))); err == nil {
			return l, nil
		}
	}
	return net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
}

// ephemeralPorts returns the range the system picks ports from, read
// once: Linux's setting, else the IANA range that BSDs, macOS and Windows
// use.
var ephemeralPorts = sync.OnceValues(func() (lo, hi int) {
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			lo, err1 := strconv.Atoi(f[0])
			hi, err2 := strconv.Atoi(f[1])
			if err1 == nil && err2 == nil && 1024 <= lo && lo <= hi && hi <= 65535 {
				return lo, hi
			}
		}
	}
	return 49152, 65535
})

// portArg is the argument of PORT for an IPv4 address: h1,h2,h3,h4,p1,p2.
func portArg(ap netip.AddrPort) string {
	a := ap.Addr().As4()
	return fmt.Sprintf("%d,%d,%d,%d,%d,%d", a[0], a[1], a[2], a[3], ap.Port()>>8, ap.Port()&0xff)
}

// eprtArg is the argument of EPRT (RFC 2428): |1|a.b.c.d|port| or
// |2|ipv6|port|.
func eprtArg(ap netip.AddrPort) string {
	proto := "2"
	if ap.Addr().Is4() {
		proto = "1"
	}
	return "|" + proto + "|" + ap.Addr().String() + "|" + strconv.Itoa(int(ap.Port())) + "|"
}

// open finishes the data connection once the transfer command has had
// its 150 reply: it accepts the server's connection in active mode, and
// runs the TLS handshake when the data is protected.
func (c *client) open(d *dataChan) (net.Conn, error) {
	if d.l != nil {
		conn, err := c.accept(d.l.(*net.TCPListener))
		d.l.Close()
		d.l = nil
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.verb, err)
		}
		d.conn = conn
	}
	d.raw = d.conn
	c.noteEvent(d.verb)
	if c.tlsCfg == nil {
		return d.conn, nil
	}
	// The handshake comes after the 150: the server starts its side only
	// then. A zero-byte transfer needs it explicit, as well.
	tc := tls.Client(d.conn, c.tlsCfg)
	d.conn = tc
	tc.SetDeadline(time.Now().Add(c.timeout))
	if err := tc.Handshake(); err != nil {
		return nil, fmt.Errorf("%s: data connection: TLS handshake: %w", d.verb, err)
	}
	tc.SetDeadline(time.Time{})
	cs := tc.ConnectionState()
	c.noteEvent(tls.VersionName(cs.Version))
	if cs.DidResume {
		c.noteEvent(tls.VersionName(cs.Version) + " resumed")
	}
	return tc, nil
}

// accept waits for the server's data connection on l, within the
// client's timeout. A reply on the control connection before it (a 425
// when the server could not connect) ends the wait at once, with the
// reply as the error.
func (c *client) accept(l *net.TCPListener) (net.Conn, error) {
	deadline := time.Now().Add(c.timeout)
	for {
		l.SetDeadline(time.Now().Add(min(time.Until(deadline), 20*time.Millisecond)))
		conn, err := l.Accept()
		if err == nil {
			return conn, nil
		}
		if !isTimeout(err) || time.Now().After(deadline) {
			return nil, fmt.Errorf("accept data connection: %w", err)
		}
		// A read that times out leaves the connection usable, TLS too.
		c.conn.SetReadDeadline(time.Now().Add(time.Millisecond))
		switch _, err := c.r.Peek(1); {
		case err == nil:
			// The reply may be the 226 of a transfer done already: its
			// connection then waits in the queue.
			l.SetDeadline(time.Now().Add(100 * time.Millisecond))
			if conn, err := l.Accept(); err == nil {
				return conn, nil
			}
			code, text, err := c.readReply()
			if err != nil {
				return nil, fmt.Errorf("no data connection, and the reply: %w", err)
			}
			return nil, fmt.Errorf("no data connection; the server replied %d %s", code, text)
		case !isTimeout(err):
			return nil, fmt.Errorf("no data connection, and the control connection failed: %w", err)
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// deadlineConn renews a data connection's deadline on every read and
// write, so a stalled transfer fails after the client's timeout.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (d deadlineConn) Read(b []byte) (int, error) {
	d.Conn.SetReadDeadline(time.Now().Add(d.timeout))
	return d.Conn.Read(b)
}

func (d deadlineConn) Write(b []byte) (int, error) {
	d.Conn.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.Conn.Write(b)
}

// begin readies a data connection, sends line (a transfer command) and
// opens the data connection after its 150 reply. The caller closes dc.
func (c *client) begin(line string) (dc *dataChan, d net.Conn, err error) {
	if dc, err = c.prepareData(); err != nil {
		return nil, nil, err
	}
	if _, err := c.expect(line, 150); err != nil {
		dc.close()
		return nil, nil, err
	}
	if d, err = c.open(dc); err != nil {
		dc.close()
		return nil, nil, fmt.Errorf("%s: %w", line, err)
	}
	return dc, d, nil
}

// download runs line (RETR, LIST, NLST) and copies the data to w.
func (c *client) download(line string, w io.Writer) (int64, error) {
	dc, d, err := c.begin(line)
	if err != nil {
		return 0, err
	}
	defer dc.close()
	n, err := io.Copy(w, deadlineConn{d, c.timeout})
	if err != nil {
		return n, fmt.Errorf("%s: data: %w", line, err)
	}
	d.Close()
	if _, err := c.expect("", 226); err != nil {
		return n, fmt.Errorf("%s: %w", line, err)
	}
	return n, nil
}

// upload runs line (STOR, APPE) with the data from r.
func (c *client) upload(line string, r io.Reader) (int64, error) {
	dc, d, err := c.begin(line)
	if err != nil {
		return 0, err
	}
	defer dc.close()
	n, err := io.Copy(deadlineConn{d, c.timeout}, r)
	if err != nil {
		return n, fmt.Errorf("%s: data: %w", line, err)
	}
	// For TLS, Close sends close_notify first: the server's end of file.
	if err := d.Close(); err != nil {
		return n, fmt.Errorf("%s: close data: %w", line, err)
	}
	if _, err := c.expect("", 226); err != nil {
		return n, fmt.Errorf("%s: %w", line, err)
	}
	return n, nil
}
