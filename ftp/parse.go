package ftp

// Telnet bytes that can appear on an FTP control connection (RFC 854).
const (
	telnetIAC  = 255 // interpret as command
	telnetSB   = 250 // subnegotiation begins
	telnetSE   = 240 // subnegotiation ends
	telnetWILL = 251 // WILL, WONT, DO and DONT (251-254) carry an option byte
)

// parseLine splits a raw command line into its verb, upper-cased, and its
// argument. It drops the line terminator (CRLF or a bare LF) and Telnet
// command sequences (clients send IAC IP IAC DM before ABOR), keeps every
// other byte of the argument as it is, and skips blanks before the verb.
// The argument is what follows the first space after the verb. line is
// modified in place; verb aliases it.
func parseLine(line []byte) (verb []byte, arg string) {
	n := len(line)
	for n > 0 && (line[n-1] == '\n' || line[n-1] == '\r') {
		n--
	}
	line = stripTelnet(line[:n])
	// Skip blanks before the verb, and stray IAC bytes: a client that
	// sends "IAC IP IAC" in band and the DM as TCP urgent data leaves a
	// lone IAC before ABOR when the urgent byte is taken out of band. A
	// verb never holds that byte, so nothing is lost.
	i := 0
	for i < len(line) && (line[i] == ' ' || line[i] == '\t' || line[i] == telnetIAC) {
		i++
	}
	line = line[i:]
	end := len(line)
	for j, c := range line {
		if c == ' ' {
			end = j
			break
		}
	}
	verb = line[:end]
	for j, c := range verb {
		if 'a' <= c && c <= 'z' {
			verb[j] = c - ('a' - 'A')
		}
	}
	if end < len(line) {
		arg = string(line[end+1:])
	}
	return verb, arg
}

// stripTelnet removes Telnet command sequences from b in place. IAC IAC
// stands for a data byte 255. An IAC followed by a byte that is not a Telnet
// command is kept as data: old clients send Latin-1 names with 0xFF in them
// and know nothing of Telnet.
func stripTelnet(b []byte) []byte {
	w := 0
	for r := 0; r < len(b); r++ {
		c := b[r]
		if c != telnetIAC || r+1 >= len(b) {
			if c == telnetIAC {
				break // a lone IAC at the end carries nothing
			}
			b[w] = c
			w++
			continue
		}
		next := b[r+1]
		switch {
		case next == telnetIAC:
			b[w] = telnetIAC
			w++
			r++
		case next >= telnetWILL:
			r += 2 // WILL/WONT/DO/DONT and their option byte
		case next == telnetSB:
			r += 2
			for r+1 < len(b) && !(b[r] == telnetIAC && b[r+1] == telnetSE) {
				r++
			}
			r++
		case next >= telnetSE:
			r++ // a one-byte command: IP, DM, AO, AYT, NOP...
		default:
			b[w] = c
			w++
		}
	}
	return b[:w]
}
