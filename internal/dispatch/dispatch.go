// Package dispatch reads the event batches of the bus once, decodes each
// batch once, and shares the decoded events between the consumers in this
// process (the store writer, the detector) instead of each consumer
// fetching and decoding every batch from the bus on its own.
//
// A batch is acknowledged on the bus when every consumer has said that its
// work on the batch is durable (Receipt.Done): until then a crash delivers
// it again to all of them, and each consumer recognises what it already
// did by the batch's sequence. Consumers keep only a small Receipt of the
// batches they are done reading, so the decoded events are freed as soon
// as every consumer has read them.
//
// Memory is bounded: the batches handed out and not yet read by every
// consumer take at most Config.MaxBytes of bus data (and each consumer's
// queue a few batches); beyond that the dispatcher stops fetching, the bus
// keeps the batches on disk and, once full, refuses new ones, which slows
// the senders down.
package dispatch

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/event"
)

// Source is where batches come from (a durable bus consumer).
type Source interface {
	Fetch(ctx context.Context, max int, wait time.Duration) ([]bus.Message, error)
	// Pending is the number of batches the bus has not delivered yet.
	Pending(ctx context.Context) (uint64, error)
}

var _ Source = (*bus.Consumer)(nil)

// Batch is one bus batch, decoded. Events are shared by every consumer:
// they must not be modified (copy an event to change it).
type Batch struct {
	Seq     uint64
	Source  string
	Time    time.Time // when the bus stored it
	Deliver uint64    // delivery count, 1 on first delivery
	// Events are the batch's events with their ids (event.FieldID,
	// "<seq>-<index>") set; nil when the batch could not be decoded.
	Events []event.Event
	// Data is the encoded batch; Err says why it could not be decoded.
	Data []byte
	Err  error

	ack *ack
	// readers is how many consumers have not finished reading the
	// batch; the last one gives its size back to the dispatcher's budget.
	readers atomic.Int32
}

// ack is the bus acknowledgement of one delivery, sent when every
// consumer is done with it.
type ack struct {
	pending atomic.Int32
	send    func() error
	log     *slog.Logger
	seq     uint64
}

// Receipt is what a consumer keeps of a batch it read: enough to say it is
// done with it, without the events.
type Receipt struct {
	Seq uint64
	ack *ack
	sub *Subscription
}

// Receipt returns the receipt of a batch delivered to sub.
func (b *Batch) receipt(sub *Subscription) Receipt { return Receipt{Seq: b.Seq, ack: b.ack, sub: sub} }

// Done says the consumer's work on the batch is durable. The last
// consumer's Done acknowledges the batch on the bus. A lost
// acknowledgement means a redelivery, which consumers recognise.
func (r Receipt) Done() {
	if r.sub != nil {
		r.sub.inflight.Add(-1)
	}
	if r.ack == nil || r.ack.pending.Add(-1) != 0 {
		return
	}
	if r.ack.send == nil {
		return
	}
	if err := r.ack.send(); err != nil && r.ack.log != nil {
		r.ack.log.Warn("acknowledge batch on the bus", "seq", r.ack.seq, "err", err)
	}
}

// ErrClosed is returned by Subscription.Fetch once the dispatcher stopped
// and the subscription's queue is empty.
var ErrClosed = errors.New("dispatch: subscription closed")

// Subscription is one consumer's queue of batches.
type Subscription struct {
	name     string
	ch       chan *Batch
	d        *Dispatcher
	inflight atomic.Int64 // delivered to the queue, not yet Done
	reading  []*Batch     // returned by the last Fetch: read until the next
}

// Name is the consumer's name.
func (s *Subscription) Name() string { return s.name }

// Item is what Fetch returns for each batch: the batch to read, and the
// receipt to keep.
type Item struct {
	*Batch
	Receipt Receipt
}

// Fetch returns up to max batches, waiting at most wait for the first. It
// returns ErrClosed when the dispatcher has stopped and every batch was
// taken.
//
// Calling Fetch says the consumer is done reading the batches of the
// previous call (it keeps only their receipts): their memory counts
// against the dispatcher's budget until then.
func (s *Subscription) Fetch(ctx context.Context, max int, wait time.Duration) ([]Item, error) {
	for _, b := range s.reading {
		s.d.release(b)
	}
	clear(s.reading)
	s.reading = s.reading[:0]
	out, err := s.fetch(ctx, max, wait)
	for _, it := range out {
		s.reading = append(s.reading, it.Batch)
	}
	return out, err
}

func (s *Subscription) fetch(ctx context.Context, max int, wait time.Duration) ([]Item, error) {
	var out []Item
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case b, ok := <-s.ch:
		if !ok {
			return nil, ErrClosed
		}
		out = append(out, Item{Batch: b, Receipt: b.receipt(s)})
	case <-timer.C:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for len(out) < max {
		select {
		case b, ok := <-s.ch:
			if !ok {
				return out, nil
			}
			out = append(out, Item{Batch: b, Receipt: b.receipt(s)})
		default:
			return out, nil
		}
	}
	return out, nil
}

// Lag is the number of batches this consumer has not finished: those the
// bus has not delivered yet, and those delivered but not Done.
func (s *Subscription) Lag(ctx context.Context) (uint64, error) {
	pending, err := s.d.src.Pending(ctx)
	if err != nil {
		return 0, err
	}
	return pending + uint64(max(s.inflight.Load(), 0)), nil
}

// Dispatcher fans the bus batches out to the subscriptions.
type Dispatcher struct {
	src  Source
	log  *slog.Logger
	subs []*Subscription
	// Fetch is how many batches one bus fetch asks for (default 64).
	fetch int
	// maxBytes bounds inflight, the bus data of the batches handed out
	// and not yet read by every consumer; released wakes Run when a
	// consumer finishes reading one.
	maxBytes int64
	inflight atomic.Int64
	released chan struct{}

	mu      sync.Mutex
	running bool
}

// Config tunes a dispatcher.
type Config struct {
	// Queue is how many batches wait in each consumer's queue (default 8).
	Queue int
	// Fetch is how many batches one bus fetch asks for (default 16).
	Fetch int
	// MaxBytes bounds the bus data of the batches handed to consumers and
	// not yet read by all of them (default DefaultMaxBytes): a batch is
	// handed out while less is in flight, so the bound is overshot by
	// less than one batch. Decoded, a batch takes about twice its
	// bus size, shared by the consumers.
	MaxBytes int
}

// DefaultMaxBytes is the default Config.MaxBytes.
const DefaultMaxBytes = 32 << 20

// New returns a dispatcher of src's batches; subscribe, then Run.
func New(src Source, log *slog.Logger, cfg Config) *Dispatcher {
	if cfg.Fetch <= 0 {
		cfg.Fetch = 16
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	return &Dispatcher{src: src, log: log, fetch: cfg.Fetch, maxBytes: int64(cfg.MaxBytes), released: make(chan struct{}, 1)}
}

// release gives back to the budget a batch one consumer finished reading.
func (d *Dispatcher) release(b *Batch) {
	if b.readers.Add(-1) != 0 {
		return
	}
	d.inflight.Add(-int64(len(b.Data)))
	select {
	case d.released <- struct{}{}:
	default:
	}
}

// admit waits until the batches in flight leave room under the budget
// (or none is in flight), and reports false if ctx ended first.
func (d *Dispatcher) admit(ctx context.Context) bool {
	for {
		n := d.inflight.Load()
		if n == 0 || n < d.maxBytes {
			return true
		}
		select {
		case <-d.released:
		case <-ctx.Done():
			return false
		}
	}
}

// Subscribe adds a consumer with a queue of queue batches (default 8). It
// must be called before Run.
func (d *Dispatcher) Subscribe(name string, queue int) *Subscription {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running {
		panic("BUG: dispatch.Subscribe after Run")
	}
	if queue <= 0 {
		queue = 8
	}
	s := &Subscription{name: name, ch: make(chan *Batch, queue), d: d}
	d.subs = append(d.subs, s)
	return s
}

// Run fetches, decodes and hands out batches until ctx is cancelled, then
// closes every subscription (their consumers take what is queued and
// finish).
func (d *Dispatcher) Run(ctx context.Context) error {
	d.mu.Lock()
	d.running = true
	subs := d.subs
	d.mu.Unlock()
	defer func() {
		for _, s := range subs {
			close(s.ch)
		}
	}()
	if len(subs) == 0 {
		<-ctx.Done()
		return nil
	}
	var ids []byte
	for ctx.Err() == nil {
		if !d.admit(ctx) {
			return nil
		}
		msgs, err := d.src.Fetch(ctx, d.fetch, 200*time.Millisecond)
		if err != nil && ctx.Err() == nil {
			d.log.Warn("fetch from bus", "err", err)
			time.Sleep(100 * time.Millisecond)
		}
		for i := range msgs {
			if !d.admit(ctx) {
				return nil // not handed over: they come again after a restart
			}
			m := &msgs[i]
			b := &Batch{Seq: m.Seq, Source: m.Source, Time: m.Time, Deliver: m.Deliver, Data: m.Data,
				// Not m.Ack: a method value keeps m, and with it every
				// batch of this fetch, alive until the acknowledgement.
				ack: &ack{send: m.AckFunc(), log: d.log, seq: m.Seq}}
			b.Events, ids, b.Err = decode(m, ids)
			b.ack.pending.Store(int32(len(subs)))
			b.readers.Store(int32(len(subs)))
			d.inflight.Add(int64(len(b.Data)))
			for _, s := range subs {
				s.inflight.Add(1)
				select {
				case s.ch <- b:
				case <-ctx.Done():
					// Not handed over: it comes again after a restart.
					s.inflight.Add(-1)
					return nil
				}
			}
		}
	}
	return nil
}

// decode decodes a batch and gives every event its id, "<seq>-<index>":
// the same for the store and the detector, so an alert names the stored
// event. The id is the event's first field, so that it wins over a field
// of that name a sender may have sent. The ids of a batch share one
// string.
func decode(m *bus.Message, buf []byte) ([]event.Event, []byte, error) {
	// The payload is the bus client's own copy, which Batch.Data keeps
	// read-only: the events share it instead of a second copy.
	evs, err := event.DecodeBatchShared(nil, m.Data)
	if err != nil {
		return nil, buf, err
	}
	buf = buf[:0]
	ends := make([]int, len(evs))
	for i := range evs {
		buf = strconv.AppendUint(buf, m.Seq, 10)
		buf = append(buf, '-')
		buf = strconv.AppendInt(buf, int64(i), 10)
		ends[i] = len(buf)
	}
	all := string(buf)
	start := 0
	for i := range evs {
		f := append(evs[i].Fields, event.Field{}) // into the room DecodeBatch left
		copy(f[1:], f[:len(f)-1])
		f[0] = event.Field{Name: event.FieldID, Value: all[start:ends[i]]}
		evs[i].Fields = f
		start = ends[i]
	}
	return evs, buf, nil
}

// Items decodes messages as the dispatcher does, for a single consumer:
// each receipt's Done acknowledges its message. Tests of consumers use it
// to script deliveries.
func Items(msgs ...bus.Message) []Item {
	var out []Item
	var ids []byte
	for i := range msgs {
		m := &msgs[i]
		b := &Batch{Seq: m.Seq, Source: m.Source, Time: m.Time, Deliver: m.Deliver, Data: m.Data, ack: &ack{send: m.AckFunc(), seq: m.Seq}}
		b.Events, ids, b.Err = decode(m, ids)
		b.ack.pending.Store(1)
		out = append(out, Item{Batch: b, Receipt: b.receipt(nil)})
	}
	return out
}
