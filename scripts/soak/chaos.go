package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// The ways -chaos interrupts a transfer, as real clients do.
const (
	// chaosABOR sends ABOR mid-transfer (with the Telnet IP and Synch
	// before it, in band, one time in two), and wants the transfer's 426
	// then ABOR's 226; or, for a download the server had finished, its
	// 226, then ABOR's 225 (no transfer left) or 226 (the transfer had
	// replied but not yet let go).
	chaosABOR = "ABOR"
	// chaosClose resets the data connection mid-transfer and wants 426;
	// or 226 for a download the server had finished sending.
	chaosClose = "close data"
	// chaosDrop resets the control and the data connection mid-transfer,
	// as a client killed or cut off, then logs in again.
	chaosDrop = "drop"
	// chaosQUIT sends QUIT mid-transfer and carries on: the engine lets
	// the transfer end (226) before it says 221 and closes the session.
	chaosQUIT = "QUIT"
)

var chaosKinds = []string{chaosABOR, chaosClose, chaosDrop, chaosQUIT}

// chaosNames are what the report counts of -chaos: the interruptions, in
// the order it lists them, and the STORs that replace a file whose upload
// was interrupted.
var chaosNames = []string{chaosABOR, chaosClose, chaosDrop, chaosQUIT, "re-STOR"}

// chaosOp reports whether op can be interrupted.
func chaosOp(op string) bool {
	switch op {
	case "STOR", "APPE", "RETR", "LIST":
		return true
	}
	return false
}

// reStoreWait is how long an upload of a name whose upload was interrupted
// may be refused (450: the engine still holds the name's upload lock)
// before the run fails: the engine lets go of it as the transfer ends,
// within moments even when it has to notice a dropped connection.
const reStoreWait = 3 * time.Second

// interrupt runs op (STOR, APPE, RETR or LIST) on name and interrupts it
// at a random point in one of the chaosKinds, chosen at random; it checks
// the replies, and after an upload the file and a new STOR of its name.
// It returns the kind, and leaves w.c nil if the session is gone and
// could not be replaced.
func (w *worker) interrupt(op, name string) (kind string, up, down int64, err error) {
	kind = chaosKinds[w.rng.IntN(len(chaosKinds))]
	var old *fileRec // an upload's file before it: nil for a new file
	var seg segment  // an upload's bytes
	var want io.Reader
	var size int64 = -1 // what the transfer carries in all; -1 if unknown (LIST)
	line := op + " " + name
	switch op {
	case "STOR":
		name = w.next("f")
		line = "STOR " + name
		w.lost[name] = true // until it is stored again
		seg = segment{w.rng.Uint64(), w.newSize(), false}
		want, size = seg.reader(), seg.n
	case "APPE":
		old = w.files[name]
		delete(w.files, name)
		w.lost[name] = true
		seg = segment{w.rng.Uint64(), w.newSize(), false}
		want, size = seg.reader(), seg.n
	case "RETR":
		rec := w.files[name]
		want, size = rec.reader(), rec.size()
	case "LIST":
		line = "LIST"
	}
	upload := op == "STOR" || op == "APPE"
	var at int64 // where the transfer is interrupted
	if size >= 0 {
		at = w.rng.Int64N(size + 1)
	} else {
		at = w.rng.Int64N(2048)
	}
	var abortLine string
	if kind == chaosABOR {
		abortLine = "ABOR"
		if w.rng.IntN(2) == 0 {
			abortLine = "\xff\xf4\xff\xf2ABOR" // Telnet IP and Synch, as ftplib and FileZilla send them
		}
	}
	c := w.c
	dc, d, err := c.begin(line)
	if err != nil {
		return kind, 0, 0, err
	}
	defer dc.close()
	dd := deadlineConn{d, c.timeout}
	// The first part of the transfer, up to the interruption.
	var check *prefixWriter
	if upload {
		up, err = io.CopyN(dd, want, at)
	} else {
		check = &prefixWriter{want: want} // a listing's want is nil: not checked
		down, err = io.CopyN(check, dd, at)
		if err == io.EOF && size < 0 {
			err = nil // a listing shorter than the point chosen
		}
	}
	if err != nil {
		return kind, up, down, fmt.Errorf("%s: data before the interruption at %d: %w", line, at, err)
	}
	start := time.Now()
	switch kind {
	case chaosABOR:
		err = w.abort(line, abortLine, upload)
		dc.close()
	case chaosClose:
		reset(dc.raw)
		dc.close()
		err = w.expectClosed(line, upload, dc.verb == "PORT" || dc.verb == "EPRT")
	case chaosDrop:
		reset(dc.raw)
		reset(c.raw)
		w.c = nil
	case chaosQUIT:
		var n int64
		if n, err = w.quitDuring(line, dd, want, check, upload); upload {
			up += n
		} else {
			down += n
		}
		if err == nil && size >= 0 && up+down != size {
			err = fmt.Errorf("%s with QUIT: %d bytes moved, want %d", line, up+down, size)
		}
		if err == nil && upload {
			// The transfer ended with 226: the file is whole.
			rec := &fileRec{segs: []segment{seg}}
			if old != nil {
				rec.segs = append(append([]segment(nil), old.segs...), seg)
			}
			w.files[name] = rec
			delete(w.lost, name)
		}
		c.close()
		w.c = nil
	}
	w.st.latency(kind, time.Since(start))
	if err != nil {
		return kind, up, down, err
	}
	if w.c == nil {
		if err := w.connect(false); err != nil {
			return kind, up, down, fmt.Errorf("log in again after %s: %w", kind, err)
		}
		w.st.done("reconnect", 0, 0)
	}
	if upload && kind != chaosQUIT {
		if err := w.checkPartial(name, old, seg); err != nil {
			return kind, up, down, err
		}
		n, err := w.reStore(name)
		up += n
		if err != nil {
			return kind, up, down, err
		}
	}
	return kind, up, down, nil
}

// abort sends ABOR (as abortLine) in the middle of line and checks the
// replies, then that the session still answers.
func (w *worker) abort(line, abortLine string, upload bool) error {
	c := w.c
	if err := c.send(abortLine); err != nil {
		return fmt.Errorf("ABOR during %s: %w", line, err)
	}
	first, text1, err := c.readReply()
	if err != nil {
		return fmt.Errorf("ABOR during %s: %w", line, err)
	}
	second, text2, err := c.readReply()
	if err != nil {
		return fmt.Errorf("ABOR during %s: after %d %s: %w", line, first, text1, err)
	}
	// An upload cannot have ended: the client has not closed its data
	// connection. A download may have: the server then has its 226 out,
	// and ABOR finds no transfer (225) or one about to let go (226).
	switch {
	case first == 426 && second == 226:
	case !upload && first == 226 && (second == 225 || second == 226):
	default:
		or := ""
		if !upload {
			or = " (or 226 then 225 or 226)"
		}
		return fmt.Errorf("ABOR during %s: replies %d %s, %d %s; want 426 then 226%s", line, first, text1, second, text2, or)
	}
	if _, err := c.expect("NOOP", 200); err != nil {
		return fmt.Errorf("after ABOR during %s: %w", line, err)
	}
	return nil
}

// expectClosed checks the reply to a transfer whose data connection the
// client reset: 426, or 226 for a download the server had finished. In
// active mode the reset may come before the server's connect(2) has
// seen its connection established, and the server then fails to open it
// (425): the client's accept returns as soon as the kernel completes the
// handshake.
func (w *worker) expectClosed(line string, upload, active bool) error {
	code, text, err := w.c.readReply()
	if err != nil {
		return fmt.Errorf("%s with its data connection reset: %w", line, err)
	}
	switch {
	case code == 426:
	case code == 226 && !upload:
	case code == 425 && active:
	default:
		want := "426"
		if !upload {
			want += " or 226"
		}
		if active {
			want += " or 425"
		}
		return fmt.Errorf("%s with its data connection reset: got %d %s, want %s", line, code, text, want)
	}
	if _, err := w.c.expect("NOOP", 200); err != nil {
		return fmt.Errorf("after %s with its data connection reset: %w", line, err)
	}
	return nil
}

// quitDuring sends QUIT in the middle of line and finishes the transfer:
// the engine answers QUIT only once the transfer has replied, so it wants
// 226, then 221, then the end of the control connection. It returns the
// bytes moved after the QUIT.
func (w *worker) quitDuring(line string, dd deadlineConn, want io.Reader, check *prefixWriter, upload bool) (int64, error) {
	c := w.c
	if err := c.send("QUIT"); err != nil {
		return 0, fmt.Errorf("QUIT during %s: %w", line, err)
	}
	var n int64
	var err error
	if upload {
		n, err = io.Copy(dd, want)
		if err == nil {
			err = dd.Close() // for TLS, close_notify: the end of the file
		}
	} else {
		n, err = io.Copy(check, dd)
		if err == nil && check.want != nil {
			err = check.atEnd()
		}
	}
	if err != nil {
		return n, fmt.Errorf("%s after QUIT: data: %w", line, err)
	}
	if _, err := c.expect("", 226); err != nil {
		return n, fmt.Errorf("%s after QUIT: %w", line, err)
	}
	if _, err := c.expect("", 221); err != nil {
		return n, fmt.Errorf("QUIT during %s, after the 226: %w", line, err)
	}
	c.conn.SetReadDeadline(time.Now().Add(c.timeout))
	if b, err := c.r.ReadByte(); err == nil {
		return n, fmt.Errorf("QUIT during %s: the server sent %q after 221 instead of closing the connection", line, b)
	} else if isTimeout(err) {
		return n, fmt.Errorf("QUIT during %s: the connection still open %v after 221", line, c.timeout)
	}
	return n, nil
}

// checkPartial checks a file whose upload was interrupted: what is there
// must be a prefix of the bytes sent (STOR) or the old content followed
// by a prefix of the bytes appended (APPE). A new file may be absent.
func (w *worker) checkPartial(name string, old *fileRec, seg segment) error {
	var want io.Reader = seg.reader()
	var least int64
	if old != nil {
		want, least = io.MultiReader(old.reader(), want), old.size()
	}
	check := &prefixWriter{want: want}
	n, err := w.c.download("RETR "+name, check)
	var re *replyError
	switch {
	case old == nil && errors.As(err, &re) && re.code == 550:
		return nil // the upload left nothing
	case err != nil:
		return fmt.Errorf("RETR %s after an interrupted upload: %w", name, err)
	case n < least:
		return fmt.Errorf("%s after an interrupted APPE: %d bytes, fewer than the %d it had", name, n, least)
	}
	return nil
}

// reStore stores name anew after an interrupted upload, and records it.
// The engine refuses (450) a second upload of a name while one runs, so a
// lock that outlived its transfer would refuse this one for ever: a few
// refusals are allowed while the engine notices the interruption, for
// reStoreWait.
func (w *worker) reStore(name string) (int64, error) {
	rec := &fileRec{segs: []segment{{w.rng.Uint64(), w.newSize(), false}}}
	start := time.Now()
	for refused := 0; ; refused++ {
		n, err := w.c.upload("STOR "+name, rec.segs[0].reader())
		var re *replyError
		if errors.As(err, &re) && re.code == 450 && time.Since(start) < reStoreWait {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if err != nil {
			if refused > 0 {
				err = fmt.Errorf("%w (refused %d times over %v)", err, refused, time.Since(start).Round(time.Millisecond))
			}
			return n, fmt.Errorf("STOR again after an interrupted upload: %w", err)
		}
		w.st.reStored(refused, time.Since(start))
		w.files[name] = rec
		delete(w.lost, name)
		return n, nil
	}
}

// prefixWriter checks that what is written to it is a prefix of want (a
// nil want checks nothing).
type prefixWriter struct {
	want io.Reader
	n    int64
	buf  []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if p.want == nil {
		p.n += int64(len(b))
		return len(b), nil
	}
	if cap(p.buf) < len(b) {
		p.buf = make([]byte, len(b))
	}
	exp := p.buf[:len(b)]
	m, _ := io.ReadFull(p.want, exp)
	if m < len(b) || !bytes.Equal(b, exp) {
		i := 0
		for i < m && b[i] == exp[i] {
			i++
		}
		return 0, fmt.Errorf("byte %d differs from what was stored (or is past its end)", p.n+int64(i))
	}
	p.n += int64(len(b))
	return len(b), nil
}

// atEnd reports an error unless all of want was written.
func (p *prefixWriter) atEnd() error {
	if n, _ := p.want.Read(make([]byte, 1)); n > 0 {
		return fmt.Errorf("the data ended after %d bytes, short of what was stored", p.n)
	}
	return nil
}

// printChaos reports the waits of -chaos.
func (r *soakReport) printChaos(w io.Writer) {
	if n := r.ops["re-STOR"]; n > 0 {
		fmt.Fprintf(w, "%d STORs after an interrupted upload: refused (450) %d times in all first, longest wait %v\n",
			n, r.reStoreRefused, r.reStoreWait.Round(time.Millisecond))
	}
	var s []string
	for _, k := range chaosKinds {
		if d, ok := r.slowest[k]; ok {
			s = append(s, fmt.Sprintf("%s %v", k, d.Round(time.Millisecond)))
		}
	}
	if len(s) > 0 {
		fmt.Fprintf(w, "slowest interruption (to the last reply, or the reset): %s\n", strings.Join(s, ", "))
	}
}
