package kafkain

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/bus/bustest"
	"github.com/vigil-siem/vigil/internal/ingest"
)

const topic = "hospital-logs"

// cluster starts a Kafka-protocol broker (franz-go's kfake) on loopback
// with a two-partition topic, and a producer client.
func cluster(t *testing.T) ([]string, *kgo.Client) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	prod, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	return c.ListenAddrs(), prod
}

func produce(t *testing.T, prod *kgo.Client, from, n int) {
	t.Helper()
	var recs []*kgo.Record
	for i := from; i < from+n; i++ {
		v := fmt.Sprintf(`{"@timestamp":"2026-11-28T10:00:%02d.%03dZ","host.name":"kafka-host","message":"record %d","seq":%d}`, i%60, i%1000, i, i)
		recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprint(i % 7)), Value: []byte(v)})
	}
	recs = append(recs[:0:0], recs...)
	if err := prod.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// committedOffsets asks the broker for the group's committed offsets,
// summed over the topic's partitions (a partition without one counts 0).
func committedOffsets(t *testing.T, brokers []string, group string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = topic
	rt.Partitions = []int32{0, 1}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, tp := range resp.Topics {
		for _, p := range tp.Partitions {
			if p.Offset > 0 {
				sum += p.Offset
			}
		}
	}
	return sum
}

func start(t *testing.T, brokers []string, pub ingest.Publisher, group string) *Consumer {
	t.Helper()
	c, err := Start(Config{Brokers: brokers, Topics: []string{topic}, Group: group, Pub: pub,
		Metrics: ingest.NewMetrics(prometheus.NewRegistry()), SessionTimeout: 6 * time.Second, StopGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func waitCommitted(t *testing.T, c *Consumer, n int64) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for c.Committed() < n {
		if time.Now().After(deadline) {
			t.Fatalf("committed %d records, want %d", c.Committed(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestConsumeCommitRestart: records reach the bus with their fields; the
// offsets are committed once stored; after a restart the group goes on
// where it committed (the 100 first records are not delivered again).
func TestConsumeCommitRestart(t *testing.T) {
	brokers, prod := cluster(t)
	b, cons := bustest.Open(t, bus.Config{})
	produce(t, prod, 0, 100)
	c := start(t, brokers, b, "vigil-a")
	evs := bustest.Events(t, cons, Source, 100)
	waitCommitted(t, c, 100)
	c.Stop()
	seen := map[string]bool{}
	for _, e := range evs {
		seen[e.Value("seq")] = true
		if e.Value("kafka.topic") != topic || e.Value("kafka.offset") == "" || e.Value("host.name") != "kafka-host" || e.Has("vigil.parse_error") {
			t.Fatalf("event %v", e.Fields)
		}
		if e.Time.Year() != 2026 {
			t.Fatalf("time %v: want the record's @timestamp", e.Time)
		}
	}
	if len(seen) != 100 {
		t.Fatalf("%d distinct records of 100", len(seen))
	}
	if got := committedOffsets(t, brokers, "vigil-a"); got != 100 {
		t.Fatalf("broker says %d offsets committed, want 100", got)
	}
	// Restart: only what came since.
	produce(t, prod, 100, 20)
	c = start(t, brokers, b, "vigil-a")
	defer c.Stop()
	evs = bustest.Events(t, cons, Source, 20)
	for _, e := range evs {
		var n int
		fmt.Sscan(e.Value("seq"), &n)
		if n < 100 {
			t.Fatalf("record %d delivered again after its offset was committed", n)
		}
	}
}

// refusing is a bus that refuses batches while closed is set (a full or
// unavailable bus).
type refusing struct {
	ingest.Publisher
	closed   atomic.Bool
	attempts atomic.Int64
}

func (r *refusing) Publish(ctx context.Context, source string, batch []byte) (uint64, error) {
	r.attempts.Add(1)
	if r.closed.Load() {
		return 0, errors.New("bus refused the batch")
	}
	return r.Publisher.Publish(ctx, source, batch)
}

// TestNoCommitBeforeStorage: while the bus refuses, no offset is
// committed; the consumer stopped in that state (a restart) loses
// nothing — the next one gets every record; a bus that comes back takes
// the batch and the offsets follow.
func TestNoCommitBeforeStorage(t *testing.T) {
	brokers, prod := cluster(t)
	b, cons := bustest.Open(t, bus.Config{})
	pub := &refusing{Publisher: b}
	pub.closed.Store(true)
	produce(t, prod, 0, 30)
	c := start(t, brokers, pub, "vigil-b")
	deadline := time.Now().Add(15 * time.Second)
	for pub.attempts.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if pub.attempts.Load() < 3 {
		t.Fatal("the consumer never tried to store the batch")
	}
	if got := committedOffsets(t, brokers, "vigil-b"); got != 0 || c.Committed() != 0 {
		t.Fatalf("offsets committed (%d, %d) while the bus refused", got, c.Committed())
	}
	// Stop while refusing: the grace (1s here) ends without storage.
	// Nothing committed.
	stopped := make(chan struct{})
	go func() { c.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(40 * time.Second):
		t.Fatal("Stop did not return after its grace")
	}
	if got := committedOffsets(t, brokers, "vigil-b"); got != 0 {
		t.Fatalf("offsets committed (%d) for records never stored", got)
	}
	// Restart with the bus back: all 30 arrive, then the offsets.
	pub.closed.Store(false)
	c = start(t, brokers, pub, "vigil-b")
	defer c.Stop()
	bustest.Events(t, cons, Source, 30)
	waitCommitted(t, c, 30)
	if got := committedOffsets(t, brokers, "vigil-b"); got != 30 {
		t.Fatalf("broker says %d committed, want 30", got)
	}
}
