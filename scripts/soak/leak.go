package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Leak margins: what the server may hold after a run beyond what it held
// before, for things made once and kept (the engine's parker of idle
// sessions has an epoll descriptor and a goroutine, its sweeper of hot
// sessions a goroutine). A leak per interrupted transfer is far more.
const (
	fdMargin        = 4
	goroutineMargin = 4
	// leakSettle bounds the wait for the server to let go of everything
	// after the clients are gone.
	leakSettle = 5 * time.Second
)

// leakCheck compares the server's open file descriptors (Linux's
// /proc/PID/fd) and, for a server in this process, its goroutines after a
// run with before it.
type leakCheck struct {
	pid        int           // the server's process
	goroutines bool          // the server runs in this process: count goroutines too
	settle     time.Duration // the longest wait for the counts to come back; 0 for leakSettle
}

// leakSample is one count; -1 where unknown.
type leakSample struct{ fds, pipes, goroutines int }

func (l *leakCheck) sample() leakSample {
	s := leakSample{goroutines: -1}
	s.fds, s.pipes = countFDs(l.pid)
	if l.goroutines {
		s.goroutines = runtime.NumGoroutine()
	}
	return s
}

// countFDs counts the open file descriptors of process pid, and the pipes
// among them, or returns -1 where /proc cannot tell (not Linux).
func countFDs(pid int) (fds, pipes int) {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	d, err := os.Open(dir)
	if err != nil {
		return -1, -1
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return -1, -1
	}
	for _, n := range names {
		if t, err := os.Readlink(dir + "/" + n); err == nil && strings.HasPrefix(t, "pipe:") {
			pipes++
		}
	}
	if pid == os.Getpid() {
		return len(names) - 1, pipes // not the descriptor reading them
	}
	return len(names), pipes
}

// leakReport is what the check found.
type leakReport struct {
	before, after leakSample
	waited        time.Duration
	pid           int
	external      bool // the server is another process (pipes are not counted)
}

// fdsLeaked compares the descriptors. A server in another process is not
// made to collect garbage, so its pipes are left out: Go's zero-copy
// uploads (splice) keep pipes in a pool, closed only when the pool is
// collected, at the server's next garbage collection (at most two minutes
// away: the runtime forces one that often).
func (r *leakReport) fdsLeaked() bool {
	if r.before.fds < 0 {
		return false
	}
	if r.external {
		return r.after.fds-r.after.pipes > r.before.fds-r.before.pipes+fdMargin
	}
	return r.after.fds > r.before.fds+fdMargin
}

func (r *leakReport) goroutinesLeaked() bool {
	return r.before.goroutines >= 0 && r.after.goroutines > r.before.goroutines+goroutineMargin
}

func (r *leakReport) ok() bool { return !r.fdsLeaked() && !r.goroutinesLeaked() }

// checked reports whether anything was counted.
func (r *leakReport) checked() bool { return r.before.fds >= 0 || r.before.goroutines >= 0 }

// check samples again until the counts are back within the margins of
// base, or leakSettle has passed. A server in this process is made to
// collect garbage meanwhile: the splice pipes of zero-copy uploads wait
// in a pool, closed only when it is collected.
func (l *leakCheck) check(base leakSample) *leakReport {
	r := &leakReport{before: base, pid: l.pid, external: !l.goroutines}
	settle := l.settle
	if settle == 0 {
		settle = leakSettle
	}
	start := time.Now()
	for {
		if l.goroutines {
			runtime.GC()
		}
		r.after, r.waited = l.sample(), time.Since(start)
		if r.ok() || r.waited > settle {
			return r
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (r *leakReport) print(w io.Writer) {
	if !r.checked() {
		fmt.Fprintf(w, "leaks: not checked (no /proc/%d/fd)\n", r.pid)
		return
	}
	verdict := func(leaked bool) string {
		if leaked {
			return "LEAK"
		}
		return "ok"
	}
	if r.before.fds >= 0 {
		pipes := ""
		if r.external {
			pipes = fmt.Sprintf(", of which pipes %d and %d, not counted: Go's splice pool, closed at the server's next GC", r.before.pipes, r.after.pipes)
		}
		fmt.Fprintf(w, "server file descriptors (pid %d): %d before, %d after (margin %d%s): %s\n", r.pid, r.before.fds, r.after.fds, fdMargin, pipes, verdict(r.fdsLeaked()))
	}
	if r.before.goroutines >= 0 {
		fmt.Fprintf(w, "goroutines (server and soak in one process): %d before, %d after (margin %d): %s\n", r.before.goroutines, r.after.goroutines, goroutineMargin, verdict(r.goroutinesLeaked()))
	}
	fmt.Fprintf(w, "leaks checked %v after the clients left\n", r.waited.Round(time.Millisecond))
}
