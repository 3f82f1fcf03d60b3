package ftptest_test

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

// A test starts a server with the options it needs, puts files in its
// directory and talks to it; the server is closed when the test ends.
// (This example is compiled, not run: it needs the *testing.T of a test.)
func ExampleNewServer() {
	var t *testing.T // the test's own t

	srv := ftptest.NewServer(t, func(s *ftptest.Server) {
		s.FTP.IdleTimeout = time.Second // any ftp.Server field
		s.FTP.MaxConnsPerIP = 2
	})
	os.WriteFile(filepath.Join(srv.Dir, "hello.txt"), []byte("hi"), 0o644)
	if err := srv.Users.Add("ro", "pw", srv.Dir, ftp.Permissions{Default: ftp.PermRead}); err != nil {
		t.Fatal(err)
	}

	conn, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// ... USER ftptest.User, PASS ftptest.Password, RETR hello.txt ...
}
