package e2e

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// TestSIGTERMDrainsInFlight sends syslog over TCP and stops vigil with
// SIGTERM right after the last byte, before its batching delay has passed:
// everything sent is stored, as a restart shows.
func TestSIGTERMDrainsInFlight(t *testing.T) {
	dataDir := t.TempDir()
	in := startVigil(t, dataDir)
	conn, err := net.Dial("tcp", in.tcp)
	if err != nil {
		t.Fatal(err)
	}
	run := fmt.Sprintf("drain%d", time.Now().UnixNano())
	const n = 5000
	for i := range n {
		msg := fmt.Sprintf("<86>1 2026-11-28T10:00:00Z ward7 app 42 - - %s message %d", run, i)
		fmt.Fprintf(conn, "%d %s", len(msg), msg)
	}
	// Half-close and wait for the server to have read everything.
	conn.(*net.TCPConn).CloseWrite()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	conn.Read(make([]byte, 1))
	conn.Close()
	in.stop()

	in = startVigil(t, dataDir)
	rows := in.waitFor(`"`+run+`"`, n, 20*time.Second)
	if len(rows) != n {
		t.Fatalf("after SIGTERM and restart %d of %d events are stored\n%s", len(rows), n, in.Logs())
	}
}
