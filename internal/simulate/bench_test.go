package simulate

import (
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/ehr"
)

// BenchmarkGenerate plans a simulated day of the default hospital and
// renders every event (what --dry-run does): events/s of the generator.
func BenchmarkGenerate(b *testing.B) {
	start := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	events, bytes := 0, 0
	for i := 0; i < b.N; i++ {
		p := NewPlan(PlanOptions{Seed: uint64(i + 1), Start: start, Span: 24 * time.Hour, Location: time.UTC, Incidents: true})
		r := &renderer{loc: time.UTC, seed: uint64(i + 1)}
		for j := range p.Intents {
			bytes += len(r.render(&p.Intents[j]))
		}
		events += len(p.Intents)
	}
	b.SetBytes(int64(bytes / b.N))
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkLateBodies renders what the HTTP lane sends for a batch: EHR
// rows read back through the Epic preset and Windows logons as NDJSON, FHIR
// AuditEvents as a batch Bundle.
func BenchmarkLateBodies(b *testing.B) {
	start := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	p := NewPlan(PlanOptions{Seed: 1, Start: start, Span: 24 * time.Hour, Location: time.UTC, Activity: 2, Incidents: true})
	var late []*Intent
	for i := range p.Intents {
		if !early(p.Intents[i].Kind) {
			late = append(late, &p.Intents[i])
		}
	}
	m, err := ehr.Preset("epic")
	if err != nil {
		b.Fatal(err)
	}
	n := &netSender{cfg: &Config{}, r: &renderer{loc: time.UTC, seed: 1}, mapping: m}
	const batch = 500
	b.ReportAllocs()
	size := 0
	for i := 0; i < b.N; i++ {
		k := (i * batch) % (len(late) - batch)
		nd, fh, err := n.lateBodies(late[k : k+batch])
		if err != nil {
			b.Fatal(err)
		}
		size += len(nd)
		for _, f := range fh {
			size += len(f)
		}
	}
	b.SetBytes(int64(size / b.N))
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}
