package ftp_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goftp "github.com/jlaffaye/ftp"

	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

func TestSmokeRaw(t *testing.T) {
	srv := ftptest.NewServer(t)
	c, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	read := func() string {
		var all []string
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v (got %q)", err, all)
			}
			all = append(all, l)
			if len(l) >= 4 && l[3] == ' ' {
				return strings.Join(all, "")
			}
		}
	}
	t.Log(read())
	for _, cmd := range []string{"FEAT", "USER user", "PASS pass", "PWD", "MKD a\"b", "CWD a\"b", "PWD", "CDUP", "HELP", "STAT", "SYST", "TYPE A", "SIZE x", "bogus", "QUIT"} {
		io.WriteString(c, cmd+"\r\n")
		t.Logf("> %s\n%s", cmd, read())
	}
}

func TestSmokeClient(t *testing.T) {
	srv := ftptest.NewServer(t)
	c, err := goftp.Dial(srv.Addr, goftp.DialWithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Quit()
	if err := c.Login("user", "pass"); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 3<<20+17)
	rand.Read(data)
	if err := c.Stor("f.bin", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(srv.Dir, "f.bin"))
	if !bytes.Equal(got, data) {
		t.Fatalf("stored %d bytes, want %d", len(got), len(data))
	}
	resp, err := c.Retr("f.bin")
	if err != nil {
		t.Fatal(err)
	}
	back, err := io.ReadAll(resp)
	resp.Close()
	if err != nil || !bytes.Equal(back, data) {
		t.Fatalf("retr: %v, %d bytes", err, len(back))
	}
	entries, err := c.List("/")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Logf("%+v", *e)
	}
	names, err := c.NameList("/")
	t.Log(names, err)
}
