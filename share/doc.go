// Package share turns a [Config] (a directory, users, permissions, TLS,
// ports and limits) into a running [ftp.Server], as the ftpshare command
// uses it:
//
//	sh, err := share.Listen(&share.Config{Dir: ".", Port: 2121})
//	if err != nil {
//		return err
//	}
//	fmt.Println(sh.Info().URLs) // one ftp:// URL per LAN address
//	go sh.Serve()
//	...
//	sh.Shutdown(ctx)
//
// It also makes and keeps the self-signed certificate used for FTPS when
// no certificate is given, and finds the machine's LAN addresses.
//
// share never parses flags or prints: errors it returns are meant to be
// shown as they are, and those a person can fix by changing what they ran
// are a [*ConfigError] or a [*ListenError].
package share
