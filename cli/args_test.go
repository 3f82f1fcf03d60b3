package cli

import (
	"slices"
	"strings"
	"testing"

	"github.com/ftpshare/ftpshare/ftp"
)

func TestPermuteArgs(t *testing.T) {
	app := newApp(&streams{})
	tests := []struct {
		in, want string
	}{
		{"ftpshare", "ftpshare"},
		{"ftpshare DIR", "ftpshare -- DIR"},
		{"ftpshare --write DIR", "ftpshare --write -- DIR"},
		{"ftpshare DIR --write", "ftpshare --write -- DIR"},
		{"ftpshare DIR --port 0 --json", "ftpshare --port 0 --json -- DIR"},
		{"ftpshare DIR -p 0 -u a:b", "ftpshare -p 0 -u a:b -- DIR"},
		{"ftpshare DIR --port=0", "ftpshare --port=0 -- DIR"},
		{"ftpshare --user a:b DIR --drop-box", "ftpshare --user a:b --drop-box -- DIR"},
		{"ftpshare -- --odd-dir", "ftpshare -- --odd-dir"},
		{"ftpshare DIR -- --odd", "ftpshare -- DIR --odd"},
		{"ftpshare hash-password --cost 4", "ftpshare hash-password --cost 4"},
		{"ftpshare completion bash", "ftpshare completion bash"},
		{"ftpshare --unknown DIR", "ftpshare --unknown -- DIR"},
		{"ftpshare --port", "ftpshare --port"},
		{"ftpshare -q DIR --generate-bash-completion", "ftpshare -q DIR --generate-bash-completion"},
		{"ftpshare a b", "ftpshare -- a b"},
	}
	for _, tt := range tests {
		got := strings.Join(permuteArgs(strings.Fields(tt.in), app.Flags, app.Commands), " ")
		if got != tt.want {
			t.Errorf("permuteArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzPermuteArgs(f *testing.F) {
	f.Add("ftpshare DIR --port 0 --json")
	f.Add("ftpshare -- a -b")
	f.Add("ftpshare --user x:y hash-password")
	app := newApp(&streams{})
	f.Fuzz(func(t *testing.T, s string) {
		in := strings.Split(s, " ")
		out := permuteArgs(in, app.Flags, app.Commands)
		// Nothing is lost or invented, apart from one "--".
		a, b := slices.Clone(in), slices.DeleteFunc(slices.Clone(out), func(x string) bool { return x == "--" })
		a = slices.DeleteFunc(a, func(x string) bool { return x == "--" })
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Errorf("permuteArgs(%q) = %q: not a permutation", in, out)
		}
		if len(in) > 0 && (len(out) == 0 || out[0] != in[0]) {
			t.Errorf("program name moved: %q", out)
		}
	})
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"0", 0, false},
		{"500", 500, false},
		{"500B", 500, false},
		{"64KB", 64_000, false},
		{"64k", 64_000, false},
		{"64KiB", 65_536, false},
		{"10MB", 10_000_000, false},
		{"10mb/s", 10_000_000, false},
		{"1.5MiB", 1_572_864, false},
		{"2G", 2_000_000_000, false},
		{"1GiB", 1 << 30, false},
		{" 3 MB ", 3_000_000, false},
		{"", 0, true},
		{"MB", 0, true},
		{"10XB", 0, true},
		{"-5MB", 0, true},
		{"1e6", 0, true},
		{"inf", 0, true},
		{"NaN", 0, true},
		{"99999999TB", 0, true},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestParsePortRange(t *testing.T) {
	tests := []struct {
		in   string
		want ftp.PortRange
		err  string
	}{
		{"50000-50100", ftp.PortRange{Min: 50000, Max: 50100}, ""},
		{"21-21", ftp.PortRange{Min: 21, Max: 21}, ""},
		{" 1 - 65535 ", ftp.PortRange{Min: 1, Max: 65535}, ""},
		{"50000", ftp.PortRange{}, "want a range"},
		{"a-b", ftp.PortRange{}, "want a range"},
		{"0-10", ftp.PortRange{}, "1 to 65535"},
		{"10-70000", ftp.PortRange{}, "1 to 65535"},
		{"20-10", ftp.PortRange{}, "MIN is above MAX"},
	}
	for _, tt := range tests {
		got, err := parsePortRange(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parsePortRange(%q) = %v, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parsePortRange(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
