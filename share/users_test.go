package share

import (
	"errors"
	"strings"
	"testing"

	"github.com/ftpshare/ftpshare/ftp"
)

func TestParseUser(t *testing.T) {
	tests := []struct {
		in      string
		want    User
		wantErr string
	}{
		{in: "alice:secret", want: User{Name: "alice", Password: "secret"}},
		{in: "alice:secret:elr", want: User{Name: "alice", Password: "secret", Perm: ftp.PermRead}},
		{in: "alice:secret:", want: User{Name: "alice", Password: "secret"}},
		{in: "alice:pa:ss:", want: User{Name: "alice", Password: "pa:ss"}},
		{in: "alice:pa:ss:w", want: User{Name: "alice", Password: "pa:ss", Perm: ftp.PermStore}},
		{in: "alice:s p a c e", want: User{Name: "alice", Password: "s p a c e"}},
		{in: "alice", wantErr: `user "alice" has no password`},
		{in: "alice:", wantErr: `user "alice" has an empty password`},
		{in: "alice::elr", wantErr: `user "alice" has an empty password`},
		{in: ":pw", wantErr: "empty name"},
		{in: "alice:pa:ss", wantErr: `unknown permission letter 's'`},
		{in: "ftp:pw", wantErr: "reserved for anonymous"},
		{in: "anonymous:pw", wantErr: "reserved for anonymous"},
		{in: "al\x01ice:pw", wantErr: "control character"},
		{in: "alice:$2a$10$tooshort", wantErr: "not a valid one"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseUser(tt.in)
			if tt.wantErr != "" {
				var ce *ConfigError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &ce) {
					t.Fatalf("ParseUser(%q) = %+v, %v; want a ConfigError with %q", tt.in, got, err, tt.wantErr)
				}
				if strings.Contains(tt.in, ":") && len(tt.in) > 6 && strings.Contains(err.Error(), tt.in[strings.Index(tt.in, ":"):]) {
					t.Errorf("error %q repeats the password", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseUser(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseUsers(t *testing.T) {
	in := "# comment\n\n  alice:pw  \nbob:pw:elr\ncarol:pw::sub/dir\ndave:pw:elr:C:\\Users\\dave\r\n   # indented comment\n"
	users, err := ParseUsers(strings.NewReader(in), "users.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := []User{
		{Name: "alice", Password: "pw"},
		{Name: "bob", Password: "pw", Perm: ftp.PermRead},
		{Name: "carol", Password: "pw", Home: "sub/dir"},
		{Name: "dave", Password: "pw", Perm: ftp.PermRead, Home: `C:\Users\dave`},
	}
	if len(users) != len(want) {
		t.Fatalf("got %+v, want %+v", users, want)
	}
	for i := range want {
		if users[i] != want[i] {
			t.Errorf("user %d: got %+v, want %+v", i, users[i], want[i])
		}
	}

	_, err = ParseUsers(strings.NewReader("alice:pw\n\nbob:pw:xyz\n"), "users.txt")
	if err == nil || !strings.Contains(err.Error(), "users.txt, line 3:") || !strings.Contains(err.Error(), "'x'") {
		t.Errorf("bad line: %v", err)
	}
}

func TestConfigPerms(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		anon     bool
		anonPerm string
		userPerm string // of a user with default perms
	}{
		{"no users", Config{}, true, "elr", ""},
		{"users", Config{Users: []User{{Name: "a", Password: "b"}}}, false, "elr", "elradfmwMT"},
		{"users and anonymous", Config{Users: []User{{Name: "a", Password: "b"}}, Anonymous: true}, true, "elr", "elradfmwMT"},
		{"write", Config{Write: true}, true, "elradfmwMT", ""},
		{"drop box", Config{DropBox: true}, true, "ew", ""},
		{"drop box with users", Config{Users: []User{{Name: "a", Password: "b"}}, DropBox: true}, true, "ew", "elradfmwMT"},
		{"read-only", Config{Users: []User{{Name: "a", Password: "b"}}, ReadOnly: true}, false, "elr", "elr"},
		{"system users", Config{SystemUsers: true}, false, "elr", ""},
		{"system users and anonymous", Config{SystemUsers: true, Anonymous: true}, true, "elr", ""},
		{"system users only", Config{SystemUsersOnly: true}, false, "elr", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cfg.AnonymousEnabled(); got != tt.anon {
				t.Errorf("AnonymousEnabled = %v, want %v", got, tt.anon)
			}
			if got := tt.cfg.AnonymousPerm().String(); got != tt.anonPerm {
				t.Errorf("AnonymousPerm = %s, want %s", got, tt.anonPerm)
			}
			if len(tt.cfg.Users) > 0 {
				if got := tt.cfg.UserPerm(&tt.cfg.Users[0]).String(); got != tt.userPerm {
					t.Errorf("UserPerm = %s, want %s", got, tt.userPerm)
				}
			}
		})
	}
	// ReadOnly strips write letters from explicit perms too.
	c := Config{ReadOnly: true}
	if got := c.UserPerm(&User{Perm: ftp.MustParsePerm("elrw")}).String(); got != "elr" {
		t.Errorf("read-only elrw = %s", got)
	}
}

func TestConfigCheck(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"write+dropbox", Config{Write: true, DropBox: true}, "contradict"},
		{"write+readonly", Config{Write: true, ReadOnly: true}, "contradict"},
		{"dropbox+readonly", Config{DropBox: true, ReadOnly: true}, "contradict"},
		{"cert without key", Config{CertFile: "c"}, "both"},
		{"port", Config{Port: 70000}, "out of range"},
		{"same ports", Config{Port: 2121, ImplicitTLS: true, ImplicitTLSPort: 2121}, "choose two ports"},
		{"range", Config{PassivePorts: ftp.PortRange{Min: 10, Max: 5}}, "invalid passive port range"},
		{"public ip", Config{PublicIP: "example.com"}, "not an IPv4 address"},
		{"system users only with users", Config{SystemUsersOnly: true, Users: []User{{Name: "a", Password: "b"}}}, "excludes"},
		{"system users only with drop box", Config{SystemUsersOnly: true, DropBox: true}, "excludes"},
		{"duplicate user", Config{Users: []User{{Name: "a", Password: "b"}, {Name: "a", Password: "c"}}}, "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.check()
			var ce *ConfigError
			if err == nil || !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("check() = %v, want a ConfigError with %q", err, tt.want)
			}
		})
	}
	if err := (&Config{}).check(); err != nil {
		t.Errorf("zero Config: %v", err)
	}
}

func FuzzParseUser(f *testing.F) {
	for _, s := range []string{"alice:pw", "a:b:elr", "a:b:c:", ":", "", "a:$2a$04$x", "anonymous:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUser(s)
		if err != nil {
			return
		}
		if u.Name == "" || u.Password == "" || strings.Contains(u.Name, ":") {
			t.Errorf("ParseUser(%q) = %+v: accepted a bad user", s, u)
		}
		if u.Perm&^ftp.PermAll != 0 {
			t.Errorf("ParseUser(%q): unknown permission bits %b", s, u.Perm)
		}
	})
}
