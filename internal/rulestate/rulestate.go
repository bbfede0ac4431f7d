// Package rulestate keeps which detection rules an operator turned off,
// with who did it, when and why, in the control-plane database. The rules
// themselves stay files (reviewed in git); only their on/off state lives
// here, so turning a noisy rule off needs no edit and no restart.
package rulestate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vigil-siem/vigil/internal/db"
)

// Change is the last change of one rule's state.
type Change struct {
	RuleID    string    `json:"rule_id"`
	Enabled   bool      `json:"enabled"`
	ChangedBy string    `json:"changed_by"`
	ChangedAt time.Time `json:"changed_at"`
	Reason    string    `json:"reason,omitempty"`
}

var migrations = []string{`
CREATE TABLE rule_state (
	rule_id    TEXT PRIMARY KEY,
	enabled    INTEGER NOT NULL,
	changed_by TEXT NOT NULL,
	changed_at INTEGER NOT NULL,
	reason     TEXT NOT NULL
);`}

// MaxReason bounds the reason of a change.
const MaxReason = 500

// Store keeps rule states; Disabled is safe for concurrent use.
type Store struct {
	db  *sql.DB
	now func() time.Time

	mu       sync.RWMutex
	disabled map[string]bool
}

// Open prepares the table and reads the states.
func Open(ctx context.Context, d *sql.DB) (*Store, error) {
	if err := db.Migrate(ctx, d, "rulestate", migrations); err != nil {
		return nil, err
	}
	s := &Store{db: d, now: time.Now, disabled: map[string]bool{}}
	rows, err := d.QueryContext(ctx, `SELECT rule_id FROM rule_state WHERE enabled = 0`)
	if err != nil {
		return nil, fmt.Errorf("read rule states: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		s.disabled[id] = true
	}
	return s, rows.Err()
}

// Disabled reports whether a rule is turned off.
func (s *Store) Disabled(id string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.disabled[id]
}

// DisabledIDs lists the rules turned off.
func (s *Store) DisabledIDs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.disabled))
	for id := range s.disabled {
		out = append(out, id)
	}
	return out
}

// ErrInvalid is a change that cannot be made.
var ErrInvalid = errors.New("invalid rule state change")

// Set turns a rule on or off.
func (s *Store) Set(ctx context.Context, id string, enabled bool, by, reason string) (Change, error) {
	reason = strings.TrimSpace(reason)
	if id == "" || len(id) > 256 {
		return Change{}, fmt.Errorf("%w: rule id of 1 to 256 bytes", ErrInvalid)
	}
	if utf8.RuneCountInString(reason) > MaxReason {
		return Change{}, fmt.Errorf("%w: reason longer than %d characters", ErrInvalid, MaxReason)
	}
	c := Change{RuleID: id, Enabled: enabled, ChangedBy: by, ChangedAt: s.now().UTC(), Reason: reason}
	_, err := s.db.ExecContext(ctx, `INSERT INTO rule_state (rule_id, enabled, changed_by, changed_at, reason) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (rule_id) DO UPDATE SET enabled = excluded.enabled, changed_by = excluded.changed_by,
		changed_at = excluded.changed_at, reason = excluded.reason`, id, boolInt(enabled), by, c.ChangedAt.UnixNano(), reason)
	if err != nil {
		return c, fmt.Errorf("save rule state: %w", err)
	}
	s.mu.Lock()
	if enabled {
		delete(s.disabled, id)
	} else {
		s.disabled[id] = true
	}
	s.mu.Unlock()
	return c, nil
}

// Changes returns the last change of every rule that was changed.
func (s *Store) Changes(ctx context.Context) (map[string]Change, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT rule_id, enabled, changed_by, changed_at, reason FROM rule_state`)
	if err != nil {
		return nil, fmt.Errorf("read rule states: %w", err)
	}
	defer rows.Close()
	out := map[string]Change{}
	for rows.Next() {
		var c Change
		var en int
		var at int64
		if err := rows.Scan(&c.RuleID, &en, &c.ChangedBy, &at, &c.Reason); err != nil {
			return nil, err
		}
		c.Enabled, c.ChangedAt = en != 0, time.Unix(0, at).UTC()
		out[c.RuleID] = c
	}
	return out, rows.Err()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
