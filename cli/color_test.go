//go:build linux

package cli_test

import (
	"bufio"
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// On a terminal (a pseudo-terminal made by script(1)) the banner is in
// colour, unless NO_COLOR is set.
func TestColourOnTerminal(t *testing.T) {
	script := requireClient(t, "script")
	dir := shareDir(t)
	for _, tt := range []struct {
		name   string
		env    []string
		colour bool
	}{
		{"terminal", nil, true},
		{"NO_COLOR", []string{"NO_COLOR=1"}, false},
		{"--no-color", []string{"FTPSHARE_NO_COLOR=true"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, script, "-qec", ftpshare(t)+" --bind 127.0.0.1 --port 0 "+dir, "/dev/null")
			cmd.Env = testEnv(t, tt.env...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				cmd.Wait()
			}()
			var banner strings.Builder
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				banner.WriteString(sc.Text() + "\n")
				if strings.Contains(sc.Text(), "Ctrl+C") {
					break
				}
			}
			if !strings.Contains(banner.String(), "ftp://127.0.0.1:") {
				t.Fatalf("no banner on the terminal:\n%q", banner.String())
			}
			if got := strings.Contains(banner.String(), "\x1b["); got != tt.colour {
				t.Errorf("colour codes: %v, want %v:\n%q", got, tt.colour, banner.String())
			}
		})
	}
}
