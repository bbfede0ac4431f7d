package backup

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/db"
)

// TestRunDrillsKeepsResults: scheduled drills are kept, passed and failed,
// newest first, with the failure's reason; GET /api/v1/backups serves them.
func TestRunDrillsKeepsResults(t *testing.T) {
	d, err := db.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	s := &Service{DB: d, Default: "/backups", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	var alerted []string
	s.OnDrillFail = func(_ context.Context, d *Drill) error { alerted = append(alerted, d.Error); return nil }
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Drill = func(_ context.Context, target string) (*Drill, error) {
			n++
			switch n {
			case 1:
				return &Drill{Target: target, Backup: "b1", Started: time.Now().UTC(), Recovery: Seconds(1500 * time.Millisecond), Verified: 42, OK: true}, nil
			case 2:
				return nil, errors.New("vigil restore --drill: exit status 1: no backup in /backups")
			default:
				cancel()
				return nil, ctx.Err()
			}
		}
		s.RunDrills(ctx, 10*time.Millisecond)
	}()
	<-done
	ds, err := s.Drills(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 {
		t.Fatalf("%d drills kept: %+v", len(ds), ds)
	}
	failed, passed := ds[0], ds[1]
	if failed.OK || failed.Target != "/backups" || failed.Error != "vigil restore --drill: exit status 1: no backup in /backups" || failed.Started.IsZero() {
		t.Errorf("failed drill kept as %+v", failed)
	}
	if len(alerted) != 1 || alerted[0] != failed.Error {
		t.Errorf("failed drills passed on: %q", alerted)
	}
	if !passed.OK || passed.Backup != "b1" || time.Duration(passed.Recovery) != 1500*time.Millisecond || passed.Verified != 42 {
		t.Errorf("passed drill kept as %+v", passed)
	}
}

// TestDrillNowAPI: POST /api/v1/backups/drill runs one drill of the latest
// successful backup's target and answers its result; it refuses a target
// the server never backed up to (the API reads no other directory) and a
// second drill while one runs.
func TestDrillNowAPI(t *testing.T) {
	d, err := db.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	s := &Service{DB: d, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := s.Routes(func(string, time.Time) (time.Time, error) { return time.Time{}, nil })["POST /api/v1/backups/drill"]
	post := func(body string) (int, string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "/api/v1/backups/drill", strings.NewReader(body)))
		return w.Code, w.Body.String()
	}
	if code, body := post(""); code != http.StatusBadRequest || !strings.Contains(body, "no backup to drill") {
		t.Fatalf("drill with no backup and no backup.to: %d %s", code, body)
	}
	for i, r := range []struct {
		target, err string
	}{{"/old", ""}, {"/new", ""}, {"/broken", "disk full"}} {
		if _, err := d.Exec(`INSERT INTO backups VALUES (?, ?, ?, ?, 0, 0, 1, 1, 1, '', ?)`, "b", r.target, i+1, i+2, r.err); err != nil {
			t.Fatal(err)
		}
	}
	release, started := make(chan struct{}), make(chan struct{}, 3)
	var targets []string
	s.Drill = func(_ context.Context, target string) (*Drill, error) {
		targets = append(targets, target)
		started <- struct{}{}
		<-release
		return &Drill{Target: target, Backup: "b", Started: time.Now().UTC(), Recovery: Seconds(time.Second), Verified: 7, OK: true}, nil
	}
	if code, body := post(`{"from": "/etc"}`); code != http.StatusBadRequest || !strings.Contains(body, "/etc: not a target this server has backed up to") {
		t.Fatalf("drill of a foreign directory: %d %s", code, body)
	}
	type answer struct {
		code int
		body string
	}
	first := make(chan answer, 1)
	go func() { c, b := post(""); first <- answer{c, b} }()
	<-started
	if code, body := post(`{"from": "/old"}`); code != http.StatusConflict {
		t.Errorf("second drill while one runs: %d %s", code, body)
	}
	close(release)
	a := <-first
	if a.code != http.StatusOK || !strings.Contains(a.body, `"ok":true`) || !strings.Contains(a.body, `"verified_events":7`) {
		t.Fatalf("drill now: %d %s", a.code, a.body)
	}
	if code, body := post(`{"from": "/old"}`); code != http.StatusOK {
		t.Fatalf("drill of an older target: %d %s", code, body)
	}
	if want := []string{"/new", "/old"}; !slices.Equal(targets, want) {
		t.Errorf("drilled %q, want %q (the latest successful backup's target, then the one asked for)", targets, want)
	}
	if ds, _ := s.Drills(context.Background(), time.Time{}); len(ds) != 2 {
		t.Errorf("%d drills kept, want 2", len(ds))
	}
}
