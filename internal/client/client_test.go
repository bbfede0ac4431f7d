package client

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestTable(t *testing.T) {
	var out bytes.Buffer
	tb := NewTable(&out, []string{"@timestamp", "host.name", "message"}, 60)
	tb.Add([]byte(`{"@timestamp":"2026-11-28T10:00:00Z","host.name":"ehr-1","message":"Failed password for alice\nfrom 10.0.0.5 port 2222 ssh2 and a long tail that will be clipped"}`))
	tb.Add([]byte(`{"@timestamp":"2026-11-28T10:00:01Z","event.original":"raw only"}`))
	tb.Flush()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "@TIMESTAMP") {
		t.Fatalf("table:\n%s", out.String())
	}
	if !strings.Contains(lines[1], "ehr-1") || !strings.Contains(lines[1], "Failed password for") || !strings.HasSuffix(lines[1], "…") {
		t.Fatalf("row 1: %q", lines[1])
	}
	if !strings.HasSuffix(lines[2], "raw only") {
		t.Fatalf("row 2 should fall back to event.original: %q", lines[2])
	}
	for _, l := range lines {
		if n := len([]rune(l)); n > 60 {
			t.Fatalf("line wider than 60: %d %q", n, l)
		}
	}
}

// TestSilentServerTimesOut is issue 10's finding: `vigil search --server
// http://127.0.0.1:5514 x` (the syslog port, which never answers HTTP) hung
// for ten minutes. The client gives up after its timeout with an error
// that names the server.
func TestSilentServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c) }() // reads, never answers
		}
	}()
	server := "http://" + ln.Addr().String()
	c := NewWithTimeout(server, "t", false, 300*time.Millisecond)
	done := make(chan error, 1)
	go func() {
		done <- c.Search(context.Background(), SearchParams{Query: "x"}, func([]byte) error { return nil })
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), server) || !strings.Contains(err.Error(), "did not answer within 300ms") {
			t.Fatalf("error %v: want one naming %s and the timeout", err, server)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the client still waits for a server that never answers")
	}
}
