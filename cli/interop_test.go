package cli_test

// The interop matrix: real FTP clients (curl, wget, lftp, busybox, tnftp,
// ncftp, Python's ftplib, the Go client) against the built ftpshare, in
// every data-connection mode and with FTPS where the client has it, for
// every operation a user does. The matrix is data (interopClients): each
// (client, mode, operation) cell is one subtest,
// TestInterop/<client>/<mode>/<operation>, and README.md's table is
// rendered from the same data (TestInteropMatrixInREADME).
//
// Each cell starts its own server on a fresh directory, runs the client
// with a timeout and an empty HOME, and checks what the user would see:
// sha256 of the bytes on disk, names in a listing, directories made,
// files gone or renamed. It also checks, from the server's own log and
// events, that the client logged in as it should (user or anonymous, over
// TLS or not) and used the data-connection mode of its column.

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// interopOp is an operation a user does with a client.
type interopOp string

const (
	opLogin     interopOp = "login"
	opAnonymous interopOp = "anonymous"
	opList      interopOp = "list"
	opDownload  interopOp = "download"
	opUpload    interopOp = "upload"
	opResume    interopOp = "resume"
	opMkdir     interopOp = "mkdir"
	opDelete    interopOp = "delete"
	opRename    interopOp = "rename"
	opTree      interopOp = "tree"
)

// interopOps are the operations in the order of the README's columns.
var interopOps = []interopOp{opLogin, opAnonymous, opList, opDownload, opUpload, opResume, opMkdir, opDelete, opRename, opTree}

// opTitle is an operation's README column.
var opTitle = map[interopOp]string{
	opLogin: "login", opAnonymous: "anonymous", opList: "list", opDownload: "download", opUpload: "upload",
	opResume: "resume", opMkdir: "mkdir", opDelete: "delete", opRename: "rename", opTree: "200-file tree",
}

// interopMode is how the client reaches the data: passive or active,
// clear or explicit FTPS (AUTH TLS, PROT P).
type interopMode string

const (
	modePassive   interopMode = "passive"
	modeActive    interopMode = "active"
	modeTLS       interopMode = "tls"
	modeTLSActive interopMode = "tls-active"
)

var interopModes = []interopMode{modePassive, modeActive, modeTLS, modeTLSActive}

var modeTitle = map[interopMode]string{
	modePassive: "passive", modeActive: "active (PORT)", modeTLS: "FTPS, passive", modeTLSActive: "FTPS, active",
}

func (m interopMode) tls() bool    { return m == modeTLS || m == modeTLSActive }
func (m interopMode) active() bool { return m == modeActive || m == modeTLSActive }

// interopCell is one operation of one client. run does it in the mode of
// the ienv it is given; a nil run means the operation does not apply to
// the client, and why says why. note, on a cell that runs, says what is
// tested when that is less than the whole operation.
type interopCell struct {
	run  func(e *ienv)
	note string
	why  string
}

// interopClient is one row group of the matrix.
type interopClient struct {
	name  string   // the subtest name
	title string   // the README's name for it
	how   string   // the README's line on how the tests drive it
	bins  []string // the executables it needs
	// modes are the modes the client has; noModes says why it lacks the
	// others.
	modes   []interopMode
	noModes map[interopMode]string
	// noTLSReuse says why the client cannot resume the control
	// connection's TLS session on data connections; when it is empty, its
	// FTPS cells run with --tls-session-reuse.
	noTLSReuse string
	cells      map[interopOp]interopCell
}

// interopClients is the matrix. The client files (interop_<client>_test.go)
// hold each client's cells.
func interopClients() []*interopClient {
	return []*interopClient{
		curlClient(),
		wgetClient(),
		lftpClient(),
		busyboxClient(),
		tnftpClient(),
		ncftpClient(),
		pythonClient(),
		goClient(),
	}
}

// Names and contents the cells use.
const (
	interopUser = "alice"
	interopPass = "pw-Secr3t_9"
)

// clientTimeout bounds each run of an external client.
const clientTimeout = 60 * time.Second

// TestInterop runs every applicable cell of the matrix.
func TestInterop(t *testing.T) {
	t.Parallel()
	for _, c := range interopClients() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for _, b := range c.bins {
				requireClient(t, b)
			}
			for _, mode := range c.modes {
				t.Run(string(mode), func(t *testing.T) {
					t.Parallel()
					for _, op := range interopOps {
						cell := c.cells[op]
						if cell.run == nil {
							continue // does not apply: see cell.why, in the README
						}
						t.Run(string(op), func(t *testing.T) {
							t.Parallel()
							e := newIenv(t, c, mode, op)
							cell.run(e)
							e.checkMode()
						})
					}
				})
			}
		})
	}
}

// TestInteropMatrixComplete checks that the matrix says something about
// every cell: each mode supported or not (with a reason), each operation
// run or not (with a reason).
func TestInteropMatrixComplete(t *testing.T) {
	for _, c := range interopClients() {
		for _, m := range interopModes {
			_, no := c.noModes[m]
			if slices.Contains(c.modes, m) == no {
				t.Errorf("%s: mode %s must be in exactly one of modes and noModes", c.name, m)
			}
			if no && c.noModes[m] == "" {
				t.Errorf("%s: mode %s: say why it is not supported", c.name, m)
			}
		}
		for _, op := range interopOps {
			cell, ok := c.cells[op]
			switch {
			case !ok:
				t.Errorf("%s: no cell for %s", c.name, op)
			case cell.run == nil && cell.why == "":
				t.Errorf("%s: %s does not apply: say why", c.name, op)
			case cell.run != nil && cell.why != "":
				t.Errorf("%s: %s runs and has a why: use note", c.name, op)
			}
		}
		if len(c.cells) != len(interopOps) {
			t.Errorf("%s: %d cells, want %d", c.name, len(c.cells), len(interopOps))
		}
	}
}

// --- The README ---

// superscript writes n in superscript digits, for note references.
func superscript(n int) string {
	const digits = "⁰¹²³⁴⁵⁶⁷⁸⁹"
	var b strings.Builder
	for _, c := range strconv.Itoa(n) {
		b.WriteString(string([]rune(digits)[c-'0']))
	}
	return b.String()
}

var updateREADME = flag.Bool("update-readme", false, "rewrite README.md's interop matrix (also UPDATE_README=1)")

const (
	matrixStart = "<!-- interop-matrix:start -->"
	matrixEnd   = "<!-- interop-matrix:end -->"
)

// TestInteropMatrixInREADME checks that README.md's matrix is the one
// rendered from interopClients. With -update-readme or UPDATE_README=1
// it rewrites that block (and nothing else) instead.
func TestInteropMatrixInREADME(t *testing.T) {
	const readme = "../README.md"
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, matrixStart), strings.Index(doc, matrixEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %s ... %s block; put one in its Clients section", matrixStart, matrixEnd)
	}
	want := renderMatrix(interopClients())
	got := doc[i+len(matrixStart) : j]
	if got == want {
		return
	}
	if *updateREADME || os.Getenv("UPDATE_README") == "1" {
		if err := os.WriteFile(readme, []byte(doc[:i+len(matrixStart)]+want+doc[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("README.md: interop matrix rewritten")
		return
	}
	t.Errorf("README.md's interop matrix is not the one the tests run (UPDATE_README=1 go test ./cli -run TestInteropMatrixInREADME rewrites it); want:\n%s%s%s", matrixStart, want, matrixEnd)
}

// renderMatrix renders the matrix as markdown: a table with one row per
// client and mode it has, ✓ for a tested cell and — for one that does not
// apply, with numbered notes; then the modes each client lacks, and how
// the tests drive each client.
func renderMatrix(clients []*interopClient) string {
	var notes []string
	ref := func(s string) string {
		if s == "" {
			return ""
		}
		n := slices.Index(notes, s)
		if n < 0 {
			notes = append(notes, s)
			n = len(notes) - 1
		}
		return superscript(n + 1)
	}
	var b strings.Builder
	b.WriteString("\n<!-- Generated from cli/interop_test.go by TestInteropMatrixInREADME: do not edit by hand. -->\n\n")
	b.WriteString("| client | mode |")
	for _, op := range interopOps {
		b.WriteString(" " + opTitle[op] + " |")
	}
	b.WriteString("\n|---|---|")
	b.WriteString(strings.Repeat("---|", len(interopOps)))
	b.WriteString("\n")
	for _, c := range clients {
		for k, m := range c.modes {
			name := ""
			if k == 0 {
				name = c.title
			}
			fmt.Fprintf(&b, "| %s | %s |", name, modeTitle[m])
			for _, op := range interopOps {
				cell := c.cells[op]
				if cell.run != nil {
					b.WriteString(" ✓" + ref(cell.note) + " |")
				} else {
					b.WriteString(" —" + ref(cell.why) + " |")
				}
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("\n✓: tested, in CI, by `TestInterop/<client>/<mode>/<operation>`; —: the client cannot do it.\n")
	b.WriteString("\n")
	for i, n := range notes {
		fmt.Fprintf(&b, "- %s %s\n", superscript(i+1), n)
	}
	b.WriteString("\nModes a client does not have:\n\n")
	for _, c := range clients {
		var ms []string
		var whys []string
		for _, m := range interopModes {
			if why, ok := c.noModes[m]; ok {
				ms = append(ms, modeTitle[m])
				if !slices.Contains(whys, why) {
					whys = append(whys, why)
				}
			}
		}
		if len(ms) > 0 {
			fmt.Fprintf(&b, "- %s: %s. %s\n", c.title, strings.Join(ms, "; "), strings.Join(whys, " "))
		}
	}
	var reuse []string
	b.WriteString("\nWith `--tls-session-reuse` (data connections must resume the control connection's TLS session):\n\n")
	for _, c := range clients {
		if !slices.ContainsFunc(c.modes, interopMode.tls) {
			continue
		}
		if c.noTLSReuse == "" {
			reuse = append(reuse, c.title)
		} else {
			fmt.Fprintf(&b, "- %s: no. %s\n", c.title, c.noTLSReuse)
		}
	}
	fmt.Fprintf(&b, "- %s: yes; their FTPS cells run with it.\n", strings.Join(reuse, ", "))
	var tlsClients []string
	for _, c := range clients {
		if slices.ContainsFunc(c.modes, interopMode.tls) {
			tlsClients = append(tlsClients, c.title)
		}
	}
	fmt.Fprintf(&b, "\nWith `--tls-close-notify` (an upload must end with TLS's close_notify, not a bare TCP close): %s; every FTPS cell runs with it, and each upload among them ends with close_notify.\n", strings.Join(tlsClients, ", "))
	b.WriteString("\nHow the tests drive each client:\n\n")
	for _, c := range clients {
		fmt.Fprintf(&b, "- %s: %s\n", c.title, c.how)
	}
	return b.String()
}
