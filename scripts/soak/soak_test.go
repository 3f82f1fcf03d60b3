package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// testServer starts the engine in-process for cfg, or fails the test.
func testServer(t *testing.T, cfg *soakConfig) {
	t.Helper()
	cfg.dir = t.TempDir()
	stop, err := startServer(cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
}

// TestSoakShort runs a short soak against the engine: every operation
// succeeds and every file checks out on disk.
func TestSoakShort(t *testing.T) {
	cfg := &soakConfig{user: "u", pass: "p", clients: 4, duration: 2 * time.Second, maxSize: 256 << 10, seed: 1, timeout: 10 * time.Second}
	testServer(t, cfg)
	rep, err := runSoak(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.print(&b, cfg)
	t.Log("\n" + b.String())
	total := 0
	for _, n := range rep.ops {
		total += n
	}
	if !rep.ok() || total < 20 || rep.files == 0 || rep.ops["RETR"] == 0 || rep.ops["APPE"] == 0 {
		t.Errorf("soak: ok %v, %d operations, %d files checked", rep.ok(), total, rep.files)
	}
}

// TestSoakDetectsDamage checks that the final check fails when a file on
// disk is not what was stored, and when a stray file appears.
func TestSoakDetectsDamage(t *testing.T) {
	cfg := &soakConfig{user: "u", pass: "p", clients: 2, duration: 500 * time.Millisecond, maxSize: 64 << 10, seed: 2, timeout: 10 * time.Second}
	testServer(t, cfg)
	cfg.beforeCheck = func() {
		dirs, _ := filepath.Glob(filepath.Join(cfg.dir, "soak-*"))
		if len(dirs) == 0 {
			t.Fatal("no soak directories")
		}
		files, _ := filepath.Glob(filepath.Join(dirs[0], "*.bin"))
		if len(files) == 0 {
			t.Fatal("no files stored")
		}
		if err := os.WriteFile(files[0], []byte("damaged"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dirs[len(dirs)-1], "stray.bin"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := runSoak(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ok() || len(rep.mismatches) != 2 {
		t.Errorf("damage not detected: ok %v, mismatches %q", rep.ok(), rep.mismatches)
	}
}

// TestProbeSmall runs -memprobe's measurement with a few sessions against
// an in-process server.
func TestProbeSmall(t *testing.T) {
	cfg := &soakConfig{user: "u", pass: "p"}
	testServer(t, cfg)
	pc := &probeConfig{addr: cfg.addr, user: "u", pass: "p", pid: os.Getpid(), sessions: 50, logins: 10, timeout: 10 * time.Second}
	rep, err := runProbe(pc)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.print(&b)
	t.Log("\n" + b.String())
	if rep.failed != 0 || rep.loginLoaded.n != 10 || (runtime.GOOS == "linux" && rep.rssLoaded <= 0) {
		t.Errorf("probe: %+v", rep)
	}
}
