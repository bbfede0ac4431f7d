package correlation

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/sigma/engine"
	"github.com/vigil-siem/vigil/internal/event"
)

const bulkAccess = `
title: bulk access
id: 00000000-0000-0000-0000-0000000000a1
correlation:
  type: value_count
  rules: [failed]
  group-by: [user]
  timespan: 1h
  condition: {field: patient, gt: 30}
`

// access feeds one record access of patient by user at t; it returns
// every alert, updates included.
func access(eng *engine.Engine, c *Engine, user, patient string, t time.Time, id string) []Alert {
	e := event.Event{Time: t}
	e.Add("event.module", "test")
	e.Add("outcome", "failure")
	e.Add("user", user)
	e.Add("patient", patient)
	e.Add(event.FieldID, id)
	var out []Alert
	eng.Match(&e, func(m *engine.Match) { out = append(out, c.Observe(m)...) })
	return out
}

// A bulk access of 150 charts is one burst: one firing at 31 distinct
// patients, then updates of the same alert up to the true size, 150
// (issue: 4–5 alerts of 31 each before). A patient opened twice counts
// once; a quiet hour ends the burst.
func TestBurstStatesTrueSize(t *testing.T) {
	start := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	clk := &clock{now: start}
	eng, c := setup(t, bulkAccess, Options{Now: clk.Now, Bursts: true})
	var all []Alert
	for i := range 150 {
		at := start.Add(time.Duration(i) * 10 * time.Second)
		clk.now = at
		all = append(all, access(eng, c, "jdoe", fmt.Sprintf("P%03d", i), at, fmt.Sprintf("1-%d", i))...)
		if i%10 == 0 { // a chart opened twice
			all = append(all, access(eng, c, "jdoe", fmt.Sprintf("P%03d", i), at.Add(time.Second), fmt.Sprintf("2-%d", i))...)
		}
	}
	fired := firings(all)
	if len(fired) != 1 || fired[0].Value != 31 {
		t.Fatalf("firings %+v, want one at 31 patients", fired)
	}
	last := all[len(all)-1]
	if !last.Update || last.Value != 150 || last.Count != 165 || !last.First.Equal(fired[0].First) || len(last.EventIDs) != 100 {
		t.Fatalf("last update: value %v count %d first %v (firing %v) ids %d update %v", last.Value, last.Count, last.First, fired[0].First, len(last.EventIDs), last.Update)
	}
	for _, a := range all[1:] {
		if !a.Update || !a.First.Equal(fired[0].First) {
			t.Fatalf("an alert after the firing is not an update of it: %+v", a)
		}
	}
	// The burst survives a restart: the next access updates the same alert.
	var buf bytes.Buffer
	if err := c.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	eng2, c2 := setup(t, bulkAccess, Options{Now: clk.Now, Bursts: true})
	if _, err := c2.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	at := start.Add(1500 * time.Second)
	clk.now = at
	got := access(eng2, c2, "jdoe", "P999", at, "3-0")
	if len(got) != 1 || !got[0].Update || got[0].Value != 151 || !got[0].First.Equal(fired[0].First) {
		t.Fatalf("after restore: %+v", got)
	}
	// Two hours later the burst is over: 31 new patients fire again.
	var again []Alert
	for i := range 31 {
		at := start.Add(3*time.Hour + time.Duration(i)*time.Second)
		clk.now = at
		again = append(again, access(eng2, c2, "jdoe", fmt.Sprintf("Q%03d", i), at, fmt.Sprintf("4-%d", i))...)
	}
	if len(again) != 1 || again[0].Update || again[0].Value != 31 {
		t.Fatalf("second burst %+v", again)
	}
	// Without bursts, each firing consumes its window: the same 150
	// accesses fire four times at 31 (what offline scans count).
	eng3, c3 := setup(t, bulkAccess, Options{Now: clk.Now})
	var plain []Alert
	for i := range 150 {
		at := start.Add(time.Duration(i) * 10 * time.Second)
		plain = append(plain, access(eng3, c3, "jdoe", fmt.Sprintf("P%03d", i), at, fmt.Sprint(i))...)
	}
	if len(plain) != 4 || plain[3].Update || plain[3].Value != 31 {
		t.Fatalf("without bursts: %d alerts %+v", len(plain), plain)
	}
	// Another user is another group.
	if got := access(eng2, c2, "asmith", "P001", at, "5-0"); len(got) != 0 {
		t.Fatalf("another user: %+v", got)
	}
}

// A brute force that goes on is one alert whose count grows; an ended
// burst is forgotten at the next snapshot.
func TestBurstEndsAndIsForgotten(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clk := &clock{now: now}
	eng, c := setup(t, bruteForce, Options{Now: clk.Now, Bursts: true})
	var all []Alert
	for i := range 40 {
		clk.now = clk.now.Add(time.Second)
		e := event.Event{Time: clk.now}
		e.Add("event.module", "test")
		e.Add("outcome", "failure")
		e.Add("user", "bob")
		e.Add(event.FieldID, fmt.Sprint(i))
		eng.Match(&e, func(m *engine.Match) { all = append(all, c.Observe(m)...) })
	}
	if n := len(firings(all)); n != 1 || all[len(all)-1].Count != 40 || all[len(all)-1].Value != 40 {
		t.Fatalf("%d firings, last %+v", n, all[len(all)-1])
	}
	clk.now = clk.now.Add(time.Hour)
	var buf bytes.Buffer
	if err := c.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Groups != 0 {
		t.Fatalf("an ended burst kept its group: %+v (%s)", st, buf.String())
	}
}

// With BurstUpdatesOnTick a brute force of thousands of events is its
// firing plus one update per Tick with the size at that Tick, not an
// update per event; the last growth of a burst that ends before a Tick
// is still reported, before the next burst's firing.
func TestBurstUpdatesComeOncePerTick(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clk := &clock{now: now}
	eng, c := setup(t, bruteForce, Options{Now: clk.Now, Bursts: true, BurstUpdatesOnTick: true})
	id := 0
	fail := func(n int) (out []Alert) {
		for range n {
			clk.now = clk.now.Add(time.Millisecond)
			e := event.Event{Time: clk.now}
			e.Add("event.module", "test")
			e.Add("outcome", "failure")
			e.Add("user", "bob")
			e.Add(event.FieldID, fmt.Sprint(id))
			id++
			eng.Match(&e, func(m *engine.Match) { out = append(out, c.Observe(m)...) })
		}
		return out
	}
	var observed, ticked []Alert
	for range 10 {
		observed = append(observed, fail(1000)...)
		ticked = append(ticked, c.Tick()...)
	}
	if len(observed) != 1 || observed[0].Update {
		t.Fatalf("10,000 failures: Observe returned %d alerts, want the firing alone: %+v", len(observed), observed[:3])
	}
	if len(ticked) != 10 {
		t.Fatalf("10 Ticks returned %d updates, want 10", len(ticked))
	}
	for i, a := range ticked {
		if !a.Update || !a.First.Equal(observed[0].First) || a.Count != (i+1)*1000 || len(a.EventIDs) > 100 {
			t.Fatalf("update %d: update %v first %v count %d ids %d", i, a.Update, a.First, a.Count, len(a.EventIDs))
		}
	}
	if got := c.Tick(); len(got) != 0 {
		t.Fatalf("a Tick with no growth returned %d alerts", len(got))
	}
	// The burst grows, then ends (a quiet hour) and a new one fires: the
	// old one's last size comes with the next Tick, before nothing else.
	fail(5)
	clk.now = clk.now.Add(time.Hour)
	second := fail(1000)
	if len(second) != 1 || second[0].Update {
		t.Fatalf("a new burst after an hour: %d alerts", len(second))
	}
	got := c.Tick()
	if len(got) != 2 || got[0].Count != 10_005 || !got[0].First.Equal(observed[0].First) || got[1].Count != 1000 {
		t.Fatalf("after the second burst: %+v", got)
	}
}
