package correlation

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/sigma/engine"
	"github.com/vigil-siem/vigil/internal/event"
)

// Event-time trust: the attacks of issue 10 (one future-dated event
// switching every correlation off, surviving restarts) and the cases that
// must keep working (late batches, historical imports).

const bruteForce = `
title: brute force
id: 00000000-0000-0000-0000-0000000000b1
correlation:
  type: event_count
  rules: [failed]
  group-by: [user]
  timespan: 5m
  condition: {gte: 10}
`

// clock is a settable wall clock.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// observeAt feeds one failure of user at event time t.
func observeAt(eng *engine.Engine, c *Engine, user string, t time.Time, id string) []Alert {
	e := event.Event{Time: t}
	e.Add("event.module", "test")
	e.Add("outcome", "failure")
	e.Add("user", user)
	e.Add(event.FieldID, id)
	var out []Alert
	eng.Match(&e, func(m *engine.Match) { out = append(out, firings(c.Observe(m))...) })
	return out
}

// burst feeds n failures of user one second apart from start, the wall
// clock moving with them.
func burst(eng *engine.Engine, c *Engine, clk *clock, user string, start time.Time, n int) []Alert {
	var out []Alert
	for i := range n {
		clk.now = clk.now.Add(time.Second)
		out = append(out, observeAt(eng, c, user, start.Add(time.Duration(i)*time.Second), fmt.Sprintf("%s-%d", user, i))...)
	}
	return out
}

// TestFutureEventDoesNotBlind is the attack: one event stamped 2030 (any
// group, here the attacker's own) must not stop a brute force from
// raising its alert, neither in another group nor in the attacker's own.
func TestFutureEventDoesNotBlind(t *testing.T) {
	for _, poisoned := range []string{"mallory", "bob"} {
		t.Run("poison "+poisoned, func(t *testing.T) {
			now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
			clk := &clock{now: now}
			eng, c := setup(t, bruteForce, Options{AllowedLateness: 5 * time.Minute, Now: clk.Now})
			observeAt(eng, c, poisoned, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), "poison")
			got := burst(eng, c, clk, "bob", now, 12)
			if len(got) != 1 || got[0].GroupBy[0].Value != "bob" {
				t.Fatalf("after one 2030 event: %d alerts %+v, want 1 for bob (stats %+v)", len(got), got, c.Stats())
			}
			if s := c.Stats(); s.Dropped != 0 {
				t.Errorf("dropped %d entries, want 0", s.Dropped)
			}
			if s := c.Stats(); s.Clamped != 1 {
				t.Errorf("clamped %d event times, want 1", s.Clamped)
			}
		})
	}
}

// TestSkewedClockDoesNotBlind: a device three hours ahead, sending all
// along, does not hide another host's brute force (nor its own).
func TestSkewedClockDoesNotBlind(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clk := &clock{now: now}
	eng, c := setup(t, bruteForce, Options{AllowedLateness: 5 * time.Minute, Now: clk.Now})
	var got []Alert
	for i := range 12 {
		clk.now = clk.now.Add(time.Second)
		got = append(got, observeAt(eng, c, "device", clk.now.Add(3*time.Hour), fmt.Sprintf("d-%d", i))...)
		got = append(got, observeAt(eng, c, "bob", clk.now, fmt.Sprintf("b-%d", i))...)
	}
	var users []string
	for _, a := range got {
		users = append(users, a.GroupBy[0].Value)
	}
	if strings.Join(users, ",") != "device,bob" {
		t.Fatalf("alerts for %v, want device (its own burst) and bob", users)
	}
}

// TestLateEventsStillEvaluated: a group's events arriving long after
// newer ones of the same group (a buffered shipper flushing its backlog)
// still raise the alert their burst deserves.
func TestLateEventsStillEvaluated(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clk := &clock{now: now}
	eng, c := setup(t, bruteForce, Options{AllowedLateness: 5 * time.Minute, Now: clk.Now})
	observeAt(eng, c, "bob", now, "live")
	// Two hours old, in order, then the same again shuffled.
	got := burst(eng, c, clk, "bob", now.Add(-2*time.Hour), 12)
	if len(got) != 1 {
		t.Fatalf("late burst in order: %d alerts, want 1 (stats %+v)", len(got), c.Stats())
	}
	if s := c.Stats(); s.Late < 10 {
		t.Errorf("late entries %d, want ≥ 10", s.Late)
	}
	start := now.Add(-90 * time.Minute)
	got = nil
	for i, k := range []int{5, 2, 9, 0, 7, 3, 11, 1, 8, 4, 10, 6} {
		clk.now = clk.now.Add(time.Second)
		got = append(got, observeAt(eng, c, "bob", start.Add(time.Duration(k)*time.Second), fmt.Sprintf("s-%d", i))...)
	}
	if len(got) != 1 || got[0].Value != 10 {
		t.Fatalf("late burst shuffled: %+v, want one alert of 10", got)
	}
}

// TestHistoricalImport: last month's events of many groups, replayed in
// minutes while live events go on, raise their alerts and do not disturb
// the live ones.
func TestHistoricalImport(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clk := &clock{now: now}
	eng, c := setup(t, bruteForce, Options{AllowedLateness: 5 * time.Minute, Now: clk.Now})
	old := now.AddDate(0, -1, 0)
	var got []Alert
	for i := range 12 {
		clk.now = clk.now.Add(time.Second)
		got = append(got, observeAt(eng, c, "live", clk.now, fmt.Sprintf("l-%d", i))...)
		got = append(got, observeAt(eng, c, "old-a", old.Add(time.Duration(i)*time.Second), fmt.Sprintf("a-%d", i))...)
		got = append(got, observeAt(eng, c, "old-b", old.Add(time.Hour+time.Duration(i)*time.Second), fmt.Sprintf("b-%d", i))...)
	}
	var users []string
	for _, a := range got {
		users = append(users, a.GroupBy[0].Value)
	}
	if strings.Join(users, ",") != "live,old-a,old-b" {
		t.Fatalf("alerts for %v, want live, old-a, old-b", users)
	}
}

// TestQuietGroupCloses: a window of a closing condition (lt) ends on the
// group's own clock — its newest event plus the wall time since — so a
// quiet group is decided without any other traffic, and a historical
// group without waiting for the wall clock to reach last month.
func TestQuietGroupCloses(t *testing.T) {
	corr := `
title: few
correlation: {type: event_count, rules: [failed], group-by: [user], timespan: 60s, condition: {lt: 3}}
`
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clk := &clock{now: now}
	eng, c := setup(t, corr, Options{AllowedLateness: 10 * time.Second, Now: clk.Now})
	observeAt(eng, c, "bob", now.AddDate(0, -1, 0), "old")
	observeAt(eng, c, "eve", now, "live")
	clk.now = now.Add(65 * time.Second)
	if got := c.Tick(); len(got) != 0 {
		t.Fatalf("closed before the group's window and lateness passed: %+v", got)
	}
	clk.now = now.Add(71 * time.Second)
	if got := c.Tick(); len(got) != 2 {
		t.Fatalf("after 71s of quiet: %d alerts, want 2 (both windows)", len(got))
	}
}

// TestRestorePoisonedSnapshot: a checkpoint written by an older version
// after a 2030 event (version 1, one global max_time) is restored without
// its poison: the future entry is skipped and the next brute force alerts.
func TestRestorePoisonedSnapshot(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clk := &clock{now: now}
	eng, c := setup(t, bruteForce, Options{AllowedLateness: 5 * time.Minute, Now: clk.Now})
	v1 := `{"version":1,"max_time":"2030-01-01T00:00:00Z","groups":[` +
		`{"rule":"00000000-0000-0000-0000-0000000000b1","key":["mallory"],"entries":[{"t":"2030-01-01T00:00:00Z","r":0}]},` +
		`{"rule":"00000000-0000-0000-0000-0000000000b1","key":["bob"],"entries":[{"t":"2026-12-07T11:59:50Z","r":0,"ids":["x"]}]}]}`
	skipped, err := c.Restore(strings.NewReader(v1))
	if err != nil {
		t.Fatal(err)
	}
	if skipped != 1 {
		t.Errorf("skipped %d entries, want 1 (the 2030 one)", skipped)
	}
	got := burst(eng, c, clk, "bob", now, 9)
	if len(got) != 1 || got[0].Value != 10 || got[0].EventIDs[0] != "x" {
		t.Fatalf("after restoring a poisoned v1 snapshot: %+v, want one alert of 10 starting with the restored entry", got)
	}
	// The state written now is version 2 and restores as it was.
	var buf bytes.Buffer
	observeAt(eng, c, "carol", now, "c-0")
	if err := c.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"version":2`) {
		t.Fatalf("snapshot %s, want version 2", buf.String())
	}
	_, c2 := setup(t, bruteForce, Options{Now: clk.Now})
	if skipped, err := c2.Restore(&buf); err != nil || skipped != 0 || c2.Stats().Groups != c.Stats().Groups {
		t.Fatalf("restore v2: skipped %d, err %v, groups %d", skipped, err, c2.Stats().Groups)
	}
}
