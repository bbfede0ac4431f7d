package integrity

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/store"
)

// benchBatch is a batch of n syslog-like events of about 25 fields.
func benchBatch(n int) []event.Event {
	now := time.Now()
	evs := make([]event.Event, n)
	for i := range evs {
		e := event.Event{Time: now.Add(time.Duration(i) * time.Millisecond)}
		e.Add("message", fmt.Sprintf("Failed password for user%d from 10.0.%d.%d port %d ssh2", i%50, i%200, i%250, 40000+i))
		for _, kv := range [][2]string{{"host.name", "ehr-db-01"}, {"event.module", "system"}, {"event.dataset", "system.auth"}, {"event.category", "authentication"},
			{"event.action", "ssh_login"}, {"event.outcome", "failure"}, {"event.type", "info"}, {"process.name", "sshd"}, {"service.name", "sshd"},
			{"log.syslog.facility.name", "auth"}, {"log.syslog.severity.name", "info"}, {"log.syslog.priority", "38"}, {"log.syslog.hostname", "ehr-db-01"},
			{"system.auth.ssh.method", "password"}, {"source.port", fmt.Sprint(40000 + i)}, {"observer.type", "syslog"}, {"ecs.version", "8.11.0"},
			{"event.ingested", now.Format(time.RFC3339Nano)}, {"agent.type", "vigil"}, {"input.type", "syslog-tcp"}} {
			e.Add(kv[0], kv[1])
		}
		e.Add("user.name", fmt.Sprintf("user%d", i%50))
		e.Add("source.ip", fmt.Sprintf("10.0.%d.%d", i%200, i%250))
		e.Add("process.pid", fmt.Sprint(1000+i%3000))
		e.Add(event.FieldID, fmt.Sprintf("7-%d", i))
		evs[i] = e
	}
	return evs
}

// BenchmarkSeal is the sealing cost per event (the writer's workers pay it
// before adding a batch); BenchmarkStoreAdd, the cost of adding the same
// events to the store, in the same run for comparison.
func BenchmarkSeal(b *testing.B) {
	l, err := OpenLedger(context.Background(), filepath.Join(b.TempDir(), "l.db"), LedgerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	evs := benchBatch(500)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		l.Seal(uint64(i+1), "bench", evs)
		if i%64 == 63 {
			b.StopTimer()
			l.Commit(context.Background(), uint64(i+1))
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}

func BenchmarkStoreAdd(b *testing.B) {
	s, err := store.Open(b.TempDir(), store.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	evs := benchBatch(500)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s.Add(evs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}

// BenchmarkCommit is the cost of making 64 batches' seals durable (one
// store-writer flush's worth at a high rate).
func BenchmarkCommit(b *testing.B) {
	l, err := OpenLedger(context.Background(), filepath.Join(b.TempDir(), "l.db"), LedgerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	evs := benchBatch(10)
	seq := uint64(0)
	b.ResetTimer()
	for range b.N {
		for range 64 {
			seq++
			l.Seal(seq, "bench", evs)
		}
		if err := l.Commit(context.Background(), seq); err != nil {
			b.Fatal(err)
		}
	}
}
