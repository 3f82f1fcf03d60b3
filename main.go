// Command ftpshare shares a directory over FTP and FTPS in one command.
// Run "ftpshare --help" for its options.
package main

import (
	"os"

	"github.com/ftpshare/ftpshare/cli"
)

func main() { os.Exit(cli.Run(os.Args)) }
