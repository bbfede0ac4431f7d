package evtx_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/vigil-siem/vigil/internal/cputime"
	"github.com/vigil-siem/vigil/internal/detect/sigma/offline"
	"github.com/vigil-siem/vigil/internal/parse/evtx"
)

// BenchmarkScanFullRuleSet is `vigil sigma scan` of an EVTX file with the
// whole shared SigmaHQ rule set (rules, emerging threats, threat hunting,
// compliance), the figure comparable to Hayabusa's MB/s: EVTX parsing,
// evtx_dump JSON, flattening, routing and every rule, matches written as
// JSON lines. The rules are compiled once, before the timer, as a
// long-running scan amortizes them; MB/cpu-s is file bytes per second of
// this process's CPU time.
func BenchmarkScanFullRuleSet(b *testing.B) {
	sigmahq := filepath.Dir(evtx.CorpusDir(b))
	var dirs []string
	for _, d := range []string{"rules", "rules-emerging-threats", "rules-threat-hunting", "rules-compliance"} {
		dirs = append(dirs, filepath.Join(sigmahq, d))
	}
	data := evtx.FullChunksFile(256)
	path := filepath.Join(b.TempDir(), "sysmon.evtx")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	s, err := offline.NewScanner(ctx, io.Discard, offline.Config{Rules: dirs, JSON: true})
	if err != nil {
		b.Fatal(err)
	}
	// The first scan compiles the engine for the evtx_dump layout.
	first, err := s.Scan(ctx, io.Discard, io.Discard, []string{path})
	if err != nil {
		b.Fatal(err)
	}
	if first.Events == 0 {
		b.Fatal("scan read no events from the EVTX file")
	}
	b.SetBytes(int64(len(data)))
	runtime.GC()
	cpu0 := cputime.Self()
	b.ResetTimer()
	events, matches := 0, 0
	for i := 0; i < b.N; i++ {
		res, err := s.Scan(ctx, io.Discard, io.Discard, []string{path})
		if err != nil {
			b.Fatal(err)
		}
		events += res.Events
		matches += res.Matches
	}
	b.StopTimer()
	cpu := cputime.Self() - cpu0
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(matches)/float64(events), "matches/event")
	if cpu > 0 {
		b.ReportMetric(float64(len(data))*float64(b.N)/1e6/cpu.Seconds(), "MB/cpu-s")
		b.ReportMetric(float64(events)/cpu.Seconds(), "events/cpu-s")
	}
}
