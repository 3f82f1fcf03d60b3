package ftp

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

func (s *session) handleSYST(string) {
	s.reply(215, "UNIX Type: L8")
}

func (s *session) handleNOOP(string) {
	s.reply(200, "NOOP ok.")
}

func (s *session) handleTYPE(arg string) {
	f := strings.Fields(strings.ToUpper(arg))
	switch {
	case len(f) == 0:
		s.reply(501, "Syntax error in TYPE.")
	case f[0] == "I" && len(f) == 1, f[0] == "L8" && len(f) == 1, f[0] == "L" && len(f) == 2 && f[1] == "8":
		s.ascii = false
		s.reply(200, "Type set to I (binary).")
	case f[0] == "A" && (len(f) == 1 || len(f) == 2 && f[1] == "N"):
		s.ascii = true
		s.reply(200, "Type set to A (ASCII).")
	case f[0] == "A" && len(f) == 2 && (f[1] == "T" || f[1] == "C"):
		s.reply(504, "Only non-print format N is supported with TYPE A.")
	case f[0] == "E" || f[0] == "L" || strings.HasPrefix(f[0], "L"):
		s.reply(504, "Type not supported; use A or I.")
	default:
		s.reply(501, "Syntax error in TYPE.")
	}
}

func (s *session) handleMODE(arg string) {
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "S":
		s.reply(200, "Mode set to S (stream).")
	case "B", "C", "Z":
		s.reply(504, "Only stream mode (S) is supported.")
	default:
		s.reply(501, "Syntax error in MODE.")
	}
}

func (s *session) handleSTRU(arg string) {
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "F":
		s.reply(200, "Structure set to F (file).")
	case "R", "P":
		s.reply(504, "Only file structure (F) is supported.")
	default:
		s.reply(501, "Syntax error in STRU.")
	}
}

func (s *session) handleALLO(string) {
	s.reply(202, "No storage allocation necessary.")
}

func (s *session) handleREST(arg string) {
	n, err := strconv.ParseInt(strings.TrimSpace(arg), 10, 64)
	switch {
	case err != nil || n < 0:
		s.reply(501, "Invalid REST offset; expected a non-negative number of bytes.")
	case n > 0 && s.ascii:
		s.reply(504, "REST is not supported in ASCII mode; send TYPE I first.")
	default:
		s.restOffset = n
		s.reply(350, fmt.Sprintf("Restarting at %d; send RETR, STOR or APPE.", n))
	}
}

func (s *session) handleOPTS(arg string) {
	name, value, _ := strings.Cut(strings.TrimSpace(arg), " ")
	switch strings.ToUpper(name) {
	case "UTF8", "UTF-8":
		// Names are passed through byte for byte either way, so UTF-8
		// clients and old Latin-1 ones both keep working.
		switch strings.ToUpper(strings.TrimSpace(value)) {
		case "", "ON":
			s.reply(200, "UTF8 mode enabled.")
		case "OFF":
			s.reply(200, "UTF8 mode disabled.")
		default:
			s.reply(501, "Syntax error: OPTS UTF8 ON or OFF.")
		}
	case "MLST":
		s.facts = parseFacts(value)
		s.reply(200, strings.TrimSpace("MLST OPTS "+s.facts.String()))
	default:
		s.reply(501, "Option not understood.")
	}
}

func (s *session) handleSTAT(arg string) {
	if arg != "" {
		if s.acct == nil {
			s.reply(530, "Please log in with USER and PASS first.")
			return
		}
		if x := s.currentTransfer(); x != nil {
			if !x.replied.Load() {
				s.reply(450, "A transfer is in progress; try STAT without an argument.")
				return
			}
			<-x.done // it has replied and is only tidying up
		}
		s.statPath(arg)
		return
	}
	lines := []string{
		" Connected to " + s.local.String() + " from " + s.remote.String(),
	}
	switch {
	case s.acct != nil:
		lines = append(lines, " Logged in as "+s.acct.User)
	case s.userName != "":
		lines = append(lines, " Waiting for password")
	default:
		lines = append(lines, " Not logged in")
	}
	typ := "BINARY"
	if s.ascii {
		typ = "ASCII"
	}
	lines = append(lines, " TYPE: "+typ+", FORM: Nonprint; STRUcture: File; transfer MODE: Stream")
	if s.tls.control {
		lines = append(lines, " Control connection is encrypted (TLS)")
	}
	lines = append(lines, s.dataStatus())
	if x := s.currentTransfer(); x != nil {
		elapsed := time.Since(x.start).Round(time.Millisecond)
		lines = append(lines, fmt.Sprintf(" Transferring (%s %s): %d bytes in %s", x.cmd, x.path, x.moved(), elapsed))
	}
	s.replyLines(211, "FTP server status:", lines, "End of status.")
}
