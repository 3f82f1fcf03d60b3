package ftp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// tlsState is a session's FTPS state (RFC 4217).
type tlsState struct {
	control  bool // the control connection is TLS
	implicit bool // implicit FTPS: data is protected unless PROT C
	pbsz     bool // PBSZ was sent
	prot     bool // PROT P: data connections are TLS
	// stamp marks the TLS session tickets of this session, so that data
	// connections can be required to resume this very session.
	stamp           []byte
	ctlCfg, dataCfg *tls.Config
}

// resetData returns the data protection level to its default (REIN,
// logout): clear, or protected on an implicit FTPS connection.
func (t *tlsState) resetData() {
	t.pbsz, t.prot = t.implicit, t.implicit
}

// errNotResumed refuses a data connection that did not resume the control
// connection's TLS session.
var errNotResumed = errors.New("TLS session of the data connection was not resumed from the control connection (session reuse is required)")

// tlsBase returns the server's TLS configuration with its floor raised to
// TLS 1.2. One shared value, so that tickets issued on a control
// connection decrypt on its data connections.
func (srv *Server) tlsBase() *tls.Config {
	srv.tlsOnce.Do(func() {
		srv.tlsCfg = withConfigHook(srv.TLSConfig.Clone(), func(c *tls.Config) {
			if c.MinVersion < tls.VersionTLS12 {
				c.MinVersion = tls.VersionTLS12
			}
		})
	})
	return srv.tlsCfg
}

// withConfigHook applies set to cfg, and to every configuration its
// GetConfigForClient returns, so that a per-client configuration cannot
// escape the server's policy (version floor, session reuse).
func withConfigHook(cfg *tls.Config, set func(*tls.Config)) *tls.Config {
	set(cfg)
	if get := cfg.GetConfigForClient; get != nil {
		cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			c, err := get(hello)
			if c == nil || err != nil {
				return c, err
			}
			c = c.Clone()
			set(c)
			return c, nil
		}
	}
	return cfg
}

// controlTLSConfig is the configuration for the control connection.
func (s *session) controlTLSConfig() *tls.Config {
	base := s.srv.tlsBase()
	if !s.srv.TLSSessionReuseRequired {
		return base
	}
	s.setupReuse(base)
	return s.tls.ctlCfg
}

// dataTLSConfig is the configuration for data connections.
func (s *session) dataTLSConfig() *tls.Config {
	base := s.srv.tlsBase()
	if !s.srv.TLSSessionReuseRequired {
		return base
	}
	s.setupReuse(base)
	return s.tls.dataCfg
}

// setupReuse builds the per-session configurations that enforce session
// reuse: tickets are stamped with the session's random stamp, data
// connections accept only tickets so stamped, and a data handshake that
// did not resume is refused.
func (s *session) setupReuse(base *tls.Config) {
	if s.tls.ctlCfg != nil {
		return
	}
	stamp := make([]byte, 16)
	rand.Read(stamp)
	stamp = append([]byte("ftpshare/ctl:"), stamp...)
	s.tls.stamp = stamp
	wrap := func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		ss.Extra = append(ss.Extra, stamp)
		return base.EncryptTicket(cs, ss)
	}
	unwrap := func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := base.DecryptTicket(identity, cs)
		if err != nil || ss == nil {
			return nil, nil // not ours: a full handshake, then refused below
		}
		for _, e := range ss.Extra {
			if bytes.Equal(e, stamp) {
				return ss, nil
			}
		}
		return nil, nil
	}
	ctl := withConfigHook(base.Clone(), func(c *tls.Config) { c.WrapSession = wrap })
	data := withConfigHook(base.Clone(), func(c *tls.Config) {
		verify := c.VerifyConnection
		c.WrapSession, c.UnwrapSession = wrap, unwrap
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if !cs.DidResume {
				return errNotResumed
			}
			if verify != nil {
				return verify(cs)
			}
			return nil
		}
	})
	s.tls.ctlCfg, s.tls.dataCfg = ctl, data
}

// secureData wraps a new data connection in TLS when PROT P is in force.
func (s *session) secureData(ctx context.Context, conn net.Conn) (net.Conn, error) {
	if !s.tls.prot {
		return conn, nil
	}
	tc := tls.Server(&dataWire{Conn: conn}, s.dataTLSConfig())
	conn.SetDeadline(time.Now().Add(duration(s.srv.DataTimeout, DefaultDataTimeout)))
	// An explicit handshake: a zero-byte transfer would otherwise never
	// start one, and the client would wait for it.
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		if errors.Is(err, errNotResumed) {
			return nil, errNotResumed
		}
		return nil, fmt.Errorf("TLS handshake on the data connection failed: %w", err)
	}
	conn.SetDeadline(time.Time{})
	return tc, nil
}

// dataWire is the TCP connection under a TLS data connection. It does two
// things crypto/tls cannot be asked to do.
//
// It records an end of stream (EOF) read from it: crypto/tls stops
// reading once it has the peer's close_notify, so an EOF here means the
// peer closed TCP without one, which tls.Conn reports as a plain io.EOF
// when it falls between two records.
//
// And it gathers the records of one tls.Conn.Write into one system call
// (see writeBatched). tls.Conn writes each record of at most 16 KiB on its own,
// so a download went out in 4 write(2)s per 64 KiB piece (writeCounted);
// on this project's 2-core benchmark machine (a VM, where a system call
// is dear) sending each piece at once made FTPS RETR faster (see
// docs/benchmarks.md).
type dataWire struct {
	net.Conn
	eof atomic.Bool

	// mu guards the batch: tls.Conn.Close may write close_notify from
	// another goroutine (an ABOR) while a batch is being gathered.
	mu   sync.Mutex
	wbuf *[]byte // non-nil while batching
}

func (c *dataWire) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err == io.EOF {
		c.eof.Store(true)
	}
	return n, err
}

func (c *dataWire) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wbuf == nil {
		return c.Conn.Write(p)
	}
	*c.wbuf = append(*c.wbuf, p...)
	return len(p), nil
}

// wireBufs hold batches: a piece of writePiece, its records' headers and
// tags, and while a connection is new the small records crypto/tls sends
// first (about 1.2 KiB of payload and 29 bytes of framing each).
var wireBufs = sync.Pool{New: func() any { b := make([]byte, 0, writePiece+writePiece/16); return &b }}

// writeBatched writes p to tc, the tls.Conn over c, and sends the records
// that makes in one write(2). It counts p written only once they all
// went out.
func (c *dataWire) writeBatched(tc io.Writer, p []byte) (int, error) {
	c.mu.Lock()
	c.wbuf = wireBufs.Get().(*[]byte)
	c.mu.Unlock()
	_, err := tc.Write(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	bp := c.wbuf
	c.wbuf = nil
	if err == nil && len(*bp) > 0 {
		_, err = c.Conn.Write(*bp)
	}
	if cap(*bp) <= 2*writePiece { // an odd large one is left to the GC
		*bp = (*bp)[:0]
		wireBufs.Put(bp)
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// wireOf returns the dataWire under a TLS data connection, or nil.
func wireOf(conn net.Conn) *dataWire {
	tc, ok := conn.(*tls.Conn)
	if !ok {
		return nil
	}
	w, _ := tc.NetConn().(*dataWire)
	return w
}

// endedWithoutCloseNotify reports whether conn is a TLS data connection
// whose peer closed TCP without sending close_notify.
func endedWithoutCloseNotify(conn net.Conn) bool {
	w := wireOf(conn)
	return w != nil && w.eof.Load()
}

// errNoCloseNotify fails a TLS upload that ended without close_notify
// when the server requires it.
var errNoCloseNotify = errors.New("ftp: TLS data connection closed without close_notify")

// tlsAllows applies the TLS policy to a command before it runs, replying
// when it refuses.
func (s *session) tlsAllows(verb string) bool {
	if !s.srv.TLSControlRequired || s.tls.control {
		return true
	}
	switch verb {
	case "USER":
		s.reply(534, "TLS is required: send AUTH TLS before logging in.")
		return false
	case "PASS":
		s.reply(530, "TLS is required: send AUTH TLS before logging in.")
		return false
	}
	return true
}

func (s *session) handleAUTH(arg string) {
	mech := strings.ToUpper(strings.TrimSpace(arg))
	switch {
	case s.srv.TLSConfig == nil:
		s.reply(502, "TLS is not enabled on this server.")
		return
	case s.tls.control:
		s.reply(503, "Already using TLS.")
		return
	case mech != "TLS" && mech != "TLS-C" && mech != "SSL" && mech != "TLS-P":
		s.reply(504, "Unknown security mechanism; use AUTH TLS.")
		return
	case s.r.Buffered() > 0:
		// Bytes sent after AUTH before the handshake would be read as if
		// protected (a command-injection trick); refuse them.
		s.reply(503, "Commands pipelined after AUTH are not allowed.")
		s.quit = true
		return
	}
	s.reply(234, "AUTH "+mech+" successful; start the TLS handshake.")
	if err := s.startTLS(false); err != nil {
		s.log.Info("TLS handshake failed", "err", err)
		s.quit = true
		return
	}
	// Old clients that say AUTH SSL expect protected data by default.
	s.tls.prot = mech == "SSL" || mech == "TLS-P"
	s.log.Debug("control connection secured", "mechanism", mech)
}

func (s *session) handlePBSZ(arg string) {
	if !s.tls.control {
		s.reply(503, "PBSZ requires AUTH TLS first.")
		return
	}
	s.tls.pbsz = true
	s.reply(200, "PBSZ=0")
}

func (s *session) handlePROT(arg string) {
	if !s.tls.control {
		s.reply(503, "PROT requires AUTH TLS first.")
		return
	}
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "C":
		s.tls.prot = false
		s.reply(200, "Protection level set to C (clear).")
	case "P":
		s.tls.prot = true
		s.reply(200, "Protection level set to P (private).")
	case "S", "E":
		s.reply(536, "Protection level not supported; use C or P.")
	default:
		s.reply(504, "Unknown protection level; use C or P.")
	}
}

func (s *session) handleCCC(string) {
	if !s.tls.control {
		s.reply(533, "The control connection is not protected.")
		return
	}
	// Clearing the control channel would expose later commands; RFC 4217
	// lets a server refuse with 534.
	s.reply(534, "CCC refused: the control connection stays encrypted.")
}
