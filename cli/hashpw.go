package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"
)

func hashPasswordCommand(st *streams) *cli.Command {
	return &cli.Command{
		Name:  "hash-password",
		Usage: "read a password (without echo) and print its bcrypt hash, for --user or --users-file",
		Description: "On a terminal the password is asked for twice, without echo. Otherwise the\n" +
			"first line of standard input is the password:\n\n" +
			"   ftpshare --user \"alice:$(ftpshare hash-password)\" .\n" +
			"   printf '%s\\n' \"$PW\" | ftpshare hash-password",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "cost", Value: bcrypt.DefaultCost,
				Usage: fmt.Sprintf("bcrypt cost `N`, %d to %d: each step doubles the time a login (and a guess) takes", bcrypt.MinCost, bcrypt.MaxCost)},
		},
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("hash-password takes no arguments; it reads the password from the terminal or standard input")
			}
			cost := c.Int("cost")
			if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
				return usagef("--cost %d: want %d to %d", cost, bcrypt.MinCost, bcrypt.MaxCost)
			}
			pw, err := readPassword(st)
			if err != nil {
				return err
			}
			hash, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
			if errors.Is(err, bcrypt.ErrPasswordTooLong) {
				return usagef("the password is longer than bcrypt's 72 bytes")
			} else if err != nil {
				return err
			}
			fmt.Fprintln(st.out, string(hash))
			return nil
		},
	}
}

// readPassword asks for the password twice on a terminal, without echo,
// or reads the first line of a non-terminal standard input.
func readPassword(st *streams) (string, error) {
	if st.inFile != nil && term.IsTerminal(int(st.inFile.Fd())) {
		fd := int(st.inFile.Fd())
		fmt.Fprint(st.err, "Password: ")
		pw, err := term.ReadPassword(fd)
		fmt.Fprintln(st.err)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(st.err, "Again: ")
		again, err := term.ReadPassword(fd)
		fmt.Fprintln(st.err)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(pw) != string(again) {
			return "", usagef("the passwords differ")
		}
		if len(pw) == 0 {
			return "", usagef("the password is empty")
		}
		return string(pw), nil
	}
	line, err := bufio.NewReader(st.in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", usagef("no password on standard input")
	}
	return pw, nil
}
