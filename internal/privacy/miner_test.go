package privacy

import (
	"context"

	"encoding/json"
	"fmt"
	"github.com/vigil-siem/vigil/internal/directory"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"
)

// obsGen builds observations of one group.
type obsGen struct {
	rng *rand.Rand
	at  time.Time
	out []observation
}

func (g *obsGen) add(group string, users int, n int, feats ...string) {
	for i := 0; i < n; i++ {
		g.at = g.at.Add(time.Minute)
		fs := append([]string(nil), feats...)
		sort.Strings(fs)
		g.out = append(g.out, observation{groups: []string{group}, feats: fs, user: fmt.Sprintf("%s-u%d", group, g.rng.IntN(users)),
			patient: fmt.Sprintf("P%d", g.rng.IntN(100000)), at: g.at, residual: true, lag: -1})
	}
}

var testBase = &baseRates{rates: map[string]float64{
	"enc": 0.06, "class:I": 0.05, "service:MED": 0.02, "service:SUR": 0.02, "discharged:30d": 0.3, "discharged:7d": 0.08, "unit:ED": 0.003,
}, teamDept: map[string]float64{"cardiology": 0.01}}

func chosen(sel []selection) []string {
	var out []string
	for _, s := range sel {
		out = append(out, s.group+" "+s.feature)
	}
	sort.Strings(out)
	return out
}

func TestMinerChoosesSpecificTemplates(t *testing.T) {
	g := &obsGen{rng: rand.New(rand.NewPCG(1, 2)), at: tm("2024-03-01T00:00:00Z")}
	// Pharmacy works on inpatients of two services, a few accesses have
	// no feature at all.
	g.add("department:pharmacy", 4, 150, "enc", "class:I", "service:MED")
	g.add("department:pharmacy", 4, 150, "enc", "class:I", "service:SUR")
	g.add("department:pharmacy", 4, 8)
	// One billing user opens a hundred recently discharged records; the
	// others review recent discharges: only the routine is learnt.
	g.add("department:billing", 1, 100, "discharged:30d")
	g.add("department:billing", 5, 200, "discharged:7d", "discharged:30d")
	// Coding: a broad feature (30% of all patients have it at any time)
	// explains everything: too broad to explain anything.
	g.add("department:coding", 6, 200, "discharged:30d")
	// The emergency department: ED patients, and a single user's habit.
	g.add("department:emergency", 10, 300, "enc", "unit:ED")
	g.add("department:emergency", 1, 30, "enc", "class:I")
	m := newMiner(MiningConfig{})
	m.observe(g.out)
	got := chosen(m.mine(testBase, nil))
	want := []string{"department:billing discharged:7d", "department:emergency unit:ED", "department:pharmacy service:MED", "department:pharmacy service:SUR"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("chosen %q, want %q", got, want)
	}
	sel := m.mine(testBase, nil)
	for _, s := range sel {
		if s.group == "department:pharmacy" && s.feature == "service:MED" {
			st := s.stats
			if st.Users != 4 || st.Confidence < 0.45 || st.Confidence > 0.55 || st.Base != 0.02 || st.Lift < 20 || st.Sample != 308 || st.Rank == 0 {
				t.Errorf("stats %+v", st)
			}
		}
	}

	// The privacy officer rejects service:MED: mining covers those
	// accesses otherwise; approves class:I for emergency.
	decided := map[string]map[string]string{"department:pharmacy": {"service:MED": StatusRejected}, "department:emergency": {"class:I": StatusApproved}}
	got = chosen(m.mine(testBase, decided))
	want = []string{"department:billing discharged:7d", "department:emergency class:I", "department:emergency unit:ED",
		"department:pharmacy class:I", "department:pharmacy service:SUR"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("after decisions: chosen %q, want %q", got, want)
	}
}

func TestMinerThresholds(t *testing.T) {
	g := &obsGen{rng: rand.New(rand.NewPCG(3, 4)), at: tm("2024-03-01T00:00:00Z")}
	g.add("department:small", 3, 9, "unit:ED") // below MinSupport 10
	g.add("department:share", 5, 1000, "enc")
	g.add("department:share", 5, 5, "unit:ED") // 0.5% of the group: below MinShare
	m := newMiner(MiningConfig{})
	m.observe(g.out)
	if got := chosen(m.mine(testBase, nil)); strings.Join(got, "|") != "department:share enc" {
		t.Fatalf("chosen %q", got)
	}
	// Lower support, a higher lift: the small group's habit is chosen; in
	// the other group, unit:ED is too rare to be more than chance (lift
	// 1.7) and enc too common (lift 17).
	m = newMiner(MiningConfig{MinSupport: 4, MinShare: 0.001, MinLift: 100})
	m.observe(g.out)
	if got := chosen(m.mine(testBase, nil)); strings.Join(got, "|") != "department:small unit:ED" {
		t.Fatalf("lower support, higher lift: chosen %q", got)
	}
	// A feature too many patients have is never a template.
	m = newMiner(MiningConfig{MaxBase: 0.05})
	m.observe(g.out)
	if got := chosen(m.mine(testBase, nil)); len(got) != 0 {
		t.Fatalf("max_base 0.05: chosen %q", got)
	}
}

// Older accesses weigh less: a department that changed its work is
// learnt anew.
func TestMinerDecay(t *testing.T) {
	g := &obsGen{rng: rand.New(rand.NewPCG(5, 6)), at: tm("2024-01-01T00:00:00Z")}
	g.add("department:x", 5, 2000, "service:MED")
	g.at = g.at.Add(365 * 24 * time.Hour)
	g.add("department:x", 5, 2000, "service:SUR")
	m := newMiner(MiningConfig{SampleSize: 500})
	m.observe(g.out)
	got := chosen(m.mine(testBase, nil))
	if strings.Join(got, "|") != "department:x service:SUR" {
		t.Fatalf("a year later: %q", got)
	}
	gr := m.groups["department:x"]
	if gr.total > 2010 || gr.total < 1900 {
		t.Fatalf("decayed total %v", gr.total)
	}
}

func TestMinerStateRoundTrip(t *testing.T) {
	g := &obsGen{rng: rand.New(rand.NewPCG(7, 8)), at: tm("2024-03-01T00:00:00Z")}
	g.add("department:pharmacy", 4, 300, "enc", "class:I", "service:MED")
	g.add("department:billing", 5, 300, "discharged:7d", "discharged:30d")
	m := newMiner(MiningConfig{})
	m.observe(g.out)
	data, err := json.Marshal(m.state())
	if err != nil {
		t.Fatal(err)
	}
	var st minerState
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	m2 := newMiner(MiningConfig{})
	if err := m2.restore(st); err != nil {
		t.Fatal(err)
	}
	a, b := chosen(m.mine(testBase, nil)), chosen(m2.mine(testBase, nil))
	if strings.Join(a, "|") != strings.Join(b, "|") || len(a) != 2 {
		t.Fatalf("before %q, after %q", a, b)
	}
	if m2.total != 600 || !m2.first.Equal(m.first) {
		t.Fatalf("restored %d from %v", m2.total, m2.first)
	}
	// Damaged states are refused.
	bad := st
	bad.Version = 2
	if err := newMiner(MiningConfig{}).restore(bad); err == nil {
		t.Error("version 2 accepted")
	}
	bad = st
	bad.Sets = nil
	if err := newMiner(MiningConfig{}).restore(bad); err == nil {
		t.Error("missing feature sets accepted")
	}
}

// A group that opens nearly every patient in a common state (billing
// after each discharge) has a template though the lift is low; a group
// with the same lift that opens few of those patients has none, nor a
// group that opens patients at random.
func TestMinerRoutineOfEveryPatient(t *testing.T) {
	base := &baseRates{patients: 600, rates: map[string]float64{"discharged:7d": 0.36, "enc": 0.08},
		stays: map[string]float64{"discharged:7d": 220, "enc": 300}}
	g := &obsGen{rng: rand.New(rand.NewPCG(9, 10)), at: tm("2024-03-01T00:00:00Z")}
	// Billing: 85% of 400 accesses to recently discharged patients (1.5
	// per discharge), the rest insurance checks on inpatients.
	g.add("department:billing", 4, 340, "discharged:7d")
	g.add("department:billing", 4, 60, "enc")
	// Coding, same lift, but 40 accesses for 220 discharges: not routine.
	g.add("department:coding", 3, 34, "discharged:7d")
	g.add("department:coding", 3, 6)
	// Transport: at random (lift about 1).
	g.add("department:transport", 4, 36, "discharged:7d")
	g.add("department:transport", 4, 64)
	m := newMiner(MiningConfig{})
	m.observe(g.out)
	sel := m.mine(base, nil)
	if got := chosen(sel); strings.Join(got, "|") != "department:billing discharged:7d" {
		t.Fatalf("chosen %q", got)
	}
	if st := sel[0].stats; st.PerStay < 1.4 || st.PerStay > 1.7 || st.Lift > 3 || st.Lift < 2 {
		t.Fatalf("stats %+v", st)
	}
	// The routine's own limits are settings.
	m = newMiner(MiningConfig{MinPerStay: 2})
	m.observe(g.out)
	if got := chosen(m.mine(base, nil)); len(got) != 0 {
		t.Fatalf("min_per_stay 2: chosen %q", got)
	}
	// A department of one coder who codes every discharge: the routine
	// holds on three times the support.
	g1 := &obsGen{rng: rand.New(rand.NewPCG(15, 16)), at: tm("2024-03-01T00:00:00Z")}
	g1.add("department:coding", 1, 200, "discharged:7d")
	g1.add("department:coding", 1, 40)
	m = newMiner(MiningConfig{})
	m.observe(g1.out)
	if got := chosen(m.mine(base, nil)); strings.Join(got, "|") != "department:coding discharged:7d" {
		t.Fatalf("one coder: chosen %q", got)
	}
	m = newMiner(MiningConfig{RoutineMaxBase: 0.3})
	m.observe(g.out)
	if got := chosen(m.mine(base, nil)); len(got) != 0 {
		t.Fatalf("routine_max_base 0.3: chosen %q", got)
	}
}

// A state no patient was known to be in when the base rates were measured
// has the base rate of one patient, not zero: its lift stays finite.
func TestBaseRateFloor(t *testing.T) {
	base := &baseRates{patients: 500, rates: map[string]float64{"class:E": 0.01}}
	if got := base.of("class:X", ""); got != 1.0/500 {
		t.Fatalf("unknown state: base %v", got)
	}
	if got := base.of("class:E", ""); got != 0.01 {
		t.Fatalf("known state: base %v", got)
	}
	g := &obsGen{rng: rand.New(rand.NewPCG(11, 12)), at: tm("2024-03-01T00:00:00Z")}
	g.add("department:emergency", 5, 100, "class:X")
	m := newMiner(MiningConfig{})
	m.observe(g.out)
	sel := m.mine(base, nil)
	if len(sel) != 1 || sel[0].stats.Lift > 500 || sel[0].stats.Lift < 499 {
		t.Fatalf("selection %+v", sel)
	}
}

// The stays that put patients in a state during the period are counted
// per feature, the older ones weighing less: the denominator of a
// group's accesses per stay.
func TestBaseRatesCountStays(t *testing.T) {
	from, to := tm("2024-03-01T00:00:00Z"), tm("2024-03-08T00:00:00Z")
	d := &fakeDir{staff: map[string]string{"n1": "Medicine"}}
	// Ten discharges during the week, two a month before (outside every
	// window), one stay still open.
	for i := 0; i < 10; i++ {
		admit := from.Add(time.Duration(i)*12*time.Hour - 48*time.Hour)
		d.spans = append(d.spans, directory.EncounterSpan{Class: "I", Location: "4W", Service: "MED", Admit: admit, Discharge: admit.Add(72 * time.Hour)})
	}
	for i := 0; i < 2; i++ {
		admit := from.Add(-40 * 24 * time.Hour)
		d.spans = append(d.spans, directory.EncounterSpan{Class: "E", Location: "ED", Admit: admit, Discharge: admit.Add(3 * time.Hour)})
	}
	d.spans = append(d.spans, directory.EncounterSpan{Class: "I", Location: "4W", Service: "MED", Admit: from.Add(24 * time.Hour), CareTeam: []string{"n1"}})
	b, err := computeBaseRates(context.Background(), d, from, to, 24*time.Hour, 0)
	if err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]float64{"discharged:7d": 10, "discharged:30d": 10, "class:I": 11, "class:E": 0, "unit:4W": 11, "service:MED": 11} {
		if got := b.staysOf(f, ""); got != want {
			t.Errorf("%s: %v stays, want %v", f, got, want)
		}
	}
	if got := b.staysOf(FeatTeamDept, "medicine"); got != 1 {
		t.Errorf("team_dept: %v stays", got)
	}
	// Weighed by age: with a half-life of a week, a stay of the period's
	// start weighs half.
	b, _ = computeBaseRates(context.Background(), d, from, to, 24*time.Hour, 7*24*time.Hour)
	if got := b.staysOf("discharged:7d", ""); got < 5.5 || got > 8 {
		t.Errorf("weighed: %v stays", got)
	}
}

// A feature more frequent than chance in a group's unexplained accesses,
// but without the support of a template yet, is a candidate: an access
// to such a patient may be explained by a later mining.
func TestMinerCandidates(t *testing.T) {
	base := &baseRates{patients: 1000, rates: map[string]float64{"service:MED": 0.02, "unit:ICU": 0.005, "unit:3E": 0.002, "discharged:30d": 0.3, "unit:5N": 0.01, "enc": 0.06}}
	g := &obsGen{rng: rand.New(rand.NewPCG(13, 14)), at: tm("2024-03-01T00:00:00Z")}
	g.add("department:float", 4, 200, "service:MED")
	g.add("department:float", 1, 4, "unit:ICU")        // a first shift in intensive care
	g.add("department:float", 1, 2, "unit:3E")         // too few
	g.add("department:float", 3, 60, "discharged:30d") // at chance
	g.add("department:float", 1, 5, "unit:5N")         // rejected by the privacy officer
	g.add("department:float", 3, 30, "enc")            // more than chance, but too broad to hold for
	m := newMiner(MiningConfig{})
	m.observe(g.out)
	if got := chosen(m.mine(base, map[string]map[string]string{"department:float": {"unit:5N": StatusRejected}})); strings.Join(got, "|") != "department:float service:MED" {
		t.Fatalf("chosen %q", got)
	}
	groups := []string{"department:float", "job:float|rn"}
	for f, want := range map[string]bool{"unit:ICU": true, "unit:3E": false, "discharged:30d": false, "unit:5N": false, "service:MED": false, "unit:XX": false, "enc": false} {
		if got := m.promising(groups, []string{f}); got != want {
			t.Errorf("%s: promising %v, want %v", f, got, want)
		}
	}
	if m.promising([]string{"department:pharmacy"}, []string{"unit:ICU"}) {
		t.Error("another group's candidate")
	}
}

// windowDir is a directory of stays answering EncounterSpans with the
// stays the real one returns for the window: not discharged before it,
// admitted before its end.
type windowDir struct{ fakeDir }

func (w *windowDir) EncounterSpans(_ context.Context, from, to time.Time, fn func(*directory.EncounterSpan) error) error {
	for i := range w.spans {
		sp := &w.spans[i]
		if (!sp.Discharge.IsZero() && sp.Discharge.Before(from)) || !sp.Admit.Before(to) {
			continue
		}
		if err := fn(sp); err != nil {
			return err
		}
	}
	return nil
}

// TestBaseRatesExtend: base rates extended step by step to a later end,
// reading only the stays after the old end, equal those measured afresh
// over the whole period.
func TestBaseRatesExtend(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	start := tm("2024-01-01T00:00:00Z")
	d := &windowDir{fakeDir{staff: map[string]string{"n1": "Medicine", "n2": "Surgery", "n3": "Emergency"}}}
	units := []string{"4W", "ICU", "ED", "5N"}
	for range 600 {
		admit := start.Add(time.Duration(rng.IntN(90*24)) * time.Hour)
		sp := directory.EncounterSpan{Class: []string{"I", "E", "O"}[rng.IntN(3)], Location: units[rng.IntN(4)], Service: []string{"MED", "SUR", ""}[rng.IntN(3)],
			Admit: admit, CareTeam: []string{"n1", "n2", "n3", "x"}[:rng.IntN(4)]}
		if rng.IntN(10) > 0 {
			sp.Discharge = admit.Add(time.Duration(1+rng.IntN(200)) * time.Hour)
		}
		if rng.IntN(3) == 0 {
			sp.PriorLocation = units[rng.IntN(4)]
			if rng.IntN(2) == 0 {
				sp.LocationSince = admit.Add(time.Duration(rng.IntN(30)) * time.Hour)
			}
		}
		d.spans = append(d.spans, sp)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
	same := func(what string, got, want map[string]float64) {
		t.Helper()
		for k, v := range want {
			if !near(got[k], v) {
				t.Errorf("%s %s: %v extended, %v afresh", what, k, got[k], v)
			}
		}
		for k, v := range got {
			if _, ok := want[k]; !ok && v != 0 {
				t.Errorf("%s %s: %v extended, absent afresh", what, k, v)
			}
		}
	}
	ctx := context.Background()
	from := start.Add(20 * 24 * time.Hour)
	for _, half := range []time.Duration{0, 10 * 24 * time.Hour} {
		b, err := computeBaseRates(ctx, d, from, from.Add(3*24*time.Hour), 24*time.Hour, half)
		if err != nil {
			t.Fatal(err)
		}
		for _, to := range []time.Time{from.Add(5 * 24 * time.Hour), from.Add(5*24*time.Hour + 7*time.Hour), from.Add(40 * 24 * time.Hour), from.Add(75 * 24 * time.Hour)} {
			if err := b.extend(ctx, d, to); err != nil {
				t.Fatal(err)
			}
			want, _ := computeBaseRates(ctx, d, from, to, 24*time.Hour, half)
			same("rate", b.rates, want.rates)
			same("team_dept", b.teamDept, want.teamDept)
			same("stays", b.stays, want.stays)
			same("team_dept stays", b.teamDeptStays, want.teamDeptStays)
			for h := range want.lagHours {
				if b.lagHours[h] != want.lagHours[h] {
					t.Fatalf("to %s: patient-hours %d h after a discharge %v, measured afresh %v", to, h, b.lagHours[h], want.lagHours[h])
				}
			}
			if lo, hi := 24*time.Hour, 13*24*time.Hour; math.Abs(b.lagStays(lo, hi)-want.lagStays(lo, hi)) > 1e-6 {
				t.Fatalf("to %s: stays of a window %v, measured afresh %v", to, b.lagStays(lo, hi), want.lagStays(lo, hi))
			}
			if len(want.rates) < 10 || want.staysOf("discharged:7d", "") == 0 {
				t.Fatalf("too few states to compare: %v", want.rates)
			}
		}
	}
}

// HIM opens a few of the discharged charts, once each, one to thirteen
// days after the discharge; "discharged within 14 days" holds nearly half
// of the patients, and HIM opens a fifth of them: neither the lift nor the
// accesses per stay make it a template. The window HIM's own lags show
// does. A department whose accesses are spread over the month after
// discharges (its window holds every patient) gets none, nor does one
// whose post-discharge accesses are a few of many.
func TestMinerLearnsPostDischargeWindow(t *testing.T) {
	from := tm("2024-03-01T00:00:00Z")
	to := from.Add(30 * 24 * time.Hour)
	// As many patient-hours in each hour after a discharge: 1,100
	// discharges a month spread evenly (14 days after one: 0.51 of the
	// patients).
	b := &baseRates{from: from, to: to, patients: 1000, lagHours: make([]float64, int(maxLag/time.Hour)),
		rates: map[string]float64{"enc": 0.06, "class:I": 0.05, "unit:4W": 0.01, "discharged:3d": 0.11, "discharged:14d": 0.51, "discharged:30d": 1}}
	for h := range b.lagHours {
		b.lagHours[h] = 1100
	}
	for i := 0; i < 1100; i++ {
		b.discharges = append(b.discharges, from.Add(-maxLag+time.Duration(i)*(to.Sub(from)+maxLag)/1100))
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var obs []observation
	at := from.Add(15 * 24 * time.Hour)
	add := func(group string, users, n int, lo, hi time.Duration, feats ...string) {
		for i := 0; i < n; i++ {
			at = at.Add(time.Minute)
			lag := time.Duration(-1)
			if hi > 0 {
				lag = lo + time.Duration(rng.Int64N(int64(hi-lo)))
			}
			obs = append(obs, observation{groups: []string{group}, feats: feats, user: fmt.Sprintf("%s-u%d", group, rng.IntN(users)),
				patient: fmt.Sprintf("P%d", rng.IntN(100000)), at: at, residual: true, lag: lag})
		}
	}
	const day = 24 * time.Hour
	add("department:him", 4, 300, day+time.Hour, 13*day-time.Hour, "discharged:14d", "discharged:30d")
	add("department:him", 4, 10, -1, 0)
	add("department:scattered", 4, 300, 0, 30*day, "discharged:30d")
	add("department:nursing", 6, 300, -1, 0, "enc", "class:I", "unit:4W")
	add("department:nursing", 6, 30, 0, 3*day, "discharged:3d")
	m := newMiner(MiningConfig{})
	m.observe(obs)
	sel := m.mine(b, nil)
	var him *selection
	for i := range sel {
		if family(sel[i].feature) == lagFamily {
			if sel[i].group != "department:him" || him != nil {
				t.Fatalf("post-discharge windows %q", chosen(sel))
			}
			him = &sel[i]
		}
	}
	if him == nil {
		t.Fatalf("no window for HIM: %q", chosen(sel))
	}
	lo, hi, ok := parseLagFeature(him.feature)
	if !ok || lo < day || lo > 2*day || hi < 12*day || hi > 13*day || him.stats.Confidence < 0.9 || him.stats.Lift < 1.5 || him.stats.PerStay <= 0 {
		t.Fatalf("HIM's window %s, stats %+v", him.feature, him.stats)
	}
	// The template explains an access in the window, not one outside it.
	act := newActive([]Template{{ID: 1, Group: "department:him", Feature: him.feature, Status: StatusActive}}, 1)
	if act.match([]string{"department:him"}, nil, 5*day) == nil || act.match([]string{"department:him"}, nil, 20*day) != nil ||
		act.match([]string{"department:him"}, nil, -1) != nil {
		t.Error("the window's template matches the wrong lags")
	}
	// The state survives a save and a restore.
	m2 := newMiner(MiningConfig{})
	if err := m2.restore(m.state()); err != nil {
		t.Fatal(err)
	}
	if got := chosen(m2.mine(b, nil)); strings.Join(got, "|") != strings.Join(chosen(sel), "|") {
		t.Fatalf("after a restore: %q, want %q", got, chosen(sel))
	}
}

func TestLagFeature(t *testing.T) {
	for _, c := range []struct {
		lo, hi time.Duration
		want   string
	}{
		{25 * time.Hour, 12*24*time.Hour + time.Minute, "after_discharge:1d-13d"},
		{90 * time.Minute, 50 * time.Hour, "after_discharge:1h-3d"},
		{0, 20 * time.Minute, "after_discharge:0h-1h"},
		{0, 40 * 24 * time.Hour, "after_discharge:0h-30d"},
	} {
		lo, hi := lagWindow(c.lo, c.hi)
		f := lagFeature(lo, hi)
		if f != c.want {
			t.Errorf("%v-%v: %s, want %s", c.lo, c.hi, f, c.want)
		}
		if l, h, ok := parseLagFeature(f); !ok || l != lo || h != hi || !validFeature(f) {
			t.Errorf("%s does not read back", f)
		}
	}
	for _, f := range []string{"after_discharge:3d-1d", "after_discharge:1d", "after_discharge:1d-40d", "after_discharge:xd-2d"} {
		if validFeature(f) {
			t.Errorf("%s accepted", f)
		}
	}
}
