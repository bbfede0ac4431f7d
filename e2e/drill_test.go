package e2e

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRestoreDrill: vigil restore --drill restores the latest backup into
// a scratch data dir, verifies every restored event against its seal,
// starts a server on it until ready, and reports the recovery time; the
// server runs the same drill every backup.drill_interval and keeps the
// results for the HIPAA report; a backup with a changed byte fails the
// drill with exit status 3, naming the file. Every drill, passed, failed
// or stopped with the server, removes its scratch data dir.
func TestRestoreDrill(t *testing.T) {
	target := filepath.Join(t.TempDir(), "backups")
	// This test's own scratch dirs, so that the leftover checks below see
	// only its drills, never another process's under the shared /tmp: the
	// command-line drills get --scratch-dir, the server's scheduled drills
	// (made in the system's temporary directory) get TMPDIR.
	cliScratch, serverScratch := t.TempDir(), t.TempDir()
	t.Setenv("TMPDIR", serverScratch)
	noLeftovers := func(dir, what string) {
		t.Helper()
		left, err := filepath.Glob(filepath.Join(dir, "vigil-drill-*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range left {
			t.Errorf("%s left its scratch data dir %s", what, l)
		}
	}
	in := startVigil(t, t.TempDir(), "--backup-to", target, "--backup-drill-interval", "2s")
	ingestEvents(t, in, 300, time.Hour)
	if out, code := runVigil(t, "backup", "--to", target, "--server", in.httpURL, "--token", in.admin); code != 0 {
		t.Fatalf("backup: exit %d\n%s", code, out)
	}
	out, code := runVigil(t, "restore", "--drill", "--from", target, "--json", "--scratch-dir", cliScratch)
	if code != 0 {
		t.Fatalf("restore drill: exit %d\n%s", code, out)
	}
	noLeftovers(cliScratch, "the drill")
	var d struct {
		OK       bool    `json:"ok"`
		Restore  float64 `json:"restore"`
		Verify   float64 `json:"verify"`
		Start    float64 `json:"start"`
		Recovery float64 `json:"recovery"`
		Sealed   int64   `json:"sealed_events"`
		Verified int64   `json:"verified_events"`
		Problems int     `json:"problems"`
	}
	if i := strings.Index(out, "{"); i < 0 || json.Unmarshal([]byte(out[i:]), &d) != nil {
		t.Fatalf("drill output:\n%s", out)
	}
	if !d.OK || d.Problems != 0 || d.Restore <= 0 || d.Start <= 0 || d.Recovery < d.Restore+d.Start-0.001 || d.Sealed < 300 || d.Verified != d.Sealed {
		t.Fatalf("restore drill: %s", out)
	}
	t.Logf("restore drill: restore %.2fs, verify %.2fs, start %.2fs, recovery %.2fs, %d events", d.Restore, d.Verify, d.Start, d.Recovery, d.Verified)
	// The server's scheduled drill of the same backup, kept.
	var kept struct {
		Drills []struct {
			OK       bool    `json:"ok"`
			Recovery float64 `json:"recovery"`
			Verified int64   `json:"verified_events"`
			Error    string  `json:"error"`
		} `json:"drills"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := in.adminCall("GET", "/api/v1/backups", "", &kept); err != nil {
			t.Fatal(err)
		}
		if len(kept.Drills) > 0 && kept.Drills[0].OK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no scheduled restore drill passed in 60 s: %+v\n%s", kept.Drills, tail(in.Logs(), 20))
		}
		time.Sleep(500 * time.Millisecond)
	}
	if d := kept.Drills[0]; d.Recovery <= 0 || d.Verified < 300 {
		t.Fatalf("scheduled drill kept as %+v", d)
	}

	// One changed byte in a stored blob: the drill fails and says where.
	blobs, _ := filepath.Glob(filepath.Join(target, "blobs", "*", "*"))
	if len(blobs) == 0 {
		t.Fatal("no blobs in the backup")
	}
	var big string
	var size int64
	for _, b := range blobs {
		if st, err := os.Stat(b); err == nil && st.Size() > size {
			big, size = b, st.Size()
		}
	}
	data, err := os.ReadFile(big)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x01
	if err := os.WriteFile(big, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, code = runVigil(t, "restore", "--drill", "--from", target, "--scratch-dir", cliScratch)
	if code != 3 || !strings.Contains(out, "FAILED") || !strings.Contains(out, "SHA-256") {
		t.Fatalf("drill of a changed backup: exit %d\n%s", code, out)
	}
	noLeftovers(cliScratch, "the failed drill")
	// The server's next drill fails too, and raises an alert.
	q := url.Values{"since": {"-1h"}, "rule": {"vigil-restore-drill"}}
	if as := in.waitAlerts(q, 1, 60*time.Second); len(as) == 0 || as[0].Fields["backup.target"] != target {
		t.Fatalf("failed scheduled drill: alerts %+v\n%s", as, tail(in.Logs(), 20))
	}
	in.stop() // a drill under way stops with the server
	// Checked once the server has stopped: until then one of its drills
	// may be under way, its scratch dir rightly there.
	noLeftovers(serverScratch, "a scheduled drill")
}
