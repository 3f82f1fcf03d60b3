// Package cli is the ftpshare command: its flags (each also read from an
// environment variable FTPSHARE_<FLAG>), help, colour output, signals and
// exit codes. The work itself is done by package share.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/fatih/color"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/ftpshare/ftpshare/share"
)

// Exit codes of the command.
const (
	ExitOK      = 0 // served and stopped cleanly (SIGINT/SIGTERM)
	ExitRuntime = 1 // failed while running
	ExitUsage   = 2 // bad flags, arguments, or what they name
)

// Version is the command's version; the build may set it with
// -ldflags "-X github.com/ftpshare/ftpshare/cli.Version=v1.2.3".
var Version = ""

// version returns Version, else the module version the binary was built
// from (go install), else "dev".
func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// streams are the command's standard files.
type streams struct {
	in     io.Reader
	inFile *os.File // in, when it is a file (for reading a password without echo)
	out    io.Writer
	err    io.Writer
	// outColor and errColor say whether colour may be written to out and err.
	outColor, errColor bool
}

// Run runs the command with args (args[0] is the program name) and returns
// the exit code: ExitOK, ExitRuntime or ExitUsage.
func Run(args []string) int {
	noColor := os.Getenv("NO_COLOR") != ""
	st := &streams{in: os.Stdin, inFile: os.Stdin, out: os.Stdout, err: os.Stderr}
	if isTerminal(os.Stdout) {
		st.out, st.outColor = color.Output, !noColor
	}
	if isTerminal(os.Stderr) {
		st.err, st.errColor = color.Error, !noColor
	}
	ignoreSIGPIPE()
	return run(context.Background(), args, st)
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

func run(ctx context.Context, args []string, st *streams) int {
	app := newApp(st)
	if len(args) == 0 {
		args = []string{"ftpshare"}
	}
	err := app.RunContext(ctx, permuteArgs(args, app.Flags, app.Commands))
	if err == nil {
		return ExitOK
	}
	code := ExitRuntime
	if isUsage(err) {
		code = ExitUsage
	}
	fmt.Fprintf(st.err, "ftpshare: %s\n", oneLine(message(err)))
	return code
}

// usageError is a mistake in how the command was run.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// isUsage reports whether err is the user's to fix by running the command
// differently: exit code 2.
func isUsage(err error) bool {
	var ue *usageError
	var ce *share.ConfigError
	var le *share.ListenError
	return errors.As(err, &ue) || errors.As(err, &ce) || errors.As(err, &le)
}

// message is the text shown for err, with advice where there is some.
func message(err error) string {
	var le *share.ListenError
	if errors.As(err, &le) {
		switch {
		case le.InUse() && le.ImplicitTLS:
			return fmt.Sprintf("port %d (--implicit-tls-port) is in use; try --implicit-tls-port 0 (any free port) or another port", le.Port)
		case le.InUse():
			return fmt.Sprintf("port %d is in use; try --port 0 (any free port) or another port", le.Port)
		case le.Denied():
			return fmt.Sprintf("port %d needs privileges; use a port above 1023 (the default is %d)", le.Port, share.DefaultPort)
		}
	}
	return err.Error()
}

// oneLine keeps a message on one line.
func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ")
}

func newApp(st *streams) *cli.App {
	app := &cli.App{
		Name:      "ftpshare",
		Usage:     "share a directory over FTP and FTPS in one command",
		UsageText: "ftpshare [options] [DIR]\nftpshare hash-password\nftpshare completion bash|zsh|fish",
		Description: "Serves DIR (default: the current directory) on port 2121 of every interface,\n" +
			"IPv4 and IPv6. Without --user it is anonymous and read-only. Every option can\n" +
			"also be set by an environment variable, shown in [brackets]; for FTPSHARE_USER,\n" +
			"put one user a line.",
		Version:               version(),
		HideVersion:           true, // our own --version: urfave's takes -v, which is --verbose here
		EnableBashCompletion:  true,
		SliceFlagSeparator:    "\n",
		Reader:                st.in,
		Writer:                st.out,
		ErrWriter:             st.err,
		Flags:                 flags(),
		CustomAppHelpTemplate: cli.AppHelpTemplate + examples,
		ExitErrHandler:        func(*cli.Context, error) {}, // errors become exit codes in run, never os.Exit
		Action:                func(c *cli.Context) error { return serveAction(c, st) },
		OnUsageError:          onUsageError,
		Suggest:               true,
		Commands: []*cli.Command{
			hashPasswordCommand(st),
			completionCommand(st),
		},
	}
	return app
}

// strconvNoise is the part of a strconv error that tells a user nothing.
var strconvNoise = regexp.MustCompile(`strconv\.Parse\w+: parsing "[^"]*": `)

func onUsageError(_ *cli.Context, err error, _ bool) error {
	msg := strconvNoise.ReplaceAllString(err.Error(), "")
	if strings.HasPrefix(msg, "flag provided but not defined") || strings.HasPrefix(msg, "invalid value") {
		msg += " (see ftpshare --help)"
	}
	return &usageError{msg: msg}
}

func versionLine() string {
	return fmt.Sprintf("ftpshare %s (%s %s/%s)", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

const examples = `
EXAMPLES:
   ftpshare                               share this folder, read-only, to anyone on the LAN
   ftpshare --user alice:s3cret ~/Public  only alice may log in; she may read and write
   ftpshare --user bob:s3cret:elr .       bob may only list and download
   ftpshare --drop-box ~/Inbox            anyone may upload new files; nobody can list or take them
   ftpshare --write --port 21 /tmp/x      an old device sends files to port 21 (needs privileges)
   ftpshare --tls --user alice:s3cret .   FTPS with a self-signed certificate (check its fingerprint)
   ftpshare --bind 127.0.0.1 --port 0 --json ./fixtures > ftp.jsonl &
                                          CI: the first line of ftp.jsonl has the port and URLs
   ftpshare hash-password                 make a bcrypt hash for --user or --users-file

EXIT STATUS:
   0 stopped by SIGINT/SIGTERM, 1 failed while running, 2 bad usage
`
