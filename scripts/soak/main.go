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
// By default data connections are passive (EPSV, and PASV one time in
// four) and in the clear. Flags widen that:
//
//   - -tls: every client sends AUTH TLS, PBSZ 0 and PROT P before USER,
//     and every data connection is TLS, resuming its control connection's
//     session from a cache of its own, as FileZilla and lftp do (a quarter
//     of the clients offer TLS 1.2 at most, the others TLS 1.3). The
//     in-process engine then gets a self-signed certificate and requires
//     TLS, session reuse and uploads that end with close_notify; against
//     -addr, start the server with FTPS (`ftpshare --tls
//     --tls-session-reuse --tls-close-notify`, say).
//   - -implicit: implicit FTPS, TLS from the first byte (as on port 990),
//     then PBSZ 0 and PROT P; it implies -tls. The in-process engine then
//     serves with ServeTLS; against -addr, give the server's implicit
//     port (`ftpshare --implicit-tls-port N`).
//   - -mode active: data connections in active mode. The client listens
//     on its control connection's address and sends PORT and EPRT in turn
//     (EPRT |2| over IPv6), then accepts the server's connection after
//     the 150 reply. -mode mixed picks passive or active at random for
//     each transfer; -mode pasv is the default.
//   - -ascii: some files are text (printable lines ending in LF) and about
//     half of their STOR, APPE and RETR go in TYPE A, with CRLF line ends
//     on the wire, which the server must store as LF and send back as
//     CRLF; the sha256 checks hold both forms to the byte.
//   - -from IP: the clients' own address. On loopback the clients and the
//     server otherwise share the ports of 127.0.0.1, and tens of thousands
//     of data connections a minute leave every one in TIME_WAIT; -from
//     127.0.0.2 (Linux) keeps the two apart, as on two machines. With an
//     IPv6 address (::1) the in-process engine listens on ::1, and the
//     clients use EPSV and EPRT only (PASV and PORT cannot name an IPv6
//     address).
//
// For example:
//
//	go run ./scripts/soak -tls -mode mixed -ascii -clients 50 -duration 60s
//	go run ./scripts/soak -addr 127.0.0.1:2121 -user u -pass p -dir /srv/ftp/u -tls -mode active
//
// With -chaos P, a share P of the STOR, APPE, RETR and LIST transfers
// (in TYPE I) are interrupted at a random point, as real clients do, in
// one of four ways chosen at random, and the exact replies of the engine
// are checked:
//
//   - ABOR (with the Telnet IP and Synch before it, in band, one time in
//     two): 426 from the transfer, then 226; a download the server had
//     finished gets its 226 instead, then 225 (no transfer to abort) or
//     226.
//   - the data connection reset (RST, as a client killed or cut off):
//     426; 226 for a download the server had finished; 425 in active
//     mode when the reset beats the server's connect(2).
//   - the control and data connections reset together; the client then
//     logs in again.
//   - QUIT, the transfer carried on to its end: the engine answers QUIT
//     only once the transfer has replied, so 226, then 221, then the
//     connection closes; the file is whole and recorded.
//
// After an interrupted upload the client trusts nothing of the file: it
// must be absent (STOR of a new name), or a prefix of the bytes sent
// (STOR), or its old content followed by a prefix of the segment (APPE),
// checked by RETR; then a STOR of the same name must succeed within 3s
// (the engine refuses, 450, an upload of a name while another runs, so a
// leaked upload lock would refuse it for ever).
//
// With the engine in process and without -chaos, the soak also counts the
// engine's transfer hooks: one FileReceived per STOR and APPE, one
// FileSent per RETR, none incomplete.
//
// After the clients leave, the soak checks for leaks: the number of open
// file descriptors of the server (Linux's /proc/PID/fd: the engine in
// this process, or -pid with -addr) and, in process, the goroutines must
// come back, within a few seconds, to within a small margin of their
// counts before the clients came. Pipes of a server in another process
// are left out: Go keeps the pipes of zero-copy uploads (splice) in a
// pool until its next garbage collection, which the soak cannot force.
//
//	go run ./scripts/soak -clients 50 -duration 60s -chaos 0.1
//	go run ./scripts/soak -addr 127.0.0.1:2121 -user u -pass p -dir /srv/ftp/u -pid 4242 -chaos 0.1
//
// The report counts each operation and how the data connections opened
// (EPSV, PASV, PORT, EPRT, TLS versions and resumptions, TYPE A), each
// interruption, and the leak checks.
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
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/share"
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
		implicit = fs.Bool("implicit", false, "implicit FTPS: TLS from the first byte, then PBSZ 0 and PROT P (implies -tls)")
		useTLS   = fs.Bool("tls", false, "FTPS: AUTH TLS, PBSZ 0 and PROT P on every control connection, TLS on every data connection (resuming the control connection's session)")
		mode     = fs.String("mode", modePassive, "data connections: pasv (EPSV or PASV), active (PORT or EPRT), or mixed (either, at random per transfer)")
		ascii    = fs.Bool("ascii", false, "some transfers of text files in TYPE A (CRLF on the wire, LF on disk)")
		from     = fs.String("from", "", "the clients' own IP address (127.0.0.2, say, to keep their ports apart from the server's on loopback); empty lets the system pick")
		memprobe = fs.Int("memprobe", 0, "instead of the soak, open this many idle sessions and report the server's RSS and login latency")
		chaos    = fs.Float64("chaos", 0, "the share (0 to 1) of STOR, APPE, RETR and LIST interrupted mid-transfer: ABOR, data connection reset, control connection dropped, or QUIT")
		pid      = fs.Int("pid", 0, "with -addr: the server's process id, to count its open files after the soak (Linux), or read its RSS (-memprobe)")
		serve    = fs.Bool("serve", false, "only serve (used by -memprobe for its child process): print the address, stop when stdin closes")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch *mode {
	case modePassive, modeActive, modeMixed:
	default:
		fmt.Fprintf(stderr, "soak: -mode %q: want pasv, active or mixed\n", *mode)
		return 2
	}
	var fromIP netip.Addr
	if *from != "" {
		ip, err := netip.ParseAddr(*from)
		if err != nil {
			fmt.Fprintf(stderr, "soak: -from: %v\n", err)
			return 2
		}
		fromIP = ip.Unmap()
	}
	if fs.NArg() > 0 || *clients < 1 || *duration <= 0 || *maxSize < 0 || *memprobe < 0 || *chaos < 0 || *chaos > 1 {
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
		tls: *useTLS || *implicit, implicit: *implicit, mode: *mode, ascii: *ascii, from: fromIP, chaos: *chaos,
		progress: stderr,
	}
	if *pid > 0 && *addr != "" {
		cfg.leak = &leakCheck{pid: *pid}
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
		cfg.leak = &leakCheck{pid: os.Getpid(), goroutines: true}
	}
	// A last resort: a soak that outlives every deadline it set is stuck.
	watchdog := time.AfterFunc(*duration+10**timeout+time.Minute, func() {
		debug.SetTraceback("all")
		panic("soak: watchdog: still running long after the deadline")
	})
	defer watchdog.Stop()

	fmt.Fprintf(stdout, "soak: %d clients for %v against %s (seed %d; %s)\n", cfg.clients, cfg.duration, where, cfg.seed, cfg.describe())
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

// describe says how the clients connect, for the report's first line.
func (cfg *soakConfig) describe() string {
	var s []string
	if cfg.tls {
		s = append(s, "FTPS")
	} else {
		s = append(s, "plain FTP")
	}
	s = append(s, cfg.mode+" data connections")
	if cfg.ascii {
		s = append(s, "some in TYPE A")
	}
	if cfg.chaos > 0 {
		s = append(s, fmt.Sprintf("%g of transfers interrupted", cfg.chaos))
	}
	return strings.Join(s, ", ")
}

// startServer starts the engine on 127.0.0.1 for cfg.user, serving
// cfg.dir (a new temporary directory if empty), and sets cfg.addr. With
// cfg.tls the engine has a self-signed certificate and requires TLS on
// every connection, and session reuse on data connections.
func startServer(cfg *soakConfig, logw io.Writer) (stop func(), err error) {
	var tmps []string
	cleanup := func() {
		for _, d := range tmps {
			os.RemoveAll(d)
		}
	}
	if cfg.dir == "" {
		tmp, err := os.MkdirTemp("", "soak-")
		if err != nil {
			return nil, err
		}
		tmps = append(tmps, tmp)
		cfg.dir = tmp
	}
	var tlsCfg *tls.Config
	if cfg.tls {
		certDir, err := os.MkdirTemp("", "soak-cert-")
		if err != nil {
			cleanup()
			return nil, err
		}
		tmps = append(tmps, certDir)
		if tlsCfg, err = selfSignedTLS(certDir); err != nil {
			cleanup()
			return nil, err
		}
	}
	ip := "127.0.0.1"
	if cfg.from.Is6() {
		ip = "::1" // clients from an IPv6 address reach the server over IPv6
	}
	srv, l, err := newServer(ip, cfg.user, cfg.pass, cfg.dir, tlsCfg, logw)
	if err != nil {
		cleanup()
		return nil, err
	}
	cfg.hooks = &hookCounts{}
	cfg.hooks.install(srv)
	cfg.addr = l.Addr().String()
	done := make(chan error, 1)
	serve := srv.Serve
	if cfg.implicit {
		serve = srv.ServeTLS
	}
	go func() { done <- serve(l) }()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		srv.Close()
		<-done
		cleanup()
	}, nil
}

// selfSignedTLS is the server's TLS configuration with the self-signed
// certificate `ftpshare --tls` would make (share.SelfSignedCertificate),
// kept in dir, for 127.0.0.1; it sets what share does for the binary.
func selfSignedTLS(dir string) (*tls.Config, error) {
	names := share.CertNames{DNS: []string{"localhost"}, IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}
	cert, err := share.SelfSignedCertificate(dir, names, time.Now())
	if err != nil {
		return nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert.TLS}, MinVersion: tls.VersionTLS12}, nil
}

// newServer makes a server on ip without connection limits (the soak and
// the probe open many sessions from one address) for one user. With tlsCfg
// it requires FTPS, data connections that resume their control
// connection's TLS session, and uploads that end with close_notify.
func newServer(ip, user, pass, dir string, tlsCfg *tls.Config, logw io.Writer) (*ftp.Server, net.Listener, error) {
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
	if tlsCfg != nil {
		srv.TLSConfig = tlsCfg
		srv.TLSControlRequired, srv.TLSDataRequired, srv.TLSSessionReuseRequired = true, true, true
		srv.TLSCloseNotifyRequired = true
	}
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
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
	srv, l, err := newServer("127.0.0.1", user, pass, dir, nil, os.Stderr)
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
	for _, op := range append(opNames[:len(opNames):len(opNames)], chaosNames...) {
		if r.ops[op] == 0 && r.fails[op] == 0 {
			continue
		}
		total += r.ops[op]
		fmt.Fprintf(w, "%-10s %8d %6d\n", op, r.ops[op], r.fails[op])
	}
	secs := r.elapsed.Seconds()
	fmt.Fprintf(w, "%d operations in %.1fs (%.0f/s); uploaded %s (%s/s), downloaded %s (%s/s)\n",
		total, secs, float64(total)/secs, size(r.up), size(int64(float64(r.up)/secs)), size(r.down), size(int64(float64(r.down)/secs)))
	var events []string
	for _, e := range dataEvents {
		if r.data[e] > 0 {
			events = append(events, fmt.Sprintf("%s %d", e, r.data[e]))
		}
	}
	if len(events) > 0 {
		fmt.Fprintf(w, "data connections: %s\n", strings.Join(events, ", "))
	}
	how := "on disk"
	if cfg.dir == "" {
		how = "by RETR"
	}
	fmt.Fprintf(w, "checked %d files %s against their recorded sha256: %d mismatches\n", r.files, how, len(r.mismatches))
	r.printChaos(w)
	if r.hooksChecked && len(r.hookErrs) == 0 {
		fmt.Fprintln(w, "the engine's transfer hooks ran once per transfer: ok")
	}
	for _, e := range r.hookErrs {
		fmt.Fprintln(w, "  hooks:", e)
	}
	if r.leak != nil {
		r.leak.print(w)
	}
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
