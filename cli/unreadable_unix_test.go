//go:build unix

package cli_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestUnreadableDir checks that a DIR the process cannot read is a usage
// error. Root reads any directory, so as root (CI) the binary runs as
// nobody, from a copy that nobody may execute.
func TestUnreadableDir(t *testing.T) {
	dir := t.TempDir()
	// nobody must reach the copied binary: open the test's temporary
	// directory and its parent (both 0700, both made for this test).
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	locked := filepath.Join(dir, "locked")
	if err := os.Mkdir(locked, 0); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(locked, 0o755)
	bin := ftpshare(t)
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		bin = filepath.Join(dir, "ftpshare")
		copyExecutable(t, ftpshare(t), bin)
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, locked)
	cmd.Env = testEnv(t, "HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), "cannot be read") {
		t.Errorf("run as %v: %v, stderr %q; want exit 2 and cannot be read", cred, err, stderr.String())
	}
}

func copyExecutable(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
