// Command soak loads an FTP server with many clients doing mixed
// operations for a fixed time, then checks that no byte was lost: every
// file each client stored is on disk with the SHA-256 it recorded, and
// nothing else is there.
//
//	go run ./scripts/soak                                # in-process ftpshare engine, 20 clients, 30s
//	go run ./scripts/soak -clients 50 -duration 10m
//	go run ./scripts/soak -addr 127.0.0.1:2121 -user u -pass p -dir /srv/ftp/u
//
// Each client works in a directory of its own (soak-RUN-N) and loops over
// STOR of random-size files with unique names, RETR (sha256 compared),
// APPE, REST+RETR, NLST and LIST (compared with what it stored), MKD and
// RMD, RNFR and RNTO, DELE and SIZE. Any unexpected reply, short transfer
// or digest mismatch fails the run (exit status 1).
//
// With -memprobe N it measures instead what idle sessions cost: it starts
// the server in a child process (or uses -addr, with -pid for its memory),
// samples login latency, opens N logged-in sessions, and reports the
// server's RSS and the login latency with them open:
//
//	go run ./scripts/soak -memprobe 10000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		addr     = fs.String("addr", "", "server address; empty starts the ftpshare engine in this process (for -memprobe, in a child process)")
		user     = fs.String("user", "soak", "user name")
		pass     = fs.String("pass", "soak", "password")
		dir      = fs.String("dir", "", "the user's home on disk: checked at the end (with -addr), or served (without); default a temporary directory")
		clients  = fs.Int("clients", 20, "number of clients")
		duration = fs.Duration("duration", 30*time.Second, "how long the clients work")
		maxSize  = fs.Int64("maxsize", 4<<20, "largest file or appended segment, in bytes")
		seed     = fs.Uint64("seed", 0, "random seed (0: from the clock)")
		timeout  = fs.Duration("timeout", 30*time.Second, "deadline of every read and write")
		memprobe = fs.Int("memprobe", 0, "instead of the soak, open this many idle sessions and report the server's RSS and login latency")
		pid      = fs.Int("pid", 0, "with -addr and -memprobe: the server's process id, to read its RSS")
		serve    = fs.Bool("serve", false, "only serve (used by -memprobe for its child process): print the address, stop when stdin closes")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *clients < 1 || *duration <= 0 || *maxSize < 0 || *memprobe < 0 {
		fmt.Fprintln(stderr, "soak: bad arguments; see -h")
		return 2
	}
	if *serve {
		if err := serveChild(*user, *pass, stdout); err != nil {
			fmt.Fprintln(stderr, "soak:", err)
			return 1
		}
		return 0
	}
	if *memprobe > 0 {
		cfg := &probeConfig{addr: *addr, user: *user, pass: *pass, pid: *pid, sessions: *memprobe, logins: 200, timeout: *timeout, settle: 3 * time.Second, out: stdout}
		rep, err := runProbe(cfg)
		if err != nil {
			fmt.Fprintln(stderr, "soak:", err)
			return 1
		}
		rep.print(stdout)
		if rep.failed > 0 {
			return 1
		}
		return 0
	}

	cfg := &soakConfig{
		addr: *addr, user: *user, pass: *pass, dir: *dir,
		clients: *clients, duration: *duration, maxSize: *maxSize, seed: *seed, timeout: *timeout,
		progress: stderr,
	}
	if cfg.seed == 0 {
		cfg.seed = uint64(time.Now().UnixNano())
	}
	where := "server at " + cfg.addr
	if cfg.addr == "" {
		stop, err := startServer(cfg, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "soak:", err)
			return 1
		}
		defer stop()
		where = "the ftpshare engine in this process, at " + cfg.addr + ", serving " + cfg.dir
	}
	// A last resort: a soak that outlives every deadline it set is stuck.
	watchdog := time.AfterFunc(*duration+10**timeout+time.Minute, func() {
		debug.SetTraceback("all")
		panic("soak: watchdog: still running long after the deadline")
	})
	defer watchdog.Stop()

	fmt.Fprintf(stdout, "soak: %d clients for %v against %s (seed %d)\n", cfg.clients, cfg.duration, where, cfg.seed)
	rep, err := runSoak(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(stderr, "soak:", err)
		return 1
	}
	rep.print(stdout, cfg)
	if !rep.ok() {
		return 1
	}
	return 0
}

// startServer starts the engine on 127.0.0.1 for cfg.user, serving
// cfg.dir (a new temporary directory if empty), and sets cfg.addr.
func startServer(cfg *soakConfig, logw io.Writer) (stop func(), err error) {
	tmp := ""
	if cfg.dir == "" {
		if tmp, err = os.MkdirTemp("", "soak-"); err != nil {
			return nil, err
		}
		cfg.dir = tmp
	}
	srv, l, err := newServer(cfg.user, cfg.pass, cfg.dir, logw)
	if err != nil {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
		return nil, err
	}
	cfg.addr = l.Addr().String()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		srv.Close()
		<-done
		if tmp != "" {
			os.RemoveAll(tmp)
		}
	}, nil
}

// newServer makes a server without connection limits (the soak and the
// probe open many sessions from one address) for one user.
func newServer(user, pass, dir string, logw io.Writer) (*ftp.Server, net.Listener, error) {
	users := ftp.NewUsers()
	if err := users.Add(user, pass, dir, ftp.Permissions{Default: ftp.PermAll}); err != nil {
		return nil, nil, err
	}
	srv := &ftp.Server{
		Auth:                  users,
		MaxConns:              -1,
		MaxConnsPerIP:         -1,
		MaxLoginFailuresPerIP: -1,
		IdleTimeout:           -1,
		Logger:                slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	return srv, l, nil
}

// serveChild is the -serve mode: a server in its own process, so that
// -memprobe measures the server's memory alone.
func serveChild(user, pass string, stdout io.Writer) error {
	dir, err := os.MkdirTemp("", "soak-serve-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, l, err := newServer(user, pass, dir, os.Stderr)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "ADDR", l.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	io.Copy(io.Discard, os.Stdin) // until the parent closes it
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	srv.Close()
	if err := <-done; !errors.Is(err, ftp.ErrServerClosed) {
		return err
	}
	return nil
}

func (r *soakReport) print(w io.Writer, cfg *soakConfig) {
	fmt.Fprintf(w, "%-10s %8s %6s\n", "operation", "done", "failed")
	total := 0
	for _, op := range opNames {
		if r.ops[op] == 0 && r.fails[op] == 0 {
			continue
		}
		total += r.ops[op]
		fmt.Fprintf(w, "%-10s %8d %6d\n", op, r.ops[op], r.fails[op])
	}
	secs := r.elapsed.Seconds()
	fmt.Fprintf(w, "%d operations in %.1fs (%.0f/s); uploaded %s (%s/s), downloaded %s (%s/s)\n",
		total, secs, float64(total)/secs, size(r.up), size(int64(float64(r.up)/secs)), size(r.down), size(int64(float64(r.down)/secs)))
	how := "on disk"
	if cfg.dir == "" {
		how = "by RETR"
	}
	fmt.Fprintf(w, "checked %d files %s against their recorded sha256: %d mismatches\n", r.files, how, len(r.mismatches))
	for _, e := range r.errs {
		fmt.Fprintln(w, "  failure:", e)
	}
	for i, m := range r.mismatches {
		if i == 20 {
			fmt.Fprintf(w, "  ... and %d more mismatches\n", len(r.mismatches)-20)
			break
		}
		fmt.Fprintln(w, "  mismatch:", m)
	}
	if r.ok() {
		fmt.Fprintln(w, "PASS")
	} else {
		fmt.Fprintln(w, "FAIL")
	}
}
