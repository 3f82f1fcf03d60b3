package ftp

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// Defaults for the per-address failed-login limit.
const (
	DefaultMaxLoginFailuresPerIP = 20
	DefaultLoginBanDuration      = 10 * time.Minute
)

// loginFailures counts failed logins per client address, across sessions,
// so a brute forcer cannot just reconnect after MaxLoginAttempts.
type loginFailures struct {
	mu sync.Mutex
	m  map[netip.Addr]*ipFailures
}

type ipFailures struct {
	count       int
	windowStart time.Time
	bannedUntil time.Time
}

func (srv *Server) banLimits() (int, time.Duration) {
	return limit(srv.MaxLoginFailuresPerIP, DefaultMaxLoginFailuresPerIP),
		duration(srv.LoginBanDuration, DefaultLoginBanDuration)
}

// noteFailedLogin counts a failed login from remote and bans the address
// once it reaches the limit within one ban period.
func (srv *Server) noteFailedLogin(remote net.Addr) {
	max, period := srv.banLimits()
	if max <= 0 || period <= 0 {
		return
	}
	ip := addrIP(remote)
	now := time.Now()
	f := &srv.failures
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = make(map[netip.Addr]*ipFailures)
	}
	if len(f.m) > 4096 {
		f.prune(now, period)
	}
	e := f.m[ip]
	switch {
	case e == nil:
		e = &ipFailures{windowStart: now}
		f.m[ip] = e
	case now.Sub(e.windowStart) > period:
		// A new counting window; a ban in force stays in force.
		e.count, e.windowStart = 0, now
	}
	e.count++
	if e.count >= max && now.After(e.bannedUntil) {
		e.bannedUntil = now.Add(period)
		srv.log.Warn("address banned after failed logins", "ip", ip.String(), "failures", e.count, "for", period)
	}
}

// prune drops entries that no longer matter; the caller holds mu.
func (f *loginFailures) prune(now time.Time, period time.Duration) {
	for ip, e := range f.m {
		if now.Sub(e.windowStart) > period && now.After(e.bannedUntil) {
			delete(f.m, ip)
		}
	}
}

// banned reports whether remote is banned for failed logins.
func (srv *Server) banned(remote net.Addr) bool {
	if max, period := srv.banLimits(); max <= 0 || period <= 0 {
		return false
	}
	f := &srv.failures
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.m[addrIP(remote)]
	return e != nil && time.Now().Before(e.bannedUntil)
}
