//go:build pam && cgo && (linux || freebsd)

package sysauth

/*
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

// ftpshare_getpwnam looks name up through NSS (files, LDAP, ...). The
// result points into buf; found says whether there was one.
static int ftpshare_getpwnam(const char *name, struct passwd *pwd, char *buf, size_t len, int *found) {
	struct passwd *res = NULL;
	int rc = getpwnam_r(name, pwd, buf, len, &res);
	*found = res != NULL;
	return rc;
}

static long ftpshare_pw_bufsize(void) {
	long n = sysconf(_SC_GETPW_R_SIZE_MAX);
	return n > 0 ? n : 4096;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"log/slog"
	"os/user"
	"strconv"
	"syscall"
	"unsafe"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/msteinert/pam/v2"
)

// Supported reports whether this build can authenticate system accounts:
// it was built with cgo and the "pam" tag on Linux or FreeBSD.
const Supported = true

// New returns an Authorizer that checks passwords with PAM. It fails when
// Options.Service names a service with no configuration file.
func New(opts Options) (*Authorizer, error) {
	service, err := resolveService(opts.Service, pamDirs)
	if err != nil {
		return nil, err
	}
	a := newAuthorizer(opts, nil, service)
	a.backend = pamBackend{log: a.log} // the logger newAuthorizer settled on
	if a.euid != 0 {
		a.log.Warn("sysauth: not running as root: only the account the server runs as can log in, and PAM may not be able to check its password",
			"uid", a.euid)
	}
	return a, nil
}

// pamBackend checks passwords with PAM and reads accounts through NSS.
type pamBackend struct {
	log *slog.Logger
}

// authenticate runs pam_authenticate and pam_acct_mgmt for user. It never
// opens a PAM session nor sets credentials: those act on the calling
// process, which is the whole server.
func (b pamBackend) authenticate(service, name, password, rhost string) (string, error) {
	asked := false
	t, err := pam.StartFunc(service, name, func(style pam.Style, msg string) (string, error) {
		switch style {
		case pam.PromptEchoOff:
			// One password is all FTP has. A second prompt (a new
			// password, a one-time code) cannot be answered with it.
			if asked {
				return "", errors.New("PAM asked for a second secret")
			}
			asked = true
			return password, nil
		case pam.PromptEchoOn:
			return "", fmt.Errorf("PAM asked for something FTP cannot give: %q", msg)
		case pam.ErrorMsg, pam.TextInfo:
			b.log.Debug("sysauth: PAM says", "user", name, "message", msg)
			return "", nil
		}
		return "", fmt.Errorf("PAM message style %d is not supported", style)
	})
	if err != nil {
		return "", fmt.Errorf("sysauth: PAM start (service %q): %w", service, err)
	}
	defer t.End()
	if rhost != "" {
		if err := t.SetItem(pam.Rhost, rhost); err != nil {
			return "", fmt.Errorf("sysauth: PAM set PAM_RHOST: %w", err)
		}
	}
	// "ftp" as the tty is what vsftpd and ProFTPD pass, so that pam_access
	// and pam_time rules written for FTP match.
	if err := t.SetItem(pam.Tty, "ftp"); err != nil {
		return "", fmt.Errorf("sysauth: PAM set PAM_TTY: %w", err)
	}
	// DisallowNullAuthtok: Debian's pam_unix has "nullok", which would let
	// an account without a password in with an empty one.
	if err := t.Authenticate(pam.Silent | pam.DisallowNullAuthtok); err != nil {
		return "", pamError("authentication", service, err)
	}
	if err := t.AcctMgmt(pam.Silent | pam.DisallowNullAuthtok); err != nil {
		return "", pamError("account check", service, err)
	}
	final, err := t.GetItem(pam.User)
	if err != nil || final == "" {
		final = name
	}
	return final, nil
}

// pamError wraps a PAM failure: those that say the credentials or the
// account are not good also wrap ftp.ErrAuthFailed; the others say the PAM
// stack itself failed.
func pamError(stage, service string, err error) error {
	var pe pam.Error
	if errors.As(err, &pe) {
		switch pe {
		case pam.ErrAuth, pam.ErrUserUnknown, pam.ErrMaxtries, pam.ErrPermDenied,
			pam.ErrCredInsufficient, pam.ErrAcctExpired, pam.ErrNewAuthtokReqd,
			pam.ErrAuthtokExpired:
			return fmt.Errorf("sysauth: PAM %s (service %q): %w: %w", stage, service, err, ftp.ErrAuthFailed)
		}
	}
	return fmt.Errorf("sysauth: PAM %s (service %q): %w", stage, service, err)
}

// lookup reads name's passwd entry with getpwnam_r: os/user does not give
// the login shell.
func (b pamBackend) lookup(name string) (*passwd, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	pwd := (*C.struct_passwd)(C.malloc(C.sizeof_struct_passwd))
	defer C.free(unsafe.Pointer(pwd))
	size := C.size_t(C.ftpshare_pw_bufsize())
	for {
		buf := (*C.char)(C.malloc(size))
		var found C.int
		rc := C.ftpshare_getpwnam(cname, pwd, buf, size, &found)
		if rc == C.ERANGE && size < 1<<20 {
			C.free(unsafe.Pointer(buf))
			size *= 2
			continue
		}
		var pw *passwd
		var err error
		switch {
		case found == 0 && (rc == 0 || rc == C.ENOENT || rc == C.ESRCH):
			// getpwnam_r(3): some systems say "not found" with an error.
			err = errUnknownUser
		case rc != 0:
			err = fmt.Errorf("getpwnam_r: %w", syscall.Errno(rc))
		default:
			pw = &passwd{
				name:  C.GoString(pwd.pw_name),
				uid:   int(pwd.pw_uid),
				gid:   int(pwd.pw_gid),
				home:  C.GoString(pwd.pw_dir),
				shell: C.GoString(pwd.pw_shell),
			}
		}
		C.free(unsafe.Pointer(buf))
		return pw, err
	}
}

// groups lists the account's groups through NSS (getgrouplist). When they
// cannot be read the account keeps only its primary group: fewer rights,
// never more.
func (b pamBackend) groups(pw *passwd) []int {
	u, err := user.Lookup(pw.name)
	var ids []string
	if err == nil {
		ids, err = u.GroupIds()
	}
	if err != nil {
		b.log.Warn("sysauth: cannot read the account's groups; using its primary group only", "user", pw.name, "err", err)
		return nil
	}
	groups := make([]int, 0, len(ids))
	for _, id := range ids {
		if g, err := strconv.Atoi(id); err == nil {
			groups = append(groups, g)
		}
	}
	return groups
}
