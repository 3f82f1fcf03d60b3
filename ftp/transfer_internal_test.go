package ftp

import (
	"bytes"
	"testing"
)

// unitToCRLF is the reference TYPE A encoding of a whole stream: every LF
// that does not follow a CR gains one.
func unitToCRLF(b []byte) []byte {
	var out []byte
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

// unitFromCRLF is the reference TYPE A decoding of a whole stream: CRLF
// becomes LF, any other CR stays.
func unitFromCRLF(b []byte) []byte {
	return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
}

// unitEncodeChunks runs asciiEncoder over b cut into chunks at cuts.
func unitEncodeChunks(b []byte, cuts []int) []byte {
	var e asciiEncoder
	var out []byte
	prev := 0
	for _, c := range append(cuts, len(b)) {
		out = e.encode(out, b[prev:c])
		prev = c
	}
	return out
}

// unitDecodeChunks runs asciiDecoder over b cut into chunks at cuts.
func unitDecodeChunks(b []byte, cuts []int) []byte {
	var d asciiDecoder
	var out []byte
	prev := 0
	for _, c := range append(cuts, len(b)) {
		out = d.decode(out, b[prev:c])
		prev = c
	}
	return d.flush(out)
}

var unitASCIISamples = []string{
	"",
	"\n",
	"\r",
	"\r\n",
	"\n\r",
	"\r\r\n",
	"\r\n\n",
	"a\nb\r\nc\rd\n",
	"line\r",
	"\r\r\r",
	"\n\n\n",
	"x\r\ny\r\rz\n\r\n",
}

// TestUnitASCIIEncoder checks LF -> CRLF for every way of cutting the
// stream into two chunks and into single bytes: a CR at the end of one
// chunk and its LF at the start of the next must not gain a second CR.
func TestUnitASCIIEncoder(t *testing.T) {
	for _, s := range unitASCIISamples {
		in := []byte(s)
		want := unitToCRLF(in)
		for cut := 0; cut <= len(in); cut++ {
			if got := unitEncodeChunks(in, []int{cut}); !bytes.Equal(got, want) {
				t.Errorf("encode(%q) cut at %d = %q, want %q", s, cut, got, want)
			}
		}
		var every []int
		for i := 1; i < len(in); i++ {
			every = append(every, i)
		}
		if got := unitEncodeChunks(in, every); !bytes.Equal(got, want) {
			t.Errorf("encode(%q) byte by byte = %q, want %q", s, got, want)
		}
	}
}

// TestUnitASCIIDecoder checks CRLF -> LF for every way of cutting the
// stream: a CR at the end of a chunk waits for the next byte, and one at
// the very end is kept by flush.
func TestUnitASCIIDecoder(t *testing.T) {
	for _, s := range unitASCIISamples {
		in := []byte(s)
		want := unitFromCRLF(in)
		for cut := 0; cut <= len(in); cut++ {
			if got := unitDecodeChunks(in, []int{cut}); !bytes.Equal(got, want) {
				t.Errorf("decode(%q) cut at %d = %q, want %q", s, cut, got, want)
			}
		}
		var every []int
		for i := 1; i < len(in); i++ {
			every = append(every, i)
		}
		if got := unitDecodeChunks(in, every); !bytes.Equal(got, want) {
			t.Errorf("decode(%q) byte by byte = %q, want %q", s, got, want)
		}
	}
}

// TestUnitASCIIDecoderAppends checks that decode and flush append to dst
// and reuse its storage (the transfer loop passes out[:0]).
func TestUnitASCIIDecoderAppends(t *testing.T) {
	var d asciiDecoder
	buf := make([]byte, 0, 64)
	out := d.decode(buf, []byte("ab\r"))
	if string(out) != "ab" || &out[0] != &buf[:1][0] {
		t.Fatalf("decode = %q, or it did not reuse dst", out)
	}
	out = d.flush(out)
	if string(out) != "ab\r" {
		t.Fatalf("flush = %q, want the held CR", out)
	}
	if out = d.flush(out[:0]); len(out) != 0 {
		t.Fatalf("second flush = %q, want nothing", out)
	}
}

// FuzzASCIIConversion checks the chunked encoder and decoder against the
// whole-stream references for any data and any cut, and that decoding an
// encoded stream without CRs gives it back.
func FuzzASCIIConversion(f *testing.F) {
	for _, s := range unitASCIISamples {
		f.Add([]byte(s), uint16(1), uint16(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, c1, c2 uint16) {
		var cuts []int
		for _, c := range []uint16{c1, c2} {
			if len(data) > 0 {
				cuts = append(cuts, int(c)%(len(data)+1))
			}
		}
		if len(cuts) == 2 && cuts[0] > cuts[1] {
			cuts[0], cuts[1] = cuts[1], cuts[0]
		}
		enc := unitEncodeChunks(data, cuts)
		if want := unitToCRLF(data); !bytes.Equal(enc, want) {
			t.Fatalf("encode(%q) cuts %v = %q, want %q", data, cuts, enc, want)
		}
		if want := unitFromCRLF(data); !bytes.Equal(unitDecodeChunks(data, cuts), want) {
			t.Fatalf("decode(%q) cuts %v = %q, want %q", data, cuts, unitDecodeChunks(data, cuts), want)
		}
		if !bytes.ContainsRune(data, '\r') {
			if back := unitDecodeChunks(enc, cuts); !bytes.Equal(back, data) {
				t.Fatalf("decode(encode(%q)) = %q", data, back)
			}
		}
	})
}
