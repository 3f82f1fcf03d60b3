package ftp

import (
	"crypto/sha256"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// TestUnitSendFileToLowWater checks that the copy sets the socket's
// TCP_NOTSENT_LOWAT to what lowWater says, and still moves every byte.
func TestUnitSendFileToLowWater(t *testing.T) {
	f, want := sendfileSource(t, 3<<20+5, 0)
	server, client := sendfilePair(t)
	got := readAll(client)
	calls := 0
	n, err := sendFileTo(server, f, new(atomic.Bool), func() int { calls++; return 96 << 10 })
	if err != nil || n != int64(len(want)) {
		t.Fatalf("sendFileTo = %d, %v; want %d, nil", n, err, len(want))
	}
	if calls == 0 {
		t.Error("lowWater was never asked")
	}
	rc, err := server.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var lw int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		lw, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT)
	}); err != nil || gerr != nil {
		t.Fatalf("getsockopt TCP_NOTSENT_LOWAT: %v %v", err, gerr)
	}
	if lw != 96<<10 {
		t.Errorf("TCP_NOTSENT_LOWAT = %d, want %d", lw, 96<<10)
	}
	server.Close()
	if b := <-got; sha256.Sum256(b) != sha256.Sum256(want) {
		t.Fatalf("client got %d bytes that differ from the %d sent", len(b), len(want))
	}
}
