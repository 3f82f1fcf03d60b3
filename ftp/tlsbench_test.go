package ftp_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

// tlsTBenchServer starts a server with TLS and the engine's defaults (no
// handshake recorder: it would cost per operation).
func tlsTBenchServer(b *testing.B) *ftptest.Server {
	cfg := tlsTServerConfig(b)
	return ftptest.NewServer(b, tlsTSet(func(s *ftp.Server) { s.TLSConfig = cfg }))
}

// tlsTBenchDial logs in over explicit TLS with PROT P, with a client that
// resumes sessions (as curl, lftp and FileZilla do), and returns the
// benchmark connection and the client's configuration for data.
func tlsTBenchDial(b *testing.B, srv *ftptest.Server) (*benchConn, *tls.Config) {
	cfg := tlsTClientConfig(b, true)
	bc := &benchConn{b: b, addr: srv.Addr}
	raw := dialRaw(b, srv.Addr)
	c := tlsTAuth(b, raw, "TLS", cfg)
	bc.c, bc.r = c.conn, bufio.NewReader(c.conn)
	bc.cmd("USER "+ftptest.User, 331)
	bc.cmd("PASS "+ftptest.Password, 230)
	bc.cmd("TYPE I", 200)
	bc.cmd("PBSZ 0", 200)
	bc.cmd("PROT P", 200)
	return bc, cfg
}

// BenchmarkRETRTLS downloads a file under PROT P: the user-space copy
// through TLS (no sendfile). The figures include the Go TLS client's
// work, which runs in the same process. Equal allocs/op for 1 MiB and
// 64 MiB show that neither side allocates per chunk.
func BenchmarkRETRTLS(b *testing.B) {
	for _, size := range benchSizes() {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			srv := tlsTBenchServer(b)
			f, err := os.Create(filepath.Join(srv.Dir, "f"))
			if err != nil {
				b.Fatal(err)
			}
			f.Truncate(size)
			f.Close()
			bc, cfg := tlsTBenchDial(b, srv)
			buf := make([]byte, 1<<20)
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				dc := tls.Client(bc.pasv(), cfg)
				bc.cmd("RETR f", 150)
				n, err := readAll(dc, buf)
				dc.Close()
				if err != nil || n != size {
					b.Fatalf("got %d bytes, %v", n, err)
				}
				bc.expect(226)
			}
		})
	}
}

// BenchmarkSTORTLS uploads a file under PROT P.
func BenchmarkSTORTLS(b *testing.B) {
	for _, size := range benchSizes() {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			srv := tlsTBenchServer(b)
			bc, cfg := tlsTBenchDial(b, srv)
			buf := make([]byte, 1<<20)
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				dc := tls.Client(bc.pasv(), cfg)
				bc.cmd("STOR f", 150)
				dc.SetDeadline(time.Now().Add(time.Minute))
				n, err := io.CopyBuffer(dc, io.LimitReader(zeroReader{}, size), buf)
				if err == nil {
					err = dc.Close() // close_notify, then the server answers
				}
				if err != nil || n != size {
					b.Fatalf("sent %d bytes, %v", n, err)
				}
				bc.expect(226)
			}
		})
	}
}
