// Package ingest is the common path of every source: count what arrives,
// stamp events with their arrival time, cut them into bus batches and
// publish them. Sources that can acknowledge their senders (HTTP) publish
// synchronously and answer only after the bus stored the batch; streaming
// sources (syslog) hand events to a Batcher, which bounds its queue and
// pushes back on the sender when the bus is slow.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/event"
)

// Publisher stores encoded batches durably (the bus).
type Publisher interface {
	Publish(ctx context.Context, source string, batch []byte) (uint64, error)
	MaxBatchBytes() int
}

var _ Publisher = (*bus.Bus)(nil)

// spaceWaiter is a publisher that says when it may have room again (the
// bus, when a consumer acknowledges a batch).
type spaceWaiter interface {
	SpaceFreed() <-chan struct{}
}

var _ spaceWaiter = (*bus.Bus)(nil)

// FullRetry is how long a publisher refused by a full bus waits before
// trying again when no acknowledgement woke it first (consumers in another
// process do not signal).
const FullRetry = 50 * time.Millisecond

// waitForSpace waits until pub may have room for a batch it refused as
// full: a consumer acknowledged a batch (freed, taken from
// pub.SpaceFreed before the refused publish, so that no acknowledgement
// is missed), or retry passed. It returns ctx's error if ctx ends first.
func waitForSpace(ctx context.Context, freed <-chan struct{}, retry time.Duration) error {
	t := time.NewTimer(retry)
	defer t.Stop()
	select {
	case <-freed:
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// ackSettle is how long a publisher refused again right after the bus
// signalled an acknowledgement waits before trying once more: the
// server removes an acknowledged batch just after the acknowledgement is
// sent, not before.
const ackSettle = 5 * time.Millisecond

// isClosed reports whether a signal channel has fired (nil never does).
func isClosed(c <-chan struct{}) bool {
	if c == nil {
		return false
	}
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// spaceFreed is pub's signal of room, or nil (waitForSpace then waits for
// its timer).
func spaceFreed(pub Publisher) <-chan struct{} {
	if w, ok := pub.(spaceWaiter); ok {
		return w.SpaceFreed()
	}
	return nil
}

// Metrics count events per source.
type Metrics struct {
	Received *prometheus.CounterVec // everything that arrived
	Parsed   *prometheus.CounterVec // parsed cleanly
	Failed   *prometheus.CounterVec // kept with a parse error
	Rejected *prometheus.CounterVec // refused to the sender (HTTP)
	Dropped  *prometheus.CounterVec // lost: UDP queue overflow, shutdown failure
	Bytes    *prometheus.CounterVec
	// Failures counts the Failed events again per source and format.
	Failures *Failures
	Skewed   *prometheus.CounterVec // dated after their arrival (see Stamp)
	// Refused counts connections and messages refused before anything
	// of them was kept, by listener and reason (connection limits,
	// senders not allowed, memory budget).
	Refused *prometheus.CounterVec
}

// NewMetrics registers the ingest metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_ingest_refused_total",
		Help: "Connections and requests refused before reading them, by listener and reason (connection limits, senders not allowed, memory budget)."},
		[]string{"source", "reason"})
	reg.MustRegister(refused)
	vec := func(name, help string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"source"})
		reg.MustRegister(v)
		return v
	}
	return &Metrics{
		Received: vec("vigil_events_received_total", "Events received, by source."),
		Parsed:   vec("vigil_events_parsed_total", "Events parsed without error, by source."),
		Failed:   vec("vigil_events_failed_total", "Events that did not parse and were kept with vigil.parse_error, by source."),
		Rejected: vec("vigil_events_rejected_total", "Events refused to the sender with a reason, by source."),
		Dropped:  vec("vigil_events_dropped_total", "Events lost before the bus (UDP overload, failed shutdown), by source."),
		Bytes:    vec("vigil_ingest_bytes_total", "Bytes of event data received, by source."),
		Failures: newFailures(reg),
		Skewed:   vec("vigil_events_time_skewed_total", "Events dated more than the allowed skew after their arrival, stored at their arrival time, by source."),
		Refused:  refused,
	}
}

// RefusedFunc returns a function counting refusals of source by reason
// (for conns.Config.Refused).
func (m *Metrics) RefusedFunc(source string) func(reason string) {
	return func(reason string) { m.Refused.WithLabelValues(source, reason).Inc() }
}

// Count records one event's outcome: parsed cleanly, or kept with an error.
func (m *Metrics) Count(source string, e *event.Event) {
	m.For(source).Count(e)
}

// SourceMetrics are the counters of one source, resolved once (a label
// lookup per event would cost more than the counting).
type SourceMetrics struct {
	Received, Parsed, Failed, Rejected, Dropped, Bytes, Skewed prometheus.Counter
	source                                                     string
	failures                                                   *Failures
}

// For returns the counters of a source.
func (m *Metrics) For(source string) *SourceMetrics {
	return &SourceMetrics{
		Received: m.Received.WithLabelValues(source), Parsed: m.Parsed.WithLabelValues(source),
		Failed: m.Failed.WithLabelValues(source), Rejected: m.Rejected.WithLabelValues(source),
		Dropped: m.Dropped.WithLabelValues(source), Bytes: m.Bytes.WithLabelValues(source),
		source: source, failures: m.Failures, Skewed: m.Skewed.WithLabelValues(source),
	}
}

// Count records one event's outcome: parsed cleanly, or kept with an error.
func (m *SourceMetrics) Count(e *event.Event) {
	m.Received.Inc()
	failed, skewed := false, false
	for i := range e.Fields {
		switch e.Fields[i].Name {
		case event.FieldParseError:
			failed = true
		case event.FieldTimeSkew:
			skewed = true
		}
	}
	if failed {
		m.Failed.Inc()
		if m.failures != nil {
			m.failures.Record(m.source, e)
		}
	} else {
		m.Parsed.Inc()
	}
	if skewed {
		m.Skewed.Inc()
	}
}

// Stamp sets the arrival time of an event (event.Arrived: it travels in
// binary and the store keeps it as ECS event.ingested), and takes
// an event time more than event.DefaultMaxSkew after the arrival as the
// arrival (event.ClampFuture: the claimed time is kept in
// vigil.sender_time, the difference in vigil.time_skew). A sender's
// clock, right or wrong, cannot place an event after it arrived. Every
// source calls it once the event is complete.
func Stamp(e *event.Event, now time.Time) {
	if e.Time.IsZero() {
		e.Time = now // the event said nothing about its time
	}
	e.Arrived = now.UTC()
	event.ClampFuture(e, now, event.DefaultMaxSkew)
}

// batchOverhead is an allowance for the batch header when cutting batches.
const batchOverhead = 64

// eventSize is an upper bound of an event's encoded size.
func eventSize(e *event.Event) int {
	n := 20
	for _, f := range e.Fields {
		n += len(f.Name) + len(f.Value) + 10
	}
	return n
}

// Annotator is a Publisher that completes events before they are stored
// (the privacy annotation wraps the bus). Sources holding decoded events
// (PublishAll, Pending) hand them to AnnotateEvents and publish the
// encoded result to Inner: the annotator then neither decodes nor
// re-encodes what they have just encoded. Publish still annotates an
// encoded batch (the streaming sources' Batcher).
type Annotator interface {
	Publisher
	// AnnotateEvents completes events in place.
	AnnotateEvents(ctx context.Context, events []event.Event)
	// Inner takes the annotated batches.
	Inner() Publisher
}

// PublishAll publishes events in as few batches as the bus allows, waiting
// for each to be stored. It returns how many events (a prefix of events)
// are stored; on error the rest are not. Through an Annotator, the events
// are annotated in place first.
func PublishAll(ctx context.Context, pub Publisher, source string, events []event.Event) (int, error) {
	if a, ok := pub.(Annotator); ok {
		a.AnnotateEvents(ctx, events)
		pub = a.Inner()
	}
	max := pub.MaxBatchBytes() - batchOverhead
	for i := range events {
		if s := eventSize(&events[i]); s > max {
			// What comes before is stored; nothing from it on.
			n, err := publishCut(ctx, pub, source, events[:i], max)
			if err == nil {
				err = fmt.Errorf("event of %d bytes exceeds the bus batch limit", s)
			}
			return n, err
		}
	}
	return publishCut(ctx, pub, source, events, max)
}

// publishCut publishes events (none larger than max) in batches of at
// most max bytes, in order; it returns how many are stored.
func publishCut(ctx context.Context, pub Publisher, source string, events []event.Event, max int) (int, error) {
	var (
		buf    []byte
		stored int
		err    error
	)
	cutBatches(events, max, func(evs []event.Event) {
		if err != nil {
			return
		}
		buf = event.AppendBatch(buf[:0], evs)
		if err = publishWaiting(ctx, pub, source, buf); err == nil {
			stored += len(evs)
		}
	})
	return stored, err
}

// cutBatches calls fn with consecutive runs of events of at most max
// bytes (eventSize), each at least one event.
func cutBatches(events []event.Event, max int, fn func([]event.Event)) {
	start, size := 0, 0
	for i := range events {
		s := eventSize(&events[i])
		if i > start && size+s > max {
			fn(events[start:i])
			start, size = i, 0
		}
		size += s
	}
	if start < len(events) {
		fn(events[start:])
	}
}

// FullWait is how long a request publishing synchronously (HTTP) waits
// for a full bus to free space before it is refused (503 with
// Retry-After): consumers free space in bursts, at their checkpoints, and
// a sender held this long is pushed back as surely as one refused.
const FullWait = 2 * time.Second

// publishWaiting publishes one batch, waiting up to FullWait while the bus
// is full.
func publishWaiting(ctx context.Context, pub Publisher, source string, batch []byte) error {
	var deadline time.Time
	for {
		freed := spaceFreed(pub)
		_, err := pub.Publish(ctx, source, batch)
		if err == nil || !errors.Is(err, bus.ErrFull) {
			return err
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(FullWait)
		} else if time.Now().After(deadline) {
			return err
		}
		if waitForSpace(ctx, freed, FullRetry) != nil {
			return err
		}
	}
}

// BatcherConfig tunes a Batcher.
type BatcherConfig struct {
	Source    string
	MaxEvents int           // per batch (default 2000)
	MaxBytes  int           // per batch (default 1 MiB, capped by the bus)
	MaxDelay  time.Duration // before a partial batch goes out (default 200ms)
	QueueLen  int           // events waiting (default 10,000)
	// FullRetry is how long a batch refused by a full bus waits for a
	// consumer's acknowledgement before trying again (default FullRetry).
	FullRetry time.Duration
}

// Batcher collects events from streaming sources into bus batches.
type Batcher struct {
	cfg     BatcherConfig
	pub     Publisher
	metrics *Metrics
	log     *slog.Logger
	queue   chan event.Event
	closed  chan struct{}
	once    sync.Once
	// free holds the emptied field slices of published events, for
	// Fields to hand out again.
	free chan []event.Field
}

// maxReusedFields is the largest field slice the batcher keeps for reuse
// (an event with many more fields than usual would hold memory idle).
const maxReusedFields = 256

// NewBatcher returns a batcher; call Run to start it.
func NewBatcher(cfg BatcherConfig, pub Publisher, m *Metrics, log *slog.Logger) *Batcher {
	if cfg.MaxEvents <= 0 {
		cfg.MaxEvents = 2000
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 1 << 20
	}
	cfg.MaxBytes = min(cfg.MaxBytes, pub.MaxBatchBytes()-batchOverhead)
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = 200 * time.Millisecond
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = 10_000
	}
	if cfg.FullRetry <= 0 {
		cfg.FullRetry = FullRetry
	}
	return &Batcher{cfg: cfg, pub: pub, metrics: m, log: log, queue: make(chan event.Event, cfg.QueueLen), closed: make(chan struct{}),
		free: make(chan []event.Field, cfg.MaxEvents)}
}

// Fields returns an empty field slice for a new event: one of an event
// already published when there is one, else a new one of the given
// capacity. A source that builds its events on these slices (and hands
// each to Add or TryAdd, which take ownership) costs no allocation per
// event for them.
func (b *Batcher) Fields(capacity int) []event.Field {
	select {
	case f := <-b.free:
		return f
	default:
		return make([]event.Field, 0, capacity)
	}
}

// reuse keeps the field slices of events that are encoded and no longer
// needed, for Fields; what does not fit is left to the collector.
func (b *Batcher) reuse(events []event.Event) {
	for i := range events {
		f := events[i].Fields
		if f == nil || cap(f) > maxReusedFields {
			continue
		}
		clear(f[:cap(f)]) // drop the references to the values
		select {
		case b.free <- f[:0]:
		default:
			return
		}
	}
}

// ErrClosed is returned by Add after the batcher stopped.
var ErrClosed = errors.New("ingest batcher closed")

// Add queues an event, waiting while the queue is full (back-pressure on
// stream senders). The batcher owns e.Fields from then on: it may reuse
// the slice (see Fields) once the event is published.
func (b *Batcher) Add(ctx context.Context, e event.Event) error {
	select {
	case b.queue <- e:
		return nil
	case <-b.closed:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TryAdd queues an event unless the queue is full (datagram senders cannot
// be slowed down); a refused event is counted as dropped.
func (b *Batcher) TryAdd(e event.Event) bool {
	select {
	case <-b.closed:
		b.metrics.Dropped.WithLabelValues(b.cfg.Source).Inc()
		return false
	default:
	}
	select {
	case b.queue <- e:
		return true
	default:
		b.metrics.Dropped.WithLabelValues(b.cfg.Source).Inc()
		return false
	}
}

// Close stops accepting events; Run then publishes what is queued and
// returns. Stop the sources feeding the batcher first.
func (b *Batcher) Close() { b.once.Do(func() { close(b.closed) }) }

// Run publishes batches until Close, then drains the queue. Publishing
// failures are retried (the queue fills and senders are slowed) until
// drainCtx ends, which bounds how long shutdown may take.
func (b *Batcher) Run(drainCtx context.Context) {
	var (
		batch []event.Event
		size  int
		buf   []byte
		enc   event.Encoder // its name table is reused batch after batch
		timer = time.NewTimer(time.Hour)
	)
	timer.Stop()
	flush := func() {
		if len(batch) == 0 {
			return
		}
		buf = enc.AppendBatch(buf[:0], batch)
		fails := 0         // in a row, other than a full bus
		signalled := false // the last wait for space ended with the bus's signal
		for {
			// A full bus is normal back-pressure: the queue fills and the
			// senders wait, and the batch goes out as soon as a consumer
			// frees space, without a growing sleep (which held the
			// senders for seconds after the space came back).
			freed := spaceFreed(b.pub)
			_, err := b.pub.Publish(drainCtx, b.cfg.Source, buf)
			if err == nil {
				break
			}
			if drainCtx.Err() != nil {
				b.metrics.Dropped.WithLabelValues(b.cfg.Source).Add(float64(len(batch)))
				b.log.Error("events lost at shutdown: bus did not take them", "source", b.cfg.Source, "events", len(batch), "err", err)
				break
			}
			if errors.Is(err, bus.ErrFull) {
				retry := b.cfg.FullRetry
				if signalled {
					// Refused again just after an acknowledgement woke
					// us: the server removes the acknowledged batch a
					// moment after the signal, and no other signal may
					// come (every batch delivered is acknowledged).
					retry = min(retry, ackSettle)
				}
				_ = waitForSpace(drainCtx, freed, retry)
				signalled = isClosed(freed)
				continue
			}
			if fails%50 == 0 {
				b.log.Warn("bus refused batch; retrying", "source", b.cfg.Source, "events", len(batch), "err", err)
			}
			fails++
			select {
			case <-time.After(min(time.Duration(fails)*50*time.Millisecond, 2*time.Second)):
			case <-drainCtx.Done():
			}
		}
		b.reuse(batch)
		clear(batch)
		batch, size = batch[:0], 0
		timer.Stop()
	}
	add := func(e event.Event) {
		s := eventSize(&e)
		if len(batch) > 0 && (len(batch) >= b.cfg.MaxEvents || size+s > b.cfg.MaxBytes) {
			flush()
		}
		if len(batch) == 0 {
			timer.Reset(b.cfg.MaxDelay)
		}
		batch = append(batch, e)
		size += s
	}
	for {
		select {
		case e := <-b.queue:
			add(e)
		case <-timer.C:
			flush()
		case <-b.closed:
			for {
				select {
				case e := <-b.queue:
					add(e)
				default:
					flush()
					return
				}
			}
		}
	}
}
