package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// reply is one FTP server reply: its three-digit code and its text. For a
// multi-line reply, msg holds every line (code prefixes included on the
// first and last) joined by "\n".
type reply struct {
	code int
	msg  string
}

func (r reply) String() string { return r.msg }

// class returns the first digit of the code: 1 preliminary, 2 completion,
// 3 intermediate, 4 transient failure, 5 permanent failure.
func (r reply) class() int { return r.code / 100 }

// replyError is a reply the client did not expect; callers test for it to
// tell a server's refusal (say 421 "too many connections") from a network
// failure.
type replyError struct {
	cmd string
	r   reply
}

func (e *replyError) Error() string {
	if e.cmd == "" {
		return fmt.Sprintf("unexpected reply %q", e.r.msg)
	}
	return fmt.Sprintf("%s: unexpected reply %q", e.cmd, e.r.msg)
}

// maxReplyLines bounds a multi-line reply so a broken server cannot make
// the client buffer without end.
const maxReplyLines = 1000

var errLongLine = errors.New("ftp reply line too long")

// readReply reads one reply, following RFC 959 section 4.2: a multi-line
// reply starts with "xyz-" and ends at the first line that starts with the
// same code followed by a space; lines in between may say anything,
// including other codes. Lines may end in CRLF or bare LF.
func readReply(r *bufio.Reader) (reply, error) {
	line, err := readLine(r)
	if err != nil {
		return reply{}, err
	}
	code, sep, err := parseCodeLine(line)
	if err != nil {
		return reply{}, err
	}
	if sep != '-' {
		return reply{code: code, msg: line}, nil
	}
	var b strings.Builder
	b.WriteString(line)
	end := line[:3] + " "
	for range maxReplyLines {
		l, err := readLine(r)
		if err != nil {
			return reply{}, fmt.Errorf("multi-line reply %d: %w", code, err)
		}
		b.WriteByte('\n')
		b.WriteString(l)
		if strings.HasPrefix(l, end) || l == line[:3] {
			return reply{code: code, msg: b.String()}, nil
		}
	}
	return reply{}, fmt.Errorf("multi-line reply %d: more than %d lines", code, maxReplyLines)
}

// readLine returns one line without its CRLF or LF. A line longer than the
// reader's buffer is an error rather than silently split, since a split
// line could be mistaken for a reply's last line.
func readLine(r *bufio.Reader) (string, error) {
	b, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", errLongLine
	}
	if err != nil {
		if len(b) > 0 && errors.Is(err, io.EOF) {
			return "", fmt.Errorf("reply cut short after %q: %w", b, err)
		}
		return "", err
	}
	b = b[:len(b)-1]
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return string(b), nil
}

// parseCodeLine splits the first line of a reply into its code and the
// character after it: ' ' for a one-line reply, '-' for the start of a
// multi-line one, or 0 for a bare code.
func parseCodeLine(line string) (code int, sep byte, err error) {
	if len(line) < 3 {
		return 0, 0, fmt.Errorf("malformed reply %q", line)
	}
	for i := range 3 {
		if line[i] < '0' || line[i] > '9' {
			return 0, 0, fmt.Errorf("malformed reply %q", line)
		}
	}
	if line[0] < '1' || line[0] > '5' {
		return 0, 0, fmt.Errorf("reply code out of range in %q", line)
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	if len(line) == 3 {
		return code, 0, nil
	}
	switch line[3] {
	case ' ', '-':
		return code, line[3], nil
	}
	return 0, 0, fmt.Errorf("malformed reply %q", line)
}

// parsePASV returns the address in a 227 reply. RFC 959 does not fix the
// text around the six numbers, and servers differ ("(h1,...,p2)",
// "=h1,...,p2", no parentheses), so it takes the first run of six
// comma-separated numbers after the code.
func parsePASV(msg string) (host string, port int, err error) {
	if len(msg) < 4 {
		return "", 0, fmt.Errorf("PASV: malformed reply %q", msg)
	}
	s := msg[4:]
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			continue
		}
		j := i
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == ',' || s[j] == ' ') {
			j++
		}
		fields := strings.Split(strings.ReplaceAll(s[i:j], " ", ""), ",")
		if len(fields) < 6 {
			i = j
			continue
		}
		var n [6]int
		for k := range 6 {
			v, err := strconv.Atoi(fields[k])
			if err != nil || v > 255 {
				return "", 0, fmt.Errorf("PASV: bad number %q in %q", fields[k], msg)
			}
			n[k] = v
		}
		port = n[4]<<8 | n[5]
		if port == 0 {
			return "", 0, fmt.Errorf("PASV: port 0 in %q", msg)
		}
		return fmt.Sprintf("%d.%d.%d.%d", n[0], n[1], n[2], n[3]), port, nil
	}
	return "", 0, fmt.Errorf("PASV: no address in %q", msg)
}

// parseEPSV returns the port in a 229 reply, "(<d><d><d>port<d>)" per
// RFC 2428, where <d> is any printable delimiter the server chose.
func parseEPSV(msg string) (int, error) {
	open := strings.IndexByte(msg, '(')
	if open < 0 {
		return 0, fmt.Errorf("EPSV: no '(' in %q", msg)
	}
	s := msg[open+1:]
	closeAt := strings.IndexByte(s, ')')
	if closeAt < 0 {
		return 0, fmt.Errorf("EPSV: no ')' in %q", msg)
	}
	s = s[:closeAt]
	if len(s) < 5 {
		return 0, fmt.Errorf("EPSV: malformed %q", msg)
	}
	d := s[0]
	if d < 33 || d > 126 || s[1] != d || s[2] != d || s[len(s)-1] != d {
		return 0, fmt.Errorf("EPSV: bad delimiters in %q", msg)
	}
	port, err := strconv.Atoi(s[3 : len(s)-1])
	if err != nil || port < 1 || port > 65535 {
		return 0, fmt.Errorf("EPSV: bad port in %q", msg)
	}
	return port, nil
}

// parseSize returns the byte count in a 213 reply to SIZE.
func parseSize(msg string) (int64, error) {
	f := strings.Fields(msg)
	if len(f) < 2 {
		return 0, fmt.Errorf("SIZE: malformed reply %q", msg)
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("SIZE: bad size in %q", msg)
	}
	return n, nil
}

// parseByteSize reads sizes the way pyftpdlib's ftpbench does: binary
// units, so "10M" is 10*1024*1024 bytes.
func parseByteSize(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	s = strings.TrimSuffix(strings.TrimSuffix(s, "B"), "I")
	mult := int64(1)
	if s != "" {
		switch s[len(s)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		}
		if mult != 1 {
			s = s[:len(s)-1]
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad size %q (want e.g. 10M, 512K, 1G)", s)
	}
	return int64(v * float64(mult)), nil
}
