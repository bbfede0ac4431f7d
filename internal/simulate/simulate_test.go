package simulate

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/privacy"
)

func planDigest(seed uint64, start time.Time, span time.Duration) (string, int) {
	p := NewPlan(PlanOptions{Seed: seed, Start: start, Span: span, Location: time.UTC, Incidents: true})
	r := &renderer{loc: time.UTC, seed: seed}
	h := sha256.New()
	for i := range p.Intents {
		h.Write(r.render(&p.Intents[i]))
	}
	h.Write([]byte(RosterCSV(p.H)))
	for _, t := range p.Truth() {
		fmt.Fprintf(h, "%+v", t)
	}
	return fmt.Sprintf("%x", h.Sum(nil)), len(p.Intents)
}

// The same seed and start give the same hospital, events and ground
// truth; another seed gives others.
func TestDeterministic(t *testing.T) {
	start := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	a, n := planDigest(42, start, 30*time.Hour)
	b, _ := planDigest(42, start, 30*time.Hour)
	c, _ := planDigest(43, start, 30*time.Hour)
	if a != b {
		t.Fatal("same seed, different output")
	}
	if a == c {
		t.Fatal("different seeds, same output")
	}
	if n < 2000 {
		t.Fatalf("only %d events in 30 simulated hours", n)
	}
}

// Every rule the ground truth names is one of Vigil's rules (Sigma or
// privacy).
func TestTruthRulesExist(t *testing.T) {
	ids := map[string]bool{}
	re := regexp.MustCompile(`(?m)^id: (\S+)`)
	root := filepath.Join(repoRoot(t), "rules")
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yml") || strings.Contains(p, "regression_data") {
			return err
		}
		data, _ := os.ReadFile(p)
		for _, m := range re.FindAllSubmatch(data, -1) {
			ids[string(m[1])] = true
		}
		return nil
	})
	for _, r := range privacy.RuleList() {
		ids[r.ID] = true
	}
	p := NewPlan(PlanOptions{Seed: 1, Start: time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC), Span: 42 * time.Hour, Location: time.UTC, Incidents: true})
	if len(p.Incidents) != 18 {
		t.Fatalf("%d incidents (skipped %v)", len(p.Incidents), p.Skipped)
	}
	for _, in := range p.Incidents {
		for _, r := range in.Rules {
			if !ids[r] {
				t.Errorf("%s expects rule %s, which is neither in rules/ nor a privacy rule", in.Type, r)
			}
		}
		for _, r := range in.Also {
			if !ids[r] && r != ruleWinLogonTerminated {
				t.Errorf("%s may raise rule %s, which is not in rules/", in.Type, r)
			}
		}
	}
}

func TestDefaultStart(t *testing.T) {
	f := func(now string, span time.Duration, want string) {
		t.Helper()
		n, _ := time.Parse(time.RFC3339, now)
		if got := DefaultStart(n, span, time.UTC).Format(time.RFC3339); got != want {
			t.Errorf("DefaultStart(%s, %v) = %s, want %s", now, span, got, want)
		}
	}
	f("2026-11-28T17:30:00Z", 48*time.Hour, "2026-11-26T06:00:00Z")
	f("2026-11-28T05:30:00Z", 48*time.Hour, "2026-11-25T06:00:00Z")
	f("2026-11-28T06:00:00Z", 24*time.Hour, "2026-11-27T06:00:00Z")
}

// A dry run renders the whole period without a server.
func TestDryRun(t *testing.T) {
	var truth strings.Builder
	st, err := Run(context.Background(), Config{DryRun: true, Seed: 5, Rate: 0, Span: 30 * time.Hour, Location: time.UTC,
		Start: time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC), Truth: &truth})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := ReadTruth(strings.NewReader(truth.String()))
	if err != nil || len(recs) != st.Incidents || st.Incidents < 13 {
		t.Fatalf("truth: %v, %d records, %d incidents", err, len(recs), st.Incidents)
	}
	total := 0
	for _, n := range st.Events {
		total += n
	}
	if st.Sent != total || st.Bytes == 0 || st.Errors != 0 {
		t.Fatalf("%+v", st)
	}
}

// TestNoBackgroundSelfAccess: staff are patients too, and some are
// admitted during a week; nobody opens their own record as background
// work (that is only ever the self_access incident).
func TestNoBackgroundSelfAccess(t *testing.T) {
	plan := NewPlan(PlanOptions{Seed: 21, Start: time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC), Span: 168 * time.Hour,
		Location: time.UTC, Incidents: true})
	staffPatients, self := 0, 0
	for _, w := range plan.H.Workers {
		if w.Patient >= 0 {
			staffPatients++
		}
	}
	for i := range plan.Intents {
		in := &plan.Intents[i]
		if in.W == nil || in.P == nil || in.W.Patient < 0 || in.W.Patient != in.P.Index {
			continue
		}
		if in.Incident < 0 || plan.Incidents[in.Incident].Type != IncSelfAccess {
			t.Errorf("%s opens their own record as %v at %s", in.W.Login, in.Kind, in.T.Format(time.RFC3339))
		}
		self++
	}
	if staffPatients == 0 || self == 0 {
		t.Fatalf("%d staff who are patients, %d self-accesses: the test checks nothing", staffPatients, self)
	}
}
