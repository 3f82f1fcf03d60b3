package ftp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestUnitListenAnyPortFallback checks the passive listener's way out when
// the kernel finds no free ephemeral port: named ports of the ephemeral
// range, a bounded number of them, and only for EADDRINUSE.
func TestUnitListenAnyPortFallback(t *testing.T) {
	inUse := &net.OpError{Op: "listen", Net: "tcp4", Err: os.NewSyscallError("bind", syscall.EADDRINUSE)}
	denied := &net.OpError{Op: "listen", Net: "tcp4", Err: os.NewSyscallError("bind", syscall.EACCES)}
	lo, hi := ephemeralPorts()
	ip := netip.MustParseAddr("127.0.0.1")
	for _, tc := range []struct {
		name      string
		anyErr    error // what a bind to port 0 returns
		namedOK   bool  // whether binds to named ports succeed
		wantCalls int
		wantErr   error
	}{
		{"kernel picks a port", nil, true, 1, nil},
		{"ephemeral ports used up", inUse, true, 2, nil},
		{"every port used up", inUse, false, 1 + anyPortTries, inUse},
		{"another error", denied, true, 1, denied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			var named []int
			listen := func(network string, addr netip.AddrPort) (*net.TCPListener, error) {
				calls++
				if addr.Port() == 0 {
					if tc.anyErr != nil {
						return nil, tc.anyErr
					}
				} else {
					named = append(named, int(addr.Port()))
					if !tc.namedOK {
						return nil, inUse
					}
				}
				return listenData(network, netip.AddrPortFrom(addr.Addr(), 0))
			}
			l, err := listenAnyPort("tcp4", ip, listen)
			if l != nil {
				l.Close()
			}
			if calls != tc.wantCalls {
				t.Errorf("%d binds, want %d", calls, tc.wantCalls)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) || tc.wantErr == nil && (err != nil || l == nil) {
				t.Errorf("listenAnyPort = %v, %v; want error %v", l, err, tc.wantErr)
			}
			for _, p := range named {
				if p < lo || p > hi {
					t.Errorf("tried port %d, outside the ephemeral range %d-%d", p, lo, hi)
				}
			}
		})
	}
}

// TestUnitEphemeralPorts checks the range read from the system is sane.
func TestUnitEphemeralPorts(t *testing.T) {
	lo, hi := ephemeralPorts()
	if lo < 1 || hi > 65535 || lo > hi {
		t.Fatalf("ephemeral ports %d-%d", lo, hi)
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if got := fmt.Sprintf("%d %d", lo, hi); got != strings.Join(strings.Fields(string(b)), " ") {
			t.Errorf("ephemeral ports %s, but Linux's setting is %q", got, b)
		}
	}
}
