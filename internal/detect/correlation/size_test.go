package correlation

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/sigma/engine"
	"github.com/vigil-siem/vigil/internal/event"
)

const sizeCorr = `
title: brute force
id: 00000000-0000-0000-0000-0000000000c1
correlation:
  type: event_count
  rules: [failed]
  group-by: [user]
  timespan: 1h
  condition: {gte: 1000}
`

func feedGroups(eng *engine.Engine, c *Engine, groups, perGroup int) {
	for g := range groups {
		for i := range perGroup {
			e := event.Event{Time: t0.Add(time.Duration(i) * time.Second)}
			e.Add("event.module", "test")
			e.Add("outcome", "failure")
			e.Add("user", fmt.Sprintf("user-%06d", g))
			e.Add(event.FieldID, fmt.Sprintf("17-%d-%d", g, i))
			eng.Match(&e, func(m *engine.Match) { c.Observe(m) })
		}
	}
}

// TestStateEstimateMatchesTheHeap: the state's estimated memory is within
// a factor of two of the heap it really holds, so that MaxBytes means
// what it says.
func TestStateEstimateMatchesTheHeap(t *testing.T) {
	const groups = 20000
	eng, c := setup(t, sizeCorr, Options{})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	feedGroups(eng, c, groups, 3)
	runtime.GC()
	runtime.ReadMemStats(&after)
	real := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	s := c.Stats()
	t.Logf("%d groups: estimated %d bytes, heap grew %d", s.Groups, s.Bytes, real)
	if s.Groups != groups || s.Bytes < real/2 || s.Bytes > 2*real {
		t.Errorf("%d groups: estimated %d bytes, the heap grew %d", s.Groups, s.Bytes, real)
	}
	runtime.KeepAlive(c)
}

// TestStateBoundedInBytes: past MaxBytes the least recently active
// groups are evicted, the newest kept, and a restore keeps the bound.
func TestStateBoundedInBytes(t *testing.T) {
	const max = 256 << 10
	eng, c := setup(t, sizeCorr, Options{MaxBytes: max})
	feedGroups(eng, c, 5000, 2)
	s := c.Stats()
	if s.Bytes > max || s.Bytes < max/2 || s.Evictions == 0 || s.Groups >= 5000 {
		t.Fatalf("stats %+v with MaxBytes %d", s, max)
	}
	if _, ok := c.groups[groupKey(c.rules[0], []string{"user-004999"})]; !ok {
		t.Errorf("the newest group was evicted")
	}
	if _, ok := c.groups[groupKey(c.rules[0], []string{"user-000000"})]; ok {
		t.Errorf("the oldest group was kept")
	}
	_, unbounded := setup(t, sizeCorr, Options{})
	feedGroups(eng, unbounded, 5000, 2)
	var buf bytes.Buffer
	if err := unbounded.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	_, c2 := setup(t, sizeCorr, Options{MaxBytes: max})
	if _, err := c2.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	if s2 := c2.Stats(); s2.Bytes > max || s2.Groups != s.Groups {
		t.Errorf("restored %+v, want the bound kept (%d groups as live)", s2, s.Groups)
	}
}
