package ftp_test

// Faults: a client that vanishes in the middle of a transfer, a file that
// changes under a download, a disk that fills up, a directory that cannot
// be written, a rename onto a directory, and clients racing to upload the
// same name. Nothing may be lost silently: partial uploads are kept and
// reported as incomplete, refused operations change nothing, and the
// server (and, where the client is still there, the session) goes on.
//
// Covered elsewhere, with exact assertions, and so not repeated here: a
// passive data connection that never comes (TestDataNeverConnects), an
// upload whose data connection is reset (TestTransferBrokenUpload), an
// upload whose file fails to close with ENOSPC or EDQUOT
// (TestTransferCloseError), a data connection that never opens for STOR
// (TestTransferNeverOpened), one deterministic same-name race
// (TestTransferSameNameConcurrent), ABOR (TestTransferABOR).

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/ftp/ftptest"
)

// hzDisconnects records the Disconnect hook of a server.
func hzDisconnects(ch chan<- ftp.SessionInfo) ftptest.Option {
	return func(s *ftptest.Server) {
		s.FTP.Hooks.Disconnect = func(si ftp.SessionInfo) { ch <- si }
	}
}

// hzReset closes conn with a TCP reset, as a killed client does.
func hzReset(conn net.Conn) {
	conn.(*net.TCPConn).SetLinger(0)
	conn.Close()
}

// TestFaultClientVanishes drops the client in the middle of a RETR and of
// a STOR: by closing its control connection, by resetting both
// connections (a killed process), or by resetting only the data
// connection. The transfer ends as incomplete (the hook says so, with an
// error), a partial upload stays on disk holding exactly the bytes the
// hook counted, a session whose control connection is gone ends (its
// Disconnect hook runs), one whose control connection is still there
// gets 426 and goes on, and the server serves the next client.
func TestFaultClientVanishes(t *testing.T) {
	t.Parallel()
	const size = 16 << 20
	src := dcRandom(t, size)
	sum := sha256.Sum256(src)
	tests := []struct {
		name   string
		upload bool
		drop   string // "control", "both" or "data"
	}{
		{"RETR/control closed", false, "control"},
		{"RETR/both reset", false, "both"},
		{"RETR/data reset", false, "data"},
		{"STOR/control closed", true, "control"},
		{"STOR/both reset", true, "both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hooks, opt := dcRecordHooks()
			gone := make(chan ftp.SessionInfo, 4)
			srv := ftptest.NewServer(t, opt, hzDisconnects(gone))
			dcWriteFile(t, srv.Dir, "big.bin", src)
			c := dcLoginUser(t, srv)
			var data net.Conn
			var sent []byte
			if tt.upload {
				data = startSTOR(c, "STOR part.bin")
				sent = src[:1<<20]
				if _, err := data.Write(sent); err != nil {
					t.Fatal(err)
				}
				c.statBytes(int64(len(sent))) // all of it is in the file
			} else {
				data = startRETR(c, "big.bin")
				head := make([]byte, 256<<10)
				if _, err := io.ReadFull(data, head); err != nil || !bytes.Equal(head, src[:len(head)]) {
					t.Fatalf("first bytes of RETR: %v", err)
				}
			}
			switch tt.drop {
			case "control":
				c.Close()
			case "both":
				hzReset(c.conn)
				hzReset(data)
			case "data":
				hzReset(data)
			}
			kind := "IncompleteSent"
			if tt.upload {
				kind = "IncompleteReceived"
			}
			ev := hooks.next(t)
			if ev.Kind != kind || ev.Info.Err == nil || ev.Info.Bytes >= size {
				t.Fatalf("hook %s %+v, want %s with an error", ev.Kind, ev.Info, kind)
			}
			if tt.upload {
				got := dcReadFile(t, srv.Dir, "part.bin")
				if int64(len(got)) != ev.Info.Bytes || !bytes.Equal(got, sent[:min(len(got), len(sent))]) || len(got) < len(sent) {
					t.Errorf("partial file: %d bytes (a prefix of what was sent: %v), hook counted %d, %d were sent",
						len(got), bytes.Equal(got, sent[:min(len(got), len(sent))]), ev.Info.Bytes, len(sent))
				}
			}
			if tt.drop == "data" {
				if r := c.expectReply(426); !strings.Contains(r.Text, "broken") {
					t.Errorf("426 %q does not say the data connection broke", r.Text)
				}
				c.expect("NOOP", 200)
			} else {
				select {
				case si := <-gone:
					if si.User != ftptest.User {
						t.Errorf("Disconnect hook for %+v", si)
					}
				case <-time.After(dcTimeout):
					t.Fatal("the session of a vanished client did not end")
				}
			}
			hooks.none(t)
			next := dcLoginUser(t, srv)
			if got, n := next.getSum(dcEPSV, "big.bin"); got != sum || n != size {
				t.Errorf("RETR by the next client: %d bytes, sha256 match %v", n, got == sum)
			}
		})
	}
}

// TestFaultFileChangedDuringRETR changes a file while it is downloaded.
// Deleted or replaced by a rename, it is sent whole from the open file
// with 226. Truncated, the client gets a prefix of the original bytes and
// no more, and 451 with IncompleteSent: a short download is never called
// complete.
func TestFaultFileChangedDuringRETR(t *testing.T) {
	t.Parallel()
	const size = 16 << 20
	src := dcRandom(t, size)
	tests := []struct {
		name   string
		change func(t *testing.T, p string)
		whole  bool
	}{
		{"deleted", func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"replaced by a rename", func(t *testing.T, p string) {
			if err := os.WriteFile(p+".new", []byte("other content"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(p+".new", p); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"truncated", func(t *testing.T, p string) {
			if err := os.Truncate(p, 2<<20); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hooks, opt := dcRecordHooks()
			srv := ftptest.NewServer(t, opt)
			p := dcWriteFile(t, srv.Dir, "f.bin", src)
			c := dcLoginUser(t, srv)
			conn := startRETR(c, "f.bin")
			got := make([]byte, 1<<20)
			if _, err := io.ReadFull(conn, got); err != nil {
				t.Fatal(err)
			}
			tt.change(t, p)
			rest, err := io.ReadAll(conn)
			if err != nil {
				t.Fatalf("reading the rest: %v", err)
			}
			got = append(got, rest...)
			final := c.read()
			ev := hooks.next(t)
			if tt.whole {
				if final.Code != 226 || !bytes.Equal(got, src) || ev.Kind != "FileSent" || ev.Info.Bytes != size {
					t.Errorf("got %v and %d bytes (whole: %v), hook %s %d bytes; want 226 and the whole original",
						final, len(got), bytes.Equal(got, src), ev.Kind, ev.Info.Bytes)
				}
				c.expect("NOOP", 200)
				return
			}
			if len(got) >= size || !bytes.Equal(got, src[:len(got)]) {
				t.Fatalf("got %d bytes (a prefix of the original: %v), want a strict prefix", len(got), bytes.Equal(got, src[:min(len(got), size)]))
			}
			c.expect("NOOP", 200)
			if final.Code != 451 || ev.Kind != "IncompleteSent" || ev.Info.Err == nil {
				t.Errorf("truncated during RETR after %d of %d bytes: %v, hook %s (%v); want 451 and IncompleteSent", len(got), size, final, ev.Kind, ev.Info.Err)
			}
		})
	}
}

// hzQuotaFS is a RootFS on which writes stop with err once left bytes
// are written (a full disk, a quota, a size limit), and, when full,
// creating files and directories fails with err too. Its files are not
// *os.File, so uploads take the user-space copy path.
type hzQuotaFS struct {
	*ftp.RootFS
	mu   sync.Mutex
	left int64 // negative: no limit
	full bool
	err  syscall.Errno
}

func (q *hzQuotaFS) set(left int64, full bool) {
	q.mu.Lock()
	q.left, q.full = left, full
	q.mu.Unlock()
}

// take reserves up to n bytes of the quota and returns how many it got.
func (q *hzQuotaFS) take(n int) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.left < 0 {
		return n
	}
	k := min(int64(n), q.left)
	q.left -= k
	return int(k)
}

func (q *hzQuotaFS) isFull() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.full
}

func (q *hzQuotaFS) OpenFile(name string, flag int, perm fs.FileMode) (ftp.File, error) {
	if flag&os.O_CREATE != 0 && q.isFull() {
		return nil, &fs.PathError{Op: "open", Path: name, Err: q.err}
	}
	f, err := q.RootFS.OpenFile(name, flag, perm)
	if err != nil || flag&(os.O_WRONLY|os.O_RDWR) == 0 {
		return f, err
	}
	return &hzQuotaFile{File: f, q: q}, nil
}

func (q *hzQuotaFS) Mkdir(name string, perm fs.FileMode) error {
	if q.isFull() {
		return &fs.PathError{Op: "mkdir", Path: name, Err: q.err}
	}
	return q.RootFS.Mkdir(name, perm)
}

type hzQuotaFile struct {
	ftp.File
	q *hzQuotaFS
}

func (f *hzQuotaFile) Write(b []byte) (int, error) {
	k := f.q.take(len(b))
	n, err := f.File.Write(b[:k])
	if err == nil && k < len(b) {
		err = &fs.PathError{Op: "write", Path: "quota", Err: f.q.err}
	}
	return n, err
}

// Truncate lets STOR replace an existing file.
func (f *hzQuotaFile) Truncate(size int64) error { return f.File.(*os.File).Truncate(size) }

// TestFaultDiskFull runs uploads on a filesystem that fills up part way
// (ENOSPC, EDQUOT, EFBIG): the client gets 452 or 552 with the reason,
// the file on disk holds exactly the bytes that fitted (after what it
// held, for APPE), IncompleteReceived carries the error, and once space
// is back the same session uploads again. Creating a file or a directory
// on a full disk gets 452 and leaves nothing.
func TestFaultDiskFull(t *testing.T) {
	t.Parallel()
	src := dcRandom(t, 1<<20)
	text := bytes.Repeat([]byte("a line of text\n"), 70000) // ~1 MiB, no CR
	const (
		full  = "Insufficient storage space: the disk is full."
		quota = "Exceeded storage allocation (disk quota)."
		big   = "File too large."
	)
	tests := []struct {
		name  string
		pre   string // the file's content before, "" for none
		ascii bool
		line  string
		left  int64
		errno syscall.Errno
		code  int
		text  string
	}{
		{"STOR new file", "", false, "STOR f.bin", 100_000, syscall.ENOSPC, 452, full},
		{"STOR over a file", "old content", false, "STOR f.bin", 50_000, syscall.ENOSPC, 452, full},
		{"APPE", "existing\n", false, "APPE f.bin", 70_000, syscall.ENOSPC, 452, full},
		{"STOR at once", "", false, "STOR f.bin", 0, syscall.ENOSPC, 452, full},
		{"STOR ASCII", "", true, "STOR f.bin", 123_457, syscall.ENOSPC, 452, full},
		{"quota", "", false, "STOR f.bin", 300_000, syscall.EDQUOT, 552, quota},
		{"file too large", "", false, "STOR f.bin", 65_536, syscall.EFBIG, 552, big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hooks, opt := dcRecordHooks()
			srv := ftptest.NewServer(t, opt)
			root := dcRootFS(t, srv.Dir)
			q := &hzQuotaFS{RootFS: root, left: -1, err: tt.errno}
			if err := srv.Users.AddFS("q", "pw", q, ftp.Permissions{Default: ftp.PermAll}); err != nil {
				t.Fatal(err)
			}
			if tt.pre != "" {
				dcWriteFile(t, srv.Dir, "f.bin", []byte(tt.pre))
			}
			c := dcLogin(t, srv, "q", "pw")
			data := src
			if tt.ascii {
				c.expect("TYPE A", 200)
				data = text
			}
			q.set(tt.left, false)
			conn := startSTOR(c, tt.line)
			wrote := make(chan struct{})
			go func() { // the server stops reading; a failed write is expected
				defer close(wrote)
				conn.Write(data)
				conn.Close()
			}()
			r := c.read()
			<-wrote
			if r.Code != tt.code || r.Text != tt.text {
				t.Errorf("%s on a full disk: %v, want %d %s", tt.line, r, tt.code, tt.text)
			}
			want := []byte(tt.pre)
			if strings.HasPrefix(tt.line, "STOR") {
				want = nil
			}
			want = append(want, data[:tt.left]...)
			if got := dcReadFile(t, srv.Dir, "f.bin"); !bytes.Equal(got, want) {
				t.Errorf("file holds %d bytes (a prefix of the upload: %v), want the %d that fitted", len(got), bytes.HasPrefix(want, got), len(want))
			}
			ev := hooks.next(t)
			if ev.Kind != "IncompleteReceived" || !errors.Is(ev.Info.Err, tt.errno) {
				t.Errorf("hook %s with error %v, want IncompleteReceived with %v", ev.Kind, ev.Info.Err, tt.errno)
			}
			// The session goes on, and uploads again once there is room.
			c.expect("NOOP", 200)
			q.set(-1, false)
			c.put(dcEPSV, "STOR after.bin", []byte("room again"))
			wantContent(t, srv.Dir, "after.bin", "room again")
		})
	}
	t.Run("create on a full disk", func(t *testing.T) {
		t.Parallel()
		hooks, opt := dcRecordHooks()
		srv := ftptest.NewServer(t, opt)
		root := dcRootFS(t, srv.Dir)
		q := &hzQuotaFS{RootFS: root, left: 0, full: true, err: syscall.ENOSPC}
		if err := srv.Users.AddFS("q", "pw", q, ftp.Permissions{Default: ftp.PermAll}); err != nil {
			t.Fatal(err)
		}
		c := dcLogin(t, srv, "q", "pw")
		c.expectText("MKD d", 452, full)
		for _, line := range []string{"STOR new.bin", "APPE new.bin", "STOU"} {
			c.pasvReply()
			c.expectText(line, 452, full)
		}
		c.expect("NOOP", 200)
		if names := hzDirNames(t, srv.Dir); len(names) != 0 {
			t.Errorf("a full disk got %q", names)
		}
		hooks.none(t)
	})
}

// hzReadOnly makes dir unwritable: by its mode, or for root (whom modes
// do not stop) with the immutable attribute. It skips the test when
// neither is possible.
func hzReadOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		return
	}
	if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
		t.Skipf("running as root, and chattr +i failed (%v: %s): cannot make a directory read-only", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("chattr", "-i", dir).CombinedOutput(); err != nil {
			t.Errorf("chattr -i %s: %v: %s", dir, err, out)
		}
	})
}

// TestFaultReadOnlyDirectory checks every write into a directory the
// server's process cannot write: 550 "Permission denied." each time,
// nothing created, removed or moved, and what is there can still be read.
func TestFaultReadOnlyDirectory(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	makeTree(t, srv.Dir, map[string]string{"ro/file.txt": "read me", "ro/empty/": "", "top.txt": "top"})
	hzReadOnly(t, filepath.Join(srv.Dir, "ro"))
	c := loggedIn(t, srv)
	const denied = "Permission denied."
	c.run([]step{
		{"MKD ro/sub", 550, denied},
		{"RMD ro/empty", 550, denied},
		{"DELE ro/file.txt", 550, denied},
	})
	for _, mv := range [][2]string{{"ro/file.txt", "moved.txt"}, {"top.txt", "ro/top.txt"}, {"ro/empty", "ro/empty2"}} {
		c.expect("RNFR "+mv[0], 350)
		c.expectText("RNTO "+mv[1], 550, denied)
	}
	for _, line := range []string{"STOR ro/new.txt", "APPE ro/new.txt", "STOU ro/u"} {
		c.pasvAddr()
		c.expectText(line, 550, denied)
	}
	if got := c.retr("ro/file.txt"); string(got) != "read me" {
		t.Errorf("RETR from the read-only directory: %q", got)
	}
	if got := string(c.dataCmd("NLST ro")); got != "ro/empty\r\nro/file.txt\r\n" {
		t.Errorf("NLST ro = %q", got)
	}
	if got := hzDirNames(t, filepath.Join(srv.Dir, "ro")); !slices.Equal(got, []string{"empty", "file.txt"}) {
		t.Errorf("the read-only directory holds %q", got)
	}
	if got := hzDirNames(t, srv.Dir); !slices.Equal(got, []string{"ro", "top.txt"}) {
		t.Errorf("the home holds %q", got)
	}
	wantContent(t, srv.Dir, "ro/file.txt", "read me")
	wantContent(t, srv.Dir, "top.txt", "top")
}

// TestFaultRenameOverDirectory checks that RNTO never replaces a
// directory, even an empty one (which rename(2) would do), however the
// target is written (trailing slash, ".", "..", the working directory),
// and that renaming onto a link to a directory replaces the link, not the
// directory. Both trees stay whole.
func TestFaultRenameOverDirectory(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	tree := map[string]string{
		"f.txt":          "file",
		"src/a.txt":      "a",
		"empty/":         "",
		"full/b.txt":     "b",
		"full/in/c.txt":  "c",
		"sub/d.txt":      "d",
		"sub/inner/":     "",
		"other/e.txt":    "e",
		"other/emptied/": "",
	}
	makeTree(t, srv.Dir, tree)
	if err := os.Symlink("full", filepath.Join(srv.Dir, "linkdir")); err != nil {
		t.Fatal(err)
	}
	const isDir = "Destination exists and is a directory."
	c := loggedIn(t, srv)
	for _, tt := range []struct{ from, to string }{
		{"f.txt", "empty"},
		{"f.txt", "full"},
		{"f.txt", "empty/"},
		{"f.txt", "full/."},
		{"f.txt", "full/in/.."},
		{"src", "empty"},
		{"src", "full"},
		{"src", "/full/in"},
		{"empty", "other/emptied"},
		{"sub/d.txt", "."}, // from /sub: "." is /sub
		{"sub/d.txt", "inner"},
		{"sub/d.txt", ".."}, // from /sub: ".." is /, refused for its own reason
	} {
		if strings.HasPrefix(tt.from, "sub/") {
			c.expect("CWD /sub", 250)
			tt.from = strings.TrimPrefix(tt.from, "sub/")
		}
		c.expect("RNFR "+tt.from, 350)
		want := isDir
		if tt.to == ".." {
			want = "Cannot rename over the root directory."
		}
		c.expectText("RNTO "+tt.to, 550, want)
		c.expect("CWD /", 250)
	}
	// A link to a directory is replaced as a link; the directory stays.
	c.expect("RNFR f.txt", 350)
	c.expect("RNTO linkdir", 250)
	if fi, err := os.Lstat(filepath.Join(srv.Dir, "linkdir")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("linkdir after RNTO: %v, %v; want the renamed file", fi, err)
	}
	wantContent(t, srv.Dir, "linkdir", "file")
	delete(tree, "f.txt")
	for name, content := range tree {
		if strings.HasSuffix(name, "/") {
			if fi, err := os.Stat(filepath.Join(srv.Dir, name)); err != nil || !fi.IsDir() {
				t.Errorf("directory %s: %v", name, err)
			}
			continue
		}
		wantContent(t, srv.Dir, name, content)
	}
	if got := hzDirNames(t, filepath.Join(srv.Dir, "empty")); len(got) != 0 {
		t.Errorf("empty/ now holds %q", got)
	}
	if got := hzDirNames(t, filepath.Join(srv.Dir, "full")); !slices.Equal(got, []string{"b.txt", "in"}) {
		t.Errorf("full/ now holds %q", got)
	}
}

// TestFaultConcurrentSameName has three clients upload the same name at
// the same moment, round after round, alternately onto an existing file
// and a new one. Each upload is accepted whole (226) or refused (450
// while another runs; 550 "File exists." for a new file another client
// created meanwhile); the file afterwards is exactly one accepted upload,
// never a mix.
func TestFaultConcurrentSameName(t *testing.T) {
	t.Parallel()
	const (
		rounds  = 12
		clients = 3
		size    = 256 << 10
	)
	srv := ftptest.NewServer(t)
	cs := make([]*dcClient, clients)
	for i := range cs {
		cs[i] = dcLoginUser(t, srv)
	}
	refused := 0
	for round := range rounds {
		if round%2 == 1 {
			os.Remove(filepath.Join(srv.Dir, "same.bin"))
		} else {
			dcWriteFile(t, srv.Dir, "same.bin", []byte("before the round"))
		}
		contents := make([][]byte, clients)
		conns := make([]net.Conn, clients)
		for i, c := range cs {
			contents[i] = bytes.Repeat([]byte{byte('A' + i)}, size)
			copy(contents[i], fmt.Sprintf("round %d client %d", round, i))
			conns[i] = c.dialData(c.pasvReply().Port())
		}
		type result struct {
			first, final reply
			err          error
		}
		results := make([]result, clients)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := &results[i]
				<-start
				if res.first, res.err = c.tryCmd("STOR same.bin"); res.err != nil || res.first.Code != 150 {
					conns[i].Close()
					return
				}
				half := size / 2
				if _, res.err = conns[i].Write(contents[i][:half]); res.err != nil {
					return
				}
				time.Sleep(20 * time.Millisecond) // hold the name while the others try
				if _, res.err = conns[i].Write(contents[i][half:]); res.err != nil {
					return
				}
				conns[i].Close()
				res.final, res.err = c.readReply()
			}()
		}
		close(start)
		wg.Wait()
		var accepted [][32]byte
		for i, res := range results {
			switch {
			case res.err != nil:
				t.Fatalf("round %d client %d: %v", round, i, res.err)
			case res.first.Code == 150 && res.final.Code == 226:
				accepted = append(accepted, sha256.Sum256(contents[i]))
			case res.first.Code == 450 && res.first.Text == "File is being uploaded by another session.",
				res.first.Code == 550 && res.first.Text == "File exists." && round%2 == 1:
				refused++
			default:
				t.Fatalf("round %d client %d: %v then %v; want 150 then 226, or a refusal", round, i, res.first, res.final)
			}
		}
		sum, n := dcFileSum(t, filepath.Join(srv.Dir, "same.bin"))
		if len(accepted) == 0 || !slices.Contains(accepted, sum) || n != size {
			t.Fatalf("round %d: %d uploads accepted, and the file (%d bytes) is none of them", round, len(accepted), n)
		}
	}
	if refused == 0 {
		t.Errorf("no upload was ever refused in %d rounds: the uploads did not overlap", rounds)
	}
	for _, c := range cs {
		c.expect("NOOP", 200)
	}
}
