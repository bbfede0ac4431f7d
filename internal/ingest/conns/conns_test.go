package conns

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/logbuf"
)

// TestLimitAndStop: a connection beyond the limit is refused and logged;
// Stop lets an open connection finish the line it is reading, then waits
// for its handler to return.
func TestLimitAndStop(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs logbuf.Buffer
	s := New("test", 1, slog.New(slog.NewTextHandler(&logs, nil)))
	lines := make(chan string, 4)
	served := make(chan struct{})
	s.Accept(ln, func(c net.Conn) {
		close(served)
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if line != "" {
				lines <- line
			}
			if err != nil {
				return
			}
		}
	}, "listener", "one")

	first, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	<-served
	second, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	_ = second.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := second.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("connection beyond the limit: read err = %v, want EOF (closed by the server)", err)
	}
	if l := logs.String(); !strings.Contains(l, "test connection refused: too many connections") || !strings.Contains(l, "listener=one") {
		t.Fatalf("refusal not logged with the listener's attributes:\n%s", l)
	}

	// A line half written when Stop begins is still read.
	if _, err := first.Write([]byte("hello ")); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() { s.Stop(500*time.Millisecond, ln); close(stopped) }()
	time.Sleep(100 * time.Millisecond)
	if !s.Closing() {
		t.Fatal("Closing() is false during Stop")
	}
	if _, err := first.Write([]byte("world\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case l := <-lines:
		if l != "hello world\n" {
			t.Fatalf("line %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the line in flight was not read during Stop")
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return after the grace period")
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Fatal("the listener still accepts after Stop")
	}
}
