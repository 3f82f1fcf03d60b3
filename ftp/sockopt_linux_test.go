package ftp

import (
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestTuneDataConnLowWater checks that a data connection's unsent queue
// is capped, the setting that keeps many parallel downloads from flooding
// their receivers (see dataSendLowWater).
func TestTuneDataConnLowWater(t *testing.T) {
	l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.SetDeadline(time.Now().Add(5 * time.Second))
	client, err := net.DialTimeout("tcp", l.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := l.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	tuneDataConn(c)
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		got, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT)
	}); err != nil || gerr != nil {
		t.Fatalf("getsockopt TCP_NOTSENT_LOWAT: %v %v", err, gerr)
	}
	if got != dataSendLowWater {
		t.Errorf("TCP_NOTSENT_LOWAT = %d, want %d", got, dataSendLowWater)
	}
}
