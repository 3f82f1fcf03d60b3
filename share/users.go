package share

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ftpshare/ftpshare/ftp"
)

// ParseUser reads a user written as NAME:PASSWORD[:PERMS]. When there are
// three or more fields the last one is PERMS, so a password that contains
// ":" is written with PERMS after it, empty for the default:
// "alice:pa:ss:" is alice with password "pa:ss" and every permission.
// Error messages never repeat the password.
func ParseUser(s string) (User, error) {
	name, rest, ok := strings.Cut(s, ":")
	if !ok {
		return User{}, configErrorf("user %q has no password: want NAME:PASSWORD[:PERMS]", name)
	}
	u := User{Name: name, Password: rest}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		u.Password = rest[:i]
		p, err := parsePerm(name, rest[i+1:])
		if err != nil {
			return User{}, err
		}
		u.Perm = p
	}
	if err := checkUser(&u); err != nil {
		return User{}, err
	}
	return u, nil
}

// ParseUsers reads a users file: one user a line, written as
// name:password-or-bcrypt[:perms[:home]]. Blank lines and lines starting
// with "#" are skipped, and spaces around a line are ignored. A plain
// password in a file cannot contain ":" (use a bcrypt hash); home is the
// rest of the line, so it may. source names the file in error messages.
func ParseUsers(r io.Reader, source string) ([]User, error) {
	var users []User
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		u, err := parseUserLine(line)
		if err != nil {
			return nil, configErrorf("%s, line %d: %s", source, n, err.Error())
		}
		users = append(users, u)
	}
	if err := sc.Err(); err != nil {
		return nil, &ConfigError{Msg: "read " + source, Err: err}
	}
	return users, nil
}

func parseUserLine(line string) (User, error) {
	f := strings.SplitN(line, ":", 4)
	if len(f) < 2 {
		return User{}, configErrorf("user %q has no password: want name:password[:perms[:home]]", f[0])
	}
	u := User{Name: f[0], Password: f[1]}
	if len(f) > 2 {
		p, err := parsePerm(u.Name, f[2])
		if err != nil {
			return User{}, err
		}
		u.Perm = p
	}
	if len(f) > 3 {
		u.Home = f[3]
	}
	return u, checkUser(&u)
}

// LoadUsersFile reads the users file at path (see ParseUsers).
func LoadUsersFile(path string) ([]User, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, configErrorf("users file %s: %v", path, unwrapPath(err))
	}
	defer f.Close()
	return ParseUsers(f, "users file "+path)
}

// parsePerm reads a permission string for user name; "" is 0, the default.
func parsePerm(name, s string) (ftp.Perm, error) {
	var p ftp.Perm
	for _, c := range s {
		q, err := ftp.ParsePerm(string(c))
		if err != nil {
			return 0, configErrorf("user %q: unknown permission letter %q (valid letters: elradfmwMT)", name, c)
		}
		p |= q
	}
	return p, nil
}

// checkUser validates what a single user line or flag can get wrong.
func checkUser(u *User) error {
	if err := checkUserName(u.Name); err != nil {
		return err
	}
	if u.Password == "" {
		return configErrorf("user %q has an empty password", u.Name)
	}
	if strings.HasPrefix(u.Password, "$2") && !ftp.IsBcryptHash(u.Password) {
		return configErrorf("user %q: the password looks like a bcrypt hash but is not a valid one (make one with: ftpshare hash-password)", u.Name)
	}
	return nil
}

func checkUserName(name string) error {
	switch {
	case name == "":
		return configErrorf("a user has an empty name")
	case ftp.IsAnonymous(name):
		return configErrorf("user name %q is reserved for anonymous access", name)
	case strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return configErrorf("user name %q contains a control character", name)
	}
	return nil
}

// String describes u without its password, as "alice (elradfmwMT)".
func (u User) String() string {
	p := u.Perm
	if p == 0 {
		p = ftp.PermAll
	}
	return fmt.Sprintf("%s (%s)", u.Name, p)
}
