package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/alerts"
)

func (in *instance) alerts(q url.Values) []alerts.Alert {
	in.t.Helper()
	var res struct {
		Alerts []alerts.Alert `json:"alerts"`
	}
	if err := in.client().Get(context.Background(), "/api/v1/alerts", q, &res); err != nil {
		in.t.Fatalf("alerts: %v", err)
	}
	return res.Alerts
}

func (in *instance) waitAlerts(q url.Values, n int, timeout time.Duration) []alerts.Alert {
	in.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		as := in.alerts(q)
		if len(as) >= n || time.Now().After(deadline) {
			return as
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestWindowsEventOverHTTPRaisesAlert sends a SigmaHQ regression event
// (evtx_dump JSON, as `vigil ingest FILE.evtx` sends it) to the HTTP API of
// a vigil loaded with SigmaHQ's process_creation rules, and finds the alert
// of the rule the case names at /api/v1/alerts.
func TestWindowsEventOverHTTPRaisesAlert(t *testing.T) {
	corpus := "../../shared/corpora/sigmahq"
	if _, err := os.Stat(filepath.Join(corpus, "regression_data")); err != nil {
		t.Skipf("shared SigmaHQ corpus not found at %s: %v", corpus, err)
	}
	// The corpus is there: a case file that cannot be read is a failure.
	caseDir := filepath.Join(corpus, "regression_data/rules/windows/process_creation/proc_creation_win_wmic_uninstall_application")
	event, err := os.ReadFile(filepath.Join(caseDir, "b53317a0-8acf-4fd1-8de8-a5401e776b96.json"))
	if err != nil {
		t.Fatalf("regression case of the corpus: %v", err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, event); err != nil {
		t.Fatal(err)
	}
	in := startVigil(t, t.TempDir(), "--detect-rules", filepath.Join(corpus, "rules/windows/process_creation"))
	req, _ := http.NewRequest(http.MethodPost, in.httpURL+"/api/v1/ingest", bytes.NewReader(append(compact.Bytes(), '\n')))
	req.Header.Set("Authorization", "Bearer "+in.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("ingest answered %d", resp.StatusCode)
	}
	as := in.waitAlerts(url.Values{"rule": {"b53317a0-8acf-4fd1-8de8-a5401e776b96"}, "since": {"-3650d"}}, 1, 30*time.Second)
	if len(as) != 1 {
		t.Fatalf("got %d alerts for the rule, want 1\n%s", len(as), in.Logs())
	}
	a := as[0]
	if a.RuleTitle != "Application Removed Via Wmic.EXE" || a.Level == "" || len(a.EventIDs) != 1 || a.Fields["winlog.event_id"] != "1" {
		t.Fatalf("alert %+v", a)
	}
	// The alert names the stored event.
	rows := in.search(fmt.Sprintf(`vigil.id:=%q`, a.EventIDs[0]))
	if len(rows) != 1 || rows[0]["winlog.channel"] != "Microsoft-Windows-Sysmon/Operational" {
		t.Fatalf("event %s of the alert: %v", a.EventIDs[0], rows)
	}
}

// TestSSHBruteForceOverSyslogRaisesCorrelation: twelve failed SSH logins
// over syslog TCP raise the built-in brute-force correlation.
func TestSSHBruteForceOverSyslogRaisesCorrelation(t *testing.T) {
	in := startVigil(t, t.TempDir())
	conn, err := net.Dial("tcp", in.tcp)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for i := range 12 {
		ts := now.Add(time.Duration(i-12) * time.Second).Format("2006-01-02T15:04:05.000000Z07:00")
		fmt.Fprintf(conn, "<38>1 %s ehr-db-01 sshd %d - - Failed password for root from 198.51.100.9 port %d ssh2\n", ts, 4000+i, 50000+i)
	}
	conn.Close()
	as := in.waitAlerts(url.Values{"kind": {"correlation"}}, 1, 30*time.Second)
	if len(as) != 1 || as[0].RuleID != "a3f75c2e-91d4-4b68-bc0e-7d2a4e6f8b53" || as[0].GroupBy["source.ip"] != "198.51.100.9" || as[0].Level != "high" {
		t.Fatalf("correlation alerts %+v\n%s", as, in.Logs())
	}
}
