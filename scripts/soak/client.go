package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// client is a minimal FTP control connection with a deadline on every
// read and write, so that a stuck server fails the soak instead of
// hanging it.
type client struct {
	conn    net.Conn
	r       *bufio.Reader
	timeout time.Duration
	epsv    bool // passive mode: EPSV, else PASV
}

// replyError is a reply other than the one expected.
type replyError struct {
	line string
	code int
	text string
	want int
}

func (e *replyError) Error() string {
	return fmt.Sprintf("%s: got %d %s, want %d", showLine(e.line), e.code, e.text, e.want)
}

func showLine(line string) string {
	if strings.HasPrefix(strings.ToUpper(line), "PASS ") {
		return "PASS ****"
	}
	return line
}

// dial connects to addr and reads the greeting.
func dial(addr string, timeout time.Duration) (*client, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	c := &client{conn: conn, r: bufio.NewReaderSize(conn, 4096), timeout: timeout, epsv: true}
	if _, err := c.expect("", 220); err != nil {
		conn.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	return c, nil
}

// login dials addr and logs in.
func login(addr, user, pass string, timeout time.Duration) (*client, error) {
	c, err := dial(addr, timeout)
	if err != nil {
		return nil, err
	}
	if _, err := c.expect("USER "+user, 331); err != nil {
		c.close()
		return nil, err
	}
	if _, err := c.expect("PASS "+pass, 230); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *client) close() { c.conn.Close() }

// readReply reads one reply, single or multi-line.
func (c *client) readReply() (int, string, error) {
	c.conn.SetReadDeadline(time.Now().Add(c.timeout))
	line, err := c.r.ReadString('\n')
	if err != nil {
		return 0, "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if len(line) < 4 || (line[3] != ' ' && line[3] != '-') {
		return 0, "", fmt.Errorf("malformed reply %q", line)
	}
	code, err := strconv.Atoi(line[:3])
	if err != nil {
		return 0, "", fmt.Errorf("malformed reply %q", line)
	}
	text := line[4:]
	if line[3] == '-' {
		end := line[:3] + " "
		for range 100000 {
			l, err := c.r.ReadString('\n')
			if err != nil {
				return 0, "", err
			}
			if l = strings.TrimRight(l, "\r\n"); strings.HasPrefix(l, end) {
				return code, l[4:], nil
			}
		}
		return 0, "", errors.New("multi-line reply too long")
	}
	return code, text, nil
}

// cmd sends line (unless empty) and reads the reply.
func (c *client) cmd(line string) (int, string, error) {
	if line != "" {
		c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
		if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
			return 0, "", err
		}
	}
	return c.readReply()
}

// expect sends line and fails unless the reply has code.
func (c *client) expect(line string, code int) (string, error) {
	got, text, err := c.cmd(line)
	if err != nil {
		return "", fmt.Errorf("%s: %w", showLine(line), err)
	}
	if got != code {
		return text, &replyError{line, got, text, code}
	}
	return text, nil
}

var (
	pasvRe = regexp.MustCompile(`\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)`)
	epsvRe = regexp.MustCompile(`\(\|\|\|(\d+)\|\)`)
)

// data opens a passive data connection (EPSV or PASV, as c.epsv says).
func (c *client) data() (net.Conn, error) {
	host, _, _ := net.SplitHostPort(c.conn.RemoteAddr().String())
	var addr string
	if c.epsv {
		text, err := c.expect("EPSV", 229)
		if err != nil {
			return nil, err
		}
		m := epsvRe.FindStringSubmatch(text)
		if m == nil {
			return nil, fmt.Errorf("EPSV reply %q has no port", text)
		}
		addr = net.JoinHostPort(host, m[1])
	} else {
		text, err := c.expect("PASV", 227)
		if err != nil {
			return nil, err
		}
		m := pasvRe.FindStringSubmatch(text)
		if m == nil {
			return nil, fmt.Errorf("PASV reply %q has no address", text)
		}
		hi, _ := strconv.Atoi(m[5])
		lo, _ := strconv.Atoi(m[6])
		addr = net.JoinHostPort(strings.Join(m[1:5], "."), strconv.Itoa(hi<<8|lo))
	}
	d, err := net.DialTimeout("tcp", addr, c.timeout)
	if err != nil {
		return nil, fmt.Errorf("dial data %s: %w", addr, err)
	}
	return d, nil
}

// deadlineConn renews a data connection's deadline on every read and
// write, so a stalled transfer fails after the client's timeout.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (d deadlineConn) Read(b []byte) (int, error) {
	d.Conn.SetReadDeadline(time.Now().Add(d.timeout))
	return d.Conn.Read(b)
}

func (d deadlineConn) Write(b []byte) (int, error) {
	d.Conn.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.Conn.Write(b)
}

// download runs line (RETR, LIST, NLST) and copies the data to w.
func (c *client) download(line string, w io.Writer) (int64, error) {
	d, err := c.data()
	if err != nil {
		return 0, err
	}
	defer d.Close()
	if _, err := c.expect(line, 150); err != nil {
		return 0, err
	}
	n, err := io.Copy(w, deadlineConn{d, c.timeout})
	if err != nil {
		return n, fmt.Errorf("%s: data: %w", line, err)
	}
	d.Close()
	if _, err := c.expect("", 226); err != nil {
		return n, fmt.Errorf("%s: %w", line, err)
	}
	return n, nil
}

// upload runs line (STOR, APPE) with the data from r.
func (c *client) upload(line string, r io.Reader) (int64, error) {
	d, err := c.data()
	if err != nil {
		return 0, err
	}
	defer d.Close()
	if _, err := c.expect(line, 150); err != nil {
		return 0, err
	}
	n, err := io.Copy(deadlineConn{d, c.timeout}, r)
	if err != nil {
		return n, fmt.Errorf("%s: data: %w", line, err)
	}
	if err := d.Close(); err != nil {
		return n, fmt.Errorf("%s: close data: %w", line, err)
	}
	if _, err := c.expect("", 226); err != nil {
		return n, fmt.Errorf("%s: %w", line, err)
	}
	return n, nil
}
