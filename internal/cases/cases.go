// Package cases groups alerts into investigations: a case has a title,
// an owner, a severity and a status, tasks, notes, a timeline of
// everything that happened to it, and evidence (saved searches with the
// events they returned, exported files), each piece kept with its SHA-256.
// A privacy case adds the breach assessment of 45 CFR 164.402 (the four
// factors), the distinct patients of its linked events and the states they
// live in, and the breach-notification clock of 164.404–408 with
// reminders before each deadline. A case exports to PDF, HTML or CSV
// through package report.
package cases

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/apierr"
	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/event"
)

var migrations = []string{`
CREATE TABLE cases (
	id          INTEGER PRIMARY KEY,
	title       TEXT NOT NULL,
	description TEXT NOT NULL,
	kind        TEXT NOT NULL,
	owner       TEXT NOT NULL,
	severity    TEXT NOT NULL,
	status      TEXT NOT NULL,
	created     INTEGER NOT NULL,
	created_by  TEXT NOT NULL,
	updated     INTEGER NOT NULL,
	closed      INTEGER NOT NULL,
	discovered  INTEGER NOT NULL,
	assessment  TEXT NOT NULL,
	notified    TEXT NOT NULL
);
CREATE TABLE case_alerts (
	case_id  INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
	alert_id INTEGER NOT NULL,
	added    INTEGER NOT NULL,
	added_by TEXT NOT NULL,
	PRIMARY KEY (case_id, alert_id)
);
CREATE INDEX case_alerts_alert ON case_alerts (alert_id);
CREATE TABLE case_tasks (
	id       INTEGER PRIMARY KEY,
	case_id  INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
	title    TEXT NOT NULL,
	assignee TEXT NOT NULL,
	done     INTEGER NOT NULL,
	created  INTEGER NOT NULL,
	done_at  INTEGER NOT NULL
);
CREATE TABLE case_timeline (
	id      INTEGER PRIMARY KEY,
	case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
	time    INTEGER NOT NULL,
	actor   TEXT NOT NULL,
	kind    TEXT NOT NULL,
	text    TEXT NOT NULL
);
CREATE INDEX case_timeline_case ON case_timeline (case_id, time);
CREATE TABLE case_evidence (
	id       INTEGER PRIMARY KEY,
	case_id  INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
	kind     TEXT NOT NULL,
	name     TEXT NOT NULL,
	query    TEXT NOT NULL,
	start    INTEGER NOT NULL,
	end      INTEGER NOT NULL,
	events   INTEGER NOT NULL,
	content  BLOB NOT NULL,
	sha256   TEXT NOT NULL,
	size     INTEGER NOT NULL,
	added_by TEXT NOT NULL,
	time     INTEGER NOT NULL
);
CREATE TABLE case_reminders (
	case_id  INTEGER NOT NULL,
	deadline TEXT NOT NULL,
	days     INTEGER NOT NULL,
	PRIMARY KEY (case_id, deadline, days)
);`}

// Case is one case.
type Case struct {
	ID          int64      `json:"id"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Kind        string     `json:"kind"` // security, privacy
	Owner       string     `json:"owner"`
	Severity    string     `json:"severity"`
	Status      string     `json:"status"` // open, in_progress, closed
	Created     time.Time  `json:"created"`
	CreatedBy   string     `json:"created_by"`
	Updated     time.Time  `json:"updated"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
	// Discovered is when the breach (or incident) was discovered: the
	// start of the notification clock (default: when the case was made).
	Discovered time.Time   `json:"discovered"`
	Assessment *Assessment `json:"assessment,omitempty"`
	Notified   Notified    `json:"notified"`

	Alerts   []int64    `json:"alerts"`
	Tasks    []Task     `json:"tasks,omitempty"`
	Timeline []Entry    `json:"timeline,omitempty"`
	Evidence []Evidence `json:"evidence,omitempty"`
	// Breach is the privacy case's clock, computed when read.
	Breach *Breach `json:"breach,omitempty"`
}

// Task is a piece of work in a case.
type Task struct {
	ID       int64      `json:"id"`
	Title    string     `json:"title"`
	Assignee string     `json:"assignee,omitempty"`
	Done     bool       `json:"done"`
	Created  time.Time  `json:"created"`
	DoneAt   *time.Time `json:"done_at,omitempty"`
}

// Entry is one line of a case's timeline: a change (kind "change"), a
// note ("note"), an event of the investigation ("event", at the time it
// happened), an alert or evidence added.
type Entry struct {
	ID    int64     `json:"id"`
	Time  time.Time `json:"time"`
	Actor string    `json:"actor"`
	Kind  string    `json:"kind"`
	Text  string    `json:"text"`
}

// Evidence is a piece of evidence, kept with its SHA-256.
type Evidence struct {
	ID      int64      `json:"id"`
	Kind    string     `json:"kind"` // search, file
	Name    string     `json:"name"`
	Query   string     `json:"query,omitempty"`
	Start   *time.Time `json:"start,omitempty"`
	End     *time.Time `json:"end,omitempty"`
	Events  int        `json:"events,omitempty"`
	SHA256  string     `json:"sha256"`
	Size    int        `json:"size"`
	AddedBy string     `json:"added_by"`
	Time    time.Time  `json:"time"`
}

// Limits of case input.
const (
	MaxTitle      = 200
	MaxText       = 16 << 10
	MaxEvidence   = 50 << 20
	MaxSearchRows = 100_000
	MaxCaseAlerts = 10_000
)

// InputError is a change that cannot be made; Field names what was wrong.
type InputError struct{ Field, Msg string }

func (e *InputError) Error() string { return e.Field + ": " + e.Msg }

// HTTPStatus: a change that cannot be made is bad input.
func (e *InputError) HTTPStatus() int { return http.StatusBadRequest }

func bad(field, format string, a ...any) error {
	return &InputError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// ErrNotFound is an unknown case, task or evidence.
var ErrNotFound = apierr.NotFound("not found")

// Options configure the store.
type Options struct {
	Alerts *alerts.Store
	// Search runs a LogsQL query over [start, end) (store.Store.Search).
	Search func(ctx context.Context, query string, start, end time.Time, limit int, fn func(row []event.Field) error) error
	// PatientState returns the state a patient lives in ("" unknown).
	PatientState func(ctx context.Context, patientID string) (string, error)
	// Users checks owners and assignees.
	Users alerts.Users
	Log   *slog.Logger
	Now   func() time.Time
}

// Store keeps the cases.
type Store struct {
	db  *sql.DB
	opt Options
}

// Open prepares the tables.
func Open(ctx context.Context, d *sql.DB, opt Options) (*Store, error) {
	if err := db.Migrate(ctx, d, "cases", migrations); err != nil {
		return nil, err
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	return &Store{db: d, opt: opt}, nil
}

var (
	kinds      = []string{"security", "privacy"}
	statuses   = []string{"open", "in_progress", "closed"}
	severities = alerts.Levels
)

func checkText(field, s string, max int, required bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return bad(field, "required")
	case len(s) > max:
		return bad(field, "%d bytes: at most %d", len(s), max)
	case !utf8.ValidString(s):
		return bad(field, "not valid UTF-8")
	}
	return nil
}

// New is a case as created.
type New struct {
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Kind        string     `json:"kind"`
	Owner       string     `json:"owner"`
	Severity    string     `json:"severity"`
	Discovered  *time.Time `json:"discovered"`
	Alerts      []int64    `json:"alerts"`
}

// Create makes a case, with its first alerts.
func (s *Store) Create(ctx context.Context, n New, actor string) (Case, error) {
	if n.Kind == "" {
		n.Kind = "security"
	}
	if n.Severity == "" {
		n.Severity = "medium"
	}
	if err := checkText("title", n.Title, MaxTitle, true); err != nil {
		return Case{}, err
	}
	if err := checkText("description", n.Description, MaxText, false); err != nil {
		return Case{}, err
	}
	if !slices.Contains(kinds, n.Kind) {
		return Case{}, bad("kind", "%q: want security or privacy", n.Kind)
	}
	if !slices.Contains(severities, n.Severity) {
		return Case{}, bad("severity", "%q: want %s", n.Severity, strings.Join(severities, ", "))
	}
	if err := s.checkUser(ctx, "owner", n.Owner); err != nil {
		return Case{}, err
	}
	now := s.opt.Now().UTC()
	disc := now
	if n.Discovered != nil {
		if n.Discovered.After(now) {
			return Case{}, bad("discovered", "in the future")
		}
		disc = n.Discovered.UTC()
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO cases (title, description, kind, owner, severity, status, created, created_by, updated, closed, discovered, assessment, notified)
		VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, 0, ?, '', '{}')`, n.Title, n.Description, n.Kind, n.Owner, n.Severity, now.UnixNano(), actor, now.UnixNano(), disc.UnixNano())
	if err != nil {
		return Case{}, err
	}
	id, _ := res.LastInsertId()
	s.log(ctx, id, actor, "change", fmt.Sprintf("case opened: %s (%s, %s)", n.Title, n.Kind, n.Severity))
	if len(n.Alerts) > 0 {
		if err := s.AddAlerts(ctx, id, n.Alerts, actor); err != nil {
			return Case{}, err
		}
	}
	return s.Get(ctx, id)
}

func (s *Store) checkUser(ctx context.Context, field, name string) error {
	if name == "" || s.opt.Users == nil {
		return checkText(field, name, 128, false)
	}
	if err := s.opt.Users.CheckAssignee(ctx, name); err != nil {
		return bad(field, "%v", err)
	}
	return nil
}

func (s *Store) log(ctx context.Context, id int64, actor, kind, text string) {
	s.logAt(ctx, id, s.opt.Now(), actor, kind, text)
}

func (s *Store) logAt(ctx context.Context, id int64, at time.Time, actor, kind, text string) {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO case_timeline (case_id, time, actor, kind, text) VALUES (?, ?, ?, ?, ?)`,
		id, at.UTC().UnixNano(), actor, kind, text); err != nil {
		s.opt.Log.Error("case timeline entry not written", "case", id, "err", err)
	}
	_, _ = s.db.ExecContext(ctx, `UPDATE cases SET updated = ? WHERE id = ?`, s.opt.Now().UTC().UnixNano(), id)
}

// Patch changes a case; nil fields are unchanged.
type Patch struct {
	Title       *string     `json:"title,omitempty"`
	Description *string     `json:"description,omitempty"`
	Owner       *string     `json:"owner,omitempty"`
	Severity    *string     `json:"severity,omitempty"`
	Status      *string     `json:"status,omitempty"`
	Kind        *string     `json:"kind,omitempty"`
	Discovered  *time.Time  `json:"discovered,omitempty"`
	Note        *string     `json:"note,omitempty"`
	Assessment  *Assessment `json:"assessment,omitempty"`
	Notified    *Notified   `json:"notified,omitempty"`
}

// Update applies a patch, writing each change to the timeline.
func (s *Store) Update(ctx context.Context, id int64, p Patch, actor string) (Case, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return c, err
	}
	set := map[string]any{}
	change := func(field, old, new string, col string, v any) {
		if old != new {
			set[col] = v
			s.log(ctx, id, actor, "change", fmt.Sprintf("%s: %s → %s", field, orNone(old), orNone(new)))
		}
	}
	if p.Title != nil {
		if err := checkText("title", *p.Title, MaxTitle, true); err != nil {
			return c, err
		}
	}
	if p.Description != nil {
		if err := checkText("description", *p.Description, MaxText, false); err != nil {
			return c, err
		}
	}
	if p.Severity != nil && !slices.Contains(severities, *p.Severity) {
		return c, bad("severity", "%q: want %s", *p.Severity, strings.Join(severities, ", "))
	}
	if p.Status != nil && !slices.Contains(statuses, *p.Status) {
		return c, bad("status", "%q: want open, in_progress or closed", *p.Status)
	}
	if p.Kind != nil && !slices.Contains(kinds, *p.Kind) {
		return c, bad("kind", "%q: want security or privacy", *p.Kind)
	}
	if p.Owner != nil {
		if err := s.checkUser(ctx, "owner", *p.Owner); err != nil {
			return c, err
		}
	}
	if p.Note != nil {
		if err := checkText("note", *p.Note, MaxText, true); err != nil {
			return c, err
		}
	}
	if p.Discovered != nil && p.Discovered.After(s.opt.Now()) {
		return c, bad("discovered", "in the future")
	}
	if p.Assessment != nil {
		if err := p.Assessment.validate(); err != nil {
			return c, err
		}
	}
	if p.Notified != nil {
		if err := p.Notified.validate(s.opt.Now()); err != nil {
			return c, err
		}
	}
	if p.Title != nil {
		change("title", c.Title, *p.Title, "title", *p.Title)
	}
	if p.Description != nil && *p.Description != c.Description {
		set["description"] = *p.Description
		s.log(ctx, id, actor, "change", "description changed")
	}
	if p.Owner != nil {
		change("owner", c.Owner, *p.Owner, "owner", *p.Owner)
	}
	if p.Severity != nil {
		change("severity", c.Severity, *p.Severity, "severity", *p.Severity)
	}
	if p.Kind != nil {
		change("kind", c.Kind, *p.Kind, "kind", *p.Kind)
	}
	if p.Status != nil {
		change("status", c.Status, *p.Status, "status", *p.Status)
		if *p.Status == "closed" && c.Status != "closed" {
			set["closed"] = s.opt.Now().UTC().UnixNano()
		} else if *p.Status != "closed" {
			set["closed"] = 0
		}
	}
	if p.Discovered != nil {
		change("discovered", c.Discovered.Format(time.RFC3339), p.Discovered.UTC().Format(time.RFC3339), "discovered", p.Discovered.UTC().UnixNano())
	}
	if p.Assessment != nil {
		a := *p.Assessment
		a.By, a.At = actor, s.opt.Now().UTC()
		b, _ := json.Marshal(a)
		set["assessment"] = string(b)
		s.log(ctx, id, actor, "change", "breach assessment: "+a.Conclusion())
	}
	if p.Notified != nil {
		b, _ := json.Marshal(*p.Notified)
		set["notified"] = string(b)
		s.log(ctx, id, actor, "change", "notifications recorded: "+p.Notified.String())
	}
	if p.Note != nil {
		s.log(ctx, id, actor, "note", strings.TrimSpace(*p.Note))
	}
	if len(set) > 0 {
		var cols []string
		var args []any
		for k, v := range set {
			cols = append(cols, k+" = ?")
			args = append(args, v)
		}
		args = append(args, s.opt.Now().UTC().UnixNano(), id)
		if _, err := s.db.ExecContext(ctx, `UPDATE cases SET `+strings.Join(cols, ", ")+`, updated = ? WHERE id = ?`, args...); err != nil {
			return c, err
		}
	}
	return s.Get(ctx, id)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// AddAlerts links alerts to a case.
func (s *Store) AddAlerts(ctx context.Context, id int64, ids []int64, actor string) error {
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	var n int
	_ = s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM case_alerts WHERE case_id = ?`, id).Scan(&n)
	if n+len(ids) > MaxCaseAlerts {
		return bad("alerts", "a case holds at most %d alerts", MaxCaseAlerts)
	}
	for _, aid := range ids {
		a, err := s.opt.Alerts.Get(ctx, aid)
		if err != nil {
			return bad("alerts", "%v", err)
		}
		res, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO case_alerts (case_id, alert_id, added, added_by) VALUES (?, ?, ?, ?)`,
			id, aid, s.opt.Now().UTC().UnixNano(), actor)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k > 0 {
			s.log(ctx, id, actor, "alert", fmt.Sprintf("alert %d added: %s (%s, %d events)", aid, a.RuleTitle, a.Level, a.Count))
			// The alert's own activity, at the time it happened.
			s.logAt(ctx, id, a.FirstSeen, "vigil", "event", fmt.Sprintf("alert %d first seen: %s", aid, a.RuleTitle))
		}
	}
	return nil
}

// RemoveAlert unlinks an alert.
func (s *Store) RemoveAlert(ctx context.Context, id, alertID int64, actor string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM case_alerts WHERE case_id = ? AND alert_id = ?`, id, alertID)
	if err != nil {
		return err
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return fmt.Errorf("alert %d in case %d: %w", alertID, id, ErrNotFound)
	}
	s.log(ctx, id, actor, "alert", fmt.Sprintf("alert %d removed", alertID))
	return nil
}

// AddTask adds a task.
func (s *Store) AddTask(ctx context.Context, id int64, title, assignee, actor string) (Task, error) {
	if err := checkText("title", title, MaxTitle, true); err != nil {
		return Task{}, err
	}
	if err := s.checkUser(ctx, "assignee", assignee); err != nil {
		return Task{}, err
	}
	if _, err := s.Get(ctx, id); err != nil {
		return Task{}, err
	}
	now := s.opt.Now().UTC()
	res, err := s.db.ExecContext(ctx, `INSERT INTO case_tasks (case_id, title, assignee, done, created, done_at) VALUES (?, ?, ?, 0, ?, 0)`, id, title, assignee, now.UnixNano())
	if err != nil {
		return Task{}, err
	}
	tid, _ := res.LastInsertId()
	s.log(ctx, id, actor, "task", "task added: "+title)
	return Task{ID: tid, Title: title, Assignee: assignee, Created: now}, nil
}

// SetTask marks a task done or not done.
func (s *Store) SetTask(ctx context.Context, id, taskID int64, done bool, actor string) error {
	var title string
	if err := s.db.QueryRowContext(ctx, `SELECT title FROM case_tasks WHERE id = ? AND case_id = ?`, taskID, id).Scan(&title); err != nil {
		return fmt.Errorf("task %d of case %d: %w", taskID, id, ErrNotFound)
	}
	at := int64(0)
	word := "reopened"
	if done {
		at, word = s.opt.Now().UTC().UnixNano(), "done"
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE case_tasks SET done = ?, done_at = ? WHERE id = ?`, done, at, taskID); err != nil {
		return err
	}
	s.log(ctx, id, actor, "task", "task "+word+": "+title)
	return nil
}

// AddEvent writes an event of the investigation to the timeline at the
// time it happened.
func (s *Store) AddEvent(ctx context.Context, id int64, at time.Time, text, actor string) error {
	if err := checkText("text", text, MaxText, true); err != nil {
		return err
	}
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	s.logAt(ctx, id, at, actor, "event", text)
	return nil
}

// AddSearch runs a search and keeps its events (NDJSON, one object per
// event) as evidence with their SHA-256.
func (s *Store) AddSearch(ctx context.Context, id int64, name, query string, start, end time.Time, actor string) (Evidence, error) {
	if err := checkText("name", name, MaxTitle, true); err != nil {
		return Evidence{}, err
	}
	if err := checkText("query", query, MaxText, true); err != nil {
		return Evidence{}, err
	}
	if !end.After(start) {
		return Evidence{}, bad("end", "must be after start")
	}
	if s.opt.Search == nil {
		return Evidence{}, bad("query", "searching is not available")
	}
	var buf strings.Builder
	n := 0
	err := s.opt.Search(ctx, query, start, end, MaxSearchRows, func(row []event.Field) error {
		m := make(map[string]string, len(row))
		for _, f := range row {
			m[f.Name] = f.Value
		}
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if buf.Len()+len(b)+1 > MaxEvidence {
			return bad("query", "the events exceed %d MiB: narrow the search", MaxEvidence>>20)
		}
		buf.Write(b)
		buf.WriteByte('\n')
		n++
		return nil
	})
	if err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			return Evidence{}, err
		}
		return Evidence{}, bad("query", "%v", err)
	}
	return s.addEvidence(ctx, id, Evidence{Kind: "search", Name: name, Query: query, Start: &start, End: &end, Events: n}, []byte(buf.String()), actor)
}

// AddFile keeps a file as evidence.
func (s *Store) AddFile(ctx context.Context, id int64, name string, content []byte, actor string) (Evidence, error) {
	if err := checkText("name", name, MaxTitle, true); err != nil {
		return Evidence{}, err
	}
	if len(content) > MaxEvidence {
		return Evidence{}, bad("content", "%d bytes: at most %d MiB", len(content), MaxEvidence>>20)
	}
	return s.addEvidence(ctx, id, Evidence{Kind: "file", Name: name}, content, actor)
}

func (s *Store) addEvidence(ctx context.Context, id int64, e Evidence, content []byte, actor string) (Evidence, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return e, err
	}
	sum := sha256.Sum256(content)
	e.SHA256, e.Size, e.AddedBy, e.Time = hex.EncodeToString(sum[:]), len(content), actor, s.opt.Now().UTC()
	res, err := s.db.ExecContext(ctx, `INSERT INTO case_evidence (case_id, kind, name, query, start, end, events, content, sha256, size, added_by, time)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, e.Kind, e.Name, e.Query, nanos(e.Start), nanos(e.End), e.Events, content, e.SHA256, e.Size, actor, e.Time.UnixNano())
	if err != nil {
		return e, err
	}
	e.ID, _ = res.LastInsertId()
	s.log(ctx, id, actor, "evidence", fmt.Sprintf("evidence %d added: %s (%s, %d bytes, sha256 %s)", e.ID, e.Name, e.Kind, e.Size, e.SHA256))
	return e, nil
}

func nanos(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return t.UnixNano()
}

// EvidenceContent returns a piece of evidence and its content.
func (s *Store) EvidenceContent(ctx context.Context, id, eid int64) (Evidence, []byte, error) {
	var e Evidence
	var content []byte
	var st, en, t int64
	err := s.db.QueryRowContext(ctx, `SELECT id, kind, name, query, start, end, events, content, sha256, size, added_by, time FROM case_evidence WHERE id = ? AND case_id = ?`, eid, id).
		Scan(&e.ID, &e.Kind, &e.Name, &e.Query, &st, &en, &e.Events, &content, &e.SHA256, &e.Size, &e.AddedBy, &t)
	if errors.Is(err, sql.ErrNoRows) {
		return e, nil, fmt.Errorf("evidence %d of case %d: %w", eid, id, ErrNotFound)
	}
	e.Time = time.Unix(0, t).UTC()
	return e, content, err
}

// Get returns a case with its alerts, tasks, timeline and evidence.
func (s *Store) Get(ctx context.Context, id int64) (Case, error) {
	var c Case
	var created, updated, closed, disc int64
	var assessment, notified string
	err := s.db.QueryRowContext(ctx, `SELECT id, title, description, kind, owner, severity, status, created, created_by, updated, closed, discovered, assessment, notified FROM cases WHERE id = ?`, id).
		Scan(&c.ID, &c.Title, &c.Description, &c.Kind, &c.Owner, &c.Severity, &c.Status, &created, &c.CreatedBy, &updated, &closed, &disc, &assessment, &notified)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("case %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return c, err
	}
	c.Created, c.Updated, c.Discovered = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC(), time.Unix(0, disc).UTC()
	if closed != 0 {
		t := time.Unix(0, closed).UTC()
		c.ClosedAt = &t
	}
	if assessment != "" {
		c.Assessment = &Assessment{}
		_ = json.Unmarshal([]byte(assessment), c.Assessment)
	}
	_ = json.Unmarshal([]byte(notified), &c.Notified)
	c.Alerts = []int64{}
	rows, err := s.db.QueryContext(ctx, `SELECT alert_id FROM case_alerts WHERE case_id = ? ORDER BY added, alert_id`, id)
	if err != nil {
		return c, err
	}
	for rows.Next() {
		var a int64
		rows.Scan(&a)
		c.Alerts = append(c.Alerts, a)
	}
	rows.Close()
	rows, err = s.db.QueryContext(ctx, `SELECT id, title, assignee, done, created, done_at FROM case_tasks WHERE case_id = ? ORDER BY id`, id)
	if err != nil {
		return c, err
	}
	for rows.Next() {
		var t Task
		var cr, da int64
		rows.Scan(&t.ID, &t.Title, &t.Assignee, &t.Done, &cr, &da)
		t.Created = time.Unix(0, cr).UTC()
		if da != 0 {
			x := time.Unix(0, da).UTC()
			t.DoneAt = &x
		}
		c.Tasks = append(c.Tasks, t)
	}
	rows.Close()
	rows, err = s.db.QueryContext(ctx, `SELECT id, time, actor, kind, text FROM case_timeline WHERE case_id = ? ORDER BY time, id`, id)
	if err != nil {
		return c, err
	}
	for rows.Next() {
		var e Entry
		var t int64
		rows.Scan(&e.ID, &t, &e.Actor, &e.Kind, &e.Text)
		e.Time = time.Unix(0, t).UTC()
		c.Timeline = append(c.Timeline, e)
	}
	rows.Close()
	rows, err = s.db.QueryContext(ctx, `SELECT id, kind, name, query, start, end, events, sha256, size, added_by, time FROM case_evidence WHERE case_id = ? ORDER BY id`, id)
	if err != nil {
		return c, err
	}
	for rows.Next() {
		var e Evidence
		var st, en, t int64
		rows.Scan(&e.ID, &e.Kind, &e.Name, &e.Query, &st, &en, &e.Events, &e.SHA256, &e.Size, &e.AddedBy, &t)
		e.Time = time.Unix(0, t).UTC()
		if st != 0 {
			x, y := time.Unix(0, st).UTC(), time.Unix(0, en).UTC()
			e.Start, e.End = &x, &y
		}
		c.Evidence = append(c.Evidence, e)
	}
	rows.Close()
	if c.Kind == "privacy" {
		b := ComputeBreach(c, nil, s.opt.Now())
		c.Breach = &b
	}
	return c, nil
}

// Summary is a case as listed.
type Summary struct {
	ID        int64      `json:"id"`
	Title     string     `json:"title"`
	Kind      string     `json:"kind"`
	Owner     string     `json:"owner"`
	Severity  string     `json:"severity"`
	Status    string     `json:"status"`
	Created   time.Time  `json:"created"`
	Updated   time.Time  `json:"updated"`
	Alerts    int        `json:"alerts"`
	OpenTasks int        `json:"open_tasks"`
	NotifyBy  *time.Time `json:"notify_individuals_by,omitempty"`
}

// List lists cases, most recently updated first.
func (s *Store) List(ctx context.Context, status, kind, owner string, alertID int64, limit int) ([]Summary, error) {
	q := `SELECT c.id, c.title, c.kind, c.owner, c.severity, c.status, c.created, c.updated, c.discovered,
		(SELECT COUNT(*) FROM case_alerts a WHERE a.case_id = c.id), (SELECT COUNT(*) FROM case_tasks t WHERE t.case_id = c.id AND t.done = 0) FROM cases c`
	var where []string
	var args []any
	for _, p := range []struct{ col, v string }{{"c.status", status}, {"c.kind", kind}, {"c.owner", owner}} {
		if p.v != "" {
			where, args = append(where, p.col+" = ?"), append(args, p.v)
		}
	}
	if alertID != 0 {
		where, args = append(where, "EXISTS (SELECT 1 FROM case_alerts a WHERE a.case_id = c.id AND a.alert_id = ?)"), append(args, alertID)
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	q += fmt.Sprintf(" ORDER BY c.updated DESC, c.id DESC LIMIT %d", limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Summary{}
	for rows.Next() {
		var x Summary
		var cr, up, disc int64
		if err := rows.Scan(&x.ID, &x.Title, &x.Kind, &x.Owner, &x.Severity, &x.Status, &cr, &up, &disc, &x.Alerts, &x.OpenTasks); err != nil {
			return nil, err
		}
		x.Created, x.Updated = time.Unix(0, cr).UTC(), time.Unix(0, up).UTC()
		if x.Kind == "privacy" {
			t := time.Unix(0, disc).UTC().AddDate(0, 0, 60)
			x.NotifyBy = &t
		}
		out = append(out, x)
	}
	return out, rows.Err()
}
