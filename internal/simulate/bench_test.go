package simulate

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/cputime"
	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/ehr"
	"github.com/vigil-siem/vigil/internal/event"
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

// privacyBench is the setup of BenchmarkPrivacyImport, shared by its
// runs: building the hospital and loading its ADT history takes seconds.
var privacyBench struct {
	p   *pipeline
	evs []event.Event
}

// BenchmarkPrivacyImport measures what a historical import costs the
// privacy analytics per access: the annotation (enrichment from the
// directory, explanation, learning templates) and the privacy rules, on a
// 300-bed hospital's week whose roster and ADT history are loaded first,
// with the access log arriving in import requests of 2,000 rows as
// vigil ehr import sends them (the parsing of the rows is not counted).
// One op is one access; accesses/s is wall time over the timed part,
// ops/cpu-s the process's CPU time (both cores when GOMAXPROCS allows:
// the enrichment of a large batch runs in parallel). Past the week the
// accesses are replayed from its start.
//
//	go test -run XXX -bench BenchmarkPrivacyImport -benchtime 40000x ./internal/simulate/
func BenchmarkPrivacyImport(b *testing.B) {
	ctx := context.Background()
	if privacyBench.p == nil {
		start := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
		plan := NewPlan(PlanOptions{Seed: 23, Start: start, Span: 7 * 24 * time.Hour, Location: time.UTC, Beds: 300, Incidents: true, Rounds: 3})
		opt := EvalOptions{Dir: b.TempDir()}
		d, err := db.Open(filepath.Join(opt.Dir, "vigil.db"))
		if err != nil {
			b.Fatal(err)
		}
		p, err := newPipeline(ctx, plan, opt, d)
		if err != nil {
			b.Fatal(err)
		}
		var evs []event.Event
		for i := range plan.Intents {
			in := &plan.Intents[i]
			switch in.Kind {
			case KindADT:
				if _, err := p.eventsOf(ctx, in); err != nil {
					b.Fatal(err)
				}
				continue
			case KindEHR:
			case KindFHIR:
				c := *in
				c.Kind, c.Action, c.Host = KindEHR, strings.ToUpper(in.Action)+" READ", in.W.Workstation
				in = &c
			default:
				continue
			}
			es, err := p.eventsOf(ctx, in)
			if err != nil {
				b.Fatal(err)
			}
			for _, e := range es {
				e.Set(event.FieldImport, "true")
				e.Set(event.FieldID, fmt.Sprintf("%d-0", len(evs)+1))
				evs = append(evs, e)
			}
		}
		privacyBench.p, privacyBench.evs = p, evs
	}
	p, src := privacyBench.p, privacyBench.evs
	const batch = 2000
	evs := make([]event.Event, batch)
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration
	alerts := 0
	for done, k := 0, 0; done < b.N; {
		b.StopTimer()
		n := min(batch, b.N-done)
		for i := 0; i < n; i++ {
			evs[i] = src[k].Clone()
			k = (k + 1) % len(src)
		}
		b.StartTimer()
		t0 := cputime.Self()
		p.ann.Annotate(ctx, evs[:n])
		for i := 0; i < n; i++ {
			alerts += len(p.prules.Observe(ctx, &evs[i]))
		}
		alerts += len(p.prules.Tick(ctx))
		cpu += cputime.Self() - t0
		done += n
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "accesses/s")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/access")
	}
	if alerts == 0 && b.N >= len(src) {
		b.Fatal("a week of a hospital with injected incidents raised no privacy alert")
	}
}
