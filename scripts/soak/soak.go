package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
)

// soakConfig says what to run and against which server.
type soakConfig struct {
	addr     string // the server
	user     string
	pass     string
	dir      string // the user's home on disk, for the final check ("" checks with RETR)
	clients  int
	duration time.Duration
	maxSize  int64
	seed     uint64
	timeout  time.Duration // every read and write
	progress io.Writer     // a line every few seconds; nil for none
	// tls secures every control connection (AUTH TLS, PBSZ 0, PROT P) and
	// every data connection, which resumes its control connection's TLS
	// session. A quarter of the clients offer TLS 1.2 at most.
	tls bool
	// implicit: FTPS with TLS from the first byte (ServeTLS in process);
	// it comes with tls.
	implicit bool
	// mode is how data connections open: modePassive (EPSV or PASV),
	// modeActive (PORT or EPRT) or modeMixed (either, per transfer).
	mode string
	// ascii sends some transfers of text files in TYPE A.
	ascii bool
	// from is the clients' own address (zero: the system's choice). On
	// loopback, another 127.0.0.0/8 address keeps the clients' ports out
	// of the port space of the server's address, as on two machines.
	from netip.Addr
	// steps, if not 0, stops each client after that many operations (or
	// at the end of the duration, whichever comes first).
	steps int
	// chaos is the share of STOR, APPE, RETR and LIST that are
	// interrupted mid-transfer (see interrupt).
	chaos float64
	// leak, if set, checks the server's open files and goroutines after
	// the run against before it (see leak.go).
	leak *leakCheck
	// beforeCheck, if set, runs after the clients stop and before the
	// final check (tests use it to damage a file).
	beforeCheck func()
	// hooks, set for the engine in this process, counts the transfer
	// hooks it runs; without -chaos each must match the transfers done.
	hooks *hookCounts
}

// hookCounts counts the engine's transfer hooks.
type hookCounts struct {
	received, incompleteReceived, sent, incompleteSent atomic.Int64
}

func (h *hookCounts) install(srv *ftp.Server) {
	count := func(n *atomic.Int64) func(ftp.TransferInfo) { return func(ftp.TransferInfo) { n.Add(1) } }
	srv.Hooks.FileReceived = count(&h.received)
	srv.Hooks.IncompleteReceived = count(&h.incompleteReceived)
	srv.Hooks.FileSent = count(&h.sent)
	srv.Hooks.IncompleteSent = count(&h.incompleteSent)
}

// check compares the hooks with the transfers of a run without -chaos,
// where every upload and download completes: one FileReceived per STOR
// and APPE, one FileSent per RETR and REST+RETR, and nothing incomplete.
// The engine runs a hook before its 226, so the counts are final once
// the clients are done.
func (h *hookCounts) check(ops map[string]int) []string {
	var bad []string
	for _, c := range []struct {
		hook string
		got  int64
		want int
	}{
		{"FileReceived", h.received.Load(), ops["STOR"] + ops["APPE"]},
		{"IncompleteReceived", h.incompleteReceived.Load(), 0},
		{"FileSent", h.sent.Load(), ops["RETR"] + ops["REST+RETR"]},
		{"IncompleteSent", h.incompleteSent.Load(), 0},
	} {
		if c.got != int64(c.want) {
			bad = append(bad, fmt.Sprintf("the engine ran %s %d times, want %d", c.hook, c.got, c.want))
		}
	}
	return bad
}

// Data connection modes.
const (
	modePassive = "pasv"   // EPSV, and PASV one time in four
	modeActive  = "active" // PORT and EPRT in turn (IPv4), EPRT (IPv6)
	modeMixed   = "mixed"  // passive or active, at random per transfer
)

// opNames are the operations, in the order the report lists them.
var opNames = []string{"STOR", "RETR", "APPE", "REST+RETR", "NLST", "LIST", "MKD+RMD", "RNFR+RNTO", "DELE", "SIZE", "reconnect"}

// dataEvents are how data connections opened, in the order the report
// lists them (see client.note), and the transfers in TYPE A.
var dataEvents = []string{"EPSV", "PASV", "PORT", "EPRT", "TLS 1.3", "TLS 1.3 resumed", "TLS 1.2", "TLS 1.2 resumed", "TYPE A"}

// soakReport is the outcome of a soak.
type soakReport struct {
	elapsed    time.Duration
	ops, fails map[string]int
	data       map[string]int // counts of dataEvents
	up, down   int64
	errs       []string // the first failures, for the report
	files      int      // files checked at the end
	mismatches []string
	// -chaos: the slowest of each interruption, and the refusals of the
	// STORs after an interrupted upload, with their longest wait.
	slowest        map[string]time.Duration
	reStoreRefused int
	reStoreWait    time.Duration
	leak           *leakReport // nil when not checked
	// hooksChecked: the engine's transfer hooks were counted (in process,
	// without -chaos); hookErrs are where they differ from the transfers.
	hooksChecked bool
	hookErrs     []string
}

func (r *soakReport) ok() bool {
	total := 0
	for _, n := range r.fails {
		total += n
	}
	return total == 0 && len(r.mismatches) == 0 && (r.leak == nil || r.leak.ok()) && len(r.hookErrs) == 0
}

// stats collects the workers' counts.
type stats struct {
	mu         sync.Mutex
	ops, fails map[string]int
	data       map[string]int
	up, down   int64
	errs       []string
	slowest    map[string]time.Duration
	refused    int
	longest    time.Duration
}

// latency notes how long an interruption of kind took.
func (s *stats) latency(kind string, d time.Duration) {
	s.mu.Lock()
	s.slowest[kind] = max(s.slowest[kind], d)
	s.mu.Unlock()
}

// reStored notes a STOR after an interrupted upload, refused so many
// times over wait before it went through.
func (s *stats) reStored(refused int, wait time.Duration) {
	s.mu.Lock()
	s.ops["re-STOR"]++
	s.refused += refused
	if refused > 0 {
		s.longest = max(s.longest, wait)
	}
	s.mu.Unlock()
}

// note counts a data connection event (see client.note).
func (s *stats) note(event string) {
	s.mu.Lock()
	s.data[event]++
	s.mu.Unlock()
}

func (s *stats) done(op string, up, down int64) {
	s.mu.Lock()
	s.ops[op]++
	s.up += up
	s.down += down
	s.mu.Unlock()
}

func (s *stats) fail(worker int, op string, err error) {
	s.mu.Lock()
	s.fails[op]++
	if len(s.errs) < 20 {
		s.errs = append(s.errs, fmt.Sprintf("client %d: %s: %v", worker, op, err))
	}
	s.mu.Unlock()
}

func (s *stats) snapshot() (ops, fails int, up, down int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.ops {
		ops += n
	}
	for _, n := range s.fails {
		fails += n
	}
	return ops, fails, s.up, s.down
}

// worker is one client of the soak, working in its own directory.
type worker struct {
	id    int
	cfg   *soakConfig
	st    *stats
	rng   *rand.Rand
	c     *client
	dir   string // virtual path of its directory
	files map[string]*fileRec
	lost  map[string]bool // names whose content a failed operation left unknown
	seq   int
}

// runSoak runs cfg.clients workers for cfg.duration, then checks every
// file each of them left against what it recorded.
func runSoak(ctx context.Context, cfg *soakConfig) (*soakReport, error) {
	if cfg.seed == 0 {
		cfg.seed = uint64(time.Now().UnixNano())
	}
	run := strconv.FormatUint(cfg.seed%1_000_000, 36)
	st := &stats{ops: map[string]int{}, fails: map[string]int{}, data: map[string]int{}, slowest: map[string]time.Duration{}}
	var base leakSample
	if cfg.leak != nil {
		base = cfg.leak.sample()
	}
	workers := make([]*worker, cfg.clients)
	for i := range workers {
		w := &worker{
			id: i, cfg: cfg, st: st,
			rng:   rand.New(rand.NewPCG(cfg.seed, uint64(i))),
			dir:   fmt.Sprintf("/soak-%s-%d", run, i),
			files: map[string]*fileRec{},
			lost:  map[string]bool{},
		}
		if err := w.connect(true); err != nil {
			return nil, fmt.Errorf("client %d: %w", i, err)
		}
		workers[i] = w
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	start := time.Now()
	stopProgress := make(chan struct{})
	if cfg.progress != nil {
		go func() {
			t := time.NewTicker(5 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-stopProgress:
					return
				case <-t.C:
					ops, fails, up, down := st.snapshot()
					fmt.Fprintf(cfg.progress, "soak: %5.0fs %7d ops %3d failed, up %s, down %s\n",
						time.Since(start).Seconds(), ops, fails, size(up), size(down))
				}
			}
		}()
	}
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil && (cfg.steps == 0 || n < cfg.steps); n++ {
				w.step()
			}
			if w.c != nil {
				w.c.expect("QUIT", 221)
				w.c.close()
			}
		}()
	}
	wg.Wait()
	close(stopProgress)
	if cfg.beforeCheck != nil {
		cfg.beforeCheck()
	}
	rep := &soakReport{elapsed: time.Since(start), ops: st.ops, fails: st.fails, data: st.data, up: st.up, down: st.down, errs: st.errs,
		slowest: st.slowest, reStoreRefused: st.refused, reStoreWait: st.longest}
	for _, w := range workers {
		n, bad := w.verify()
		rep.files += n
		rep.mismatches = append(rep.mismatches, bad...)
	}
	if cfg.leak != nil {
		rep.leak = cfg.leak.check(base)
	}
	if cfg.hooks != nil && cfg.chaos == 0 && rep.ok() {
		rep.hookErrs = cfg.hooks.check(rep.ops)
		rep.hooksChecked = true
	}
	return rep, nil
}

// connOptions is how the worker connects: with -tls, a quarter of the
// workers offer TLS 1.2 at most, the others TLS 1.3.
func (w *worker) connOptions() connOptions {
	opt := connOptions{timeout: w.cfg.timeout, from: w.cfg.from, tls: w.cfg.tls, implicit: w.cfg.implicit}
	if opt.tls && w.id%4 == 3 {
		opt.maxTLS = tls.VersionTLS12
	}
	return opt
}

// connect logs in, and makes (first time) or enters the worker's directory.
func (w *worker) connect(first bool) error {
	c, err := login(w.cfg.addr, w.cfg.user, w.cfg.pass, w.connOptions())
	if err != nil {
		return err
	}
	c.note = w.st.note
	c.active = w.cfg.mode == modeActive
	if first {
		if _, err := c.expect("MKD "+w.dir, 257); err != nil {
			c.close()
			return err
		}
	}
	if _, err := c.expect("CWD "+w.dir, 250); err != nil {
		c.close()
		return err
	}
	c.expect("TYPE I", 200)
	w.c = c
	return nil
}

// step runs one operation chosen at random.
func (w *worker) step() {
	if w.c == nil {
		if err := w.connect(false); err != nil {
			w.st.fail(w.id, "reconnect", err)
			time.Sleep(100 * time.Millisecond)
			return
		}
		w.st.done("reconnect", 0, 0)
	}
	// PASV one time in four, but never over IPv6, where it cannot name
	// the address (RFC 2428): the engine answers 522 there. The draw is
	// made either way, so a seed replays the same run over IPv4.
	pasv := w.rng.IntN(4) == 0
	w.c.epsv = !pasv || w.c.local.Is6()
	if w.cfg.mode == modeMixed {
		w.c.active = w.rng.IntN(2) == 0
	}
	op, name := w.choose()
	if w.cfg.chaos > 0 && chaosOp(op) && w.rng.Float64() < w.cfg.chaos {
		w.chaos(op, name)
		return
	}
	up, down, err := w.do(op, name)
	if err != nil {
		w.st.fail(w.id, op, err)
		if name != "" {
			w.lost[name] = true
			delete(w.files, name)
		}
		w.c.close() // its state is unknown: start afresh
		w.c = nil
		return
	}
	w.st.done(op, up, down)
}

// chaos runs op on name, interrupted (see interrupt).
func (w *worker) chaos(op, name string) {
	kind, up, down, err := w.interrupt(op, name)
	if err != nil {
		w.st.fail(w.id, kind, fmt.Errorf("%s: %w", op, err))
		if w.c != nil {
			w.c.close() // its state is unknown: start afresh
			w.c = nil
		}
		return
	}
	w.st.done(kind, up, down)
}

// choose picks an operation, and the file it works on.
func (w *worker) choose() (op, name string) {
	if len(w.files) < 3 {
		return "STOR", ""
	}
	weights := []struct {
		op string
		w  int
	}{
		{"STOR", 22}, {"RETR", 18}, {"APPE", 10}, {"REST+RETR", 10}, {"NLST", 6}, {"LIST", 3},
		{"MKD+RMD", 6}, {"RNFR+RNTO", 8}, {"DELE", 7}, {"SIZE", 10},
	}
	total := 0
	for _, x := range weights {
		total += x.w
	}
	n := w.rng.IntN(total)
	for _, x := range weights {
		if n -= x.w; n < 0 {
			op = x.op
			break
		}
	}
	switch op {
	case "STOR", "NLST", "LIST", "MKD+RMD":
		return op, ""
	}
	names := make([]string, 0, len(w.files))
	for n := range w.files {
		names = append(names, n)
	}
	sort.Strings(names)
	return op, names[w.rng.IntN(len(names))]
}

// newSize picks a file size: mostly small, some large.
func (w *worker) newSize() int64 {
	switch p := w.rng.IntN(100); {
	case p < 3:
		return 0
	case p < 50:
		return w.rng.Int64N(64 << 10)
	case p < 85:
		return w.rng.Int64N(1 << 20)
	}
	return w.rng.Int64N(w.cfg.maxSize + 1)
}

func (w *worker) next(prefix string) string {
	w.seq++
	return fmt.Sprintf("%s%d.bin", prefix, w.seq)
}

// do runs op and checks its outcome; it returns the bytes moved.
func (w *worker) do(op, name string) (up, down int64, err error) {
	c := w.c
	switch op {
	case "STOR":
		name = w.next("f")
		text := w.cfg.ascii && w.rng.IntN(6) == 0
		ascii := text && w.rng.IntN(2) == 0
		rec := &fileRec{segs: []segment{{w.rng.Uint64(), w.newSize(), text}}}
		w.lost[name] = true // until the 226
		if up, err = w.upload("STOR "+name, rec.segs[0], ascii); err != nil {
			return up, 0, err
		}
		delete(w.lost, name)
		w.files[name] = rec
	case "APPE":
		rec := w.files[name]
		text := rec.text() // a text file stays text
		ascii := w.cfg.ascii && text && w.rng.IntN(2) == 0
		seg := segment{w.rng.Uint64(), w.newSize(), text}
		if up, err = w.upload("APPE "+name, seg, ascii); err != nil {
			return up, 0, err
		}
		rec.segs = append(rec.segs, seg)
	case "RETR", "REST+RETR":
		rec := w.files[name]
		var offset int64
		if op == "REST+RETR" {
			offset = w.rng.Int64N(rec.size() + 1)
			if _, err := c.expect(fmt.Sprintf("REST %d", offset), 350); err != nil {
				return 0, 0, err
			}
		}
		if op == "RETR" && w.cfg.ascii && rec.text() && w.rng.IntN(2) == 0 {
			down, err = w.retrASCII(name, rec)
			return 0, down, err
		}
		h := sha256.New()
		if down, err = c.download("RETR "+name, h); err != nil {
			return 0, down, err
		}
		if want := rec.sum(offset); down != rec.size()-offset || !bytes.Equal(h.Sum(nil), want[:]) {
			return 0, down, fmt.Errorf("RETR %s from %d: %d bytes, sha256 %x; want %d bytes, %x", name, offset, down, h.Sum(nil)[:8], rec.size()-offset, want[:8])
		}
	case "NLST", "LIST":
		var b bytes.Buffer
		if down, err = c.download(op, &b); err != nil {
			return 0, down, err
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\r\n"), "\r\n") {
			if l == "" {
				continue
			}
			if op == "LIST" {
				f := strings.Fields(l)
				l = f[len(f)-1]
			}
			if !w.lost[l] {
				got = append(got, l)
			}
		}
		sort.Strings(got)
		var want []string
		for n := range w.files {
			want = append(want, n)
		}
		sort.Strings(want)
		if !slices.Equal(got, want) {
			return 0, down, fmt.Errorf("%s lists %d names, want %d (%v... vs %v...)", op, len(got), len(want), head(got), head(want))
		}
	case "MKD+RMD":
		d := strings.TrimSuffix(w.next("d"), ".bin")
		if _, err := c.expect("MKD "+d, 257); err != nil {
			return 0, 0, err
		}
		if _, err := c.expect("RMD "+d, 250); err != nil {
			return 0, 0, err
		}
	case "RNFR+RNTO":
		to := w.next("r")
		if _, err := c.expect("RNFR "+name, 350); err != nil {
			return 0, 0, err
		}
		w.lost[to] = true
		if _, err := c.expect("RNTO "+to, 250); err != nil {
			return 0, 0, err
		}
		delete(w.lost, to)
		w.files[to] = w.files[name]
		delete(w.files, name)
	case "DELE":
		if _, err := c.expect("DELE "+name, 250); err != nil {
			return 0, 0, err
		}
		delete(w.files, name)
		if _, err := c.expect("SIZE "+name, 550); err != nil {
			return 0, 0, fmt.Errorf("after DELE: %w", err)
		}
	case "SIZE":
		text, err := c.expect("SIZE "+name, 213)
		if err != nil {
			return 0, 0, err
		}
		if want := strconv.FormatInt(w.files[name].size(), 10); text != want {
			return 0, 0, fmt.Errorf("SIZE %s = %s, want %s", name, text, want)
		}
	}
	return up, down, nil
}

func head(s []string) []string { return s[:min(len(s), 3)] }

// upload runs line (STOR, APPE) with seg's bytes: as they are, or in
// TYPE A with CRLF line ends, which the server stores as LF.
func (w *worker) upload(line string, seg segment, ascii bool) (int64, error) {
	if !ascii {
		return w.c.upload(line, seg.reader())
	}
	var n int64
	err := w.inASCII(func() (err error) {
		n, err = w.c.upload(line, newCRLFReader(seg.reader()))
		return err
	})
	return n, err
}

// retrASCII downloads a text file in TYPE A and checks that it comes with
// CRLF line ends.
func (w *worker) retrASCII(name string, rec *fileRec) (int64, error) {
	h := sha256.New()
	var n int64
	err := w.inASCII(func() (err error) {
		n, err = w.c.download("RETR "+name, h)
		return err
	})
	if err != nil {
		return n, err
	}
	if want, size := rec.asciiSum(); n != size || !bytes.Equal(h.Sum(nil), want[:]) {
		return n, fmt.Errorf("RETR %s in TYPE A: %d bytes, sha256 %x; want %d bytes, %x", name, n, h.Sum(nil)[:8], size, want[:8])
	}
	return n, nil
}

// inASCII runs transfer in TYPE A, then returns to TYPE I.
func (w *worker) inASCII(transfer func() error) error {
	if _, err := w.c.expect("TYPE A", 200); err != nil {
		return err
	}
	if err := transfer(); err != nil {
		return err
	}
	w.st.note("TYPE A")
	_, err := w.c.expect("TYPE I", 200)
	return err
}

// verify checks the worker's files at the end: on disk when the
// directory is known (every recorded file there with its sha256, and
// nothing else), else by downloading each. It returns the files checked
// and the mismatches.
func (w *worker) verify() (int, []string) {
	var bad []string
	if w.cfg.dir != "" {
		dir := filepath.Join(w.cfg.dir, filepath.FromSlash(strings.TrimPrefix(w.dir, "/")))
		entries, err := os.ReadDir(dir)
		if err != nil {
			return 0, []string{fmt.Sprintf("client %d: %v", w.id, err)}
		}
		seen := map[string]bool{}
		for _, e := range entries {
			name := e.Name()
			seen[name] = true
			rec, ok := w.files[name]
			switch {
			case w.lost[name]:
			case !ok:
				bad = append(bad, fmt.Sprintf("client %d: %s is on disk but was never stored (or was deleted)", w.id, name))
			case !e.Type().IsRegular():
				bad = append(bad, fmt.Sprintf("client %d: %s is not a regular file", w.id, name))
			default:
				if sum, n, err := fileSum(filepath.Join(dir, name)); err != nil || sum != rec.sum(0) || n != rec.size() {
					bad = append(bad, fmt.Sprintf("client %d: %s on disk: %d bytes, sha256 %x (%v); want %d bytes, %x", w.id, name, n, sum[:8], err, rec.size(), rec.sum(0)))
				}
			}
		}
		for name := range w.files {
			if !seen[name] {
				bad = append(bad, fmt.Sprintf("client %d: %s was stored but is not on disk", w.id, name))
			}
		}
		return len(w.files), bad
	}
	c, err := login(w.cfg.addr, w.cfg.user, w.cfg.pass, w.connOptions())
	if err != nil {
		return 0, []string{fmt.Sprintf("client %d: verify: %v", w.id, err)}
	}
	defer c.close()
	for name, rec := range w.files {
		h := sha256.New()
		n, err := c.download("RETR "+w.dir+"/"+name, h)
		if want := rec.sum(0); err != nil || n != rec.size() || !bytes.Equal(h.Sum(nil), want[:]) {
			bad = append(bad, fmt.Sprintf("client %d: RETR %s: %d bytes (%v); want %d bytes, sha256 %x", w.id, name, n, err, rec.size(), want))
		}
	}
	return len(w.files), bad
}

func fileSum(p string) ([32]byte, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return [32]byte{}, 0, err
	}
	defer f.Close()
	var h hash.Hash = sha256.New()
	n, err := io.Copy(h, f)
	return [32]byte(h.Sum(nil)), n, err
}

// size formats a byte count.
func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
