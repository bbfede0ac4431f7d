package correlation

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/sigma"
	"github.com/vigil-siem/vigil/internal/detect/sigma/engine"
	"github.com/vigil-siem/vigil/internal/detect/sigma/pipeline"
	"github.com/vigil-siem/vigil/internal/event"
)

const testPipeline = `
name: test
vigil:
  routes:
    - logsource: {product: test}
      when: {event.module: test}
`

const baseRules = `
title: failed
id: 00000000-0000-0000-0000-00000000000f
name: failed
logsource: {product: test}
detection:
  sel: {outcome: failure}
  condition: sel
---
title: success
id: 00000000-0000-0000-0000-00000000000s
name: success
logsource: {product: test}
detection:
  sel: {outcome: success}
  condition: sel
`

func setup(t *testing.T, corr string, opt Options) (*engine.Engine, *Engine) {
	t.Helper()
	p := sigma.ParseFile("r.yml", []byte(baseRules+"---\n"+corr), sigma.ParseOptions{})
	if len(p.Rejected) > 0 {
		t.Fatalf("rejected: %v", p.Rejected)
	}
	rs := &sigma.RuleSet{Rules: p.Rules, Correlations: p.Correlations}
	rep := &sigma.Report{}
	sigma.Link(rs, rep)
	if len(rep.Rejected) > 0 {
		t.Fatalf("link: %v", rep.Rejected)
	}
	pl, err := pipeline.Parse("p.yml", []byte(testPipeline))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.Compile(rs, engine.Options{Pipelines: []*pipeline.Pipeline{pl}})
	if err != nil {
		t.Fatal(err)
	}
	return eng, New(rs.Correlations, eng, opt)
}

var t0 = time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)

type ev struct {
	sec     int
	outcome string
	user    string
	extra   string
}

func feed(eng *engine.Engine, c *Engine, evs []ev) []Alert {
	var out []Alert
	for i, x := range evs {
		e := event.Event{Time: t0.Add(time.Duration(x.sec) * time.Second)}
		e.Add("event.module", "test")
		e.Add("outcome", x.outcome)
		e.Add("user", x.user)
		e.Add("bytes", x.extra)
		e.Add(event.FieldID, fmt.Sprintf("1-%d", i))
		eng.Match(&e, func(m *engine.Match) { out = append(out, firings(c.Observe(m))...) })
	}
	return append(out, c.Flush(t0.Add(24*time.Hour))...)
}

// firings drops the updates of bursts that grow (burst_test.go tests
// them): what is left is one alert per firing.
func firings(as []Alert) []Alert {
	var out []Alert
	for _, a := range as {
		if !a.Update {
			out = append(out, a)
		}
	}
	return out
}

func TestEventCountWindows(t *testing.T) {
	corr := `
title: brute force
id: 00000000-0000-0000-0000-0000000000c1
correlation:
  type: event_count
  rules: [failed]
  group-by: [user]
  timespan: 60s
  condition: {gte: 3}
`
	eng, c := setup(t, corr, Options{})
	alerts := feed(eng, c, []ev{
		{0, "failure", "bob", ""}, {30, "failure", "bob", ""}, // 2 in window
		{95, "failure", "bob", ""}, // crosses: 0 and 30 fall out at 95 (window 35..95)
		{100, "failure", "alice", ""},
		{120, "failure", "bob", ""}, {130, "failure", "bob", ""}, // 95,120,130 within 60s -> alert
		{131, "failure", "bob", ""}, // consumed window: only one now
	})
	if len(alerts) != 1 {
		t.Fatalf("got %d alerts %+v, want 1", len(alerts), alerts)
	}
	a := alerts[0]
	if a.GroupBy[0].Value != "bob" || a.Value != 3 || len(a.EventIDs) != 3 || a.EventIDs[0] != "1-2" {
		t.Errorf("alert %+v", a)
	}
}

func TestTemporalOrdered(t *testing.T) {
	corr := `
title: success after failures
id: 00000000-0000-0000-0000-0000000000c2
correlation:
  type: temporal_ordered
  rules: [many_failed, success]
  group-by: [user]
  timespan: 10m
---
title: many failed
id: 00000000-0000-0000-0000-0000000000c3
name: many_failed
correlation:
  type: event_count
  rules: [failed]
  group-by: [user]
  timespan: 5m
  condition: {gte: 3}
`
	eng, c := setup(t, corr, Options{})
	alerts := feed(eng, c, []ev{
		{0, "success", "bob", ""}, // success before failures: no
		{10, "failure", "bob", ""}, {20, "failure", "bob", ""}, {30, "failure", "bob", ""},
		{40, "success", "bob", ""},
		{50, "success", "carol", ""},
	})
	var names []string
	for _, a := range alerts {
		names = append(names, a.Title)
	}
	if len(alerts) != 2 || alerts[0].Title != "many failed" || alerts[1].Title != "success after failures" {
		t.Fatalf("got %v", names)
	}
	if alerts[0].Standalone {
		t.Errorf("inner correlation should not be standalone")
	}
	if got := len(alerts[1].EventIDs); got != 4 {
		t.Errorf("chained alert has %d event ids, want 4", got)
	}
}

func TestClosingConditions(t *testing.T) {
	f := func(corr string, evs []ev, want int) {
		t.Helper()
		eng, c := setup(t, corr, Options{AllowedLateness: time.Second})
		if got := len(feed(eng, c, evs)); got != want {
			t.Errorf("got %d alerts, want %d for\n%s", got, want, corr)
		}
	}
	few := []ev{{0, "failure", "bob", "10"}, {5, "failure", "bob", "30"}, {200, "failure", "bob", "5"}}
	f(`
title: c
correlation: {type: event_count, rules: [failed], group-by: [user], timespan: 60s, condition: {lt: 3}}
`, few, 2) // window 0..60 has 2 (<3), window 200..260 has 1
	f(`
title: c
correlation: {type: event_count, rules: [failed], group-by: [user], timespan: 60s, condition: {gt: 1, lte: 2}}
`, few, 1)
	f(`
title: c
correlation: {type: value_sum, rules: [failed], group-by: [user], timespan: 60s, condition: {field: bytes, gte: 40}}
`, few, 1)
	f(`
title: c
correlation: {type: value_avg, rules: [failed], group-by: [user], timespan: 60s, condition: {field: bytes, eq: 20}}
`, few, 1)
	f(`
title: c
correlation: {type: value_percentile, rules: [failed], group-by: [user], timespan: 60s, condition: {field: bytes, percentile: 50, gte: 30}}
`, few, 1)
	f(`
title: c
correlation: {type: value_count, rules: [failed], group-by: [outcome], timespan: 10m, condition: {field: bytes, gte: 3}}
`, few, 1)
	f(`
title: c
correlation: {type: temporal, rules: [failed, success], group-by: [user], timespan: 60s, condition: "failed and not success"}
`, few, 2)
}

func TestBoundsAndSnapshot(t *testing.T) {
	corr := `
title: brute force
id: 00000000-0000-0000-0000-0000000000c1
correlation:
  type: event_count
  rules: [failed]
  group-by: [user]
  timespan: 60s
  condition: {gte: 3}
`
	eng, c := setup(t, corr, Options{MaxGroups: 2})
	feed(eng, c, []ev{{0, "failure", "a", ""}, {1, "failure", "b", ""}, {2, "failure", "c", ""}})
	if s := c.Stats(); s.Evictions != 1 || s.Groups != 2 {
		t.Errorf("stats %+v, want 1 eviction and 2 groups", s)
	}
	// Two failures before a restart, one after: the alert needs the state.
	eng, c = setup(t, corr, Options{})
	for _, x := range []ev{{0, "failure", "bob", ""}, {10, "failure", "bob", ""}} {
		e := event.Event{Time: t0.Add(time.Duration(x.sec) * time.Second)}
		e.Add("event.module", "test")
		e.Add("outcome", x.outcome)
		e.Add("user", x.user)
		eng.Match(&e, func(m *engine.Match) { c.Observe(m) })
	}
	var buf bytes.Buffer
	if err := c.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	_, c2 := setup(t, corr, Options{})
	if skipped, err := c2.Restore(&buf); err != nil || skipped != 0 {
		t.Fatalf("restore: %v, skipped %d", err, skipped)
	}
	if got := feed(eng, c2, []ev{{20, "failure", "bob", ""}}); len(got) != 1 {
		t.Errorf("after restore: got %d alerts, want 1", len(got))
	}
	if _, err := c2.Restore(bytes.NewReader([]byte("{bad"))); err == nil {
		t.Errorf("restore of garbage: got no error")
	}
}

// TestOutOfOrder feeds events slightly out of order (within the allowed
// lateness of their group; another group's newer events do not count) and
// one far too late, which is kept apart as late, not dropped.
func TestOutOfOrder(t *testing.T) {
	corr := `
title: brute force
id: 00000000-0000-0000-0000-0000000000c1
correlation:
  type: event_count
  rules: [failed]
  group-by: [user]
  timespan: 60s
  condition: {gte: 3}
`
	eng, c := setup(t, corr, Options{AllowedLateness: 30 * time.Second})
	alerts := feed(eng, c, []ev{
		{100, "failure", "bob", ""}, {500, "failure", "eve", ""}, // eve's clock is eve's
		{90, "failure", "bob", ""}, // 10s late for bob: on time
		{520, "failure", "bob", ""},
		{400, "failure", "bob", ""},                              // 120s behind bob's newest: late
		{505, "failure", "bob", ""}, {510, "failure", "bob", ""}, // 520, 505, 510: one window
	})
	if len(alerts) != 1 || alerts[0].First != t0.Add(505*time.Second) || alerts[0].Last != t0.Add(520*time.Second) {
		t.Fatalf("got %+v, want one alert for 505..520", alerts)
	}
	if s := c.Stats(); s.Dropped != 0 || s.Late != 1 {
		t.Errorf("dropped %d, late %d, want 0 and 1", s.Dropped, s.Late)
	}
}

// TestAliases groups events of two rules whose user is in different
// fields (the failed rule's "user", the success rule's "bytes" here).
func TestAliases(t *testing.T) {
	corr := `
title: failure then success, same account under different names
id: 00000000-0000-0000-0000-0000000000c5
correlation:
  type: temporal
  rules: [failed, success]
  group-by: [account]
  timespan: 60s
  aliases:
    account:
      failed: user
      success: bytes
`
	eng, c := setup(t, corr, Options{})
	alerts := feed(eng, c, []ev{
		{0, "failure", "bob", ""}, {10, "success", "x", "alice"}, // different accounts
		{20, "success", "y", "bob"}, // bob's success: bytes=bob
	})
	if len(alerts) != 1 || alerts[0].GroupBy[0] != (Field{Name: "account", Value: "bob"}) {
		t.Fatalf("got %+v, want one alert for account bob", alerts)
	}
}

// countingWriter keeps nothing: the bytes and the largest single write.
type countingWriter struct{ n, largest, writes int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	w.largest = max(w.largest, len(p))
	w.writes++
	return len(p), nil
}

// TestSnapshotStreams: the snapshot goes to the writer group by group,
// never built whole in memory first (a copy of the state and its whole
// encoding at every checkpoint were the process's peak under a flood):
// no write is more than a few groups long, and what Snapshot allocates is
// a small part of what it writes. Restore reads it back.
func TestSnapshotStreams(t *testing.T) {
	corr := `
title: brute force
id: 00000000-0000-0000-0000-0000000000c1
correlation:
  type: event_count
  rules: [failed]
  group-by: [user]
  timespan: 1h
  condition: {gte: 1000}
`
	const groups, perGroup = 2000, 5
	eng, c := setup(t, corr, Options{MaxGroups: 2 * groups})
	for g := range groups {
		for i := range perGroup {
			e := event.Event{Time: t0.Add(time.Duration(i) * time.Second)}
			e.Add("event.module", "test")
			e.Add("outcome", "failure")
			e.Add("user", fmt.Sprintf("user-%05d", g))
			e.Add(event.FieldID, fmt.Sprintf("1-%d-%d", g, i))
			eng.Match(&e, func(m *engine.Match) { c.Observe(m) })
		}
	}
	if s := c.Stats(); s.Groups != groups {
		t.Fatalf("%d groups, want %d", s.Groups, groups)
	}
	if err := c.Snapshot(&countingWriter{}); err != nil { // warm the encoder's pools
		t.Fatal(err)
	}
	var w countingWriter
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := c.Snapshot(&w); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("snapshot of %d groups: %d bytes in %d writes (largest %d), %d bytes allocated", groups, w.n, w.writes, w.largest, alloc)
	if w.largest > w.n/100 {
		t.Errorf("a write of %d bytes of %d: the snapshot was built whole before writing", w.largest, w.n)
	}
	if alloc > uint64(w.n) {
		t.Errorf("snapshot allocated %d bytes to write %d: it holds a copy of the state", alloc, w.n)
	}
	var buf bytes.Buffer
	if err := c.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	_, c2 := setup(t, corr, Options{MaxGroups: 2 * groups})
	if skipped, err := c2.Restore(&buf); err != nil || skipped != 0 {
		t.Fatalf("restore: %v, skipped %d", err, skipped)
	}
	if s := c2.Stats(); s.Groups != groups {
		t.Errorf("restored %d groups, want %d", s.Groups, groups)
	}
}
