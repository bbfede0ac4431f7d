package e2e

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/simulate"
)

// TestSimulateDetectsIncidents runs vigil serve and vigil simulate (the
// same binary) together: 42 simulated hours of a hospital at 2880× (about
// 53 seconds), then compares the alerts of GET /api/v1/alerts with the
// simulator's ground truth. Every injected incident must be detected by
// its rules; alerts no incident explains (false positives from the benign
// background) are listed and bounded.
//
// It needs the enricher wired into the detector (docs/healthcare-detection.md):
// without it the snooping, termination, usual-hours and break-glass-outside-
// care-team rules cannot fire.
func TestSimulateDetectsIncidents(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of simulation; skipped with -short")
	}
	// The subcommand is built into vigil: a broken one fails here, with
	// its output, rather than being mistaken for one not written yet.
	if out, err := exec.Command(vigilBin, "simulate", "--help").CombinedOutput(); err != nil {
		t.Fatalf("vigil simulate --help: %v\n%s", err, out)
	}
	// Server and simulator agree on the hospital's time zone.
	t.Setenv("TZ", "UTC")
	dir := t.TempDir()
	// The simulator runs the hospital 2,880 times faster than real time, so
	// its lanes (syslog, MLLP, HTTP) drift apart by many minutes of event
	// time when the machine is busy (one minute of lateness, the default, is
	// 21 ms here); correlations must accept that lateness.
	in := startVigil(t, dir, "--detect-correlation-lateness", "6h")
	truthPath := filepath.Join(dir, "truth.jsonl")
	const span = 42 * time.Hour
	start := simulate.DefaultStart(time.Now(), span, time.UTC)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, vigilBin, "simulate", "--server", in.httpURL, "--token", in.admin, "--mllp", in.mllp,
		"--syslog", in.tcp, "--seed", "11", "--rate", "2880", "--span", span.String(), "--start", start.Format(time.RFC3339),
		"--timezone", "UTC", "--truth", truthPath)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	began := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("vigil simulate: %v\n%s\n%s\nserver:\n%s", err, out.String(), errOut.String(), in.Logs())
	}
	t.Logf("vigil simulate (%s):\n%s", time.Since(began).Round(time.Second), out.String())
	if !strings.Contains(out.String(), ", 0 failed requests") || !strings.Contains(out.String(), "18 incidents injected") {
		t.Fatalf("simulator summary:\n%s\n%s", out.String(), errOut.String())
	}
	f, err := os.Open(truthPath)
	if err != nil {
		t.Fatal(err)
	}
	truth, err := simulate.ReadTruth(f)
	f.Close()
	if err != nil || len(truth) != 18 {
		t.Fatalf("ground truth: %v, %d incidents", err, len(truth))
	}

	// Alerts are stored every two seconds; wait until every incident is
	// detected or the alerts stop changing.
	q := url.Values{"since": {"-3650d"}, "limit": {"10000"}}
	var score simulate.Score
	var as []alerts.Alert
	deadline := time.Now().Add(45 * time.Second)
	stable, last := 0, -1
	for {
		as = in.alerts(q)
		score = simulate.Compare(truth, refs(as))
		if len(as) == last {
			stable++
		} else {
			stable, last = 0, len(as)
		}
		if (len(score.Missed) == 0 && stable >= 3) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	t.Logf("%d alerts\n%s", len(as), score.Summary())
	if len(score.Missed) > 0 {
		t.Errorf("incidents not detected: %v\nserver log:\n%s", score.Missed, tail(in.Logs(), 40))
	}
	for _, a := range score.FalsePositives {
		t.Logf("false positive: %s at %s fields %v group-by %v", a.Title, a.Time.Format(time.RFC3339), a.Fields, a.GroupBy)
	}
	// The benign background raises nothing in the in-process test
	// (internal/simulate); live, a record cached just before an ADT
	// message could still make one.
	if n := len(score.FalsePositives); n > 2 {
		t.Errorf("%d false positives from the benign background, want at most 2", n)
	}
	if len(score.Detected) < len(truth) {
		t.Errorf("%d detections for %d incidents", len(score.Detected), len(truth))
	}
	// The HIPAA evidence report of the simulated hospital.
	checkHIPAAReport(t, in)
}

func refs(as []alerts.Alert) []simulate.AlertRef {
	out := make([]simulate.AlertRef, len(as))
	for i, a := range as {
		out[i] = simulate.AlertRef{RuleID: a.RuleID, Title: a.RuleTitle, Time: a.Time, Fields: a.Fields, GroupBy: a.GroupBy, Kind: a.Kind}
	}
	return out
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
