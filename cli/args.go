package cli

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// permuteArgs moves the options of the main command before its arguments,
// so that "ftpshare DIR --write" works as "ftpshare --write DIR" does
// (Go's flag parsing stops at the first argument). It leaves args alone
// when they name a subcommand, after "--", and when shell completion is
// asked for (the flag for that must stay last).
func permuteArgs(args []string, flags []cli.Flag, cmds []*cli.Command) []string {
	if len(args) < 2 || args[len(args)-1] == "--generate-bash-completion" {
		return args
	}
	takesValue := make(map[string]bool)
	for _, f := range flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	isCommand := func(s string) bool {
		for _, c := range cmds {
			if c.HasName(s) {
				return true
			}
		}
		return s == "help" || s == "h"
	}
	opts := []string{args[0]}
	var positional []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			positional = append(positional, args[i+1:]...)
			i = len(args)
		case len(a) > 1 && a[0] == '-':
			opts = append(opts, a)
			name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if !hasValue && takesValue[name] && i+1 < len(args) {
				i++
				opts = append(opts, args[i])
			}
		default:
			if len(positional) == 0 && isCommand(a) {
				return args // a subcommand parses its own options
			}
			positional = append(positional, a)
		}
	}
	if len(positional) == 0 {
		return opts
	}
	return append(append(opts, "--"), positional...)
}
