package main

import (
	"crypto/sha256"
	"encoding/binary"
	"io"
	"math/rand/v2"
)

// segment is a run of pseudo-random bytes that can be generated again
// from its seed, so the soak remembers what each file must hold without
// keeping the bytes.
type segment struct {
	seed uint64
	n    int64
	// text makes the bytes lines of printable ASCII ending in LF, with
	// no CR: content that TYPE A converts both ways without loss.
	text bool
}

func (s segment) reader() io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], s.seed)
	var r io.Reader = rand.NewChaCha8(key)
	if s.text {
		r = textReader{r}
	}
	return io.LimitReader(r, s.n)
}

// textReader maps random bytes to printable ASCII and LF (one byte in
// 40 on average; no CR).
type textReader struct{ r io.Reader }

func (t textReader) Read(b []byte) (int, error) {
	n, err := t.r.Read(b)
	for i, c := range b[:n] {
		if c%40 == 0 {
			b[i] = '\n'
		} else {
			b[i] = ' ' + c%95
		}
	}
	return n, err
}

// crlfReader turns every LF of r into CRLF: a text file as TYPE A puts it
// on the wire.
type crlfReader struct {
	r   io.Reader
	in  [16 << 10]byte
	out []byte // converted bytes not yet read
	err error
}

func newCRLFReader(r io.Reader) *crlfReader { return &crlfReader{r: r} }

func (c *crlfReader) Read(b []byte) (int, error) {
	for len(c.out) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		var n int
		n, c.err = c.r.Read(c.in[:])
		c.out = c.out[:0]
		for _, ch := range c.in[:n] {
			if ch == '\n' {
				c.out = append(c.out, '\r')
			}
			c.out = append(c.out, ch)
		}
	}
	n := copy(b, c.out)
	c.out = c.out[n:]
	return n, nil
}

// fileRec is what a file must hold: its segments, in order (STOR makes
// one, each APPE adds one).
type fileRec struct {
	segs []segment
}

func (f *fileRec) size() int64 {
	var n int64
	for _, s := range f.segs {
		n += s.n
	}
	return n
}

// text reports whether the file is text that TYPE A can carry: every
// segment of it is.
func (f *fileRec) text() bool {
	for _, s := range f.segs {
		if !s.text {
			return false
		}
	}
	return true
}

func (f *fileRec) reader() io.Reader {
	rs := make([]io.Reader, len(f.segs))
	for i, s := range f.segs {
		rs[i] = s.reader()
	}
	return io.MultiReader(rs...)
}

// sum is the SHA-256 of the file's bytes from offset on.
func (f *fileRec) sum(offset int64) [32]byte {
	r := f.reader()
	io.CopyN(io.Discard, r, offset)
	h := sha256.New()
	io.Copy(h, r)
	return [32]byte(h.Sum(nil))
}

// asciiSum is the SHA-256 and the length of a text file as a TYPE A
// download must deliver it: with CRLF line ends.
func (f *fileRec) asciiSum() ([32]byte, int64) {
	h := sha256.New()
	n, _ := io.Copy(h, newCRLFReader(f.reader()))
	return [32]byte(h.Sum(nil)), n
}
