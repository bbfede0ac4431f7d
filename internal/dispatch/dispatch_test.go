package dispatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/event"
)

// fake is a bus that delivers prepared batches once and records acks.
type fake struct {
	mu      sync.Mutex
	queue   []bus.Message
	acked   map[uint64]int
	fetched int
}

func (f *fake) Fetch(ctx context.Context, max int, wait time.Duration) ([]bus.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queue) == 0 {
		f.mu.Unlock()
		time.Sleep(wait)
		f.mu.Lock()
		return nil, nil
	}
	n := min(max, len(f.queue))
	out := f.queue[:n]
	f.queue = f.queue[n:]
	f.fetched += n
	return out, nil
}

func (f *fake) Pending(context.Context) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return uint64(len(f.queue)), nil
}

func (f *fake) add(seq uint64, n int) {
	var evs []event.Event
	for i := range n {
		e := event.Event{Time: time.Unix(int64(i), 0)}
		e.Add("message", fmt.Sprintf("batch %d event %d", seq, i))
		e.Add(event.FieldID, "sent-by-a-sender")
		evs = append(evs, e)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = append(f.queue, bus.NewMessage(seq, "test", event.AppendBatch(nil, evs), time.Now(), func() error {
		f.mu.Lock()
		f.acked[seq]++
		f.mu.Unlock()
		return nil
	}))
}

func (f *fake) ackCount(seq uint64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.acked[seq]
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Every consumer gets every batch, decoded once (the very same events),
// with ids that win over a sender's; the bus hears of a batch only when
// every consumer is done with it.
func TestFanOutAndAckWhenAllDone(t *testing.T) {
	src := &fake{acked: map[uint64]int{}}
	src.add(1, 3)
	src.add(2, 2)
	d := New(src, quiet, Config{})
	a, b := d.Subscribe("store-writer", 0), d.Subscribe("detector", 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	get := func(s *Subscription) []Item {
		var items []Item
		deadline := time.Now().Add(5 * time.Second)
		for len(items) < 2 && time.Now().Before(deadline) {
			got, err := s.Fetch(ctx, 10, 50*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			items = append(items, got...)
		}
		if len(items) != 2 {
			t.Fatalf("%s got %d batches", s.Name(), len(items))
		}
		return items
	}
	ia, ib := get(a), get(b)
	if &ia[0].Events[0] != &ib[0].Events[0] {
		t.Error("the consumers got separately decoded events")
	}
	if id := ia[0].Events[2].Value(event.FieldID); id != "1-2" {
		t.Errorf("event id %q, want 1-2 (not the sender's)", id)
	}
	if ia[1].Seq != 2 || len(ia[1].Events) != 2 || ia[1].Events[1].Value("message") != "batch 2 event 1" {
		t.Errorf("second batch %+v", ia[1].Batch)
	}
	if lag, _ := a.Lag(ctx); lag != 2 {
		t.Errorf("store-writer lag %d before done, want 2", lag)
	}
	ia[0].Receipt.Done()
	if src.ackCount(1) != 0 {
		t.Fatal("batch acknowledged before every consumer was done")
	}
	ib[0].Receipt.Done()
	if src.ackCount(1) != 1 {
		t.Fatalf("batch 1 acknowledged %d times after both were done, want 1", src.ackCount(1))
	}
	if lag, _ := a.Lag(ctx); lag != 1 {
		t.Errorf("store-writer lag %d, want 1", lag)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := a.Fetch(context.Background(), 10, time.Second); !errors.Is(err, ErrClosed) {
		t.Fatalf("fetch after stop: %v, want ErrClosed", err)
	}
}

// A consumer that does not keep up stops the dispatcher from fetching:
// the bus holds the rest (memory stays bounded by the queues).
func TestSlowConsumerHoldsBackFetching(t *testing.T) {
	src := &fake{acked: map[uint64]int{}}
	for seq := uint64(1); seq <= 100; seq++ {
		src.add(seq, 1)
	}
	d := New(src, quiet, Config{Fetch: 4})
	d.Subscribe("slow", 2)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	time.Sleep(200 * time.Millisecond)
	src.mu.Lock()
	fetched := src.fetched
	src.mu.Unlock()
	if fetched > 8 {
		t.Fatalf("%d batches fetched for a consumer that took none (queue 2, fetch 4)", fetched)
	}
	cancel()
	<-done
}

// The batches handed out and not yet read stay within MaxBytes of bus
// data (plus the last batch admitted), whatever the queues would hold: the dispatcher hands out more only
// when a consumer's next Fetch says it finished reading the last ones.
func TestBytesInFlightBounded(t *testing.T) {
	src := &fake{acked: map[uint64]int{}}
	for seq := uint64(1); seq <= 40; seq++ {
		src.add(seq, 50)
	}
	size := int64(len(src.queue[0].Data))
	d := New(src, quiet, Config{Fetch: 4, MaxBytes: int(3 * size)})
	sub := d.Subscribe("consumer", 100)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	got := 0
	for got < 40 {
		items, err := sub.Fetch(ctx, 100, 5*time.Second)
		if err != nil || len(items) == 0 {
			t.Fatalf("fetch after %d batches: %d items, %v", got, len(items), err)
		}
		// What this consumer holds is all that is in flight: the budget,
		// overshot by less than the last batch admitted.
		if n := d.inflight.Load(); n >= 4*size {
			t.Fatalf("%d bytes in flight, budget %d and batches of %d", n, 3*size, size)
		}
		got += len(items)
		for _, it := range items {
			it.Receipt.Done()
		}
	}
	cancel()
	<-done
}

// A batch that does not decode reaches the consumers with its error (the
// writer seals it as corrupt) and is acknowledged like any other.
func TestCorruptBatch(t *testing.T) {
	items := Items(bus.NewMessage(7, "test", []byte{9, 9, 9}, time.Now(), nil))
	if len(items) != 1 || items[0].Err == nil || items[0].Events != nil || string(items[0].Data) != "\x09\x09\x09" {
		t.Fatalf("%+v", items)
	}
	items[0].Receipt.Done()
}
