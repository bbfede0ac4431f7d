package alerts

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/db"
)

// burstRaise is a correlation burst's raise with its size so far.
func burstRaise(key string, n int, update bool) Alert {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	var ids []string
	for i := range n {
		ids = append(ids, fmt.Sprintf("e%d", i))
	}
	return Alert{Key: key, Kind: "correlation", RuleID: "bf", RuleTitle: "brute force", Level: "high",
		Time: t0.Add(time.Duration(n) * time.Second), FirstSeen: t0, EventIDs: ids, Count: n, Value: float64(n),
		GroupKey: GroupKey("bf", [2]string{"source.ip", key}), Update: update}
}

// rowCount is the size the alert's row states (what a restart reads).
func rowCount(t *testing.T, s *Store, key string) (count, keyCount int) {
	t.Helper()
	err := s.db.QueryRow(`SELECT a.count, k.count FROM alerts a JOIN alert_keys k ON k.alert_id = a.id WHERE k.key = ?`, key).Scan(&count, &keyCount)
	if err != nil {
		t.Fatal(err)
	}
	return count, keyCount
}

// TestBurstUpdatesAreHeldUntilFlush: a growing burst's updates cost no
// write until Flush, readers see its size at once, and after a crash the
// same updates raised again from the batches count nothing twice.
func TestBurstUpdatesAreHeldUntilFlush(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vigil.db")
	d, err := db.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s, err := Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	// Notifications, risk and response actions follow new alerts only:
	// holding, flushing and replaying a burst's growth adds none.
	news := 0
	countNew := func(_ context.Context, cs []Change) {
		for _, c := range cs {
			if c.What == "new" {
				news++
			}
		}
	}
	s.OnChange(countNew)
	defer func() {
		if news != 1 {
			t.Errorf("%d new alerts reported, want 1", news)
		}
	}()
	if _, err := s.Add(ctx, []Alert{burstRaise("10.0.0.1", 10, false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx, []Alert{burstRaise("10.0.0.1", 20, true)}); err != nil {
		t.Fatal(err)
	}
	if c, k := rowCount(t, s, "10.0.0.1"); c != 10 || k != 10 {
		t.Fatalf("row after a held update: count %d, key %d; want 10, 10 (written at Flush)", c, k)
	}
	got, err := s.List(ctx, Filter{Kind: "correlation"})
	if err != nil || len(got) != 1 || got[0].Count != 20 || len(got[0].EventIDs) != 20 || got[0].Value != 20 {
		t.Fatalf("list while held: %v %+v", err, got)
	}
	if a, err := s.Get(ctx, got[0].ID); err != nil || a.Count != 20 {
		t.Fatalf("get while held: %v %+v", err, a)
	}
	if _, err := s.Add(ctx, []Alert{burstRaise("10.0.0.1", 30, true)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if c, k := rowCount(t, s, "10.0.0.1"); c != 30 || k != 30 {
		t.Fatalf("row after Flush: count %d, key %d; want 30, 30", c, k)
	}
	// Held past the last Flush, then the process dies: a new store on the
	// same table gets the updates again from the replayed batches.
	for _, n := range []int{40, 50} {
		if _, err := s.Add(ctx, []Alert{burstRaise("10.0.0.1", n, true)}); err != nil {
			t.Fatal(err)
		}
	}
	s2, err := Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	s2.OnChange(countNew)
	// The replay raises the burst's first raise again too.
	if _, err := s2.Add(ctx, []Alert{burstRaise("10.0.0.1", 10, false)}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{40, 50} {
		if _, err := s2.Add(ctx, []Alert{burstRaise("10.0.0.1", n, true)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err = s2.List(ctx, Filter{Kind: "correlation"})
	if err != nil || len(got) != 1 || got[0].Count != 50 || len(got[0].EventIDs) != 50 {
		t.Fatalf("after the replay: %v %+v", err, got)
	}
	// A triage change of an alert whose size is held starts from it.
	if _, err := s2.Add(ctx, []Alert{burstRaise("10.0.0.1", 60, true)}); err != nil {
		t.Fatal(err)
	}
	st := "in_progress"
	a, _, err := s2.Update(ctx, got[0].ID, Patch{Status: &st}, "alice", nil)
	if err != nil || a.Count != 60 || a.Status != st {
		t.Fatalf("triage of a held alert: %v %+v", err, a)
	}
	if c, k := rowCount(t, s2, "10.0.0.1"); c != 60 || k != 60 {
		t.Fatalf("row after triage: count %d, key %d; want 60, 60", c, k)
	}
	if _, err := s2.Add(ctx, []Alert{burstRaise("10.0.0.1", 65, true)}); err != nil {
		t.Fatal(err)
	}
	if a, err := s2.Get(ctx, got[0].ID); err != nil || a.Count != 65 || a.Status != st {
		t.Fatalf("update after triage: %v %+v", err, a)
	}
}

// TestHeldUpdatesAreBounded: past heldMax alerts waiting, a raise writes
// them all.
func TestHeldUpdatesAreBounded(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	const maxHeld = 50
	s.heldMax = maxHeld
	var first, grown []Alert
	for i := range maxHeld + 1 {
		k := fmt.Sprintf("10.1.%d.%d", i/256, i%256)
		first = append(first, burstRaise(k, 10, false))
		grown = append(grown, burstRaise(k, 12, true))
	}
	if _, err := s.Add(ctx, first); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx, grown[:maxHeld]); err != nil {
		t.Fatal(err)
	}
	if s.held != maxHeld {
		t.Fatalf("held %d, want %d", s.held, maxHeld)
	}
	if _, err := s.Add(ctx, grown[maxHeld:]); err != nil {
		t.Fatal(err)
	}
	if s.held != 0 {
		t.Fatalf("held %d after going past %d, want all written", s.held, maxHeld)
	}
	for _, k := range []string{"10.1.0.0", "10.1.0.50"} {
		if c, kc := rowCount(t, s, k); c != 12 || kc != 12 {
			t.Fatalf("%s: count %d, key %d; want 12", k, c, kc)
		}
	}
}
