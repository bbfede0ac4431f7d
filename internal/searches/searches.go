// Package searches keeps saved searches in the control-plane database: a
// name, a LogsQL query, a time range and the columns shown, owned by the
// user who saved it, private or shared with everyone who may search.
package searches

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-siem/vigil/internal/db"
)

// Saved is one saved search.
type Saved struct {
	ID      int64     `json:"id"`
	Name    string    `json:"name"`
	Query   string    `json:"query"`
	Start   string    `json:"start"`
	End     string    `json:"end"`
	Columns []string  `json:"columns"`
	Owner   string    `json:"owner"`
	Shared  bool      `json:"shared"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Mine is set in answers: the caller owns it.
	Mine bool `json:"mine"`
}

// Limits on what is stored.
const (
	MaxName    = 200
	MaxQuery   = 16 << 10
	MaxColumns = 50
	MaxPerUser = 500
)

var migrations = []string{`
CREATE TABLE saved_searches (
	id      INTEGER PRIMARY KEY,
	name    TEXT NOT NULL,
	query   TEXT NOT NULL,
	start   TEXT NOT NULL,
	"end"   TEXT NOT NULL,
	columns TEXT NOT NULL,
	owner   TEXT NOT NULL,
	shared  INTEGER NOT NULL,
	created INTEGER NOT NULL,
	updated INTEGER NOT NULL,
	UNIQUE (owner, name)
);`}

// Store keeps saved searches.
type Store struct {
	db  *sql.DB
	now func() time.Time
}

// Errors the API maps to statuses.
var (
	ErrNotFound = errors.New("no such saved search")
	ErrExists   = errors.New("you already have a saved search with this name")
	ErrNotOwner = errors.New("only its owner may change or delete a saved search")
)

// InvalidError is a saved search that cannot be stored, and why.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

// Open prepares the store's table.
func Open(ctx context.Context, d *sql.DB) (*Store, error) {
	if err := db.Migrate(ctx, d, "searches", migrations); err != nil {
		return nil, err
	}
	return &Store{db: d, now: time.Now}, nil
}

// Validate checks a saved search's fields and trims them.
func Validate(s *Saved) error {
	s.Name = strings.TrimSpace(s.Name)
	s.Query = strings.TrimSpace(s.Query)
	switch {
	case s.Name == "":
		return &InvalidError{"name: give the search a name"}
	case utf8.RuneCountInString(s.Name) > MaxName:
		return &InvalidError{fmt.Sprintf("name: at most %d characters", MaxName)}
	case s.Query == "":
		return &InvalidError{"query: empty (use * for every event)"}
	case len(s.Query) > MaxQuery:
		return &InvalidError{fmt.Sprintf("query: at most %d bytes", MaxQuery)}
	case len(s.Columns) > MaxColumns:
		return &InvalidError{fmt.Sprintf("columns: at most %d", MaxColumns)}
	case len(s.Start) > 64 || len(s.End) > 64:
		return &InvalidError{"start, end: a time (RFC 3339) or a relative one like -24h"}
	}
	for _, c := range s.Columns {
		if c == "" || len(c) > 256 {
			return &InvalidError{"columns: field names of 1 to 256 bytes"}
		}
	}
	if s.Columns == nil {
		s.Columns = []string{}
	}
	return nil
}

// List returns the searches a user sees: their own and the shared ones.
func (st *Store) List(ctx context.Context, user string) ([]Saved, error) {
	rows, err := st.db.QueryContext(ctx, `SELECT id, name, query, start, "end", columns, owner, shared, created, updated
		FROM saved_searches WHERE owner = ? OR shared = 1 ORDER BY name COLLATE NOCASE, id`, user)
	if err != nil {
		return nil, fmt.Errorf("list saved searches: %w", err)
	}
	defer rows.Close()
	out := []Saved{}
	for rows.Next() {
		s, err := scan(rows)
		if err != nil {
			return nil, err
		}
		s.Mine = s.Owner == user
		out = append(out, s)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(...any) error }

func scan(r scanner) (Saved, error) {
	var s Saved
	var cols string
	var shared int
	var created, updated int64
	if err := r.Scan(&s.ID, &s.Name, &s.Query, &s.Start, &s.End, &cols, &s.Owner, &shared, &created, &updated); err != nil {
		return s, fmt.Errorf("read saved search: %w", err)
	}
	if err := json.Unmarshal([]byte(cols), &s.Columns); err != nil {
		return s, fmt.Errorf("read saved search %d columns: %w", s.ID, err)
	}
	s.Shared = shared != 0
	s.Created, s.Updated = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return s, nil
}

// Get returns one search the user may see.
func (st *Store) Get(ctx context.Context, user string, id int64) (Saved, error) {
	s, err := scan(st.db.QueryRowContext(ctx, `SELECT id, name, query, start, "end", columns, owner, shared, created, updated
		FROM saved_searches WHERE id = ? AND (owner = ? OR shared = 1)`, id, user))
	if errors.Is(err, sql.ErrNoRows) {
		return s, ErrNotFound
	}
	s.Mine = s.Owner == user
	return s, err
}

// Create stores a new search owned by user.
func (st *Store) Create(ctx context.Context, user string, s Saved) (Saved, error) {
	if err := Validate(&s); err != nil {
		return s, err
	}
	var n int
	if err := st.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM saved_searches WHERE owner = ?`, user).Scan(&n); err != nil {
		return s, fmt.Errorf("count saved searches: %w", err)
	}
	if n >= MaxPerUser {
		return s, &InvalidError{fmt.Sprintf("you have %d saved searches, the most one user may keep: delete some first", n)}
	}
	cols, _ := json.Marshal(s.Columns)
	now := st.now().UTC()
	s.Owner, s.Created, s.Updated, s.Mine = user, now, now, true
	res, err := st.db.ExecContext(ctx, `INSERT INTO saved_searches (name, query, start, "end", columns, owner, shared, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, s.Name, s.Query, s.Start, s.End, string(cols), user, boolInt(s.Shared), now.UnixNano(), now.UnixNano())
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return s, ErrExists
		}
		return s, fmt.Errorf("save search: %w", err)
	}
	s.ID, _ = res.LastInsertId()
	return s, nil
}

// Update replaces a search the user owns.
func (st *Store) Update(ctx context.Context, user string, id int64, s Saved) (Saved, error) {
	old, err := st.Get(ctx, user, id)
	if err != nil {
		return s, err
	}
	if old.Owner != user {
		return s, ErrNotOwner
	}
	if err := Validate(&s); err != nil {
		return s, err
	}
	cols, _ := json.Marshal(s.Columns)
	now := st.now().UTC()
	if _, err := st.db.ExecContext(ctx, `UPDATE saved_searches SET name = ?, query = ?, start = ?, "end" = ?, columns = ?, shared = ?, updated = ?
		WHERE id = ?`, s.Name, s.Query, s.Start, s.End, string(cols), boolInt(s.Shared), now.UnixNano(), id); err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return s, ErrExists
		}
		return s, fmt.Errorf("update saved search: %w", err)
	}
	s.ID, s.Owner, s.Created, s.Updated, s.Mine = id, user, old.Created, now, true
	return s, nil
}

// Delete removes a search the user owns (or any, for an administrator).
func (st *Store) Delete(ctx context.Context, user string, id int64, admin bool) error {
	var owner string
	err := st.db.QueryRowContext(ctx, `SELECT owner FROM saved_searches WHERE id = ?`, id).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete saved search: %w", err)
	}
	if owner != user && !admin {
		return ErrNotOwner
	}
	_, err = st.db.ExecContext(ctx, `DELETE FROM saved_searches WHERE id = ?`, id)
	return err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
