package ftp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/time/rate"
)

const (
	// zeroCopyChunk caps one rate-limited step of the zero-copy path.
	zeroCopyChunk = 4 << 20
	// copyBufSize is the buffer of the user-space path (TLS, ASCII,
	// non-os.File storage): large, because TLS has no zero-copy path.
	copyBufSize = 256 << 10
)

// sendQueueBudget is how many bytes the zero-copy downloads running at
// once may keep queued in the kernel, not yet sent, between them; each
// gets an equal share as its socket's TCP_NOTSENT_LOWAT (the socket
// reports writable only below it). Without a cap, sendfile fills a
// socket's whole autotuned send buffer (up to 4 MiB) and the kernel then
// sends it piecemeal from the ACK path as the receiver's window opens.
// With 300 downloads at once on loopback that drove receive windows to
// zero ten times as often, fired twice the spurious tail-loss probes and
// tripled the receivers' kernel time: ftpbench 300 x RETR 10 MB took
// 1.10-1.34 s uncapped, 0.61-0.74 s at 64 KiB each, 0.66-0.71 s at 128 KiB
// and 0.81-0.88 s at 256 KiB. A lone download is better uncapped: at
// 64 KiB it wakes for every 64 KiB sent, and measured 7-12% slower
// (medians of 5 single-stream RETRs: 2,055-2,172 against 2,300-2,344
// MB/s). Sharing 4 MiB keeps both: 300 x RETR 0.60-0.64 s (fixed 64 KiB
// 0.53-0.60 s, a 16 MiB budget 0.64-0.68 s), one RETR uncapped.
const sendQueueBudget = 4 << 20

// minSendLowWater is the least share of sendQueueBudget a download gets.
const minSendLowWater = 64 << 10

// sendLowWater returns the TCP_NOTSENT_LOWAT for each of n zero-copy
// downloads running at once: 0 (the kernel's default, no cap below the
// send buffer) for a lone download, else its share of sendQueueBudget, at
// least minSendLowWater. The downloads re-read it between sendfile
// chunks, so the cap follows the count as transfers start and end.
func sendLowWater(n int32) int {
	if n <= 1 {
		return 0
	}
	return max(sendQueueBudget/int(n), minSendLowWater)
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// transfer is a command running on the data connection: a file transfer
// or a listing. It runs in its own goroutine so that the control
// connection stays responsive (ABOR, STAT, NOOP).
type transfer struct {
	cmd    string
	path   string
	offset int64
	start  time.Time
	bytes  atomic.Int64
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc

	aborted  atomic.Bool
	replied  atomic.Bool // the final reply is sent; done follows at once
	mu       sync.Mutex
	conn     net.Conn
	progress func() int64 // while a zero-copy runs: bytes moved so far
}

// moved returns the bytes moved so far, for STAT.
func (x *transfer) moved() int64 {
	x.mu.Lock()
	progress := x.progress
	x.mu.Unlock()
	if progress != nil {
		return progress()
	}
	return x.bytes.Load()
}

// zeroCopy runs copy, a single io.Copy between f and the data connection,
// so that the kernel moves the whole file (sendfile or splice) with no
// work per chunk in Go. Both calls advance f's offset, so a watchdog reads
// progress from it, renews the stall deadline while bytes move, and
// reports progress to STAT.
func (x *transfer) zeroCopy(f *os.File, setConnDeadline func(time.Time) error, stall time.Duration, copy func() (int64, error)) (int64, error) {
	start, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, &fileError{err}
	}
	progress := func() int64 {
		pos, err := f.Seek(0, io.SeekCurrent)
		if err != nil || pos < start {
			return 0
		}
		return pos - start
	}
	x.mu.Lock()
	x.progress = progress
	x.mu.Unlock()
	stop := watchStall(progress, setConnDeadline, stall)
	n, err := copy()
	stop()
	x.mu.Lock()
	x.progress = nil
	x.mu.Unlock()
	x.bytes.Add(n)
	if err != nil {
		return n, classifyCopyErr(err)
	}
	return n, nil
}

// watchStall keeps the data connection's deadline (set) a stall period
// ahead while progress moves, until stop is called; with no stall timeout
// it clears the deadline. Moving a deadline re-queues a runtime timer and
// may wake an idle thread to watch it, so the copy loops do not move it
// per chunk: a FTPS upload did 8,000 times a second.
func watchStall(progress func() int64, set func(time.Time) error, stall time.Duration) (stop func()) {
	if stall <= 0 {
		set(time.Time{})
		return func() {}
	}
	set(time.Now().Add(stall))
	return watchProgress(progress, stall, func() { set(time.Now().Add(stall)) })
}

// watchProgress calls renew whenever progress() has moved since the last
// look, a few times per stall period, until stop is called.
func watchProgress(progress func() int64, stall time.Duration, renew func()) (stop func()) {
	interval := min(max(stall/4, 10*time.Millisecond), 5*time.Second)
	var mu sync.Mutex
	stopped := false
	last := int64(0)
	var t *time.Timer
	var check func()
	check = func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		if p := progress(); p != last {
			last = p
			renew()
		}
		t.Reset(interval)
	}
	mu.Lock()
	t = time.AfterFunc(interval, check)
	mu.Unlock()
	return func() {
		mu.Lock()
		stopped = true
		t.Stop()
		mu.Unlock()
	}
}

// abort stops the transfer: it closes the data connection, which makes
// the copy return at once.
func (x *transfer) abort() {
	x.aborted.Store(true)
	x.cancel()
	x.mu.Lock()
	c := x.conn
	x.mu.Unlock()
	if c != nil {
		closeAbruptly(c)
	}
}

func (x *transfer) setConn(c net.Conn) {
	x.mu.Lock()
	x.conn = c
	x.mu.Unlock()
	if x.aborted.Load() {
		closeAbruptly(c)
	}
}

// closeAbruptly closes a data connection at once, a TLS one under its TLS
// layer. tls.Conn.Close would first send close_notify, and a client that
// has stopped reading (as it may on ABOR) leaves that write waiting on a
// full socket for up to 5 s, longer if the stall watchdog pushes the
// deadline out; a download's batch being sent holds the wire meanwhile
// (see dataWire.writeBatched). An aborted transfer owes the client no clean close.
func closeAbruptly(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	c.Close()
}

func (s *session) currentTransfer() *transfer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.xfer
}

func (s *session) transferring() bool { return s.currentTransfer() != nil }

// waitTransfer blocks until the running transfer, if any, has replied.
func (s *session) waitTransfer() {
	if x := s.currentTransfer(); x != nil {
		<-x.done
	}
}

// abortTransfer stops the running transfer, if any, and waits for it.
func (s *session) abortTransfer() bool {
	x := s.currentTransfer()
	if x == nil {
		return false
	}
	x.abort()
	<-x.done
	return true
}

func (s *session) handleABOR(string) {
	if !s.abortTransfer() {
		s.data.close()
		s.reply(225, "No transfer to abort.")
		return
	}
	s.reply(226, "ABOR command successful.")
}

// dataReady checks that a transfer command can open a data connection, and
// answers when it cannot.
func (s *session) dataReady() bool {
	if !s.data.ready() {
		s.reply(425, "Use PASV, EPSV, PORT or EPRT first.")
		return false
	}
	if s.srv.TLSDataRequired && !s.tls.prot {
		s.reply(521, "Data connections must be encrypted: send PBSZ 0 and PROT P first.")
		return false
	}
	return true
}

// xferResult is how a transfer body ended.
type xferResult struct {
	code int
	msg  string
}

// startTransfer replies 150 and runs body on the data connection in a new
// goroutine. body's result is the final reply; it runs with the data
// connection open and must not close it.
func (s *session) startTransfer(cmd, vpath, opening string, offset int64, body func(x *transfer, conn net.Conn) xferResult) {
	l, active, _ := s.data.take()
	ctx, cancel := context.WithCancel(s.ctx)
	x := &transfer{cmd: cmd, path: vpath, offset: offset, start: time.Now(), done: make(chan struct{}), ctx: ctx, cancel: cancel}
	s.mu.Lock()
	s.xfer = x
	s.mu.Unlock()
	s.reply(150, opening)
	go s.runTransfer(x, l, active, body)
}

func (s *session) runTransfer(x *transfer, l *net.TCPListener, active netip.AddrPort, body func(x *transfer, conn net.Conn) xferResult) {
	res := xferResult{426, "Transfer aborted."}
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in transfer", "panic", r)
			res = xferResult{451, "Internal server error; transfer aborted."}
		}
		x.cancel()
		x.replied.Store(true)      // before the reply: the client may answer it at once
		s.reply(res.code, res.msg) // which restarts the idle clock (armDeadline)
		s.mu.Lock()
		s.xfer = nil
		s.mu.Unlock()
		close(x.done)
	}()
	conn, err := s.openData(x.ctx, l, active)
	if err == nil {
		x.setConn(conn) // so that ABOR can cut a stalled TLS handshake
		conn, err = s.secureData(x.ctx, conn)
	}
	if err != nil {
		if x.aborted.Load() {
			res = xferResult{426, "Transfer aborted."}
		} else {
			s.log.Info("data connection failed", "cmd", x.cmd, "err", err)
			res = xferResult{425, "Can't open data connection: " + err.Error()}
		}
		body(x, nil)
		return
	}
	x.setConn(conn)
	res = body(x, conn)
	if err := conn.Close(); err != nil && res.code < 400 && !x.aborted.Load() {
		res = xferResult{426, "Data connection closed with an error; transfer may be incomplete."}
	}
}

// failure turns a copy error into the reply for it.
func (s *session) failure(x *transfer, err error, upload bool) xferResult {
	switch {
	case x.aborted.Load():
		return xferResult{426, "Transfer aborted."}
	case isTimeout(err):
		return xferResult{426, "Data connection stalled; transfer aborted."}
	}
	var fe *fileError
	if errors.As(err, &fe) {
		code, msg, known := fsReply(fe.err)
		if !known {
			s.log.Warn("file error during transfer", "path", x.path, "err", fe.err)
		}
		if code == 550 || code == 553 {
			code, msg = 451, "Local error in processing: "+msg
		}
		return xferResult{code, msg}
	}
	if errors.Is(err, errNoCloseNotify) {
		return xferResult{426, "TLS data connection closed without close_notify; the upload may be incomplete (the partial file is kept)."}
	}
	if upload {
		return xferResult{426, "Data connection broken; upload incomplete (the partial file is kept)."}
	}
	return xferResult{426, "Data connection broken; transfer aborted."}
}

// errTruncated reports a file that shrank while it was being sent.
var errTruncated = errors.New("ftp: file truncated during transfer")

// fileError marks an error of the file (not of the network) in a copy.
type fileError struct{ err error }

func (e *fileError) Error() string { return e.err.Error() }
func (e *fileError) Unwrap() error { return e.err }

// report logs a finished file transfer and runs its hooks.
func (s *session) report(x *transfer, upload bool, err error) {
	n := x.bytes.Load()
	d := time.Since(x.start)
	secs := d.Seconds()
	var rateStr string
	if secs > 0 {
		rateStr = formatRate(float64(n) / secs)
	}
	if err == nil {
		s.log.Info("transfer complete", "cmd", x.cmd, "path", x.path, "bytes", n, "seconds", round3(secs), "rate", rateStr)
	} else {
		s.log.Info("transfer incomplete", "cmd", x.cmd, "path", x.path, "bytes", n, "seconds", round3(secs), "rate", rateStr, "err", err)
	}
	ti := TransferInfo{Session: s.info(), Command: x.cmd, Path: x.path, Offset: x.offset, Bytes: n, Duration: d, Err: err}
	h := &s.srv.Hooks
	var f func(TransferInfo)
	switch {
	case upload && err == nil:
		f = h.FileReceived
	case upload:
		f = h.IncompleteReceived
	case err == nil:
		f = h.FileSent
	default:
		f = h.IncompleteSent
	}
	if f != nil {
		f(ti)
	}
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

func formatRate(bps float64) string {
	switch {
	case bps >= 1<<30:
		return strconv.FormatFloat(bps/(1<<30), 'f', 2, 64) + " GiB/s"
	case bps >= 1<<20:
		return strconv.FormatFloat(bps/(1<<20), 'f', 2, 64) + " MiB/s"
	case bps >= 1<<10:
		return strconv.FormatFloat(bps/(1<<10), 'f', 2, 64) + " KiB/s"
	}
	return strconv.FormatFloat(bps, 'f', 0, 64) + " B/s"
}

// limiter returns the session's rate limiter for a direction, or nil.
func (s *session) limiter(upload bool) *rate.Limiter {
	if upload {
		return s.upLimit
	}
	return s.downLimit
}

func newLimiter(bps int64) *rate.Limiter {
	if bps <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(bps), limitChunk(bps))
}

// limitChunk is the size of one rate-limited step: a quarter second of
// data, so the flow stays smooth, within sane bounds.
func limitChunk(bps int64) int {
	return int(min(max(bps/4, 4<<10), zeroCopyChunk))
}

func (s *session) handleRETR(arg string) {
	offset := s.restOffset
	s.restOffset = 0 // a REST serves the next transfer command, whatever becomes of it
	p := s.abs(arg)
	if !s.permit(PermRetrieve, p) {
		return
	}
	f, err := s.acct.FS.OpenFile(p, os.O_RDONLY, 0)
	if err != nil {
		s.replyFSErr("retr", p, err)
		return
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
		f.Close()
		s.replyFSErr("retr", p, err)
		return
	case fi.IsDir():
		f.Close()
		s.reply(550, "Is a directory.")
		return
	case !fi.Mode().IsRegular():
		f.Close()
		s.reply(550, "Not a regular file.")
		return
	case offset > fi.Size():
		f.Close()
		s.reply(554, fmt.Sprintf("REST offset %d is beyond the end of the file (%d bytes).", offset, fi.Size()))
		return
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			s.replyFSErr("retr", p, err)
			return
		}
	}
	if !s.dataReady() {
		f.Close()
		return
	}
	ascii := s.ascii
	size := fi.Size()
	opening := fmt.Sprintf("Opening %s mode data connection for %s (%d bytes).", modeName(ascii), p, size-offset)
	s.startTransfer("RETR", p, opening, offset, func(x *transfer, conn net.Conn) xferResult {
		defer f.Close()
		if conn == nil {
			return xferResult{} // the data connection failed; nothing was sent
		}
		err := s.sendFile(x, conn, f, ascii)
		if err == nil {
			// A file cut short while it was sent ends early with no error:
			// the offset tells, and a short download must not pass as whole.
			if pos, serr := f.Seek(0, io.SeekCurrent); serr == nil && pos < size {
				err = &fileError{fmt.Errorf("%w: the file shrank to %d of %d bytes during the transfer", errTruncated, pos, size)}
			}
		}
		if err != nil {
			s.report(x, false, err)
			return s.failure(x, err, false)
		}
		s.report(x, false, nil)
		return xferResult{226, "Transfer complete."}
	})
}

func modeName(ascii bool) string {
	if ascii {
		return "ASCII"
	}
	return "BINARY"
}

// sendFile copies f to the data connection: with sendfile when both ends
// allow it, else through a large buffer (converting to CRLF in ASCII mode).
func (s *session) sendFile(x *transfer, conn net.Conn, f File, ascii bool) error {
	stall := duration(s.srv.StallTimeout, DefaultStallTimeout)
	lim := s.limiter(false)
	tc, tcpOK := conn.(*net.TCPConn)
	osf, fileOK := f.(*os.File)
	if tcpOK && fileOK && !ascii {
		if lim == nil {
			running := &s.srv.downloads
			running.Add(1)
			defer running.Add(-1)
			lowWater := func() int { return sendLowWater(running.Load()) }
			_, err := x.zeroCopy(osf, tc.SetWriteDeadline, stall, func() (int64, error) { return sendFileTo(tc, osf, &x.aborted, lowWater) })
			return err
		}
		lr := &io.LimitedReader{R: osf}
		return x.limitedCopy(lim, lr, tc.SetWriteDeadline, stall, func() (int64, error) { return io.Copy(tc, lr) })
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	in := buf
	var conv asciiEncoder
	if ascii {
		in = buf[:len(buf)/2] // the other half takes the CRs that LFs gain
	}
	if lim != nil {
		in = in[:min(len(in), lim.Burst())]
	}
	stop := watchStall(x.bytes.Load, conn.SetWriteDeadline, stall)
	defer stop()
	wire := wireOf(conn) // nil unless TLS
	for {
		n, rerr := f.Read(in)
		if n > 0 {
			out := in[:n]
			if ascii {
				out = conv.encode(buf[len(buf)/2:len(buf)/2], in[:n])
			}
			if lim != nil {
				if err := lim.WaitN(x.ctx, len(out)); err != nil {
					return err
				}
			}
			if err := writeCounted(conn, wire, out, &x.bytes); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return &fileError{rerr}
		}
	}
}

// limitedCopy runs a rate-limited zero-copy transfer: each step waits for
// the limiter's burst, then copy moves at most that much through lr (the
// kernel still copies; only the pace is ours). A short step means the end.
func (x *transfer) limitedCopy(lim *rate.Limiter, lr *io.LimitedReader, setConnDeadline func(time.Time) error, stall time.Duration, copy func() (int64, error)) error {
	chunk := int64(lim.Burst())
	for {
		if err := lim.WaitN(x.ctx, int(chunk)); err != nil {
			return err
		}
		lr.N = chunk
		setDeadline(setConnDeadline, stall)
		n, err := copy()
		x.bytes.Add(n)
		if err != nil {
			return classifyCopyErr(err)
		}
		if n < chunk {
			return nil
		}
	}
}

// classifyCopyErr tells file errors from network errors after a zero-copy
// call: splice reports both through one error wrapped as a write to the
// file, so the errno decides.
func classifyCopyErr(err error) error {
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EFBIG, syscall.EIO, syscall.EROFS} {
		if errors.Is(err, errno) {
			return &fileError{err}
		}
	}
	return err
}

func setDeadline(set func(time.Time) error, d time.Duration) {
	if d > 0 {
		set(time.Now().Add(d))
	} else {
		set(time.Time{})
	}
}

// asciiEncoder turns bare LF into CRLF, leaving existing CRLF alone, even
// when a CR and its LF fall in different chunks.
type asciiEncoder struct{ lastCR bool }

func (e *asciiEncoder) encode(dst, src []byte) []byte {
	for _, c := range src {
		if c == '\n' && !e.lastCR {
			dst = append(dst, '\r')
		}
		dst = append(dst, c)
		e.lastCR = c == '\r'
	}
	return dst
}

// asciiDecoder turns CRLF into LF; a lone CR is kept. A CR at the end of a
// chunk is held back until the next byte is known.
type asciiDecoder struct{ pendingCR bool }

func (d *asciiDecoder) decode(dst, src []byte) []byte {
	for _, c := range src {
		if d.pendingCR {
			d.pendingCR = false
			if c != '\n' {
				dst = append(dst, '\r')
			}
		}
		if c == '\r' {
			d.pendingCR = true
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// flush returns a CR held back at the end of the stream.
func (d *asciiDecoder) flush(dst []byte) []byte {
	if d.pendingCR {
		d.pendingCR = false
		dst = append(dst, '\r')
	}
	return dst
}

func (s *session) handleSTOR(arg string) { s.store("STOR", s.abs(arg), false) }

func (s *session) handleAPPE(arg string) { s.store("APPE", s.abs(arg), true) }

func (s *session) handleSTOU(arg string) {
	if s.restOffset != 0 {
		s.restOffset = 0
		s.reply(450, "Cannot STOU while a REST is pending: a new file has nothing to resume.")
		return
	}
	if !s.dataReady() {
		return
	}
	dir, prefix := s.cwd, "ftp"
	if arg != "" {
		p := s.abs(arg)
		dir, prefix = path.Dir(p), path.Base(p)
	}
	if !s.permit(PermStore, dir) {
		return
	}
	// The name the client suggested, if free, else the name with a
	// random suffix; O_EXCL makes "free" certain.
	var f File
	var p string
	var err error
	for i := 0; i < 10; i++ {
		p = path.Join(dir, prefix)
		if i > 0 || arg == "" {
			var b [4]byte
			rand.Read(b[:])
			p += "." + hex.EncodeToString(b[:])
		}
		f, err = s.acct.FS.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		s.replyFSErr("stou", p, err)
		return
	}
	unlock, ok := s.srv.lockUpload(s.acct.FS, p)
	if !ok {
		f.Close()
		s.reply(450, "File is being uploaded by another session.")
		return
	}
	noop := func() error { return nil }
	s.receive("STOU", p, f, 0, unlock, noop, func() { s.acct.FS.Remove(p) }, "FILE: "+path.Base(p))
}

// store runs STOR and APPE. Replacing an existing file destroys it, so it
// needs the delete permission as well as store (a drop box can then take
// new files without letting anyone overwrite them).
func (s *session) store(cmd, p string, appendMode bool) {
	need := PermStore
	if appendMode {
		need = PermAppend
	}
	offset := s.restOffset
	s.restOffset = 0 // a REST serves the next transfer command, whatever becomes of it
	if !s.permit(need, p) {
		return
	}
	// The lock comes first, so that what is checked below still holds
	// when the file is opened: no other upload can create it meanwhile.
	unlock, ok := s.srv.lockUpload(s.acct.FS, p)
	if !ok {
		s.reply(450, "File is being uploaded by another session.")
		return
	}
	exists, ok := s.checkStore(p, offset, appendMode)
	if !ok {
		unlock()
		return
	}
	s.openUpload(cmd, p, offset, appendMode, exists, unlock)
}

// checkStore answers when an upload to p cannot go ahead, and reports
// whether p exists.
func (s *session) checkStore(p string, offset int64, appendMode bool) (exists, ok bool) {
	fi, statErr := s.acct.FS.Stat(p)
	exists = statErr == nil
	if !exists {
		if lfi, err := s.acct.FS.Lstat(p); err == nil && lfi.Mode()&fs.ModeSymlink != 0 {
			s.reply(550, "The name is a symbolic link that does not resolve.")
			return exists, false
		}
	}
	switch {
	case exists && fi.IsDir():
		s.reply(550, "Is a directory.")
		return exists, false
	case exists && !fi.Mode().IsRegular():
		s.reply(550, "Not a regular file.")
		return exists, false
	case exists && !appendMode && !s.can(PermDelete, p):
		s.reply(550, "File exists; permission denied to replace it.")
		return exists, false
	case offset > 0 && !exists:
		s.reply(550, "No such file or directory to resume.")
		return exists, false
	case exists && offset > fi.Size():
		s.reply(554, fmt.Sprintf("REST offset %d is beyond the end of the file (%d bytes).", offset, fi.Size()))
		return exists, false
	}
	return exists, s.dataReady()
}

// openUpload opens p for an upload that checkStore allowed, and starts it.
func (s *session) openUpload(cmd, p string, offset int64, appendMode, exists bool, unlock func()) {
	// Never O_APPEND: the kernel will not splice into such a file. An
	// existing file is truncated only once the data connection is open,
	// so a failed connection loses nothing.
	flag := os.O_WRONLY | os.O_CREATE
	if !exists {
		flag |= os.O_EXCL
	}
	f, err := s.acct.FS.OpenFile(p, flag, 0o644)
	if err != nil {
		unlock()
		s.replyFSErr(cmd, p, err)
		return
	}
	truncateAt := int64(-1)
	var seekErr error
	switch {
	case appendMode && offset == 0:
		offset, seekErr = f.Seek(0, io.SeekEnd)
	case offset > 0:
		_, seekErr = f.Seek(offset, io.SeekStart)
		if !appendMode {
			truncateAt = offset // what follows the offset is what the client sends now
		}
	case exists:
		truncateAt = 0
	}
	if seekErr != nil {
		f.Close()
		unlock()
		s.replyFSErr(cmd, p, seekErr)
		return
	}
	prepare := func() error {
		if truncateAt < 0 {
			return nil
		}
		t, ok := f.(interface{ Truncate(int64) error })
		if !ok {
			return errors.New("ftp: the filesystem's File cannot truncate; STOR over an existing file needs Truncate")
		}
		return t.Truncate(truncateAt)
	}
	cleanup := func() {
		if !exists {
			s.acct.FS.Remove(p) // created for nothing: no data connection came
		}
	}
	s.receive(cmd, p, f, offset, unlock, prepare, cleanup, fmt.Sprintf("Opening %s mode data connection for %s.", modeName(s.ascii), p))
}

// receive runs an upload into f, already open and positioned. prepare
// runs once the data connection is open; cleanup runs instead when it
// could not be opened.
func (s *session) receive(cmd, p string, f File, offset int64, unlock func(), prepare func() error, cleanup func(), opening string) {
	ascii := s.ascii
	s.startTransfer(cmd, p, opening, offset, func(x *transfer, conn net.Conn) xferResult {
		defer unlock()
		if conn == nil {
			f.Close()
			cleanup()
			return xferResult{}
		}
		err := prepare()
		if err == nil {
			err = s.receiveFile(x, conn, f, ascii)
		} else {
			err = &fileError{err}
		}
		// 226 only once the file is safely closed.
		if cerr := f.Close(); cerr != nil && err == nil {
			err = &fileError{cerr}
		}
		s.report(x, true, err)
		if err != nil {
			return s.failure(x, err, true)
		}
		return xferResult{226, "Transfer complete."}
	})
}

// receiveFile copies the data connection into f: with splice when both
// ends allow it, else through a large buffer (CRLF to LF in ASCII mode).
func (s *session) receiveFile(x *transfer, conn net.Conn, f File, ascii bool) error {
	stall := duration(s.srv.StallTimeout, DefaultStallTimeout)
	lim := s.limiter(true)
	tc, tcpOK := conn.(*net.TCPConn)
	osf, fileOK := f.(*os.File)
	if tcpOK && fileOK && !ascii {
		if lim == nil {
			_, err := x.zeroCopy(osf, tc.SetReadDeadline, stall, func() (int64, error) { return io.Copy(osf, tc) })
			return err
		}
		lr := &io.LimitedReader{R: tc}
		return x.limitedCopy(lim, lr, tc.SetReadDeadline, stall, func() (int64, error) { return io.Copy(osf, lr) })
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	in, out := buf[:len(buf)/2], buf[len(buf)/2:]
	if lim != nil {
		in = in[:min(len(in), lim.Burst())]
	}
	var dec asciiDecoder
	stop := watchStall(x.bytes.Load, conn.SetReadDeadline, stall)
	defer stop()
	for {
		n, rerr := readAtLeast(conn, in, len(in)/2, &x.bytes)
		if n > 0 {
			data := in[:n]
			if ascii {
				data = dec.decode(out[:0], data)
			}
			if _, err := f.Write(data); err != nil {
				return &fileError{err}
			}
			if lim != nil {
				if err := lim.WaitN(x.ctx, n); err != nil {
					return err
				}
			}
		}
		if rerr == io.EOF {
			if endedWithoutCloseNotify(conn) {
				if s.srv.TLSCloseNotifyRequired {
					return errNoCloseNotify
				}
				s.log.Warn("TLS upload ended without close_notify: the client may have been cut off, and the file cut short",
					"path", x.path, "bytes", x.bytes.Load())
			}
			if tail := dec.flush(out[:0]); len(tail) > 0 {
				if _, err := f.Write(tail); err != nil {
					return &fileError{err}
				}
			}
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// writeCounted writes b to w in pieces of writePiece, adding each to
// moved, so that a slow download shows progress to the stall watchdog
// between pieces. Over TLS (wire is the connection under w) each piece's
// records go out in one write(2): four where tls.Conn alone makes one per
// 16 KiB record.
func writeCounted(w io.Writer, wire *dataWire, b []byte, moved *atomic.Int64) error {
	for len(b) > 0 {
		piece := b[:min(len(b), writePiece)]
		var n int
		var err error
		if wire != nil {
			n, err = wire.writeBatched(w, piece)
		} else {
			n, err = w.Write(piece)
		}
		moved.Add(int64(n))
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// writePiece is the most writeCounted writes at once.
const writePiece = 64 << 10

// readAtLeast reads into buf until it holds min bytes or the reader fails,
// adding each read to moved so that a slow upload shows progress (the
// stall watchdog looks at it). A TLS connection returns one 16 KiB record
// per Read; gathering several saves file writes.
func readAtLeast(r io.Reader, buf []byte, min int, moved *atomic.Int64) (int, error) {
	n := 0
	for n < min {
		m, err := r.Read(buf[n:])
		n += m
		moved.Add(int64(m))
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// lockUpload reserves a file for one upload at a time, so that two clients
// storing the same name cannot interleave their bytes: the second is
// refused while the first runs.
func (srv *Server) lockUpload(fsys FileSystem, p string) (unlock func(), ok bool) {
	key := uploadKey{fsys: fsys, path: p}
	if d, isRoot := fsys.(interface{ Dir() string }); isRoot {
		// Users whose homes overlap share files on disk.
		key = uploadKey{path: path.Join(d.Dir(), p)}
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.uploads == nil {
		srv.uploads = make(map[uploadKey]struct{})
	}
	if _, busy := srv.uploads[key]; busy {
		return nil, false
	}
	srv.uploads[key] = struct{}{}
	return func() {
		srv.mu.Lock()
		delete(srv.uploads, key)
		srv.mu.Unlock()
	}, true
}

type uploadKey struct {
	fsys FileSystem
	path string
}
