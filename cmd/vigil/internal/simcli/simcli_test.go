package simcli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/simulate"
)

// A dry run through the command: flags, ground-truth file, summary.
func TestDryRunCommand(t *testing.T) {
	truth := filepath.Join(t.TempDir(), "truth.jsonl")
	cmd := Command()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"--dry-run", "--seed", "9", "--duration", "2m", "--start", "2026-11-26T06:00:00Z", "--timezone", "UTC",
		"--truth", truth})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	s := out.String()
	for _, want := range []string{"simulated 2026-11-26 06:00 UTC – 2026-11-28 06:00 UTC (48h0m0s), seed 9", "18 incidents injected, ground truth in",
		"hl7-mllp", "fhir", "ehr", "windows", "linux-syslog", "atna-syslog", "rendered in"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	f, err := os.Open(truth)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := simulate.ReadTruth(f)
	if err != nil || len(recs) != 18 {
		t.Fatalf("truth: %v, %d records", err, len(recs))
	}
	// No synthetic name or record number in what the command prints.
	for _, r := range recs {
		if r.Patient != "" && strings.Contains(s+errOut.String(), r.Patient) {
			t.Errorf("output names patient %s", r.Patient)
		}
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--dry-run", "--start", "yesterday"},
		{"--dry-run", "--timezone", "Mars/Olympus"},
		{"--dry-run", "--duration", "1s"},
	} {
		cmd := Command()
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs(args)
		if err := cmd.Execute(); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
