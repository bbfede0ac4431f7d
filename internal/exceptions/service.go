package exceptions

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/apierr"
	"github.com/vigil-siem/vigil/internal/db"
)

var migrations = []string{`
CREATE TABLE exceptions (
	id         INTEGER PRIMARY KEY,
	rule       TEXT NOT NULL,
	tag        TEXT NOT NULL,
	conditions TEXT NOT NULL,
	author     TEXT NOT NULL,
	reason     TEXT NOT NULL,
	expires    INTEGER NOT NULL,
	created    INTEGER NOT NULL,
	updated    INTEGER NOT NULL,
	enabled    INTEGER NOT NULL,
	from_alert INTEGER NOT NULL
);
CREATE TABLE exception_hits (
	id       TEXT PRIMARY KEY,
	hits     INTEGER NOT NULL,
	last_hit INTEGER NOT NULL
);
CREATE TABLE exception_expiry_reported (
	id      TEXT NOT NULL,
	expires INTEGER NOT NULL,
	PRIMARY KEY (id, expires)
);`}

// AlertSink raises alerts (alerts.Store).
type AlertSink interface {
	Add(ctx context.Context, as []alerts.Alert) ([]alerts.Alert, error)
}

// Options configure the service.
type Options struct {
	// Dir is the directory of YAML exception files ("" for none).
	Dir string
	// Alerts receives the reports of expired exceptions.
	Alerts AlertSink
	Log    *slog.Logger
	Now    func() time.Time
}

// Service keeps the exceptions: those made through the API in the
// database, those of the directory read from their files.
type Service struct {
	db  *sql.DB
	opt Options

	mu       sync.Mutex // orders reloads
	files    []Exception
	fileErrs []error
	set      atomicSet
}

type atomicSet struct {
	mu sync.RWMutex
	s  *Set
}

func (a *atomicSet) Load() *Set {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.s
}

func (a *atomicSet) Store(s *Set) {
	a.mu.Lock()
	a.s = s
	a.mu.Unlock()
}

// Open prepares the tables, reads the directory and compiles the set. A
// bad file is reported (Errors) and skipped; the others apply.
func Open(ctx context.Context, d *sql.DB, opt Options) (*Service, error) {
	if err := db.Migrate(ctx, d, "exceptions", migrations); err != nil {
		return nil, err
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	s := &Service{db: d, opt: opt}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Suppress reports whether an exception keeps a match of the rule on the
// event out of the alerts (and counts it).
func (s *Service) Suppress(ruleID, ruleName string, tags []string, ev Fields) bool {
	return s.set.Load().Match(ruleID, ruleName, tags, ev) != nil
}

// Errors are the problems found in the directory at the last reload.
func (s *Service) Errors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.fileErrs...)
}

// Reload reads the directory again and recompiles the set.
func (s *Service) Reload(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opt.Dir != "" {
		s.files, s.fileErrs = LoadDir(s.opt.Dir)
		for _, e := range s.fileErrs {
			s.opt.Log.Warn("exception file rejected", "err", e)
		}
	}
	return s.recompile(ctx)
}

// recompile builds the set from the database and the files (s.mu held).
func (s *Service) recompile(ctx context.Context) error {
	// Hits of exceptions about to be disabled or removed are written
	// first; those counted meanwhile are carried over.
	if err := s.Flush(ctx); err != nil {
		return err
	}
	xs, err := s.dbList(ctx)
	if err != nil {
		return err
	}
	xs = append(xs, s.files...)
	carry := map[string]*compiled{}
	if old := s.set.Load(); old != nil {
		for _, c := range old.all {
			carry[c.x.ID] = c
		}
	}
	s.set.Store(compile(xs, s.opt.Now, carry))
	return nil
}

func (s *Service) dbList(ctx context.Context) ([]Exception, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, rule, tag, conditions, author, reason, expires, created, updated, enabled, from_alert FROM exceptions ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Exception
	for rows.Next() {
		var x Exception
		var id, exp, cr, up, en int64
		var conds string
		if err := rows.Scan(&id, &x.Rule, &x.Tag, &conds, &x.Author, &x.Reason, &exp, &cr, &up, &en, &x.FromAlert); err != nil {
			return nil, err
		}
		x.ID, x.Source, x.Enabled = strconv.FormatInt(id, 10), "api", en != 0
		x.Created, x.Updated = time.Unix(0, cr).UTC(), time.Unix(0, up).UTC()
		if exp != 0 {
			t := time.Unix(0, exp).UTC()
			x.Expires = &t
		}
		if err := json.Unmarshal([]byte(conds), &x.Conditions); err != nil {
			return nil, fmt.Errorf("exception %d: %w", id, err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// ErrNotFound is an unknown exception id.
var ErrNotFound = apierr.NotFound("exception not found")

// ErrReadOnly is an exception of the directory, changed in its file only.
var ErrReadOnly = apierr.Conflict("exception defined in a file: change the file (and reload)")

// List returns every exception with its hits and expiry, the API's first.
func (s *Service) List(ctx context.Context) ([]Exception, error) {
	s.mu.Lock()
	xs, err := s.dbList(ctx)
	xs = append(xs, s.files...)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	hits := map[string][2]int64{}
	rows, err := s.db.QueryContext(ctx, `SELECT id, hits, last_hit FROM exception_hits`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id string
		var h, l int64
		if err := rows.Scan(&id, &h, &l); err != nil {
			rows.Close()
			return nil, err
		}
		hits[id] = [2]int64{h, l}
	}
	rows.Close()
	pending := map[string]*compiled{}
	if set := s.set.Load(); set != nil {
		for _, c := range set.all {
			pending[c.x.ID] = c
		}
	}
	now := s.opt.Now()
	for i := range xs {
		x := &xs[i]
		h := hits[x.ID]
		x.Hits = h[0]
		last := h[1]
		if c := pending[x.ID]; c != nil {
			x.Hits += c.hits.Load()
			last = max(last, c.lastHit.Load())
		}
		if last != 0 {
			t := time.Unix(0, last).UTC()
			x.LastHit = &t
		}
		x.Expired = x.Expires != nil && !now.Before(*x.Expires)
	}
	return xs, nil
}

// Get returns one exception.
func (s *Service) Get(ctx context.Context, id string) (Exception, error) {
	xs, err := s.List(ctx)
	if err != nil {
		return Exception{}, err
	}
	for _, x := range xs {
		if x.ID == id {
			return x, nil
		}
	}
	return Exception{}, fmt.Errorf("exception %s: %w", id, ErrNotFound)
}

// Create stores a new exception by author and applies it at once.
func (s *Service) Create(ctx context.Context, x Exception, author string) (Exception, error) {
	x.Enabled = true
	x, err := Validate(x)
	if err != nil {
		return x, err
	}
	if x.Expires != nil && !x.Expires.After(s.opt.Now()) {
		return x, invalid("expires", "%s has passed", x.Expires.Format(time.RFC3339))
	}
	now := s.opt.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	res, err := s.db.ExecContext(ctx, `INSERT INTO exceptions (rule, tag, conditions, author, reason, expires, created, updated, enabled, from_alert) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`,
		x.Rule, x.Tag, mustJSON(x.Conditions), author, x.Reason, nanos(x.Expires), now.UnixNano(), now.UnixNano(), x.FromAlert)
	if err != nil {
		return x, err
	}
	id, _ := res.LastInsertId()
	x.ID, x.Author, x.Created, x.Updated, x.Source = strconv.FormatInt(id, 10), author, now, now, "api"
	return x, s.recompile(ctx)
}

// Change is an edit of an exception: fields given replace the old ones.
type Change struct {
	Rule       *string      `json:"rule,omitempty"`
	Tag        *string      `json:"tag,omitempty"`
	Conditions *[]Condition `json:"conditions,omitempty"`
	Reason     *string      `json:"reason,omitempty"`
	// Expires: an RFC 3339 time or date, or "" for none.
	Expires *string `json:"expires,omitempty"`
	Enabled *bool   `json:"enabled,omitempty"`
}

// Update edits an exception made through the API.
func (s *Service) Update(ctx context.Context, id string, c Change) (Exception, error) {
	x, err := s.Get(ctx, id)
	if err != nil {
		return x, err
	}
	if x.Source != "api" {
		return x, ErrReadOnly
	}
	if c.Rule != nil {
		x.Rule = *c.Rule
	}
	if c.Tag != nil {
		x.Tag = *c.Tag
	}
	if c.Conditions != nil {
		x.Conditions = *c.Conditions
	}
	if c.Reason != nil {
		x.Reason = *c.Reason
	}
	if c.Enabled != nil {
		x.Enabled = *c.Enabled
	}
	if c.Expires != nil {
		x.Expires = nil
		if *c.Expires != "" {
			t, err := ParseExpiry(*c.Expires)
			if err != nil {
				return x, invalid("expires", "%v", err)
			}
			x.Expires = &t
		}
	}
	x, err = Validate(x)
	if err != nil {
		return x, err
	}
	now := s.opt.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	en := 0
	if x.Enabled {
		en = 1
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE exceptions SET rule = ?, tag = ?, conditions = ?, reason = ?, expires = ?, enabled = ?, updated = ? WHERE id = ?`,
		x.Rule, x.Tag, mustJSON(x.Conditions), x.Reason, nanos(x.Expires), en, now.UnixNano(), id); err != nil {
		return x, err
	}
	x.Updated = now
	return x, s.recompile(ctx)
}

// Delete removes an exception made through the API.
func (s *Service) Delete(ctx context.Context, id string) error {
	x, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if x.Source != "api" {
		return ErrReadOnly
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM exceptions WHERE id = ?`, id); err != nil {
		return err
	}
	return s.recompile(ctx)
}

// ParseExpiry reads an RFC 3339 time or a date (the end of that day, UTC).
func ParseExpiry(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t.Add(24 * time.Hour).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q: want a date (2027-01-31) or an RFC 3339 time", v)
}

// Flush writes the hits counted since the last flush.
func (s *Service) Flush(ctx context.Context) error {
	set := s.set.Load()
	if set == nil {
		return nil
	}
	for _, c := range set.all {
		n := c.hits.Swap(0)
		if n == 0 {
			continue
		}
		last := c.lastHit.Load()
		if _, err := s.db.ExecContext(ctx, `INSERT INTO exception_hits (id, hits, last_hit) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET hits = hits + excluded.hits, last_hit = max(last_hit, excluded.last_hit)`, c.x.ID, n, last); err != nil {
			c.hits.Add(n) // counted again next time
			return err
		}
	}
	return nil
}

// ReportExpired raises one informational alert for each exception whose
// expiry has passed and was not reported yet.
func (s *Service) ReportExpired(ctx context.Context) error {
	if s.opt.Alerts == nil {
		return nil
	}
	xs, err := s.List(ctx)
	if err != nil {
		return err
	}
	for _, x := range xs {
		if !x.Expired || !x.Enabled {
			continue
		}
		res, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO exception_expiry_reported (id, expires) VALUES (?, ?)`, x.ID, x.Expires.UnixNano())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue
		}
		_, err = s.opt.Alerts.Add(ctx, []alerts.Alert{{
			Key: "exception_expired/" + x.ID + "/" + strconv.FormatInt(x.Expires.Unix(), 10), Kind: "exception_expired",
			RuleID: "vigil.exception_expired", RuleTitle: "Detection exception expired", Level: "informational",
			Tags: []string{"vigil.tuning"}, Time: *x.Expires,
			Fields: map[string]string{"exception.id": x.ID, "exception.rule": x.Rule, "exception.reason": clip(x.Reason, 200),
				"exception.author": x.Author, "exception.source": x.Source, "exception.hits": strconv.FormatInt(x.Hits, 10)},
		}})
		if err != nil {
			return err
		}
		s.opt.Log.Info("exception expired", "id", x.ID, "rule", x.Rule, "source", x.Source)
	}
	return nil
}

// Run flushes hits every 10 seconds and reports expiries every minute
// until ctx ends, then flushes once more.
func (s *Service) Run(ctx context.Context) {
	flush := time.NewTicker(10 * time.Second)
	defer flush.Stop()
	expiry := time.NewTicker(time.Minute)
	defer expiry.Stop()
	if err := s.ReportExpired(ctx); err != nil {
		s.opt.Log.Warn("report expired exceptions", "err", err)
	}
	for {
		select {
		case <-ctx.Done():
			if err := s.Flush(context.WithoutCancel(ctx)); err != nil {
				s.opt.Log.Warn("exception hits not written", "err", err)
			}
			return
		case <-flush.C:
			if err := s.Flush(ctx); err != nil {
				s.opt.Log.Warn("exception hits not written", "err", err)
			}
		case <-expiry.C:
			if err := s.ReportExpired(ctx); err != nil {
				s.opt.Log.Warn("report expired exceptions", "err", err)
			}
		}
	}
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func nanos(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return t.UnixNano()
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return string(b)
}

// fileException is an exception as written in a YAML file.
type fileException struct {
	Rule       string      `yaml:"rule"`
	Tag        string      `yaml:"tag"`
	Conditions []Condition `yaml:"conditions"`
	Author     string      `yaml:"author"`
	Reason     string      `yaml:"reason"`
	Expires    string      `yaml:"expires"`
	Enabled    *bool       `yaml:"enabled"`
}

// LoadDir reads every *.yml and *.yaml file of dir (not below it): each
// holds one exception or a list of them. Bad exceptions are returned as
// errors naming file:line and skipped.
func LoadDir(dir string) ([]Exception, []error) {
	var files []string
	for _, pat := range []string{"*.yml", "*.yaml"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		files = append(files, m...)
	}
	sort.Strings(files)
	if _, err := os.Stat(dir); err != nil {
		return nil, []error{fmt.Errorf("exceptions directory: %w", err)}
	}
	var out []Exception
	var errs []error
	for _, f := range files {
		xs, fe := LoadFile(f)
		out = append(out, xs...)
		errs = append(errs, fe...)
	}
	return out, errs
}

// LoadFile reads one YAML file of exceptions.
func LoadFile(path string) ([]Exception, []error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []error{err}
	}
	if len(data) > 4<<20 {
		return nil, []error{fmt.Errorf("%s: %d bytes: an exception file holds at most 4 MiB", path, len(data))}
	}
	return parseFile(path, data)
}

func parseFile(path string, data []byte) ([]Exception, []error) {
	name := filepath.Base(path)
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, []error{fmt.Errorf("%s: %w", path, err)}
	}
	if len(root.Content) == 0 {
		return nil, nil
	}
	doc := root.Content[0]
	items := []*yaml.Node{doc}
	if doc.Kind == yaml.SequenceNode {
		items = doc.Content
	}
	var out []Exception
	var errs []error
	for _, it := range items {
		where := fmt.Sprintf("%s:%d", path, it.Line)
		if it.Kind != yaml.MappingNode {
			errs = append(errs, fmt.Errorf("%s: want an exception (a mapping with rule, conditions, reason)", where))
			continue
		}
		var fx fileException
		if err := decodeStrict(it, &fx); err != nil {
			var le *lineError
			if errors.As(err, &le) {
				where = fmt.Sprintf("%s:%d", path, le.line)
			}
			errs = append(errs, fmt.Errorf("%s: %v", where, err))
			continue
		}
		x := Exception{ID: fmt.Sprintf("file:%s:%d", name, it.Line), Rule: fx.Rule, Tag: fx.Tag, Conditions: fx.Conditions,
			Author: fx.Author, Reason: fx.Reason, Enabled: fx.Enabled == nil || *fx.Enabled, Source: path}
		if st, err := os.Stat(path); err == nil {
			x.Created, x.Updated = st.ModTime().UTC(), st.ModTime().UTC()
		}
		if fx.Expires != "" {
			t, err := ParseExpiry(fx.Expires)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: expires: %v", where, err))
				continue
			}
			x.Expires = &t
		}
		x, err := Validate(x)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", where, err))
			continue
		}
		out = append(out, x)
	}
	return out, errs
}

// lineError is a problem at one line of a file.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return e.msg }

func lineErr(line int, format string, a ...any) error {
	return &lineError{line: line, msg: fmt.Sprintf(format, a...)}
}

// decodeStrict decodes a mapping, refusing unknown keys with their line.
func decodeStrict(n *yaml.Node, v *fileException) error {
	known := map[string]bool{"rule": true, "tag": true, "conditions": true, "author": true, "reason": true, "expires": true, "enabled": true}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !known[k.Value] {
			return lineErr(k.Line, "unknown key %q: want rule, tag, conditions, author, reason, expires, enabled", k.Value)
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "conditions" {
			c := n.Content[i+1]
			if c.Kind != yaml.SequenceNode {
				return lineErr(c.Line, "conditions: want a list of {field, op, value}")
			}
			for _, cn := range c.Content {
				if cn.Kind != yaml.MappingNode {
					return lineErr(cn.Line, "want a condition {field, op, value}")
				}
				for j := 0; j+1 < len(cn.Content); j += 2 {
					switch k := cn.Content[j]; k.Value {
					case "field", "op", "value", "values":
					default:
						return lineErr(k.Line, "unknown key %q in a condition: want field, op, value or values", k.Value)
					}
				}
			}
		}
	}
	return n.Decode(v)
}
