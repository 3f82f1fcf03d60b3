package ftp

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// sessionLog logs with the session's attributes (id, remote address,
// user). It builds them only when a record is written: a logger with the
// attributes attached would cost every idle session a handler clone.
type sessionLog struct{ s *session }

func (l sessionLog) log(level slog.Level, msg string, args []any) {
	s := l.s
	if !s.srv.log.Enabled(context.Background(), level) {
		return
	}
	r := slog.NewRecord(time.Now(), level, msg, 0)
	r.AddAttrs(slog.Uint64("session", s.id), slog.String("remote", s.remote.String()))
	if s.acct != nil {
		r.AddAttrs(slog.String("user", s.acct.User))
	}
	r.Add(args...)
	s.srv.logs.push(s.srv.log.Handler(), r)
}

// Debug, Info, Warn and Error log at their level.
func (l sessionLog) Debug(msg string, args ...any) { l.log(slog.LevelDebug, msg, args) }
func (l sessionLog) Info(msg string, args ...any)  { l.log(slog.LevelInfo, msg, args) }
func (l sessionLog) Warn(msg string, args ...any)  { l.log(slog.LevelWarn, msg, args) }
func (l sessionLog) Error(msg string, args ...any) { l.log(slog.LevelError, msg, args) }

// maxQueuedLogs bounds the records waiting for the writer; past it a
// session formats its own records, which slows it to the writer's pace.
const maxQueuedLogs = 4096

// logQueue formats and writes session records on a goroutine of its own.
// Formatting is deep (handlers, reflection): done on a session's goroutine
// it grows that goroutine's stack for good, and stacks are most of what an
// idle session costs. The drain goroutine exists only while records wait.
type logQueue struct {
	mu      sync.Mutex
	queue   []queuedRecord
	running bool
	idle    *sync.Cond
}

type queuedRecord struct {
	h slog.Handler
	r slog.Record
}

func (q *logQueue) push(h slog.Handler, r slog.Record) {
	q.mu.Lock()
	if len(q.queue) >= maxQueuedLogs {
		q.mu.Unlock()
		h.Handle(context.Background(), r)
		return
	}
	q.queue = append(q.queue, queuedRecord{h, r})
	if !q.running {
		q.running = true
		go q.drain()
	}
	q.mu.Unlock()
}

func (q *logQueue) drain() {
	for {
		q.mu.Lock()
		batch := q.queue
		q.queue = nil
		if len(batch) == 0 {
			q.running = false
			if q.idle != nil {
				q.idle.Broadcast()
			}
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		for _, qr := range batch {
			qr.h.Handle(context.Background(), qr.r)
		}
	}
}

// flush waits until every queued record is written.
func (q *logQueue) flush() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.idle == nil {
		q.idle = sync.NewCond(&q.mu)
	}
	for q.running {
		q.idle.Wait()
	}
}
