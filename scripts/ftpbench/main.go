// Command ftpbench measures an FTP server: single-stream throughput,
// hundreds of concurrent clients, login latency, memory per idle session
// and FTPS. It reports the rows of pyftpdlib's published benchmark table
// plus ftpshare's own, and is fast enough not to be the bottleneck: raw
// protocol over net.Conn, 1 MiB buffers, a goroutine per client.
//
// Usage:
//
//	ftpbench -host 127.0.0.1 -port 2121 -user bench -pass bench [flags]
//	ftpbench -check -port 2121 -user bench -pass bench
//	ftpbench -report [-base ftpshare] [-ceiling MBps] [-chart out.dat] result.json...
//
// Rows (-rows takes a comma list of these, "all" for the plain ones,
// "ftps" for the FTPS ones):
//
//	stor         STOR of one file on a fresh session, MB/s
//	retr         RETR of that file, MB/s
//	connect      -clients sessions connect and log in concurrently, s
//	stor-idle    stor while the -clients sessions sit idle
//	retr-idle    retr while the -clients sessions sit idle
//	retr-n       every client RETRs one -size file at once, s
//	stor-n       every client STORs -size bytes to its own file at once, s
//	quit         every client QUITs at once, s
//	login        -logins sequential logins, p50 and p99, ms
//	mem          PSS of the -pid process tree with each -idle count of
//	             logged-in sessions open, total and per session, plus
//	             login p50/p99 while they are open (the median of
//	             five batches of -logins)
//	tls-stor     stor over FTPS (AUTH TLS, PBSZ 0, PROT P)
//	tls-retr     retr over FTPS
//	tls-connect  connect over FTPS
//
// Throughput semantics. pyftpdlib's ftpbench sends for one second and
// divides what send() accepted by the nominal second. Here a STOR sends
// for -duration, then closes the data connection and waits for the 226;
// the rate is the bytes the server confirmed (checked with SIZE) over the
// time from the STOR command to the 226. RETR downloads the file the STOR
// left, whole, repeatedly until -duration has passed, each download
// checked against the file's length, over the time including every RETR's
// round trips. With -stream-size the STOR sends exactly that many bytes and
// the RETR reads them once instead. MB/s means 2^20 bytes per second, as in
// pyftpdlib's table. With -sync, each upload row first deletes the file
// it will write and calls sync(2), untimed, so that it does not pay for
// the writeback of what the row before it wrote.
//
// Every transfer verifies its byte count, and failures are counted in the
// row, never hidden. Connects use at most -parallel dials in flight and
// retry with backoff on refused or reset connections and 421 replies; the
// retries are reported. A batch of connects or logins stops starting new
// ones after -budget, so a server that slows to a crawl as sessions pile up
// (proftpd does, near 10,000) costs a bounded time; the row then says how
// many it got through.
//
// With -report, ftpbench merges the -json outputs of several runs (several
// servers, several rounds each) into one markdown table: the median per row
// per server and the -base server's ratio to the best other server on each
// row, where above 1 means -base is better.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is the parsed command line.
type config struct {
	host, port string
	user, pass string
	name       string
	rows       []string
	clients    int
	parallel   int
	size       int64
	streamSize int64
	duration   time.Duration
	logins     int
	idle       []int
	pid        int
	tls        bool
	pasv       bool
	timeout    time.Duration
	budget     time.Duration
	json       bool
	sync       bool
}

// output is what -json prints and -report reads.
type output struct {
	Server   string   `json:"server"`
	Addr     string   `json:"addr"`
	Date     string   `json:"date"`
	Clients  int      `json:"clients"`
	Size     int64    `json:"size"`
	Duration string   `json:"duration"`
	Rows     []result `json:"rows"`
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ftpbench:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ftpbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.StringVar(&cfg.host, "host", "127.0.0.1", "server host")
	fs.StringVar(&cfg.port, "port", "21", "server port")
	fs.StringVar(&cfg.user, "user", "", "user name (required)")
	fs.StringVar(&cfg.pass, "pass", "", "password")
	fs.StringVar(&cfg.name, "name", "", "server name in the output (default host:port)")
	rows := fs.String("rows", "all", `comma list of rows, "all" (plain rows) or "ftps"`)
	fs.IntVar(&cfg.clients, "clients", 300, "concurrent clients for the connect, idle, -n and quit rows")
	fs.IntVar(&cfg.parallel, "parallel", 32, "most connects in flight at once")
	size := fs.String("size", "10M", "file size for the retr-n and stor-n rows (binary units)")
	streamSize := fs.String("stream-size", "0", "single-stream rows: send exactly this much instead of for -duration")
	fs.DurationVar(&cfg.duration, "duration", time.Second, "single-stream rows: transfer window")
	fs.IntVar(&cfg.logins, "logins", 200, "sequential logins for the latency rows")
	idle := fs.String("idle", "1000,10000", "idle session counts for the mem rows")
	fs.IntVar(&cfg.pid, "pid", 0, "server PID for the mem rows (its descendants are counted too)")
	fs.BoolVar(&cfg.tls, "tls", false, `run every selected row over FTPS (explicit AUTH TLS, PROT P); certificates are not verified`)
	fs.BoolVar(&cfg.pasv, "pasv", false, "use PASV instead of EPSV")
	fs.DurationVar(&cfg.timeout, "timeout", time.Minute, "per-operation network timeout")
	fs.DurationVar(&cfg.budget, "budget", time.Minute, "most time one batch of connects or logins may take; 0 for no limit")
	fs.BoolVar(&cfg.json, "json", false, "print the results as JSON")
	fs.BoolVar(&cfg.sync, "sync", false, "before each upload row, delete the file it writes and sync(2), untimed, so that no row pays for the writeback of the one before (the server must share this machine's disks)")
	check := fs.Bool("check", false, "only check that the server accepts a login, and exit")
	report := fs.Bool("report", false, "merge -json result files given as arguments into a markdown table")
	base := fs.String("base", "ftpshare", "report: server compared with the best of the others")
	ceiling := fs.Float64("ceiling", 0, "report: loopback ceiling in MB/s, to show RETR as a fraction of it")
	chart := fs.String("chart", "", "report: also write gnuplot bar chart data to this file")
	order := fs.String("servers", "", "report: comma list giving the column order")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *report {
		return runReport(fs.Args(), reportOptions{base: *base, ceiling: *ceiling, chart: *chart, order: splitList(*order)}, stdout)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.user == "" {
		return errors.New("-user is required")
	}
	var err error
	if cfg.size, err = parseByteSize(*size); err != nil {
		return fmt.Errorf("-size: %w", err)
	}
	if cfg.streamSize, err = parseByteSize(*streamSize); err != nil {
		return fmt.Errorf("-stream-size: %w", err)
	}
	if cfg.idle, err = parseInts(*idle); err != nil {
		return fmt.Errorf("-idle: %w", err)
	}
	if cfg.rows, err = expandRows(*rows, cfg.tls); err != nil {
		return err
	}
	if cfg.clients < 1 || cfg.parallel < 1 || cfg.logins < 1 {
		return errors.New("-clients, -parallel and -logins must be positive")
	}
	if cfg.name == "" {
		cfg.name = net.JoinHostPort(cfg.host, cfg.port)
	}
	raiseFileLimit(stderr)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	plain := &dialer{
		addr: net.JoinHostPort(cfg.host, cfg.port), host: cfg.host,
		user: cfg.user, pass: cfg.pass, pasv: cfg.pasv, timeout: cfg.timeout,
	}
	secure := plain.withTLS(&tls.Config{
		// The servers under test use throwaway self-signed certificates.
		InsecureSkipVerify: true,
		// The key of each session's TLS session cache.
		ServerName: "localhost",
	})
	if cfg.tls {
		plain = secure
	}

	// Fail early and clearly when the server is not there or the login is
	// wrong, rather than with hundreds of identical row errors.
	s, err := plain.login(ctx)
	if err != nil {
		return fmt.Errorf("check login at %s: %w", plain.addr, err)
	}
	s.quit()
	if *check {
		return nil
	}

	out := output{
		Server: cfg.name, Addr: plain.addr, Date: time.Now().UTC().Format(time.RFC3339),
		Clients: cfg.clients, Size: cfg.size, Duration: cfg.duration.String(),
	}
	out.Rows = newBench(ctx, cfg, plain, secure, stderr).run(cfg.rows)
	if cfg.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(stdout, "%s (%s)\n", out.Server, out.Addr)
	for _, r := range out.Rows {
		fmt.Fprintln(stdout, formatResult(r))
	}
	return nil
}

// expandRows resolves the -rows list, keeping the order rows are given in
// since later rows reuse what earlier ones leave (files, idle clients).
func expandRows(list string, allTLS bool) ([]string, error) {
	known := append(plainRows(), ftpsRows()...)
	var rows []string
	for _, id := range splitList(list) {
		switch {
		case id == "all":
			rows = append(rows, plainRows()...)
		case id == "ftps":
			rows = append(rows, ftpsRows()...)
		case slices.Contains(known, id):
			rows = append(rows, id)
		default:
			return nil, fmt.Errorf("-rows: unknown row %q (known: %s, all, ftps)", id, strings.Join(known, ", "))
		}
	}
	if len(rows) == 0 {
		return nil, errors.New("-rows: no rows selected")
	}
	if allTLS {
		// Over -tls the plain rows already are the FTPS rows.
		rows = slices.DeleteFunc(rows, func(id string) bool { return slices.Contains(ftpsRows(), id) })
	}
	return rows, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad count %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}
