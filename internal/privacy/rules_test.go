package privacy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/detect/enrich"
	"github.com/vigil-siem/vigil/internal/event"
)

var ruleSeq int

// acc builds an annotated access event: user, patient, time, explained,
// then field=value pairs.
func accEvent(user, patient, at string, explained bool, kv ...string) *event.Event {
	ruleSeq++
	ev := &event.Event{Time: tm(at)}
	ev.Add("event.module", "ehr")
	ev.Add("user.name", user)
	ev.Add("healthcare.patient.id", patient)
	ev.Add("event.id", fmt.Sprintf("ACC-%d", ruleSeq))
	ev.Add(event.FieldID, fmt.Sprintf("%d-0", ruleSeq))
	ev.Add(enrich.FieldWorkforceDepartment, "Billing")
	ev.Add(enrich.FieldWorkforceRole, "Clerk")
	x := Explanation{Explained: explained, Code: ExplainNone, Detail: "nothing fits"}
	if explained {
		x.Code, x.Detail = ExplainDeptPattern, "template 3"
	}
	x.Annotate(ev)
	for i := 0; i+1 < len(kv); i += 2 {
		ev.Set(kv[i], kv[i+1])
	}
	return ev
}

func rulesOf(as []alerts.Alert) string {
	var out []string
	for _, a := range as {
		out = append(out, ruleDef(a.RuleID).Name)
	}
	return strings.Join(out, ",")
}

func TestRulesFireOnUnexplainedOnly(t *testing.T) {
	ctx := context.Background()
	cfg, _ := ParseConfig([]byte(`
exclude: {departments: [Compliance]}
rules:
  coworker: {exclude: {roles: [Occupational Health Nurse]}}
  neighbour: {level: low}
`), "test")
	cases := []struct {
		name      string
		explained bool
		kv        []string
		want      string
	}{
		{"family", false, []string{enrich.FieldRelFamily, "true", enrich.FieldRelNextOfKin, "true"}, "family"},
		{"family, explained (care team)", true, []string{enrich.FieldRelFamily, "true"}, ""},
		{"co-worker", false, []string{enrich.FieldRelCoworker, "true"}, "coworker"},
		{"co-worker, excluded role", false, []string{enrich.FieldRelCoworker, "true", enrich.FieldWorkforceRole, "occupational health nurse"}, ""},
		{"co-worker, explained", true, []string{enrich.FieldRelCoworker, "true"}, ""},
		{"VIP", false, []string{enrich.FieldPatientConfidential, "true", enrich.FieldPatientFlags, `["vip"]`}, "vip"},
		{"VIP, excluded department", false, []string{enrich.FieldPatientConfidential, "true", enrich.FieldWorkforceDepartment, "compliance"}, ""},
		{"own record", false, []string{enrich.FieldRelSelf, "true", enrich.FieldPatientWorkforce, "true", enrich.FieldRelCoworker, "false"}, "self"},
		{"own VIP record: self only", false, []string{enrich.FieldRelSelf, "true", enrich.FieldPatientConfidential, "true"}, "self"},
		{"own record, explained: still self", true, []string{enrich.FieldRelSelf, "true", enrich.FieldPatientWorkforce, "true"}, "self"},
		{"deceased", false, []string{enrich.FieldPatientDeceased, "true", enrich.FieldPatientDeceasedTime, "2024-03-01T00:00:00Z"}, "deceased"},
		{"deceased, access before the death", false, []string{enrich.FieldPatientDeceased, "true", enrich.FieldPatientDeceasedTime, "2024-04-01T00:00:00Z"}, ""},
		{"deceased, time unknown", false, []string{enrich.FieldPatientDeceased, "true"}, "deceased"},
		{"neighbour", false, []string{enrich.FieldRelNeighbour, "true"}, "neighbour"},
		{"neighbour and family: family", false, []string{enrich.FieldRelNeighbour, "true", enrich.FieldRelFamily, "true"}, "family"},
		{"unexplained, nothing sensitive", false, nil, ""},
		{"co-worker and VIP", false, []string{enrich.FieldRelCoworker, "true", enrich.FieldPatientConfidential, "true"}, "coworker,vip"},
	}
	for i, c := range cases {
		r := NewRules(cfg, RulesOptions{})
		ev := accEvent(fmt.Sprintf("user%d", i), "MRN1", "2024-03-12T10:00:00Z", c.explained, c.kv...)
		as := r.Observe(ctx, ev)
		if got := rulesOf(as); got != c.want {
			t.Errorf("%s: rules %q, want %q", c.name, got, c.want)
			continue
		}
		for _, a := range as {
			if a.Kind != "privacy" || a.Fields["event.id"] != ev.Value("event.id") || a.Fields["user.name"] != ev.Value("user.name") ||
				a.Fields["healthcare.patient.id"] != "MRN1" || a.Fields["privacy.reason"] == "" || len(a.EventIDs) != 1 || a.GroupKey == "" {
				t.Errorf("%s: alert %+v", c.name, a)
			}
			if ruleDef(a.RuleID).Name == "neighbour" && a.Level != "low" {
				t.Errorf("neighbour level %s, want the configured low", a.Level)
			}
		}
	}
	// Disabled rules raise nothing.
	off := false
	cfg.Rules.VIP.Enabled = &off
	r := NewRules(cfg, RulesOptions{})
	if as := r.Observe(ctx, accEvent("u", "MRN1", "2024-03-12T10:00:00Z", false, enrich.FieldPatientConfidential, "true")); len(as) != 0 {
		t.Fatalf("disabled VIP rule: %s", rulesOf(as))
	}
	// Events the explanation did not look at are not judged.
	ev := &event.Event{Time: tm("2024-03-12T10:00:00Z"), Fields: []event.Field{{Name: "user.name", Value: "u"},
		{Name: "healthcare.patient.id", Value: "MRN1"}, {Name: enrich.FieldRelFamily, Value: "true"}}}
	if as := r.Observe(ctx, ev); len(as) != 0 {
		t.Fatalf("unannotated event judged: %s", rulesOf(as))
	}
}

// Accesses of one user to one patient: one group, every access id named.
func TestRulesAccessIDsAccumulate(t *testing.T) {
	ctx := context.Background()
	r := NewRules(nil, RulesOptions{})
	var last alerts.Alert
	var ids []string
	for i := 0; i < 3; i++ {
		ev := accEvent("nosy", "MRN7", fmt.Sprintf("2024-03-12T10:0%d:00Z", i), false, enrich.FieldPatientConfidential, "true")
		ids = append(ids, ev.Value("event.id"))
		as := r.Observe(ctx, ev)
		if len(as) != 1 {
			t.Fatalf("access %d: %d alerts", i, len(as))
		}
		if i > 0 && as[0].GroupKey != last.GroupKey {
			t.Fatal("group key changes between accesses of one user to one patient")
		}
		last = as[0]
	}
	if got := last.Fields["privacy.access_ids"]; got != jsonList(ids) {
		t.Fatalf("access ids %s, want %s", got, jsonList(ids))
	}
}

func TestBreakGlassRule(t *testing.T) {
	ctx := context.Background()
	clock := tm("2024-03-12T12:00:00Z")
	related := map[string]bool{}
	reexamine := func(_ context.Context, ev *event.Event, acc *enrich.Access) bool {
		*acc = enrich.Access{User: ev.Value("user.name"), At: ev.Time, UserIDs: []string{ev.Value("user.name")}}
		if related[ev.Value("user.name")] {
			acc.Encounters = []enrich.Encounter{{Admit: ev.Time.Add(2 * time.Hour), Members: []enrich.Member{{ID: ev.Value("user.name")}}}}
		}
		return true
	}
	r := NewRules(nil, RulesOptions{Reexamine: reexamine, Now: func() time.Time { return clock }})
	bg := func(user, at string, imported bool) *event.Event {
		kv := []string{"healthcare.break_glass", "true", "healthcare.break_glass_justification", "unconscious"}
		if imported {
			kv = append(kv, event.FieldImport, "true")
		}
		return accEvent(user, "MRN3", at, false, kv...)
	}
	// An imported break-glass access with no care team ever: at once.
	as := r.Observe(ctx, bg("ann", "2024-03-01T10:00:00Z", true))
	if rulesOf(as) != "break_glass" || !strings.Contains(as[0].Fields["privacy.reason"], "unconscious") {
		t.Fatalf("imported: %s %v", rulesOf(as), as)
	}
	// Explained break-glass accesses are fine.
	if as := r.Observe(ctx, accEvent("bob", "MRN3", "2024-03-12T10:00:00Z", true, "healthcare.break_glass", "true")); len(as) != 0 {
		t.Fatalf("explained: %s", rulesOf(as))
	}
	// A live one waits for its after window (24h of the stream's time).
	if as := r.Observe(ctx, bg("cy", "2024-03-12T10:00:00Z", false)); len(as) != 0 || r.Pending() != 1 {
		t.Fatalf("live: %s, %d pending", rulesOf(as), r.Pending())
	}
	// The user joins the care team two hours after (the directory knows
	// already): no alert, nothing waits.
	related["dee"] = true
	r.Observe(ctx, bg("dee", "2024-03-12T10:05:00Z", false))
	if as := r.Tick(ctx); len(as) != 0 || r.Pending() != 1 {
		t.Fatalf("before the window passed: %s, %d pending", rulesOf(as), r.Pending())
	}
	clock = clock.Add(25 * time.Hour) // the stream is quiet: wall time moves it on
	as = r.Tick(ctx)
	if rulesOf(as) != "break_glass" || as[0].Fields["user.name"] != "cy" || r.Pending() != 0 {
		t.Fatalf("after the window: %s %v, %d pending", rulesOf(as), as, r.Pending())
	}
}

func TestBulkRule(t *testing.T) {
	ctx := context.Background()
	r := NewRules(nil, RulesOptions{})
	at := tm("2024-03-12T10:00:00Z")
	next := 1000
	open := func(user string, n int, every time.Duration) []alerts.Alert {
		var out []alerts.Alert
		for i := 0; i < n; i++ {
			next++
			out = append(out, r.Observe(ctx, accEvent(user, fmt.Sprintf("MRN%d", next), at.Add(time.Duration(i)*every).Format(time.RFC3339), false))...)
		}
		return out
	}
	// Fifteen distinct patients in an hour is the default minimum: no
	// alert; the sixteenth raises one, with the true size.
	if as := open("quiet", 15, time.Minute); len(as) != 0 {
		t.Fatalf("15 patients: %s", rulesOf(as))
	}
	as := open("harvester", 16, time.Minute)
	if rulesOf(as) != "bulk" || as[0].Count != 16 || as[0].Update || as[0].Fields["privacy.patients"] != "16" {
		t.Fatalf("16 patients: %s %+v", rulesOf(as), as)
	}
	key := as[0].Key
	// The burst goes on: Tick reports its new size, one alert.
	at = at.Add(16 * time.Minute)
	open("harvester", 30, time.Second)
	up := r.Tick(ctx)
	if len(up) != 1 || !up[0].Update || up[0].Key != key || up[0].Count != 46 || len(up[0].EventIDs) != 46 {
		t.Fatalf("update %+v", up)
	}
	if up := r.Tick(ctx); len(up) != 0 {
		t.Fatalf("no growth, still %d updates", len(up))
	}
	// Explained accesses do not count.
	for i := 0; i < 40; i++ {
		if as := r.Observe(ctx, accEvent("busy", fmt.Sprintf("MRN%d", i), "2024-03-12T10:00:00Z", true)); len(as) != 0 {
			t.Fatal("explained accesses counted")
		}
	}
	// A user whose own windows routinely hold 12 unexplained patients
	// (over several days) may open up to 24 (user factor 2).
	r = NewRules(nil, RulesOptions{})
	for d := 0; d < 5; d++ {
		at = tm("2024-03-01T09:00:00Z").AddDate(0, 0, d)
		if as := open("coder", 12, time.Minute); len(as) != 0 {
			t.Fatalf("day %d: %s", d, rulesOf(as))
		}
	}
	at = tm("2024-03-08T09:00:00Z")
	if as := open("coder", 20, time.Minute); len(as) != 0 {
		t.Fatalf("20 for a user whose baseline is 12: %s", rulesOf(as))
	}
	// That window is now the user's most (twice: 40), and the department's
	// 99th percentile (three times: 60): a burst must exceed both.
	at = tm("2024-03-09T09:00:00Z")
	if as := open("coder", 65, 20*time.Second); rulesOf(as) != "bulk" || as[0].Count != 61 {
		t.Fatalf("61 for a user whose most is 20: %q %+v", rulesOf(as), as)
	}
	// A colleague in the department without history of their own is held
	// to the department's (the burst's window does not count).
	at = tm("2024-03-11T09:00:00Z")
	if as := open("newcoder", 60, 20*time.Second); len(as) != 0 {
		t.Fatalf("60 for a user of a department whose users open 20: %q", rulesOf(as))
	}
	at = tm("2024-03-12T09:00:00Z")
	if as := open("newcoder2", 61, 20*time.Second); rulesOf(as) != "bulk" {
		t.Fatalf("61 for a user of a department whose users open 20: %q", rulesOf(as))
	}
}

func TestRepeatOffender(t *testing.T) {
	ctx := context.Background()
	r := NewRules(nil, RulesOptions{})
	var got []alerts.Alert
	for i, p := range []string{"MRN1", "MRN1", "MRN2", "MRN3", "MRN4"} {
		got = append(got, r.Observe(ctx, accEvent("nosy", p, fmt.Sprintf("2024-03-1%dT10:00:00Z", i), false, enrich.FieldPatientConfidential, "true"))...)
	}
	var rep []alerts.Alert
	for _, a := range got {
		if a.RuleID == RuleRepeat {
			rep = append(rep, a)
		}
	}
	// Three distinct patients: an escalation; the fourth updates it.
	if len(rep) != 2 || rep[0].Update || rep[0].Count != 3 || !rep[1].Update || rep[1].Count != 4 || rep[0].Key != rep[1].Key ||
		rep[0].Level != "critical" || rep[0].GroupBy["user.name"] != "nosy" {
		t.Fatalf("repeat alerts %+v", rep)
	}
	// Earlier alerts from the store count; those closed as false
	// positives do not.
	r = NewRules(nil, RulesOptions{})
	r.RestoreOffences([]alerts.Alert{
		{Kind: "privacy", RuleID: RuleVIP, FirstSeen: tm("2024-03-01T10:00:00Z"), Fields: map[string]string{"user.name": "nosy", "healthcare.patient.id": "MRN8"}},
		{Kind: "privacy", RuleID: RuleVIP, FirstSeen: tm("2024-03-02T10:00:00Z"), Disposition: "false_positive", Fields: map[string]string{"user.name": "nosy", "healthcare.patient.id": "MRN9"}},
		{Kind: "privacy", RuleID: RuleCoworker, FirstSeen: tm("2024-03-03T10:00:00Z"), Fields: map[string]string{"user.name": "nosy", "healthcare.patient.id": "MRN10"}},
	})
	as := r.Observe(ctx, accEvent("nosy", "MRN11", "2024-03-04T10:00:00Z", false, enrich.FieldPatientConfidential, "true"))
	if rulesOf(as) != "vip,repeat_offender" {
		t.Fatalf("after restore: %s", rulesOf(as))
	}
	// Outside the window (90 days) nothing adds up.
	r = NewRules(nil, RulesOptions{})
	for i, d := range []string{"2024-01-01", "2024-03-01", "2024-06-01"} {
		as := r.Observe(ctx, accEvent("slow", fmt.Sprintf("MRN%d", i), d+"T10:00:00Z", false, enrich.FieldPatientConfidential, "true"))
		if strings.Contains(rulesOf(as), "repeat") {
			t.Fatalf("three alerts over five months escalated")
		}
	}
}

func TestRulesConfig(t *testing.T) {
	for _, bad := range []string{
		"rules: {vip: {level: severe}}",
		"rules: {vip: {colour: red}}",
		"templates: [{name: x, department: A, role: B, patients: any}]",
		"templates: [{name: x, patients: any}]",
		"templates: [{department: A, patients: everyone}]",
		"mining: {group_by: [team]}",
		"rules: {bulk: {window: soon}}",
	} {
		if _, err := ParseConfig([]byte(bad), "bad.yml"); err == nil {
			t.Errorf("%s: accepted", bad)
		} else if !strings.Contains(err.Error(), "bad.yml") {
			t.Errorf("%s: error %q does not name the file", bad, err)
		}
	}
	c, err := ParseConfig([]byte("rules: {bulk: {window: 2h, min_patients: 40}, break_glass: {after: 3d}}\nmining: {auto_accept: false}"), "ok.yml")
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(c.Rules.Bulk.Window) != 2*time.Hour || c.Rules.Bulk.MinPatients != 40 || time.Duration(c.Rules.BreakGlass.After) != 72*time.Hour ||
		time.Duration(c.Rules.BreakGlass.Before) != 24*time.Hour || *c.Mining.AutoAccept || c.Mining.MinUsers != 2 {
		t.Fatalf("%+v", c)
	}
	if len(RuleList()) != len(ruleDefs) {
		t.Fatal("rule list")
	}
}

// TestSnapshotRestore: the detector checkpoints the rules' state at every
// stop; a state with nothing held (the common case) and one with held and
// pending accesses both read back, so a restart never fails on it.
func TestSnapshotRestore(t *testing.T) {
	ctx := context.Background()
	clock := tm("2024-03-12T12:00:00Z")
	opts := RulesOptions{Now: func() time.Time { return clock }}
	empty, err := NewRules(nil, opts).Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if err := NewRules(nil, opts).Restore(empty); err != nil {
		t.Fatalf("restoring an empty state: %v", err)
	}
	r := NewRules(nil, opts)
	bg := accEvent("cy", "MRN3", "2024-03-12T10:00:00Z", false, "healthcare.break_glass", "true", "healthcare.break_glass_justification", "unconscious")
	r.Observe(ctx, bg)
	if r.Pending() != 1 {
		t.Fatalf("%d pending, want 1", r.Pending())
	}
	data, err := r.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	back := NewRules(nil, opts)
	if err := back.Restore(data); err != nil {
		t.Fatalf("restoring a state with a pending break-glass access: %v", err)
	}
	if back.Pending() != 1 {
		t.Fatalf("restored %d pending, want 1", back.Pending())
	}
	if err := back.Restore([]byte(`{"version":1,"held":"AA=="}`)); err == nil {
		t.Fatal("a corrupt held batch was accepted")
	}
}

// An unexplained access of a department not learnt yet is held; an
// imported one is judged once the import ended and templates were mined
// after it, or once the import reached MaxWait past it. A live one keeps
// waiting for its department to be learnt.
func TestHoldEndsWithTheImport(t *testing.T) {
	ctx := context.Background()
	dir, accs := hospital()
	e := newTestEngine(t, dir, "", "")
	e.ExplainBatch(ctx, accs[:300])
	clock := tm("2024-03-12T12:00:00Z")
	reexamine := func(_ context.Context, ev *event.Event, acc *enrich.Access) bool {
		*acc = enrich.Access{User: ev.Value("user.name"), UserIDs: []string{ev.Value("user.name")}, At: ev.Time, Found: true,
			Department: ev.Value(enrich.FieldWorkforceDepartment), Rel: enrich.Relationship{Coworker: true}}
		return true
	}
	r := NewRules(nil, RulesOptions{Engine: e, Reexamine: reexamine, Now: func() time.Time { return clock }})
	cw := func(user, at string, imported bool) *event.Event {
		kv := []string{enrich.FieldRelCoworker, "true"}
		if imported {
			kv = append(kv, event.FieldImport, "true")
		}
		return accEvent(user, "MRN7", at, false, kv...)
	}
	if as := r.Observe(ctx, cw("imp", "2024-03-01T10:00:00Z", true)); len(as) != 0 {
		t.Fatalf("judged at once: %s", rulesOf(as))
	}
	if as := r.Observe(ctx, cw("live", "2024-03-12T11:00:00Z", false)); len(as) != 0 || r.Pending() != 2 {
		t.Fatalf("%s, %d pending", rulesOf(as), r.Pending())
	}
	if _, err := e.Mine(ctx); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Minute)
	if as := r.Tick(ctx); len(as) != 0 || r.Pending() != 2 {
		t.Fatalf("a minute after the last access: %s, %d pending", rulesOf(as), r.Pending())
	}
	clock = clock.Add(15 * time.Minute)
	as := r.Tick(ctx)
	if rulesOf(as) != "coworker" || as[0].Fields["user.name"] != "imp" || r.Pending() != 1 {
		t.Fatalf("after the import: %s, %d pending", rulesOf(as), r.Pending())
	}

	// An import that goes on: its rows 72h older than its newest are
	// judged, the others wait.
	r = NewRules(nil, RulesOptions{Engine: e, Reexamine: reexamine, Now: func() time.Time { return clock }})
	r.Observe(ctx, cw("old", "2024-03-01T10:00:00Z", true))
	r.Observe(ctx, cw("recent", "2024-03-03T10:00:00Z", true))
	if as := r.Tick(ctx); len(as) != 0 {
		t.Fatalf("%s", rulesOf(as))
	}
	r.Observe(ctx, accEvent("x", "MRN8", "2024-03-04T11:00:00Z", true, event.FieldImport, "true"))
	as = r.Tick(ctx)
	if rulesOf(as) != "coworker" || as[0].Fields["user.name"] != "old" || r.Pending() != 1 {
		t.Fatalf("72h into the import: %s, %d pending", rulesOf(as), r.Pending())
	}
}

// A sensitive access a template fits but nothing corroborates waits, in
// the import's time, for the corroboration window after it: a colleague's
// access in it explains the access; once the import passed the window
// without one, the rules judge it.
func TestHoldWaitsForCorroboration(t *testing.T) {
	ctx := context.Background()
	dir, accs := hospital()
	for _, a := range accs {
		if a.Department == "Emergency" { // the ED works in pairs
			b := a
			b.User, b.At = a.User+"-md", a.At.Add(30*time.Minute)
			accs = append(accs, b)
		}
	}
	e := newTestEngine(t, dir, "corroboration: {enabled: true}", "")
	e.ExplainBatch(ctx, accs)
	ed := accs[1].Encounters
	clock := tm("2024-03-12T12:00:00Z")
	reexamine := func(_ context.Context, ev *event.Event, acc *enrich.Access) bool {
		*acc = enrich.Access{User: ev.Value("user.name"), UserIDs: []string{ev.Value("user.name")}, At: ev.Time, Found: true,
			Patient: ev.Value("healthcare.patient.id"), Department: ev.Value(enrich.FieldWorkforceDepartment), Confidential: true, Encounters: ed}
		return true
	}
	r := NewRules(nil, RulesOptions{Engine: e, Reexamine: reexamine, Now: func() time.Time { return clock }})
	at := accs[1].At
	// As stored: explained by the ED's template, corroboration pending.
	vip := func(user, patient string, at time.Time) *event.Event {
		return accEvent(user, patient, at.Format(time.RFC3339), true, enrich.FieldWorkforceDepartment, "Emergency",
			enrich.FieldPatientConfidential, "true", event.FieldImport, "true", FieldCorroboration, "pending")
	}
	row := func(at time.Time) {
		r.Observe(ctx, accEvent("x", "MRN8", at.Format(time.RFC3339), true, event.FieldImport, "true"))
	}
	r.Observe(ctx, vip("ed1", "VIP1", at))
	r.Observe(ctx, vip("ed1", "VIP2", at))
	if _, err := e.Mine(ctx); err != nil {
		t.Fatal(err)
	}
	row(at.Add(2 * time.Hour))
	if as := r.Tick(ctx); len(as) != 0 || r.Pending() != 2 {
		t.Fatalf("two hours on: %s, %d pending", rulesOf(as), r.Pending())
	}
	// A colleague opens VIP1 three hours after; the import goes 25 hours
	// past both.
	e.ExplainBatch(ctx, []enrich.Access{{User: "ed2", UserIDs: []string{"ed2"}, Department: "Emergency", At: at.Add(3 * time.Hour),
		Patient: "VIP1", Found: true, Confidential: true, Encounters: ed}})
	var later []string
	r.later = func(ev *event.Event, x Explanation) { later = append(later, ev.Value("healthcare.patient.id")) }
	row(at.Add(25 * time.Hour))
	as := r.Tick(ctx)
	if rulesOf(as) != "vip" || as[0].Fields["healthcare.patient.id"] != "VIP2" || r.Pending() != 0 || strings.Join(later, ",") != "VIP1" {
		t.Fatalf("25 hours on: %s (%v), %d pending, explained later %v", rulesOf(as), as, r.Pending(), later)
	}
}
