package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/bus/bustest"
	"github.com/vigil-siem/vigil/internal/event"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openBus(t *testing.T, cfg bus.Config) (*bus.Bus, *bus.Consumer) {
	t.Helper()
	return bustest.Open(t, cfg)
}

// drain returns the events of every batch on the bus and the batch count.
func drain(t *testing.T, c *bus.Consumer, want int) ([]event.Event, int) {
	t.Helper()
	var evs []event.Event
	batches := 0
	deadline := time.Now().Add(5 * time.Second)
	for len(evs) < want && time.Now().Before(deadline) {
		msgs, err := c.Fetch(context.Background(), 100, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			evs, err = event.DecodeBatch(evs, m.Data)
			if err != nil {
				t.Fatal(err)
			}
			batches++
		}
	}
	return evs, batches
}

func mk(n int, size int) []event.Event {
	var evs []event.Event
	for i := range n {
		e := event.Event{Time: time.Unix(int64(i), 0)}
		e.Add("message", fmt.Sprintf("%d %s", i, strings.Repeat("x", size)))
		evs = append(evs, e)
	}
	return evs
}

func TestPublishAllCutsBatchesToTheBusLimit(t *testing.T) {
	b, c := openBus(t, bus.Config{MaxBatchBytes: 64 << 10})
	evs := mk(100, 2000) // ~200 KB: needs at least 4 batches of 64 KiB
	n, err := PublishAll(context.Background(), b, "http", evs)
	if err != nil || n != 100 {
		t.Fatalf("published %d, %v", n, err)
	}
	got, batches := drain(t, c, 100)
	if len(got) != 100 || batches < 4 || batches > 5 {
		t.Fatalf("got %d events in %d batches, want 100 in 4-5", len(got), batches)
	}
	for i := range got {
		if got[i].Value("message") != evs[i].Value("message") {
			t.Fatalf("event %d out of order or changed", i)
		}
	}
	if _, err := PublishAll(context.Background(), b, "http", mk(1, 70<<10)); err == nil {
		t.Fatal("event larger than a batch accepted")
	}
}

func TestBatcherFlushesBySizeDelayAndClose(t *testing.T) {
	b, c := openBus(t, bus.Config{})
	m := NewMetrics(prometheus.NewRegistry())
	bt := NewBatcher(BatcherConfig{Source: "syslog-tcp", MaxEvents: 10, MaxDelay: 50 * time.Millisecond}, b, m, quiet)
	done := make(chan struct{})
	go func() { bt.Run(context.Background()); close(done) }()
	for _, e := range mk(25, 10) {
		if err := bt.Add(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	got, batches := drain(t, c, 25) // 10 + 10 by count, 5 by delay
	if len(got) != 25 || batches != 3 {
		t.Fatalf("got %d events in %d batches, want 25 in 3", len(got), batches)
	}
	for _, e := range mk(3, 10) {
		bt.TryAdd(e)
	}
	bt.Close()
	<-done
	if got, _ := drain(t, c, 3); len(got) != 3 {
		t.Fatalf("close drained %d events, want 3", len(got))
	}
	if bt.TryAdd(mk(1, 1)[0]) || testutil.ToFloat64(m.Dropped.WithLabelValues("syslog-tcp")) != 1 {
		t.Fatal("TryAdd after Close not refused and counted")
	}
}

// TestBatcherReusesPublishedFields: once a batch is on the bus, its
// events' field slices come back, emptied, from Fields, so a listener
// building events on them allocates none per message; what went on the
// bus is unchanged by the reuse.
func TestBatcherReusesPublishedFields(t *testing.T) {
	b, c := openBus(t, bus.Config{})
	bt := NewBatcher(BatcherConfig{Source: "syslog-tcp", MaxDelay: 20 * time.Millisecond}, b, NewMetrics(prometheus.NewRegistry()), quiet)
	done := make(chan struct{})
	go func() { bt.Run(context.Background()); close(done) }()
	sent := map[*event.Field]bool{}
	for i := range 4 {
		f := bt.Fields(8)
		if len(f) != 0 || cap(f) != 8 {
			t.Fatalf("fresh Fields: len %d cap %d, want 0 and 8", len(f), cap(f))
		}
		e := event.Event{Time: time.Unix(int64(i), 0), Fields: f}
		e.Add("message", fmt.Sprint("event ", i))
		sent[&e.Fields[:1][0]] = true
		if err := bt.Add(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := drain(t, c, 4)
	if len(got) != 4 || got[3].Value("message") != "event 3" {
		t.Fatalf("bus holds %d events, want 4 ending with event 3", len(got))
	}
	// The batcher takes the slices back right after the bus stored them.
	for deadline := time.Now().Add(5 * time.Second); len(bt.free) < 4 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	for range 4 {
		f := bt.Fields(8)
		if !sent[&f[:1][0]] {
			t.Fatal("Fields returned a new slice, want one of the published events'")
		}
		if len(f) != 0 || f[:1][0] != (event.Field{}) {
			t.Fatalf("reused slice not emptied: %v", f[:1])
		}
	}
	bt.Close()
	<-done
}

func TestBatcherQueueFullDropsDatagrams(t *testing.T) {
	b, _ := openBus(t, bus.Config{})
	m := NewMetrics(prometheus.NewRegistry())
	bt := NewBatcher(BatcherConfig{Source: "syslog-udp", QueueLen: 5}, b, m, quiet) // not running: the queue fills
	accepted := 0
	for _, e := range mk(8, 1) {
		if bt.TryAdd(e) {
			accepted++
		}
	}
	if accepted != 5 || testutil.ToFloat64(m.Dropped.WithLabelValues("syslog-udp")) != 3 {
		t.Fatalf("accepted %d, dropped %v", accepted, testutil.ToFloat64(m.Dropped.WithLabelValues("syslog-udp")))
	}
}

// TestStampClampsFutureTimes: every source stamps its events through
// Stamp, which keeps a sender's clock from dating an event after its
// arrival (a 2030 time, or a clock three hours ahead), keeping the claim.
func TestStampClampsFutureTimes(t *testing.T) {
	arrived := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		at   time.Time
		want time.Time
		skew string
	}{
		{time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), arrived, "96811200"},
		{arrived.Add(3 * time.Hour), arrived, "10800"},
		{arrived.Add(time.Minute), arrived.Add(time.Minute), ""},
		{arrived.AddDate(0, -1, 0), arrived.AddDate(0, -1, 0), ""},
	} {
		e := event.Event{Time: c.at}
		Stamp(&e, arrived)
		if !e.Time.Equal(c.want) || e.Value(event.FieldTimeSkew) != c.skew || !e.Arrived.Equal(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)) {
			t.Errorf("Stamp of %v: time %v, skew %q, arrived %v; want %v, skew %q", c.at, e.Time, e.Value(event.FieldTimeSkew), e.Arrived, c.want, c.skew)
		}
		if c.skew != "" && e.Value(event.FieldSenderTime) != c.at.Format(time.RFC3339Nano) {
			t.Errorf("original time %q, want %v", e.Value(event.FieldSenderTime), c.at)
		}
	}
}

func TestHealth(t *testing.T) {
	h := NewHealth()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	h.now = func() time.Time { return now }
	if h.Err() != nil {
		t.Fatal("unhealthy before anything happened")
	}
	h.Record(bus.ErrFull)
	if err := h.Err(); err == nil || !strings.Contains(err.Error(), "full") {
		t.Fatalf("after a failure: %v", err)
	}
	h.Record(context.Canceled)
	now = now.Add(time.Second)
	h.Record(nil)
	if err := h.Err(); err != nil {
		t.Fatalf("after a success: %v", err)
	}
	h.Record(bus.ErrFull)
	now = now.Add(2 * time.Minute)
	if err := h.Err(); err != nil {
		t.Fatalf("a failure long ago with nothing since: %v", err)
	}
}

// TestPendingMatchesPublishAll: Pending stores what PublishAll stores, in
// batches within the bus limit, and stops at an event too large.
func TestPendingMatchesPublishAll(t *testing.T) {
	b, c := openBus(t, bus.Config{MaxBatchBytes: 64 << 10})
	p := NewPending(context.Background(), b)
	evs := mk(300, 1000)
	for _, e := range evs {
		p.Add(e)
	}
	if p.Len() != 300 || p.Bytes() < 300_000 {
		t.Fatalf("len %d bytes %d", p.Len(), p.Bytes())
	}
	n, err := p.Publish(context.Background(), b, "test")
	if err != nil || n != 300 {
		t.Fatalf("published %d: %v", n, err)
	}
	got, batches := drain(t, c, 300)
	if len(got) != 300 || batches < 5 || got[299].Value("message") != evs[299].Value("message") {
		t.Fatalf("%d events in %d batches", len(got), batches)
	}
	p = NewPending(context.Background(), b)
	for _, e := range append(mk(3, 10), mk(1, 200<<10)...) {
		p.Add(e)
	}
	p.Add(mk(1, 10)[0])
	if n, err := p.Publish(context.Background(), b, "test"); n != 3 || err == nil || !strings.Contains(err.Error(), "exceeds the bus batch limit") {
		t.Fatalf("with an oversized event: %d, %v", n, err)
	}
}
