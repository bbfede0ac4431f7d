package engine

import (
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/detect/sigma/eventfile"
	"github.com/vigil-siem/vigil/internal/event"
)

// regressionEvents reads the events of the shared regression cases as
// stored (evtx_dump layout where the file is evtx_dump JSON).
func regressionEvents(tb testing.TB) []event.Event {
	var out []event.Event
	err := filepath.WalkDir(filepath.Join(corpusDir(tb), "regression_data"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".json" {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return eventfile.Read(f, func(ev *event.Event) error {
			out = append(out, ev.Clone())
			return nil
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// shout returns a copy of ev with every value upper-cased: the prefilter
// and the matchers must fold it the same way.
func shout(ev *event.Event) event.Event {
	c := ev.Clone()
	for i := range c.Fields {
		c.Fields[i].Value = strings.ToUpper(c.Fields[i].Value)
	}
	return c
}

// mutations returns variants of events that sit near the rules' edges:
// a field removed, a value cut short at either end, two values swapped, a
// value repeated (seeded, so failures reproduce).
func mutations(events []event.Event) []event.Event {
	rng := rand.New(rand.NewSource(11))
	var out []event.Event
	for i := range events {
		n := len(events[i].Fields)
		if n == 0 {
			continue
		}
		for k := 0; k < 4; k++ {
			c := events[i].Clone()
			f := &c.Fields[rng.Intn(n)]
			switch k {
			case 0:
				c.Delete(f.Name)
			case 1:
				f.Value = f.Value[:rng.Intn(len(f.Value)+1)]
			case 2:
				f.Value = f.Value[rng.Intn(len(f.Value)+1):]
			case 3:
				g := &c.Fields[rng.Intn(n)]
				f.Value, g.Value = g.Value, f.Value+" "+f.Value
			}
			out = append(out, c)
		}
	}
	return out
}

// matchedRules returns, per event, the indexes of the rules e matches.
func matchedRules(e *Engine, events []event.Event) [][]int {
	w := e.NewWorker()
	out := make([][]int, len(events))
	for i := range events {
		w.Match(&events[i], func(m *Match) { out[i] = append(out[i], m.Rule.Index) })
	}
	return out
}

// TestDifferential checks that the compiled engine (routing, prefilter,
// specialised matchers) matches exactly the rules the naive engine
// (every routed rule evaluated) matches, event by event, over the
// benchmark stream and the regression events in both layouts, as stored,
// upper-cased and mutated.
func TestDifferential(t *testing.T) {
	if testing.Short() {
		t.Skip("differential test evaluates every rule on every event; skipped with -short")
	}
	rs := loadCorpus(t)
	reg := regressionEvents(t)
	var evtx, flat []event.Event
	for i := range reg {
		ev := reg[i].Clone()
		if eventfile.Detect(&ev) == eventfile.FormatEvtxDump {
			evtx = append(evtx, ev.Clone(), shout(&ev))
			eventfile.EvtxToWinlog(&ev)
		}
		flat = append(flat, ev.Clone(), shout(&ev))
	}
	flat = append(flat, mutations(flat)...)
	evtx = append(evtx, mutations(evtx)...)
	flat = append(flat, benchStream(t)...)
	for _, c := range []struct {
		pipe   string
		rules  int // 0: all
		events []event.Event
	}{{"vigil", 0, flat}, {"evtx_dump", 0, evtx}, {"vigil", 100, flat}, {"vigil", 1000, flat}} {
		// Subsets have other literal statistics, hence other gates.
		var fast, naive *Engine
		if c.rules == 0 {
			fast, naive = corpusEngine(t, c.pipe, true), corpusEngine(t, c.pipe, false)
		} else {
			set := subset(rs, c.rules)
			fast = mustCompile(t, set, c.pipe, Options{})
			naive = mustCompile(t, set, c.pipe, Options{DisablePrefilter: true})
		}
		got, want := matchedRules(fast, c.events), matchedRules(naive, c.events)
		total := 0
		for i := range c.events {
			total += len(want[i])
			if !slices.Equal(got[i], want[i]) {
				t.Errorf("%s/%d rules, event %d %v:\ngot rules %v, naive engine matched %v", c.pipe, c.rules, i, c.events[i].Fields, titles(fast, got[i]), titles(naive, want[i]))
			}
		}
		if total == 0 {
			t.Errorf("%s/%d rules: no event matched any rule; the comparison proves nothing", c.pipe, c.rules)
		}
		t.Logf("%s, %d rules (0: all): %d events, %d matches, same as the naive engine", c.pipe, c.rules, len(c.events), total)
	}
}

func titles(e *Engine, idx []int) []string {
	var out []string
	for _, i := range idx {
		out = append(out, e.Rules()[i].Title)
	}
	return out
}
