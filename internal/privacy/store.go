package privacy

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/db"
)

// The templates mining found, with the privacy officer's decisions, live
// in the control-plane database so that decisions survive restarts and
// every template keeps its id.

var migrations = []string{`
CREATE TABLE privacy_templates (
	id          INTEGER PRIMARY KEY,
	grp         TEXT NOT NULL,
	feature     TEXT NOT NULL,
	status      TEXT NOT NULL,
	stats       TEXT NOT NULL DEFAULT '{}',
	first_mined INTEGER NOT NULL DEFAULT 0,
	last_mined  INTEGER NOT NULL DEFAULT 0,
	decided_by  TEXT NOT NULL DEFAULT '',
	decided_at  INTEGER NOT NULL DEFAULT 0,
	reason      TEXT NOT NULL DEFAULT '',
	UNIQUE (grp, feature)
);
CREATE INDEX privacy_templates_status ON privacy_templates (status);`}

// templateStore keeps mined templates.
type templateStore struct {
	db *sql.DB
}

func openTemplateStore(ctx context.Context, d *sql.DB) (*templateStore, error) {
	if err := db.Migrate(ctx, d, "privacy", migrations); err != nil {
		return nil, err
	}
	return &templateStore{db: d}, nil
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func (s *templateStore) all(ctx context.Context) ([]Template, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, grp, feature, status, stats, first_mined, last_mined, decided_by, decided_at, reason
		FROM privacy_templates ORDER BY grp, id`)
	if err != nil {
		return nil, fmt.Errorf("privacy templates: %w", err)
	}
	defer rows.Close()
	var out []Template
	for rows.Next() {
		var t Template
		var stats string
		var first, last, decided int64
		if err := rows.Scan(&t.ID, &t.Group, &t.Feature, &t.Status, &stats, &first, &last, &t.DecidedBy, &decided, &t.Reason); err != nil {
			return nil, fmt.Errorf("privacy templates: %w", err)
		}
		if err := json.Unmarshal([]byte(stats), &t.Stats); err != nil {
			return nil, fmt.Errorf("privacy template %d: %w", t.ID, err)
		}
		t.FirstMined, t.LastMined, t.DecidedAt = fromNano(first), fromNano(last), fromNano(decided)
		t.Source = "mined"
		t.Description = describe(t.Group, t.Feature)
		out = append(out, t)
	}
	return out, rows.Err()
}

// apply records a mining result: chosen templates become active (or
// proposed without auto-accept) unless decided by the privacy officer;
// mined templates no longer chosen are retired.
func (s *templateStore) apply(ctx context.Context, sel []selection, autoAccept bool, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	chosen := map[[2]string]bool{}
	for _, x := range sel {
		chosen[[2]string{x.group, x.feature}] = true
		stats, _ := json.Marshal(x.stats)
		status := StatusProposed
		if autoAccept {
			status = StatusActive
		}
		// New, or re-measured; decisions stand, a retired template is
		// chosen again.
		if _, err := tx.ExecContext(ctx, `INSERT INTO privacy_templates (grp, feature, status, stats, first_mined, last_mined)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (grp, feature) DO UPDATE SET stats = excluded.stats, last_mined = excluded.last_mined,
			status = CASE WHEN status IN ('approved', 'rejected') THEN status ELSE excluded.status END`,
			x.group, x.feature, status, string(stats), now.UnixNano(), now.UnixNano()); err != nil {
			return fmt.Errorf("privacy templates: %w", err)
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, grp, feature FROM privacy_templates WHERE status IN ('active', 'proposed')`)
	if err != nil {
		return err
	}
	var retire []int64
	for rows.Next() {
		var id int64
		var g, f string
		if err := rows.Scan(&id, &g, &f); err != nil {
			rows.Close()
			return err
		}
		if !chosen[[2]string{g, f}] {
			retire = append(retire, id)
		}
	}
	rows.Close()
	for _, id := range retire {
		if _, err := tx.ExecContext(ctx, `UPDATE privacy_templates SET status = 'retired' WHERE id = ?`, id); err != nil {
			return err
		}
	}
	// Without auto-accept, what was active is proposed again.
	if !autoAccept {
		if _, err := tx.ExecContext(ctx, `UPDATE privacy_templates SET status = 'proposed' WHERE status = 'active'`); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// ErrNotFound is returned for an unknown template id.
var ErrNotFound = errors.New("no such template")

// decide records the privacy officer's decision on a template.
func (s *templateStore) decide(ctx context.Context, id int64, status, actor, reason string, now time.Time) error {
	if status != StatusApproved && status != StatusRejected && status != StatusProposed {
		return fmt.Errorf("cannot set status %q: want approved, rejected or proposed", status)
	}
	if len(reason) > 2000 {
		return errors.New("reason longer than 2,000 bytes")
	}
	res, err := s.db.ExecContext(ctx, `UPDATE privacy_templates SET status = ?, decided_by = ?, decided_at = ?, reason = ? WHERE id = ?`,
		status, actor, now.UnixNano(), strings.TrimSpace(reason), id)
	if err != nil {
		return fmt.Errorf("privacy templates: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("template %d: %w", id, ErrNotFound)
	}
	return nil
}
