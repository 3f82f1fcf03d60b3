package ftp

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// errBanned fails the logins of an address banned for failed logins,
// without asking the Authorizer.
var errBanned = fmt.Errorf("address banned after too many failed logins: %w", ErrAuthFailed)

func (s *session) handleUSER(arg string) {
	if s.acct != nil {
		s.logout()
	}
	// Blanks around a user name are slips of old clients, never part of
	// it (a password, though, is taken verbatim).
	arg = strings.Trim(arg, " ")
	if arg == "" {
		s.reply(501, "Syntax error: USER needs a user name.")
		return
	}
	s.userName = arg
	if IsAnonymous(arg) {
		s.reply(331, "Anonymous login okay, send your e-mail address as password.")
		return
	}
	s.reply(331, "User name okay, need password.")
}

func (s *session) handlePASS(arg string) {
	switch {
	case s.acct != nil:
		s.reply(503, "Already logged in.")
		return
	case s.userName == "":
		s.reply(503, "Login with USER first.")
		return
	}
	name := s.userName
	s.userName = ""
	var acct *Account
	var err error
	switch {
	case s.srv.Auth == nil:
		err = errors.New("ftp: no Authorizer configured")
	case s.srv.banned(s.remote):
		err = errBanned
	default:
		acct, err = s.srv.Auth.Authenticate(s.ctx, name, arg, s.remote)
	}
	if err == nil && (acct == nil || acct.FS == nil) {
		err = errors.New("ftp: Authorizer returned an account without a filesystem")
	}
	if err != nil {
		s.loginFailed(name, err)
		return
	}
	s.acct = acct
	s.cwd = "/"
	s.log.Info("login", "anonymous", acct.Anonymous)
	if h := s.srv.Hooks.Login; h != nil {
		h(s.info())
	}
	s.reply(230, "Login successful.")
}

// loginFailed delays the 530 reply to slow guessing down, and ends the
// session after too many failures.
func (s *session) loginFailed(name string, err error) {
	s.failed++
	if errors.Is(err, ErrAuthFailed) {
		s.log.Warn("login failed", "user", name, "reason", err)
	} else {
		s.log.Error("login failed: authorizer error", "user", name, "err", err)
	}
	s.srv.noteFailedLogin(s.remote)
	if h := s.srv.Hooks.LoginFailed; h != nil {
		h(s.info(), name)
	}
	if d := duration(s.srv.LoginFailDelay, DefaultLoginFailDelay); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
		}
	}
	if s.failed >= limit(s.srv.MaxLoginAttempts, DefaultMaxLoginAttempts) {
		s.reply(530, "Login incorrect; too many failures, closing the connection.")
		s.quit = true
		return
	}
	s.reply(530, "Login incorrect.")
}

// logout forgets the logged-in account and what depends on it.
func (s *session) logout() {
	if h := s.srv.Hooks.Logout; h != nil {
		h(s.info())
	}
	s.log.Info("logout")
	s.acct = nil
	s.cwd = "/"
	s.renameFrom = ""
	s.restOffset = 0
	s.ascii = false
	s.facts = defaultFacts
	s.data.close()
}

// handleREIN returns the session to its state just after the greeting
// (the TLS control connection stays), logged in or not. A new USER only
// changes the account: the protection level it negotiated stays.
func (s *session) handleREIN(string) {
	if s.acct != nil {
		s.logout()
	}
	s.userName = ""
	s.renameFrom = ""
	s.restOffset = 0
	s.ascii = false
	s.facts = defaultFacts
	s.data.close()
	s.tls.resetData()
	s.reply(220, "Ready for a new user.")
}

func (s *session) handleQUIT(string) {
	s.reply(221, "Goodbye.")
	s.quit = true
}
