package server

import (
	"context"
	"fmt"

	"github.com/vigil-siem/vigil/internal/audit"
	"github.com/vigil-siem/vigil/internal/config"
	"github.com/vigil-siem/vigil/internal/db"
)

// maxConfigChanges bounds the settings listed in one config.change record.
const maxConfigChanges = 100

// auditConfig records, at each start, the settings that differ from the
// previous start's (from the defaults at the first start) as one
// config.change record by the system: the configuration is changed in a
// file, the environment or the flags, never through the API, so the start
// is where a change shows. Secrets are compared only as set or not set
// (config.Settings redacts them); their values are never stored.
func (s *Server) auditConfig(ctx context.Context) error {
	if err := db.Migrate(ctx, s.db, "config_audit", []string{
		`CREATE TABLE config_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
	}); err != nil {
		return err
	}
	prev := map[string]string{}
	rows, err := s.db.QueryContext(ctx, `SELECT key, value FROM config_state`)
	if err != nil {
		return fmt.Errorf("config state: %w", err)
	}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return fmt.Errorf("config state: %w", err)
		}
		prev[k] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("config state: %w", err)
	}
	first := len(prev) == 0
	var changes []map[string]string
	total := 0
	settings := config.Settings(s.cfg)
	for _, st := range settings {
		was, ok := prev[st.Key]
		if !ok {
			was = st.Default
		}
		if was == st.Value {
			continue
		}
		total++
		if len(changes) < maxConfigChanges {
			changes = append(changes, map[string]string{"key": st.Key, "from": was, "to": st.Value})
		}
	}
	if total == 0 && !first {
		return nil
	}
	details := map[string]any{"changed": changes, "changed_count": total}
	if first {
		details["first_start"] = true // changes are from the defaults
	}
	// On the record first: if saving the state fails, the next start
	// records the change again rather than never.
	if err := s.audit.Record(audit.System(ctx), audit.Entry{Action: "config.change", Target: "config", Details: details}); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("config state: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM config_state`); err != nil {
		return fmt.Errorf("config state: %w", err)
	}
	for _, st := range settings {
		if _, err := tx.ExecContext(ctx, `INSERT INTO config_state (key, value) VALUES (?, ?)`, st.Key, st.Value); err != nil {
			return fmt.Errorf("config state: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("config state: %w", err)
	}
	return nil
}
