package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// probeConfig says what -memprobe measures.
type probeConfig struct {
	addr       string // the server; empty starts one in a child process
	user, pass string
	pid        int // the server's process, for its RSS; 0 for none
	sessions   int // idle logged-in sessions to open
	logins     int // logins per latency sample
	timeout    time.Duration
	settle     time.Duration // pause before each RSS reading
	out        io.Writer     // progress; nil for none
}

// latency summarises a sample of durations.
type latency struct {
	n             int
	p50, p99, max time.Duration
}

func summarise(d []time.Duration) latency {
	if len(d) == 0 {
		return latency{}
	}
	slices.Sort(d)
	return latency{len(d), d[len(d)/2], d[min(len(d)-1, len(d)*99/100)], d[len(d)-1]}
}

func (l latency) String() string {
	return fmt.Sprintf("p50 %v, p99 %v, max %v (%d samples)", l.p50.Round(10*time.Microsecond), l.p99.Round(10*time.Microsecond), l.max.Round(10*time.Microsecond), l.n)
}

// probeReport is what -memprobe found.
type probeReport struct {
	sessions           int
	opened             time.Duration // time to open and log in all sessions
	rssBase, rssLoaded int64         // KiB; -1 when unknown
	loginIdle          latency       // logins with no session open
	loginLoaded        latency       // logins with the sessions open
	noopLoaded         latency       // NOOP on random idle sessions
	failed             int           // idle sessions that did not answer at the end
}

func (r *probeReport) print(w io.Writer) {
	fmt.Fprintf(w, "memprobe: %d idle logged-in sessions opened in %v\n", r.sessions, r.opened.Round(time.Millisecond))
	if r.rssBase >= 0 && r.rssLoaded >= 0 {
		per := float64(r.rssLoaded-r.rssBase) / float64(r.sessions)
		fmt.Fprintf(w, "server RSS: %.1f MiB before, %.1f MiB with the sessions open: %.1f KiB per session\n",
			float64(r.rssBase)/1024, float64(r.rssLoaded)/1024, per)
	} else {
		fmt.Fprintln(w, "server RSS: unknown (give -pid, on Linux)")
	}
	fmt.Fprintf(w, "%-44s %v\n", "login (connect, USER, PASS), no session open:", r.loginIdle)
	fmt.Fprintf(w, "%-44s %v\n", fmt.Sprintf("login with %d sessions open:", r.sessions), r.loginLoaded)
	fmt.Fprintf(w, "%-44s %v\n", fmt.Sprintf("NOOP on an idle session, %d open:", r.sessions), r.noopLoaded)
	if r.failed > 0 {
		fmt.Fprintf(w, "FAIL: %d idle sessions did not answer NOOP at the end\n", r.failed)
	} else {
		fmt.Fprintln(w, "all idle sessions still answered at the end")
	}
}

// runProbe opens cfg.sessions idle logged-in sessions and measures the
// server's memory and login latency before and with them.
func runProbe(cfg *probeConfig) (*probeReport, error) {
	if cfg.addr == "" {
		addr, pid, stop, err := startChild(cfg.user, cfg.pass)
		if err != nil {
			return nil, err
		}
		defer stop()
		cfg.addr, cfg.pid = addr, pid
	}
	progress := func(format string, args ...any) {
		if cfg.out != nil {
			fmt.Fprintf(cfg.out, "memprobe: "+format+"\n", args...)
		}
	}
	rep := &probeReport{sessions: cfg.sessions}
	var err error
	if rep.loginIdle, err = sampleLogins(cfg, cfg.logins); err != nil {
		return nil, err
	}
	time.Sleep(cfg.settle / 3)
	rep.rssBase = readRSS(cfg.pid)

	progress("opening %d sessions", cfg.sessions)
	start := time.Now()
	idle := make([]*client, cfg.sessions)
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(idle) {
					return
				}
				c, err := login(cfg.addr, cfg.user, cfg.pass, connOptions{timeout: cfg.timeout})
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("session %d: %w", i, err)
					}
					mu.Unlock()
					return
				}
				idle[i] = c
			}
		}()
	}
	wg.Wait()
	defer func() {
		for _, c := range idle {
			if c != nil {
				c.close()
			}
		}
	}()
	if firstErr != nil {
		return nil, firstErr
	}
	rep.opened = time.Since(start)
	progress("opened in %v; letting the server settle", rep.opened.Round(time.Millisecond))
	time.Sleep(cfg.settle)
	rep.rssLoaded = readRSS(cfg.pid)
	if rep.loginLoaded, err = sampleLogins(cfg, cfg.logins); err != nil {
		return nil, err
	}
	var noops []time.Duration
	for range cfg.logins {
		c := idle[rand.IntN(len(idle))]
		t := time.Now()
		if _, err := c.expect("NOOP", 200); err != nil {
			return nil, err
		}
		noops = append(noops, time.Since(t))
	}
	rep.noopLoaded = summarise(noops)
	var failed atomic.Int64
	next.Store(0)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(idle) {
					return
				}
				if _, err := idle[i].expect("NOOP", 200); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	rep.failed = int(failed.Load())
	return rep, nil
}

// sampleLogins times n logins (connect, greeting, USER, PASS), one after
// the other.
func sampleLogins(cfg *probeConfig, n int) (latency, error) {
	var d []time.Duration
	for range n {
		t := time.Now()
		c, err := login(cfg.addr, cfg.user, cfg.pass, connOptions{timeout: cfg.timeout})
		if err != nil {
			return latency{}, err
		}
		d = append(d, time.Since(t))
		c.expect("QUIT", 221)
		c.close()
	}
	return summarise(d), nil
}

// readRSS returns the resident set size of process pid in KiB, from
// /proc, or -1.
func readRSS(pid int) int64 {
	if pid <= 0 || runtime.GOOS != "linux" {
		return -1
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := strings.Fields(string(rest))
			if len(f) > 0 {
				if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return n
				}
			}
		}
	}
	return -1
}

// startChild runs this program with -serve and returns the address it
// prints, its process id, and a function that stops it.
func startChild(user, pass string) (addr string, pid int, stop func(), err error) {
	exe, err := os.Executable()
	if err != nil {
		return "", 0, nil, err
	}
	cmd := exec.Command(exe, "-serve", "-user", user, "-pass", pass)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", 0, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", 0, nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", 0, nil, err
	}
	stop = func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
		io.Copy(io.Discard, stdout)
	}()
	select {
	case s := <-line:
		if a, ok := strings.CutPrefix(strings.TrimSpace(s), "ADDR "); ok {
			return a, cmd.Process.Pid, stop, nil
		}
		stop()
		return "", 0, nil, fmt.Errorf("child server said %q", s)
	case <-time.After(30 * time.Second):
		stop()
		return "", 0, nil, errors.New("child server did not start")
	}
}
