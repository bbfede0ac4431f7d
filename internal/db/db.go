// Package db opens Vigil's control-plane database: SQLite (pure Go,
// modernc.org/sqlite) in the data dir, in WAL mode. Each feature (alerts,
// directories, …) owns its tables and brings its own numbered migrations,
// applied with Migrate under the feature's name.
package db

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Open opens (creating if needed) the database file at path.
func Open(path string) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(ON)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	// Transactions take the write lock when they begin: a transaction
	// that reads and then writes would otherwise fail with SQLITE_BUSY
	// (not waited for) when another connection wrote in between.
	q.Set("_txlock", "immediate")
	d, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := d.Ping(); err != nil {
		d.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	// SQLite has one writer at a time; a small pool avoids lock churn.
	d.SetMaxOpenConns(4)
	return d, nil
}

// Migrate applies the migrations of component that have not been applied
// yet, each in its own transaction. Migrations are append-only: never edit
// one that has shipped, add a new one.
func Migrate(ctx context.Context, d *sql.DB, component string, migrations []string) error {
	if _, err := d.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		component TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (component, version))`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	var have int
	if err := d.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE component = ?`, component).Scan(&have); err != nil {
		return fmt.Errorf("read %s schema version: %w", component, err)
	}
	if have > len(migrations) {
		return fmt.Errorf("%s schema version %d is newer than this vigil knows (%d): downgrade not supported", component, have, len(migrations))
	}
	for v := have + 1; v <= len(migrations); v++ {
		tx, err := d.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
			tx.Rollback()
			return fmt.Errorf("%s migration %d: %w", component, v, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (component, version) VALUES (?, ?)`, component, v); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("%s migration %d: %w", component, v, err)
		}
	}
	return nil
}

// OpenReadOnly opens an existing database file for reading only (a
// verification beside a running server).
func OpenReadOnly(path string) (*sql.DB, error) {
	q := url.Values{}
	q.Add("mode", "ro")
	q.Add("_pragma", "busy_timeout(10000)")
	d, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := d.Ping(); err != nil {
		d.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return d, nil
}
