package conns

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
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
	s := New(Config{Name: "test", Max: 1, Log: slog.New(slog.NewTextHandler(&logs, nil))})
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
	if l := logs.String(); !strings.Contains(l, "test connection refused: connection_limit") || !strings.Contains(l, "listener=one") {
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

// TestPerAddressLimitAndThrottledLogs is issue 10's lock-out: one host
// opening hundreds of silent connections took every slot. With a limit
// per address it gets its share and no more, another host still gets in,
// every refusal is counted, and the warnings are not one per refusal.
func TestPerAddressLimitAndThrottledLogs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs logbuf.Buffer
	var mu sync.Mutex
	refused := map[string]int{}
	s := New(Config{Name: "test", Max: 40, PerAddr: 8, Log: slog.New(slog.NewTextHandler(&logs, nil)),
		Refused: func(r string) { mu.Lock(); refused[r]++; mu.Unlock() }})
	s.Accept(ln, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	defer s.Stop(100*time.Millisecond, ln)
	// 200 silent connections from 127.0.0.1.
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for range 200 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := refused[ReasonPerAddr]
		mu.Unlock()
		if n == 192 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := s.Open(); got != 8 {
		t.Fatalf("%d connections served from one address, want 8", got)
	}
	mu.Lock()
	if refused[ReasonPerAddr] != 192 || refused[ReasonLimit] != 0 {
		t.Fatalf("refusals %v, want 192 per address", refused)
	}
	mu.Unlock()
	// Another address (127.0.0.2 is loopback on Linux) still gets in.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 2 * time.Second}
	if c, err := d.Dial("tcp", ln.Addr().String()); err == nil {
		defer c.Close()
		deadline := time.Now().Add(5 * time.Second)
		for s.Open() != 9 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if s.Open() != 9 {
			t.Fatalf("a second address was not served: %d open", s.Open())
		}
	} else {
		t.Logf("127.0.0.2 not usable here (%v); second address not checked", err)
	}
	if n := strings.Count(logs.String(), "connection refused"); n < 1 || n > 3 {
		t.Fatalf("%d refusal warnings for 192 refusals, want 1 to 3 (throttled):\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "suppressed_since_last") && strings.Count(logs.String(), "connection refused") > 1 {
		t.Fatalf("later warnings do not say how many were suppressed:\n%s", logs.String())
	}
}

// TestExemptAddressesBypassPerAddr: a reverse proxy speaks for many
// clients, so the limit per address does not apply to it; the total does.
func TestExemptAddressesBypassPerAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Name: "test", Max: 6, PerAddr: 2, Exempt: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	l := s.Listener(ln, nil)
	defer l.Close()
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for range 7 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
	}
	for i := range 6 {
		select {
		case c := <-accepted:
			defer c.Close()
		case <-time.After(5 * time.Second):
			t.Fatalf("%d connections from an exempt address accepted, want 6 (the total)", i)
		}
	}
	// The seventh is beyond the total: refused (closed by the server).
	_ = open[6].SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := open[6].Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("connection beyond the total: read err = %v, want EOF", err)
	}
	if n := s.Open(); n != 6 {
		t.Fatalf("%d open, want 6", n)
	}
}
