package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"syscall"
	"time"
)

// dialer holds what every connection to the server under test shares.
type dialer struct {
	addr    string      // host:port of the control connection
	host    string      // host data connections go to
	user    string      // USER argument
	pass    string      // PASS argument
	tlsConf *tls.Config // nil for plain FTP; else AUTH TLS, PBSZ 0, PROT P
	pasv    bool        // PASV instead of EPSV
	timeout time.Duration
}

// withTLS returns a copy of d that speaks explicit FTPS.
func (d *dialer) withTLS(conf *tls.Config) *dialer {
	c := *d
	c.tlsConf = conf
	return &c
}

// session is one logged-in (or logging-in) control connection.
type session struct {
	d       *dialer
	conn    net.Conn // the control connection, a *tls.Conn after AUTH TLS
	r       *bufio.Reader
	binary  bool // TYPE I sent
	noEPSV  bool // the server refused EPSV once; use PASV from then on
	secured bool // PROT P in force: data connections need TLS too

	// tlsConf is the dialer's, with a session cache of this session's own:
	// its data connections resume its control connection's TLS session,
	// as real clients' do, while separate clients never share sessions.
	tlsConf *tls.Config
}

// dial opens a control connection and reads the greeting.
func (d *dialer) dial(ctx context.Context) (*session, error) {
	nd := net.Dialer{Timeout: d.timeout}
	c, err := nd.DialContext(ctx, "tcp", d.addr)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", d.addr, err)
	}
	s := &session{d: d, conn: c, r: bufio.NewReaderSize(c, 4096)}
	r, err := s.read()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if r.code != 220 {
		c.Close()
		return nil, &replyError{cmd: "greeting", r: r}
	}
	return s, nil
}

// login dials and authenticates, securing the connection first when the
// dialer speaks FTPS.
func (d *dialer) login(ctx context.Context) (*session, error) {
	s, err := d.dial(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authenticate(); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *session) authenticate() error {
	if s.d.tlsConf != nil {
		if err := s.startTLS(); err != nil {
			return err
		}
	}
	r, err := s.cmd("USER " + s.d.user)
	if err != nil {
		return err
	}
	if r.code == 331 {
		if r, err = s.cmd("PASS " + s.d.pass); err != nil {
			return err
		}
	}
	if r.code != 230 {
		return &replyError{cmd: "login", r: r}
	}
	if s.d.tlsConf != nil {
		if _, err := s.expect(2, "PBSZ 0"); err != nil {
			return err
		}
		if _, err := s.expect(2, "PROT P"); err != nil {
			return err
		}
		s.secured = true
	}
	return nil
}

func (s *session) startTLS() error {
	if _, err := s.expect(2, "AUTH TLS"); err != nil {
		return err
	}
	s.tlsConf = s.d.tlsConf.Clone()
	s.tlsConf.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	tc := tls.Client(s.conn, s.tlsConf)
	tc.SetDeadline(time.Now().Add(s.d.timeout))
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("control TLS handshake: %w", err)
	}
	tc.SetDeadline(time.Time{})
	s.conn = tc
	s.r = bufio.NewReaderSize(tc, 4096)
	return nil
}

// loginRetry is login with retries and backoff on the errors a server
// gives when it is momentarily overwhelmed (listen queue full, connection
// reset, 421), so a burst of connects measures the server, not the race.
// It returns how many retries it took.
func (d *dialer) loginRetry(ctx context.Context, attempts int) (*session, int, error) {
	backoff := 5 * time.Millisecond
	for i := 0; ; i++ {
		s, err := d.login(ctx)
		if err == nil {
			return s, i, nil
		}
		if i+1 >= attempts || !retryable(err) {
			return nil, i, err
		}
		// Jitter spreads a herd of refused clients out.
		sleep := backoff/2 + rand.N(backoff)
		select {
		case <-time.After(sleep):
		case <-ctx.Done():
			return nil, i, ctx.Err()
		}
		backoff = min(backoff*2, time.Second)
	}
}

// retryable tells apart a server turning a client away for now from a
// real failure such as a wrong password.
func retryable(err error) bool {
	var re *replyError
	if errors.As(err, &re) {
		return re.r.code == 421
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.EADDRNOTAVAIL) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

func (s *session) read() (reply, error) {
	s.conn.SetReadDeadline(time.Now().Add(s.d.timeout))
	return readReply(s.r)
}

func (s *session) send(line string) error {
	s.conn.SetWriteDeadline(time.Now().Add(s.d.timeout))
	if _, err := io.WriteString(s.conn, line+"\r\n"); err != nil {
		return fmt.Errorf("send %s: %w", verb(line), err)
	}
	return nil
}

// cmd sends one command and returns its reply, whatever the code.
func (s *session) cmd(line string) (reply, error) {
	if err := s.send(line); err != nil {
		return reply{}, err
	}
	r, err := s.read()
	if err != nil {
		return reply{}, fmt.Errorf("%s: %w", verb(line), err)
	}
	return r, nil
}

// expect sends a command and fails unless the reply is of the given class.
func (s *session) expect(class int, line string) (reply, error) {
	r, err := s.cmd(line)
	if err != nil {
		return r, err
	}
	if r.class() != class {
		return r, &replyError{cmd: verb(line), r: r}
	}
	return r, nil
}

// verb keeps passwords out of error messages.
func verb(line string) string {
	for i := range len(line) {
		if line[i] == ' ' {
			return line[:i]
		}
	}
	return line
}

func (s *session) setBinary() error {
	if s.binary {
		return nil
	}
	if _, err := s.expect(2, "TYPE I"); err != nil {
		return err
	}
	s.binary = true
	return nil
}

// openData asks for a passive data port and connects to it. It always
// connects to the control connection's host: on loopback that is the
// server, and it spares the PASV address a NAT'd server may get wrong.
func (s *session) openData() (net.Conn, error) {
	port := 0
	if !s.d.pasv && !s.noEPSV {
		r, err := s.cmd("EPSV")
		if err != nil {
			return nil, err
		}
		switch {
		case r.code == 229:
			if port, err = parseEPSV(r.msg); err != nil {
				return nil, err
			}
		case r.class() == 5:
			s.noEPSV = true
		default:
			return nil, &replyError{cmd: "EPSV", r: r}
		}
	}
	if port == 0 {
		r, err := s.cmd("PASV")
		if err != nil {
			return nil, err
		}
		if r.code != 227 {
			return nil, &replyError{cmd: "PASV", r: r}
		}
		if _, port, err = parsePASV(r.msg); err != nil {
			return nil, err
		}
	}
	nd := net.Dialer{Timeout: s.d.timeout}
	c, err := nd.Dial("tcp", net.JoinHostPort(s.d.host, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("data connection: %w", err)
	}
	return c, nil
}

// startTransfer opens a data connection and issues RETR or STOR on it.
// The order (connect, command, 150, then TLS handshake) is Python
// ftplib's, which every server in the comparison works with.
func (s *session) startTransfer(line string) (net.Conn, error) {
	if err := s.setBinary(); err != nil {
		return nil, err
	}
	dc, err := s.openData()
	if err != nil {
		return nil, err
	}
	r, err := s.cmd(line)
	if err != nil {
		dc.Close()
		return nil, err
	}
	if r.class() != 1 {
		dc.Close()
		return nil, &replyError{cmd: verb(line), r: r}
	}
	if !s.secured {
		return dc, nil
	}
	tc := tls.Client(dc, s.tlsConf)
	tc.SetDeadline(time.Now().Add(s.d.timeout))
	if err := tc.Handshake(); err != nil {
		dc.Close()
		return nil, fmt.Errorf("%s: data TLS handshake: %w", verb(line), err)
	}
	return tc, nil
}

// finishTransfer reads the reply that closes a transfer.
func (s *session) finishTransfer(cmd string) error {
	r, err := s.read()
	if err != nil {
		return fmt.Errorf("%s: final reply: %w", cmd, err)
	}
	if r.class() != 2 {
		return &replyError{cmd: cmd, r: r}
	}
	return nil
}

// retr downloads name and returns its length, reading with buf so a large
// buffer means few system calls.
func (s *session) retr(name string, buf []byte) (int64, error) {
	dc, err := s.startTransfer("RETR " + name)
	if err != nil {
		return 0, err
	}
	var n int64
	for {
		dc.SetReadDeadline(time.Now().Add(s.d.timeout))
		m, err := dc.Read(buf)
		n += int64(m)
		// Some FTPS servers close the data connection without a TLS
		// close_notify; the byte count check catches a real truncation.
		if err == io.EOF || s.secured && errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			dc.Close()
			return n, fmt.Errorf("RETR %s: read after %d bytes: %w", name, n, err)
		}
	}
	dc.Close()
	return n, s.finishTransfer("RETR")
}

// stor uploads buf repeatedly to name until limit bytes are sent (limit > 0)
// or the deadline passes (a non-zero deadline), whichever comes first, and
// returns the count sent. The count only stands once the server's 226 says
// it has them all.
func (s *session) stor(name string, buf []byte, limit int64, deadline time.Time) (int64, error) {
	dc, err := s.startTransfer("STOR " + name)
	if err != nil {
		return 0, err
	}
	var n int64
	for limit <= 0 || n < limit {
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			break
		}
		b := buf
		if limit > 0 && int64(len(b)) > limit-n {
			b = b[:limit-n]
		}
		dc.SetWriteDeadline(time.Now().Add(s.d.timeout))
		m, err := dc.Write(b)
		n += int64(m)
		if err != nil {
			dc.Close()
			return n, fmt.Errorf("STOR %s: write after %d bytes: %w", name, n, err)
		}
	}
	if err := closeUpload(dc, s.d.timeout); err != nil {
		return n, fmt.Errorf("STOR %s: close data: %w", name, err)
	}
	return n, s.finishTransfer("STOR")
}

// closeUpload ends an upload. Over TLS it sends close_notify and waits for
// the server's before closing, as Python's ftplib unwrap() does: vsftpd
// answers 426 to an upload whose socket closes before its own
// close_notify is read.
func closeUpload(dc net.Conn, timeout time.Duration) error {
	tc, ok := dc.(*tls.Conn)
	if !ok {
		return dc.Close()
	}
	defer tc.Close()
	if err := tc.CloseWrite(); err != nil {
		return err
	}
	tc.SetReadDeadline(time.Now().Add(timeout))
	var b [512]byte
	for {
		if _, err := tc.Read(b[:]); err != nil {
			// The server's close_notify (io.EOF) or a bare TCP close: the
			// upload is over either way, and the 226 says whether it took.
			return nil
		}
	}
}

func (s *session) size(name string) (int64, error) {
	if err := s.setBinary(); err != nil {
		return 0, err
	}
	r, err := s.expect(2, "SIZE "+name)
	if err != nil {
		return 0, err
	}
	return parseSize(r.msg)
}

func (s *session) dele(name string) error {
	_, err := s.expect(2, "DELE "+name)
	return err
}

// quit says goodbye and waits for the 221, so a forking server's child
// has been told to exit before the next measurement starts.
func (s *session) quit() error {
	defer s.close()
	_, err := s.expect(2, "QUIT")
	return err
}

func (s *session) close() { s.conn.Close() }
