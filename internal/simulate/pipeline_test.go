package simulate

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/detect/correlation"
	"github.com/vigil-siem/vigil/internal/detect/detector"
	"github.com/vigil-siem/vigil/internal/detect/enrich"
	"github.com/vigil-siem/vigil/internal/detect/sigma/engine"
	"github.com/vigil-siem/vigil/internal/directory"
	"github.com/vigil-siem/vigil/internal/ehr"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/formats"
	"github.com/vigil-siem/vigil/internal/parse/hl7"
	"github.com/vigil-siem/vigil/rules/healthcare"
)

func repoRoot(t testing.TB) string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		p := filepath.Dir(dir)
		if p == dir {
			t.Fatal("go.mod not found")
		}
		dir = p
	}
}

// pipeline is Vigil's detection path in one process, with the real
// components: parsers, the directory (SQLite), the enricher, the built-in
// rules compiled by the Sigma engine, the correlation engine.
type pipeline struct {
	t      testing.TB
	r      *renderer
	dir    *directory.Store
	en     *enrich.Enricher
	worker *engine.Worker
	corr   *correlation.Engine
	epic   *ehr.Mapping
	n      int
	alerts []AlertRef
	// events are the enriched events, kept when keep is set.
	keep   bool
	events []event.Event
}

func newPipeline(t testing.TB, plan *Plan) *pipeline {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	dir, err := directory.New(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	res, err := dir.ImportWorkforce(ctx, strings.NewReader(RosterCSV(plan.H)), directory.ImportOptions{})
	if err != nil || res.ErrorTotal > 0 {
		t.Fatalf("roster: %v %+v", err, res)
	}
	en, err := enrich.New(enrich.Config{Directory: dir, Location: plan.Opt.Location, Baseline: plan.Opt.Baseline})
	if err != nil {
		t.Fatal(err)
	}
	ph := filepath.Join(t.TempDir(), "placeholders.yml")
	data, _ := yaml.Marshal(healthcare.DefaultPlaceholders())
	os.WriteFile(ph, data, 0o600)
	rules, err := detector.Load(ctx, detector.LoadOptions{Dirs: []string{filepath.Join(repoRoot(t), "rules")}, PlaceholdersFile: ph})
	if err != nil {
		t.Fatal(err)
	}
	if len(rules.Rejected) > 0 {
		t.Fatalf("rules rejected: %+v", rules.Rejected)
	}
	epic, _ := ehr.Preset("epic")
	return &pipeline{t: t, r: &renderer{loc: plan.Opt.Location, seed: plan.Opt.Seed}, dir: dir, en: en, worker: rules.Engine.NewWorker(),
		corr: correlation.New(rules.Correlations, rules.Engine, correlation.Options{}), epic: epic}
}

// events turns an intent into the events Vigil would store, through the
// parsers the listeners use (package formats), and applies ADT messages
// to the directory as the MLLP listener does.
func (p *pipeline) eventsOf(in *Intent) []event.Event {
	t := p.t
	var format string
	var data []byte
	switch in.Kind {
	case KindADT:
		format, data = "hl7", p.r.adt(in)
		m, err := hl7.Parse(data, hl7.Limits{})
		if err != nil {
			t.Fatalf("ADT %s seq %d: %v", in.Trigger, in.Seq, err)
		}
		a, err := hl7.ExtractADT(m, p.r.loc)
		if err != nil {
			t.Fatalf("ADT %s seq %d: extract: %v", in.Trigger, in.Seq, err)
		}
		if _, err := p.dir.ApplyADT(context.Background(), a); err != nil {
			t.Fatalf("ADT %s seq %d: apply: %v", in.Trigger, in.Seq, err)
		}
	case KindEHR:
		rd, err := ehr.NewReader(strings.NewReader(ehrColumns+"\n"+p.r.ehrRow(in)+"\n"), p.epic, ehr.Options{Path: "x.csv"})
		if err != nil {
			t.Fatal(err)
		}
		row, err := rd.Next()
		if err != nil || row.Err != nil {
			t.Fatalf("EHR row seq %d: %v %v", in.Seq, err, row.Err)
		}
		return []event.Event{row.Event}
	case KindFHIR:
		format, data = "fhir", p.r.fhir(in)
	case KindATNA, KindSSH, KindSudo:
		format, data = "syslog", p.r.render(in)
	case KindWinLogon:
		format, data = "ndjson", p.r.winlogon(in)
	}
	var out []event.Event
	f, err := formats.Lookup(format)
	if err != nil {
		t.Fatal(err)
	}
	problems, err := f.File(bytes.NewReader(data), formats.Options{Location: p.r.loc, Now: func() time.Time { return in.T }},
		func(e *event.Event) error { out = append(out, e.Clone()); return nil })
	if err != nil || len(problems) > 0 || len(out) != 1 {
		t.Fatalf("%s seq %d: %v %v, %d events\n%s", format, in.Seq, err, problems, len(out), data)
	}
	if pe := out[0].Value(event.FieldParseError); pe != "" {
		t.Fatalf("%s seq %d: %s\n%s", format, in.Seq, pe, data)
	}
	return out
}

var alertKeys = []string{"user.name", "source.ip", "healthcare.patient.id", "host.name"}

func (p *pipeline) run(plan *Plan) {
	ctx := context.Background()
	for i := range plan.Intents {
		in := &plan.Intents[i]
		for _, ev := range p.eventsOf(in) {
			p.n++
			ev.Set(event.FieldID, fmt.Sprintf("%d-0", p.n))
			p.en.Enrich(ctx, &ev)
			if p.keep {
				p.events = append(p.events, ev.Clone())
			}
			p.worker.Match(&ev, func(m *engine.Match) {
				if m.Rule.Alert {
					a := AlertRef{RuleID: m.Rule.ID, Title: m.Rule.Title, Time: m.Event.Time, Fields: map[string]string{}}
					for _, k := range alertKeys {
						if v := m.Event.Value(k); v != "" {
							a.Fields[k] = v
						}
					}
					p.alerts = append(p.alerts, a)
				}
				if m.Rule.Correlated {
					p.correlated(p.corr.Observe(m))
				}
			})
		}
	}
	p.correlated(p.corr.Flush(plan.Opt.Start.Add(plan.Opt.Span + 24*time.Hour)))
}

func (p *pipeline) correlated(as []correlation.Alert) {
	for _, a := range as {
		if !a.Standalone {
			continue
		}
		r := AlertRef{RuleID: a.RuleID, Title: a.Title, Time: a.Last, GroupBy: map[string]string{}}
		for _, g := range a.GroupBy {
			r.GroupBy[g.Name] = g.Value
		}
		p.alerts = append(p.alerts, r)
	}
}

// TestPipelineDetectsIncidents runs simulated days through Vigil's
// detection path in one process and compares the alerts with the ground
// truth: every incident detected by its rules, no false positive from the
// benign background.
func TestPipelineDetectsIncidents(t *testing.T) {
	for _, tc := range []struct {
		seed      uint64
		loc       string
		startHour int
		span      time.Duration
		incidents int
	}{
		{1, "UTC", 6, 42 * time.Hour, 14},
		{7, "America/Chicago", 6, 42 * time.Hour, 14},
		// Started at night: the outside-hours incident needs the nurses'
		// baselines to be warm, which takes more than this period.
		{3, "UTC", 21, 30 * time.Hour, 13},
	} {
		t.Run(fmt.Sprintf("seed %d %s %02d:00 %v", tc.seed, tc.loc, tc.startHour, tc.span), func(t *testing.T) {
			loc, err := time.LoadLocation(tc.loc)
			if err != nil {
				t.Skip("time zone data not available:", err)
			}
			start := time.Date(2026, 11, 26, tc.startHour, 0, 0, 0, loc)
			plan := NewPlan(PlanOptions{Seed: tc.seed, Start: start, Span: tc.span, Location: loc, Incidents: true})
			if len(plan.Incidents) != tc.incidents {
				t.Fatalf("%d incidents injected, want %d (skipped: %v)", len(plan.Incidents), tc.incidents, plan.Skipped)
			}
			p := newPipeline(t, plan)
			p.run(plan)
			s := Compare(plan.Truth(), p.alerts)
			t.Logf("%d events, %d alerts\n%s", p.n, len(p.alerts), s.Summary())
			if len(s.Missed) > 0 {
				t.Errorf("missed detections: %v", s.Missed)
			}
			for _, a := range s.FalsePositives {
				t.Errorf("false positive: %s at %s %v %v", a.Title, a.Time.Format(time.RFC3339), a.Fields, a.GroupBy)
			}
			if len(s.Detected) < tc.incidents {
				t.Errorf("%d detections, want at least one per incident", len(s.Detected))
			}
		})
	}
}
