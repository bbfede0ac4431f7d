package correlation

import (
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/vigil-siem/vigil/internal/detect/sigma/engine"
	"github.com/vigil-siem/vigil/internal/event"
)

// batchEvent is a failed login whose values live in one buffer, as the
// events of a decoded batch do.
func batchEvent(buf []byte, user, id string, sec int) (event.Event, []byte) {
	start := len(buf)
	buf = append(buf, "testfailure"...)
	buf = append(buf, user...)
	buf = append(buf, id...)
	s := unsafe.String(&buf[start], len(buf)-start)
	e := event.Event{Time: t0.Add(time.Duration(sec) * time.Second)}
	e.Add("event.module", s[:4])
	e.Add("outcome", s[4:11])
	e.Add("user", s[11:11+len(user)])
	e.Add("bytes", s[11:11+len(user)])
	e.Add(event.FieldID, s[11+len(user):])
	return e, buf
}

// TestObserveKeepsNothingOfTheEvent: what the state keeps (group keys,
// entries, a burst's ids and distinct values) is copied out of the
// event's memory, so that a batch does not stay alive with it.
func TestObserveKeepsNothingOfTheEvent(t *testing.T) {
	corr := `
title: many values
id: 00000000-0000-0000-0000-0000000000c3
correlation:
  type: value_count
  rules: [failed]
  group-by: [user]
  timespan: 1h
  condition: {gte: 3, field: bytes}
`
	eng, c := setup(t, corr, Options{Bursts: true, BurstUpdatesOnTick: true})
	buf := make([]byte, 0, 1<<16)
	for i := range 20 {
		var e event.Event
		e, buf = batchEvent(buf, fmt.Sprintf("u%d", i%3), fmt.Sprintf("9-%d", i), i)
		eng.Match(&e, func(m *engine.Match) { c.Observe(m) })
	}
	lo, hi := uintptr(unsafe.Pointer(unsafe.SliceData(buf))), uintptr(unsafe.Pointer(unsafe.SliceData(buf)))+uintptr(cap(buf))
	inBatch := func(s string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		return len(s) > 0 && p >= lo && p < hi
	}
	kept := 0
	for _, g := range c.groups {
		check := func(what, s string) {
			kept++
			if inBatch(s) {
				t.Errorf("group %q keeps %s %q in the batch's memory", g.mapKey, what, s)
			}
		}
		for _, k := range g.key {
			check("key", k)
		}
		for _, en := range g.entries {
			check("value", en.Val)
			for _, id := range en.IDs {
				check("id", id)
			}
		}
		if b := g.burst; b != nil {
			for _, id := range b.ids {
				check("burst id", id)
			}
			for v := range b.vals {
				check("burst value", v)
			}
		}
	}
	if kept < 20 {
		t.Fatalf("only %d values kept: the test saw no state", kept)
	}
}

// TestJoiningABurstAllocatesNothing: a match that joins an open burst
// (most of a brute force) costs no allocation once the burst keeps all
// the ids it keeps.
func TestJoiningABurstAllocatesNothing(t *testing.T) {
	corr := `
title: brute force
id: 00000000-0000-0000-0000-0000000000c1
correlation:
  type: event_count
  rules: [failed]
  group-by: [user]
  timespan: 1h
  condition: {gte: 3}
`
	eng, c := setup(t, corr, Options{Bursts: true, BurstUpdatesOnTick: true, Now: func() time.Time { return t0.Add(time.Hour) }})
	var m engine.Match
	for i := range 150 {
		e := event.Event{Time: t0.Add(time.Duration(i) * time.Second)}
		e.Add("event.module", "test")
		e.Add("outcome", "failure")
		e.Add("user", "bob")
		e.Add(event.FieldID, fmt.Sprintf("1-%d", i))
		eng.Match(&e, func(mt *engine.Match) { c.Observe(mt); m = *mt })
	}
	c.Tick()
	if allocs := testing.AllocsPerRun(200, func() { c.Observe(&m) }); allocs > 0 {
		t.Errorf("joining a burst: %.1f allocations per match, want 0", allocs)
	}
}
