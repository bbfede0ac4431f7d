package db

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vigil.db")
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	m := []string{`CREATE TABLE a (x INTEGER)`, `ALTER TABLE a ADD COLUMN y TEXT`}
	if err := Migrate(ctx, d, "test", m[:1]); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, d, "test", m); err != nil { // only the second runs
		t.Fatal(err)
	}
	if _, err := d.Exec(`INSERT INTO a (x, y) VALUES (1, 'z')`); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, d, "test", m[:1]); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("downgrade: got %v", err)
	}
	if err := Migrate(ctx, d, "other", []string{`CREATE TABLE a (x)`}); err == nil {
		t.Fatal("failing migration reported no error")
	}
	var mode string
	d.QueryRow(`PRAGMA journal_mode`).Scan(&mode)
	if mode != "wal" {
		t.Fatalf("journal mode %q, want wal", mode)
	}
}
