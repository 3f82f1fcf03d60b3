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
}

func (s segment) reader() io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], s.seed)
	return io.LimitReader(rand.NewChaCha8(key), s.n)
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
