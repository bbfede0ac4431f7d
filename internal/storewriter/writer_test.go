package storewriter

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigil-siem/vigil/internal/atomicfile"
	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/dispatch"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/store"
)

type rig struct {
	observed atomic.Int64 // events the writer showed source health
	dir      string
	bus      *bus.Bus
	store    *store.Embedded
	consumer *bus.Consumer
}

func newRig(t *testing.T) *rig { return newRigMax(t, 0) }

// newRigMax is newRig with a bus of maxBytes (0: the bus's default).
func newRigMax(t *testing.T, maxBytes int64) *rig {
	t.Helper()
	dir := t.TempDir()
	b, err := bus.Open(context.Background(), bus.Config{Dir: filepath.Join(dir, "bus"), MaxBytes: maxBytes}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	s, err := store.Open(filepath.Join(dir, "store"), store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	// The consumer exists before anything is published: the stream keeps
	// batches only for consumers interested at the time.
	c, err := b.Consumer(context.Background(), "store", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{dir: dir, bus: b, store: s, consumer: c}
}

func (r *rig) publish(t *testing.T, n int, tag string) uint64 {
	t.Helper()
	var evs []event.Event
	for i := range n {
		e := event.Event{Time: time.Now().Add(-time.Minute)}
		e.Add("message", fmt.Sprintf("%s event %d", tag, i))
		e.Add("test.tag", tag)
		evs = append(evs, e)
	}
	seq, err := r.bus.Publish(context.Background(), "test", event.AppendBatch(nil, evs))
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// run runs a writer on src (through a dispatcher, as the server does)
// until the store holds want events or a deadline passes.
func (r *rig) run(t *testing.T, want int) (*Writer, *Metrics) {
	return r.runFrom(t, r.consumer, want)
}

func (r *rig) runFrom(t *testing.T, src dispatch.Source, want int) (*Writer, *Metrics) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := dispatch.New(src, quiet, dispatch.Config{})
	m := NewMetrics(prometheus.NewRegistry())
	w, err := New(Config{Source: d.Subscribe("store-writer", 0), Store: r.store, StatePath: filepath.Join(r.dir, "state.json"),
		FlushEvery: 50 * time.Millisecond, Log: quiet, Metrics: m, Observe: func(e *event.Event) {
			if e.Value(event.FieldID) != "" {
				r.observed.Add(1)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	dispatched := make(chan error)
	go func() { dispatched <- d.Run(ctx) }()
	done := make(chan error)
	go func() { done <- w.Run(context.Background()) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && len(r.ids(t)) < want {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let a wrong extra write show up
	cancel()                           // the writer finishes when the dispatcher closes its queue
	if err := <-dispatched; err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return w, m
}

func (r *rig) ids(t *testing.T) []string {
	t.Helper()
	var ids []string
	err := r.store.Search(context.Background(), store.Request{Query: "*", Start: time.Now().Add(-time.Hour), End: time.Now().Add(time.Hour)},
		func(row []event.Field) error {
			for _, f := range row {
				if f.Name == event.FieldID {
					ids = append(ids, strings.Clone(f.Value)) // values alias the store's buffers
				}
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(ids)
	return ids
}

func TestWritesEveryEventOnceWithIDs(t *testing.T) {
	r := newRig(t)
	r.publish(t, 2, "a")
	r.publish(t, 3, "b")
	_, m := r.run(t, 5)
	want := []string{"1-0", "1-1", "2-0", "2-1", "2-2"}
	if got := r.ids(t); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ids %v, want %v", got, want)
	}
	st, err := LoadState(filepath.Join(r.dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Stored != 2 || st.Reserved < 2 {
		t.Fatalf("checkpoint %+v, want stored=2", st)
	}
	if got := testutil.ToFloat64(m.Stored.WithLabelValues("test")); got != 5 {
		t.Fatalf("stored metric %v, want 5", got)
	}
	// Source health sees every stored event, with its id.
	if got := r.observed.Load(); got != 5 {
		t.Fatalf("observed %d events, want 5", got)
	}
}

// A previous run stored part of batch 2 and crashed before its checkpoint:
// the writer adds only the missing events.
func TestRecoversPartlyStoredBatch(t *testing.T) {
	r := newRig(t)
	r.publish(t, 2, "a")
	r.publish(t, 4, "b")
	r.publish(t, 1, "c")
	// Batch 1 is in the checkpoint; batch 2's first two events reached the
	// store; Reserved says batches up to 10 may have been handed over.
	if err := atomicfile.Write(filepath.Join(r.dir, "state.json"), []byte(`{"stored":1,"reserved":10}`)); err != nil {
		t.Fatal(err)
	}
	var partial []event.Event
	for i := range 2 {
		e := event.Event{Time: time.Now().Add(-time.Minute)}
		e.Add("message", fmt.Sprintf("b event %d", i))
		e.Add(event.FieldID, fmt.Sprintf("2-%d", i))
		partial = append(partial, e)
	}
	r.store.Add(partial)
	r.store.Flush()

	_, m := r.run(t, 5)
	want := []string{"2-0", "2-1", "2-2", "2-3", "3-0"} // batch 1 was "stored" by the checkpoint
	if got := r.ids(t); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ids %v, want %v", got, want)
	}
	if got := testutil.ToFloat64(m.Duplicates); got != 2 {
		t.Fatalf("duplicates skipped %v, want 2", got)
	}
}

// scripted is a Source delivering prepared fetch results in order, as the
// bus does when a fetch expires with messages in flight (they come again
// later, out of order) or an acknowledgement was lost (twice).
type scripted struct {
	mu     sync.Mutex
	fetchs [][]bus.Message
	acked  map[uint64]int
}

func (s *scripted) Pending(context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return uint64(len(s.fetchs)), nil
}

func (s *scripted) Fetch(ctx context.Context, max int, wait time.Duration) ([]bus.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fetchs) == 0 {
		s.mu.Unlock()
		time.Sleep(wait)
		s.mu.Lock()
		return nil, nil
	}
	f := s.fetchs[0]
	s.fetchs = s.fetchs[1:]
	return f, nil
}

func TestOutOfOrderAndDuplicateDeliveries(t *testing.T) {
	r := newRig(t)
	src := &scripted{acked: map[uint64]int{}}
	msg := func(seq uint64) bus.Message {
		var evs []event.Event
		for i := range 3 {
			e := event.Event{Time: time.Now().Add(-time.Minute)}
			e.Add("message", fmt.Sprintf("batch %d event %d", seq, i))
			evs = append(evs, e)
		}
		return bus.NewMessage(seq, "test", event.AppendBatch(nil, evs), time.Now(), func() error {
			src.mu.Lock()
			src.acked[seq]++
			src.mu.Unlock()
			return nil
		})
	}
	src.fetchs = [][]bus.Message{{msg(1), msg(3)}, {msg(2), msg(3)}, {msg(1), msg(4)}}
	r.runFrom(t, src, 12)
	want := []string{"1-0", "1-1", "1-2", "2-0", "2-1", "2-2", "3-0", "3-1", "3-2", "4-0", "4-1", "4-2"}
	if got := r.ids(t); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ids %v, want %v", got, want)
	}
	st, _ := LoadState(filepath.Join(r.dir, "state.json"))
	if st.Stored != 4 {
		t.Fatalf("checkpoint %+v, want stored=4", st)
	}
	for seq := uint64(1); seq <= 4; seq++ {
		if src.acked[seq] == 0 {
			t.Errorf("batch %d never acknowledged", seq)
		}
	}
}

// A bus too small for what the writer holds until its flush: once it is
// full, the writer flushes and acknowledges at once and the senders go on
// as soon as that frees space. Before, the writer held its batches until
// FlushEvery (here an hour) and the senders stopped; the batcher's only
// wake-up here is the bus's signal of an acknowledgement.
func TestFullBusFlushesAndResumesSenders(t *testing.T) {
	r := newRigMax(t, 256<<10)
	dir, b, s, c := r.dir, r.bus, r.store, r.consumer
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := dispatch.New(c, quiet, dispatch.Config{})
	m := NewMetrics(prometheus.NewRegistry())
	w, err := New(Config{Source: d.Subscribe("store-writer", 0), Store: s, StatePath: filepath.Join(dir, "state.json"),
		FlushEvery: time.Hour, BusFull: b.Full, Log: quiet, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait() // before the store closes
	defer cancel()
	wg.Go(func() { _ = d.Run(ctx) })
	wg.Go(func() { _ = w.Run(context.Background()) }) // ends when the dispatcher closes its queue
	bt := ingest.NewBatcher(ingest.BatcherConfig{Source: "test", MaxBytes: 16 << 10, MaxDelay: 10 * time.Millisecond, FullRetry: time.Hour},
		b, ingest.NewMetrics(prometheus.NewRegistry()), quiet)
	wg.Go(func() { bt.Run(ctx) })
	defer bt.Close()

	// ~2 MiB of events: eight times what the bus holds.
	const n = 10_000
	msg := strings.Repeat("x", 160)
	for i := range n {
		e := event.Event{Time: time.Now()}
		e.Add("message", fmt.Sprintf("%s %d", msg, i))
		if err := bt.Add(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// Every event was taken, so the writer acknowledged all but the bus's
	// worth; it stores what it was handed.
	stored := func() int { return int(testutil.ToFloat64(m.Stored.WithLabelValues("test"))) }
	deadline := time.Now().Add(time.Minute)
	for stored() < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := stored(); got < n {
		t.Fatalf("stored %d of %d events in a minute through a full bus (refused %d times)", got, n, b.RefusedFull())
	}
	if b.RefusedFull() == 0 {
		t.Fatal("the bus never refused a batch: the test did not fill it")
	}
}
