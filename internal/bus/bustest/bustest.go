// Package bustest starts a real embedded bus for the tests of the packages
// that publish to it or consume from it, and reads back what they published.
package bustest

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/event"
)

// Open starts an embedded bus in a temporary directory (cfg.Dir is
// replaced) and creates the consumer "test" before anything is published:
// the stream keeps batches only for consumers that exist when they arrive.
// The bus closes when the test ends.
func Open(tb testing.TB, cfg bus.Config) (*bus.Bus, *bus.Consumer) {
	tb.Helper()
	ctx := context.Background()
	cfg.Dir = filepath.Join(tb.TempDir(), "bus")
	b, err := bus.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(b.Close)
	c, err := b.Consumer(ctx, "test", time.Minute)
	if err != nil {
		tb.Fatal(err)
	}
	return b, c
}

// Events fetches and acknowledges batches from c until want events have
// arrived (waiting 10 s at most), and fails the test unless exactly want
// did. Each batch must come from source, unless source is "".
func Events(tb testing.TB, c *bus.Consumer, source string, want int) []event.Event {
	tb.Helper()
	var out []event.Event
	deadline := time.Now().Add(10 * time.Second)
	for len(out) < want && time.Now().Before(deadline) {
		msgs, err := c.Fetch(context.Background(), 100, 200*time.Millisecond)
		if err != nil {
			tb.Fatal(err)
		}
		for _, m := range msgs {
			if source != "" && m.Source != source {
				tb.Fatalf("batch from source %q, want %q", m.Source, source)
			}
			if out, err = event.DecodeBatch(out, m.Data); err != nil {
				tb.Fatal(err)
			}
			if err := m.Ack(); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if len(out) != want {
		tb.Fatalf("got %d events on the bus, want %d", len(out), want)
	}
	return out
}
