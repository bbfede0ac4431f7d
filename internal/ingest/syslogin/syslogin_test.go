package syslogin

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigil-siem/vigil/internal/certs"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/fdlimit"
	"github.com/vigil-siem/vigil/internal/formats"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/logbuf"
	"github.com/vigil-siem/vigil/internal/parse/syslog"
)

// sink collects events.
type sink chan event.Event

func (s sink) Add(ctx context.Context, e event.Event) error {
	select {
	case s <- e:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s sink) TryAdd(e event.Event) bool {
	select {
	case s <- e:
		return true
	default:
		return false
	}
}

func start(t *testing.T, mod func(*Config)) (*Server, sink, *ingest.Metrics, *logbuf.Buffer) {
	t.Helper()
	cert, err := certs.EnsureSelfSigned(t.TempDir(), "syslog", []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	out := make(sink, 100)
	logs := &logbuf.Buffer{}
	m := ingest.NewMetrics(prometheus.NewRegistry())
	sp := &syslog.Parser{Location: time.UTC, MaxSize: 64 << 10}
	p := formats.RecordParser(func(rec []byte, e *event.Event) error { return sp.Parse(rec, e) })
	cfg := Config{TCPAddr: "127.0.0.1:0", TLSAddr: "127.0.0.1:0", TLS: &tls.Config{Certificates: []tls.Certificate{cert.Cert}},
		Parse: map[string]formats.RecordParser{SourceTCP: p, SourceTLS: p, SourceUDP: p}, MaxMessageBytes: 64 << 10,
		Sinks: map[string]Sink{SourceTCP: out, SourceTLS: out}, Metrics: m, Log: slog.New(slog.NewTextHandler(logs, nil))}
	if mod != nil {
		mod(&cfg)
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s, out, m, logs
}

func expectLine(t *testing.T, out sink, want string) {
	t.Helper()
	select {
	case e := <-out:
		if !strings.Contains(e.Value("message"), want) {
			t.Fatalf("got %q, want %q", e.Value("message"), want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%q not received", want)
	}
}

// TestSilentConnectionsDoNotLockOut is issue 10's finding: 4,096 silent
// connections from one host locked every TCP and TLS syslog sender out.
// Now one address gets its share (1,024), another host's rsyslog still
// gets in over TCP and TLS, and the refusals are counted and logged a few
// times, not once each.
func TestSilentConnectionsDoNotLockOut(t *testing.T) {
	lim, err := fdlimit.Raise()
	if err != nil || lim.Soft < 10_000 {
		t.Skipf("this test opens 4,096 connections (8,192 descriptors); RLIMIT_NOFILE is %d (%v)", lim.Soft, err)
	}
	s, out, m, logs := start(t, nil)
	_, tcp, tlsAddr := s.Addrs()
	var silent []net.Conn
	defer func() {
		for _, c := range silent {
			c.Close()
		}
	}()
	for range 4096 {
		c, err := net.Dial("tcp", tcp.String())
		if err != nil {
			t.Fatal(err)
		}
		silent = append(silent, c)
	}
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(m.Refused.WithLabelValues("syslog", "per_address_limit")) < 4096-1024 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", tcp.String())
	if err != nil {
		t.Skipf("cannot dial from 127.0.0.2: %v", err)
	}
	defer c.Close()
	fmt.Fprint(c, "<13>1 2026-12-07T10:00:00Z ward7 app - - - over tcp\n")
	expectLine(t, out, "over tcp")
	tc, err := tls.DialWithDialer(&d, "tcp", tlsAddr.String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS sender locked out: %v", err)
	}
	defer tc.Close()
	fmt.Fprint(tc, "<13>1 2026-12-07T10:00:00Z ward7 app - - - over tls\n")
	expectLine(t, out, "over tls")
	if got := testutil.ToFloat64(m.Refused.WithLabelValues("syslog", "per_address_limit")); got != 4096-1024 {
		t.Errorf("refused %v, want %d", got, 4096-1024)
	}
	if n := strings.Count(logs.String(), "connection refused"); n > 3 {
		t.Errorf("%d refusal warnings for %d refusals: not throttled", n, 4096-1024)
	}
}

// TestIdleConnectionsClosed: a connection that sends nothing is closed
// after the idle timeout, one with a verified client certificate after
// the longer one.
func TestIdleConnectionsClosed(t *testing.T) {
	s, _, _, _ := start(t, func(c *Config) { c.IdleTimeout = 300 * time.Millisecond })
	_, tcp, _ := s.Addrs()
	c, err := net.Dial("tcp", tcp.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read data from the server")
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 5*time.Second {
		t.Fatalf("idle connection closed after %v, want about 300ms", d)
	}
}

// reusingSink hands every event's field slice back for the next one, as
// ingest.Batcher does once a batch is published.
type reusingSink struct{ last []event.Field }

func (s *reusingSink) Add(_ context.Context, e event.Event) error { s.last = e.Fields; return nil }
func (s *reusingSink) TryAdd(e event.Event) bool                  { s.last = e.Fields; return true }
func (s *reusingSink) Fields(n int) []event.Field {
	if f := s.last; f != nil {
		s.last = nil
		clear(f[:cap(f)])
		return f[:0]
	}
	return make([]event.Field, 0, n)
}

// TestHandleAllocatesOnlyWhatTheParserKeeps: a message read from a
// connection costs the allocations of its parsed values and nothing for
// the event, its field slice (reused from the sink), the parsing machine
// or the framing check.
func TestHandleAllocatesOnlyWhatTheParserKeeps(t *testing.T) {
	sp := &syslog.Parser{Location: time.UTC}
	msg := []byte(`<38>1 2026-12-07T10:00:00.123Z host1 sshd 4242 - - Failed password for invalid user admin from 10.1.2.3 port 51234 ssh2`)
	out := &reusingSink{}
	s := &Server{cfg: Config{Parse: map[string]formats.RecordParser{SourceTCP: func(rec []byte, e *event.Event) error { return sp.Parse(rec, e) }},
		Sinks: map[string]Sink{SourceTCP: out}, Now: time.Now},
		metrics: map[string]*ingest.SourceMetrics{SourceTCP: ingest.NewMetrics(prometheus.NewRegistry()).For(SourceTCP)}}
	var e event.Event
	handle := func() { s.handle(context.Background(), SourceTCP, msg, nil, "10.0.0.1:514", nil, &e) }
	handle()
	if got := (event.Event{Fields: out.last}); got.Value("host.name") != "host1" || got.Value("log.source.address") != "10.0.0.1:514" {
		t.Fatalf("handed on %v", out.last)
	}
	// What the parser allocates for the message (its values), measured
	// alone on a reused event.
	alone := event.Event{Fields: make([]event.Field, 0, syslog.FieldsHint)}
	parser := testing.AllocsPerRun(200, func() { alone.Fields = alone.Fields[:0]; _ = sp.Parse(msg, &alone) })
	got := testing.AllocsPerRun(200, handle)
	t.Logf("%.1f allocations per message, the parser alone %.1f", got, parser)
	if got > parser {
		t.Fatalf("%.1f allocations per message, want at most the parser's own %.1f", got, parser)
	}
}
