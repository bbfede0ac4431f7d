package alerts

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestStatsAndMetrics(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	clock := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s.opt.Now = func() time.Time { return clock }
	reg := prometheus.NewRegistry()
	s.RegisterMetrics(reg)
	var noisy []int64
	for i := 0; i < 4; i++ {
		a := raise(t, s, Alert{Key: fmt.Sprint("n", i), Kind: "sigma", RuleID: "noisy", RuleTitle: "Noisy", Level: "medium", Time: clock, Count: 3})[0]
		noisy = append(noisy, a.ID)
	}
	q := raise(t, s, Alert{Key: "q", Kind: "sigma", RuleID: "quiet", RuleTitle: "Quiet", Level: "critical", Time: clock})[0]
	clock = clock.Add(30 * time.Minute)
	for i, id := range noisy[:3] {
		d := []string{"false_positive", "false_positive", "true_positive"}[i]
		if _, _, err := s.Update(ctx, id, Patch{Status: ptr("closed"), Disposition: &d, Reason: ptr("r")}, "a", nil); err != nil {
			t.Fatal(err)
		}
	}
	clock = clock.Add(30 * time.Minute)
	if _, _, err := s.Update(ctx, q.ID, Patch{Assignee: ptr("bob")}, "a", nil); err != nil {
		t.Fatal(err)
	}
	rs, err := s.Stats(ctx, clock.Add(-24*time.Hour), time.Time{}, DefaultSLA())
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].RuleID != "noisy" {
		t.Fatalf("stats %+v", rs)
	}
	n := rs[0]
	if n.Alerts != 4 || n.Events != 12 || n.Closed != 3 || n.Open != 1 || n.ByDisposition["false_positive"] != 2 ||
		fmt.Sprintf("%.3f", n.FalsePositiveRate) != "0.667" || n.MeanClose != 1800 || n.MedianAcknowledge != 1800 {
		t.Fatalf("noisy rule %+v", n)
	}
	// The critical alert was acknowledged after an hour: its 15-minute
	// target was missed.
	if rs[1].SLABreaches != 1 || rs[1].MeanAcknowledge != 3600 {
		t.Fatalf("quiet rule %+v", rs[1])
	}
	if got := testutil.ToFloat64(mustVec(t, reg, "vigil_alerts_closed_total", "false_positive", "noisy")); got != 2 {
		t.Fatalf("closed metric %v", got)
	}
	if n, err := testutil.GatherAndCount(reg, "vigil_alerts_open"); err != nil || n != 2 {
		t.Fatalf("open gauges %d %v", n, err)
	}
	if n, err := testutil.GatherAndCount(reg, "vigil_alert_acknowledge_seconds", "vigil_alert_close_seconds"); err != nil || n != 3 {
		t.Fatalf("time histograms %d %v", n, err)
	}
}

// mustVec finds one sample of a counter vector in a registry.
func mustVec(t *testing.T, reg *prometheus.Registry, name string, labels ...string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			ok := true
			for i, l := range m.GetLabel() {
				if i < len(labels) && l.GetValue() != labels[i] {
					ok = false
				}
			}
			if ok {
				c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})
				c.Add(m.GetCounter().GetValue())
				return c
			}
		}
	}
	t.Fatalf("no %s %v", name, labels)
	return nil
}

// The open-alert gauges read every open alert: a scraper polling /metrics
// reuses the counts for openEvery instead of counting again each time.
func TestOpenGaugesAreReadAtMostEveryInterval(t *testing.T) {
	s := open(t)
	clock := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s.opt.Now = func() time.Time { return clock }
	reg := prometheus.NewRegistry()
	s.RegisterMetrics(reg)
	open := func() float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var n float64
		for _, mf := range mfs {
			if mf.GetName() == "vigil_alerts_open" {
				for _, m := range mf.GetMetric() {
					n += m.GetGauge().GetValue()
				}
			}
		}
		return n
	}
	raise(t, s, Alert{Key: "a", Kind: "sigma", RuleID: "r", RuleTitle: "R", Level: "high", Time: clock})
	if n := open(); n != 1 {
		t.Fatalf("open %v, want 1", n)
	}
	raise(t, s, Alert{Key: "b", Kind: "sigma", RuleID: "r", RuleTitle: "R", Level: "high", Time: clock})
	clock = clock.Add(openEvery / 2)
	if n := open(); n != 1 {
		t.Fatalf("open %v within %v of the last read, want the counts read then (1)", n, openEvery)
	}
	clock = clock.Add(openEvery)
	if n := open(); n != 2 {
		t.Fatalf("open %v after %v, want 2", n, openEvery)
	}
}
