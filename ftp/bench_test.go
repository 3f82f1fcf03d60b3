package ftp_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

// benchConn is a minimal client for benchmarks: it must cost little, so
// that the figures are the server's.
type benchConn struct {
	b    testing.TB
	addr string
	c    net.Conn
	r    *bufio.Reader
}

func benchDial(b testing.TB, addr string) *benchConn {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	bc := &benchConn{b: b, addr: addr, c: c, r: bufio.NewReader(c)}
	bc.expect(220)
	bc.cmd("USER "+ftptest.User, 331)
	bc.cmd("PASS "+ftptest.Password, 230)
	bc.cmd("TYPE I", 200)
	return bc
}

func (bc *benchConn) expect(code int) string {
	bc.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		line, err := bc.r.ReadString('\n')
		if err != nil {
			bc.b.Fatalf("read reply: %v", err)
		}
		if len(line) >= 4 && line[3] == ' ' {
			if got, _ := strconv.Atoi(line[:3]); got != code {
				bc.b.Fatalf("got %q, want %d", line, code)
			}
			return line
		}
	}
}

func (bc *benchConn) cmd(line string, code int) string {
	bc.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(bc.c, line+"\r\n"); err != nil {
		bc.b.Fatal(err)
	}
	return bc.expect(code)
}

// pasv opens a passive data connection.
func (bc *benchConn) pasv() net.Conn {
	reply := bc.cmd("EPSV", 229)
	port := reply[strings.Index(reply, "|||")+3 : strings.LastIndex(reply, "|")]
	host, _, _ := net.SplitHostPort(bc.addr)
	dc, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), 5*time.Second)
	if err != nil {
		bc.b.Fatal(err)
	}
	dc.SetDeadline(time.Now().Add(60 * time.Second))
	return dc
}

func benchSizes() []int64 { return []int64{1 << 20, 64 << 20} }

// BenchmarkRETR downloads a file over loopback (sendfile on Linux). Equal
// allocs/op for 1 MiB and 64 MiB show the copy allocates nothing per chunk.
func BenchmarkRETR(b *testing.B) {
	for _, size := range benchSizes() {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			srv := ftptest.NewServer(b)
			f, _ := os.Create(filepath.Join(srv.Dir, "f"))
			f.Truncate(size)
			f.Close()
			bc := benchDial(b, srv.Addr)
			buf := make([]byte, 1<<20)
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				dc := bc.pasv()
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

// readAll reads r to EOF through buf (io.Discard would read 8 KiB at a time).
func readAll(r io.Reader, buf []byte) (int64, error) {
	var n int64
	for {
		m, err := r.Read(buf)
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// zeroReader yields zeros without touching memory twice.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { return len(p), nil }

// BenchmarkSTOR uploads a file over loopback (splice on Linux).
func BenchmarkSTOR(b *testing.B) {
	for _, size := range benchSizes() {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			srv := ftptest.NewServer(b)
			bc := benchDial(b, srv.Addr)
			buf := make([]byte, 1<<20)
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				dc := bc.pasv()
				bc.cmd("STOR f", 150)
				n, err := io.CopyBuffer(dc, io.LimitReader(zeroReader{}, size), buf)
				dc.Close()
				if err != nil || n != size {
					b.Fatalf("sent %d bytes, %v", n, err)
				}
				bc.expect(226)
			}
		})
	}
}

// BenchmarkLogin times a whole session as the login latency rows of
// scripts/ftpbench see it: connect, greeting, USER, PASS, QUIT. Its
// allocations are the engine's per-session cost (the client reads into one
// fixed buffer; net.Dial's few allocations are the rest), which decides
// how often the garbage collector runs while clients come and go.
func BenchmarkLogin(b *testing.B) {
	srv := ftptest.NewServer(b)
	buf := make([]byte, 512)
	exchange := func(c net.Conn, line string, code string) {
		if line != "" {
			if _, err := io.WriteString(c, line); err != nil {
				b.Fatal(err)
			}
		}
		n := 0
		for n == 0 || buf[n-1] != '\n' {
			m, err := c.Read(buf[n:])
			if err != nil {
				b.Fatalf("after %q: %v", line, err)
			}
			n += m
		}
		if !strings.HasPrefix(string(buf[:n]), code) {
			b.Fatalf("after %q: got %q, want %s", line, buf[:n], code)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		c, err := net.DialTimeout("tcp", srv.Addr, 5*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		exchange(c, "", "220 ")
		exchange(c, "USER "+ftptest.User+"\r\n", "331 ")
		exchange(c, "PASS "+ftptest.Password+"\r\n", "230 ")
		exchange(c, "QUIT\r\n", "221 ")
		c.Close()
	}
}
