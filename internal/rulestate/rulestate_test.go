package rulestate

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/db"
)

func TestStateSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vigil.db")
	d, err := db.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Set(ctx, "rule-a", false, "alice", "noisy on the lab scanners"); err != nil {
		t.Fatal(err)
	}
	s.Set(ctx, "rule-b", false, "alice", "")
	s.Set(ctx, "rule-b", true, "bob", "fixed upstream")
	if !s.Disabled("rule-a") || s.Disabled("rule-b") || s.Disabled("rule-c") {
		t.Fatalf("disabled: %v", s.DisabledIDs())
	}
	if _, err := s.Set(ctx, "", false, "x", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty id: %v", err)
	}
	if _, err := s.Set(ctx, "r", false, "x", strings.Repeat("x", 501)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("long reason: %v", err)
	}
	d.Close()
	d, _ = db.Open(path)
	defer d.Close()
	s, err = Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.DisabledIDs(); len(got) != 1 || got[0] != "rule-a" {
		t.Fatalf("after reopening disabled %v", got)
	}
	ch, _ := s.Changes(ctx)
	if c := ch["rule-b"]; !c.Enabled || c.ChangedBy != "bob" || c.Reason != "fixed upstream" || c.ChangedAt.IsZero() {
		t.Fatalf("rule-b change %+v", c)
	}
}
