package ftp_test

// Load, bounded and on loopback: 2,000 connections at once from one
// address against the per-address limit, and logins that stay prompt
// while a thousand sessions sit idle. The 10,000-session figures (memory,
// login latency) come from "go run ./scripts/soak -memprobe 10000" and
// are in docs/hardening.md; the long mixed-operation soak is
// scripts/soak. These tests are not parallel: they use many file
// descriptors and measure time.

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

// hzParallel runs f(0..n-1) on at most width goroutines and returns the
// errors.
func hzParallel(n, width int, f func(i int) error) []error {
	var mu sync.Mutex
	var errs []error
	var next atomic.Int64
	var wg sync.WaitGroup
	for range width {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return errs
}

// hzFailErrs fails the test with the first of errs, or skips it when the
// process ran out of file descriptors (a limit of the machine).
func hzFailErrs(t *testing.T, what string, errs []error) {
	t.Helper()
	if len(errs) == 0 {
		return
	}
	if strings.Contains(errs[0].Error(), "too many open files") {
		t.Skipf("file descriptor limit too low for this test: %v", errs[0])
	}
	t.Fatalf("%d %s failed; first: %v", len(errs), what, errs[0])
}

// TestLoadManySessionsOneIP opens 2,000 connections from 127.0.0.1 at
// once against the default limits (32 per address): exactly 32 are
// greeted and stay usable, every other one gets "421 Too many connections
// from your IP address." and is closed at once; another address is still
// served, and places free up when sessions end.
func TestLoadManySessionsOneIP(t *testing.T) {
	const (
		total = 2000
		width = 200
	)
	srv := ftptest.NewServer(t) // MaxConns 512, MaxConnsPerIP 32
	var mu sync.Mutex
	var greeted []*rawConn
	var refused atomic.Int64
	start := time.Now()
	errs := hzParallel(total, width, func(i int) error {
		c, err := hzDial(t, srv.Addr, 10*time.Second)
		if err != nil {
			return err
		}
		r, err := c.readReply()
		switch {
		case err != nil:
			c.Close()
			return fmt.Errorf("connection %d: %w", i, err)
		case r.Code == 220:
			mu.Lock()
			greeted = append(greeted, c)
			mu.Unlock()
			return nil
		case r.Code == 421 && r.Text == "Too many connections from your IP address.":
			defer c.Close()
			if _, err := c.readReply(); err == nil {
				return fmt.Errorf("connection %d: a reply after the 421", i)
			}
			refused.Add(1)
			return nil
		}
		c.Close()
		return fmt.Errorf("connection %d: got %v", i, r)
	})
	hzFailErrs(t, "connections", errs)
	t.Logf("%d connections in %v: %d greeted, %d refused", total, time.Since(start).Round(time.Millisecond), len(greeted), refused.Load())
	if len(greeted) != ftp.DefaultMaxConnsPerIP || refused.Load() != total-ftp.DefaultMaxConnsPerIP {
		t.Fatalf("%d greeted and %d refused, want %d and %d", len(greeted), refused.Load(), ftp.DefaultMaxConnsPerIP, total-ftp.DefaultMaxConnsPerIP)
	}
	// The greeted sessions work.
	errs = hzParallel(len(greeted), 32, func(i int) error {
		c := greeted[i]
		if err := hzExpect(c, "USER "+ftptest.User, 331); err != nil {
			return err
		}
		return hzExpect(c, "PASS "+ftptest.Password, 230)
	})
	hzFailErrs(t, "logins", errs)
	// The limit is per address.
	if l, err := net.Listen("tcp4", "127.0.0.2:0"); err == nil {
		l.Close()
		other := dialRawFrom(t, srv.Addr, "127.0.0.2")
		if r := other.read(); r.Code != 220 {
			t.Errorf("connection from 127.0.0.2 while 127.0.0.1 is at its limit: %v", r)
		}
		other.Close()
	}
	// Places free up as sessions end.
	for _, c := range greeted[:4] {
		if err := hzExpect(c, "QUIT", 221); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	waitUntil(rawTimeout, func() bool {
		c, err := hzDial(t, srv.Addr, rawTimeout)
		if err != nil {
			return false
		}
		if r, err := c.readReply(); err == nil && r.Code == 220 {
			got++
			return got == 4
		}
		c.Close()
		return false
	})
	if got != 4 {
		t.Errorf("after 4 sessions ended, %d new connections were greeted, want 4", got)
	}
}

// TestLoadLoginsPromptWhileManyOpen opens 1,000 logged-in sessions that
// then sit idle, and checks that new logins stay prompt meanwhile (each
// under a second, the median under 100ms, even under -race on two cores)
// and that the idle sessions all still answer.
func TestLoadLoginsPromptWhileManyOpen(t *testing.T) {
	const (
		idle   = 1000
		logins = 30
	)
	srv := ftptest.NewServer(t, configure(func(s *ftp.Server) {
		s.MaxConns = -1
		s.MaxConnsPerIP = -1
	}))
	sessions := make([]*rawConn, idle)
	start := time.Now()
	errs := hzParallel(idle, 50, func(i int) error {
		c, err := hzDial(t, srv.Addr, 30*time.Second)
		if err != nil {
			return err
		}
		sessions[i] = c
		return hzLogin(c)
	})
	hzFailErrs(t, "idle sessions", errs)
	t.Logf("%d sessions logged in in %v", idle, time.Since(start).Round(time.Millisecond))
	var took []time.Duration
	for range logins {
		start := time.Now()
		c, err := hzDial(t, srv.Addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := hzLogin(c); err != nil {
			t.Fatal(err)
		}
		took = append(took, time.Since(start))
		if err := hzExpect(c, "QUIT", 221); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	slices.Sort(took)
	median, worst := took[len(took)/2], took[len(took)-1]
	t.Logf("with %d idle sessions open, %d logins: median %v, slowest %v", idle, logins, median, worst)
	if median > 100*time.Millisecond || worst > time.Second {
		t.Errorf("logins with %d sessions open: median %v, slowest %v; want under 100ms and 1s", idle, median, worst)
	}
	errs = hzParallel(idle, 50, func(i int) error { return hzExpect(sessions[i], "NOOP", 200) })
	hzFailErrs(t, "idle sessions", errs)
}
