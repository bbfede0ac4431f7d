package simulate

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestExplains lists, for incidents of each kind of match rule, alerts
// that their incident must and must not explain.
func TestExplains(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	privacy := TruthRecord{Incident: IncSnoopVIP, Rules: []string{"r-vip"}, User: "ann", Patient: "MRN1",
		SourceIP: "10.0.0.5", Start: t0, End: t0.Add(2 * time.Minute)}
	bulk := TruthRecord{Incident: IncBulkAccess, Rules: []string{"r-bulk"}, User: "bill", Start: t0, End: t0.Add(time.Hour)}
	burst := TruthRecord{Incident: IncClinicalLoginBurst, Rules: []string{"r-burst"}, User: "rad", SourceIP: "10.30.4.99",
		Start: t0, End: t0.Add(5 * time.Minute)}
	spray := TruthRecord{Incident: IncPasswordSpray, Rules: []string{"r-spray"}, SourceIP: "203.0.113.66", Host: "citrix",
		Start: t0, End: t0.Add(20 * time.Minute)}
	// An incident type without a row matches on every entity it names.
	unknown := TruthRecord{Incident: "new_kind", Rules: []string{"r-new"}, User: "ann", SourceIP: "10.0.0.5", Start: t0, End: t0}
	nobody := TruthRecord{Incident: "new_kind", Rules: []string{"r-new"}, Start: t0, End: t0}

	at := func(d time.Duration) time.Time { return t0.Add(d) }
	fields := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, c := range []struct {
		name  string
		truth TruthRecord
		alert AlertRef
		want  bool
	}{
		{"privacy: user and patient", privacy, AlertRef{RuleID: "r-vip", Time: at(time.Minute), Fields: fields("user.name", "ANN", "healthcare.patient.id", "MRN1")}, true},
		{"privacy: names neither", privacy, AlertRef{RuleID: "r-vip", Time: at(time.Minute)}, false},
		{"privacy: names neither, other fields", privacy, AlertRef{RuleID: "r-vip", Time: at(time.Minute), Fields: fields("host.name", "ws-1", "source.ip", "10.0.0.5")}, false},
		{"privacy: user only", privacy, AlertRef{RuleID: "r-vip", Time: at(time.Minute), Fields: fields("user.name", "ann")}, false},
		{"privacy: patient only", privacy, AlertRef{RuleID: "r-vip", Time: at(time.Minute), Fields: fields("healthcare.patient.id", "MRN1")}, false},
		{"privacy: another patient", privacy, AlertRef{RuleID: "r-vip", Time: at(time.Minute), Fields: fields("user.name", "ann", "healthcare.patient.id", "MRN2")}, false},
		{"privacy: another user", privacy, AlertRef{RuleID: "r-vip", Time: at(time.Minute), Fields: fields("user.name", "bob", "healthcare.patient.id", "MRN1")}, false},
		{"privacy: patient ids are exact", privacy, AlertRef{RuleID: "r-vip", Time: at(time.Minute), Fields: fields("user.name", "ann", "healthcare.patient.id", "mrn1")}, false},
		{"privacy: group-by names them", privacy, AlertRef{RuleID: "r-vip", Time: at(time.Minute), GroupBy: fields("user.name", "ann", "healthcare.patient.id", "MRN1")}, true},
		{"privacy: group-by wins over fields", privacy, AlertRef{RuleID: "r-vip", Time: at(time.Minute),
			GroupBy: fields("user.name", "bob"), Fields: fields("user.name", "ann", "healthcare.patient.id", "MRN1")}, false},
		{"privacy: another rule", privacy, AlertRef{RuleID: "r-other", Time: at(time.Minute), Fields: fields("user.name", "ann", "healthcare.patient.id", "MRN1")}, false},
		{"privacy: within slack after", privacy, AlertRef{RuleID: "r-vip", Time: at(2*time.Minute + Slack), Fields: fields("user.name", "ann", "healthcare.patient.id", "MRN1")}, true},
		{"privacy: past slack", privacy, AlertRef{RuleID: "r-vip", Time: at(2*time.Minute + Slack + time.Second), Fields: fields("user.name", "ann", "healthcare.patient.id", "MRN1")}, false},
		{"privacy: before slack", privacy, AlertRef{RuleID: "r-vip", Time: at(-Slack - time.Second), Fields: fields("user.name", "ann", "healthcare.patient.id", "MRN1")}, false},

		{"bulk: user", bulk, AlertRef{RuleID: "r-bulk", Time: at(time.Hour), GroupBy: fields("user.name", "bill")}, true},
		{"bulk: names neither", bulk, AlertRef{RuleID: "r-bulk", Time: at(time.Hour)}, false},
		{"bulk: another user", bulk, AlertRef{RuleID: "r-bulk", Time: at(time.Hour), GroupBy: fields("user.name", "ann")}, false},

		{"burst: user", burst, AlertRef{RuleID: "r-burst", Time: at(time.Minute), GroupBy: fields("user.name", "rad")}, true},
		{"burst: source ip", burst, AlertRef{RuleID: "r-burst", Time: at(time.Minute), GroupBy: fields("source.ip", "10.30.4.99")}, true},
		{"burst: names neither", burst, AlertRef{RuleID: "r-burst", Time: at(time.Minute), GroupBy: fields("host.name", "pacs")}, false},
		{"burst: other user, same ip", burst, AlertRef{RuleID: "r-burst", Time: at(time.Minute), GroupBy: fields("user.name", "x", "source.ip", "10.30.4.99")}, true},
		{"burst: other user and ip", burst, AlertRef{RuleID: "r-burst", Time: at(time.Minute), GroupBy: fields("user.name", "x", "source.ip", "10.0.0.1")}, false},

		{"spray: source ip", spray, AlertRef{RuleID: "r-spray", Time: at(10 * time.Minute), GroupBy: fields("source.ip", "203.0.113.66")}, true},
		{"spray: names neither", spray, AlertRef{RuleID: "r-spray", Time: at(10 * time.Minute)}, false},
		{"spray: host only", spray, AlertRef{RuleID: "r-spray", Time: at(10 * time.Minute), Fields: fields("host.name", "citrix")}, false},
		{"spray: another address", spray, AlertRef{RuleID: "r-spray", Time: at(10 * time.Minute), GroupBy: fields("source.ip", "203.0.113.67")}, false},

		{"no row: every named entity", unknown, AlertRef{RuleID: "r-new", Time: t0, Fields: fields("user.name", "ann", "source.ip", "10.0.0.5")}, true},
		{"no row: one of two", unknown, AlertRef{RuleID: "r-new", Time: t0, Fields: fields("user.name", "ann")}, false},
		{"no row, names nobody: names neither", nobody, AlertRef{RuleID: "r-new", Time: t0}, false},
		{"no row, names nobody: any alert", nobody, AlertRef{RuleID: "r-new", Time: t0, Fields: fields("user.name", "ann")}, false},
	} {
		got := c.truth.explains(&c.alert, c.truth.Rules)
		if got != c.want {
			t.Errorf("%s: %s explains %+v: got %v, want %v", c.name, c.truth.Incident, c.alert, got, c.want)
		}
	}
}

// TestCompare scores detections and false positives by the same rule: an
// alert of the right rule and time that names neither entity neither
// detects the incident nor counts as explained.
func TestCompare(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	truth := []TruthRecord{
		{Incident: IncSnoopVIP, Rules: []string{"r-vip"}, User: "ann", Patient: "MRN1", Start: t0, End: t0.Add(2 * time.Minute)},
		{Incident: IncPasswordSpray, Rules: []string{"r-spray"}, Also: []string{"r-burst"}, SourceIP: "203.0.113.66", Start: t0, End: t0.Add(20 * time.Minute)},
		{Incident: IncBulkAccess, Rules: []string{"r-bulk"}, User: "bill", Start: t0, End: t0.Add(time.Hour)},
	}
	alerts := []AlertRef{
		{RuleID: "r-vip", Title: "vip", Time: t0.Add(time.Minute), Fields: map[string]string{"user.name": "ANN", "healthcare.patient.id": "MRN1"}},
		{RuleID: "r-vip", Title: "vip", Time: t0.Add(time.Minute), Fields: map[string]string{"user.name": "bob", "healthcare.patient.id": "MRN1"}}, // another user
		{RuleID: "r-vip", Title: "vip", Time: t0.Add(time.Minute), Fields: map[string]string{"user.name": "ann", "healthcare.patient.id": "MRN9"}}, // another patient
		{RuleID: "r-burst", Title: "burst", Time: t0.Add(10 * time.Minute), GroupBy: map[string]string{"source.ip": "203.0.113.66"}},               // also
		{RuleID: "r-spray", Title: "spray", Time: t0.Add(3 * time.Hour), GroupBy: map[string]string{"source.ip": "203.0.113.66"}},                  // too late
		{RuleID: "r-bulk", Title: "bulk", Time: t0.Add(30 * time.Minute)},                                                                          // names nobody
	}
	s := Compare(truth, alerts)
	var fp []string
	for _, a := range s.FalsePositives {
		fp = append(fp, a.Title+" "+a.Time.Sub(t0).String())
	}
	if !slices.Equal(s.Detected, []string{IncSnoopVIP + ": r-vip"}) ||
		!slices.Equal(s.Missed, []string{IncPasswordSpray + ": r-spray", IncBulkAccess + ": r-bulk"}) ||
		s.Related != 2 || !slices.Equal(fp, []string{"vip 1m0s", "vip 1m0s", "spray 3h0m0s", "bulk 30m0s"}) {
		t.Fatalf("detected %v, missed %v, related %d, false positives %v", s.Detected, s.Missed, s.Related, fp)
	}
	if sum := s.Summary(); !strings.Contains(sum, "2 missed") || !strings.Contains(sum, "4 false positives") {
		t.Fatal(sum)
	}
}

// TestMatchRulesCoverIncidents: every incident the planner injects has a
// match rule, and every entity the rule needs is named by its ground
// truth (a rule needing an entity the record leaves empty could never
// match).
func TestMatchRulesCoverIncidents(t *testing.T) {
	seen := map[string]TruthRecord{}
	for _, seed := range []uint64{1, 7} {
		start := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
		plan := NewPlan(PlanOptions{Seed: seed, Start: start, Span: 42 * time.Hour, Location: time.UTC, Incidents: true})
		for _, rec := range plan.Truth() {
			seen[rec.Incident] = rec
		}
	}
	if len(seen) < 14 {
		t.Errorf("the plans injected %d incident types, want the 14 the simulator has", len(seen))
	}
	for typ, rec := range seen {
		alts, ok := MatchRules[typ]
		if !ok {
			t.Errorf("incident type %q has no row in MatchRules", typ)
			continue
		}
		for _, alt := range alts {
			for _, e := range alt {
				if entityFields[e].truth(&rec) == "" {
					t.Errorf("%s: its match rule needs the %s, which its ground truth does not name", typ, e)
				}
			}
		}
	}
	for typ := range MatchRules {
		if _, ok := seen[typ]; !ok {
			t.Errorf("MatchRules has a row for %q, which no plan injected", typ)
		}
	}
}
