package correlation

import (
	"strconv"
	"strings"
	"time"
)

// A burst is a firing of a correlation whose condition only grows with
// events (gt/gte counts, distinct values, sums, rule sets) that goes on:
// events of its group up to one timespan after its newest one (or before
// its oldest) join it instead of starting the count again, and each one
// returns the alert again, marked Update, with the burst's true size
// (150 distinct patients, not the threshold plus one) and the same First.
// A burst ends when its group is quiet for a timespan, or after MaxBurst;
// the next firing needs the threshold again.
type openBurst struct {
	first, last time.Time
	count       int
	vals        map[string]struct{} // value_count: the distinct values
	sum         float64             // value_sum
	refs        []bool              // temporal: the rules seen
	ids         []string            // the first MaxEventIDs
	grown       bool                // grew since its alert was last reported (BurstUpdatesOnTick)
}

// maxBurstValues bounds the distinct values a burst keeps; beyond it the
// count stops growing (and says so by staying at the bound).
const maxBurstValues = 100_000

func newBurst(g *group, win []entry, maxIDs int) *openBurst {
	b := &openBurst{first: win[0].T, last: win[len(win)-1].T, refs: make([]bool, len(g.cr.c.Refs))}
	if g.cr.c.Type == "value_count" {
		b.vals = map[string]struct{}{}
	}
	for _, en := range win {
		b.absorb(g, en, maxIDs)
	}
	return b
}

// joins reports whether an entry at t belongs to the burst.
func (b *openBurst) joins(t time.Time, span, maxBurst time.Duration) bool {
	return !t.After(b.last.Add(span)) && !t.Before(b.first.Add(-span)) && t.Sub(b.first) <= maxBurst
}

// absorb counts an entry in. The burst's first time stays that of the
// firing (it identifies the burst's alert), also for a late entry before
// it.
func (b *openBurst) absorb(g *group, en entry, maxIDs int) {
	if en.T.After(b.last) {
		b.last = en.T
	}
	b.count++
	switch g.cr.c.Type {
	case "value_count":
		if _, ok := b.vals[en.Val]; !ok && en.Val != "" && len(b.vals) < maxBurstValues {
			b.vals[strings.Clone(en.Val)] = struct{}{} // out of the event's memory
		}
	case "value_sum":
		if x, err := strconv.ParseFloat(strings.TrimSpace(en.Val), 64); err == nil {
			b.sum += x
		}
	}
	if en.Ref >= 0 && en.Ref < len(b.refs) {
		b.refs[en.Ref] = true
	}
	for _, id := range en.IDs {
		if len(b.ids) < maxIDs {
			b.ids = append(b.ids, strings.Clone(id))
		}
	}
}

// value is what the condition measures over the whole burst.
func (b *openBurst) value(g *group) float64 {
	switch g.cr.c.Type {
	case "value_count":
		return float64(len(b.vals))
	case "value_sum":
		return b.sum
	case "temporal", "temporal_ordered":
		n := 0
		for _, s := range b.refs {
			if s {
				n++
			}
		}
		return float64(n)
	}
	return float64(b.count)
}

// burstAlert is the alert of a burst as it stands.
func (e *Engine) burstAlert(g *group) Alert {
	c, b := g.cr.c, g.burst
	a := Alert{RuleID: c.ID, Name: c.Name, Title: c.Title, Level: c.Level, Status: c.Status, Description: c.Description,
		Tags: c.Tags, Type: c.Type, Value: b.value(g), Standalone: c.Alert, First: b.first, Last: b.last, Count: b.count,
		EventIDs: append([]string(nil), b.ids...), Update: true}
	for i, f := range c.GroupBy {
		a.GroupBy = append(a.GroupBy, Field{Name: f, Value: g.key[i]})
	}
	return a
}

// joinBurst adds an entry to the group's burst when it belongs to it and
// returns the burst's alert (none with BurstUpdatesOnTick); a burst the
// entry shows to be over is ended.
func (e *Engine) joinBurst(g *group, en entry) ([]Alert, bool) {
	b := g.burst
	if b == nil {
		return nil, false
	}
	span := g.cr.c.Timespan
	if b.joins(en.T, span, e.opt.MaxBurst) {
		b.absorb(g, en, e.opt.MaxEventIDs)
		if e.opt.BurstUpdatesOnTick {
			if !b.grown {
				b.grown = true
				e.grown = append(e.grown, g)
			}
			return nil, true
		}
		return []Alert{e.burstAlert(g)}, true
	}
	if en.T.After(b.last.Add(span)) || en.T.Sub(b.first) > e.opt.MaxBurst {
		e.settle(g)
		g.burst = nil // over: the next firing starts a new one
	}
	return nil, false
}

// settle keeps the update of a burst that grew since it was last reported
// and is about to end or be replaced, for the next Tick.
func (e *Engine) settle(g *group) {
	if b := g.burst; b != nil && b.grown {
		e.ended = append(e.ended, e.burstAlert(g))
		b.grown = false
	}
}

// burstUpdates returns the alert of every burst that grew since the last
// call, once, as it stands (BurstUpdatesOnTick).
func (e *Engine) burstUpdates() []Alert {
	out := e.ended
	e.ended = nil
	for _, g := range e.grown {
		if b := g.burst; b != nil && b.grown {
			out = append(out, e.burstAlert(g))
			b.grown = false
		}
	}
	clear(e.grown)
	e.grown = e.grown[:0]
	return out
}

// dropEndedBursts forgets the bursts whose group's clock has passed their
// end, and the groups left with nothing (quiet groups are not visited by
// add).
func (e *Engine) dropEndedBursts(now time.Time) {
	for _, g := range e.groups {
		if g.burst == nil {
			continue
		}
		clock := g.newest.Add(now.Sub(g.seen))
		if clock.After(g.burst.last.Add(g.cr.c.Timespan + e.opt.AllowedLateness)) {
			e.settle(g)
			g.burst = nil
			if len(g.entries) == 0 {
				e.remove(g)
			} else {
				e.resize(g)
				e.markChanged(g)
			}
		}
	}
}
