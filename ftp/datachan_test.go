package ftp_test

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

// TestDataRoundTrip stores then retrieves files of 0 B, 1 B, 1 MiB and
// 64 MiB in every data-connection mode over IPv4 and IPv6, checking the
// sha256 of the bytes on disk and of the bytes received.
func TestDataRoundTrip(t *testing.T) {
	t.Parallel()
	sizes := []struct {
		name string
		n    int
		// big files run in one passive and one active mode per family
		// only: they prove the fast paths, the others prove the modes.
		big bool
	}{
		{"0B", 0, false},
		{"1B", 1, false},
		{"1MiB", 1 << 20, false},
		{"64MiB", 64 << 20, true},
	}
	srcs := make(map[int][]byte)
	for _, s := range sizes {
		srcs[s.n] = dcRandom(t, s.n)
	}
	families := []struct {
		name  string
		opts  []ftptest.Option
		modes []dcMode
		big   map[dcMode]bool
	}{
		{"IPv4", nil, []dcMode{dcPASV, dcEPSV, dcPORT, dcEPRT}, map[dcMode]bool{dcPASV: true, dcPORT: true}},
		{"IPv6", []ftptest.Option{ftptest.WithIPv6()}, []dcMode{dcEPSV, dcEPRT}, map[dcMode]bool{dcEPSV: true, dcEPRT: true}},
	}
	for _, fam := range families {
		t.Run(fam.name, func(t *testing.T) {
			t.Parallel()
			if fam.name == "IPv6" {
				dcNeedIPv6(t)
			}
			srv := ftptest.NewServer(t, fam.opts...)
			for _, mode := range fam.modes {
				for _, size := range sizes {
					if size.big && !fam.big[mode] {
						continue
					}
					t.Run(string(mode)+"/"+size.name, func(t *testing.T) {
						t.Parallel()
						src := srcs[size.n]
						want := sha256.Sum256(src)
						name := fmt.Sprintf("%s-%s.bin", mode, size.name)
						c := dcLoginUser(t, srv)
						c.put(mode, "STOR "+name, src)
						if sum, n := dcFileSum(t, filepath.Join(srv.Dir, name)); sum != want || n != int64(size.n) {
							t.Fatalf("stored file: %d bytes sha256 %x, want %d bytes %x", n, sum, size.n, want)
						}
						if r := c.expect("SIZE "+name, 213); r.Text != strconv.Itoa(size.n) {
							t.Errorf("SIZE: got %s, want %d", r, size.n)
						}
						if sum, n := c.getSum(mode, name); sum != want || n != int64(size.n) {
							t.Fatalf("retrieved %d bytes sha256 %x, want %d bytes %x", n, sum, size.n, want)
						}
						c.expect("QUIT", 221)
					})
				}
			}
		})
	}
}

// TestDataPASVReply checks the 227 reply, that STAT shows the waiting
// listener, and that the announced port serves the transfer.
func TestDataPASVReply(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	dcWriteFile(t, srv.Dir, "f.txt", []byte("pasv"))
	c := dcLoginUser(t, srv)
	r := c.expect("PASV", 227)
	if !strings.HasPrefix(r.Text, "Entering Passive Mode (127,0,0,1,") {
		t.Errorf("PASV reply %s does not announce 127.0.0.1", r)
	}
	ap, err := dcParse227(r.Text)
	if err != nil {
		t.Fatal(err)
	}
	st := c.expect("STAT", 211)
	if want := "Passive data channel waiting for connection on port " + strconv.Itoa(int(ap.Port())); !strings.Contains(st.Full(), want) {
		t.Errorf("STAT after PASV: %s, want a line %q", st, want)
	}
	conn := c.dialData(ap.Port())
	c.expect("RETR f.txt", 150)
	if b, err := io.ReadAll(conn); err != nil || string(b) != "pasv" {
		t.Fatalf("RETR over PASV: %q, %v", b, err)
	}
	c.expectReply(226)
}

// TestDataEPSVArguments checks EPSV with and without a network protocol
// over IPv4 and IPv6.
func TestDataEPSVArguments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		family string
		cmd    string
		code   int
	}{
		{"IPv4", "EPSV", 229},
		{"IPv4", "EPSV 1", 229},
		{"IPv4", "EPSV 2", 522},
		{"IPv4", "EPSV 3", 501},
		{"IPv4", "EPSV x", 501},
		{"IPv6", "EPSV", 229},
		{"IPv6", "EPSV 2", 229},
		{"IPv6", "EPSV 1", 522},
	}
	servers := map[string]*ftptest.Server{"IPv4": ftptest.NewServer(t)}
	if dcHaveIPv6() {
		servers["IPv6"] = ftptest.NewServer(t, ftptest.WithIPv6())
	}
	for _, srv := range servers {
		dcWriteFile(t, srv.Dir, "f.txt", []byte("epsv"))
	}
	for _, tt := range tests {
		t.Run(tt.family+"/"+tt.cmd, func(t *testing.T) {
			srv := servers[tt.family]
			if srv == nil {
				t.Skip("no IPv6 loopback on this host")
			}
			c := dcLoginUser(t, srv)
			r := c.expect(tt.cmd, tt.code)
			if tt.code != 229 {
				c.expect("NOOP", 200)
				return
			}
			if !strings.HasPrefix(r.Text, "Entering Extended Passive Mode (|||") {
				t.Errorf("EPSV reply %s", r)
			}
			port, err := dcParse229(r.Text)
			if err != nil {
				t.Fatal(err)
			}
			conn := c.dialData(uint16(port))
			c.expect("RETR f.txt", 150)
			if b, err := io.ReadAll(conn); err != nil || string(b) != "epsv" {
				t.Fatalf("RETR over EPSV: %q, %v", b, err)
			}
			c.expectReply(226)
		})
	}
}

// TestDataEPSVAll checks that after EPSV ALL only EPSV opens data
// connections: PASV, PORT and EPRT answer 501.
func TestDataEPSVAll(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	dcWriteFile(t, srv.Dir, "f.txt", []byte("all"))
	c := dcLoginUser(t, srv)
	c.expect("epsv all", 200)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ap := netip.MustParseAddrPort(ln.Addr().String())
	for _, cmd := range []string{"PASV", dcActiveCmd(dcPORT, ap), dcActiveCmd(dcEPRT, ap)} {
		r := c.expect(cmd, 501)
		if !strings.Contains(r.Text, "EPSV ALL") {
			t.Errorf("%s after EPSV ALL: %s, want a text naming EPSV ALL", cmd, r)
		}
	}
	if b := c.get(dcEPSV, "f.txt"); string(b) != "all" {
		t.Fatalf("RETR over EPSV after EPSV ALL: %q", b)
	}
}

// TestDataPassivePortRange checks that PASV and EPSV announce ports of
// PassivePorts only, and that the ports work.
func TestDataPassivePortRange(t *testing.T) {
	t.Parallel()
	r := dcFreePortRange(t, 3)
	srv := ftptest.NewServer(t, dcWithServer(func(s *ftp.Server) { s.PassivePorts = r }))
	dcWriteFile(t, srv.Dir, "f.txt", []byte("range"))
	c := dcLoginUser(t, srv)
	seen := map[int]bool{}
	for i := 0; i < 30; i++ {
		var port int
		if i%2 == 0 {
			port = int(c.pasvReply().Port())
		} else {
			port = c.epsvPort()
		}
		if port < r.Min || port > r.Max {
			t.Fatalf("passive port %d outside PassivePorts %d-%d", port, r.Min, r.Max)
		}
		seen[port] = true
	}
	t.Logf("ports used: %v", seen)
	if b := c.get(dcPASV, "f.txt"); string(b) != "range" {
		t.Fatalf("RETR in range: %q", b)
	}
}

// TestDataPassivePortExhaustion checks that a session whose PASV finds
// every port of the range taken gets 425, that a session repeating PASV
// reuses its own port, and that the port is free again after use.
func TestDataPassivePortExhaustion(t *testing.T) {
	t.Parallel()
	r := dcFreePortRange(t, 1)
	srv := ftptest.NewServer(t, dcWithServer(func(s *ftp.Server) { s.PassivePorts = r }))
	dcWriteFile(t, srv.Dir, "f.txt", []byte("one port"))
	a := dcLoginUser(t, srv)
	for i := 0; i < 5; i++ {
		// Each PASV closes the session's earlier listener first, so one
		// port is enough for a client that repeats PASV.
		if p := a.pasvReply().Port(); int(p) != r.Min {
			t.Fatalf("PASV #%d announced port %d, want %d", i, p, r.Min)
		}
	}
	b := dcLoginUser(t, srv)
	for _, cmd := range []string{"PASV", "EPSV"} {
		rep := b.expect(cmd, 425)
		if !strings.Contains(rep.Text, strconv.Itoa(r.Min)) {
			t.Errorf("%s with the range exhausted: %s, want the range named", cmd, rep)
		}
	}
	conn := a.dialData(uint16(r.Min))
	a.expect("RETR f.txt", 150)
	if got, err := io.ReadAll(conn); err != nil || string(got) != "one port" {
		t.Fatalf("RETR: %q, %v", got, err)
	}
	a.expectReply(226)
	if got := b.get(dcPASV, "f.txt"); string(got) != "one port" {
		t.Fatalf("RETR after the port was freed: %q", got)
	}
}

// TestDataUnclaimedListenerExpires checks that a passive listener no
// transfer claims within DataTimeout is closed, freeing its port of the
// range for other sessions, and that a transfer then asks for a new one.
func TestDataUnclaimedListenerExpires(t *testing.T) {
	t.Parallel()
	r := dcFreePortRange(t, 1)
	srv := ftptest.NewServer(t, dcWithServer(func(s *ftp.Server) {
		s.PassivePorts = r
		s.DataTimeout = 200 * time.Millisecond
	}))
	a := dcLoginUser(t, srv)
	port := a.pasvReply().Port()
	b := dcLoginUser(t, srv)
	b.expect("PASV", 425)
	if !waitUntil(dcTimeout, func() bool {
		conn, err := dcDialFrom(a.localIP(), a.serverAddr(port))
		if err == nil {
			conn.Close()
		}
		return err != nil
	}) {
		t.Fatalf("the unclaimed passive port %d still accepts connections", port)
	}
	if st := a.expect("STAT", 211); strings.Contains(st.Full(), "Passive data channel waiting") {
		t.Errorf("STAT still shows the expired listener: %v", st)
	}
	a.expect("LIST", 425)
	if p := b.pasvReply().Port(); int(p) != r.Min {
		t.Errorf("PASV after the port was freed: %d, want %d", p, r.Min)
	}
}

// TestDataPublicIP checks that PublicIP replaces the address of the 227
// reply (and only an IPv4 one can), while the data connection still
// works at the real address.
func TestDataPublicIP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		publicIP string
		announce string
	}{
		{"", "127.0.0.1"},
		{"203.0.113.7", "203.0.113.7"},
		{"::ffff:198.51.100.4", "198.51.100.4"},
		{"2001:db8::1", "127.0.0.1"}, // not IPv4: ignored (and logged)
	}
	for _, tt := range tests {
		t.Run(tt.publicIP, func(t *testing.T) {
			t.Parallel()
			srv := ftptest.NewServer(t, dcWithServer(func(s *ftp.Server) { s.PublicIP = tt.publicIP }))
			dcWriteFile(t, srv.Dir, "f.txt", []byte("nat"))
			c := dcLoginUser(t, srv)
			ap := c.pasvReply()
			if ap.Addr().String() != tt.announce {
				t.Errorf("PASV announced %s, want %s", ap.Addr(), tt.announce)
			}
			conn := c.dialData(ap.Port())
			c.expect("RETR f.txt", 150)
			if b, err := io.ReadAll(conn); err != nil || string(b) != "nat" {
				t.Fatalf("RETR: %q, %v", b, err)
			}
			c.expectReply(226)
			// EPSV names no address, so PublicIP does not matter to it.
			if b := c.get(dcEPSV, "f.txt"); string(b) != "nat" {
				t.Fatalf("RETR over EPSV: %q", b)
			}
		})
	}
}

// TestDataPASVOnIPv6 checks that PASV on an IPv6 control connection gets
// a clear 522 pointing to EPSV, and that the session goes on.
func TestDataPASVOnIPv6(t *testing.T) {
	t.Parallel()
	dcNeedIPv6(t)
	srv := ftptest.NewServer(t, ftptest.WithIPv6())
	dcWriteFile(t, srv.Dir, "f.txt", []byte("v6"))
	c := dcLoginUser(t, srv)
	r := c.expect("PASV", 522)
	if !strings.Contains(r.Text, "EPSV") {
		t.Errorf("PASV on IPv6: %s, want a text pointing to EPSV", r)
	}
	c.expect("NOOP", 200)
	if b := c.get(dcEPSV, "f.txt"); string(b) != "v6" {
		t.Fatalf("RETR over EPSV: %q", b)
	}
	if b := c.get(dcEPRT, "f.txt"); string(b) != "v6" {
		t.Fatalf("RETR over EPRT: %q", b)
	}
}

// TestDataPASVOnIPv6WithPublicIP checks PASV on an IPv6 control
// connection when PublicIP is set: the reply must not announce an IPv4
// address nothing listens on. Either 522 pointing to EPSV, or a 227 whose
// address really serves the transfer.
func TestDataPASVOnIPv6WithPublicIP(t *testing.T) {
	t.Parallel()
	dcNeedIPv6(t)
	srv := ftptest.NewServer(t, ftptest.WithIPv6(), dcWithServer(func(s *ftp.Server) { s.PublicIP = "127.0.0.1" }))
	dcWriteFile(t, srv.Dir, "f.txt", []byte("v6"))
	c := dcLoginUser(t, srv)
	r := c.cmd("PASV")
	switch r.Code {
	case 522:
		if !strings.Contains(r.Text, "EPSV") {
			t.Errorf("PASV on IPv6: %v, want a text pointing to EPSV", r)
		}
	case 227:
		ap, err := dcParse227(r.Text)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := dcDialFrom(netip.IPv4Unspecified(), ap)
		if err != nil {
			t.Fatalf("PASV on an IPv6 connection announced %s, which does not accept connections: %v", ap, err)
		}
		defer conn.Close()
		c.expect("RETR f.txt", 150)
		if b, err := io.ReadAll(conn); err != nil || string(b) != "v6" {
			t.Fatalf("RETR through the announced address: %q, %v", b, err)
		}
		c.expectReply(226)
	default:
		t.Fatalf("PASV on IPv6 with PublicIP: %v", r)
	}
	if b := c.get(dcEPSV, "f.txt"); string(b) != "v6" {
		t.Fatalf("RETR over EPSV: %q", b)
	}
}

// TestDataOnePendingListener checks that a new PASV, EPSV, PORT or EPRT
// closes the session's pending passive listener.
func TestDataOnePendingListener(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	active := netip.MustParseAddrPort(ln.Addr().String())
	for _, next := range []string{"PASV", "EPSV", dcActiveCmd(dcPORT, active), dcActiveCmd(dcEPRT, active)} {
		t.Run(strings.Fields(next)[0], func(t *testing.T) {
			c := dcLoginUser(t, srv)
			first := c.pasvReply().Port()
			for i := 0; ; i++ {
				r := c.cmd(next)
				if r.Code != 227 && r.Code != 229 && r.Code != 200 {
					t.Fatalf("%s: %s", next, r)
				}
				second := uint16(0)
				if r.Code == 227 {
					ap, _ := dcParse227(r.Text)
					second = ap.Port()
				} else if r.Code == 229 {
					p, _ := dcParse229(r.Text)
					second = uint16(p)
				}
				if second != first || i == 5 {
					break
				}
				// The system gave the same port again; try once more.
			}
			conn, err := dcDialFrom(c.localIP(), netip.AddrPortFrom(c.serverIP(), first))
			if err == nil {
				conn.Close()
				t.Fatalf("the first passive port %d still accepts after %s", first, next)
			}
		})
	}
}

// TestDataForeignPassive checks that a passive data connection from an
// address other than the control connection's is refused (while the
// listener waits on for the real client), unless AllowForeignAddresses.
func TestDataForeignPassive(t *testing.T) {
	t.Parallel()
	foreignIP := netip.MustParseAddr("127.0.0.2")
	if l, err := net.Listen("tcp4", "127.0.0.2:0"); err != nil {
		t.Skipf("cannot use 127.0.0.2 on this host: %v", err)
	} else {
		l.Close()
	}
	for _, allow := range []bool{false, true} {
		for _, mode := range []dcMode{dcPASV, dcEPSV} {
			t.Run(fmt.Sprintf("%s/allow=%v", mode, allow), func(t *testing.T) {
				t.Parallel()
				srv := ftptest.NewServer(t, dcWithServer(func(s *ftp.Server) { s.AllowForeignAddresses = allow }))
				dcWriteFile(t, srv.Dir, "secret.txt", []byte("secret"))
				c := dcLoginUser(t, srv)
				var port uint16
				if mode == dcPASV {
					port = c.pasvReply().Port()
				} else {
					port = uint16(c.epsvPort())
				}
				thief, err := dcDialFrom(foreignIP, netip.AddrPortFrom(c.serverIP(), port))
				if err != nil {
					t.Fatalf("dial from %s: %v", foreignIP, err)
				}
				defer thief.Close()
				c.expect("RETR secret.txt", 150)
				stolen, _ := io.ReadAll(thief)
				if allow {
					if string(stolen) != "secret" {
						t.Fatalf("allowed foreign connection got %q", stolen)
					}
					c.expectReply(226)
					return
				}
				if len(stolen) != 0 {
					t.Fatalf("foreign connection from %s got %q", foreignIP, stolen)
				}
				// The listener still waits for the client itself.
				conn := c.dialData(port)
				if b, err := io.ReadAll(conn); err != nil || string(b) != "secret" {
					t.Fatalf("RETR from the client's own address: %q, %v", b, err)
				}
				c.expectReply(226)
			})
		}
	}
}

// TestDataActiveRefusals checks PORT and EPRT syntax and the refusals of
// foreign addresses (bounce, FXP) and privileged ports.
func TestDataActiveRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		ipv6   bool
		cmd    string
		code   int
		inText string
	}{
		{"PORT foreign", false, "PORT 127,0,0,2,39,16", 501, "own address"},
		{"EPRT foreign", false, "EPRT |1|127.0.0.2|10000|", 501, "own address"},
		{"PORT bounce to public host", false, "PORT 192,0,2,1,0,80", 501, ""},
		{"PORT privileged", false, "PORT 127,0,0,1,0,21", 501, "1024"},
		{"PORT 1023", false, "PORT 127,0,0,1,3,255", 501, "1024"},
		{"PORT 1024", false, "PORT 127,0,0,1,4,0", 200, ""},
		{"EPRT privileged", false, "EPRT |1|127.0.0.1|22|", 501, "1024"},
		{"PORT too few fields", false, "PORT 127,0,0,1,4", 501, ""},
		{"PORT byte over 255", false, "PORT 127,0,0,1,4,256", 501, ""},
		{"PORT port 0", false, "PORT 127,0,0,1,0,0", 501, ""},
		{"PORT letters", false, "PORT a,b,c,d,e,f", 501, ""},
		{"PORT no argument", false, "PORT", 501, ""},
		{"EPRT port 0", false, "EPRT |1|127.0.0.1|0|", 501, ""},
		{"EPRT port 65536", false, "EPRT |1|127.0.0.1|65536|", 501, ""},
		{"EPRT unknown protocol", false, "EPRT |3|127.0.0.1|5000|", 522, ""},
		{"EPRT protocol mismatch", false, "EPRT |2|127.0.0.1|5000|", 501, ""},
		{"EPRT empty", false, "EPRT ||||", 501, ""},
		{"EPRT IPv6 to IPv4 client", false, "EPRT |2|::1|5000|", 501, ""},
		{"EPRT other delimiter", false, "EPRT !1!127.0.0.1!5000!", 200, ""},
		{"IPv6 EPRT", true, "EPRT |2|::1|5000|", 200, ""},
		{"IPv6 EPRT privileged", true, "EPRT |2|::1|21|", 501, "1024"},
		{"IPv6 EPRT IPv4 target", true, "EPRT |1|127.0.0.1|5000|", 501, "own address"},
		{"IPv6 PORT", true, "PORT 127,0,0,1,19,136", 501, ""},
	}
	v4 := ftptest.NewServer(t)
	var v6 *ftptest.Server
	if dcHaveIPv6() {
		v6 = ftptest.NewServer(t, ftptest.WithIPv6())
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := v4
			if tt.ipv6 {
				if v6 == nil {
					t.Skip("no IPv6 loopback on this host")
				}
				srv = v6
			}
			c := dcLoginUser(t, srv)
			r := c.expect(tt.cmd, tt.code)
			if tt.inText != "" && !strings.Contains(r.Text, tt.inText) {
				t.Errorf("%s: %s, want text with %q", tt.cmd, r, tt.inText)
			}
			if tt.code != 200 {
				// Nothing was recorded: a transfer has no data channel.
				c.expect("LIST", 425)
			}
		})
	}
}

// TestDataActiveAllowed checks AllowForeignAddresses and
// AllowPrivilegedPorts: the refused targets are then accepted and used.
func TestDataActiveAllowed(t *testing.T) {
	t.Parallel()
	t.Run("foreign", func(t *testing.T) {
		t.Parallel()
		srv := ftptest.NewServer(t, dcWithServer(func(s *ftp.Server) { s.AllowForeignAddresses = true }))
		dcWriteFile(t, srv.Dir, "f.txt", []byte("fxp"))
		ln, err := net.Listen("tcp4", "127.0.0.2:0")
		if err != nil {
			t.Skipf("cannot use 127.0.0.2 on this host: %v", err)
		}
		defer ln.Close()
		c := dcLoginUser(t, srv)
		for _, mode := range []dcMode{dcPORT, dcEPRT} {
			if b, _ := c.activeRETR(mode, ln, "f.txt"); string(b) != "fxp" {
				t.Fatalf("%s to a foreign address: %q", mode, b)
			}
			c.expectReply(226)
		}
	})
	t.Run("privileged", func(t *testing.T) {
		t.Parallel()
		srv := ftptest.NewServer(t, dcWithServer(func(s *ftp.Server) { s.AllowPrivilegedPorts = true }))
		dcWriteFile(t, srv.Dir, "f.txt", []byte("low"))
		c := dcLoginUser(t, srv)
		c.expect("PORT 127,0,0,1,0,21", 200)
		c.expect("EPRT |1|127.0.0.1|21|", 200)
		// Only root can listen below 1024; when we can, use the port.
		var ln net.Listener
		for p := 1023; p > 900 && ln == nil; p-- {
			ln, _ = net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(p))
		}
		if ln == nil {
			t.Log("cannot listen on a privileged port (not root): checked the 200 replies only")
			return
		}
		defer ln.Close()
		if b, _ := c.activeRETR(dcPORT, ln, "f.txt"); string(b) != "low" {
			t.Fatalf("RETR to port %s: %q", ln.Addr(), b)
		}
		c.expectReply(226)
	})
}

// TestDataActiveSource checks that in active mode the server connects
// from the control connection's address, never from port 20.
//
// The server listens on 127.0.0.3 where the host has it (Linux routes all
// of 127/8 to loopback): the kernel's own choice of source address for a
// connection to the client, 127.0.0.1, would then be wrong, so the test
// fails unless the server binds the control connection's address.
func TestDataActiveSource(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t, ftptest.WithListen(func(network, address string) (net.Listener, error) {
		if l, err := ftp.Listen(network, "127.0.0.3:0"); err == nil {
			return l, nil
		}
		t.Log("no 127.0.0.3 on this host: the server listens on 127.0.0.1, which the kernel would pick anyway")
		return ftp.Listen(network, address)
	}))
	dcWriteFile(t, srv.Dir, "f.txt", []byte("src"))
	c := dcLoginUser(t, srv)
	for _, mode := range []dcMode{dcPORT, dcEPRT} {
		d := c.data(mode)
		c.expect("RETR f.txt", 150)
		conn := d.Conn()
		from := netip.MustParseAddrPort(conn.RemoteAddr().String())
		if from.Addr().Unmap() != c.serverIP().Unmap() || from.Port() == 20 {
			t.Errorf("%s: data connection from %s, want from %s (not port 20)", mode, from, c.serverIP())
		}
		if b, err := io.ReadAll(conn); err != nil || string(b) != "src" {
			t.Fatalf("%s: %q, %v", mode, b, err)
		}
		c.expectReply(226)
	}
}

// TestDataNoChannel425 checks that a transfer or listing without a
// prepared data channel answers 425 and changes nothing.
func TestDataNoChannel425(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	dcWriteFile(t, srv.Dir, "f.txt", []byte("x"))
	c := dcLoginUser(t, srv)
	for _, cmd := range []string{"RETR f.txt", "STOR new.txt", "APPE f.txt", "STOU", "LIST", "NLST", "MLSD"} {
		c.expect(cmd, 425)
	}
	if _, err := os.Stat(filepath.Join(srv.Dir, "new.txt")); !os.IsNotExist(err) {
		t.Errorf("STOR without a data channel created the file (%v)", err)
	}
	if b := dcReadFile(t, srv.Dir, "f.txt"); string(b) != "x" {
		t.Errorf("APPE without a data channel changed the file: %q", b)
	}
	entries, _ := os.ReadDir(srv.Dir)
	if len(entries) != 1 {
		t.Errorf("transfers without a data channel left files: %v", entries)
	}
}

// TestDataNeverConnects checks the 425 reply, naming the port, when the
// client never opens the passive data connection; and the 425 when the
// server cannot reach an active target.
func TestDataNeverConnects(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t, dcWithServer(func(s *ftp.Server) { s.DataTimeout = 300 * time.Millisecond }))
	dcWriteFile(t, srv.Dir, "f.txt", []byte("x"))
	for _, mode := range []dcMode{dcPASV, dcEPSV} {
		for _, cmd := range []string{"RETR f.txt", "LIST"} {
			t.Run(string(mode)+"/"+cmd, func(t *testing.T) {
				t.Parallel()
				c := dcLoginUser(t, srv)
				var port int
				if mode == dcPASV {
					port = int(c.pasvReply().Port())
				} else {
					port = c.epsvPort()
				}
				start := time.Now()
				c.expect(cmd, 150)
				r := c.expectReply(425)
				if !strings.Contains(r.Text, strconv.Itoa(port)) {
					t.Errorf("425 %s does not name the passive port %d", r, port)
				}
				if d := time.Since(start); d < 250*time.Millisecond {
					t.Errorf("425 after %s, before DataTimeout", d)
				}
				c.expect("NOOP", 200)
				if b := c.get(dcEPSV, "f.txt"); string(b) != "x" {
					t.Errorf("RETR after the 425: %q", b)
				}
			})
		}
	}
	for _, mode := range []dcMode{dcPORT, dcEPRT} {
		t.Run(string(mode)+"/refused", func(t *testing.T) {
			t.Parallel()
			c := dcLoginUser(t, srv)
			ln, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ap := netip.MustParseAddrPort(ln.Addr().String())
			ln.Close() // nobody listens there now
			c.expect(dcActiveCmd(mode, ap), 200)
			c.expect("RETR f.txt", 150)
			r := c.expectReply(425)
			if !strings.Contains(r.Text, strconv.Itoa(int(ap.Port()))) {
				t.Errorf("425 %s does not name the target", r)
			}
			c.expect("NOOP", 200)
		})
	}
}
