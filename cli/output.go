package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fatih/color"

	"github.com/ftpshare/ftpshare/ftp"
	"github.com/ftpshare/ftpshare/share"
)

// palette holds the colours of the banner; all plain when colour is off.
type palette struct {
	title, label, url, warn, dim *color.Color
}

func newPalette(on bool) *palette {
	p := &palette{
		title: color.New(color.Bold),
		label: color.New(color.FgCyan),
		url:   color.New(color.FgGreen, color.Bold),
		warn:  color.New(color.FgYellow),
		dim:   color.New(color.Faint),
	}
	for _, c := range []*color.Color{p.title, p.label, p.url, p.warn, p.dim} {
		if on {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
	}
	return p
}

// printBanner tells a person what is shared, to whom, and how to connect.
func printBanner(w io.Writer, colorOn bool, cfg *share.Config, info share.Info) {
	p := newPalette(colorOn)
	line := func(label, text string) {
		fmt.Fprintf(w, "  %s %s\n", p.label.Sprintf("%-8s", label), text)
	}
	fmt.Fprintf(w, "%s %s\n", p.title.Sprint("ftpshare is sharing"), p.title.Sprint(info.Dir))

	access := make([]string, 0, len(info.Users)+1)
	for _, u := range info.Users {
		access = append(access, describeUser(u, info.Dir))
	}
	if su := info.SystemUsers; su != nil {
		access = append(access, fmt.Sprintf("the machine's accounts (PAM service %s): %s (%s), each in their home", su.PAMService, permWords(su.Perms), su.Perms))
	}
	for i, a := range access {
		label := ""
		if i == 0 {
			label = "Access"
		}
		line(label, a)
	}
	for i, u := range info.URLs {
		label := ""
		if i == 0 {
			label = "Open"
		}
		line(label, p.url.Sprint(u))
	}
	first := info.URLs[0]
	user, anon := hintUser(info.Users)
	if user == "" && info.SystemUsers != nil {
		user = "USER"
	}
	curl := "curl"
	if info.TLS != nil && info.TLS.Required {
		curl += " --ssl-reqd" + curlTLSArgs(info.TLS)
	}
	var hints []string
	if user != "" {
		hints = append(hints, fmt.Sprintf("%s -u %s %s   (list; curl asks for the password)", curl, user, first))
	}
	if anon != nil {
		switch {
		case anon.Perms == share.AnonymousDropBox.String():
			hints = append(hints, fmt.Sprintf("%s -T FILE %s   (anyone: upload to the drop box)", curl, first))
		case strings.ContainsRune(anon.Perms, 'w'):
			hints = append(hints, fmt.Sprintf("%s %s   (list)   %s -T FILE %s   (upload)", curl, first, curl, first))
		default:
			hints = append(hints, fmt.Sprintf("%s %s   (list)   %s -O %sFILE   (download)", curl, first, curl, first))
		}
	}
	for i, h := range hints {
		label := ""
		if i == 0 {
			label = "curl"
		}
		line(label, h)
	}
	line("Files", "open "+first+" in a file manager (Finder: Go > Connect to Server; Windows: the Explorer address bar; Linux: Other Locations)")

	if t := info.TLS; t != nil {
		what := "FTPS on"
		if t.Required {
			what = "FTPS required"
		}
		line("TLS", fmt.Sprintf("%s; certificate SHA-256 fingerprint:", what))
		line("", p.warn.Sprint(t.Fingerprint))
		if t.SelfSigned {
			line("", p.dim.Sprintf("self-signed, kept in %s: check that your client shows this fingerprint", t.CertFile))
		}
		line("", "FileZilla: "+p.url.Sprint(t.ExplicitURLs[0])+" (explicit FTP over TLS)")
		if len(t.ImplicitURLs) > 0 {
			line("", "implicit FTPS: "+p.url.Sprint(t.ImplicitURLs[0]))
		}
		if !t.Required {
			cb := "curl --ssl-reqd" + curlTLSArgs(t)
			if user != "" {
				cb += " -u " + user
			}
			line("", fmt.Sprintf("%s %s", cb, first))
		}
	}
	fmt.Fprintln(w, p.dim.Sprint("Stop with Ctrl+C."))
}

// curlTLSArgs makes curl check the certificate: by its key for a
// self-signed one (a file would have to be copied to each client).
func curlTLSArgs(t *share.TLSInfo) string {
	if t.SelfSigned {
		return " --insecure --pinnedpubkey sha256//" + t.PublicKeySHA256
	}
	return ""
}

// hintUser picks the account the hints show: the first named user, else
// none (anonymous); anon is the anonymous account, if any.
func hintUser(users []share.UserInfo) (name string, anon *share.UserInfo) {
	for i := range users {
		u := &users[i]
		if u.Anonymous {
			anon = u
		} else if name == "" {
			name = u.Name
		}
	}
	return name, anon
}

// permWords says in words what a permission string allows.
func permWords(perms string) string {
	switch perms {
	case ftp.PermRead.String():
		return "read-only"
	case ftp.PermAll.String():
		return "read and write"
	case share.AnonymousDropBox.String():
		return "drop box: upload new files only"
	}
	return "custom"
}

// describeUser says in words what an account may do.
func describeUser(u share.UserInfo, dir string) string {
	what := permWords(u.Perms)
	s := fmt.Sprintf("%s: %s (%s)", u.Name, what, u.Perms)
	if u.Anonymous {
		s = fmt.Sprintf("anyone (anonymous): %s (%s)", what, u.Perms)
	}
	if u.Home != dir {
		s += ", home " + u.Home
	}
	return s
}

// eventWriter prints JSON lines on stdout: the listening server, then
// session and transfer events. A goroutine does the writing, so that a
// slow reader of stdout never holds up a session: when its queue is full,
// events are dropped (and counted). It stops writing after a write fails
// (a reader that went away).
type eventWriter struct {
	w       io.Writer
	queue   chan []byte
	done    chan struct{}
	dropped atomic.Int64

	mu     sync.Mutex
	closed bool
}

// eventQueue is how many events may wait for a slow stdout.
const eventQueue = 4096

func newEventWriter(w io.Writer) *eventWriter {
	e := &eventWriter{w: w, queue: make(chan []byte, eventQueue), done: make(chan struct{})}
	go e.run()
	return e
}

func (e *eventWriter) run() {
	defer close(e.done)
	failed := false
	for b := range e.queue {
		if !failed {
			_, err := e.w.Write(b)
			failed = err != nil
		}
	}
}

func (e *eventWriter) write(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	b = append(b, '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	select {
	case e.queue <- b:
	default:
		e.dropped.Add(1)
	}
}

// close writes out the queued events and returns how many were dropped.
func (e *eventWriter) close() int64 {
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		close(e.queue)
	}
	e.mu.Unlock()
	<-e.done
	return e.dropped.Load()
}

// listeningEvent is the first line: what a script needs to connect.
type listeningEvent struct {
	Event   string `json:"event"`
	Version string `json:"version"`
	share.Info
}

func (e *eventWriter) listening(info share.Info) {
	e.write(listeningEvent{Event: "listening", Version: version(), Info: info})
}

// simple writes an event with no details ("stopping", "stopped").
func (e *eventWriter) simple(name string) {
	e.write(struct {
		Event string    `json:"event"`
		Time  time.Time `json:"time"`
	}{name, time.Now().UTC()})
}

// sessionEvent is a session's connect, login, logout or disconnect.
type sessionEvent struct {
	Event     string    `json:"event"`
	Time      time.Time `json:"time"`
	Session   uint64    `json:"session"`
	Remote    string    `json:"remote"`
	User      string    `json:"user,omitempty"`
	Anonymous bool      `json:"anonymous,omitempty"`
	TLS       bool      `json:"tls"`
}

func newSessionEvent(name string, s ftp.SessionInfo) sessionEvent {
	ev := sessionEvent{Event: name, Time: time.Now().UTC(), Session: s.ID, User: s.User, Anonymous: s.Anonymous, TLS: s.TLS}
	if s.RemoteAddr != nil {
		ev.Remote = s.RemoteAddr.String()
	}
	return ev
}

// transferEvent is a finished or failed transfer.
type transferEvent struct {
	sessionEvent
	Command string  `json:"command"`
	Path    string  `json:"path"`
	Offset  int64   `json:"offset"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	// Rate is in bytes per second.
	Rate  float64 `json:"rate"`
	Error string  `json:"error,omitempty"`
}

func (e *eventWriter) transfer(name string) func(ftp.TransferInfo) {
	return func(t ftp.TransferInfo) {
		ev := transferEvent{
			sessionEvent: newSessionEvent(name, t.Session),
			Command:      t.Command,
			Path:         t.Path,
			Offset:       t.Offset,
			Bytes:        t.Bytes,
			Seconds:      math.Round(t.Duration.Seconds()*1000) / 1000,
		}
		if s := t.Duration.Seconds(); s > 0 {
			ev.Rate = math.Round(float64(t.Bytes) / s)
		}
		if t.Err != nil {
			ev.Error = t.Err.Error()
		}
		e.write(ev)
	}
}

func (e *eventWriter) session(name string) func(ftp.SessionInfo) {
	return func(s ftp.SessionInfo) { e.write(newSessionEvent(name, s)) }
}

// hooks sends every session and transfer event to e.
func (e *eventWriter) hooks() ftp.Hooks {
	return ftp.Hooks{
		Connect: e.session("connect"),
		Login:   e.session("login"),
		LoginFailed: func(s ftp.SessionInfo, user string) {
			ev := newSessionEvent("login_failed", s)
			ev.User = user
			e.write(ev)
		},
		Logout:             e.session("logout"),
		Disconnect:         e.session("disconnect"),
		FileSent:           e.transfer("file_sent"),
		FileReceived:       e.transfer("file_received"),
		IncompleteSent:     e.transfer("incomplete_sent"),
		IncompleteReceived: e.transfer("incomplete_received"),
	}
}
