package ftp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// dataState is the data channel a session has prepared with PASV, EPSV,
// PORT or EPRT, waiting for the next transfer command to use it.
type dataState struct {
	mu       sync.Mutex
	listener *net.TCPListener // pending passive listener (one at most)
	expire   *time.Timer      // closes listener if no transfer claims it
	active   netip.AddrPort   // PORT/EPRT target, if valid
	epsvAll  bool             // EPSV ALL: only EPSV from now on
}

// close forgets a prepared data channel and closes its listener.
func (d *dataState) close() {
	l, _, _ := d.take()
	if l != nil {
		l.Close()
	}
}

// take hands the prepared channel to a transfer, which then owns it.
func (d *dataState) take() (l *net.TCPListener, active netip.AddrPort, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	l, active = d.listener, d.active
	d.listener, d.active = nil, netip.AddrPort{}
	if d.expire != nil {
		d.expire.Stop()
		d.expire = nil
	}
	return l, active, l != nil || active.IsValid()
}

// setListener makes l the pending passive listener. A listener that no
// transfer claims within timeout is closed, so that idle sessions do not
// hold ports of the passive range.
func (d *dataState) setListener(l *net.TCPListener, timeout time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.listener = l
	d.expire = time.AfterFunc(timeout, func() {
		d.mu.Lock()
		unclaimed := d.listener == l
		if unclaimed {
			d.listener, d.expire = nil, nil
		}
		d.mu.Unlock()
		if unclaimed {
			l.Close()
		}
	})
}

func (d *dataState) ready() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.listener != nil || d.active.IsValid()
}

// dataStatus describes the data channel for STAT.
func (s *session) dataStatus() string {
	d := &s.data
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.listener != nil:
		return " Passive data channel waiting for connection on port " + strconv.Itoa(d.listener.Addr().(*net.TCPAddr).Port)
	case d.active.IsValid():
		return " Active data channel to " + d.active.String()
	}
	return " No data connection"
}

func (s *session) handlePASV(string) {
	if s.data.epsvAll {
		s.reply(501, "PASV not allowed after EPSV ALL.")
		return
	}
	announce, err := s.pasvAddress()
	if err != nil {
		s.reply(522, err.Error())
		return
	}
	port, err := s.listenPassive()
	if err != nil {
		s.log.Warn("passive listen failed", "err", err)
		s.reply(425, "Can't open passive connection: "+err.Error())
		return
	}
	a := announce.As4()
	s.reply(227, fmt.Sprintf("Entering Passive Mode (%d,%d,%d,%d,%d,%d).", a[0], a[1], a[2], a[3], port>>8, port&0xff))
}

// pasvAddress is the IPv4 address a PASV reply announces.
func (s *session) pasvAddress() (netip.Addr, error) {
	local := addrIP(s.local)
	if !local.Is4() {
		// The passive listener is on the connection's own IPv6 address;
		// an IPv4 address in the reply could not lead to it.
		return netip.Addr{}, errors.New("PASV is IPv4 only and this connection is IPv6; use EPSV.")
	}
	if s.srv.PublicIP != "" {
		ip, err := netip.ParseAddr(s.srv.PublicIP)
		if err == nil && ip.Unmap().Is4() {
			return ip.Unmap(), nil
		}
		s.log.Error("PublicIP is not an IPv4 address; PASV cannot announce it", "public_ip", s.srv.PublicIP)
	}
	return local, nil
}

func (s *session) handleEPSV(arg string) {
	local := addrIP(s.local)
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "":
	case "ALL":
		s.data.epsvAll = true
		s.reply(200, "EPSV ALL ok; only EPSV will be accepted from now on.")
		return
	case "1":
		if !local.Is4() {
			s.reply(522, "Network protocol not supported, use (2)")
			return
		}
	case "2":
		if local.Is4() {
			s.reply(522, "Network protocol not supported, use (1)")
			return
		}
	default:
		s.reply(501, "Syntax error: EPSV [1 | 2 | ALL].")
		return
	}
	port, err := s.listenPassive()
	if err != nil {
		s.log.Warn("passive listen failed", "err", err)
		s.reply(425, "Can't open passive connection: "+err.Error())
		return
	}
	s.reply(229, fmt.Sprintf("Entering Extended Passive Mode (|||%d|)", port))
}

// listenPassive opens the session's passive listener on the control
// connection's local address, closing any earlier one so that a client
// repeating PASV cannot use up the port range.
func (s *session) listenPassive() (int, error) {
	s.data.close()
	ip := addrIP(s.local)
	l, err := s.srv.listenPassive(ip)
	if err != nil {
		return 0, err
	}
	s.data.setListener(l, duration(s.srv.DataTimeout, DefaultDataTimeout))
	return l.Addr().(*net.TCPAddr).Port, nil
}

// listenPassive listens on ip at a free port of the passive range.
func (srv *Server) listenPassive(ip netip.Addr) (*net.TCPListener, error) {
	network := "tcp4"
	if !ip.Is4() {
		network = "tcp6"
	}
	r := srv.PassivePorts
	if r.Min <= 0 && r.Max <= 0 {
		l, err := listenAnyPort(network, ip, ephemeralPorts(), listenData)
		if err != nil {
			return nil, fmt.Errorf("listen: %w", err)
		}
		return l, nil
	}
	lo, hi := max(r.Min, 1), min(max(r.Max, r.Min), 65535)
	n := hi - lo + 1
	// Start at a random port so that sessions do not all race for the
	// first one, then walk the range once.
	start := rand.IntN(n)
	var err error
	for i := range n {
		port := lo + (start+i)%n
		var l *net.TCPListener
		l, err = listenData(network, netip.AddrPortFrom(ip, uint16(port)))
		if err == nil {
			return l, nil
		}
	}
	return nil, fmt.Errorf("no free port in the passive range %d-%d: %w", lo, hi, err)
}

// listenAnyPort listens on ip at a free port of the system's ephemeral
// range. It names a random port itself first, and asks the kernel (port
// 0) only after anyPortTries of them were taken. A server that closes
// thousands of data connections a minute leaves their ports in TIME_WAIT;
// the kernel's own pick avoids those, so it scans ever longer (2.2 ms a
// bind with 25,000 of them, against 6 us for a named port) and finally
// finds none (EADDRINUSE, 425 to the client), while a bind to a named
// port may take over a TIME_WAIT one (net sets SO_REUSEADDR). scripts/soak
// on loopback, 50 clients, 25,000 data connections a minute: with the
// kernel's pick first, the binds took 58% of the machine's CPU within 40
// seconds and the clients' throughput fell sevenfold.
func listenAnyPort(network string, ip netip.Addr, ports portRange, listen func(string, netip.AddrPort) (*net.TCPListener, error)) (*net.TCPListener, error) {
	for range anyPortTries {
		port, ok := ports.random()
		if !ok {
			continue // a reserved port
		}
		// Any error means try another: the port is taken (EADDRINUSE),
		// or kept by the system (Windows: WSAEACCES). An address that is
		// wrong whatever the port fails below with its own error.
		if l, err := listen(network, netip.AddrPortFrom(ip, port)); err == nil {
			return l, nil
		}
	}
	return listen(network, netip.AddrPortFrom(ip, 0))
}

const anyPortTries = 16

// portRange is a range of ports the system hands out for port 0, less
// the ones it is told to keep for named binds.
type portRange struct {
	lo, hi   int
	reserved [][2]int // inclusive spans
}

// random picks a port of the range at random, reporting false when it
// picked a reserved one.
func (r portRange) random() (uint16, bool) {
	p := r.lo + rand.IntN(r.hi-r.lo+1)
	for _, span := range r.reserved {
		if span[0] <= p && p <= span[1] {
			return 0, false
		}
	}
	return uint16(p), true
}

// ephemeralPorts is the range the kernel picks ports from, read once:
// Linux's settings (ip_local_port_range, less ip_local_reserved_ports),
// else the IANA range that BSDs, macOS and Windows use.
var ephemeralPorts = sync.OnceValue(func() portRange {
	r := portRange{lo: 49152, hi: 65535}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			lo, err1 := strconv.Atoi(f[0])
			hi, err2 := strconv.Atoi(f[1])
			if err1 == nil && err2 == nil && 0 < lo && lo <= hi && hi <= 65535 {
				r.lo, r.hi = lo, hi
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_reserved_ports"); err == nil {
		r.reserved = parsePortSpans(string(b))
	}
	return r
})

// parsePortSpans parses Linux's list of ports, such as "8080,9000-9100",
// skipping what it cannot read.
func parsePortSpans(s string) [][2]int {
	var spans [][2]int
	for _, f := range strings.Split(strings.TrimSpace(s), ",") {
		a, b, isSpan := strings.Cut(f, "-")
		lo, err1 := strconv.Atoi(a)
		hi, err2 := lo, error(nil)
		if isSpan {
			hi, err2 = strconv.Atoi(b)
		}
		if err1 == nil && err2 == nil && lo <= hi {
			spans = append(spans, [2]int{lo, hi})
		}
	}
	return spans
}

func listenData(network string, addr netip.AddrPort) (*net.TCPListener, error) {
	l, err := dataListenConfig.Listen(context.Background(), network, addr.String())
	if err != nil {
		return nil, err
	}
	return l.(*net.TCPListener), nil
}

func (s *session) handlePORT(arg string) {
	if s.data.epsvAll {
		s.reply(501, "PORT not allowed after EPSV ALL.")
		return
	}
	target, err := parsePORT(arg)
	if err != nil {
		s.reply(501, "Syntax error in PORT: expected h1,h2,h3,h4,p1,p2.")
		return
	}
	s.setActive("PORT", target)
}

func (s *session) handleEPRT(arg string) {
	if s.data.epsvAll {
		s.reply(501, "EPRT not allowed after EPSV ALL.")
		return
	}
	target, err := parseEPRT(arg)
	if errors.Is(err, errEPRTProtocol) {
		s.reply(522, "Network protocol not supported, use (1,2)")
		return
	}
	if err != nil {
		s.reply(501, "Syntax error in EPRT: expected |1|a.b.c.d|port| or |2|ipv6|port|.")
		return
	}
	s.setActive("EPRT", target)
}

// setActive checks and records a PORT/EPRT target.
func (s *session) setActive(verb string, target netip.AddrPort) {
	client := addrIP(s.remote)
	if target.Addr().IsUnspecified() {
		// lftp sends "EPRT |2|::|port|" meaning "my own address"; taking
		// it so cannot aim the connection at anyone else.
		target = netip.AddrPortFrom(client, target.Port())
	}
	switch {
	case target.Addr().Unmap() != client && !s.srv.AllowForeignAddresses:
		s.log.Warn("refused PORT/EPRT to a foreign address", "target", target.String())
		s.reply(501, "Refused: the data connection must go to your own address ("+client.String()+").")
		return
	case target.Port() < 1024 && !s.srv.AllowPrivilegedPorts:
		s.log.Warn("refused PORT/EPRT to a privileged port", "target", target.String())
		s.reply(501, "Refused: data connections to ports below 1024 are not allowed.")
		return
	}
	s.data.close()
	s.data.mu.Lock()
	s.data.active = netip.AddrPortFrom(target.Addr().Unmap(), target.Port())
	s.data.mu.Unlock()
	s.reply(200, verb+" command successful.")
}

var (
	errPORTSyntax   = errors.New("ftp: malformed PORT/EPRT argument")
	errEPRTProtocol = errors.New("ftp: unsupported EPRT network protocol")
)

// parsePORT parses "h1,h2,h3,h4,p1,p2" (RFC 959).
func parsePORT(arg string) (netip.AddrPort, error) {
	var v [6]byte
	f := strings.Split(strings.TrimSpace(arg), ",")
	if len(f) != 6 {
		return netip.AddrPort{}, errPORTSyntax
	}
	for i, x := range f {
		n, err := strconv.ParseUint(strings.TrimSpace(x), 10, 8)
		if err != nil {
			return netip.AddrPort{}, errPORTSyntax
		}
		v[i] = byte(n)
	}
	port := uint16(v[4])<<8 | uint16(v[5])
	if port == 0 {
		return netip.AddrPort{}, errPORTSyntax
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte(v[:4])), port), nil
}

// parseEPRT parses "<d>proto<d>addr<d>port<d>" (RFC 2428), where the
// delimiter d is any printable ASCII character, usually "|".
func parseEPRT(arg string) (netip.AddrPort, error) {
	arg = strings.TrimSpace(arg)
	if len(arg) < 7 || arg[0] < 33 || arg[0] > 126 {
		return netip.AddrPort{}, errPORTSyntax
	}
	f := strings.Split(arg[1:], arg[:1])
	if len(f) != 4 || f[3] != "" {
		return netip.AddrPort{}, errPORTSyntax
	}
	ip, err := netip.ParseAddr(f[1])
	if err != nil || ip.Zone() != "" {
		return netip.AddrPort{}, errPORTSyntax
	}
	switch f[0] {
	case "1":
		if !ip.Is4() {
			return netip.AddrPort{}, errPORTSyntax
		}
	case "2":
		if !ip.Is6() {
			return netip.AddrPort{}, errPORTSyntax
		}
	default:
		return netip.AddrPort{}, errEPRTProtocol
	}
	port, err := strconv.ParseUint(f[2], 10, 16)
	if err != nil || port == 0 {
		return netip.AddrPort{}, errPORTSyntax
	}
	return netip.AddrPortFrom(ip, uint16(port)), nil
}

// openData opens the data connection a transfer needs: it accepts on the
// passive listener (refusing peers other than the client unless allowed),
// or dials the PORT target from the control connection's local address.
// It gives up after DataTimeout, or when ctx ends (ABOR).
func (s *session) openData(ctx context.Context, l *net.TCPListener, active netip.AddrPort) (net.Conn, error) {
	timeout := duration(s.srv.DataTimeout, DefaultDataTimeout)
	if l == nil {
		d := dataDialer
		d.Timeout = timeout
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(addrIP(s.local), 0))
		c, err := d.DialContext(ctx, "tcp", active.String())
		if err != nil {
			return nil, fmt.Errorf("can't connect to %s: %w", active, err)
		}
		return c, nil
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	deadline := time.Now().Add(timeout)
	l.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { l.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	client := addrIP(s.remote)
	for {
		c, err := l.AcceptTCP()
		if err != nil {
			if isTimeout(err) && ctx.Err() == nil {
				return nil, fmt.Errorf("no connection to passive port %d within %s (is the port reachable through your firewall or NAT?)", port, timeout)
			}
			return nil, fmt.Errorf("accept on passive port %d: %w", port, err)
		}
		if peer := addrIP(c.RemoteAddr()); peer != client && !s.srv.AllowForeignAddresses {
			s.log.Warn("refused passive data connection from a foreign address", "peer", c.RemoteAddr().String(), "port", port)
			c.Close()
			continue
		}
		return c, nil
	}
}
