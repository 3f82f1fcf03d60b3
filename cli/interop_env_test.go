package cli_test

// The world of one interop cell (ienv): its server, the client's
// directories and environment, the server's events and command log, and
// the operations' fixtures and checks, which take the client's part as a
// function.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ienv is one cell's world: a server of its own, the client's working
// directory and HOME.
type ienv struct {
	t      *testing.T
	client *interopClient
	mode   interopMode
	op     interopOp
	anon   bool // the cell logs in as anonymous
	p      *proc
	share  string // the served directory
	work   string // the client's working directory
	home   string // the client's HOME
	events *eventLog
}

func newIenv(t *testing.T, c *interopClient, mode interopMode, op interopOp) *ienv {
	e := &ienv{t: t, client: c, mode: mode, op: op, anon: op == opAnonymous,
		share: t.TempDir(), work: t.TempDir(), home: t.TempDir()}
	// -v logs every command, so that checkMode can see PASV or PORT.
	args := []string{"-v", "--user", interopUser + ":" + interopPass}
	if e.anon {
		args = append(args, "--anonymous")
	}
	if mode.tls() {
		// Required: a client that fell back to clear text would fail; and
		// an upload that ended without close_notify.
		args = append(args, "--tls-required", "--tls-close-notify", "--tls-dir", t.TempDir())
		if c.noTLSReuse == "" {
			args = append(args, "--tls-session-reuse")
		}
	}
	e.p = start(t, nil, append(args, e.share)...)
	e.events = collectEvents(e.p)
	return e
}

// port is the server's control port, as a string.
func (e *ienv) port() string { return strconv.Itoa(e.p.info.Port) }

// caFile is the server's self-signed certificate, for clients to trust.
func (e *ienv) caFile() string {
	if e.p.info.TLS == nil {
		e.t.Fatal("caFile: the server has no TLS")
	}
	return e.p.info.TLS.CertFile
}

// clientEnv is the environment of a client: the test's own, without
// anything that could change how a client behaves (proxies, locale, user
// configuration), with HOME in a temporary directory and a UTF-8 locale.
func (e *ienv) clientEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		uk := strings.ToUpper(k)
		switch {
		case k == "HOME", k == "LANG", k == "LANGUAGE", strings.HasPrefix(k, "LC_"), strings.HasPrefix(k, "XDG_"),
			strings.HasSuffix(uk, "_PROXY"), uk == "NO_PROXY", strings.HasPrefix(uk, "FTP"), k == "NETRC",
			k == "CURL_HOME", k == "WGETRC", k == "LFTP_HOME", strings.HasPrefix(k, "PYTHON"), strings.HasPrefix(k, "SSL_"):
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+e.home, "XDG_CONFIG_HOME="+filepath.Join(e.home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(e.home, ".local", "share"), "XDG_CACHE_HOME="+filepath.Join(e.home, ".cache"),
		"LC_ALL=C.UTF-8", "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1")
}

// exec runs a client in e.work with stdin, and returns its output
// (stdout then stderr) and error.
func (e *ienv) exec(stdin string, name string, args ...string) (stdout, stderr string, err error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = e.work
	cmd.Env = e.clientEnv()
	cmd.Stdin = strings.NewReader(stdin)
	cmd.WaitDelay = 5 * time.Second
	var o, eb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &eb
	err = cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %v: %w", clientTimeout, err)
	}
	return o.String(), eb.String(), err
}

// run runs a client that must succeed, and returns its stdout.
func (e *ienv) run(name string, args ...string) string {
	e.t.Helper()
	return e.runIn("", name, args...)
}

// runIn runs a client with stdin; it must succeed.
func (e *ienv) runIn(stdin, name string, args ...string) string {
	e.t.Helper()
	out, errOut, err := e.exec(stdin, name, args...)
	if err != nil {
		e.t.Fatalf("%s %s: %v\nstdin:\n%s\nstdout:\n%s\nstderr:\n%s", filepath.Base(name), shellQuote(args), err, clip(stdin), clip(out), clip(errOut))
	}
	e.t.Logf("%s %s: ok", filepath.Base(name), shellQuote(args))
	return out
}

func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$\\;&|<>*?()") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// clip shortens long client output for a failure message.
func clip(s string) string {
	const max = 6000
	if len(s) <= max {
		return s
	}
	return s[:max/2] + "\n[...]\n" + s[len(s)-max/2:]
}

// --- Events and the server's command log ---

// eventLog collects the server's JSON events as they come.
type eventLog struct {
	mu  sync.Mutex
	evs []map[string]any
}

func collectEvents(p *proc) *eventLog {
	l := &eventLog{}
	go func() {
		for line := range p.lines {
			var ev map[string]any
			if json.Unmarshal([]byte(line), &ev) == nil {
				l.mu.Lock()
				l.evs = append(l.evs, ev)
				l.mu.Unlock()
			}
		}
	}()
	return l
}

// find returns the events, in order, that match.
func (l *eventLog) find(match func(map[string]any) bool) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, ev := range l.evs {
		if match(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// waitEvent waits up to 5s for an event that matches (events are written
// by the server as the client goes, and may trail its exit).
func (e *ienv) waitEvent(what string, match func(map[string]any) bool) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if evs := e.events.find(match); len(evs) > 0 {
			return evs[0]
		}
		if time.Now().After(deadline) {
			e.events.mu.Lock()
			n := len(e.events.evs)
			e.events.mu.Unlock()
			e.t.Fatalf("the server reported no %s (%d events)", what, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkLogin checks that the server saw the client log in as the cell's
// user, over TLS exactly in the TLS modes.
func (e *ienv) checkLogin() {
	e.t.Helper()
	ev := e.waitEvent("login", func(ev map[string]any) bool { return ev["event"] == "login" })
	if e.anon {
		if ev["anonymous"] != true {
			e.t.Errorf("login event %v: want an anonymous login", ev)
		}
	} else if ev["user"] != interopUser || ev["anonymous"] == true {
		e.t.Errorf("login event %v: want user %s", ev, interopUser)
	}
	if ev["tls"] != e.mode.tls() {
		e.t.Errorf("login event %v: tls should be %v in mode %s", ev, e.mode.tls(), e.mode)
	}
}

// transferred returns the transfer events (file_sent, file_received) of
// a path.
func (e *ienv) transferred(event, path string) map[string]any {
	e.t.Helper()
	return e.waitEvent(event+" of "+path, func(ev map[string]any) bool { return ev["event"] == event && ev["path"] == path })
}

// logged reports whether the server's log has s, waiting up to 3s for it
// (the log may trail the client's exit).
func (e *ienv) logged(s string) bool {
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if strings.Contains(e.p.stderr.String(), s) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

var dataVerb = regexp.MustCompile(`\bverb=(PASV|EPSV|PORT|EPRT|LPSV|LPRT)\b`)

// checkMode checks, from the server's command log, that the client opened
// its data connections in the cell's mode: no PASV or EPSV in an active
// mode, no PORT or EPRT in a passive one, and at least one of the right
// kind when the operation moves data.
func (e *ienv) checkMode() {
	e.t.Helper()
	if e.t.Failed() {
		return
	}
	needData := e.op != opMkdir && e.op != opDelete && e.op != opRename && e.op != opLogin
	deadline := time.Now().Add(3 * time.Second)
	for {
		verbs := map[string]int{}
		for _, m := range dataVerb.FindAllStringSubmatch(e.p.stderr.String(), -1) {
			verbs[m[1]]++
		}
		right := verbs["PASV"] + verbs["EPSV"] + verbs["LPSV"]
		wrong := verbs["PORT"] + verbs["EPRT"] + verbs["LPRT"]
		if e.mode.active() {
			right, wrong = wrong, right
		}
		if wrong > 0 {
			e.t.Errorf("mode %s, but the client sent %v", e.mode, verbs)
			return
		}
		if right > 0 || !needData {
			return
		}
		if time.Now().After(deadline) {
			e.t.Errorf("mode %s, but the server saw no data connection command of that mode: %v", e.mode, verbs)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// --- Files ---

func (e *ienv) writeFile(root, rel string, data []byte) string {
	e.t.Helper()
	name := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		e.t.Fatal(err)
	}
	return name
}

func (e *ienv) readFile(name string) []byte {
	e.t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		e.t.Fatalf("%v", err)
	}
	return b
}

// sameBytes fails the test unless the file holds want.
func (e *ienv) sameBytes(what, name string, want []byte) {
	e.t.Helper()
	got, err := os.ReadFile(name)
	if err != nil {
		e.t.Fatalf("%s: %v", what, err)
	}
	if !bytes.Equal(got, want) {
		e.t.Fatalf("%s: %s has %d bytes (sha256 %s), want %d bytes (sha256 %s)", what, name, len(got), sum(got)[:16], len(want), sum(want)[:16])
	}
}

func exists(name string) bool {
	_, err := os.Lstat(name)
	return err == nil
}

// pattern returns n bytes of a pseudo-random pattern seeded by seed.
func pattern(seed uint32, n int) []byte {
	b := make([]byte, n)
	x := seed*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// The sizes of the files the cells move: more than a megabyte, so that
// transfers span many buffers, and odd, so that nothing is aligned.
const (
	bigSize    = 1<<20 + 4099
	resumeFrom = 300_007 // bytes already there before a resume
)

// listNames are the entries of the directory the list cells list.
var listNames = []string{"plain.txt", "with space.txt", "日本語 ファイル.txt", "café déjà vu.txt", "sub dir"}

// --- The operations: fixtures and checks, with the client's part as a
// function. Remote paths are relative to the user's root and use "/".

// testLogin runs login (which logs in and does little else) and checks the
// server's login event.
func (e *ienv) testLogin(login func()) {
	login()
	e.checkLogin()
}

// testAnonymous checks an anonymous download and, when put is not nil,
// that an anonymous upload is refused: put must return the client's
// error, and nothing may appear on the server.
func (e *ienv) testAnonymous(get func(remote, local string), put func(local, remote string) error) {
	want := []byte("public file\n")
	e.writeFile(e.share, "pub/readme.txt", want)
	local := filepath.Join(e.work, "readme.txt")
	get("pub/readme.txt", local)
	e.sameBytes("anonymous download", local, want)
	e.checkLogin()
	if put == nil {
		return
	}
	src := e.writeFile(e.work, "anon-upload.txt", []byte("should not arrive\n"))
	err := put(src, "pub/anon-upload.txt")
	if exists(filepath.Join(e.share, "pub", "anon-upload.txt")) {
		e.t.Errorf("an anonymous upload was stored: anonymous users are read-only")
	}
	if err == nil {
		e.t.Errorf("the client reported success for a refused anonymous upload")
	}
}

// testList lists a directory whose names have spaces and non-ASCII
// letters; list returns the names the client shows.
func (e *ienv) testList(list func(dir string) []string) {
	for _, n := range listNames {
		if n == "sub dir" {
			if err := os.MkdirAll(filepath.Join(e.share, "dir", n), 0o755); err != nil {
				e.t.Fatal(err)
			}
			continue
		}
		e.writeFile(e.share, "dir/"+n, []byte(n))
	}
	got := list("dir")
	var names []string
	for _, n := range got {
		if n != "." && n != ".." && n != "" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	want := slices.Clone(listNames)
	sort.Strings(want)
	if !slices.Equal(names, want) {
		e.t.Errorf("listing shows %q, want %q", names, want)
	}
}

// testDownload downloads a file whose name has a space.
func (e *ienv) testDownload(get func(remote, local string)) {
	want := pattern(1, bigSize)
	e.writeFile(e.share, "dir/big file.bin", want)
	local := filepath.Join(e.work, "big file.bin")
	get("dir/big file.bin", local)
	e.sameBytes("download", local, want)
	e.checkLogin()
}

// testUpload uploads a file to a name with a space.
func (e *ienv) testUpload(put func(local, remote string)) {
	want := pattern(2, bigSize)
	if err := os.Mkdir(filepath.Join(e.share, "dir"), 0o755); err != nil {
		e.t.Fatal(err)
	}
	local := e.writeFile(e.work, "up load.bin", want)
	put(local, "dir/up load.bin")
	e.sameBytes("upload", filepath.Join(e.share, "dir", "up load.bin"), want)
	if ev := e.transferred("file_received", "/dir/up load.bin"); ev["bytes"] != float64(bigSize) {
		e.t.Errorf("upload event %v: want %d bytes", ev, bigSize)
	}
}

// testResume resumes a download from a local file that holds the first
// resumeFrom bytes, and an upload onto a remote file that holds them;
// either function may be nil. The server's events must show that only the
// rest was sent.
func (e *ienv) testResume(get func(remote, local string), put func(local, remote string)) {
	if get != nil {
		want := pattern(3, bigSize)
		e.writeFile(e.share, "dir/resume get.bin", want)
		local := e.writeFile(e.work, "resume get.bin", want[:resumeFrom])
		get("dir/resume get.bin", local)
		e.sameBytes("resumed download", local, want)
		if ev := e.transferred("file_sent", "/dir/resume get.bin"); ev["bytes"] != float64(bigSize-resumeFrom) {
			e.t.Errorf("resumed download event %v: want %d bytes sent", ev, bigSize-resumeFrom)
		}
	}
	if put != nil {
		want := pattern(4, bigSize)
		remote := e.writeFile(e.share, "dir/resume put.bin", want[:resumeFrom])
		local := e.writeFile(e.work, "resume put.bin", want)
		put(local, "dir/resume put.bin")
		e.sameBytes("resumed upload", remote, want)
		if ev := e.transferred("file_received", "/dir/resume put.bin"); ev["bytes"] != float64(bigSize-resumeFrom) {
			e.t.Errorf("resumed upload event %v: want %d bytes received", ev, bigSize-resumeFrom)
		}
	}
}

// testMkdir makes "dir/new dir".
func (e *ienv) testMkdir(mkdir func(remote string)) {
	if err := os.Mkdir(filepath.Join(e.share, "dir"), 0o755); err != nil {
		e.t.Fatal(err)
	}
	mkdir("dir/new dir")
	if fi, err := os.Stat(filepath.Join(e.share, "dir", "new dir")); err != nil || !fi.IsDir() {
		e.t.Errorf("mkdir: no directory on the server: %v", err)
	}
	e.checkLogin()
}

// testDelete deletes one file of two.
func (e *ienv) testDelete(del func(remote string)) {
	e.writeFile(e.share, "dir/old file.txt", []byte("delete me\n"))
	keep := e.writeFile(e.share, "dir/keep.txt", []byte("keep me\n"))
	del("dir/old file.txt")
	if exists(filepath.Join(e.share, "dir", "old file.txt")) {
		e.t.Errorf("delete: the file is still on the server")
	}
	if !exists(keep) {
		e.t.Errorf("delete: another file went too")
	}
}

// testRename renames a file into another directory, under another name.
func (e *ienv) testRename(rename func(from, to string)) {
	want := []byte("renamed content\n")
	e.writeFile(e.share, "dir/before name.txt", want)
	if err := os.Mkdir(filepath.Join(e.share, "other dir"), 0o755); err != nil {
		e.t.Fatal(err)
	}
	rename("dir/before name.txt", "other dir/after name.txt")
	if exists(filepath.Join(e.share, "dir", "before name.txt")) {
		e.t.Errorf("rename: the old name is still there")
	}
	e.sameBytes("rename", filepath.Join(e.share, "other dir", "after name.txt"), want)
}

// testTree copies the 200-file tree from the server (remote "tree" into
// local dir "down") and, when up is not nil, another copy to it (local
// dir "uploaded" into remote "uploaded"), and compares both trees file by
// file. The destination directories do not exist beforehand.
func (e *ienv) testTree(down func(remote, local string), up func(local, remote string)) {
	files := interopTree()
	for rel, data := range files {
		e.writeFile(e.share, "tree/"+rel, data)
	}
	down("tree", filepath.Join(e.work, "down"))
	e.sameTree("downloaded tree", filepath.Join(e.work, "down"), files)
	if up == nil {
		return
	}
	src := filepath.Join(e.work, "uploaded")
	for rel, data := range files {
		e.writeFile(src, rel, data)
	}
	up(src, "uploaded")
	e.sameTree("uploaded tree", filepath.Join(e.share, "uploaded"), files)
}

// sameTree fails unless root holds exactly the files (and no others).
func (e *ienv) sameTree(what, root string, want map[string][]byte) {
	e.t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		got[filepath.ToSlash(rel)] = sum(b)
		return nil
	})
	if err != nil {
		e.t.Fatalf("%s: %v", what, err)
	}
	var missing, wrong, extra []string
	for rel, data := range want {
		s, ok := got[rel]
		switch {
		case !ok:
			missing = append(missing, rel)
		case s != sum(data):
			wrong = append(wrong, rel)
		}
	}
	for rel := range got {
		if _, ok := want[rel]; !ok {
			extra = append(extra, rel)
		}
	}
	if len(missing)+len(wrong)+len(extra) > 0 {
		sort.Strings(missing)
		sort.Strings(wrong)
		sort.Strings(extra)
		e.t.Fatalf("%s: %d of %d files right; missing %d %q, wrong bytes %d %q, unexpected %d %q", what,
			len(want)-len(missing)-len(wrong), len(want), len(missing), firstN(missing), len(wrong), firstN(wrong), len(extra), firstN(extra))
	}
}

func firstN(s []string) []string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

// treeDirs and treeStems make the names of interopTree.
var (
	treeDirs = []string{"", "docs", "docs/日本語 フォルダ", "space dir", "space dir/nested deeper", "café",
		"café/déjà vu", "a/b/c/d", "Ünïcödé", "music (live)"}
	treeStems = []string{"plain", "日本語 ファイル", "café déjà vu", "two  spaces", "Ελληνικά", "Привет мир",
		"data-file_v2", "中文 文件", "emoji 🎉", "MiXeD Case"}
)

// interopTree is the tree the tree cells copy: 200 files in nested
// directories, with spaces and non-ASCII letters in the names, one empty
// file and one of 300 KB; relative path → content.
func interopTree() map[string][]byte {
	files := make(map[string][]byte, 200)
	for i := range 200 {
		dir, stem := treeDirs[i%len(treeDirs)], treeStems[(i/len(treeDirs))%len(treeStems)]
		ext := []string{".txt", ".bin", ".dat"}[i%3]
		name := fmt.Sprintf("%s %03d%s", stem, i, ext)
		switch i {
		case 0:
			name = "日本語 ファイル.txt"
		case 1:
			name = "café déjà vu.txt"
		}
		size := (i * 7919) % 12000
		switch i {
		case 2:
			size = 0
		case 3:
			size = 300_000
		}
		files[strings.TrimPrefix(dir+"/"+name, "/")] = pattern(uint32(100+i), size)
	}
	return files
}

// treeDirsOf returns the directories of files, parents first.
func treeDirsOf(files map[string][]byte) []string {
	set := map[string]bool{}
	for rel := range files {
		for d := filepath.ToSlash(filepath.Dir(rel)); d != "."; d = filepath.ToSlash(filepath.Dir(d)) {
			set[d] = true
		}
	}
	var dirs []string
	for d := range set {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs) // a parent sorts before its children
	return dirs
}

// sortedKeys returns the files' names in order.
func sortedKeys(files map[string][]byte) []string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// lsLine is a line of an ls -l style listing (ftpshare's LIST).
var lsLine = regexp.MustCompile(`^[-dlcbps][-rwxsStT]{9}\S*\s+\d+\s+\S+\s+\S+\s+\d+\s+\w{3}\s+\d{1,2}\s+(?:\d{1,2}:\d{2}|\d{4})\s(.+)$`)

// lsNames returns the names in an ls -l style listing; other lines (a
// client's chatter) are ignored.
func lsNames(out string) []string {
	var names []string
	for _, l := range strings.Split(out, "\n") {
		if m := lsLine.FindStringSubmatch(strings.TrimRight(l, "\r")); m != nil {
			names = append(names, m[1])
		}
	}
	return names
}
