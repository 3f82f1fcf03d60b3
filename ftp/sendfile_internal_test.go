package ftp

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// sendfilePair returns both ends of a loopback TCP connection, each with
// a deadline so that no test can hang on it.
func sendfilePair(t *testing.T) (server *net.TCPConn, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	c.SetDeadline(deadline)
	client.SetDeadline(deadline)
	t.Cleanup(func() { c.Close(); client.Close() })
	return c.(*net.TCPConn), client
}

// sendfileSource writes size random bytes to a temporary file and opens
// it at offset.
func sendfileSource(t *testing.T, size, offset int64) (*os.File, []byte) {
	t.Helper()
	data := make([]byte, size)
	r := rand.NewChaCha8([32]byte{byte(size)})
	r.Read(data)
	p := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	return f, data[offset:]
}

// readAll reads the client end to EOF on another goroutine.
func readAll(client net.Conn) <-chan []byte {
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(client)
		got <- b
	}()
	return got
}

// TestUnitSendFileTo checks that the chunked sendfile moves exactly the
// bytes from the file's offset to its end, on both sides of the chunk
// size, and leaves the offset at the end (the watchdog's progress).
func TestUnitSendFileTo(t *testing.T) {
	const chunk = 256 << 10 // sendfileChunk on Linux
	for _, tc := range []struct {
		name         string
		size, offset int64
	}{
		{"empty", 0, 0},
		{"one byte", 1, 0},
		{"one chunk", chunk, 0},
		{"chunk and one", chunk + 1, 0},
		{"many chunks", 9*chunk + 12345, 0},
		{"from offset", 3*chunk + 7, chunk - 3},
		{"offset at end", 4096, 4096},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, want := sendfileSource(t, tc.size, tc.offset)
			server, client := sendfilePair(t)
			got := readAll(client)
			var stop atomic.Bool
			n, err := sendFileTo(server, f, &stop, nil)
			server.Close()
			if err != nil || n != int64(len(want)) {
				t.Fatalf("sendFileTo = %d, %v; want %d, nil", n, err, len(want))
			}
			b := <-got
			if sha256.Sum256(b) != sha256.Sum256(want) {
				t.Fatalf("client got %d bytes that differ from the %d sent", len(b), len(want))
			}
			if pos, _ := f.Seek(0, io.SeekCurrent); pos != tc.size {
				t.Errorf("file offset after the copy = %d, want %d", pos, tc.size)
			}
		})
	}
}

// TestUnitSendFileToPipe checks the fallback for sources sendfile refuses:
// a pipe is an *os.File that sendfile(2) answers with EINVAL.
func TestUnitSendFileToPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want := bytes.Repeat([]byte("pipe data\n"), 50000)
	go func() {
		w.Write(want)
		w.Close()
	}()
	server, client := sendfilePair(t)
	got := readAll(client)
	n, err := sendFileTo(server, r, new(atomic.Bool), nil)
	server.Close()
	if err != nil || n != int64(len(want)) {
		t.Fatalf("sendFileTo(pipe) = %d, %v; want %d, nil", n, err, len(want))
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("client got %d bytes, want the %d written to the pipe", len(b), len(want))
	}
}

// TestUnitSendFileToStalls checks that a client that stops reading makes
// the copy fail with the connection's write deadline, not hang, and that
// the stop flag ends a copy between chunks.
func TestUnitSendFileToStalls(t *testing.T) {
	t.Run("deadline", func(t *testing.T) {
		f, _ := sendfileSource(t, 64<<20, 0)
		server, _ := sendfilePair(t) // the client never reads
		server.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := sendFileTo(server, f, new(atomic.Bool), nil)
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("sendFileTo to a stalled client = %d, %v; want a deadline error", n, err)
		}
		if n >= 64<<20 {
			t.Fatalf("sendFileTo wrote the whole file (%d bytes) to a client that never read", n)
		}
	})
	t.Run("stop", func(t *testing.T) {
		if runtime.GOOS != "linux" {
			t.Skip("only the Linux copy checks the stop flag between chunks; elsewhere closing the connection ends it")
		}
		f, _ := sendfileSource(t, 64<<20, 0)
		server, client := sendfilePair(t)
		var stop atomic.Bool
		stop.Store(true)
		got := readAll(client)
		n, err := sendFileTo(server, f, &stop, nil)
		server.Close()
		if !errors.Is(err, net.ErrClosed) || n != 0 {
			t.Fatalf("sendFileTo with stop set = %d, %v; want 0, net.ErrClosed", n, err)
		}
		if b := <-got; len(b) != 0 {
			t.Fatalf("client got %d bytes after the stop", len(b))
		}
	})
}

// TestUnitSendLowWater checks how the zero-copy downloads running at once
// share sendQueueBudget: uncapped while few run, an equal share beyond,
// and never below minSendLowWater.
func TestUnitSendLowWater(t *testing.T) {
	for _, tc := range []struct {
		downloads int32
		want      int
	}{
		{0, 0},
		{1, 0},
		{2, 2 << 20},
		{5, sendQueueBudget / 5},
		{16, 256 << 10},
		{64, 64 << 10},
		{300, minSendLowWater},
		{100000, minSendLowWater},
	} {
		if got := sendLowWater(tc.downloads); got != tc.want {
			t.Errorf("sendLowWater(%d) = %d, want %d", tc.downloads, got, tc.want)
		}
	}
}
