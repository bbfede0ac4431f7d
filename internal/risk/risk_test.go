package risk

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/db"
)

func TestRiskAddsDecaysAndRaisesOnce(t *testing.T) {
	d, err := db.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	as, err := alerts.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	factors, err := ParseFactors([]string{"vigil_hc_*=2", "noisy=0"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(ctx, d, Options{HalfLife: 24 * time.Hour, Threshold: 100, RuleFactors: factors, Alerts: as, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	as.OnChange(r.OnChange)
	n := 0
	raise := func(rule, level string, fields map[string]string) {
		n++
		if _, err := as.Add(ctx, []alerts.Alert{{Key: fmt.Sprint(n), Kind: "sigma", RuleID: rule, RuleTitle: rule, Level: level, Time: clock, Fields: fields}}); err != nil {
			t.Fatal(err)
		}
	}
	jdoe := map[string]string{"user.name": "jdoe", "host.name": "ws-7"}
	raise("r1", "high", jdoe)                                                                                      // 40
	raise("vigil_hc_snooping", "medium", map[string]string{"user.name": "jdoe", "healthcare.patient.id": "MRN-1"}) // 30
	raise("noisy", "critical", jdoe)                                                                               // 0
	if got := riskAlerts(t, as); got != 0 {
		t.Fatalf("risk alerts below the threshold: %d", got)
	}
	// A day later the 70 are 35; 40 more is 75: still below.
	clock = clock.Add(24 * time.Hour)
	raise("r2", "high", map[string]string{"user.name": "jdoe"})
	en, cs, _ := r.Of(ctx, "user", "jdoe")
	if math.Abs(en.Score-75) > 0.1 || len(cs) != 3 || en.Alerts != 3 {
		t.Fatalf("jdoe %+v %+v", en, cs)
	}
	// Crossing: one alert; staying above: no second one.
	raise("r3", "high", map[string]string{"user.name": "jdoe"})
	raise("r4", "high", map[string]string{"user.name": "jdoe"})
	if got := riskAlerts(t, as); got != 1 {
		t.Fatalf("%d risk alerts, want 1", got)
	}
	ra, _ := as.List(ctx, alerts.Filter{Kind: "risk"})
	if ra[0].Fields["user.name"] != "jdoe" || ra[0].Fields["risk.score"] != "115" || ra[0].Level != "high" {
		t.Fatalf("risk alert %+v", ra[0])
	}
	top, _ := r.Top(ctx, "", 10)
	if len(top) != 3 || top[0].Value != "jdoe" || top[1].Type != "host" && top[1].Type != "patient" {
		t.Fatalf("top %+v", top)
	}
	// Risk alerts add no risk themselves; a week later almost nothing is left.
	clock = clock.Add(7 * 24 * time.Hour)
	en, _, _ = r.Of(ctx, "user", "jdoe")
	if en.Score > 1.2 {
		t.Fatalf("after a week: %v", en.Score)
	}
	// Several alerts about one entity in one Add: its score is carried
	// through them, and the one that crosses the threshold raises.
	var burst []alerts.Alert
	for i := range 4 {
		burst = append(burst, alerts.Alert{Key: fmt.Sprint("b", i), Kind: "sigma", RuleID: "r5", RuleTitle: "r5", Level: "high", Time: clock,
			Fields: map[string]string{"user.name": "bob"}})
	}
	if _, err := as.Add(ctx, burst); err != nil {
		t.Fatal(err)
	}
	ra, _ = as.List(ctx, alerts.Filter{Kind: "risk"})
	var bob []alerts.Alert
	for _, a := range ra {
		if a.Fields["user.name"] == "bob" {
			bob = append(bob, a)
		}
	}
	if en, _, _ := r.Of(ctx, "user", "bob"); len(bob) != 1 || bob[0].Fields["risk.score"] != "120" || math.Abs(en.Score-160) > 0.1 {
		t.Fatalf("bob: %d risk alerts %+v, score %v", len(bob), bob, en.Score)
	}
	if _, err := ParseFactors([]string{"x=lots"}); err == nil {
		t.Fatal("bad factor accepted")
	}
}

func riskAlerts(t *testing.T, as *alerts.Store) int {
	n, err := as.Count(context.Background(), alerts.Filter{Kind: "risk"})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
