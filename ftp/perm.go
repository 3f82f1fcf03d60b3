package ftp

import (
	"fmt"
	"path"
	"strings"
)

// Perm is a set of permissions, written with pyftpdlib's letters so that its
// users feel at home:
//
//	e  change directory (CWD, CDUP)
//	l  list (LIST, NLST, MLSD, MLST, STAT path, SIZE, MDTM)
//	r  retrieve (RETR)
//	a  append (APPE)
//	d  delete (DELE, RMD)
//	f  rename (RNFR, RNTO)
//	m  make directory (MKD)
//	w  store (STOR, STOU)
//	M  change mode (SITE CHMOD)
//	T  change modification time (MFMT, MDTM with two arguments)
type Perm uint16

// The permission bits, one per letter.
const (
	PermChdir    Perm = 1 << iota // e
	PermList                      // l
	PermRetrieve                  // r
	PermAppend                    // a
	PermDelete                    // d
	PermRename                    // f
	PermMkdir                     // m
	PermStore                     // w
	PermChmod                     // M
	PermChtime                    // T
)

// PermRead is what an anonymous user gets by default: "elr".
const PermRead = PermChdir | PermList | PermRetrieve

// PermWrite holds every letter that changes the filesystem: "adfmwMT".
const PermWrite = PermAppend | PermDelete | PermRename | PermMkdir | PermStore | PermChmod | PermChtime

// PermAll is what a named user gets by default: "elradfmwMT".
const PermAll = PermRead | PermWrite

// permLetters lists the letters in their canonical order; index i is bit 1<<i.
const permLetters = "elradfmwMT"

// ParsePerm reads a permission string such as "elr" or "elradfmwMT". Letters
// may come in any order and repeat; an unknown letter is an error.
func ParsePerm(s string) (Perm, error) {
	var p Perm
	for i := 0; i < len(s); i++ {
		j := strings.IndexByte(permLetters, s[i])
		if j < 0 {
			return 0, fmt.Errorf("ftp: unknown permission letter %q (valid letters: %s)", s[i], permLetters)
		}
		p |= 1 << j
	}
	return p, nil
}

// MustParsePerm is ParsePerm for constant strings; it panics on an unknown letter.
func MustParsePerm(s string) Perm {
	p, err := ParsePerm(s)
	if err != nil {
		panic(err)
	}
	return p
}

// String returns the letters of p in canonical order ("elradfmwMT").
func (p Perm) String() string {
	var b [len(permLetters)]byte
	n := 0
	for i := 0; i < len(permLetters); i++ {
		if p&(1<<i) != 0 {
			b[n] = permLetters[i]
			n++
		}
	}
	return string(b[:n])
}

// Has reports whether every permission in q is in p.
func (p Perm) Has(q Perm) bool { return p&q == q }

// Permissions are a user's rights: a default set and per-directory overrides.
type Permissions struct {
	// Default applies wherever no override matches.
	Default Perm
	// Overrides replace Default inside particular directories. The most
	// specific (longest) matching directory wins.
	Overrides []PermOverride
}

// PermOverride gives a directory its own permissions.
type PermOverride struct {
	// Dir is a virtual path inside the user's home, such as "/incoming".
	Dir string
	// Perm replaces the default permissions for Dir.
	Perm Perm
	// Recursive extends the override to everything below Dir. Without it
	// the override covers Dir itself and the entries directly inside it.
	Recursive bool
}

// For returns the permissions that apply to the virtual path p (absolute
// and cleaned).
func (ps *Permissions) For(p string) Perm {
	best, bestLen := ps.Default, -1
	for i := range ps.Overrides {
		o := &ps.Overrides[i]
		dir := path.Clean("/" + o.Dir)
		if len(dir) <= bestLen || !covers(dir, p, o.Recursive) {
			continue
		}
		best, bestLen = o.Perm, len(dir)
	}
	return best
}

// covers reports whether an override on dir applies to the path p.
func covers(dir, p string, recursive bool) bool {
	if p == dir {
		return true
	}
	prefix := dir
	if dir != "/" {
		prefix += "/"
	}
	if !strings.HasPrefix(p, prefix) {
		return false
	}
	return recursive || !strings.Contains(p[len(prefix):], "/")
}
