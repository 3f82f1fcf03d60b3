package main

import (
	"bufio"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantCode int
		wantMsg  string
		wantRest string // what the next read should see
		wantErr  bool
	}{
		{name: "single", in: "220 ready\r\n", wantCode: 220, wantMsg: "220 ready"},
		{name: "bare LF", in: "230 ok\n", wantCode: 230, wantMsg: "230 ok"},
		{name: "bare code", in: "200\r\n", wantCode: 200, wantMsg: "200"},
		{name: "next reply untouched", in: "150 go\r\n226 done\r\n", wantCode: 150, wantMsg: "150 go", wantRest: "226 done\r\n"},
		{
			name:     "multi-line",
			in:       "211-Features:\r\n EPSV\r\n MDTM\r\n211 End\r\n",
			wantCode: 211, wantMsg: "211-Features:\n EPSV\n MDTM\n211 End",
		},
		{
			// RFC 959: inner lines may start with other codes, or even the
			// same code with a hyphen; only "211 " ends the reply.
			name:     "multi-line with code-like inner lines",
			in:       "220-hello\r\n230 not the end\r\n220-still not\r\n220 end\r\nrest",
			wantCode: 220, wantMsg: "220-hello\n230 not the end\n220-still not\n220 end", wantRest: "rest",
		},
		{name: "multi-line ended by bare code", in: "220-a\r\n220\r\n", wantCode: 220, wantMsg: "220-a\n220"},
		{name: "empty", in: "", wantErr: true},
		{name: "no code", in: "hello\r\n", wantErr: true},
		{name: "short", in: "22\r\n", wantErr: true},
		{name: "bad separator", in: "220x\r\n", wantErr: true},
		{name: "code out of range", in: "620 no\r\n", wantErr: true},
		{name: "cut short", in: "220 rea", wantErr: true},
		{name: "unterminated multi-line", in: "220-a\r\nb\r\n", wantErr: true},
		{name: "line too long", in: "220 " + strings.Repeat("x", 5000) + "\r\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bufio.NewReaderSize(strings.NewReader(tt.in), 4096)
			got, err := readReply(r)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("readReply(%q) = %+v, want error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("readReply(%q): %v", tt.in, err)
			}
			if got.code != tt.wantCode || got.msg != tt.wantMsg {
				t.Errorf("readReply(%q) = %d %q, want %d %q", tt.in, got.code, got.msg, tt.wantCode, tt.wantMsg)
			}
			rest := make([]byte, 64)
			n, _ := r.Read(rest)
			if string(rest[:n]) != tt.wantRest {
				t.Errorf("left %q unread, want %q", rest[:n], tt.wantRest)
			}
		})
	}
}

func TestParsePASV(t *testing.T) {
	tests := []struct {
		in       string
		wantHost string
		wantPort int
		wantErr  bool
	}{
		{in: "227 Entering Passive Mode (127,0,0,1,156,64).", wantHost: "127.0.0.1", wantPort: 156<<8 | 64},
		{in: "227 Entering passive mode (127,0,0,1,117,48)", wantHost: "127.0.0.1", wantPort: 30000},
		{in: "227 =192,168,1,2,4,1", wantHost: "192.168.1.2", wantPort: 1025},
		{in: "227 Entering Passive Mode 10,0,0,1,0,21", wantHost: "10.0.0.1", wantPort: 21},
		{in: "227 Entering Passive Mode (127, 0, 0, 1, 4, 1)", wantHost: "127.0.0.1", wantPort: 1025},
		// A number before the address (a version, a count) must not be
		// taken for its start.
		{in: "227 Mode 2 ok (127,0,0,1,4,1)", wantHost: "127.0.0.1", wantPort: 1025},
		{in: "227 Entering Passive Mode (127,0,0,1,4)", wantErr: true},
		{in: "227 Entering Passive Mode (127,0,0,1,300,1)", wantErr: true},
		{in: "227 Entering Passive Mode (127,0,0,1,0,0)", wantErr: true},
		{in: "227 Entering Passive Mode", wantErr: true},
		{in: "227", wantErr: true},
	}
	for _, tt := range tests {
		host, port, err := parsePASV(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("parsePASV(%q) = %s %d, want error", tt.in, host, port)
			}
			continue
		}
		if err != nil || host != tt.wantHost || port != tt.wantPort {
			t.Errorf("parsePASV(%q) = %s %d %v, want %s %d", tt.in, host, port, err, tt.wantHost, tt.wantPort)
		}
	}
}

func TestParseEPSV(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{in: "229 Entering Extended Passive Mode (|||6446|)", want: 6446},
		{in: "229 Entering Extended Passive Mode (|||6446|).", want: 6446},
		{in: "229 EPSV ok (!!!65535!)", want: 65535},
		{in: "229 (|||1|)", want: 1},
		{in: "229 Entering Extended Passive Mode (|||0|)", wantErr: true},
		{in: "229 Entering Extended Passive Mode (|||65536|)", wantErr: true},
		{in: "229 Entering Extended Passive Mode (||6446|)", wantErr: true},
		{in: "229 Entering Extended Passive Mode (|||6446!)", wantErr: true},
		{in: "229 Entering Extended Passive Mode (|||abc|)", wantErr: true},
		{in: "229 Entering Extended Passive Mode |||6446|", wantErr: true},
		{in: "229 Entering Extended Passive Mode (|||6446|", wantErr: true},
		{in: "229 (   6446 )", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseEPSV(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("parseEPSV(%q) = %d, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseEPSV(%q) = %d %v, want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{in: "213 10485760", want: 10485760},
		{in: "213 0", want: 0},
		{in: "213", wantErr: true},
		{in: "213 -1", wantErr: true},
		{in: "213 lots", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseSize(%q) = %d %v, want %d (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{in: "10M", want: 10 << 20},
		{in: "10m", want: 10 << 20},
		{in: "10MiB", want: 10 << 20},
		{in: "512K", want: 512 << 10},
		{in: "1G", want: 1 << 30},
		{in: "1.5M", want: 3 << 19},
		{in: "4096", want: 4096},
		{in: "0", want: 0},
		{in: "", wantErr: true},
		{in: "M", wantErr: true},
		{in: "-1M", wantErr: true},
		{in: "ten", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseByteSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseByteSize(%q) = %d %v, want %d (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzReadReply(f *testing.F) {
	for _, s := range []string{"220 ok\r\n", "211-a\r\n b\r\n211 c\r\n", "22", "220-\n220\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := readReply(bufio.NewReaderSize(strings.NewReader(in), 4096))
		if err == nil && (r.code < 100 || r.code > 599 || !strings.HasPrefix(r.msg, in[:3])) {
			t.Errorf("readReply(%q) = %d %q", in, r.code, r.msg)
		}
	})
}

func FuzzParsePASV(f *testing.F) {
	f.Add("227 Entering Passive Mode (127,0,0,1,156,64).")
	f.Fuzz(func(t *testing.T, in string) {
		if _, port, err := parsePASV(in); err == nil && (port < 1 || port > 65535) {
			t.Errorf("parsePASV(%q) port %d", in, port)
		}
	})
}

func FuzzParseEPSV(f *testing.F) {
	f.Add("229 Entering Extended Passive Mode (|||6446|)")
	f.Fuzz(func(t *testing.T, in string) {
		if port, err := parseEPSV(in); err == nil && (port < 1 || port > 65535) {
			t.Errorf("parseEPSV(%q) port %d", in, port)
		}
	})
}
