// Package regression runs SigmaHQ-style regression cases: directories
// holding an info.yml that names a rule and lists test files of events; a
// case passes when the rule matches the events, exactly match_count times
// when that is given.
package regression

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-siem/vigil/internal/detect/sigma/eventfile"
	"github.com/vigil-siem/vigil/internal/event"
)

// Case is one info.yml.
type Case struct {
	Dir       string
	Info      string // path of info.yml
	RuleID    string
	RuleTitle string
	Tests     []Test
}

// Test is one entry of regression_tests_info.
type Test struct {
	Name       string
	Type       string
	Path       string // as written
	File       string // resolved event file
	MatchCount int    // -1 when not given
}

type infoDoc struct {
	ID           string `yaml:"id"`
	RuleMetadata []struct {
		ID    string `yaml:"id"`
		Title string `yaml:"title"`
	} `yaml:"rule_metadata"`
	Tests []struct {
		Name       string `yaml:"name"`
		Type       string `yaml:"type"`
		Path       string `yaml:"path"`
		MatchCount *int   `yaml:"match_count"`
	} `yaml:"regression_tests_info"`
}

// Find returns the cases under the given directories (recursively), in
// path order.
func Find(dirs []string) ([]*Case, error) {
	var cases []*Case
	for _, root := range dirs {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || d.Name() != "info.yml" {
				return nil
			}
			c, err := readCase(p)
			if err != nil {
				return err
			}
			cases = append(cases, c)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("regression cases: %w", err)
		}
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].Info < cases[j].Info })
	return cases, nil
}

func readCase(path string) (*Case, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc infoDoc
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := &Case{Dir: filepath.Dir(path), Info: path}
	if len(doc.RuleMetadata) == 0 || doc.RuleMetadata[0].ID == "" {
		return nil, fmt.Errorf("%s: rule_metadata names no rule id", path)
	}
	c.RuleID, c.RuleTitle = doc.RuleMetadata[0].ID, doc.RuleMetadata[0].Title
	for _, t := range doc.Tests {
		tc := Test{Name: t.Name, Type: t.Type, Path: t.Path, MatchCount: -1}
		if t.MatchCount != nil {
			tc.MatchCount = *t.MatchCount
		}
		tc.File = resolve(c.Dir, t.Path)
		c.Tests = append(c.Tests, tc)
	}
	return c, nil
}

// resolve finds a test's event file in the case directory: the file named
// by path, or for an .evtx path its evtx_dump .json twin.
func resolve(dir, path string) string {
	base := filepath.Base(path)
	cands := []string{base}
	if ext := filepath.Ext(base); ext != ".json" {
		cands = append([]string{strings.TrimSuffix(base, ext) + ".json"}, cands...)
	}
	for _, c := range cands {
		p := filepath.Join(dir, c)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return filepath.Join(dir, base)
}

// Status of a case.
type Status int

// Statuses.
const (
	Pass Status = iota
	Fail
	Skip
)

func (s Status) String() string { return [...]string{"PASS", "FAIL", "SKIP"}[s] }

// Result is the outcome of one case.
type Result struct {
	Case   *Case
	Status Status
	Detail string
}

// Counter counts how often a rule (by id or name) fires over the events of
// one file. Implementations compile the rules once and reset correlation
// state per call.
type Counter interface {
	// Known reports whether a rule with this id is loaded.
	Known(ruleID string) bool
	// Count returns how many times the rule fired over events, which are
	// in the file's layout (format).
	Count(ctx context.Context, ruleID string, events []event.Event, format eventfile.Format) (int, error)
}

// Run runs the cases. A case with no tests (for example with its tests
// commented out) is skipped when its rule is loaded, and fails when not.
// With atLeast, match_count is a minimum rather than an exact count.
func Run(ctx context.Context, cases []*Case, c Counter, atLeast bool) []Result {
	var out []Result
	for _, cs := range cases {
		if err := ctx.Err(); err != nil {
			out = append(out, Result{Case: cs, Status: Fail, Detail: err.Error()})
			continue
		}
		out = append(out, runCase(ctx, cs, c, atLeast))
	}
	return out
}

func runCase(ctx context.Context, cs *Case, c Counter, atLeast bool) Result {
	if !c.Known(cs.RuleID) {
		return Result{Case: cs, Status: Fail, Detail: fmt.Sprintf("rule %s (%s) is not loaded", cs.RuleID, cs.RuleTitle)}
	}
	if len(cs.Tests) == 0 {
		return Result{Case: cs, Status: Skip, Detail: "no regression_tests_info entries; the rule loads"}
	}
	var details []string
	for _, t := range cs.Tests {
		events, format, err := readEvents(t.File)
		if err != nil {
			return Result{Case: cs, Status: Fail, Detail: fmt.Sprintf("%s: %v", t.Name, err)}
		}
		n, err := c.Count(ctx, cs.RuleID, events, format)
		if err != nil {
			return Result{Case: cs, Status: Fail, Detail: fmt.Sprintf("%s: %v", t.Name, err)}
		}
		switch {
		case t.MatchCount >= 0 && atLeast && n < t.MatchCount:
			return Result{Case: cs, Status: Fail, Detail: fmt.Sprintf("%s: rule matched %d times, want at least %d", t.Name, n, t.MatchCount)}
		case t.MatchCount >= 0 && !atLeast && n != t.MatchCount:
			return Result{Case: cs, Status: Fail, Detail: fmt.Sprintf("%s: rule matched %d times, want %d", t.Name, n, t.MatchCount)}
		case t.MatchCount < 0 && n == 0:
			return Result{Case: cs, Status: Fail, Detail: fmt.Sprintf("%s: rule did not match", t.Name)}
		}
		details = append(details, fmt.Sprintf("%s: %d match(es)", t.Name, n))
	}
	return Result{Case: cs, Status: Pass, Detail: strings.Join(details, "; ")}
}

func readEvents(path string) ([]event.Event, eventfile.Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	var events []event.Event
	format := eventfile.FormatFlat
	err = eventfile.Read(f, func(ev *event.Event) error {
		if len(events) == 0 {
			format = eventfile.Detect(ev)
		}
		events = append(events, ev.Clone())
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	return events, format, nil
}
