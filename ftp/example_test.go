package ftp_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	goftp "github.com/jlaffaye/ftp"
	"golang.org/x/crypto/bcrypt"

	"github.com/ftpshare/ftpshare/ftp"
)

// ExampleServer embeds the engine: a user with full rights, anonymous
// read-only access, and a client that downloads and uploads a file.
func ExampleServer() {
	dir, err := os.MkdirTemp("", "ftpshare-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("Hello, FTP!\n"), 0o644)

	users := ftp.NewUsers()
	defer users.Close()
	if err := users.Add("alice", "secret", dir, ftp.Permissions{Default: ftp.PermAll}); err != nil {
		log.Fatal(err)
	}
	if err := users.AddAnonymous(dir, ftp.Permissions{Default: ftp.PermRead}); err != nil {
		log.Fatal(err)
	}
	srv := &ftp.Server{
		Auth:        users,
		IdleTimeout: time.Minute,
		Logger:      slog.New(slog.DiscardHandler), // quiet for the example
	}

	// A real program calls srv.ListenAndServe() with srv.Addr = ":2121".
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	c, err := goftp.Dial(l.Addr().String(), goftp.DialWithTimeout(5*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Login("alice", "secret"); err != nil {
		log.Fatal(err)
	}
	r, err := c.Retr("hello.txt")
	if err != nil {
		log.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	fmt.Print(string(b))
	if err := c.Stor("upload.txt", strings.NewReader("uploaded by alice")); err != nil {
		log.Fatal(err)
	}
	c.Quit()
	b, _ = os.ReadFile(filepath.Join(dir, "upload.txt"))
	fmt.Println(string(b))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	fmt.Println(<-served)
	// Output:
	// Hello, FTP!
	// uploaded by alice
	// ftp: Server closed
}

// ExamplePermissions gives a read-only share a drop box where files can be
// stored but not read back, and a directory tree with every right.
func ExamplePermissions() {
	perms := ftp.Permissions{
		Default: ftp.PermRead,
		Overrides: []ftp.PermOverride{
			{Dir: "/incoming", Perm: ftp.MustParsePerm("ew")},
			{Dir: "/team", Perm: ftp.PermAll, Recursive: true},
		},
	}
	for _, p := range []string{"/", "/pub/file.iso", "/incoming", "/incoming/new.zip", "/incoming/sub/x", "/team/a/b/c"} {
		fmt.Printf("%-18s %s\n", p, perms.For(p))
	}
	// Output:
	// /                  elr
	// /pub/file.iso      elr
	// /incoming          ew
	// /incoming/new.zip  ew
	// /incoming/sub/x    elr
	// /team/a/b/c        elradfmwMT
}

func ExampleParsePerm() {
	p, err := ftp.ParsePerm("rle")
	fmt.Println(p, err, p == ftp.PermRead)
	_, err = ftp.ParsePerm("elrx")
	fmt.Println(err)
	// Output:
	// elr <nil> true
	// ftp: unknown permission letter 'x' (valid letters: elradfmwMT)
}

// ExampleUsers_Add stores a bcrypt hash instead of the password.
func ExampleUsers_Add() {
	hash, err := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "ftpshare-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	users := ftp.NewUsers()
	defer users.Close()
	fmt.Println(ftp.IsBcryptHash(string(hash)))
	if err := users.Add("bob", string(hash), dir, ftp.Permissions{Default: ftp.PermRead}); err != nil {
		log.Fatal(err)
	}
	acct, err := users.Authenticate(context.Background(), "bob", "correct horse", nil)
	fmt.Println(acct.User, acct.Perms.Default, err)
	_, err = users.Authenticate(context.Background(), "bob", "wrong", nil)
	fmt.Println(err)
	// Output:
	// true
	// bob elr <nil>
	// ftp: authentication failed
}
