package ftp

import (
	"io/fs"
	"net"
	"strconv"
	"testing"
	"time"
)

func BenchmarkParseLine(b *testing.B) {
	src := []byte("RETR /some/directory/file-name.bin\r\n")
	line := make([]byte, len(src))
	b.ReportAllocs()
	for b.Loop() {
		copy(line, src)
		verb, _ := parseLine(line)
		if len(verb) != 4 {
			b.Fatal("bad parse")
		}
	}
}

// discardConn is a net.Conn that swallows writes, for the reply writer.
type discardConn struct{ net.Conn }

func (discardConn) Write(b []byte) (int, error)      { return len(b), nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }

func BenchmarkReply(b *testing.B) {
	s := &session{conn: discardConn{}}
	b.ReportAllocs()
	for b.Loop() {
		s.reply(226, "Transfer complete.")
	}
}

// fakeInfo is a FileInfo for formatting benchmarks, without a disk.
type fakeInfo struct {
	name string
	size int64
	mode fs.FileMode
	mod  time.Time
}

func (f fakeInfo) Name() string       { return f.name }
func (f fakeInfo) Size() int64        { return f.size }
func (f fakeInfo) Mode() fs.FileMode  { return f.mode }
func (f fakeInfo) ModTime() time.Time { return f.mod }
func (f fakeInfo) IsDir() bool        { return f.mode.IsDir() }
func (f fakeInfo) Sys() any           { return nil }

func benchEntries(n int) []entry {
	now := time.Now()
	es := make([]entry, n)
	for i := range es {
		name := "file-" + strconv.Itoa(i) + ".dat"
		es[i] = entry{name: name, path: "/dir/" + name, info: fakeInfo{name, int64(i) * 1000, 0o644, now.Add(-time.Duration(i) * time.Hour)}}
	}
	return es
}

func benchFormat(b *testing.B, format listFormat) {
	entries := benchEntries(10000)
	s := &session{acct: &Account{Perms: Permissions{Default: PermAll}}, facts: defaultFacts}
	now := time.Now()
	var line []byte
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for i := range entries {
			line = s.formatEntry(line[:0], &entries[i], format, defaultFacts, now)
			n += len(line)
		}
		b.SetBytes(int64(n))
	}
}

// BenchmarkFormatLIST10k formats 10,000 entries as LIST lines.
func BenchmarkFormatLIST10k(b *testing.B) { benchFormat(b, formatLIST) }

// BenchmarkFormatMLSD10k formats 10,000 entries as MLSD lines.
func BenchmarkFormatMLSD10k(b *testing.B) { benchFormat(b, formatMLSD) }
