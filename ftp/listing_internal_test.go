package ftp

import (
	"io/fs"
	"testing"
	"time"
)

// TestUnitAppendMode checks the ls mode string for every file type and
// the special bits, which Go's FileMode.String writes differently.
func TestUnitAppendMode(t *testing.T) {
	tests := []struct {
		mode fs.FileMode
		want string
	}{
		{0, "----------"},
		{0o644, "-rw-r--r--"},
		{0o777, "-rwxrwxrwx"},
		{fs.ModeDir | 0o755, "drwxr-xr-x"},
		{fs.ModeSymlink | 0o777, "lrwxrwxrwx"},
		{fs.ModeNamedPipe | 0o644, "prw-r--r--"},
		{fs.ModeSocket | 0o755, "srwxr-xr-x"},
		{fs.ModeDevice | fs.ModeCharDevice | 0o666, "crw-rw-rw-"},
		{fs.ModeDevice | 0o660, "brw-rw----"},
		{fs.ModeSetuid | 0o755, "-rwsr-xr-x"},
		{fs.ModeSetuid | 0o644, "-rwSr--r--"},
		{fs.ModeSetgid | 0o750, "-rwxr-s---"},
		{fs.ModeSetgid | 0o740, "-rwxr-S---"},
		{fs.ModeDir | fs.ModeSticky | 0o777, "drwxrwxrwt"},
		{fs.ModeDir | fs.ModeSticky | 0o776, "drwxrwxrwT"},
		{fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky | 0o777, "-rwsrwsrwt"},
	}
	for _, tt := range tests {
		if got := string(appendMode([]byte("x"), tt.mode)); got != "x"+tt.want {
			t.Errorf("appendMode(%v) = %q, want %q", tt.mode, got[1:], tt.want)
		}
	}
}

// TestUnitAppendLSTime checks the two date forms of ls: the time of day
// within about six months of now (past or future), the year beyond.
func TestUnitAppendLSTime(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		t    time.Time
		want string
	}{
		{now, "Jun 15 12:00"},
		{now.Add(-time.Hour), "Jun 15 11:00"},
		{now.Add(-10 * day), "Jun  5 12:00"},
		{now.Add(-150 * day), "Jan 16 12:00"},
		{now.Add(-181 * day), "Dec 16 12:00"},
		{now.Add(-184 * day), "Dec 13  2025"},
		{now.AddDate(-3, 0, 0), "Jun 15  2023"},
		{now.Add(time.Hour), "Jun 15 13:00"},
		{now.Add(181 * day), "Dec 13 12:00"},
		{now.Add(184 * day), "Dec 16  2026"},
		{time.Date(1969, 12, 31, 23, 59, 0, 0, time.UTC), "Dec 31  1969"},
	}
	for _, tt := range tests {
		if got := string(appendLSTime(nil, tt.t, now)); got != tt.want {
			t.Errorf("appendLSTime(%s) = %q, want %q", tt.t, got, tt.want)
		}
		if len(tt.want) != 12 {
			t.Fatalf("bad test: %q is not 12 columns", tt.want)
		}
	}
}

// TestUnitListOpts checks that ls-style options before a LIST or NLST
// path are dropped (and -l noticed), while names that merely start with
// "-" are kept.
func TestUnitListOpts(t *testing.T) {
	tests := []struct {
		arg, rest string
		long      bool
	}{
		{"", "", false},
		{"dir", "dir", false},
		{"-a", "", false},
		{"-A", "", false},
		{"-l", "", true},
		{"-la", "", true},
		{"-al", "", true},
		{"-R", "", false},
		{"-a /dir", "/dir", false},
		{"-la dir", "dir", true},
		{"-a -l dir", "dir", true},
		{"  -a   dir", "dir", false},
		{"-a name with spaces", "name with spaces", false},
		{"-", "-", false},
		{"-1.txt", "-1.txt", false},
		{"--", "--", false},
		{"-a -", "-", false},
		{"-a -x-y", "-x-y", false},
	}
	for _, tt := range tests {
		rest, long := listOpts(tt.arg)
		if rest != tt.rest || long != tt.long {
			t.Errorf("listOpts(%q) = %q, %v; want %q, %v", tt.arg, rest, long, tt.rest, tt.long)
		}
	}
}

// TestUnitParseFacts checks OPTS MLST fact lists: case-insensitive,
// unknown facts dropped, written back in canonical spelling; and the FEAT
// line with * on the chosen facts.
func TestUnitParseFacts(t *testing.T) {
	tests := []struct {
		in, str, feat string
	}{
		{"", "", "type;size;modify;perm;unique;UNIX.mode;"},
		{"type;size;", "type;size;", "type*;size*;modify;perm;unique;UNIX.mode;"},
		{"TYPE;Size;", "type;size;", "type*;size*;modify;perm;unique;UNIX.mode;"},
		{"unix.mode;", "UNIX.mode;", "type;size;modify;perm;unique;UNIX.mode*;"},
		{"size;type;", "type;size;", "type*;size*;modify;perm;unique;UNIX.mode;"},
		{"bogus;create;", "", "type;size;modify;perm;unique;UNIX.mode;"},
		{"modify", "modify;", "type;size;modify*;perm;unique;UNIX.mode;"},
		{" perm ; unique ;", "perm;unique;", "type;size;modify;perm*;unique*;UNIX.mode;"},
		{"type;size;modify;perm;unique;UNIX.mode;", "type;size;modify;perm;unique;UNIX.mode;", "type*;size*;modify*;perm*;unique*;UNIX.mode*;"},
	}
	for _, tt := range tests {
		set := parseFacts(tt.in)
		if set.String() != tt.str || set.feat() != tt.feat {
			t.Errorf("parseFacts(%q): String %q feat %q, want %q and %q", tt.in, set.String(), set.feat(), tt.str, tt.feat)
		}
	}
	if got := defaultFacts.feat(); got != "type*;size*;modify*;perm*;unique*;UNIX.mode*;" {
		t.Errorf("default facts: %q", got)
	}
}

// TestUnitAppendPermFact checks the RFC 3659 perm fact derived from the
// user's permissions for files and directories.
func TestUnitAppendPermFact(t *testing.T) {
	tests := []struct {
		perm Perm
		dir  bool
		want string
	}{
		{PermAll, false, "adfrw"},
		{PermAll, true, "cdeflmp"},
		{PermRead, false, "r"},
		{PermRead, true, "el"},
		{0, false, ""},
		{0, true, ""},
		{PermStore, false, ""}, // replacing a file needs delete too
		{PermStore | PermDelete, false, "dw"},
		{PermAppend, false, "a"},
		{PermStore, true, "c"},
		{PermDelete, true, "dp"},
		{PermMkdir | PermRename, true, "fm"},
		{PermChmod | PermChtime, false, ""},
	}
	for _, tt := range tests {
		if got := string(appendPermFact(nil, tt.perm, tt.dir)); got != tt.want {
			t.Errorf("appendPermFact(%s, dir=%v) = %q, want %q", tt.perm, tt.dir, got, tt.want)
		}
	}
}

// TestUnitUnixBits checks the UNIX.mode fact's bits, special bits included.
func TestUnitUnixBits(t *testing.T) {
	tests := []struct {
		mode fs.FileMode
		want uint32
	}{
		{0o644, 0o644},
		{fs.ModeDir | 0o755, 0o755},
		{fs.ModeSetuid | 0o755, 0o4755},
		{fs.ModeSetgid | 0o750, 0o2750},
		{fs.ModeDir | fs.ModeSticky | 0o777, 0o1777},
		{fs.ModeSymlink | 0o777, 0o777},
	}
	for _, tt := range tests {
		if got := unixBits(tt.mode); got != tt.want {
			t.Errorf("unixBits(%v) = %o, want %o", tt.mode, got, tt.want)
		}
	}
}
