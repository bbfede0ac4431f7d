package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/db"
)

// runVigil runs a vigil command and returns its output and exit status.
func runVigil(t *testing.T, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(vigilBin, args...).CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("vigil %v: %v", args, err)
	}
	return string(out), code
}

func (in *instance) ingestNDJSON(t *testing.T, lines ...string) {
	t.Helper()
	res, err := in.client().Ingest(context.Background(), "", []byte(strings.Join(lines, "\n")+"\n"))
	if err != nil || res.Accepted != len(lines) {
		t.Fatalf("ingest: %+v, %v", res, err)
	}
}

// TestIntegrityVerifyExportAndAlert: vigil verify against the running
// server and offline, an export an auditor checks with the public key
// alone, and a changed ledger found by the scheduled verification, which
// raises a critical alert.
func TestIntegrityVerifyExportAndAlert(t *testing.T) {
	dataDir := t.TempDir()
	in := startVigil(t, dataDir, "--integrity-checkpoint-interval", "1s", "--integrity-verify-interval", "2s")
	for i := range 3 {
		in.ingestNDJSON(t, fmt.Sprintf(`{"message":"integrity e2e %d a","user.name":"alice"}`, i), fmt.Sprintf(`{"message":"integrity e2e %d b","user.name":"bob"}`, i))
	}
	if rows := in.waitFor(`"integrity e2e"`, 6, 20*time.Second); len(rows) != 6 {
		t.Fatalf("stored %d events, want 6", len(rows))
	}
	server := []string{"--server", in.httpURL, "--token", in.admin}
	out, code := runVigil(t, append([]string{"verify"}, server...)...)
	if code != 0 || !strings.Contains(out, "OK: everything verifies") || !strings.Contains(out, "6 events verified") {
		t.Fatalf("vigil verify: exit %d:\n%s", code, out)
	}
	time.Sleep(1500 * time.Millisecond) // a checkpoint covering all three batches
	exp := filepath.Join(t.TempDir(), "export")
	if out, code := runVigil(t, append([]string{"verify", "export", "--out", exp}, server...)...); code != 0 {
		t.Fatalf("vigil verify export: exit %d:\n%s", code, out)
	}
	out, code = runVigil(t, "verify", "bundle", exp, "--key", filepath.Join(dataDir, "keys", "integrity.pub"))
	if code != 0 || !strings.Contains(out, "OK: every signature and link verifies") || !strings.Contains(out, "6 events sealed") {
		t.Fatalf("vigil verify bundle: exit %d:\n%s", code, out)
	}

	// Evidence (events exported as a case keeps them) is proven sealed,
	// and the proof checks with the public key alone.
	evidence, code := runVigil(t, append([]string{"search", "--json", "--limit", "0", `"integrity e2e 1"`}, server...)...)
	if code != 0 || strings.Count(evidence, "\n") != 2 {
		t.Fatalf("evidence export: exit %d\n%s", code, evidence)
	}
	evFile, proof := filepath.Join(t.TempDir(), "evidence.ndjson"), filepath.Join(t.TempDir(), "proof.json")
	os.WriteFile(evFile, []byte(evidence), 0o600)
	if out, code := runVigil(t, append([]string{"verify", "evidence", evFile, "--out", proof}, server...)...); code != 0 || !strings.Contains(out, "OK: 2 events") {
		t.Fatalf("vigil verify evidence: exit %d\n%s", code, out)
	}
	if out, code := runVigil(t, "verify", "proof", proof, "--key", filepath.Join(dataDir, "keys", "integrity.pub"), "--evidence", evFile); code != 0 {
		t.Fatalf("vigil verify proof: exit %d\n%s", code, out)
	}
	os.WriteFile(evFile, []byte(strings.Replace(evidence, "integrity e2e 1", "integrity e2e 9", 1)), 0o600)
	if out, code := runVigil(t, "verify", "proof", proof, "--key", filepath.Join(dataDir, "keys", "integrity.pub"), "--evidence", evFile); code != 3 {
		t.Fatalf("vigil verify proof of changed evidence: exit %d\n%s", code, out)
	}

	// Someone with write access to the data dir lowers a batch's event
	// count in the ledger.
	d, err := db.Open(filepath.Join(dataDir, "integrity.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`UPDATE entries SET events = 1 WHERE n = 2`); err != nil {
		t.Fatal(err)
	}
	d.Close()
	var alert map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for alert == nil && time.Now().Before(deadline) {
		var resp struct {
			Alerts []map[string]any `json:"alerts"`
		}
		if err := in.client().Get(context.Background(), "/api/v1/alerts", map[string][]string{"since": {"-1h"}}, &resp); err != nil {
			t.Fatal(err)
		}
		for _, a := range resp.Alerts {
			if a["rule_id"] == "vigil-integrity" {
				alert = a
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	if alert == nil {
		t.Fatalf("no integrity alert within 30s:\n%s", in.Logs())
	}
	fields, _ := alert["fields"].(map[string]any)
	if alert["level"] != "critical" || !strings.Contains(fmt.Sprint(fields["integrity.first_problem"]), "entry 2") {
		t.Fatalf("alert %v", alert)
	}
	out, code = runVigil(t, append([]string{"verify"}, server...)...)
	if code != 3 || !strings.Contains(out, "chain entry 2") && !strings.Contains(out, "entry 2 (batch of batch 2) does not match its chain link") {
		t.Fatalf("vigil verify after tampering: exit %d:\n%s", code, out)
	}
	in.stop()
	out, code = runVigil(t, "verify", "--data-dir", dataDir)
	if code != 3 || !strings.Contains(out, "does not match its chain link") {
		t.Fatalf("offline vigil verify after tampering: exit %d:\n%s", code, out)
	}
	// The audit trail of Vigil's own use is covered by the same
	// checkpoints: a record changed in it is found too.
	if strings.Contains(out, "audit") {
		t.Fatalf("the audit trail fails before anyone changed it:\n%s", out)
	}
	d, err = db.Open(filepath.Join(dataDir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`UPDATE audit_log SET target = 'someone else' WHERE seq = (SELECT MIN(seq) FROM audit_log)`); err != nil {
		t.Fatal(err)
	}
	d.Close()
	out, code = runVigil(t, "verify", "--data-dir", dataDir)
	if code != 3 || !strings.Contains(out, "audit: the audit trail: record") {
		t.Fatalf("offline vigil verify after changing an audit record: exit %d:\n%s", code, out)
	}
}
