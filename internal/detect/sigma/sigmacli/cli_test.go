package sigmacli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func repoRoot(t testing.TB) string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		p := filepath.Dir(dir)
		if p == dir {
			t.Skip("go.mod not found")
		}
		dir = p
	}
}

func corpus(t testing.TB) string {
	c := filepath.Join(repoRoot(t), "..", "shared", "corpora", "sigmahq")
	if _, err := os.Stat(c); err != nil {
		t.Skipf("shared corpus not found at %s", c)
	}
	return c
}

func TestSharedRegression(t *testing.T) {
	c := corpus(t)
	var out bytes.Buffer
	cfg := Config{Rules: []string{filepath.Join(c, "rules"), filepath.Join(c, "rules-emerging-threats"), filepath.Join(c, "rules-threat-hunting")}}
	failed, err := Test(context.Background(), &out, []string{filepath.Join(c, "regression_data")}, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if failed != 0 {
		t.Errorf("%d cases failed:\n%s", failed, out.String())
	}
	t.Log(lastLine(out.String()))
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// TestVigilRules runs `vigil sigma test --rules rules rules/regression_data`
// and `vigil sigma lint rules`: every Vigil rule must load and pass its
// regression case with its exact match count.
func TestVigilRules(t *testing.T) {
	root := repoRoot(t)
	rules := filepath.Join(root, "rules")
	var out bytes.Buffer
	failed, err := Test(context.Background(), &out, []string{filepath.Join(rules, "regression_data")}, Config{Rules: []string{rules}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if failed != 0 || !strings.Contains(out.String(), " 0 failed") {
		t.Errorf("regression cases failed:\n%s", out.String())
	}
	t.Log(out.String())
	out.Reset()
	ok, err := Lint(context.Background(), &out, []string{rules}, Config{})
	if err != nil || !ok {
		t.Errorf("lint: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "warning  ") || !strings.Contains(out.String(), "0 rules have no route") {
		t.Errorf("lint output:\n%s", out.String())
	}
}
