package backup

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
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
		s.RunDrills(ctx, 10*time.Millisecond, func(_ context.Context, target string) (*Drill, error) {
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
		})
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
