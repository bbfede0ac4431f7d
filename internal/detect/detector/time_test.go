package detector

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/event"
)

// TestFutureEventDoesNotBlindDetection is issue 10's first attack against
// the detector: one unauthenticated syslog line stamped 2030 used to move
// the correlations' single clock so far ahead that the brute force that
// followed was dropped as late, and the 2030 time was saved in the
// checkpoint, so a restart did not help. Here the checkpoint an older
// version saved after that line (version 1, one global max_time) is there
// at start, the same line comes again, and twelve failed logins must still
// raise the brute-force alert.
func TestFutureEventDoesNotBlindDetection(t *testing.T) {
	r := newRig(t)
	poisoned := `{"done":0,"correlation":{"version":1,"max_time":"2030-01-01T00:00:00Z","groups":[` +
		`{"rule":"a3f75c2e-91d4-4b68-bc0e-7d2a4e6f8b53","key":["203.0.113.66","ehr-db-01"],"entries":[{"t":"2030-01-01T00:00:00Z","r":0,"ids":["1-0"]}]}]}}`
	if err := os.WriteFile(filepath.Join(r.dir, "detector.json"), []byte(poisoned), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	poison := failures(2, "203.0.113.66", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), 1)
	r.run(t, &scripted{fetchs: [][]bus.Message{{poison}, {failures(3, "10.6.6.6", now, 12)}}})
	corr := r.list(t, alerts.Filter{Kind: "correlation"})
	if len(corr) != 1 || corr[0].GroupBy["source.ip"] != "10.6.6.6" {
		t.Fatalf("after a 2030 event (saved and sent again): correlation alerts %+v, want the brute force from 10.6.6.6", corr)
	}
	if corr[0].Time.After(time.Now()) {
		t.Errorf("alert time %v is in the future", corr[0].Time)
	}
	// The state saved now holds no time beyond the clock.
	files, _ := filepath.Glob(filepath.Join(r.dir, "detector.json*"))
	var data []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, b...)
	}
	if s := string(data); len(files) < 2 || !strings.Contains(s, "10.6.6.6") || strings.Contains(s, "2030-") {
		t.Fatalf("checkpoint (%v) still holds the 2030 time, or not the state: %s", files, s)
	}
}

// TestDetectorClampsToArrival: an event whose time is ahead of its own
// arrival (event.Arrived) is evaluated at its arrival, and says so.
func TestDetectorClampsToArrival(t *testing.T) {
	r := newRig(t)
	d, err := New(Config{Source: &scripted{}, Alerts: r.alerts, StatePath: filepath.Join(r.dir, "detector.json"), Metrics: NewMetrics(prometheus.NewRegistry())}, r.rules)
	if err != nil {
		t.Fatal(err)
	}
	arrived := time.Now().Add(-time.Hour).UTC()
	e := event.Event{Time: arrived.Add(50 * time.Minute), Arrived: arrived}
	if !d.clamp(&e) || !e.Time.Equal(arrived) || e.Value(event.FieldTimeSkew) != "3000" {
		t.Fatalf("event 50 minutes ahead of its arrival an hour ago: time %v skew %q, want %v and 3000", e.Time, e.Value(event.FieldTimeSkew), arrived)
	}
}
