package privacy

import (
	"encoding/json"
	"fmt"
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
			patient: fmt.Sprintf("P%d", g.rng.IntN(100000)), at: g.at, residual: true})
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
