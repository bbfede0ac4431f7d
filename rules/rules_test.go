package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExtractSkipsRegressionData(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "builtin")
	os.MkdirAll(filepath.Join(dir, "stale"), 0o750)
	if _, err := Extract(dir); err != nil {
		t.Fatal(err)
	}
	var got []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			got = append(got, p)
		}
		return nil
	})
	if len(got) == 0 {
		t.Fatal("no rules extracted")
	}
	for _, p := range got {
		if strings.Contains(p, "regression_data") || !strings.HasSuffix(p, ".yml") {
			t.Errorf("extracted %s", p)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "stale")); !os.IsNotExist(err) {
		t.Error("previous contents not cleared")
	}
}
