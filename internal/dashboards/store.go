package dashboards

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

var migrations = []string{`
CREATE TABLE dashboards (
	id         TEXT PRIMARY KEY,
	owner      TEXT NOT NULL,
	shared     INTEGER NOT NULL,
	definition TEXT NOT NULL,
	created    INTEGER NOT NULL,
	updated    INTEGER NOT NULL
);`}

// Errors the API maps to statuses.
var (
	ErrNotFound = errors.New("no such dashboard")
	ErrExists   = errors.New("a dashboard with this id exists: choose another id")
	ErrNotOwner = errors.New("only its owner may change or delete a dashboard")
	ErrBuiltin  = errors.New("built-in dashboards cannot be changed: save a copy under another id")
)

// MaxPerUser bounds the dashboards one user keeps.
const MaxPerUser = 200

// Store keeps the built-in dashboards and the users' own.
type Store struct {
	db      *sql.DB
	builtin []*Dashboard
	now     func() time.Time
}

// Open prepares the table and reads the built-in dashboards.
func Open(ctx context.Context, d *sql.DB) (*Store, error) {
	b, err := Builtin()
	if err != nil {
		return nil, fmt.Errorf("BUG: built-in dashboards: %w", err)
	}
	if err := db.Migrate(ctx, d, "dashboards", migrations); err != nil {
		return nil, err
	}
	return &Store{db: d, builtin: b, now: time.Now}, nil
}

func (s *Store) isBuiltin(id string) *Dashboard {
	for _, d := range s.builtin {
		if d.ID == id {
			return d
		}
	}
	return nil
}

// List returns the built-in dashboards, then the user's own and the shared
// ones.
func (s *Store) List(ctx context.Context, user string) ([]*Dashboard, error) {
	out := append([]*Dashboard{}, s.builtin...)
	rows, err := s.db.QueryContext(ctx, `SELECT owner, shared, definition FROM dashboards WHERE owner = ? OR shared = 1 ORDER BY id`, user)
	if err != nil {
		return nil, fmt.Errorf("list dashboards: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scan(rows, user)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func scan(r interface{ Scan(...any) error }, user string) (*Dashboard, error) {
	var owner, def string
	var shared int
	if err := r.Scan(&owner, &shared, &def); err != nil {
		return nil, err
	}
	var d Dashboard
	if err := json.Unmarshal([]byte(def), &d); err != nil {
		return nil, fmt.Errorf("read dashboard: %w", err)
	}
	d.Owner, d.Shared, d.Mine, d.Builtin = owner, shared != 0, owner == user, false
	return &d, nil
}

// Get returns one dashboard the user may see.
func (s *Store) Get(ctx context.Context, user, id string) (*Dashboard, error) {
	if d := s.isBuiltin(id); d != nil {
		return d, nil
	}
	d, err := scan(s.db.QueryRowContext(ctx, `SELECT owner, shared, definition FROM dashboards WHERE id = ? AND (owner = ? OR shared = 1)`, id, user), user)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return d, err
}

// Save creates (create true) or replaces a user's dashboard.
func (s *Store) Save(ctx context.Context, user string, d *Dashboard, create bool) (*Dashboard, error) {
	if err := Validate(d); err != nil {
		return nil, err
	}
	if s.isBuiltin(d.ID) != nil {
		return nil, ErrBuiltin
	}
	d.Builtin, d.Owner, d.Mine = false, user, true
	def, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	now := s.now().UnixNano()
	if create {
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM dashboards WHERE owner = ?`, user).Scan(&n); err != nil {
			return nil, err
		}
		if n >= MaxPerUser {
			return nil, invalid("you have %d dashboards, the most one user may keep", n)
		}
		_, err = s.db.ExecContext(ctx, `INSERT INTO dashboards (id, owner, shared, definition, created, updated) VALUES (?, ?, ?, ?, ?, ?)`,
			d.ID, user, boolInt(d.Shared), string(def), now, now)
		if err != nil && strings.Contains(err.Error(), "UNIQUE") {
			return nil, ErrExists
		}
		return d, err
	}
	var owner string
	err = s.db.QueryRowContext(ctx, `SELECT owner FROM dashboards WHERE id = ?`, d.ID).Scan(&owner)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, ErrNotFound
	case err != nil:
		return nil, err
	case owner != user:
		return nil, ErrNotOwner
	}
	_, err = s.db.ExecContext(ctx, `UPDATE dashboards SET shared = ?, definition = ?, updated = ? WHERE id = ?`, boolInt(d.Shared), string(def), now, d.ID)
	return d, err
}

// Delete removes a user's dashboard (any, for an administrator).
func (s *Store) Delete(ctx context.Context, user, id string, admin bool) error {
	if s.isBuiltin(id) != nil {
		return ErrBuiltin
	}
	var owner string
	err := s.db.QueryRowContext(ctx, `SELECT owner FROM dashboards WHERE id = ?`, id).Scan(&owner)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return err
	case owner != user && !admin:
		return ErrNotOwner
	}
	_, err = s.db.ExecContext(ctx, `DELETE FROM dashboards WHERE id = ?`, id)
	return err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
