// Package kafkain consumes Kafka topics as a Vigil source, in a consumer
// group, at least once: records are parsed with one of Vigil's input
// formats (JSON events by default; syslog, GELF, CEF, … as configured),
// published to the bus, and their offsets committed only once the bus
// has stored them. A crash between the two redelivers the batch (at least
// once, never lost); rebalances are held while a batch is in flight
// (franz-go's BlockRebalanceOnPoll), so a partition is not handed to
// another member before its records are stored and committed.
package kafkain

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/formats"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/ingest/conns"
)

// Source is the metric label and bus subject of Kafka events.
const Source = "kafka"

// Config configures the consumer.
type Config struct {
	Brokers []string
	Topics  []string
	// Group is the consumer group (default "vigil").
	Group    string
	ClientID string
	// Format names the input format of the records' values (default
	// ndjson: one JSON event per record); Parse is built from it.
	Format string
	// FormatOptions configure the format (zone, limits).
	FormatOptions formats.Options
	// StartAtLatest starts a group that has no committed offsets at the
	// end of the topics instead of their beginning.
	StartAtLatest bool
	// TLS, when set, connects to the brokers over TLS.
	TLS *tls.Config
	// SASL: mechanism "plain", "scram-sha-256" or "scram-sha-512" (empty:
	// none), with its user and password.
	SASLMechanism, SASLUser, SASLPassword string
	// MaxPollRecords bounds one batch (default 2000).
	MaxPollRecords int
	// MaxRecordBytes bounds a record's value (default 1 MiB, the brokers'
	// usual limit): longer values are cut and flagged.
	MaxRecordBytes int
	// SessionTimeout of the group membership (default 45s).
	SessionTimeout time.Duration
	// StopGrace is how long Stop lets a batch the bus refuses be retried
	// before leaving it uncommitted (default 30s).
	StopGrace time.Duration

	Pub     ingest.Publisher
	Metrics *ingest.Metrics
	Log     *slog.Logger
	Now     func() time.Time
}

// Consumer is a running Kafka source.
type Consumer struct {
	cfg    Config
	cl     *kgo.Client
	parse  formats.RecordParser
	recNow time.Time // the record being parsed: its timestamp is the receive time
	m      *ingest.SourceMetrics
	warn   *conns.Throttle
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	committed int64 // records whose offsets were committed
}

// SASLMechanisms are the mechanisms Config.SASLMechanism accepts.
var SASLMechanisms = []string{"plain", "scram-sha-256", "scram-sha-512"}

func mechanism(cfg Config) (sasl.Mechanism, error) {
	switch strings.ToLower(cfg.SASLMechanism) {
	case "":
		return nil, nil
	case "plain":
		return plain.Auth{User: cfg.SASLUser, Pass: cfg.SASLPassword}.AsMechanism(), nil
	case "scram-sha-256":
		return scram.Auth{User: cfg.SASLUser, Pass: cfg.SASLPassword}.AsSha256Mechanism(), nil
	case "scram-sha-512":
		return scram.Auth{User: cfg.SASLUser, Pass: cfg.SASLPassword}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("kafka: SASL mechanism %q: want one of %s", cfg.SASLMechanism, strings.Join(SASLMechanisms, ", "))
}

// Start connects and consumes until Stop.
func Start(cfg Config) (*Consumer, error) {
	if len(cfg.Brokers) == 0 || len(cfg.Topics) == 0 {
		return nil, errors.New("kafka: give brokers and topics")
	}
	if cfg.Group == "" {
		cfg.Group = "vigil"
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "vigil"
	}
	if cfg.Format == "" {
		cfg.Format = "ndjson"
	}
	if cfg.MaxPollRecords <= 0 {
		cfg.MaxPollRecords = 2000
	}
	if cfg.MaxRecordBytes <= 0 {
		cfg.MaxRecordBytes = 1 << 20
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 45 * time.Second
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	c := &Consumer{cfg: cfg, m: cfg.Metrics.For(Source), warn: conns.NewThrottle(cfg.Log, 0), done: make(chan struct{})}
	f, err := formats.Lookup(cfg.Format)
	if err != nil {
		return nil, fmt.Errorf("kafka.format: %w", err)
	}
	if f.Record == nil {
		return nil, fmt.Errorf("kafka.format: %s is read only as whole files, not record by record", cfg.Format)
	}
	fopt := cfg.FormatOptions
	fopt.MaxRecordBytes = cfg.MaxRecordBytes
	fopt.Now = func() time.Time { return c.recNow } // a record without a time of its own: Kafka's timestamp
	if c.parse, err = f.Record(fopt); err != nil {
		return nil, err
	}
	start := kgo.NewOffset().AtStart()
	if cfg.StartAtLatest {
		start = kgo.NewOffset().AtEnd()
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...), kgo.ClientID(cfg.ClientID),
		kgo.ConsumerGroup(cfg.Group), kgo.ConsumeTopics(cfg.Topics...),
		kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(), kgo.ConsumeResetOffset(start),
		kgo.SessionTimeout(cfg.SessionTimeout), kgo.FetchMaxWait(500 * time.Millisecond),
		kgo.FetchMaxPartitionBytes(int32(min(cfg.MaxRecordBytes*4, 64<<20))),
	}
	if cfg.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(cfg.TLS))
	}
	mech, err := mechanism(cfg)
	if err != nil {
		return nil, err
	}
	if mech != nil {
		opts = append(opts, kgo.SASL(mech))
	}
	if c.cl, err = kgo.NewClient(opts...); err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go c.run(ctx)
	return c, nil
}

// Committed returns how many records this consumer has committed.
func (c *Consumer) Committed() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.committed
}

// Stop stops polling, lets the batch in flight be stored and committed
// (for up to StopGrace), and leaves the group.
func (c *Consumer) Stop() {
	c.cancel()
	<-c.done
	c.cl.CloseAllowingRebalance() // a poll's rebalance block would hold LeaveGroup
}

func (c *Consumer) run(ctx context.Context) {
	defer close(c.done)
	for {
		fetches := c.cl.PollRecords(ctx, c.cfg.MaxPollRecords)
		if ctx.Err() != nil && fetches.Empty() {
			return
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				c.warn.Warn("kafka fetch failed", "topic", topic, "partition", p, "err", err)
			}
		})
		var recs []*kgo.Record
		fetches.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
		if len(recs) > 0 {
			c.deliver(ctx, recs)
		}
		c.cl.AllowRebalance()
		if ctx.Err() != nil {
			return
		}
	}
}

// deliver stores a batch on the bus, retrying until it is stored, then
// commits its offsets. While running it retries for as long as the bus
// refuses (the consumer must not poll past records it could not store:
// they would not be fetched again); once Stop was called it tries for 30
// seconds more, then leaves the batch uncommitted, to come again at the
// next start. Offsets of records not stored are never committed.
func (c *Consumer) deliver(ctx context.Context, recs []*kgo.Record) {
	now := c.cfg.Now()
	events := make([]event.Event, 0, len(recs))
	for _, r := range recs {
		events = append(events, c.toEvent(r, now))
	}
	pctx, cancel := graceContext(ctx, c.cfg.StopGrace)
	defer cancel()
	stored := 0
	for attempt := 0; stored < len(events); attempt++ {
		n, err := ingest.PublishAll(pctx, c.cfg.Pub, Source, events[stored:])
		stored += n
		if err == nil {
			break
		}
		if pctx.Err() != nil {
			c.cfg.Log.Error("kafka batch not stored at shutdown; its offsets are not committed and the records will come again", "records", len(events)-stored, "err", err)
			return
		}
		c.warn.Warn("bus refused a kafka batch; retrying", "records", len(events)-stored, "err", err)
		select {
		case <-time.After(min(time.Duration(attempt+1)*100*time.Millisecond, 2*time.Second)):
		case <-pctx.Done():
		}
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer ccancel()
	if err := c.cl.CommitRecords(cctx, recs...); err != nil {
		// Stored but not committed: the records will come again (at least
		// once).
		c.cfg.Log.Warn("kafka offsets not committed; the stored records will be delivered again", "records", len(recs), "err", err)
		return
	}
	c.mu.Lock()
	c.committed += int64(len(recs))
	c.mu.Unlock()
}

// graceContext is a context that ends grace after ctx ends.
func graceContext(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	out, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-ctx.Done():
			select {
			case <-time.After(grace):
				cancel()
			case <-out.Done():
			}
		case <-out.Done():
		}
	}()
	return out, cancel
}

// toEvent parses one record. Its value is the record in the configured
// format; topic, partition, offset and key are kept under kafka.*.
func (c *Consumer) toEvent(r *kgo.Record, now time.Time) event.Event {
	var e event.Event
	e.Fields = make([]event.Field, 0, 24)
	c.recNow = r.Timestamp
	if c.recNow.IsZero() {
		c.recNow = now
	}
	val := r.Value
	truncated := 0
	if len(val) > c.cfg.MaxRecordBytes {
		truncated = len(val)
		val = val[:c.cfg.MaxRecordBytes]
	}
	if err := c.parse(val, &e); err != nil {
		// A record that cannot be an event of the format (JSON that is
		// not an object): kept with its text and the reason.
		e.Reset()
		e.Time = c.recNow
		e.Set(event.FieldMessage, string(val))
		e.Set(event.FieldOriginal, string(val))
		e.Set(event.FieldParseError, fmt.Sprintf("%s: %v", c.cfg.Format, err))
	}
	if truncated > 0 {
		e.Set("vigil.truncated", "true")
		e.Set("vigil.original_size", strconv.Itoa(truncated))
	}
	e.Set("kafka.topic", r.Topic)
	e.Set("kafka.partition", strconv.Itoa(int(r.Partition)))
	e.Set("kafka.offset", strconv.FormatInt(r.Offset, 10))
	if len(r.Key) > 0 && len(r.Key) <= 256 {
		e.Set("kafka.key", string(r.Key))
	}
	ingest.Stamp(&e, now)
	c.m.Count(&e)
	c.m.Bytes.Add(float64(len(r.Value)))
	return e
}
