//go:build !windows

package cli_test

import (
	"io"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// SIGTERM during a download: new connections are refused, the transfer
// finishes byte-exact within the grace period, the idle session is told
// 421, and the process exits 0.
func TestSIGTERMDuringTransfer(t *testing.T) {
	dir := t.TempDir()
	data := randomBytes(1_500_000)
	write(t, filepath.Join(dir, "big.bin"), data)
	p := start(t, nil, "--max-download-rate", "1MB", "--grace-period", "10s", dir)

	c := dial(t, p.Addr())
	c.login("anonymous", "x")
	d := c.epsv()
	defer d.Close()
	d.SetDeadline(time.Now().Add(20 * time.Second))
	c.expect(150, "RETR big.bin")
	got := make([]byte, 0, len(data))
	buf := make([]byte, 64<<10)
	for len(got) < 100_000 {
		n, err := d.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("read before SIGTERM: %v", err)
		}
	}
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.event("stopping", ioTimeout)

	// The listener is closed: a new connection fails or is told 421.
	if nc, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		nc.SetReadDeadline(time.Now().Add(ioTimeout))
		line, _ := io.ReadAll(io.LimitReader(nc, 100))
		nc.Close()
		if len(line) > 0 && string(line[:3]) != "421" {
			t.Errorf("new connection after SIGTERM was greeted %q", line)
		}
	}

	rest, err := io.ReadAll(d)
	if err != nil {
		t.Fatalf("read after SIGTERM: %v", err)
	}
	got = append(got, rest...)
	if sum(got) != sum(data) {
		t.Fatalf("download after SIGTERM: %d bytes, sha256 %s; want %d bytes, %s", len(got), sum(got), len(data), sum(data))
	}
	if time.Since(sent) < 500*time.Millisecond {
		t.Errorf("the transfer ended %v after SIGTERM: too fast for the rate limit, was it cut?", time.Since(sent))
	}
	if code, msg := c.read(); code != 226 {
		t.Errorf("after the transfer: %d %s, want 226", code, msg)
	}
	if code, msg := c.read(); code != 421 {
		t.Errorf("after 226: %d %s, want 421 (shutting down)", code, msg)
	}
	if code := p.wait(10 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	p.event("stopped", ioTimeout)
}

// A transfer still running when the grace period ends is cut, and the
// process still exits 0, promptly.
func TestGracePeriodEnds(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "big.bin"), randomBytes(3_000_000))
	p := start(t, nil, "--max-download-rate", "500KB", "--grace-period", "300ms", dir)
	c := dial(t, p.Addr())
	c.login("anonymous", "x")
	d := c.epsv()
	defer d.Close()
	c.expect(150, "RETR big.bin")
	if _, err := io.ReadFull(d, make([]byte, 10_000)); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(10 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if d := time.Since(sent); d > 3*time.Second {
		t.Errorf("exited %v after SIGTERM with a 300ms grace period", d)
	}
	n, _ := io.Copy(io.Discard, d)
	if n+10_000 >= 3_000_000 {
		t.Errorf("the whole file arrived; the transfer should have been cut")
	}
}

// SIGINT with an idle session: 421 to the client, exit 0 at once. A
// second signal is not needed.
func TestSIGINTIdleSession(t *testing.T) {
	p := start(t, nil, shareDir(t))
	c := dial(t, p.Addr())
	c.login("anonymous", "x")
	p.cmd.Process.Signal(syscall.SIGINT)
	if code, msg := c.read(); code != 421 {
		t.Errorf("idle session: %d %s, want 421", code, msg)
	}
	if code := p.wait(5 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

// A second signal during the grace period stops at once.
func TestSecondSignalStopsAtOnce(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "big.bin"), randomBytes(3_000_000))
	p := start(t, nil, "--max-download-rate", "500KB", "--grace-period", "1m", dir)
	c := dial(t, p.Addr())
	c.login("anonymous", "x")
	d := c.epsv()
	defer d.Close()
	c.expect(150, "RETR big.bin")
	if _, err := io.ReadFull(d, make([]byte, 10_000)); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.event("stopping", ioTimeout)
	p.cmd.Process.Signal(syscall.SIGINT)
	if code := p.wait(5 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

// A script that reads the first line and stops the server at once gets a
// clean stop.
func TestSIGTERMRightAfterFirstLine(t *testing.T) {
	for i := 0; i < 3; i++ {
		p := start(t, nil, shareDir(t))
		p.cmd.Process.Signal(syscall.SIGTERM)
		if code := p.wait(5 * time.Second); code != 0 {
			t.Fatalf("exit code %d, want 0", code)
		}
	}
}
