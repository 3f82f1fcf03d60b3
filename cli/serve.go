package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ftpshare/ftpshare/share"
)

// options are the command's settings that are not the share's.
type options struct {
	json        bool
	quiet       bool
	verbose     bool
	logFormat   string
	color       bool
	gracePeriod time.Duration
}

// serveAction is the command without a subcommand: serve DIR.
func serveAction(c *cli.Context, st *streams) error {
	if c.Bool("version") {
		fmt.Fprintln(st.out, versionLine())
		return nil
	}
	cfg, opt, err := buildConfig(c)
	if err != nil {
		return err
	}
	opt.color = !opt.json && st.outColor
	human := st.out // the banner goes to stdout, unless stdout carries JSON
	if opt.json {
		human, opt.color = st.err, st.errColor
	}
	if c.Bool("no-color") {
		opt.color = false
	}
	logger := newLogger(st.err, opt)
	cfg.Logger = logger

	// Catch the signals before anything is printed: a script that reads the
	// first line and at once sends SIGTERM must get a clean stop.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	var events *eventWriter
	if opt.json {
		events = newEventWriter(st.out)
		cfg.Hooks = events.hooks()
		defer func() {
			if n := events.close(); n > 0 {
				logger.Warn("JSON events dropped: stdout was not read fast enough", "dropped", n)
			}
		}()
	}
	sh, err := share.Listen(cfg)
	if err != nil {
		return err
	}
	info := sh.Info()
	if events != nil {
		events.listening(info)
	}
	if !opt.quiet {
		printBanner(human, opt.color, cfg, info)
	}
	if info.SystemUsers != nil && !cfg.TLSRequired {
		logger.Warn("system accounts log in with their real passwords, which plain FTP sends in clear text; consider --tls-required")
	}
	if info.TLS != nil && info.TLS.Generated {
		logger.Info("made a self-signed certificate", "file", info.TLS.CertFile, "fingerprint_sha256", info.TLS.Fingerprint)
	}
	return serveUntilSignal(c.Context, sh, sigs, logger, events, opt.gracePeriod)
}

// serveUntilSignal serves until SIGINT or SIGTERM, then shuts down: new
// connections are refused, idle sessions told 421, running transfers given
// grace to finish; a second signal cuts them at once.
func serveUntilSignal(ctx context.Context, sh *share.Share, sigs <-chan os.Signal, logger *slog.Logger, events *eventWriter, grace time.Duration) error {
	served := make(chan error, 1)
	go func() { served <- sh.Serve() }()

	select {
	case err := <-served:
		sh.Close()
		if err != nil {
			return fmt.Errorf("server stopped: %w", err)
		}
		return nil
	case <-ctx.Done():
	case sig := <-sigs:
		logger.Info("stopping", "signal", sig.String(), "grace_period", grace.String())
	}
	if events != nil {
		events.simple("stopping")
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	go func() {
		select {
		case sig := <-sigs:
			logger.Warn("stopping at once", "signal", sig.String())
			cancel()
		case <-sctx.Done():
		}
	}()
	if err := sh.Shutdown(sctx); err != nil {
		logger.Warn("grace period over; cut the remaining sessions", "err", err)
	}
	<-served
	logger.Info("stopped")
	if events != nil {
		events.simple("stopped")
	}
	return nil
}

// buildConfig turns the flags and arguments into a share.Config.
func buildConfig(c *cli.Context) (*share.Config, *options, error) {
	opt := &options{
		json:        c.Bool("json"),
		quiet:       c.Bool("quiet"),
		verbose:     c.Bool("verbose"),
		logFormat:   c.String("log-format"),
		gracePeriod: c.Duration("grace-period"),
	}
	switch {
	case opt.quiet && opt.verbose:
		return nil, nil, usagef("--quiet and --verbose contradict each other")
	case opt.logFormat != "text" && opt.logFormat != "json":
		return nil, nil, usagef("--log-format %q: want text or json", opt.logFormat)
	case opt.gracePeriod < 0:
		return nil, nil, usagef("--grace-period cannot be negative")
	}

	args := c.Args().Slice()
	if len(args) > 1 {
		return nil, nil, usagef("one directory at a time: got %d arguments (%q, %q...); flags go before or after DIR", len(args), args[0], args[1])
	}
	cfg := &share.Config{
		Dir:             ".",
		Anonymous:       c.Bool("anonymous"),
		Write:           c.Bool("write"),
		DropBox:         c.Bool("drop-box"),
		ReadOnly:        c.Bool("read-only"),
		SystemUsers:     c.Bool("system-users"),
		SystemUsersOnly: c.Bool("system-users-only"),
		Bind:            c.String("bind"),
		Port:            c.Int("port"),
		PublicIP:        c.String("public-ip"),
		MaxConns:        c.Int("max-conns"),
		MaxConnsPerIP:   c.Int("max-conns-per-ip"),
		IdleTimeout:     c.Duration("idle-timeout"),
		TLS:             c.Bool("tls"),
		CertFile:        c.Path("cert"),
		KeyFile:         c.Path("key"),
		CertDir:         c.Path("tls-dir"),
		ImplicitTLS:     c.IsSet("implicit-tls-port"),
		ImplicitTLSPort: c.Int("implicit-tls-port"),
		TLSRequired:     c.Bool("tls-required"),
		TLSSessionReuse: c.Bool("tls-session-reuse"),
		TLSCloseNotify:  c.Bool("tls-close-notify"),
	}
	if len(args) == 1 {
		cfg.Dir = args[0]
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, nil, usagef("--port %d: want 0 to 65535", cfg.Port)
	}
	if cfg.ImplicitTLS && (cfg.ImplicitTLSPort < 0 || cfg.ImplicitTLSPort > 65535) {
		return nil, nil, usagef("--implicit-tls-port %d: want 0 to 65535", cfg.ImplicitTLSPort)
	}
	if cfg.MaxConns < 0 || cfg.MaxConnsPerIP < 0 {
		return nil, nil, usagef("--max-conns and --max-conns-per-ip cannot be negative (0 means no limit)")
	}
	if cfg.IdleTimeout < 0 {
		return nil, nil, usagef("--idle-timeout cannot be negative (0 means never)")
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, nil, usagef("--cert and --key go together")
	}
	for _, pair := range [][2]string{
		{"write", "drop-box"}, {"write", "read-only"}, {"drop-box", "read-only"},
		{"system-users-only", "user"}, {"system-users-only", "users-file"}, {"system-users-only", "anonymous"},
		{"system-users-only", "write"}, {"system-users-only", "drop-box"},
	} {
		if isOn(c, pair[0]) && isOn(c, pair[1]) {
			return nil, nil, usagef("--%s and --%s contradict each other", pair[0], pair[1])
		}
	}
	var err error
	if s := c.String("passive-ports"); s != "" {
		if cfg.PassivePorts, err = parsePortRange(s); err != nil {
			return nil, nil, usagef("--passive-ports %q: %v", s, err)
		}
	}
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"max-download-rate", &cfg.MaxDownloadRate}, {"max-upload-rate", &cfg.MaxUploadRate}} {
		if s := c.String(f.name); s != "" {
			if *f.dst, err = parseSize(s); err != nil {
				return nil, nil, usagef("--%s %q: %v", f.name, s, err)
			}
		}
	}
	for _, s := range c.StringSlice("user") {
		u, err := share.ParseUser(s)
		if err != nil {
			return nil, nil, usagef("--user: %v", err)
		}
		cfg.Users = append(cfg.Users, u)
	}
	if f := c.Path("users-file"); f != "" {
		users, err := share.LoadUsersFile(f)
		if err != nil {
			return nil, nil, err
		}
		cfg.Users = append(cfg.Users, users...)
	}
	return cfg, opt, nil
}

// isOn reports whether a switch is on, or another option is given.
func isOn(c *cli.Context, name string) bool {
	switch name {
	case "user":
		return len(c.StringSlice(name)) > 0
	case "users-file":
		return c.Path(name) != ""
	}
	return c.Bool(name)
}

// newLogger logs to w at the level -q / -v choose, as text or JSON.
func newLogger(w io.Writer, opt *options) *slog.Logger {
	level := slog.LevelInfo
	switch {
	case opt.quiet:
		level = slog.LevelError
	case opt.verbose:
		level = slog.LevelDebug
	}
	ho := &slog.HandlerOptions{Level: level}
	if opt.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}
