package ftp

// Fuzz targets for the parsers of untrusted input. Their seeds run with
// every "go test"; fuzz with, for example:
//
//	go test -run '^$' -fuzz FuzzParseLine ./ftp

import (
	"bytes"
	"path"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseLine checks the command-line parser on any bytes: it never
// panics, the verb is upper case with no blank, the argument holds no
// Telnet command, Telnet sequences in front of a line change nothing, and
// a well-formed line with any argument (IAC escaped as a client must) is
// parsed back to exactly that argument. The seed corpus is in
// testdata/fuzz/FuzzParseLine.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"NOOP\r\n",
		"user anonymous\r\n",
		"CWD /a b/c\n",
		"\xff\xf4\xff\xf2ABOR\r\n",
		"MKD caf\xe9\r\n",
		"MKD a\xff\xffb\r\n",
		"\xff\xfa\x18\x01\xff\xf0NOOP\r\n",
		"\r\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		orig := bytes.Clone(line)
		verb, arg := parseLine(bytes.Clone(line))
		for _, c := range verb {
			if 'a' <= c && c <= 'z' || c == ' ' {
				t.Fatalf("parseLine(%q): verb %q has a lower-case letter or a space", orig, verb)
			}
		}
		if len(verb) > len(orig) || len(arg) > len(orig) {
			t.Fatalf("parseLine(%q) = %q, %q: longer than the line", orig, verb, arg)
		}
		if len(verb) == 0 && arg != "" {
			t.Fatalf("parseLine(%q) = no verb but argument %q", orig, arg)
		}

		// Telnet "interrupt process" and "data mark" before a line
		// (what clients send before ABOR) do not change its meaning.
		v2, a2 := parseLine(append([]byte("\xff\xf4\xff\xf2"), orig...))
		if !bytes.Equal(v2, verb) || a2 != arg {
			t.Fatalf("IAC IP IAC DM + %q = %q, %q; without: %q, %q", orig, v2, a2, verb, arg)
		}

		// Any argument a client sends, IAC doubled and not ending in
		// CR or LF (the terminator is stripped), comes back unchanged,
		// and the verb comes back upper-cased.
		a := bytes.TrimRight(orig, "\r\n")
		v := "stor"
		if len(orig) > 0 {
			v = []string{"stor", "MKD", "cWd", "site"}[int(orig[0])%4]
		}
		in := append([]byte(v+" "), escapeIAC(a)...)
		in = append(in, "\r\n"...)
		gv, ga := parseLine(in)
		if string(gv) != strings.ToUpper(v) || ga != string(a) {
			t.Fatalf("parseLine(%q) = %q, %q; want %q, %q", in, gv, ga, strings.ToUpper(v), a)
		}
	})
}

// FuzzStripTelnet checks that stripping never grows its input, leaves
// bytes without IAC alone, and undoes IAC doubling.
func FuzzStripTelnet(f *testing.F) {
	for _, s := range []string{"", "abc", "\xff\xf4\xff\xf2", "a\xff\xffb", "\xff\xfa\x01\xff\xf0", "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		got := stripTelnet(bytes.Clone(b))
		if len(got) > len(orig) {
			t.Fatalf("stripTelnet(%q) = %q: longer", orig, got)
		}
		if bytes.IndexByte(orig, telnetIAC) < 0 && !bytes.Equal(got, orig) {
			t.Fatalf("stripTelnet(%q) = %q: changed bytes without IAC", orig, got)
		}
		if back := stripTelnet(escapeIAC(orig)); !bytes.Equal(back, orig) {
			t.Fatalf("stripTelnet(escape(%q)) = %q", orig, back)
		}
	})
}

// FuzzParsePORT checks that PORT accepts exactly the canonical form of
// what it returns and never a port 0.
func FuzzParsePORT(f *testing.F) {
	for _, s := range []string{"127,0,0,1,4,1", "1,2,3,4,0,0", "256,0,0,1,1,1", " 10, 0,0,1,255,255", ",,,,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ap, err := parsePORT(s)
		if err != nil {
			return
		}
		if !ap.Addr().Is4() || ap.Port() == 0 {
			t.Fatalf("parsePORT(%q) = %v: not an IPv4 address with a port", s, ap)
		}
		a := ap.Addr().As4()
		canon := strings.Join([]string{itoa(int(a[0])), itoa(int(a[1])), itoa(int(a[2])), itoa(int(a[3])), itoa(int(ap.Port() >> 8)), itoa(int(ap.Port() & 0xff))}, ",")
		if again, err := parsePORT(canon); err != nil || again != ap {
			t.Fatalf("parsePORT(%q) = %v, but its canonical form %q gives %v, %v", s, ap, canon, again, err)
		}
	})
}

// FuzzParseEPRT checks that EPRT returns only a zone-less address of the
// family it names, with a port.
func FuzzParseEPRT(f *testing.F) {
	for _, s := range []string{"|1|127.0.0.1|1025|", "|2|::1|1025|", "|3|x|1|", "||||", "!2!fe80::1%1!5!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ap, err := parseEPRT(s)
		if err != nil {
			return
		}
		if ap.Port() == 0 || ap.Addr().Zone() != "" || ap.Addr().Is4In6() {
			t.Fatalf("parseEPRT(%q) = %v", s, ap)
		}
		proto := strings.TrimSpace(s)[1]
		if ap.Addr().Is4() != (proto == '1') {
			t.Fatalf("parseEPRT(%q) = %v: family does not match protocol %c", s, ap, proto)
		}
	})
}

// FuzzParseTimeval checks that an accepted time-val prints back as
// itself (to the second).
func FuzzParseTimeval(f *testing.F) {
	for _, s := range []string{"20200102030405", "20200102030405.123", "2020010203040", "20201301000000", "00000000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, ok := parseTimeval(s)
		if !ok {
			return
		}
		if !utf8.ValidString(s) || len(s) < len(timeLayout) {
			t.Fatalf("parseTimeval(%q) accepted", s)
		}
		if got := tm.Format(timeLayout); got != s[:len(timeLayout)] {
			t.Fatalf("parseTimeval(%q) = %v, which formats as %s", s, tm, got)
		}
	})
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// FuzzPathResolution checks how a path argument becomes a virtual path and
// then an os.Root name: whatever the client sends, from whatever working
// directory, the virtual path is absolute and clean, and the os.Root name
// is relative with no ".." element, so it cannot leave the jail lexically.
func FuzzPathResolution(f *testing.F) {
	for _, s := range [][2]string{
		{"/", ".."}, {"/a/b", "../../../etc/passwd"}, {"/a", "/abs/../../x"}, {"/", ""},
		{"/a", "b/./c//d/"}, {"/", "..\\..\\x"}, {"/a b", "../c\x00d"}, {"/", "/"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, cwd, arg string) {
		cwd = path.Clean("/" + cwd) // the session keeps its cwd in this form
		s := &session{cwd: cwd}
		p := s.abs(arg)
		if !strings.HasPrefix(p, "/") || path.Clean(p) != p {
			t.Fatalf("abs(%q) from %q = %q: not absolute and clean", arg, cwd, p)
		}
		r := rel(p)
		if r != "." && (strings.HasPrefix(r, "/") || r == ".." || strings.HasPrefix(r, "../") || strings.Contains(r, "/../") || strings.HasSuffix(r, "/..")) {
			t.Fatalf("rel(%q) = %q: escapes lexically", p, r)
		}
		if r == "." && p != "/" {
			t.Fatalf("rel(%q) = %q", p, r)
		}
	})
}
