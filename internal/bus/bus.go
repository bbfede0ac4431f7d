// Package bus is Vigil's durable event bus: NATS JetStream, embedded in the
// process by default (file store in the data dir) or an external NATS
// cluster when configured.
//
// Sources publish encoded event batches (see event.AppendBatch) and get an
// acknowledgement only once JetStream has stored them. Consumers (the store
// writer, the detector) pull batches with their stream sequence and
// acknowledge them when their own work is durable. The stream keeps a batch
// until every consumer has acknowledged it (interest retention), and refuses
// new batches when full rather than dropping old ones, so back-pressure
// reaches the senders instead of data being lost.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StreamName is the JetStream stream holding event batches.
const StreamName = "VIGIL_EVENTS"

// SubjectPrefix starts the subject of every batch: "vigil.events.<source>".
const SubjectPrefix = "vigil.events."

// Config configures the bus.
type Config struct {
	// Dir is the embedded server's JetStream store directory.
	Dir string
	// URL connects to an external NATS server or cluster instead of
	// embedding one (e.g. "nats://10.0.0.5:4222").
	URL string
	// SyncAlways makes the embedded server fsync every batch before
	// acknowledging it (survives power loss, costs throughput). Otherwise
	// it syncs every SyncInterval (survives a crash of the process).
	SyncAlways   bool
	SyncInterval time.Duration
	// MaxBytes caps the stream; publishing beyond it fails (default 8 GiB).
	MaxBytes int64
	// MaxBatchBytes is the largest batch accepted (default 4 MiB).
	MaxBatchBytes int
	// Replicas of the stream in a cluster (default 1).
	Replicas int
	// FirstSeq is the sequence the stream starts at when Open creates it
	// (an instance restored from a backup continues the sequences its
	// store and seals already hold); ignored for an existing stream.
	FirstSeq uint64
}

// DefaultMaxBatchBytes is the largest batch message (NATS advises against
// payloads over 8 MiB).
const DefaultMaxBatchBytes = 4 << 20

func (c Config) withDefaults() Config {
	if c.MaxBytes <= 0 {
		c.MaxBytes = 8 << 30
	}
	if c.MaxBatchBytes <= 0 {
		c.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if c.SyncInterval <= 0 {
		c.SyncInterval = time.Second
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	return c
}

// Bus is a connection to JetStream, with the embedded server if any.
type Bus struct {
	cfg    Config
	ns     *server.Server
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	log    *slog.Logger

	// full is set when a publish was refused for lack of space and
	// cleared by the next one stored; freed wakes the publishers waiting
	// for space whenever a consumer acknowledges a batch (see Full and
	// SpaceFreed).
	full  atomic.Bool
	freed signal
	// Refused counts publishes refused because the bus was full.
	refused atomic.Uint64
}

// signal wakes every goroutine waiting on it, once per Notify.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// Wait returns a channel closed by the next Notify.
func (s *signal) Wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

// Notify wakes the waiters, if any.
func (s *signal) Notify() {
	s.mu.Lock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
	s.mu.Unlock()
}

// ErrFull is returned by Publish when the stream holds MaxBytes of batches
// not yet consumed.
var ErrFull = errors.New("event bus is full")

// Open starts (or connects to) JetStream and ensures the event stream.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Bus, error) {
	cfg = cfg.withDefaults()
	b := &Bus{cfg: cfg, log: log}
	var err error
	if cfg.URL == "" {
		opts := &server.Options{
			ServerName:         "vigil",
			DontListen:         true,
			JetStream:          true,
			StoreDir:           cfg.Dir,
			JetStreamMaxStore:  cfg.MaxBytes + cfg.MaxBytes/4,
			JetStreamMaxMemory: 64 << 20,
			MaxPayload:         int32(cfg.MaxBatchBytes + 64<<10),
			SyncInterval:       cfg.SyncInterval,
			SyncAlways:         cfg.SyncAlways,
			NoSigs:             true,
		}
		b.ns, err = server.NewServer(opts)
		if err != nil {
			return nil, fmt.Errorf("embedded NATS: %w", err)
		}
		b.ns.SetLoggerV2(&natsLogger{log: log.With("component", "nats")}, false, false, false)
		b.ns.Start()
		if !b.ns.ReadyForConnections(30 * time.Second) {
			b.ns.Shutdown()
			return nil, errors.New("embedded NATS did not start within 30s")
		}
		b.nc, err = nats.Connect("", nats.InProcessServer(b.ns), nats.Name("vigil"), natsOptions())
	} else {
		b.nc, err = nats.Connect(cfg.URL, nats.Name("vigil"), natsOptions())
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	b.js, err = jetstream.New(b.nc)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	scfg := jetstream.StreamConfig{
		Name:        StreamName,
		Description: "Vigil event batches",
		Subjects:    []string{SubjectPrefix + ">"},
		Retention:   jetstream.InterestPolicy,
		Discard:     jetstream.DiscardNew,
		MaxBytes:    cfg.MaxBytes,
		MaxMsgSize:  int32(cfg.MaxBatchBytes + 64<<10),
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
	}
	if cfg.FirstSeq > 1 {
		if _, err := b.js.Stream(ctx, StreamName); errors.Is(err, jetstream.ErrStreamNotFound) {
			scfg.FirstSeq = cfg.FirstSeq
			log.Info("event stream created to continue from a previous instance", "first_seq", cfg.FirstSeq)
		}
	}
	// A fresh cluster may still be electing a leader: retry for a while.
	deadline := time.Now().Add(30 * time.Second)
	for {
		b.stream, err = b.js.CreateOrUpdateStream(ctx, scfg)
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("create stream %s: %w", StreamName, err)
	}
	return b, nil
}

// Close drains the connection and stops the embedded server.
func (b *Bus) Close() {
	if b.nc != nil {
		_ = b.nc.Drain()
		b.nc.Close()
	}
	if b.ns != nil {
		b.ns.Shutdown()
		b.ns.WaitForShutdown()
	}
}

// Publish stores one encoded batch from source and returns its stream
// sequence once JetStream has stored it.
func (b *Bus) Publish(ctx context.Context, source string, batch []byte) (uint64, error) {
	if len(batch) > b.cfg.MaxBatchBytes {
		return 0, fmt.Errorf("batch of %d bytes exceeds the bus limit of %d", len(batch), b.cfg.MaxBatchBytes)
	}
	ack, err := b.js.Publish(ctx, SubjectPrefix+source, batch)
	if err != nil {
		// The server says so in words only (err_code 10077 covers other
		// store failures too).
		if msg := err.Error(); strings.Contains(msg, "maximum bytes exceeded") || strings.Contains(msg, "resource limits exceeded") {
			b.refused.Add(1)
			b.full.Store(true)
			return 0, fmt.Errorf("%w: %v", ErrFull, err)
		}
		return 0, fmt.Errorf("publish batch: %w", err)
	}
	if b.full.Load() {
		b.full.Store(false)
	}
	return ack.Sequence, nil
}

// Full reports whether the last publish was refused because the bus was
// full (until one is stored again). Consumers that hold acknowledgements
// until a checkpoint make theirs early while it is: the bus only frees
// space for batches every consumer acknowledged, and a consumer that
// checkpoints every 30 s would otherwise hold the senders for that long.
func (b *Bus) Full() bool { return b.full.Load() }

// SpaceFreed returns a channel closed when a consumer of this process
// next acknowledges a batch: a publisher refused by a full bus waits on it
// to try again at once, instead of sleeping. (The server removes the
// batch just after; consumers elsewhere in a cluster do not signal, so
// wait on a short timer too.)
func (b *Bus) SpaceFreed() <-chan struct{} { return b.freed.Wait() }

// RefusedFull is how many publishes the bus refused because it was full.
func (b *Bus) RefusedFull() uint64 { return b.refused.Load() }

// MaxBatchBytes is the largest batch Publish accepts.
func (b *Bus) MaxBatchBytes() int { return b.cfg.MaxBatchBytes }

// Message is one batch delivered to a consumer.
type Message struct {
	Seq     uint64 // stream sequence: the batch's identity
	Source  string
	Data    []byte
	Time    time.Time // when the bus stored it
	Deliver uint64    // delivery count, 1 on first delivery
	// ack acknowledges the batch (nil for messages built by tests).
	ack func() error
}

// Ack acknowledges this one batch without waiting for the server. A lost
// acknowledgement only means a redelivery, which consumers recognise by
// sequence (see Progress).
func (m *Message) Ack() error {
	if m.ack == nil {
		return nil
	}
	return m.ack()
}

// AckFunc returns the function acknowledging this batch, nil for messages
// built by tests. Unlike the method value m.Ack, it does not keep the
// message (and its batch data) alive.
func (m *Message) AckFunc() func() error { return m.ack }

// Receipt is what acknowledging a message later needs: its sequence and
// acknowledgement, without the batch data (which a consumer holding many
// messages until a checkpoint would otherwise keep in memory).
func (m *Message) Receipt() Message {
	return Message{Seq: m.Seq, Source: m.Source, Time: m.Time, Deliver: m.Deliver, ack: m.ack}
}

// NewMessage builds a message, for tests of consumers.
func NewMessage(seq uint64, source string, data []byte, t time.Time, ack func() error) Message {
	return Message{Seq: seq, Source: source, Data: data, Time: t, Deliver: 1, ack: ack}
}

// Consumer is a durable pull consumer of the event stream.
type Consumer struct {
	name  string
	c     jetstream.Consumer
	nc    *nats.Conn
	freed *signal // notified after each acknowledgement
}

// Consumer creates or resumes the durable consumer name. Its position
// survives restarts; batches are redelivered when not acknowledged within
// ackWait.
func (b *Bus) Consumer(ctx context.Context, name string, ackWait time.Duration) (*Consumer, error) {
	c, err := b.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: name,
		// Each batch is acknowledged on its own: a delivery the client
		// library drops (a fetch that expired with messages in flight)
		// must come again, which acknowledging all before a later one
		// would prevent.
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxAckPending: 100_000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", name, err)
	}
	// Batches delivered to a previous run of this process but not
	// acknowledged would otherwise wait for ackWait to expire; restart
	// delivery at the first unacknowledged batch. This process is the
	// consumer's only client.
	if _, err := b.stream.ResetConsumer(ctx, name); err != nil {
		return nil, fmt.Errorf("reset consumer %s: %w", name, err)
	}
	return &Consumer{name: name, c: c, nc: b.nc, freed: &b.freed}, nil
}

// DeleteConsumer removes a durable consumer that is no longer used, so the
// stream stops keeping batches for it.
func (b *Bus) DeleteConsumer(ctx context.Context, name string) error {
	err := b.stream.DeleteConsumer(ctx, name)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil
	}
	return err
}

// FetchBytes is how many bytes of batches one Fetch asks for: enough to
// keep a consumer busy, little enough that the server never has to hold
// more for the connection than its slow-consumer limit.
const FetchBytes = 16 << 20

// Fetch returns up to max batches (and at most FetchBytes of them),
// waiting at most wait for the first.
func (c *Consumer) Fetch(ctx context.Context, max int, wait time.Duration) ([]Message, error) {
	mb, err := c.c.Fetch(max, jetstream.FetchMaxBytes(FetchBytes), jetstream.FetchMaxWait(wait))
	if err != nil {
		return nil, fmt.Errorf("fetch for %s: %w", c.name, err)
	}
	var out []Message
	for {
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case m, ok := <-mb.Messages():
			if !ok {
				if err := mb.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
					return out, fmt.Errorf("fetch for %s: %w", c.name, err)
				}
				return out, nil
			}
			md, err := m.Metadata()
			if err != nil {
				return out, fmt.Errorf("batch metadata: %w", err)
			}
			out = append(out, Message{
				Seq:     md.Sequence.Stream,
				Source:  strings.TrimPrefix(m.Subject(), SubjectPrefix),
				Data:    m.Data(),
				Time:    md.Timestamp,
				Deliver: md.NumDelivered,
				ack:     c.acker(m.Reply()),
			})
		}
	}
}

// ackAck is JetStream's positive acknowledgement, sent to a delivered
// message's reply subject.
var ackAck = []byte("+ACK")

// acker acknowledges a delivery by its reply subject alone. Binding
// jetstream.Msg.Ack instead would keep the whole message, batch data
// included, alive for as long as its acknowledgement waits (up to a
// checkpoint interval: hundreds of MB under load).
func (c *Consumer) acker(reply string) func() error {
	return func() error {
		err := c.nc.Publish(reply, ackAck)
		c.freed.Notify()
		return err
	}
}

// AckFloor is the stream sequence up to which the consumer has
// acknowledged every batch.
func (c *Consumer) AckFloor(ctx context.Context) (uint64, error) {
	info, err := c.c.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.AckFloor.Stream, nil
}

// Stats describe the bus for monitoring.
type Stats struct {
	Batches uint64 // batches held (not yet acknowledged)
	Bytes   uint64 // their size
	// Oldest is when the oldest batch held was stored (zero when none).
	Oldest time.Time
	// MaxBytes is the capacity: publishing beyond it fails.
	MaxBytes int64
}

// Stats reads the stream's figures.
func (b *Bus) Stats(ctx context.Context) (Stats, error) {
	info, err := b.stream.Info(ctx)
	if err != nil {
		return Stats{}, err
	}
	st := Stats{Batches: info.State.Msgs, Bytes: info.State.Bytes, MaxBytes: b.cfg.MaxBytes}
	if info.State.Msgs > 0 {
		st.Oldest = info.State.FirstTime
	}
	return st, nil
}

// Pending is the number of batches the bus has not delivered to the
// consumer yet.
func (c *Consumer) Pending(ctx context.Context) (uint64, error) {
	info, err := c.c.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.NumPending, nil
}

// Lag is the number of batches not yet acknowledged by the consumer.
func (c *Consumer) Lag(ctx context.Context) (uint64, error) {
	info, err := c.c.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.NumPending + uint64(info.NumAckPending), nil
}

// natsOptions keep a connection through load: a busy server (large
// batches written in place, a disk shared with the store) may answer pings
// late, which must not cost the connection.
func natsOptions() nats.Option {
	return func(o *nats.Options) error {
		o.MaxReconnect = -1
		o.ReconnectWait = 100 * time.Millisecond
		o.PingInterval = 30 * time.Second
		o.MaxPingsOut = 6
		return nil
	}
}

// natsLogger sends the embedded server's logs to slog (warnings and up).
type natsLogger struct{ log *slog.Logger }

func (l *natsLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Tracef(format string, v ...any)  {}
