package ftp

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/big"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// unitWriteCounter counts the writes reaching a connection.
type unitWriteCounter struct {
	net.Conn
	writes atomic.Int64
}

func (c *unitWriteCounter) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// unitTLSPair returns a TLS server connection over a dataWire over a
// write counter, its handshaken client peer, and the counter.
func unitTLSPair(t *testing.T) (*tls.Conn, *tls.Conn, *unitWriteCounter) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"ftp.test"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	deadline := time.Now().Add(10 * time.Second)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	counter := &unitWriteCounter{Conn: a}
	srv := tls.Server(&dataWire{Conn: counter}, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	cli := tls.Client(b, &tls.Config{InsecureSkipVerify: true})
	errc := make(chan error, 1)
	go func() { errc <- cli.Handshake() }()
	if err := srv.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return srv, cli, counter
}

// TestUnitTLSDownloadBatchesRecords: a TLS download sends each piece of
// writeCounted in one write(2), not one per record, and the bytes the
// client decrypts are the bytes sent. The stall watchdog's count moves
// by what went out.
func TestUnitTLSDownloadBatchesRecords(t *testing.T) {
	for _, size := range []int{1, 16 << 10, writePiece, writePiece + 1, 5*writePiece - 7} {
		srv, cli, counter := unitTLSPair(t)
		data := make([]byte, size)
		rand.Read(data)
		got := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(io.LimitReader(cli, int64(size)))
			got <- b
		}()
		counter.writes.Store(0)
		var moved atomic.Int64
		if err := writeCounted(srv, wireOf(srv), data, &moved); err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		b := <-got
		if sha256.Sum256(b) != sha256.Sum256(data) {
			t.Fatalf("%d bytes: the client got %d bytes that differ", size, len(b))
		}
		pieces := int64((size + writePiece - 1) / writePiece)
		if n := counter.writes.Load(); n != pieces {
			t.Errorf("%d bytes: %d writes reached the socket, want %d (one per piece)", size, n, pieces)
		}
		if moved.Load() != int64(size) {
			t.Errorf("%d bytes: %d counted as moved", size, moved.Load())
		}
	}
}

// TestUnitDataWireCloseDuringBatch: an ABOR closes the TLS connection
// from another goroutine while a download writes; close_notify and the
// records must not race (the race detector watches) and the writer ends.
func TestUnitDataWireCloseDuringBatch(t *testing.T) {
	srv, cli, _ := unitTLSPair(t)
	go io.Copy(io.Discard, cli)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var moved atomic.Int64
		data := bytes.Repeat([]byte("x"), writePiece)
		for range 1000 {
			if writeCounted(srv, wireOf(srv), data, &moved) != nil {
				return
			}
		}
	}()
	time.Sleep(5 * time.Millisecond)
	srv.Close()
	wg.Wait()
}

// TestUnitDataWireEOF: an end of stream under TLS is recorded, so an
// upload cut without close_notify can be told from a complete one.
func TestUnitDataWireEOF(t *testing.T) {
	srv, cli, _ := unitTLSPair(t)
	go func() {
		cli.Write([]byte("part"))
		cli.NetConn().Close() // no close_notify
	}()
	io.ReadAll(srv)
	if !endedWithoutCloseNotify(srv) {
		t.Fatal("a TCP close without close_notify was not seen")
	}

	srv, cli, _ = unitTLSPair(t)
	go func() {
		cli.Write([]byte("all"))
		cli.Close() // close_notify first
	}()
	io.ReadAll(srv)
	if endedWithoutCloseNotify(srv) {
		t.Fatal("a close with close_notify was taken for a cut")
	}
}
