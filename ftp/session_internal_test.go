package ftp

import (
	"net"
	"testing"
	"time"
)

// deadlineConn records the deadlines set on it.
type deadlineConn struct {
	net.Conn
	sets []string
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.sets = append(c.sets, "both "+t.Format("15:04:05.000"))
	return nil
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.sets = append(c.sets, "read "+t.Format("15:04:05.000"))
	return nil
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.sets = append(c.sets, "write "+t.Format("15:04:05.000"))
	return nil
}

// TestUnitArmDeadline checks that the control connection's deadline is
// set only when it has come nearer than one timeout, and then an eighth
// further: never less than the timeout ahead, seldom moved.
func TestUnitArmDeadline(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tests := []struct {
		name   string
		idle   time.Duration
		closed bool
		calls  []int // milliseconds after t0
		want   []string
	}{
		{
			name:  "idle timeout: one deadline for both directions, moved once an eighth has passed",
			idle:  8 * time.Second,
			calls: []int{0, 500, 999, 1000, 1001, 2001, 2002},
			want:  []string{"both 12:00:09.000", "both 12:00:10.001", "both 12:00:11.002"},
		},
		{
			name:  "no idle timeout: writes still get replyTimeout",
			idle:  -1,
			calls: []int{0, 1000, 7600},
			want:  []string{"write 12:01:07.500", "write 12:01:15.100"},
		},
		{
			name:  "a past deadline is moved at once",
			idle:  8 * time.Second,
			calls: []int{0, 20000},
			want:  []string{"both 12:00:09.000", "both 12:00:29.000"},
		},
		{
			name:   "a closed session keeps the deadline goodbye set",
			idle:   8 * time.Second,
			closed: true,
			calls:  []int{0, 5000},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &deadlineConn{}
			s := &session{srv: &Server{IdleTimeout: tt.idle}, conn: c, closed: tt.closed}
			for _, ms := range tt.calls {
				s.armDeadline(at(ms))
				if now := at(ms); !s.closed && s.deadline.Sub(now) < max(tt.idle, 0) {
					t.Errorf("at +%d ms the deadline is %v ahead, less than the %v timeout", ms, s.deadline.Sub(now), tt.idle)
				}
			}
			if len(c.sets) != len(tt.want) {
				t.Fatalf("deadlines set: %q, want %q", c.sets, tt.want)
			}
			for i := range tt.want {
				if c.sets[i] != tt.want[i] {
					t.Fatalf("deadlines set: %q, want %q", c.sets, tt.want)
				}
			}
		})
	}
}
