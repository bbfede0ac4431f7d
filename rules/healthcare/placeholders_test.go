package healthcare

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestMerge(t *testing.T) {
	def := Merge(nil)[PlaceholderKnownDICOMDestinations]
	for _, want := range []string{"10.*", "172.16.*", "172.31.*", "192.168.*", "127.*", "::1", "fd*:*", "localhost"} {
		if !slices.Contains(def, want) {
			t.Errorf("default known destinations lack %q: %v", want, def)
		}
	}
	if slices.Contains(def, "172.15.*") || slices.Contains(def, "172.32.*") {
		t.Errorf("default known destinations go beyond 172.16/12: %v", def)
	}
	got := Merge(map[string][]string{PlaceholderKnownDICOMDestinations: {"PACS_*"}, "other": {"x"}})
	if !slices.Equal(got[PlaceholderKnownDICOMDestinations], []string{"PACS_*"}) || !slices.Equal(got["other"], []string{"x"}) {
		t.Errorf("configured lists must replace the defaults: %v", got)
	}
}

// The rule that uses the placeholder names it as this package does.
func TestRuleUsesPlaceholder(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("hc_dicom_export_unknown_destination.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "|expand: '%"+PlaceholderKnownDICOMDestinations+"%'") {
		t.Errorf("rule does not use %%%s%% with expand", PlaceholderKnownDICOMDestinations)
	}
}
