package ftp

// Unit tests of the unexported parsers: the command line, Telnet
// stripping, PORT/EPRT arguments and RFC 3659 time-vals.

import (
	"testing"
	"time"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		name, in  string
		verb, arg string
	}{
		{"CRLF", "NOOP\r\n", "NOOP", ""},
		{"bare LF", "NOOP\n", "NOOP", ""},
		{"no terminator", "NOOP", "NOOP", ""},
		{"lower case", "noop\r\n", "NOOP", ""},
		{"mixed case", "NoOp\r\n", "NOOP", ""},
		{"argument", "CWD /a/b\r\n", "CWD", "/a/b"},
		{"argument case kept", "cwd Dir\r\n", "CWD", "Dir"},
		{"spaces in argument kept", "STOR  two  spaces \r\n", "STOR", " two  spaces "},
		{"empty argument", "USER \r\n", "USER", ""},
		{"leading blanks", "  \tNOOP\r\n", "NOOP", ""},
		{"extra CR", "NOOP\r\r\n", "NOOP", ""},
		{"empty line", "\r\n", "", ""},
		{"blank line", "   \r\n", "", ""},
		{"latin-1 argument", "MKD caf\xe9\r\n", "MKD", "caf\xe9"},
		{"utf-8 argument", "MKD café\r\n", "MKD", "café"},
		{"tab is not a separator", "NOOP\tx\r\n", "NOOP\tX", ""},
		{"control bytes kept", "MKD a\x01b\r\n", "MKD", "a\x01b"},
		{"CR inside argument kept", "MKD a\rb\r\n", "MKD", "a\rb"},
		{"IAC IP IAC DM before ABOR", "\xff\xf4\xff\xf2ABOR\r\n", "ABOR", ""},
		{"IAC IP IAC with the DM taken out of band", "\xff\xf4\xffABOR\r\n", "ABOR", ""},
		{"IAC NOP inside verb", "NO\xff\xf1OP\r\n", "NOOP", ""},
		{"IAC WILL option", "\xff\xfb\x01NOOP\r\n", "NOOP", ""},
		{"IAC subnegotiation", "\xff\xfa\x18\x01\x02\xff\xf0NOOP\r\n", "NOOP", ""},
		{"IAC IAC is a data 0xFF", "MKD a\xff\xffb\r\n", "MKD", "a\xffb"},
		{"IAC before a Latin-1 letter kept", "MKD a\xffb\r\n", "MKD", "a\xffb"},
		{"lone IAC at the end dropped", "MKD a\xff\r\n", "MKD", "a"},
		{"garbage verb", "\x00\x01\x02\r\n", "\x00\x01\x02", ""},
		{"high bytes in verb", "\xe9t\xe9\r\n", "\xe9T\xe9", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verb, arg := parseLine([]byte(tt.in))
			if string(verb) != tt.verb || arg != tt.arg {
				t.Errorf("parseLine(%q) = %q, %q; want %q, %q", tt.in, verb, arg, tt.verb, tt.arg)
			}
		})
	}
}

func TestParseLineAllocs(t *testing.T) {
	line := []byte("noop\r\n")
	n := testing.AllocsPerRun(100, func() {
		copy(line, "noop\r\n")
		parseLine(line)
	})
	if n != 0 {
		t.Errorf("parseLine of a command without argument allocates %v times, want 0", n)
	}
}

func TestStripTelnet(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"\xff\xf4", ""},               // IP
		{"\xff\xf2", ""},               // DM
		{"\xff\xf4\xff\xf2abc", "abc"}, // IP DM
		{"a\xff\xffb", "a\xffb"},       // escaped 0xFF
		{"a\xff\xff\xff\xffb", "a\xff\xffb"},
		{"a\xffb", "a\xffb"},               // not a command: kept
		{"a\xff", "a"},                     // lone IAC at the end
		{"\xff\xfb", ""},                   // WILL without its option
		{"\xff\xfd\x03x", "x"},             // DO option
		{"\xff\xfe\x03x", "x"},             // DONT option
		{"\xff\xfa\x01\x02", ""},           // SB never ended
		{"\xff\xfa\x01\xff\xf0x", "x"},     // SB ... SE
		{"\xff\xfa\xff\xff\xff\xf0x", "x"}, // SB holding IAC IAC
		{"\xff\xf0x", "x"},                 // bare SE
		{"\xff\xefx", "\xff\xefx"},         // 239 is not a command
	}
	for _, tt := range tests {
		got := stripTelnet([]byte(tt.in))
		if string(got) != tt.want {
			t.Errorf("stripTelnet(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParsePORT(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" for an error
	}{
		{"127,0,0,1,4,1", "127.0.0.1:1025"},
		{"10,1,2,3,255,255", "10.1.2.3:65535"},
		{" 127,0,0,1,0,21 ", "127.0.0.1:21"},
		{"127, 0, 0, 1, 4, 1", "127.0.0.1:1025"},
		{"127,0,0,1,0,0", ""}, // port 0
		{"256,0,0,1,4,1", ""},
		{"127,0,0,1,4,256", ""},
		{"127,0,0,1,4", ""},
		{"127,0,0,1,4,1,1", ""},
		{"-1,0,0,1,4,1", ""},
		{"+1,0,0,1,4,1", ""},
		{"127,0,0,1,4,", ""},
		{"a,b,c,d,e,f", ""},
		{"127.0.0.1,4,1", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := parsePORT(tt.in)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("parsePORT(%q) = %v, want an error", tt.in, got)
		case tt.want != "" && (err != nil || got.String() != tt.want):
			t.Errorf("parsePORT(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestParseEPRT(t *testing.T) {
	tests := []struct {
		in    string
		want  string // "" for an error
		proto bool   // the error is errEPRTProtocol
	}{
		{"|1|127.0.0.1|1025|", "127.0.0.1:1025", false},
		{"|2|::1|1025|", "[::1]:1025", false},
		{"|2|2001:db8::1|65535|", "[2001:db8::1]:65535", false},
		{" |1|127.0.0.1|1025| ", "127.0.0.1:1025", false},
		{"!1!127.0.0.1!1025!", "127.0.0.1:1025", false},
		{"|3|127.0.0.1|1025|", "", true},
		{"|0|127.0.0.1|1025|", "", true},
		{"|1|::1|1025|", "", false},
		{"|2|127.0.0.1|1025|", "", false},
		{"|1|::ffff:127.0.0.1|1025|", "", false},
		{"|2|fe80::1%eth0|1025|", "", false},
		{"|1|127.0.0.1|0|", "", false},
		{"|1|127.0.0.1|65536|", "", false},
		{"|1|127.0.0.1|-1|", "", false},
		{"|1|127.0.0.1|+5|", "", false},
		{"|1|256.0.0.1|1025|", "", false},
		{"|1|127.0.0.1|1025", "", false},
		{"|1|127.0.0.1|1025|x", "", false},
		{"||||", "", false},
		{"||", "", false},
		{"", "", false},
		{"\x01\x01\x01127.0.0.1\x011025\x01", "", false},
	}
	for _, tt := range tests {
		got, err := parseEPRT(tt.in)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("parseEPRT(%q) = %v, want an error", tt.in, got)
		case tt.want == "" && (err == errEPRTProtocol) != tt.proto:
			t.Errorf("parseEPRT(%q) error = %v, want protocol error %v", tt.in, err, tt.proto)
		case tt.want != "" && (err != nil || got.String() != tt.want):
			t.Errorf("parseEPRT(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestParseTimeval(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"20200102030405", time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), true},
		{"19700101000000", time.Unix(0, 0).UTC(), true},
		{"18991231235959", time.Date(1899, 12, 31, 23, 59, 59, 0, time.UTC), true},
		{"20200102030405.5", time.Date(2020, 1, 2, 3, 4, 5, 500e6, time.UTC), true},
		{"20200102030405.123456789", time.Date(2020, 1, 2, 3, 4, 5, 123456789, time.UTC), true},
		{"20200102030405.1234567891", time.Date(2020, 1, 2, 3, 4, 5, 123456789, time.UTC), true},
		{"20200229000000", time.Date(2020, 2, 29, 0, 0, 0, 0, time.UTC), true},
		{"20210229000000", time.Time{}, false},
		{"20200102030405.", time.Time{}, false},
		{"20200102030405.x", time.Time{}, false},
		{"2020010203040", time.Time{}, false},
		{"202001020304056", time.Time{}, false},
		{"20201301000000", time.Time{}, false},
		{"20200132000000", time.Time{}, false},
		{"20200102250000", time.Time{}, false},
		{"2020010203040a", time.Time{}, false},
		{"+2020010203040", time.Time{}, false},
		{"２０２００１０２０３０４０５", time.Time{}, false}, // full-width digits
		{"", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := parseTimeval(tt.in)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("parseTimeval(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// escapeIAC doubles each 0xFF byte, as a client must to send it as data.
func escapeIAC(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		out = append(out, c)
		if c == telnetIAC {
			out = append(out, telnetIAC)
		}
	}
	return out
}
