package cli

import (
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ftpshare/ftpshare/share"
)

// envVar is the environment variable that sets the flag name: --max-conns
// is FTPSHARE_MAX_CONNS.
func envVar(name string) []string {
	return []string{"FTPSHARE_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))}
}

// Flag categories, in the order help shows them.
const (
	catAccess  = "Access"
	catNetwork = "Network"
	catLimits  = "Limits"
	catTLS     = "FTPS"
	catOutput  = "Output"
)

// Default limits, the engine's own defaults made visible.
const (
	defaultMaxConns      = 512
	defaultMaxConnsPerIP = 32
	defaultIdleTimeout   = 5 * time.Minute
	defaultGracePeriod   = 5 * time.Second
)

func flags() []cli.Flag {
	fs := []cli.Flag{
		// Access.
		&cli.StringSliceFlag{Name: "user", Aliases: []string{"u"}, Category: catAccess, EnvVars: envVar("user"),
			Usage: "a `USER` as NAME:PASSWORD[:PERMS] (repeatable); PASSWORD may be a bcrypt hash, PERMS defaults to elradfmwMT"},
		&cli.PathFlag{Name: "users-file", Category: catAccess, EnvVars: envVar("users-file"), TakesFile: true,
			Usage: "read users from `FILE`: one name:password-or-bcrypt[:perms[:home]] a line, # comments; home is inside DIR"},
		&cli.BoolFlag{Name: "anonymous", Category: catAccess, EnvVars: envVar("anonymous"),
			Usage: "keep anonymous read-only access when users are given"},
		&cli.BoolFlag{Name: "write", Aliases: []string{"w"}, Category: catAccess, EnvVars: envVar("write"),
			Usage: "let anonymous users upload, delete, rename and make directories"},
		&cli.BoolFlag{Name: "drop-box", Category: catAccess, EnvVars: envVar("drop-box"),
			Usage: "anonymous users may only upload new files: no listing, download, overwrite, rename or delete"},
		&cli.BoolFlag{Name: "read-only", Category: catAccess, EnvVars: envVar("read-only"),
			Usage: "remove every write permission, from users too"},
		&cli.BoolFlag{Name: "system-users", Category: catAccess, EnvVars: envVar("system-users"),
			Usage: "let the machine's accounts log in with their passwords (PAM), each in their home; needs a build with -tags pam"},
		&cli.BoolFlag{Name: "system-users-only", Category: catAccess, EnvVars: envVar("system-users-only"),
			Usage: "--system-users with no --user and no anonymous access"},

		// Network.
		&cli.StringFlag{Name: "bind", Aliases: []string{"b"}, Category: catNetwork, EnvVars: envVar("bind"),
			Usage: "listen only on `ADDR` (an IP address or host name); default: every interface, IPv4 and IPv6"},
		&cli.IntFlag{Name: "port", Aliases: []string{"p"}, Category: catNetwork, EnvVars: envVar("port"), Value: share.DefaultPort,
			Usage: "control `PORT`; 0 picks a free port (see --json)"},
		&cli.StringFlag{Name: "passive-ports", Category: catNetwork, EnvVars: envVar("passive-ports"),
			Usage: "use passive data ports `MIN-MAX` only (open them in a firewall); default: any free port"},
		&cli.StringFlag{Name: "public-ip", Category: catNetwork, EnvVars: envVar("public-ip"),
			Usage: "announce IPv4 address `IP` in PASV replies, for a server behind NAT"},

		// Limits.
		&cli.IntFlag{Name: "max-conns", Category: catLimits, EnvVars: envVar("max-conns"), Value: defaultMaxConns,
			Usage: "at most `N` connections at once; 0 means no limit"},
		&cli.IntFlag{Name: "max-conns-per-ip", Category: catLimits, EnvVars: envVar("max-conns-per-ip"), Value: defaultMaxConnsPerIP,
			Usage: "at most `N` connections at once from one address; 0 means no limit"},
		&cli.DurationFlag{Name: "idle-timeout", Category: catLimits, EnvVars: envVar("idle-timeout"), Value: defaultIdleTimeout,
			Usage: "close a connection idle for `DURATION` (30s, 5m, 1h); 0 means never"},
		&cli.StringFlag{Name: "max-download-rate", Category: catLimits, EnvVars: envVar("max-download-rate"),
			Usage: "limit each session's downloads to `SIZE` per second (500KB, 10MB, 1GiB); 0 means no limit"},
		&cli.StringFlag{Name: "max-upload-rate", Category: catLimits, EnvVars: envVar("max-upload-rate"),
			Usage: "limit each session's uploads to `SIZE` per second; 0 means no limit"},
		&cli.DurationFlag{Name: "grace-period", Category: catLimits, EnvVars: envVar("grace-period"), Value: defaultGracePeriod,
			Usage: "on SIGINT/SIGTERM, give running transfers `DURATION` to finish; a second signal stops at once"},

		// FTPS.
		&cli.BoolFlag{Name: "tls", Category: catTLS, EnvVars: envVar("tls"),
			Usage: "offer FTPS (AUTH TLS); without --cert, with a self-signed certificate kept in --tls-dir"},
		&cli.PathFlag{Name: "cert", Category: catTLS, EnvVars: envVar("cert"), TakesFile: true,
			Usage: "TLS certificate (chain) `FILE`, PEM; needs --key; turns --tls on"},
		&cli.PathFlag{Name: "key", Category: catTLS, EnvVars: envVar("key"), TakesFile: true,
			Usage: "TLS private key `FILE`, PEM"},
		&cli.PathFlag{Name: "tls-dir", Category: catTLS, EnvVars: envVar("tls-dir"), TakesFile: true,
			Usage: "keep the self-signed certificate in `DIR` (default: the user's config directory/ftpshare)"},
		&cli.IntFlag{Name: "implicit-tls-port", Category: catTLS, EnvVars: envVar("implicit-tls-port"), DefaultText: "off",
			Usage: "also serve implicit FTPS (ftps://) on `PORT` (990 is usual; 0 picks a free port); turns --tls on"},
		&cli.BoolFlag{Name: "tls-required", Category: catTLS, EnvVars: envVar("tls-required"),
			Usage: "refuse clear-text logins and transfers; turns --tls on"},
		&cli.BoolFlag{Name: "tls-session-reuse", Category: catTLS, EnvVars: envVar("tls-session-reuse"),
			Usage: "require data connections to resume the control connection's TLS session (some clients cannot)"},
		&cli.BoolFlag{Name: "tls-close-notify", Category: catTLS, EnvVars: envVar("tls-close-notify"),
			Usage: "fail a TLS upload that ends without TLS close_notify, as one cut off by a killed client or a forged FIN does (a few clients never send it)"},

		// Output.
		&cli.BoolFlag{Name: "json", Category: catOutput, EnvVars: envVar("json"),
			Usage: "print JSON lines on stdout: first the listening server (port, URLs, users, TLS), then events"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Category: catOutput, EnvVars: envVar("quiet"),
			Usage: "log errors only, and print no banner"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Category: catOutput, EnvVars: envVar("verbose"),
			Usage: "log every command"},
		&cli.StringFlag{Name: "log-format", Category: catOutput, EnvVars: envVar("log-format"), Value: "text",
			Usage: "log (on stderr) as `FORMAT`: text or json"},
		&cli.BoolFlag{Name: "no-color", Category: catOutput, EnvVars: envVar("no-color"),
			Usage: "no colour (also off when NO_COLOR is set or the output is not a terminal)"},
		&cli.BoolFlag{Name: "version", Aliases: []string{"V"}, Category: catOutput,
			Usage: "print the version and exit"},
	}
	for _, f := range fs {
		if b, ok := f.(*cli.BoolFlag); ok {
			b.DisableDefaultText = true // "(default: false)" on every switch is noise
		}
	}
	return fs
}
