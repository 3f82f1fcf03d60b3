package ftp

import (
	"crypto/sha256"
	"sync/atomic"
	"testing"
	"time"

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

// TestUnitSendFileToLoneStall checks the lone download's wait in poll(2):
// a Close from another goroutine (as ABOR and Shutdown do) or the stop
// flag still ends a copy whose client stopped reading, within moments.
func TestUnitSendFileToLoneStall(t *testing.T) {
	for _, how := range []string{"close", "stop"} {
		t.Run(how, func(t *testing.T) {
			f, _ := sendfileSource(t, 64<<20, 0)
			server, _ := sendfilePair(t) // the client never reads
			server.SetWriteDeadline(time.Now().Add(time.Minute))
			var stop atomic.Bool
			type result struct {
				n   int64
				err error
			}
			done := make(chan result, 1)
			go func() {
				n, err := sendFileTo(server, f, &stop, func() int { return 0 })
				done <- result{n, err}
			}()
			time.Sleep(200 * time.Millisecond) // the socket is full by now
			start := time.Now()
			if how == "close" {
				server.Close()
			} else {
				stop.Store(true)
				server.Close() // what abort does after setting the flag
			}
			select {
			case r := <-done:
				if r.err == nil || r.n >= 64<<20 {
					t.Fatalf("sendFileTo = %d, %v; want an error before the end of the file", r.n, r.err)
				}
				if took := time.Since(start); took > 2*time.Second {
					t.Errorf("the copy ended %v after the %s, want at most about %d ms", took, how, fullSocketPoll)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("the copy did not end within 10 s of the %s", how)
			}
		})
	}
}
