package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-siem/vigil/internal/detect/sigma"
	"github.com/vigil-siem/vigil/internal/detect/sigma/eventfile"
	"github.com/vigil-siem/vigil/internal/detect/sigma/pipeline"
	"github.com/vigil-siem/vigil/internal/detect/sigma/regression"
	"github.com/vigil-siem/vigil/internal/event"
)

func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("repository root (go.mod) not found")
		}
		dir = parent
	}
	c := filepath.Join(dir, "..", "shared", "corpora", "sigmahq")
	if _, err := os.Stat(filepath.Join(c, "rules")); err != nil {
		t.Skipf("shared corpus not found at %s", c)
	}
	return c
}

// corpus is the shared rule set, loaded once for the package's tests
// (Compile does not change the rules it is given).
var corpus struct {
	sync.Mutex
	rs      *sigma.RuleSet
	engines map[string]*Engine // by pipeline and prefilter
}

// corpusEngine returns the shared rule set compiled under a shipped
// pipeline, with or without the prefilter, compiling each combination
// once for the package's tests (an Engine is immutable).
func corpusEngine(t testing.TB, pipe string, prefilter bool) *Engine {
	rs := loadCorpus(t)
	key := fmt.Sprint(pipe, prefilter)
	corpus.Lock()
	e := corpus.engines[key]
	corpus.Unlock()
	if e != nil {
		return e
	}
	e = mustCompile(t, rs, pipe, Options{DisablePrefilter: !prefilter})
	corpus.Lock()
	defer corpus.Unlock()
	if corpus.engines == nil {
		corpus.engines = map[string]*Engine{}
	}
	corpus.engines[key] = e
	return e
}

func loadCorpus(t testing.TB) *sigma.RuleSet {
	c := corpusDir(t)
	corpus.Lock()
	defer corpus.Unlock()
	if corpus.rs != nil {
		return corpus.rs
	}
	var paths []string
	for _, d := range []string{"rules", "rules-emerging-threats", "rules-threat-hunting", "rules-compliance"} {
		paths = append(paths, filepath.Join(c, d))
	}
	rs, _, err := sigma.Load(context.Background(), paths, sigma.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	corpus.rs = rs
	return rs
}

// engineCounter counts base-rule matches with one engine per layout.
type engineCounter struct {
	evtx, flat *Engine
	winlog     bool // convert evtx_dump events to Winlogbeat and use flat
}

func (c *engineCounter) Known(id string) bool { return c.flat.Rule(id) != nil }

func (c *engineCounter) Count(ctx context.Context, id string, events []event.Event, f eventfile.Format) (int, error) {
	e := c.flat
	if f == eventfile.FormatEvtxDump {
		e = c.evtx
		if c.winlog {
			e = c.flat
		}
	}
	n := 0
	w := e.NewWorker()
	for i := range events {
		ev := events[i].Clone()
		if f == eventfile.FormatEvtxDump && c.winlog {
			eventfile.EvtxToWinlog(&ev)
		}
		w.Match(&ev, func(m *Match) {
			if m.Rule.ID == id {
				n++
			}
		})
	}
	return n, nil
}

func mustCompile(t testing.TB, rs *sigma.RuleSet, pipe string, opts Options) *Engine {
	p, err := pipeline.Shipped(pipe)
	if err != nil {
		t.Fatal(err)
	}
	opts.Pipelines = []*pipeline.Pipeline{p}
	e, err := Compile(rs, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range e.Rejected() {
		t.Logf("compile rejected: %s", r)
	}
	return e
}

// corpusCountErrors are shared cases whose info.yml match_count is 1 while
// three distinct events of the file each satisfy the rule (checked by hand:
// different record ids and target paths, one selection). SigmaHQ's own
// runner checks only that the rule fires, so these counts were never
// verified. The test requires exactly the count we established instead.
var corpusCountErrors = map[string]string{
	"file_event_win_anydesk_artefact":              "rule matched 3 times, want 1",
	"file_event_win_cred_dump_tools_dropped_files": "rule matched 3 times, want 1",
	"registry_set_change_security_zones":           "rule matched 3 times, want 1",
}

// minRegressionCases is fewer cases than the shared corpus holds (102, of
// which 98 pass, 1 has no test and 3 are in corpusCountErrors): a corpus
// that is there but yields fewer cases, or fewer passes, proves nothing.
const minRegressionCases = 90

func TestCorpusRegression(t *testing.T) {
	cases, err := regression.Find([]string{filepath.Join(corpusDir(t), "regression_data")})
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < minRegressionCases {
		t.Fatalf("found %d regression cases in the corpus, want at least %d", len(cases), minRegressionCases)
	}
	for _, mode := range []struct {
		name      string
		winlog    bool
		prefilter bool
	}{{"evtx_dump", false, true}, {"vigil", true, true}, {"evtx_dump-naive", false, false}} {
		t.Run(mode.name, func(t *testing.T) {
			c := &engineCounter{
				evtx:   corpusEngine(t, "evtx_dump", mode.prefilter),
				flat:   corpusEngine(t, "vigil", mode.prefilter),
				winlog: mode.winlog,
			}
			res := regression.Run(context.Background(), cases, c, false)
			pass, skip := 0, 0
			for _, r := range res {
				switch r.Status {
				case regression.Fail:
					if want, ok := corpusCountErrors[filepath.Base(r.Case.Dir)]; ok && strings.HasSuffix(r.Detail, want) {
						continue
					}
					t.Errorf("%s: %s", r.Case.Info, r.Detail)
				case regression.Pass:
					pass++
				case regression.Skip:
					skip++
				}
			}
			t.Logf("%d passed, %d skipped of %d", pass, skip, len(res))
			if pass < minRegressionCases {
				t.Errorf("%d cases passed, want at least %d", pass, minRegressionCases)
			}
		})
	}
}
