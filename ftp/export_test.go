package ftp

import "time"

// SetParkAfter sets how long a logged-in session waits for its next
// command on its goroutine before it parks; zero or less parks at once,
// as the parker's own tests need. Call it before the server starts.
func SetParkAfter(srv *Server, d time.Duration) {
	if d == 0 {
		d = -1
	}
	srv.parkAfter = d
}

// HotMax is how many sessions may wait on their goroutines at once.
const HotMax = hotMax

// HotCount returns how many sessions the hot set holds.
func HotCount(srv *Server) int {
	srv.hot.mu.Lock()
	defer srv.hot.mu.Unlock()
	return len(srv.hot.m)
}
