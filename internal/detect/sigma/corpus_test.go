package sigma

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// corpusDir returns ../shared/corpora/sigmahq relative to the repository
// root (the directory holding go.mod), or skips the test.
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

func TestLoadCorpus(t *testing.T) {
	c := corpusDir(t)
	var paths []string
	for _, d := range []string{"rules", "rules-emerging-threats", "rules-threat-hunting", "rules-compliance"} {
		paths = append(paths, filepath.Join(c, d))
	}
	rs, rep, err := Load(context.Background(), paths, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	total := rep.Loaded() + len(rep.Rejected)
	for _, r := range rep.Rejected {
		t.Logf("rejected: %s", r)
	}
	rate := float64(rep.Loaded()) / float64(total)
	t.Logf("loaded %d of %d (%.2f%%), %d warnings", rep.Loaded(), total, 100*rate, len(rep.Warnings))
	if rate < 0.995 {
		t.Errorf("loaded %.2f%% of the corpus, want at least 99.5%%", 100*rate)
	}
	// The corpus holds about 3,800 rules: far fewer means it was not read.
	if len(rs.Rules) < 3000 {
		t.Fatalf("%d rules loaded, want at least 3000", len(rs.Rules))
	}
}
