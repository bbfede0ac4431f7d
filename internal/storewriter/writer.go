// Package storewriter moves event batches from the bus into the log store
// exactly once, and feeds source health with every event it stores.
//
// The bus gives at-least-once delivery; the store has no transactions and
// writes its in-memory data to files on its own only every few seconds
// (and a crash loses what it had not written). The writer makes the pair behave
// exactly-once with a small checkpoint file beside the store:
//
//   - Stored: every batch with a sequence up to it is durably in the store.
//     Written after each store flush, before the bus acknowledgements.
//   - Reserved: no batch above it was ever handed to the store. Raised (and
//     written) before handing the store a batch beyond it.
//
// After a crash, batches up to Stored are acknowledged without storing
// them again; batches between Stored and Reserved may be partly in the
// store, so their events are looked up by id (vigil.id = "<seq>-<index>")
// and only the missing ones are added; batches above Reserved are new.
//
// Deliveries may come out of order or twice; bus.Progress tells which
// batches were already handed to the store, and each batch is acknowledged
// only after a flush that made it durable.
package storewriter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-siem/vigil/internal/atomicfile"
	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/dispatch"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/store"
)

// Source is where batches come from, decoded (a dispatch subscription).
// Fetch returns dispatch.ErrClosed when no more will come.
type Source interface {
	Fetch(ctx context.Context, max int, wait time.Duration) ([]dispatch.Item, error)
}

// Config configures a Writer.
type Config struct {
	Source Source
	Store  store.Store
	// StatePath is the checkpoint file.
	StatePath string
	// FlushEvery bounds how long stored events wait before being made
	// durable and acknowledged (default 3s; events are searchable within a
	// second regardless). A flush writes the store's in-memory parts to
	// files and blocks the writer meanwhile, so fewer are cheaper.
	FlushEvery time.Duration
	// FlushEvents flushes early once this many events wait (default 500k).
	FlushEvents int
	// BusFull, when set, says the bus refuses batches for lack of space
	// (bus.Bus.Full): the writer then flushes and acknowledges as soon as
	// it has stored every batch delivered (or, when it is the one behind,
	// once the last flush's cost is a fifth of the time since), instead of
	// holding the senders until FlushEvery.
	BusFull func() bool
	// Workers decode and add batches in parallel (default GOMAXPROCS): the
	// store's cost of adding rows is CPU work that scales with cores.
	Workers int
	// Sealer, when set, seals every batch for tamper evidence
	// (integrity.Ledger).
	Sealer Sealer
	// Observe, when set, sees every event the writer stores (source
	// health): it is called from several workers at once.
	Observe func(e *event.Event)
	Log     *slog.Logger
	Metrics *Metrics
}

// Sealer records every batch the writer stores. Seal and SealCorrupt are
// called from the workers, before the batch's events are added (with all
// of them, ids set, including those a previous run stored); Commit is
// called after the store made batches up to seq durable and before the
// checkpoint moves past them, so a crash leaves each batch sealed or
// delivered again.
type Sealer interface {
	Seal(seq uint64, source string, events []event.Event)
	SealCorrupt(seq uint64, source string, data []byte)
	Commit(ctx context.Context, seq uint64) error
}

// Metrics are the writer's Prometheus metrics.
type Metrics struct {
	Stored      *prometheus.CounterVec
	Batches     prometheus.Counter
	Duplicates  prometheus.Counter
	Corrupt     prometheus.Counter
	FlushTime   prometheus.Histogram
	StoredSeq   prometheus.Gauge
	WriteErrors prometheus.Counter
}

// NewMetrics registers the writer's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Stored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_events_stored_total", Help: "Events written to the log store, by source.",
		}, []string{"source"}),
		Batches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_store_batches_total", Help: "Bus batches written to the log store.",
		}),
		Duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_store_duplicates_skipped_total", Help: "Redelivered events found already stored and not written again.",
		}),
		Corrupt: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_store_corrupt_batches_total", Help: "Bus batches that could not be decoded.",
		}),
		FlushTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vigil_store_flush_seconds", Help: "Time to make stored events durable.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		StoredSeq: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vigil_store_checkpoint_sequence", Help: "Bus sequence up to which batches are durably stored.",
		}),
		WriteErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_store_checkpoint_errors_total", Help: "Failures writing the store checkpoint (the writer retries).",
		}),
	}
	reg.MustRegister(m.Stored, m.Batches, m.Duplicates, m.Corrupt, m.FlushTime, m.StoredSeq, m.WriteErrors)
	return m
}

// State is the checkpoint.
type State struct {
	Stored   uint64 `json:"stored"`
	Reserved uint64 `json:"reserved"`
}

// reserveAhead is how far Reserved is raised at a time, so the checkpoint
// is written about once per this many batches rather than per batch.
const reserveAhead = 4096

// Writer is the store writer.
type Writer struct {
	cfg   Config
	state State
	// recoverFrom..recoverTo is the range of batches that may be partly
	// stored by a previous run.
	recoverFrom, recoverTo uint64
	// added tracks the batches handed to the store (by this run, and up
	// to Stored by earlier ones).
	added *bus.Progress
	// quiesce asks Run to make everything durable and run a function
	// while nothing is added (a consistent snapshot).
	quiesce chan quiesceReq
}

type quiesceReq struct {
	fn   func(stored uint64) error
	done chan error
}

// New loads the checkpoint and returns a writer.
func New(cfg Config) (*Writer, error) {
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = 3 * time.Second
	}
	if cfg.FlushEvents <= 0 {
		cfg.FlushEvents = 500_000
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	st, err := LoadState(cfg.StatePath)
	if err != nil {
		return nil, err
	}
	w := &Writer{cfg: cfg, state: st, added: bus.NewProgress(st.Stored), quiesce: make(chan quiesceReq)}
	if st.Reserved > st.Stored {
		w.recoverFrom, w.recoverTo = st.Stored+1, st.Reserved
	}
	cfg.Metrics.StoredSeq.Set(float64(st.Stored))
	return w, nil
}

// LoadState reads a checkpoint; a missing file is the zero state.
func LoadState(path string) (State, error) {
	var st State
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read store checkpoint: %w", err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, fmt.Errorf("store checkpoint %s is corrupt: %w", path, err)
	}
	if st.Reserved < st.Stored {
		st.Reserved = st.Stored
	}
	return st, nil
}

func (w *Writer) saveState() error {
	data, _ := json.Marshal(w.state)
	if err := atomicfile.Write(w.cfg.StatePath, data); err != nil {
		w.cfg.Metrics.WriteErrors.Inc()
		return fmt.Errorf("write store checkpoint: %w", err)
	}
	return nil
}

// Run writes batches until its source closes (or ctx is cancelled), then
// makes everything it wrote durable and acknowledges it before returning.
func (w *Writer) Run(ctx context.Context) error {
	var (
		toAck         []dispatch.Receipt // handed to the store, not yet durable
		pendingEvents int
		lastFlush     = time.Now()
		flushCost     time.Duration // how long the last flush took
		have          map[string]bool
	)
	flush := func() {
		if len(toAck) == 0 {
			return
		}
		flushStart := time.Now()
		if pendingEvents > 0 {
			start := time.Now()
			w.cfg.Store.Flush()
			w.cfg.Metrics.FlushTime.Observe(time.Since(start).Seconds())
		}
		if w.cfg.Sealer != nil {
			for {
				err := w.cfg.Sealer.Commit(context.Background(), w.added.Done())
				if err == nil {
					break
				}
				// Unsealed batches must not be acknowledged: a restart
				// would never deliver them again to be sealed.
				w.cfg.Log.Error("seal stored batches", "err", err)
				time.Sleep(time.Second)
			}
		}
		if w.added.Done() != w.state.Stored {
			w.state.Stored = w.added.Done()
			for {
				err := w.saveState()
				if err == nil {
					break
				}
				// Without the checkpoint a restart would look the batches
				// up again, which is correct but slow; keep trying.
				w.cfg.Log.Error("store checkpoint", "err", err)
				time.Sleep(time.Second)
			}
			w.cfg.Metrics.StoredSeq.Set(float64(w.state.Stored))
		}
		// A lost acknowledgement means a redelivery, which added
		// recognises: no need to wait for the server.
		for i := range toAck {
			toAck[i].Done()
		}
		clear(toAck)
		toAck, pendingEvents, lastFlush = toAck[:0], 0, time.Now()
		flushCost = lastFlush.Sub(flushStart)
	}
	for {
		if ctx.Err() != nil {
			flush()
			return nil
		}
		select {
		case q := <-w.quiesce:
			flush()
			q.done <- q.fn(w.state.Stored)
		default:
		}
		wait := min(200*time.Millisecond, max(w.cfg.FlushEvery-time.Since(lastFlush), 10*time.Millisecond))
		msgs, err := w.cfg.Source.Fetch(ctx, 512, wait)
		if errors.Is(err, dispatch.ErrClosed) {
			flush()
			return nil
		}
		if err != nil && ctx.Err() == nil {
			w.cfg.Log.Warn("fetch from bus", "err", err)
			time.Sleep(100 * time.Millisecond)
		}
		if len(msgs) > 0 {
			// Before handing any of these batches to the store: raise
			// Reserved and find what a previous run stored of them. A
			// failure is retried on the same batches, which stay
			// unacknowledged meanwhile.
			for {
				err := w.reserve(maxSeq(msgs))
				if err == nil {
					have, err = w.storedIDs(ctx, msgs)
				}
				if err == nil {
					break
				}
				w.cfg.Log.Error("store writer cannot proceed; retrying", "err", err)
				select {
				case <-ctx.Done():
					flush() // these batches come again after a restart
					return nil
				case <-time.After(time.Second):
				}
			}
		}
		pendingEvents += w.addAll(msgs, have)
		// Acknowledged after the next flush (a redelivered batch too: it
		// may be waiting for that flush).
		for i := range msgs {
			toAck = append(toAck, msgs[i].Receipt)
		}
		if len(toAck) > 0 && (time.Since(lastFlush) >= w.cfg.FlushEvery || pendingEvents >= w.cfg.FlushEvents ||
			w.cfg.BusFull != nil && (len(msgs) == 0 || time.Since(lastFlush) >= 4*flushCost) && w.cfg.BusFull()) {
			flush()
		}
	}
}

// addAll hands the batches not yet added to the store, Workers at a time,
// and returns how many events it added. Progress is marked once all are in.
func (w *Writer) addAll(msgs []dispatch.Item, have map[string]bool) int {
	var todo []*dispatch.Batch
	for i := range msgs {
		// A batch delivered again may come twice in one list.
		if !w.added.Seen(msgs[i].Seq) && !slices.ContainsFunc(todo, func(b *dispatch.Batch) bool { return b.Seq == msgs[i].Seq }) {
			todo = append(todo, msgs[i].Batch)
		}
	}
	var (
		next  atomic.Int64
		added atomic.Int64
		wg    sync.WaitGroup
	)
	for range min(w.cfg.Workers, len(todo)) {
		wg.Go(func() {
			var events []event.Event
			for {
				i := int(next.Add(1) - 1)
				if i >= len(todo) {
					return
				}
				m := todo[i]
				var err error
				events, err = w.prepare(m, have, events[:0])
				if err == nil && w.cfg.Observe != nil {
					for j := range events {
						w.cfg.Observe(&events[j])
					}
				}
				if err != nil {
					// Unreadable batch: storing is impossible, retrying
					// will not help; count it and move on.
					if w.cfg.Sealer != nil {
						w.cfg.Sealer.SealCorrupt(m.Seq, m.Source, m.Data)
					}
					w.cfg.Metrics.Corrupt.Inc()
					w.cfg.Log.Error("undecodable bus batch skipped", "seq", m.Seq, "source", m.Source, "err", err)
				} else if len(events) > 0 {
					w.cfg.Store.Add(events)
					w.cfg.Metrics.Stored.WithLabelValues(m.Source).Add(float64(len(events)))
					added.Add(int64(len(events)))
				}
				w.cfg.Metrics.Batches.Inc()
			}
		})
	}
	wg.Wait()
	for _, m := range todo {
		w.added.Mark(m.Seq)
	}
	return int(added.Load())
}

func maxSeq(msgs []dispatch.Item) uint64 {
	var m uint64
	for i := range msgs {
		m = max(m, msgs[i].Seq)
	}
	return m
}

// reserve raises Reserved, durably, before batches up to seq are stored.
func (w *Writer) reserve(seq uint64) error {
	if seq <= w.state.Reserved {
		return nil
	}
	w.state.Reserved = seq + reserveAhead
	return w.saveState()
}

// inRecovery reports whether a previous run may have stored part of batch seq.
func (w *Writer) inRecovery(seq uint64) bool {
	return seq >= w.recoverFrom && seq <= w.recoverTo && !w.added.Seen(seq)
}

// prepare returns the events of a batch to store: all of them, less those
// a previous run already stored (found by storedIDs). The batch's events
// are shared with the other consumers: a filtered list goes into dst.
func (w *Writer) prepare(m *dispatch.Batch, have map[string]bool, dst []event.Event) ([]event.Event, error) {
	if m.Err != nil {
		return dst, m.Err
	}
	if w.cfg.Sealer != nil {
		w.cfg.Sealer.Seal(m.Seq, m.Source, m.Events)
	}
	if len(have) == 0 {
		return m.Events, nil
	}
	for i := range m.Events {
		if have[m.Events[i].Value(event.FieldID)] {
			w.cfg.Metrics.Duplicates.Inc()
			continue
		}
		dst = append(dst, m.Events[i])
	}
	return dst, nil
}

// Quiesce makes everything the writer stored durable (and sealed), then
// runs fn while nothing more is added, passing the bus sequence up to
// which every batch is stored. A store snapshot taken in fn is consistent
// with the seals. It waits for Run to take the request.
func (w *Writer) Quiesce(ctx context.Context, fn func(stored uint64) error) error {
	q := quiesceReq{fn: fn, done: make(chan error, 1)}
	select {
	case w.quiesce <- q:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-q.done:
		return err
	case <-ctx.Done():
		// fn still runs; its result is dropped.
		return ctx.Err()
	}
}

// storedIDs returns the ids of events already in the store among the
// batches a previous run may have partly stored. One query covers all.
func (w *Writer) storedIDs(ctx context.Context, msgs []dispatch.Item) (map[string]bool, error) {
	var (
		terms      []string
		start, end time.Time
	)
	for i := range msgs {
		m := msgs[i].Batch
		if !w.inRecovery(m.Seq) || m.Err != nil {
			continue // prepare reports undecodable ones
		}
		// Rows are stored under their event time, or under their arrival
		// time when the store refused the event time: search both.
		evs := m.Events
		lo, hi := m.Time.Add(-time.Minute), time.Now().Add(time.Minute)
		for _, e := range evs {
			if e.Time.Before(lo) {
				lo = e.Time
			}
			if e.Time.After(hi) {
				hi = e.Time
			}
		}
		if start.IsZero() || lo.Before(start) {
			start = lo
		}
		if hi.After(end) {
			end = hi
		}
		terms = append(terms, fmt.Sprintf(`="%d-"*`, m.Seq))
	}
	if len(terms) == 0 {
		return nil, nil
	}
	q := fmt.Sprintf(`%s:(%s) | fields %s`, event.FieldID, strings.Join(terms, " OR "), event.FieldID)
	have := map[string]bool{}
	err := w.cfg.Store.Search(ctx, store.Request{Query: q, Start: start, End: end.Add(time.Nanosecond)}, func(row []event.Field) error {
		for _, f := range row {
			if f.Name == event.FieldID {
				have[strings.Clone(f.Value)] = true
			}
		}
		return nil
	})
	return have, err
}
