//go:build !pam || !cgo || !(linux || freebsd)

package sysauth

// Supported reports whether this build can authenticate system accounts:
// it was built with cgo and the "pam" tag on Linux or FreeBSD.
const Supported = false

// New returns [ErrNotBuilt]: this build has no PAM. See the package
// documentation for how to build with it.
func New(Options) (*Authorizer, error) { return nil, ErrNotBuilt }
