// Package ftp is an FTP and FTPS server engine (RFC 959, 1123, 2389, 2428,
// 2640, 3659 and 4217) to embed in Go programs, shaped like net/http:
//
//	users := ftp.NewUsers()
//	users.Add("alice", "secret", "/srv/ftp/alice", ftp.Permissions{Default: ftp.PermAll})
//	users.AddAnonymous("/srv/ftp/pub", ftp.Permissions{Default: ftp.PermRead})
//	srv := &ftp.Server{Addr: ":2121", Auth: users}
//	log.Fatal(srv.ListenAndServe())
//
// Each user is jailed in a directory with [os.Root]: no path, "..", or
// symbolic link reaches outside it. Permissions use pyftpdlib's letters
// ("elradfmwMT", see [Perm]). Binary transfers without TLS use sendfile
// and splice. Set [Server.TLSConfig] for explicit FTPS (AUTH TLS) and use
// [Server.ServeTLS] for implicit FTPS. [Listen] makes a listener for
// [Server.Serve] that sets the control connections' socket options once.
//
// Package ftptest starts a throw-away server for tests in one line.
package ftp
