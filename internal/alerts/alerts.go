// Package alerts keeps the alerts Vigil raises (Sigma matches, correlations,
// silent sources) in the control-plane database and serves them over the
// API. Adding an alert is idempotent on its key, so a detector that sees an
// event again after a restart does not raise the same alert twice.
package alerts

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

// Alert is one raised alert.
type Alert struct {
	ID int64 `json:"id"`
	// Key identifies the alert for deduplication, e.g. "<rule id>/<event id>".
	Key       string    `json:"key"`
	Kind      string    `json:"kind"` // sigma, correlation, source_silent, …
	RuleID    string    `json:"rule_id"`
	RuleTitle string    `json:"rule_title"`
	Level     string    `json:"level"` // informational, low, medium, high, critical
	Tags      []string  `json:"tags"`
	Time      time.Time `json:"time"` // when the detected activity happened
	Created   time.Time `json:"created"`
	// EventIDs are the vigil.id of the events that raised the alert.
	EventIDs []string `json:"event_ids"`
	// GroupBy holds a correlation's group-by values.
	GroupBy map[string]string `json:"group_by,omitempty"`
	// Fields are key fields of the (last) matching event.
	Fields map[string]string `json:"fields,omitempty"`
	Status string            `json:"status"` // open, acknowledged, closed
}

// Statuses an alert may have.
var Statuses = []string{"open", "acknowledged", "closed"}

var migrations = []string{`
CREATE TABLE alerts (
	id         INTEGER PRIMARY KEY,
	key        TEXT NOT NULL UNIQUE,
	kind       TEXT NOT NULL,
	rule_id    TEXT NOT NULL,
	rule_title TEXT NOT NULL,
	level      TEXT NOT NULL,
	tags       TEXT NOT NULL,
	time       INTEGER NOT NULL,
	created    INTEGER NOT NULL,
	event_ids  TEXT NOT NULL,
	group_by   TEXT NOT NULL,
	fields     TEXT NOT NULL,
	status     TEXT NOT NULL DEFAULT 'open'
);
CREATE INDEX alerts_time ON alerts (time);
CREATE INDEX alerts_rule ON alerts (rule_id, time);
CREATE TABLE alert_tags (
	alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
	tag      TEXT NOT NULL,
	PRIMARY KEY (tag, alert_id)
);`}

// Store is the alert store.
type Store struct {
	db  *sql.DB
	now func() time.Time
}

// Open prepares the alert tables in d.
func Open(ctx context.Context, d *sql.DB) (*Store, error) {
	if err := db.Migrate(ctx, d, "alerts", migrations); err != nil {
		return nil, err
	}
	return &Store{db: d, now: time.Now}, nil
}

// Add stores alerts, skipping those whose key is already stored. It returns
// the alerts it inserted, with their IDs.
func (s *Store) Add(ctx context.Context, as []Alert) ([]Alert, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO alerts (key, kind, rule_id, rule_title, level, tags, time, created, event_ids, group_by, fields, status)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open') ON CONFLICT (key) DO NOTHING`)
	if err != nil {
		return nil, err
	}
	defer ins.Close()
	tagIns, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO alert_tags (alert_id, tag) VALUES (?, ?)`)
	if err != nil {
		return nil, err
	}
	defer tagIns.Close()
	var added []Alert
	now := s.now().UTC()
	for _, a := range as {
		if a.Key == "" {
			return nil, errors.New("alert without key")
		}
		a.Created, a.Status = now, "open"
		res, err := ins.ExecContext(ctx, a.Key, a.Kind, a.RuleID, a.RuleTitle, a.Level, mustJSON(nonNil(a.Tags)), a.Time.UTC().UnixNano(),
			now.UnixNano(), mustJSON(nonNil(a.EventIDs)), mustJSON(nonNilMap(a.GroupBy)), mustJSON(nonNilMap(a.Fields)))
		if err != nil {
			return nil, fmt.Errorf("insert alert %s: %w", a.Key, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue // already raised
		}
		a.ID, _ = res.LastInsertId()
		for _, t := range a.Tags {
			if _, err := tagIns.ExecContext(ctx, a.ID, strings.ToLower(t)); err != nil {
				return nil, err
			}
		}
		added = append(added, a)
	}
	return added, tx.Commit()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return string(b)
}

// Filter selects alerts. Zero fields match everything.
type Filter struct {
	Since, Until time.Time
	RuleID       string
	Levels       []string // any of these levels
	MinLevel     string   // this level or more severe
	Status       string
	Kind         string
	Tag          string // exact tag or prefix ending in "*" (e.g. "attack.t1110*")
	Limit        int
}

var levelRank = map[string]int{"informational": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

// List returns matching alerts, newest first.
func (s *Store) List(ctx context.Context, f Filter) ([]Alert, error) {
	var where []string
	var args []any
	if !f.Since.IsZero() {
		where, args = append(where, "a.time >= ?"), append(args, f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		where, args = append(where, "a.time < ?"), append(args, f.Until.UnixNano())
	}
	if f.RuleID != "" {
		where, args = append(where, "a.rule_id = ?"), append(args, f.RuleID)
	}
	if f.Status != "" {
		where, args = append(where, "a.status = ?"), append(args, f.Status)
	}
	if f.Kind != "" {
		where, args = append(where, "a.kind = ?"), append(args, f.Kind)
	}
	var levels []string
	for _, l := range f.Levels {
		if _, ok := levelRank[l]; !ok {
			return nil, fmt.Errorf("unknown level %q: want informational, low, medium, high or critical", l)
		}
		levels = append(levels, l)
	}
	if f.MinLevel != "" {
		r, ok := levelRank[f.MinLevel]
		if !ok {
			return nil, fmt.Errorf("unknown level %q: want informational, low, medium, high or critical", f.MinLevel)
		}
		var lv []string
		for l, lr := range levelRank {
			if lr >= r {
				lv = append(lv, "?")
				args = append(args, l)
			}
		}
		where = append(where, "a.level IN ("+strings.Join(lv, ",")+")")
	}
	if len(levels) > 0 {
		where = append(where, "a.level IN (?"+strings.Repeat(",?", len(levels)-1)+")")
		for _, l := range levels {
			args = append(args, l)
		}
	}
	if f.Tag != "" {
		t := strings.ToLower(f.Tag)
		if p, ok := strings.CutSuffix(t, "*"); ok {
			where, args = append(where, "EXISTS (SELECT 1 FROM alert_tags t WHERE t.alert_id = a.id AND t.tag >= ? AND t.tag < ?)"), append(args, p, p+"\uffff")
		} else {
			where, args = append(where, "EXISTS (SELECT 1 FROM alert_tags t WHERE t.alert_id = a.id AND t.tag = ?)"), append(args, t)
		}
	}
	q := `SELECT a.id, a.key, a.kind, a.rule_id, a.rule_title, a.level, a.tags, a.time, a.created, a.event_ids, a.group_by, a.fields, a.status FROM alerts a`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	q += fmt.Sprintf(" ORDER BY a.time DESC, a.id DESC LIMIT %d", limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		a, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(...any) error }

func scan(r scanner) (Alert, error) {
	var a Alert
	var tags, ids, gb, fields string
	var t, c int64
	if err := r.Scan(&a.ID, &a.Key, &a.Kind, &a.RuleID, &a.RuleTitle, &a.Level, &tags, &t, &c, &ids, &gb, &fields, &a.Status); err != nil {
		return a, err
	}
	a.Time, a.Created = time.Unix(0, t).UTC(), time.Unix(0, c).UTC()
	for _, p := range []struct {
		s string
		v any
	}{{tags, &a.Tags}, {ids, &a.EventIDs}, {gb, &a.GroupBy}, {fields, &a.Fields}} {
		if err := json.Unmarshal([]byte(p.s), p.v); err != nil {
			return a, fmt.Errorf("alert %d: %w", a.ID, err)
		}
	}
	return a, nil
}

// ErrNotFound is returned for an unknown alert id.
var ErrNotFound = errors.New("alert not found")

// Get returns one alert.
func (s *Store) Get(ctx context.Context, id int64) (Alert, error) {
	row := s.db.QueryRowContext(ctx, `SELECT id, key, kind, rule_id, rule_title, level, tags, time, created, event_ids, group_by, fields, status FROM alerts WHERE id = ?`, id)
	a, err := scan(row)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, err
}

// SetStatus changes an alert's status.
func (s *Store) SetStatus(ctx context.Context, id int64, status string) error {
	ok := false
	for _, st := range Statuses {
		ok = ok || st == status
	}
	if !ok {
		return fmt.Errorf("unknown status %q: want open, acknowledged or closed", status)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE alerts SET status = ? WHERE id = ?`, status, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
