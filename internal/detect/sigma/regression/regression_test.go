package regression

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-siem/vigil/internal/detect/sigma/eventfile"
	"github.com/vigil-siem/vigil/internal/event"
)

// fixedCounter pretends rule "r1" fires once per event and "r2" never.
type fixedCounter struct{}

func (fixedCounter) Known(id string) bool { return id == "r1" || id == "r2" }
func (fixedCounter) Count(_ context.Context, id string, evs []event.Event, _ eventfile.Format) (int, error) {
	if id == "r1" {
		return len(evs), nil
	}
	return 0, nil
}

func writeCase(t *testing.T, root, name, rule, count string, events string) {
	t.Helper()
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	info := "id: x\nrule_metadata:\n    - id: " + rule + "\n      title: T\n"
	if events != "" {
		info += "regression_tests_info:\n    - name: t\n      type: evtx\n" + count + "      path: regression_data/x/" + name + "/e.evtx\n"
		if err := os.WriteFile(filepath.Join(dir, "e.json"), []byte(events), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "info.yml"), []byte(info), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRun(t *testing.T) {
	root := t.TempDir()
	two := `{"a":1}` + "\n" + `{"a":2}` + "\n"
	writeCase(t, root, "exact", "r1", "      match_count: 2\n", two)
	writeCase(t, root, "wrongcount", "r1", "      match_count: 1\n", two)
	writeCase(t, root, "nocount", "r1", "", two)
	writeCase(t, root, "nomatch", "r2", "", two)
	writeCase(t, root, "notests", "r1", "", "")
	writeCase(t, root, "unknown", "r9", "", "")
	cases, err := Find([]string{root})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Status{"exact": Pass, "wrongcount": Fail, "nocount": Pass, "nomatch": Fail, "notests": Skip, "unknown": Fail}
	for _, r := range Run(context.Background(), cases, fixedCounter{}, false) {
		if w := want[filepath.Base(r.Case.Dir)]; r.Status != w {
			t.Errorf("%s: got %s (%s), want %s", r.Case.Dir, r.Status, r.Detail, w)
		}
	}
	for _, r := range Run(context.Background(), cases, fixedCounter{}, true) {
		if filepath.Base(r.Case.Dir) == "wrongcount" && r.Status != Pass {
			t.Errorf("--at-least: wrongcount got %s", r.Status)
		}
	}
}
