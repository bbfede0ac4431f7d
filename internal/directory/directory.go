// Package directory keeps Vigil's patient and workforce directories in the
// control-plane SQLite database: patients with all their identifiers,
// demographics, next of kin and confidentiality flags; their encounters
// with the care team (attending, referring, consulting, admitting and ROL
// members, each with the period they served); A40 merges with their
// history; and the workforce roster (employee id, EHR user id, department,
// role, manager, hire and termination dates).
//
// The patient side is fed by HL7 v2 ADT messages (ApplyADT, idempotent),
// the workforce side by CSV rosters (ImportWorkforce). The read side is an
// HTTP API (API) and the lookups privacy detection needs: whether a user
// was on a patient's care team at a time (OnCareTeam), a worker by EHR
// user id (WorkerByEHRUser) and a patient by identifier
// (PatientByIdentifier).
//
// Everything stored here is PHI or personnel data. Errors and warnings
// returned by this package never contain names, identifiers or other
// values read from messages, so callers may log them.
package directory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/db"
)

// ErrNotFound is returned by lookups that find nothing.
var ErrNotFound = errors.New("not found in the directory")

// Store is the directory on a control-plane database.
//
// Writers (ApplyADT, ImportWorkforce) are serialised by a mutex: SQLite
// has one writer at a time, and taking turns in the process avoids
// lock-upgrade failures between concurrent transactions. Readers run
// concurrently (WAL).
type Store struct {
	db      *sql.DB
	mu      sync.Mutex // serialises write transactions
	now     func() time.Time
	applied int // ADT messages applied since the last pruning of the ledger
	linked  int // clinical messages applied since the last pruning of the links
	// LedgerRetention is how long the digests of applied ADT messages are
	// remembered to recognise retransmissions (default 30 days).
	LedgerRetention time.Duration
	// LinkRetention is how long clinical links (orders, results,
	// medications, appointments) are kept after their time (default 90
	// days); LinkMax bounds how many are kept in all (default 2,000,000,
	// the oldest go first).
	LinkRetention time.Duration
	LinkMax       int

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt // prepared statements of the write path and of frequent reads
}

// New migrates the directory tables of d and returns the store.
func New(ctx context.Context, d *sql.DB) (*Store, error) {
	if err := db.Migrate(ctx, d, "directory", migrations); err != nil {
		return nil, err
	}
	return &Store{db: d, now: time.Now, LedgerRetention: 30 * 24 * time.Hour,
		LinkRetention: 90 * 24 * time.Hour, LinkMax: 2_000_000, stmts: map[string]*sql.Stmt{}}, nil
}

// Close releases the store's prepared statements (the database itself
// belongs to the caller).
func (s *Store) Close() error {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	var errs []error
	for q, st := range s.stmts {
		errs = append(errs, st.Close())
		delete(s.stmts, q)
	}
	return errors.Join(errs...)
}

// prepared returns the statement of q, prepared once (SQLite spends a
// good part of a small transaction parsing SQL).
func (s *Store) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st := s.stmts[q]; st != nil {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	s.stmts[q] = st
	return st, nil
}

// query runs a read through a statement prepared once: the enrichment
// reads patient records with the same few statements thousands of times a
// minute, and preparing costs about as much as running them. Only for
// query texts of a bounded set (no IN list of any length).
func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := s.prepared(ctx, q)
	if err != nil {
		return s.db.QueryContext(ctx, q, args...)
	}
	return st.QueryContext(ctx, args...)
}

// txq runs prepared statements in a transaction.
type txq struct {
	s   *Store
	tx  *sql.Tx
	ctx context.Context
}

func (t txq) exec(q string, args ...any) (sql.Result, error) {
	st, err := t.s.prepared(t.ctx, q)
	if err != nil {
		return nil, err
	}
	return t.tx.StmtContext(t.ctx, st).ExecContext(t.ctx, args...)
}

func (t txq) query(q string, args ...any) (*sql.Rows, error) {
	st, err := t.s.prepared(t.ctx, q)
	if err != nil {
		return nil, err
	}
	return t.tx.StmtContext(t.ctx, st).QueryContext(t.ctx, args...)
}

// errRow is a *sql.Row stand-in carrying a preparation error.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (t txq) queryRow(q string, args ...any) scanner {
	st, err := t.s.prepared(t.ctx, q)
	if err != nil {
		return errRow{err}
	}
	return t.tx.StmtContext(t.ctx, st).QueryRowContext(t.ctx, args...)
}

// SetClock replaces the clock used for created/updated stamps (tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// timeLayout stores instants as fixed-width UTC text, so that text order
// is time order in SQL comparisons. The empty string means unknown.
const timeLayout = "2006-01-02T15:04:05.000Z"

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

var migrations = []string{
	// 1: patients, identifiers, merges, encounters, care team, ADT ledger,
	// workforce.
	`
CREATE TABLE dir_patients (
	id INTEGER PRIMARY KEY,
	merged_into INTEGER REFERENCES dir_patients(id),
	family TEXT NOT NULL DEFAULT '',
	given TEXT NOT NULL DEFAULT '',
	names TEXT NOT NULL DEFAULT '[]',
	birth_date TEXT NOT NULL DEFAULT '',
	sex TEXT NOT NULL DEFAULT '',
	addresses TEXT NOT NULL DEFAULT '[]',
	phones TEXT NOT NULL DEFAULT '[]',
	next_of_kin TEXT NOT NULL DEFAULT '[]',
	account_number TEXT NOT NULL DEFAULT '',
	deceased INTEGER NOT NULL DEFAULT 0,
	deceased_time TEXT NOT NULL DEFAULT '',
	vip TEXT NOT NULL DEFAULT '',
	protection TEXT NOT NULL DEFAULT '',
	restrictions TEXT NOT NULL DEFAULT '[]',
	search TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE TABLE dir_identifiers (
	id INTEGER PRIMARY KEY,
	patient_id INTEGER NOT NULL REFERENCES dir_patients(id),
	value TEXT NOT NULL,
	authority TEXT NOT NULL DEFAULT '',
	type_code TEXT NOT NULL DEFAULT '',
	facility TEXT NOT NULL DEFAULT '',
	merged_from INTEGER REFERENCES dir_patients(id),
	UNIQUE (authority, value)
);
CREATE INDEX dir_identifiers_value ON dir_identifiers(value);
CREATE INDEX dir_identifiers_patient ON dir_identifiers(patient_id);
CREATE TABLE dir_merges (
	id INTEGER PRIMARY KEY,
	survivor_id INTEGER NOT NULL REFERENCES dir_patients(id),
	prior_id INTEGER REFERENCES dir_patients(id),
	prior_identifiers TEXT NOT NULL DEFAULT '[]',
	control_id TEXT NOT NULL DEFAULT '',
	event_time TEXT NOT NULL DEFAULT '',
	applied_at TEXT NOT NULL
);
CREATE INDEX dir_merges_survivor ON dir_merges(survivor_id);
CREATE INDEX dir_merges_prior ON dir_merges(prior_id);
CREATE TABLE dir_encounters (
	id INTEGER PRIMARY KEY,
	patient_id INTEGER NOT NULL REFERENCES dir_patients(id),
	merged_from INTEGER REFERENCES dir_patients(id),
	visit_number TEXT NOT NULL DEFAULT '',
	visit_authority TEXT NOT NULL DEFAULT '',
	class TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL DEFAULT '',
	location TEXT NOT NULL DEFAULT '',
	prior_location TEXT NOT NULL DEFAULT '',
	admission_type TEXT NOT NULL DEFAULT '',
	hospital_service TEXT NOT NULL DEFAULT '',
	admit_time TEXT NOT NULL DEFAULT '',
	discharge_time TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX dir_encounters_visit ON dir_encounters(visit_authority, visit_number) WHERE visit_number <> '';
CREATE INDEX dir_encounters_patient ON dir_encounters(patient_id);
CREATE TABLE dir_care_team (
	id INTEGER PRIMARY KEY,
	encounter_id INTEGER NOT NULL REFERENCES dir_encounters(id),
	provider_id TEXT NOT NULL,
	role TEXT NOT NULL,
	source TEXT NOT NULL,
	family TEXT NOT NULL DEFAULT '',
	given TEXT NOT NULL DEFAULT '',
	prefix TEXT NOT NULL DEFAULT '',
	degree TEXT NOT NULL DEFAULT '',
	authority TEXT NOT NULL DEFAULT '',
	begin_time TEXT NOT NULL DEFAULT '',
	end_time TEXT NOT NULL DEFAULT ''
);
CREATE INDEX dir_care_team_encounter ON dir_care_team(encounter_id);
CREATE INDEX dir_care_team_provider ON dir_care_team(provider_id);
CREATE TABLE dir_adt_applied (
	digest TEXT PRIMARY KEY,
	applied_at TEXT NOT NULL
);
CREATE INDEX dir_adt_applied_at ON dir_adt_applied(applied_at);
CREATE TABLE dir_workforce (
	id INTEGER PRIMARY KEY,
	employee_id TEXT NOT NULL UNIQUE,
	ehr_user_id TEXT NOT NULL DEFAULT '',
	provider_id TEXT NOT NULL DEFAULT '',
	full_name TEXT NOT NULL DEFAULT '',
	family_name TEXT NOT NULL DEFAULT '',
	given_name TEXT NOT NULL DEFAULT '',
	address TEXT NOT NULL DEFAULT '',
	city TEXT NOT NULL DEFAULT '',
	state TEXT NOT NULL DEFAULT '',
	postal_code TEXT NOT NULL DEFAULT '',
	country TEXT NOT NULL DEFAULT '',
	email TEXT NOT NULL DEFAULT '',
	phone TEXT NOT NULL DEFAULT '',
	department TEXT NOT NULL DEFAULT '',
	role TEXT NOT NULL DEFAULT '',
	manager_id TEXT NOT NULL DEFAULT '',
	hire_date TEXT NOT NULL DEFAULT '',
	termination_date TEXT NOT NULL DEFAULT '',
	search TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE INDEX dir_workforce_ehr ON dir_workforce(ehr_user_id);
CREATE INDEX dir_workforce_provider ON dir_workforce(provider_id);
CREATE INDEX dir_workforce_department ON dir_workforce(department);
`,
	// 2: encounters are looked up by visit number under any authority.
	`CREATE INDEX dir_encounters_number ON dir_encounters(visit_number);`,
	// 3: provenance of directory changes made by HL7 messages: who (the
	// sending application and facility, the connection's address and
	// client certificate), by which message (control id, event) and when
	// Vigil recorded it (its own clock, not the message's).
	`
ALTER TABLE dir_care_team ADD COLUMN added_at TEXT NOT NULL DEFAULT '';
ALTER TABLE dir_care_team ADD COLUMN added_by TEXT NOT NULL DEFAULT '{}';
ALTER TABLE dir_care_team ADD COLUMN added_on_open INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dir_care_team ADD COLUMN ended_at TEXT NOT NULL DEFAULT '';
ALTER TABLE dir_care_team ADD COLUMN ended_by TEXT NOT NULL DEFAULT '{}';
ALTER TABLE dir_merges ADD COLUMN applied_by TEXT NOT NULL DEFAULT '{}';
ALTER TABLE dir_patients ADD COLUMN updated_by TEXT NOT NULL DEFAULT '{}';
`,
	// 4: when an encounter's location last changed (an A02 transfer), so
	// that the location at an earlier time is the prior one.
	`ALTER TABLE dir_encounters ADD COLUMN location_since TEXT NOT NULL DEFAULT '';`,
	// 5: clinical links from order, pharmacy, result and scheduling
	// messages (links.go), and who the directory saw fill each section.
	`
CREATE TABLE dir_links (
	id INTEGER PRIMARY KEY,
	patient_id INTEGER NOT NULL REFERENCES dir_patients(id),
	kind TEXT NOT NULL,
	message_type TEXT NOT NULL,
	section TEXT NOT NULL DEFAULT '',
	service TEXT NOT NULL DEFAULT '',
	at TEXT NOT NULL,
	people TEXT NOT NULL DEFAULT '[]',
	control_id TEXT NOT NULL DEFAULT '',
	added_by TEXT NOT NULL DEFAULT '{}',
	created_at TEXT NOT NULL
);
CREATE INDEX dir_links_patient ON dir_links(patient_id, at);
CREATE INDEX dir_links_at ON dir_links(at);
CREATE TABLE dir_section_staff (
	section TEXT NOT NULL,
	provider_id TEXT NOT NULL,
	n INTEGER NOT NULL DEFAULT 0,
	last_at TEXT NOT NULL,
	PRIMARY KEY (section, provider_id)
);
`,
}

// withTx runs fn in a write transaction, serialised with other writers.
func (s *Store) withTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("directory: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("directory: commit: %w", err)
	}
	return nil
}
