package ftp

import (
	"sort"
	"strings"
)

// argRule says whether a command takes an argument.
type argRule uint8

const (
	argNone     argRule = iota // an argument is a 501
	argRequired                // a missing argument is a 501
	argOptional
)

// command is one row of the command table.
type command struct {
	name    string
	handler func(s *session, arg string)
	// auth: the command needs a logged-in user (else 530).
	auth bool
	// perm is the permission the command needs on its path, for HELP and
	// documentation; handlers check it on the path they resolve.
	perm Perm
	arg  argRule
	// help is the syntax shown by HELP <verb>.
	help string
	// feat is the command's FEAT line, if any.
	feat string
	// concurrent commands run while a transfer is in progress; the others
	// wait for it to end, so replies never interleave out of order.
	concurrent bool
}

// commandTable builds the table that maps verbs to handlers. HELP and FEAT
// are generated from it, so they cannot drift from what is implemented.
func commandTable() map[string]*command {
	rows := []command{
		// Access control (RFC 959 4.1.1).
		{name: "USER", handler: (*session).handleUSER, arg: argRequired, help: "USER <sp> username"},
		{name: "PASS", handler: (*session).handlePASS, arg: argOptional, help: "PASS [<sp> password]"},
		{name: "ACCT", handler: (*session).handleNotImplemented, arg: argRequired, help: "ACCT <sp> account (not implemented)"},
		{name: "REIN", handler: (*session).handleREIN, arg: argNone, help: "REIN (log out, keep the connection)"},
		{name: "QUIT", handler: (*session).handleQUIT, arg: argNone, help: "QUIT (close the connection)"},
		{name: "SMNT", handler: (*session).handleNotImplemented, auth: true, arg: argRequired, help: "SMNT <sp> pathname (not implemented)"},

		// Navigation.
		{name: "CWD", handler: (*session).handleCWD, auth: true, perm: PermChdir, arg: argOptional, help: "CWD [<sp> pathname]"},
		{name: "XCWD", handler: (*session).handleCWD, auth: true, perm: PermChdir, arg: argOptional, help: "XCWD [<sp> pathname] (same as CWD)"},
		{name: "CDUP", handler: (*session).handleCDUP, auth: true, perm: PermChdir, arg: argNone, help: "CDUP (go to the parent directory)"},
		{name: "XCUP", handler: (*session).handleCDUP, auth: true, perm: PermChdir, arg: argNone, help: "XCUP (same as CDUP)"},
		{name: "PWD", handler: (*session).handlePWD, auth: true, arg: argNone, help: "PWD (print the working directory)", concurrent: true},
		{name: "XPWD", handler: (*session).handlePWD, auth: true, arg: argNone, help: "XPWD (same as PWD)", concurrent: true},

		// Files and directories.
		{name: "MKD", handler: (*session).handleMKD, auth: true, perm: PermMkdir, arg: argRequired, help: "MKD <sp> pathname"},
		{name: "XMKD", handler: (*session).handleMKD, auth: true, perm: PermMkdir, arg: argRequired, help: "XMKD <sp> pathname (same as MKD)"},
		{name: "RMD", handler: (*session).handleRMD, auth: true, perm: PermDelete, arg: argRequired, help: "RMD <sp> pathname"},
		{name: "XRMD", handler: (*session).handleRMD, auth: true, perm: PermDelete, arg: argRequired, help: "XRMD <sp> pathname (same as RMD)"},
		{name: "DELE", handler: (*session).handleDELE, auth: true, perm: PermDelete, arg: argRequired, help: "DELE <sp> pathname"},
		{name: "RNFR", handler: (*session).handleRNFR, auth: true, perm: PermRename, arg: argRequired, help: "RNFR <sp> pathname"},
		{name: "RNTO", handler: (*session).handleRNTO, auth: true, perm: PermRename, arg: argRequired, help: "RNTO <sp> pathname"},
		{name: "SIZE", handler: (*session).handleSIZE, auth: true, perm: PermList, arg: argRequired, help: "SIZE <sp> pathname", feat: "SIZE"},
		{name: "MDTM", handler: (*session).handleMDTM, auth: true, perm: PermList, arg: argRequired, help: "MDTM [<sp> YYYYMMDDHHMMSS] <sp> pathname", feat: "MDTM"},
		{name: "MFMT", handler: (*session).handleMFMT, auth: true, perm: PermChtime, arg: argRequired, help: "MFMT <sp> YYYYMMDDHHMMSS <sp> pathname", feat: "MFMT"},
		{name: "SITE", handler: (*session).handleSITE, arg: argRequired, help: "SITE <sp> command (see SITE HELP)"},

		// Transfer parameters.
		{name: "TYPE", handler: (*session).handleTYPE, auth: true, arg: argRequired, help: "TYPE <sp> A | I | L 8"},
		{name: "MODE", handler: (*session).handleMODE, auth: true, arg: argRequired, help: "MODE <sp> S"},
		{name: "STRU", handler: (*session).handleSTRU, auth: true, arg: argRequired, help: "STRU <sp> F"},
		{name: "ALLO", handler: (*session).handleALLO, auth: true, arg: argRequired, help: "ALLO <sp> bytes"},
		{name: "REST", handler: (*session).handleREST, auth: true, arg: argRequired, help: "REST <sp> offset", feat: "REST STREAM"},

		// Data channel.
		{name: "PASV", handler: (*session).handlePASV, auth: true, arg: argNone, help: "PASV (passive mode, IPv4)"},
		{name: "EPSV", handler: (*session).handleEPSV, auth: true, arg: argOptional, help: "EPSV [<sp> 1 | 2 | ALL]", feat: "EPSV"},
		{name: "PORT", handler: (*session).handlePORT, auth: true, arg: argRequired, help: "PORT <sp> h1,h2,h3,h4,p1,p2"},
		{name: "EPRT", handler: (*session).handleEPRT, auth: true, arg: argRequired, help: "EPRT <sp> |proto|addr|port|", feat: "EPRT"},

		// Transfers.
		{name: "RETR", handler: (*session).handleRETR, auth: true, perm: PermRetrieve, arg: argRequired, help: "RETR <sp> pathname"},
		{name: "STOR", handler: (*session).handleSTOR, auth: true, perm: PermStore, arg: argRequired, help: "STOR <sp> pathname"},
		{name: "APPE", handler: (*session).handleAPPE, auth: true, perm: PermAppend, arg: argRequired, help: "APPE <sp> pathname"},
		{name: "STOU", handler: (*session).handleSTOU, auth: true, perm: PermStore, arg: argOptional, help: "STOU [<sp> name-prefix]"},
		{name: "ABOR", handler: (*session).handleABOR, auth: true, arg: argNone, help: "ABOR (abort the transfer)", concurrent: true},

		// Listings.
		{name: "LIST", handler: (*session).handleLIST, auth: true, perm: PermList, arg: argOptional, help: "LIST [<sp> pathname]"},
		{name: "NLST", handler: (*session).handleNLST, auth: true, perm: PermList, arg: argOptional, help: "NLST [<sp> pathname]"},
		{name: "MLSD", handler: (*session).handleMLSD, auth: true, perm: PermList, arg: argOptional, help: "MLSD [<sp> pathname]"},
		{name: "MLST", handler: (*session).handleMLST, auth: true, perm: PermList, arg: argOptional, help: "MLST [<sp> pathname]", feat: "MLST"},

		// Information.
		{name: "SYST", handler: (*session).handleSYST, arg: argNone, help: "SYST (system type)", concurrent: true},
		{name: "NOOP", handler: (*session).handleNOOP, arg: argNone, help: "NOOP (do nothing)", concurrent: true},
		{name: "HELP", handler: (*session).handleHELP, arg: argOptional, help: "HELP [<sp> command]", concurrent: true},
		{name: "FEAT", handler: (*session).handleFEAT, arg: argNone, help: "FEAT (list extensions)", concurrent: true},
		{name: "OPTS", handler: (*session).handleOPTS, arg: argRequired, help: "OPTS <sp> UTF8 ON | MLST facts"},
		{name: "STAT", handler: (*session).handleSTAT, arg: argOptional, help: "STAT [<sp> pathname]", concurrent: true},

		// Security (RFC 4217).
		{name: "AUTH", handler: (*session).handleAUTH, arg: argRequired, help: "AUTH <sp> TLS", feat: "AUTH TLS"},
		{name: "PBSZ", handler: (*session).handlePBSZ, arg: argRequired, help: "PBSZ <sp> 0", feat: "PBSZ"},
		{name: "PROT", handler: (*session).handlePROT, arg: argRequired, help: "PROT <sp> C | P", feat: "PROT"},
		{name: "CCC", handler: (*session).handleCCC, arg: argNone, help: "CCC (not supported)"},
	}
	table := make(map[string]*command, len(rows))
	for i := range rows {
		table[rows[i].name] = &rows[i]
	}
	return table
}

// siteCommand is one row of the SITE sub-command table.
type siteCommand struct {
	handler func(s *session, arg string)
	auth    bool
	perm    Perm
	help    string
}

func siteTable() map[string]siteCommand {
	return map[string]siteCommand{
		"CHMOD": {handler: (*session).handleSiteCHMOD, auth: true, perm: PermChmod, help: "SITE CHMOD <sp> mode <sp> pathname"},
		"HELP":  {handler: (*session).handleSiteHELP, help: "SITE HELP [<sp> command]"},
	}
}

// sortedVerbs returns the verbs of the table in order.
func sortedVerbs[V any](m map[string]V) []string {
	verbs := make([]string, 0, len(m))
	for v := range m {
		verbs = append(verbs, v)
	}
	sort.Strings(verbs)
	return verbs
}

func (s *session) handleHELP(arg string) {
	if arg != "" {
		verb := strings.ToUpper(strings.TrimSpace(arg))
		if c, ok := s.srv.cmds[verb]; ok {
			s.reply(214, "Syntax: "+c.help)
			return
		}
		s.reply(501, "Unknown command "+truncate(verb, 16)+".")
		return
	}
	verbs := sortedVerbs(s.srv.cmds)
	var lines []string
	for i := 0; i < len(verbs); i += 8 {
		var b strings.Builder
		for _, v := range verbs[i:min(i+8, len(verbs))] {
			b.WriteString(" ")
			b.WriteString(v)
			b.WriteString(strings.Repeat(" ", max(0, 5-len(v))))
		}
		lines = append(lines, b.String())
	}
	s.replyLines(214, "The following commands are recognized:", lines, "Help OK.")
}

func (s *session) handleFEAT(string) {
	var lines []string
	for _, c := range s.srv.cmds {
		switch {
		case c.feat == "":
		case c.name == "MLST":
			lines = append(lines, " MLST "+s.facts.feat())
		case strings.HasPrefix(c.feat, "AUTH") || c.name == "PBSZ" || c.name == "PROT":
			if s.srv.TLSConfig != nil {
				lines = append(lines, " "+c.feat)
			}
		default:
			lines = append(lines, " "+c.feat)
		}
	}
	lines = append(lines, " TVFS", " UTF8")
	sort.Strings(lines)
	s.replyLines(211, "Features:", lines, "End")
}

func (s *session) handleSITE(arg string) {
	sub, rest, _ := strings.Cut(strings.TrimLeft(arg, " "), " ")
	sub = strings.ToUpper(sub)
	c, ok := s.srv.site[sub]
	switch {
	case !ok:
		s.reply(500, "Unknown SITE command "+truncate(sub, 16)+".")
	case c.auth && s.acct == nil:
		s.reply(530, "Please log in with USER and PASS first.")
	default:
		c.handler(s, rest)
	}
}

func (s *session) handleSiteHELP(arg string) {
	if arg != "" {
		sub := strings.ToUpper(strings.TrimSpace(arg))
		if c, ok := s.srv.site[sub]; ok {
			s.reply(214, "Syntax: "+c.help)
			return
		}
		s.reply(501, "Unknown SITE command "+truncate(sub, 16)+".")
		return
	}
	var lines []string
	for _, v := range sortedVerbs(s.srv.site) {
		lines = append(lines, " "+v)
	}
	s.replyLines(214, "The following SITE commands are recognized:", lines, "Help OK.")
}

func (s *session) handleNotImplemented(string) {
	s.reply(502, "Command not implemented.")
}
