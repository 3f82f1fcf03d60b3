package ftp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// TestUnitListenAnyPort checks how a passive listener without a
// configured range finds its port: random named ports of the ephemeral
// range, never a reserved one, a bounded number of them, then the
// kernel's pick (port 0), whose error is the one reported.
func TestUnitListenAnyPort(t *testing.T) {
	inUse := &net.OpError{Op: "listen", Net: "tcp4", Err: os.NewSyscallError("bind", syscall.EADDRINUSE)}
	wide := portRange{lo: 40000, hi: 49999}
	half := portRange{lo: 40000, hi: 40009, reserved: [][2]int{{40000, 40004}}}
	allReserved := portRange{lo: 40000, hi: 40009, reserved: [][2]int{{39000, 41000}}}
	ip := netip.MustParseAddr("127.0.0.1")
	for _, tc := range []struct {
		name      string
		ports     portRange
		namedFail int   // how many named binds fail with EADDRINUSE
		anyErr    error // what a bind to port 0 returns
		wantPorts []int // the ports tried, 0 for the kernel's pick; -1 for any named port of the range
		wantErr   error
	}{
		{"a named port is free", wide, 0, nil, []int{-1}, nil},
		{"some named ports taken", wide, 3, nil, []int{-1, -1, -1, -1}, nil},
		{"every named port tried taken", wide, anyPortTries, nil, append(slices.Repeat([]int{-1}, anyPortTries), 0), nil},
		{"no port free at all", wide, anyPortTries, inUse, append(slices.Repeat([]int{-1}, anyPortTries), 0), inUse},
		{"reserved ports skipped", half, anyPortTries, nil, nil, nil}, // checked below
		{"every port reserved", allReserved, 0, nil, []int{0}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tried []int
			listen := func(network string, addr netip.AddrPort) (*net.TCPListener, error) {
				tried = append(tried, int(addr.Port()))
				if addr.Port() == 0 {
					if tc.anyErr != nil {
						return nil, tc.anyErr
					}
				} else if len(tried) <= tc.namedFail {
					return nil, inUse
				}
				return listenData(network, netip.AddrPortFrom(addr.Addr(), 0))
			}
			l, err := listenAnyPort("tcp4", ip, tc.ports, listen)
			if l != nil {
				l.Close()
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) || tc.wantErr == nil && (err != nil || l == nil) {
				t.Errorf("listenAnyPort = %v, %v; want error %v", l, err, tc.wantErr)
			}
			if tc.wantPorts == nil {
				// Every named bind fails, so each pick of the free half is
				// tried, then the kernel's pick; a reserved port never is.
				if len(tried) > anyPortTries+1 || tried[len(tried)-1] != 0 {
					t.Fatalf("tried %v", tried)
				}
				for _, p := range tried[:len(tried)-1] {
					if p < 40005 || p > 40009 {
						t.Errorf("tried port %d, which is reserved", p)
					}
				}
				return
			}
			if len(tried) != len(tc.wantPorts) {
				t.Fatalf("tried ports %v, want %d tries (%v)", tried, len(tc.wantPorts), tc.wantPorts)
			}
			for i, p := range tried {
				switch want := tc.wantPorts[i]; {
				case want == -1 && (p < tc.ports.lo || p > tc.ports.hi):
					t.Errorf("try %d: port %d, outside the range %d-%d", i, p, tc.ports.lo, tc.ports.hi)
				case want != -1 && p != want:
					t.Errorf("try %d: port %d, want %d", i, p, want)
				}
			}
		})
	}
}

// TestUnitParsePortSpans checks the reading of Linux's
// ip_local_reserved_ports.
func TestUnitParsePortSpans(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want [][2]int
	}{
		{"\n", nil},
		{"8080\n", [][2]int{{8080, 8080}}},
		{"8080,9000-9100\n", [][2]int{{8080, 8080}, {9000, 9100}}},
		{"x,9100-9000,7-8", [][2]int{{7, 8}}},
	} {
		if got := parsePortSpans(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("parsePortSpans(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestUnitEphemeralPorts checks the range read from the system is sane
// and, on Linux, is the system's setting.
func TestUnitEphemeralPorts(t *testing.T) {
	r := ephemeralPorts()
	if r.lo < 1 || r.hi > 65535 || r.lo > r.hi {
		t.Fatalf("ephemeral ports %d-%d", r.lo, r.hi)
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if got := fmt.Sprintf("%d %d", r.lo, r.hi); got != strings.Join(strings.Fields(string(b)), " ") {
			t.Errorf("ephemeral ports %s, but Linux's setting is %q", got, b)
		}
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_reserved_ports"); err == nil {
		if want := parsePortSpans(string(b)); !slices.Equal(r.reserved, want) {
			t.Errorf("reserved ports %v, but Linux's setting is %q", r.reserved, b)
		}
	}
}
