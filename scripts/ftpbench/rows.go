package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// result is one row of the table. Value is nil when the row could not be
// measured at all; Errors counts failed operations within it (a row with
// errors still has a value if some operations succeeded).
type result struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Short   string   `json:"short"` // chart label
	Unit    string   `json:"unit"`
	Better  string   `json:"better"` // "higher" or "lower"
	Value   *float64 `json:"value"`
	Errors  int      `json:"errors"`
	Skipped int      `json:"skipped,omitempty"` // operations the -budget left no time for
	// Incomplete marks a row measured under weaker conditions than its
	// name says (fewer idle sessions open than asked for).
	Incomplete bool   `json:"incomplete,omitempty"`
	Retries    int    `json:"retries,omitempty"`
	Note       string `json:"note,omitempty"`
}

// plainRows is the row group -rows calls "all", in pyftpdlib's order.
func plainRows() []string {
	return []string{"stor", "retr", "connect", "stor-idle", "retr-idle", "retr-n", "stor-n", "quit", "login", "mem"}
}

// ftpsRows is the row group -rows calls "ftps".
func ftpsRows() []string { return []string{"tls-stor", "tls-retr", "tls-connect"} }

// Files the benchmark leaves on the server, deleted at the end.
const (
	streamFile    = "ftpbench-stream.bin"
	streamFileTLS = "ftpbench-stream-tls.bin"
	sharedFile    = "ftpbench-10m.bin"
	perClientFile = "ftpbench-stor-%03d.bin"
)

const (
	streamBufSize = 1 << 20   // single-stream transfers: few, large syscalls
	manyBufSize   = 256 << 10 // per client when hundreds run at once
	loginAttempts = 8         // connect retries before a client counts as failed
)

// bench runs the rows against one server.
type bench struct {
	cfg    config
	ctx    context.Context
	plain  *dialer
	secure *dialer
	logw   io.Writer

	buf       []byte           // shared write buffer for STOR, read buffer for single RETR
	pool      []*session       // the -clients logged-in sessions, kept across rows
	streamLen map[string]int64 // length of each stream file this run wrote
	created   map[string]bool  // files to delete at the end
}

func newBench(ctx context.Context, cfg config, plain, secure *dialer, logw io.Writer) *bench {
	buf := make([]byte, streamBufSize)
	for i := range buf {
		buf[i] = 'x'
	}
	return &bench{
		cfg: cfg, ctx: ctx, plain: plain, secure: secure, logw: logw,
		buf:       buf,
		streamLen: make(map[string]int64),
		created:   make(map[string]bool),
	}
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.logw, "ftpbench: "+format+"\n", args...)
}

// run measures the rows in order and returns their results.
func (b *bench) run(rows []string) []result {
	var out []result
	for _, id := range rows {
		b.logf("row %s", id)
		if b.cfg.sync {
			b.quiesce(id)
		}
		var rs []result
		switch id {
		case "stor":
			rs = []result{b.rowStreamStor(id, "STOR (client -> server)", "STOR", b.plain, streamFile)}
		case "retr":
			rs = []result{b.rowStreamRetr(id, "RETR (server -> client)", "RETR", b.plain, streamFile)}
		case "connect":
			rs = []result{b.rowConnect(id, b.plain)}
		case "stor-idle":
			rs = []result{b.withPool(id, func() result {
				return b.rowStreamStor(id, fmt.Sprintf("STOR (1 file with %d idle clients)", b.cfg.clients),
					fmt.Sprintf("STOR, %d idle", b.cfg.clients), b.plain, streamFile)
			})}
		case "retr-idle":
			rs = []result{b.withPool(id, func() result {
				return b.rowStreamRetr(id, fmt.Sprintf("RETR (1 file with %d idle clients)", b.cfg.clients),
					fmt.Sprintf("RETR, %d idle", b.cfg.clients), b.plain, streamFile)
			})}
		case "retr-n":
			rs = []result{b.withPool(id, func() result { return b.rowManyRetr(id) })}
		case "stor-n":
			rs = []result{b.withPool(id, func() result { return b.rowManyStor(id) })}
		case "quit":
			rs = []result{b.withPool(id, func() result { return b.rowQuit(id) })}
		case "login":
			rs = b.rowLogin(id, b.plain, "", "", b.cfg.logins)
		case "mem":
			b.closePool()
			rs = b.rowsMemory(id)
		case "tls-stor":
			rs = []result{b.rowStreamStor(id, "FTPS STOR (PROT P)", "FTPS STOR", b.secure, streamFileTLS)}
		case "tls-retr":
			rs = []result{b.rowStreamRetr(id, "FTPS RETR (PROT P)", "FTPS RETR", b.secure, streamFileTLS)}
		case "tls-connect":
			rs = []result{b.rowConnect(id, b.secure)}
		}
		for _, r := range rs {
			b.logf("  %s", formatResult(r))
		}
		out = append(out, rs...)
	}
	b.closePool()
	b.cleanup()
	return out
}

func seconds(d time.Duration) *float64 { v := d.Seconds(); return &v }
func millis(d time.Duration) *float64  { v := float64(d) / float64(time.Millisecond); return &v }
func float(v float64) *float64         { return &v }

// mibPerSec is pyftpdlib's "MB/sec": bytes over 2^20, per second.
func mibPerSec(n int64, d time.Duration) *float64 {
	if d <= 0 {
		return nil
	}
	v := float64(n) / (1 << 20) / d.Seconds()
	return &v
}

func failed(r result, err error) result {
	r.Errors++
	if r.Note == "" {
		r.Note = err.Error()
	}
	return r
}

// sizeLabel prints sizes as pyftpdlib's table does ("10.0M").
func sizeLabel(n int64) string { return fmt.Sprintf("%.1fM", float64(n)/(1<<20)) }

// rowStreamStor uploads one file on a fresh session. In window mode (the
// default) it sends for -duration and divides by the time from the STOR
// command to the server's 226, not by the nominal window as pyftpdlib
// does: bytes the kernel buffered but the server had not stored yet are
// then not counted as done. SIZE checks the server got every byte.
func (b *bench) rowStreamStor(id, name, short string, d *dialer, file string) result {
	r := result{ID: id, Name: name, Short: short, Unit: "MB/s", Better: "higher"}
	n, el, err := b.streamStor(d, file)
	if err != nil {
		return failed(r, err)
	}
	r.Value = mibPerSec(n, el)
	r.Note = fmt.Sprintf("%d bytes in %.3fs", n, el.Seconds())
	return r
}

func (b *bench) streamStor(d *dialer, file string) (int64, time.Duration, error) {
	s, err := d.login(b.ctx)
	if err != nil {
		return 0, 0, err
	}
	defer s.quit()
	b.created[file] = true
	t0 := time.Now()
	var deadline time.Time
	if b.cfg.streamSize == 0 {
		deadline = t0.Add(b.cfg.duration)
	}
	n, err := s.stor(file, b.buf, b.cfg.streamSize, deadline)
	el := time.Since(t0)
	if err != nil {
		return n, el, err
	}
	got, err := s.size(file)
	if err != nil {
		return n, el, fmt.Errorf("verify upload: %w", err)
	}
	if got != n {
		return n, el, fmt.Errorf("verify upload: sent %d bytes, server has %d", n, got)
	}
	b.streamLen[file] = n
	return n, el, nil
}

// rowStreamRetr downloads the file the STOR row left. In window mode it
// downloads it whole, again and again, until -duration has passed, and
// divides the bytes by the time taken including each RETR's round trips;
// every download must return the file's exact length.
func (b *bench) rowStreamRetr(id, name, short string, d *dialer, file string) result {
	r := result{ID: id, Name: name, Short: short, Unit: "MB/s", Better: "higher"}
	want, ok := b.streamLen[file]
	if !ok {
		var err error
		if want, _, err = b.streamStor(d, file); err != nil {
			return failed(r, fmt.Errorf("prepare file: %w", err))
		}
	}
	s, err := d.login(b.ctx)
	if err != nil {
		return failed(r, err)
	}
	defer s.quit()
	var total int64
	t0 := time.Now()
	for {
		n, err := s.retr(file, b.buf)
		if err != nil {
			return failed(r, err)
		}
		if n != want {
			return failed(r, fmt.Errorf("RETR got %d bytes, file has %d", n, want))
		}
		total += n
		if b.cfg.streamSize > 0 || time.Since(t0) >= b.cfg.duration {
			break
		}
	}
	el := time.Since(t0)
	r.Value = mibPerSec(total, el)
	r.Note = fmt.Sprintf("%d bytes in %.3fs", total, el.Seconds())
	return r
}

// sessionSet is the outcome of opening many sessions at once.
type sessionSet struct {
	sessions []*session
	elapsed  time.Duration
	retries  int
	failures int
	skipped  int // not attempted: the -budget ran out
	firstErr error
}

// openSessions logs in n clients with at most -parallel connects in
// flight. The bound keeps the client from overflowing small listen queues
// (vsftpd's is 32): a dropped SYN costs a one-second retransmit that would
// measure the kernel's timer, not the server. No new login starts once
// -budget has passed, so a server that slows down as sessions pile up ends
// the row with a count of what it managed rather than stalling the run.
func (b *bench) openSessions(d *dialer, n int) sessionSet {
	slots := make([]*session, n)
	var next, retries, failures atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	t0 := time.Now()
	for range min(b.cfg.parallel, n) {
		wg.Go(func() {
			for {
				if b.ctx.Err() != nil || b.cfg.budget > 0 && time.Since(t0) > b.cfg.budget {
					return
				}
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				s, tries, err := d.loginRetry(b.ctx, loginAttempts)
				retries.Add(int64(tries))
				if err != nil {
					failures.Add(1)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				slots[i] = s
			}
		})
	}
	wg.Wait()
	set := sessionSet{elapsed: time.Since(t0), retries: int(retries.Load()), failures: int(failures.Load()), firstErr: firstErr}
	for _, s := range slots {
		if s != nil {
			set.sessions = append(set.sessions, s)
		}
	}
	set.skipped = n - len(set.sessions) - set.failures
	return set
}

// note says what went wrong opening a set, or "" if nothing did.
func (set sessionSet) note(n int) string {
	var parts []string
	if set.failures > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d failed; first: %v", set.failures, n, set.firstErr))
	}
	if set.skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d opened before the time budget ran out", len(set.sessions), n))
	}
	return strings.Join(parts, "; ")
}

// rowConnect times -clients concurrent connect+login sessions. Plain ones
// stay open as the pool the next rows use; FTPS ones are closed.
func (b *bench) rowConnect(id string, d *dialer) result {
	name := fmt.Sprintf("%d concurrent clients (connect, login)", b.cfg.clients)
	short := fmt.Sprintf("%d logins", b.cfg.clients)
	if d.tlsConf != nil {
		name = fmt.Sprintf("%d concurrent FTPS clients (connect, AUTH TLS, login)", b.cfg.clients)
		short = fmt.Sprintf("%d FTPS logins", b.cfg.clients)
	} else {
		b.closePool()
	}
	r := result{ID: id, Name: name, Short: short, Unit: "s", Better: "lower"}
	set := b.openSessions(d, b.cfg.clients)
	r.Value = seconds(set.elapsed)
	r.Retries, r.Errors, r.Skipped = set.retries, set.failures, set.skipped
	r.Note = set.note(b.cfg.clients)
	if d.tlsConf == nil {
		b.pool = set.sessions
	} else {
		b.quitAll(set.sessions)
	}
	return r
}

// withPool makes sure the idle clients exist before a row that needs them,
// opening them untimed when the connect row did not run.
func (b *bench) withPool(id string, row func() result) result {
	if len(b.pool) == 0 {
		set := b.openSessions(b.plain, b.cfg.clients)
		b.pool = set.sessions
		if note := set.note(b.cfg.clients); note != "" {
			b.logf("%s: %s", id, note)
		}
	}
	r := row()
	if id != "quit" && len(b.pool) < b.cfg.clients {
		r.Note = strings.TrimSpace(fmt.Sprintf("%s (only %d of %d clients)", r.Note, len(b.pool), b.cfg.clients))
	}
	return r
}

// runAll runs fn on every pool session at once and times it from the
// moment all goroutines are released until the last one returns. Sessions
// whose fn failed are closed and dropped from the pool, since their
// control connection may be out of step.
func (b *bench) runAll(fn func(i int, s *session) error) (time.Duration, int, error) {
	errs := make([]error, len(b.pool))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range b.pool {
		wg.Go(func() {
			<-start
			errs[i] = fn(i, s)
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	el := time.Since(t0)
	var kept []*session
	nerr := 0
	var first error
	for i, s := range b.pool {
		if errs[i] != nil {
			nerr++
			if first == nil {
				first = errs[i]
			}
			s.close()
			continue
		}
		kept = append(kept, s)
	}
	b.pool = kept
	return el, nerr, first
}

// rowManyRetr: every client downloads the same -size file at once. Unlike
// pyftpdlib, which stops its clock at the last EOF, this one stops at the
// last 226, the server's word that the transfer is complete.
func (b *bench) rowManyRetr(id string) result {
	r := result{ID: id, Name: fmt.Sprintf("%d concurrent clients (RETR %s file)", b.cfg.clients, sizeLabel(b.cfg.size)),
		Short: fmt.Sprintf("%d x RETR %s", b.cfg.clients, sizeLabel(b.cfg.size)), Unit: "s", Better: "lower"}
	if len(b.pool) == 0 {
		return failed(r, errors.New("no client sessions"))
	}
	b.created[sharedFile] = true
	seed := b.pool[0]
	if n, err := seed.stor(sharedFile, b.buf, b.cfg.size, time.Time{}); err != nil {
		return failed(r, fmt.Errorf("prepare file: %w", err))
	} else if got, err := seed.size(sharedFile); err != nil || got != n {
		return failed(r, fmt.Errorf("prepare file: sent %d bytes, SIZE says %d (%v)", n, got, err))
	}
	bufs := make([][]byte, len(b.pool))
	for i := range bufs {
		bufs[i] = make([]byte, manyBufSize)
	}
	el, nerr, first := b.runAll(func(i int, s *session) error {
		n, err := s.retr(sharedFile, bufs[i])
		if err == nil && n != b.cfg.size {
			err = fmt.Errorf("RETR got %d bytes, want %d", n, b.cfg.size)
		}
		return err
	})
	r.Value = seconds(el)
	r.Errors = nerr
	if first != nil {
		r.Note = first.Error()
	}
	return r
}

// rowManyStor: every client uploads -size bytes at once, each to its own
// file (pyftpdlib's clients all write one file, which measures lock
// contention more than transfer); SIZE afterwards checks every byte
// arrived, and the files are deleted untimed.
func (b *bench) rowManyStor(id string) result {
	r := result{ID: id, Name: fmt.Sprintf("%d concurrent clients (STOR %s file)", b.cfg.clients, sizeLabel(b.cfg.size)),
		Short: fmt.Sprintf("%d x STOR %s", b.cfg.clients, sizeLabel(b.cfg.size)), Unit: "s", Better: "lower"}
	if len(b.pool) == 0 {
		return failed(r, errors.New("no client sessions"))
	}
	chunk := b.buf[:manyBufSize]
	names := make([]string, len(b.pool))
	for i := range names {
		names[i] = fmt.Sprintf(perClientFile, i)
	}
	el, nerr, first := b.runAll(func(i int, s *session) error {
		_, err := s.stor(names[i], chunk, b.cfg.size, time.Time{})
		return err
	})
	r.Value = seconds(el)
	// The check runs on every session, including ones whose upload failed
	// and were dropped, through the survivors.
	var bad atomic.Int64
	var mu sync.Mutex
	checkErr := first
	_, _, _ = b.runAll(func(i int, s *session) error {
		for j := i; j < len(names); j += len(b.pool) {
			got, err := s.size(names[j])
			if err == nil && got != b.cfg.size {
				err = fmt.Errorf("%s has %d bytes, want %d", names[j], got, b.cfg.size)
			}
			if err != nil {
				bad.Add(1)
				mu.Lock()
				if checkErr == nil {
					checkErr = err
				}
				mu.Unlock()
			}
			s.dele(names[j])
		}
		return nil
	})
	r.Errors = max(nerr, int(bad.Load()))
	if checkErr != nil {
		r.Note = checkErr.Error()
	}
	return r
}

// rowQuit sends QUIT on every client at once and times until all have
// their 221.
func (b *bench) rowQuit(id string) result {
	r := result{ID: id, Name: fmt.Sprintf("%d concurrent clients (QUIT)", b.cfg.clients),
		Short: fmt.Sprintf("%d x QUIT", b.cfg.clients), Unit: "s", Better: "lower"}
	if len(b.pool) == 0 {
		return failed(r, errors.New("no client sessions"))
	}
	el, nerr, first := b.runAll(func(_ int, s *session) error { return s.quit() })
	b.pool = nil
	r.Value = seconds(el)
	r.Errors = nerr
	if first != nil {
		r.Note = first.Error()
	}
	return r
}

// rowLogin times n logins one after another, from connect to the 230,
// and reports the median and the 99th percentile. It stops early when the
// -budget runs out and says so.
func (b *bench) rowLogin(id string, d *dialer, suffix, shortSuffix string, n int) []result {
	p50 := result{ID: id + "-p50", Name: fmt.Sprintf("login latency p50 (%d sequential)%s", n, suffix),
		Short: "login p50" + shortSuffix, Unit: "ms", Better: "lower"}
	p99 := result{ID: id + "-p99", Name: fmt.Sprintf("login latency p99 (%d sequential)%s", n, suffix),
		Short: "login p99" + shortSuffix, Unit: "ms", Better: "lower"}
	lat := make([]time.Duration, 0, n)
	var first error
	nerr := 0
	start := time.Now()
	for range n {
		if b.cfg.budget > 0 && time.Since(start) > b.cfg.budget {
			break
		}
		t0 := time.Now()
		s, err := d.login(b.ctx)
		el := time.Since(t0)
		if err != nil {
			nerr++
			if first == nil {
				first = err
			}
			continue
		}
		lat = append(lat, el)
		s.quit()
	}
	skipped := n - len(lat) - nerr
	for _, r := range []*result{&p50, &p99} {
		r.Errors, r.Skipped = nerr, skipped
		if first != nil {
			r.Note = first.Error()
		}
		if skipped > 0 {
			r.Note = strings.TrimPrefix(r.Note+fmt.Sprintf("; only %d of %d logins within the time budget", len(lat), n), "; ")
		}
	}
	if len(lat) > 0 {
		p50.Value = millis(percentile(lat, 50))
		p99.Value = millis(percentile(lat, 99))
	}
	return []result{p50, p99}
}

// memLoginBatches is how many batches of -logins logins the memory rows
// time with the sessions open. The memory rows run once per server, and a
// batch's latency depends on whether the scheduler happens to keep client
// and server on one core: on 2 cores one batch measured 0.12 ms and the
// next 0.29 ms against the same server, and the mode can last for several
// batches. Five batches (a second at most for a fast server) and their
// median make the row about as steady as the login row's median over
// rounds.
const memLoginBatches = 5

// rowLoginBatches runs rowLogin up to k times and reports, for p50 and
// p99, the median over the batches, with every batch's value in the note.
// It starts no new batch once stopAfter has gone (rowsMemory gives a
// third of -budget): a server whose logins take milliseconds (proftpd with
// thousands of sessions open) is far above the noise that batches damp,
// and would spend minutes on them.
func (b *bench) rowLoginBatches(id string, d *dialer, suffix, shortSuffix string, n, k int, stopAfter time.Duration) []result {
	var out []result
	vals := make([][]float64, 2)
	t0 := time.Now()
	for batch := range k {
		if batch > 0 && stopAfter > 0 && time.Since(t0) > stopAfter {
			break
		}
		rs := b.rowLogin(id, d, suffix, shortSuffix, n)
		for i, r := range rs {
			if r.Value != nil {
				vals[i] = append(vals[i], *r.Value)
			}
		}
		if out == nil {
			out = rs
		} else {
			for i := range out {
				out[i].Errors += rs[i].Errors
				out[i].Skipped += rs[i].Skipped
				if out[i].Note == "" {
					out[i].Note = rs[i].Note
				}
			}
		}
	}
	for i := range out {
		out[i].Value = nil
		if len(vals[i]) == 0 {
			continue
		}
		out[i].Value = float(median(vals[i]))
		parts := make([]string, len(vals[i]))
		for j, v := range vals[i] {
			parts[j] = fmt.Sprintf("%.3g", v)
		}
		what := fmt.Sprintf("median of %d batches", len(vals[i]))
		if len(vals[i]) == 1 {
			what = "1 batch (no time for more)"
		}
		out[i].Note = strings.TrimPrefix(out[i].Note+fmt.Sprintf("; %s: %s ms", what, strings.Join(parts, ", ")), "; ")
	}
	return out
}

// percentile is the nearest-rank percentile: the smallest sample with at
// least p% of the samples at or below it.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	k := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(k, len(s)-1))]
}

// rowsMemory opens each -idle count of logged-in sessions, lets the server
// settle, and reads the PSS of its process tree; per session is the growth
// over the idle server divided by the sessions open. Logins are timed
// while the sessions are held, since a server that scans its sessions
// slows down as they pile up.
func (b *bench) rowsMemory(id string) []result {
	base := result{ID: id + "-idle", Name: "server memory, no sessions (PSS)", Short: "memory idle", Unit: "MiB", Better: "lower"}
	if b.cfg.pid == 0 {
		b.logf("mem: no -pid given, skipping the memory rows")
		return nil
	}
	idle, err := b.settle()
	if err != nil {
		return []result{failed(base, err)}
	}
	base.Value = float(float64(idle.pssKiB) / 1024)
	base.Note = fmt.Sprintf("%d processes", idle.procs)
	out := []result{base}
	for _, n := range b.cfg.idle {
		total := result{ID: fmt.Sprintf("%s-%d", id, n), Name: fmt.Sprintf("server memory, %d idle sessions (PSS)", n),
			Short: fmt.Sprintf("memory %d", n), Unit: "MiB", Better: "lower"}
		per := result{ID: fmt.Sprintf("%s-%d-per", id, n), Name: fmt.Sprintf("memory per session, %d idle sessions", n),
			Short: fmt.Sprintf("KiB/session %d", n), Unit: "KiB", Better: "lower"}
		set := b.openSessions(b.plain, n)
		opened := len(set.sessions)
		for _, r := range []*result{&total, &per} {
			r.Errors, r.Retries, r.Skipped = set.failures, set.retries, set.skipped
			r.Note = set.note(n)
		}
		b.logf("mem: %d sessions open in %.1fs (%d failed, %d not tried, %d retries)",
			opened, set.elapsed.Seconds(), set.failures, set.skipped, set.retries)
		m, err := b.settle()
		if err != nil {
			out = append(out, failed(total, err), failed(per, err))
		} else {
			total.Value = float(float64(m.pssKiB) / 1024)
			if opened > 0 {
				per.Value = float(float64(m.pssKiB-idle.pssKiB) / float64(opened))
			}
			if total.Note == "" {
				total.Note = fmt.Sprintf("%d processes", m.procs)
			}
			out = append(out, total, per)
		}
		lat := b.rowLoginBatches(fmt.Sprintf("login-%d", n), b.plain,
			fmt.Sprintf(" with %d sessions open", n), fmt.Sprintf(", %d open", n), b.cfg.logins, memLoginBatches, b.cfg.budget/3)
		if opened < n {
			for i := range lat {
				lat[i].Incomplete = true
				lat[i].Note = strings.TrimPrefix(lat[i].Note+fmt.Sprintf("; with only %d sessions open", opened), "; ")
			}
		}
		out = append(out, lat...)
		for _, s := range set.sessions {
			s.close()
		}
		b.waitTeardown(idle.procs)
	}
	return out
}

// settle waits at least a second, then until two readings half a second
// apart agree on the process count and within 0.5% on PSS, so a forking
// server's children have finished starting up.
func (b *bench) settle() (treeMem, error) {
	t0 := time.Now()
	defer func() { b.logf("mem: settled in %.1fs", time.Since(t0).Seconds()) }()
	time.Sleep(time.Second)
	prev, err := readTreeMem(b.cfg.pid)
	if err != nil {
		return prev, err
	}
	for range 30 {
		time.Sleep(500 * time.Millisecond)
		cur, err := readTreeMem(b.cfg.pid)
		if err != nil {
			return cur, err
		}
		if cur.procs == prev.procs && math.Abs(float64(cur.pssKiB-prev.pssKiB)) <= float64(prev.pssKiB)/200 {
			return cur, nil
		}
		prev = cur
	}
	b.logf("mem: PSS still changing after 15s; using the last reading")
	return prev, nil
}

// waitTeardown waits, up to a minute, for a forking server's session
// processes to exit so the next count starts from an idle server.
func (b *bench) waitTeardown(procs int) {
	t0 := time.Now()
	for time.Since(t0) < time.Minute {
		// Counting processes is enough here, and far cheaper than reading
		// the memory maps of thousands of them.
		tree, err := processTree(b.cfg.pid)
		if err != nil || len(tree) <= procs {
			b.logf("mem: sessions gone in %.1fs", time.Since(t0).Seconds())
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	b.logf("mem: session processes still exiting after a minute")
}

func (b *bench) quitAll(ss []*session) {
	var wg sync.WaitGroup
	for _, s := range ss {
		wg.Go(func() { s.quit() })
	}
	wg.Wait()
}

func (b *bench) closePool() {
	b.quitAll(b.pool)
	b.pool = nil
}

// quiesce, before an upload row, drops the file it will write (its dirty
// pages are discarded rather than written back) and writes back the
// rest, untimed. Otherwise the row pays for what the previous one left:
// after the 2.5 GB STOR row, the STOR with idle clients behind it ran at
// 1,050 MB/s, throttled by writeback, against 2,400-2,600 MB/s on its own.
func (b *bench) quiesce(id string) {
	file := ""
	switch id {
	case "stor", "stor-idle", "stor-n":
		file = streamFile // a later RETR row writes it again if it needs it
	case "tls-stor":
		file = streamFileTLS
	default:
		return
	}
	if _, ok := b.streamLen[file]; ok {
		d := b.plain
		if file == streamFileTLS {
			d = b.secure
		}
		if s, err := d.login(b.ctx); err == nil {
			if err := s.dele(file); err != nil {
				b.logf("quiesce: %v", err)
			}
			s.quit()
			delete(b.streamLen, file)
		}
	}
	t0 := time.Now()
	syncDisks()
	b.logf("quiesce: sync took %.1fs", time.Since(t0).Seconds())
}

// cleanup deletes what the run stored, so rounds start alike and the
// server's disk does not fill.
func (b *bench) cleanup() {
	if len(b.created) == 0 {
		return
	}
	d := b.plain
	if b.created[streamFileTLS] && len(b.created) == 1 {
		d = b.secure
	}
	s, err := d.login(b.ctx)
	if err != nil {
		b.logf("cleanup: %v", err)
		return
	}
	defer s.quit()
	for name := range b.created {
		if err := s.dele(name); err != nil {
			b.logf("cleanup: %v", err)
		}
	}
}

func formatResult(r result) string {
	v := "-"
	if r.Value != nil {
		v = fmt.Sprintf("%.2f", *r.Value)
	}
	s := fmt.Sprintf("%-55s %10s %-4s", r.Name, v, r.Unit)
	if r.Errors > 0 {
		s += fmt.Sprintf("  errors=%d", r.Errors)
	}
	if r.Skipped > 0 {
		s += fmt.Sprintf("  skipped=%d", r.Skipped)
	}
	if r.Retries > 0 {
		s += fmt.Sprintf("  retries=%d", r.Retries)
	}
	if r.Note != "" {
		s += "  (" + r.Note + ")"
	}
	return s
}
