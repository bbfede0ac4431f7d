// Package retention disposes of stored events when their retention ends:
// per dataset (a policy names a LogsQL filter and how long its events are
// kept: EHR access six years, firewall 90 days), and the store's own
// retention for everything else. Legal holds (a query, or the events of a
// case) suspend disposal of what they match. Every disposal is recorded:
// what was deleted (how many events, of which batches, matching what),
// when, and under which policy, in the disposal log and the audit trail,
// and the integrity ledger reseals each batch that lost events, so
// verification still accounts for every event.
//
// Deletion is physical: the storage library rewrites the parts that hold
// matching events without them (its delete tasks), or drops a whole day
// no hold touches.
package retention

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/config"
	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/store"
)

// Policy keeps the events matching Filter for Keep.
type Policy struct {
	Name   string        `json:"name"`
	Keep   time.Duration `json:"keep"`
	Filter string        `json:"filter"`
}

// ParsePolicy reads "NAME DURATION LOGSQL-FILTER", e.g.
// "firewall 90d event.category:network".
func ParsePolicy(s string) (Policy, error) {
	f := strings.Fields(s)
	if len(f) < 3 {
		return Policy{}, fmt.Errorf("retention policy %q: want NAME DURATION FILTER (e.g. firewall 90d event.category:network)", s)
	}
	d, err := config.ParseDuration(f[1])
	if err != nil || d < 24*time.Hour {
		return Policy{}, fmt.Errorf("retention policy %q: the duration must be at least 1d", s)
	}
	name := f[0]
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return Policy{}, fmt.Errorf("retention policy %q: name %q: letters, digits, - _ . only", s, name)
		}
	}
	filter := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(s, f[0])), f[1]))
	if strings.Contains(filter, "|") {
		return Policy{}, fmt.Errorf("retention policy %q: a filter, not a query with pipes", s)
	}
	return Policy{Name: name, Keep: d, Filter: filter}, nil
}

// Store is what disposal needs of the log store (store.Embedded).
type Store interface {
	Delete(ctx context.Context, filter string, start, end time.Time) error
	ScanDigestsOf(ctx context.Context, filter string, start, end time.Time, fn func(store.StoredEvent) error) error
	Partitions() []string
	DropPartition(day string) error
}

// Sealer reseals a batch after some of its events were disposed of
// (integrity.Ledger).
type Sealer interface {
	Reseal(ctx context.Context, seq uint64, remaining []store.Digest, minT, maxT time.Time, note string) error
	// Resealed reports whether batch seq was resealed before.
	Resealed(ctx context.Context, seq uint64) (bool, error)
}

// Auditor records an action in the audit trail.
type Auditor func(ctx context.Context, action, target, outcome string, details map[string]string) error

// Manager disposes of events and keeps holds and the disposal log in the
// control-plane database.
type Manager struct {
	DB       *sql.DB
	Store    Store
	Ledger   Sealer
	Policies []Policy
	// Retention is the store's retention: events older, in days no hold
	// touches, are dropped with their day.
	Retention time.Duration
	// Quiesce runs fn while the store writer adds nothing (so no event
	// arrives between counting what a disposal deletes and deleting it).
	Quiesce func(ctx context.Context, fn func(uint64) error) error
	Audit   Auditor
	Log     *slog.Logger
	Now     func() time.Time
}

var migrations = []string{`
CREATE TABLE legal_holds (
	id             INTEGER PRIMARY KEY,
	name           TEXT NOT NULL,
	query          TEXT NOT NULL,
	case_id        TEXT NOT NULL,
	reason         TEXT NOT NULL,
	created_by     TEXT NOT NULL,
	created        INTEGER NOT NULL,
	released       INTEGER NOT NULL DEFAULT 0,
	released_by    TEXT NOT NULL DEFAULT '',
	release_reason TEXT NOT NULL DEFAULT ''
);
CREATE TABLE disposals (
	id        INTEGER PRIMARY KEY,
	started   INTEGER NOT NULL,
	finished  INTEGER NOT NULL DEFAULT 0,
	policy    TEXT NOT NULL,
	filter    TEXT NOT NULL,
	before    INTEGER NOT NULL,
	partition TEXT NOT NULL DEFAULT '',
	events    INTEGER NOT NULL,
	batches   TEXT NOT NULL,
	holds     TEXT NOT NULL,
	error     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX disposals_started ON disposals (started);`}

// Open prepares the tables and finishes disposals a crash interrupted.
func (m *Manager) Open(ctx context.Context) error {
	if m.Now == nil {
		m.Now = time.Now
	}
	if m.Log == nil {
		m.Log = slog.New(slog.DiscardHandler)
	}
	if err := db.Migrate(ctx, m.DB, "retention", migrations); err != nil {
		return err
	}
	rows, err := m.DB.QueryContext(ctx, `SELECT id, policy, batches FROM disposals WHERE finished = 0`)
	if err != nil {
		return err
	}
	type open struct {
		id      int64
		policy  string
		batches string
	}
	var todo []open
	for rows.Next() {
		var o open
		if err := rows.Scan(&o.id, &o.policy, &o.batches); err != nil {
			rows.Close()
			return err
		}
		todo = append(todo, o)
	}
	rows.Close()
	for _, o := range todo {
		var seqs []uint64
		_ = json.Unmarshal([]byte(o.batches), &seqs)
		m.Log.Warn("finishing a disposal a stop interrupted", "disposal", o.id, "policy", o.policy, "batches", len(seqs))
		if err := m.reseal(ctx, o.id, o.policy, seqs); err != nil {
			return err
		}
		if _, err := m.DB.ExecContext(ctx, `UPDATE disposals SET finished = ? WHERE id = ?`, m.Now().UnixNano(), o.id); err != nil {
			return err
		}
	}
	return nil
}

// Hold is a legal hold: while active, nothing it matches is disposed of.
type Hold struct {
	ID            int64     `json:"id"`
	Name          string    `json:"name"`
	Query         string    `json:"query"`
	Case          string    `json:"case,omitempty"`
	Reason        string    `json:"reason"`
	CreatedBy     string    `json:"created_by"`
	Created       time.Time `json:"created"`
	Released      time.Time `json:"released,omitzero"`
	ReleasedBy    string    `json:"released_by,omitempty"`
	ReleaseReason string    `json:"release_reason,omitempty"`
}

// Active reports whether the hold still applies.
func (h Hold) Active() bool { return h.Released.IsZero() }

// AddHold records a hold. Query is a LogsQL filter (a case's hold names
// its events, e.g. vigil.id:in("12-3", "12-4")).
func (m *Manager) AddHold(ctx context.Context, h Hold) (Hold, error) {
	h.Name, h.Query, h.Reason = strings.TrimSpace(h.Name), strings.TrimSpace(h.Query), strings.TrimSpace(h.Reason)
	switch {
	case h.Name == "" || len(h.Name) > 200:
		return h, errors.New("a hold needs a name (at most 200 characters)")
	case h.Query == "" || h.Query == "*" || strings.Contains(h.Query, "|"):
		return h, errors.New("a hold needs a LogsQL filter naming what it holds (not * and no pipes)")
	case h.Reason == "":
		return h, errors.New("a hold needs a reason (the matter, the request)")
	}
	if err := m.Store.ScanDigestsOf(ctx, h.Query, m.Now(), m.Now(), func(store.StoredEvent) error { return nil }); err != nil {
		var qe *store.QueryError
		if errors.As(err, &qe) {
			return h, fmt.Errorf("hold query: %w", err)
		}
	}
	h.Created = m.Now().UTC()
	res, err := m.DB.ExecContext(ctx, `INSERT INTO legal_holds (name, query, case_id, reason, created_by, created) VALUES (?, ?, ?, ?, ?, ?)`,
		h.Name, h.Query, h.Case, h.Reason, h.CreatedBy, h.Created.UnixNano())
	if err != nil {
		return h, err
	}
	h.ID, _ = res.LastInsertId()
	m.audit(ctx, "legal_hold.create", "hold/"+strconv.FormatInt(h.ID, 10), "success", map[string]string{"name": h.Name, "query": h.Query, "case": h.Case, "reason": h.Reason})
	return h, nil
}

// ReleaseHold ends a hold; disposal resumes for what it held.
func (m *Manager) ReleaseHold(ctx context.Context, id int64, by, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return errors.New("releasing a hold needs a reason")
	}
	res, err := m.DB.ExecContext(ctx, `UPDATE legal_holds SET released = ?, released_by = ?, release_reason = ? WHERE id = ? AND released = 0`,
		m.Now().UnixNano(), by, reason, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("no active hold %d", id)
	}
	m.audit(ctx, "legal_hold.release", "hold/"+strconv.FormatInt(id, 10), "success", map[string]string{"reason": reason})
	return nil
}

// Holds lists holds (only the active ones when active).
func (m *Manager) Holds(ctx context.Context, active bool) ([]Hold, error) {
	q := `SELECT id, name, query, case_id, reason, created_by, created, released, released_by, release_reason FROM legal_holds`
	if active {
		q += ` WHERE released = 0`
	}
	rows, err := m.DB.QueryContext(ctx, q+` ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Hold
	for rows.Next() {
		var (
			h                 Hold
			created, released int64
		)
		if err := rows.Scan(&h.ID, &h.Name, &h.Query, &h.Case, &h.Reason, &h.CreatedBy, &created, &released, &h.ReleasedBy, &h.ReleaseReason); err != nil {
			return nil, err
		}
		h.Created = time.Unix(0, created).UTC()
		if released != 0 {
			h.Released = time.Unix(0, released).UTC()
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// Disposal is one recorded deletion.
type Disposal struct {
	ID       int64     `json:"id"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	Policy   string    `json:"policy"`
	// Filter is what was deleted: the policy's filter, less the holds.
	Filter string    `json:"filter"`
	Before time.Time `json:"before"`
	// Partition is the day dropped whole, when it was.
	Partition string   `json:"partition,omitempty"`
	Events    int64    `json:"events"`
	Batches   []uint64 `json:"batches,omitempty"`
	Holds     []int64  `json:"holds,omitempty"`
	Error     string   `json:"error,omitempty"`
}

func (m *Manager) audit(ctx context.Context, action, target, outcome string, details map[string]string) {
	if m.Audit == nil {
		return
	}
	if err := m.Audit(ctx, action, target, outcome, details); err != nil {
		m.Log.Error("audit", "action", action, "err", err)
	}
}

// holdFilter excludes what active holds match.
func holdFilter(holds []Hold) (string, []int64) {
	var b strings.Builder
	var ids []int64
	for _, h := range holds {
		b.WriteString(" !(" + h.Query + ")")
		ids = append(ids, h.ID)
	}
	return b.String(), ids
}

// Run disposes of everything whose retention ended, once, and returns
// the disposals it recorded. With dryRun it counts, deletes nothing and
// records nothing.
func (m *Manager) Run(ctx context.Context, dryRun bool) ([]Disposal, error) {
	holds, err := m.Holds(ctx, true)
	if err != nil {
		return nil, err
	}
	except, holdIDs := holdFilter(holds)
	now := m.Now()
	var out []Disposal
	policies := slices.Clone(m.Policies)
	sort.Slice(policies, func(i, j int) bool { return policies[i].Name < policies[j].Name })
	for _, p := range policies {
		d, err := m.dispose(ctx, Disposal{Policy: p.Name, Filter: "(" + p.Filter + ")" + except, Before: now.Add(-p.Keep).UTC(), Holds: holdIDs}, time.Time{}, dryRun)
		if err != nil {
			return out, err
		}
		if d != nil {
			out = append(out, *d)
		}
	}
	if m.Retention > 0 {
		// Whole days before the store's retention: dropped when no hold
		// touches them, else everything but what the holds match.
		cutDay := now.Add(-m.Retention).UTC().Truncate(24 * time.Hour)
		for _, day := range m.Store.Partitions() {
			t, err := time.Parse("20060102", day)
			if err != nil || !t.Add(24*time.Hour).Before(cutDay.Add(time.Nanosecond)) {
				continue
			}
			d := Disposal{Policy: "store.retention", Filter: "*" + except, Before: t.Add(24 * time.Hour), Holds: holdIDs}
			var dd *Disposal
			if len(holds) == 0 {
				dd, err = m.dropDay(ctx, d, day, t, dryRun)
			} else {
				dd, err = m.dispose(ctx, d, t, dryRun)
			}
			if err != nil {
				return out, err
			}
			if dd != nil {
				out = append(out, *dd)
			}
		}
	}
	return out, nil
}

func (m *Manager) record(ctx context.Context, d *Disposal) error {
	seqs, _ := json.Marshal(d.Batches)
	holds, _ := json.Marshal(d.Holds)
	res, err := m.DB.ExecContext(ctx, `INSERT INTO disposals (started, policy, filter, before, partition, events, batches, holds) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		d.Started.UnixNano(), d.Policy, d.Filter, d.Before.UnixNano(), d.Partition, d.Events, string(seqs), string(holds))
	if err != nil {
		return fmt.Errorf("record disposal: %w", err)
	}
	d.ID, _ = res.LastInsertId()
	return nil
}

func (m *Manager) finish(ctx context.Context, d *Disposal, err error) {
	d.Finished = m.Now().UTC()
	if err != nil {
		d.Error = err.Error()
	}
	if _, dbErr := m.DB.ExecContext(context.WithoutCancel(ctx), `UPDATE disposals SET finished = ?, error = ? WHERE id = ?`, d.Finished.UnixNano(), d.Error, d.ID); dbErr != nil {
		m.Log.Error("record disposal", "err", dbErr)
	}
	outcome := "success"
	if err != nil {
		outcome = "failure"
	}
	details := map[string]string{"policy": d.Policy, "filter": d.Filter, "before": d.Before.Format(time.RFC3339), "events": strconv.FormatInt(d.Events, 10),
		"batches": strconv.Itoa(len(d.Batches)), "disposal": strconv.FormatInt(d.ID, 10)}
	if d.Partition != "" {
		details["partition"] = d.Partition
	}
	if len(d.Holds) > 0 {
		details["holds"] = fmt.Sprint(d.Holds)
	}
	if err != nil {
		details["error"] = err.Error()
	}
	m.audit(ctx, "retention.dispose", "events", outcome, details)
	m.Log.Info("disposed of events", "policy", d.Policy, "events", d.Events, "batches", len(d.Batches), "before", d.Before, "err", err)
}

// dispose deletes what d.Filter matches before d.Before (from start),
// counting it first, and reseals the batches that lost events.
func (m *Manager) dispose(ctx context.Context, d Disposal, start time.Time, dryRun bool) (*Disposal, error) {
	d.Started = m.Now().UTC()
	var runErr error
	work := func(uint64) error {
		seqs := map[uint64]bool{}
		err := m.Store.ScanDigestsOf(ctx, d.Filter, start, d.Before, func(se store.StoredEvent) error {
			d.Events++
			if seq, _, ok := parseID(se.ID); ok {
				seqs[seq] = true
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("policy %s: %w", d.Policy, err)
		}
		if d.Events == 0 || dryRun {
			return nil
		}
		for s := range seqs {
			d.Batches = append(d.Batches, s)
		}
		slices.Sort(d.Batches)
		if err := m.record(ctx, &d); err != nil {
			return err
		}
		runErr = m.Store.Delete(ctx, d.Filter, start, d.Before)
		return nil
	}
	var err error
	if m.Quiesce != nil && !dryRun {
		err = m.Quiesce(ctx, work)
	} else {
		err = work(0)
	}
	if err != nil {
		return nil, err
	}
	if d.Events == 0 {
		return nil, nil
	}
	if dryRun {
		return &d, nil
	}
	if runErr == nil {
		runErr = m.reseal(ctx, d.ID, d.Policy, d.Batches)
	}
	m.finish(ctx, &d, runErr)
	return &d, runErr
}

func (m *Manager) dropDay(ctx context.Context, d Disposal, day string, t time.Time, dryRun bool) (*Disposal, error) {
	d.Started, d.Partition, d.Filter = m.Now().UTC(), day, "*"
	seqs := map[uint64]bool{}
	err := m.Store.ScanDigestsOf(ctx, "*", t, t.Add(24*time.Hour), func(se store.StoredEvent) error {
		d.Events++
		if seq, _, ok := parseID(se.ID); ok {
			seqs[seq] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Batches past retention need no new seal (verification knows what
	// retention removed), but those a disposal resealed (what a hold kept)
	// do.
	for s := range seqs {
		if m.Ledger == nil {
			break
		}
		again, err := m.Ledger.Resealed(ctx, s)
		if err != nil {
			return nil, err
		}
		if again {
			d.Batches = append(d.Batches, s)
		}
	}
	slices.Sort(d.Batches)
	if dryRun {
		if d.Events == 0 {
			return nil, nil
		}
		return &d, nil
	}
	if d.Events == 0 {
		// Nothing left in it (deleted before): drop it silently.
		return nil, m.Store.DropPartition(day)
	}
	if err := m.record(ctx, &d); err != nil {
		return nil, err
	}
	err = m.Store.DropPartition(day)
	if err == nil {
		err = m.reseal(ctx, d.ID, d.Policy, d.Batches)
	}
	m.finish(ctx, &d, err)
	return &d, err
}

// reseal seals again the events that remain of each batch a disposal
// deleted events of.
func (m *Manager) reseal(ctx context.Context, id int64, policy string, seqs []uint64) error {
	if m.Ledger == nil || len(seqs) == 0 {
		return nil
	}
	note := fmt.Sprintf("disposal %d under retention policy %s", id, policy)
	for start := 0; start < len(seqs); start += 200 {
		chunk := seqs[start:min(start+200, len(seqs))]
		terms := make([]string, len(chunk))
		for i, s := range chunk {
			terms[i] = fmt.Sprintf(`="%d-"*`, s)
		}
		type rem struct {
			idx []int
			ds  map[int]store.Digest
			lo  time.Time
			hi  time.Time
		}
		left := map[uint64]*rem{}
		err := m.Store.ScanDigestsOf(ctx, "vigil.id:("+strings.Join(terms, " OR ")+")", time.Unix(0, 0), m.Now().AddDate(10, 0, 0), func(se store.StoredEvent) error {
			seq, idx, ok := parseID(se.ID)
			if !ok {
				return nil
			}
			r := left[seq]
			if r == nil {
				r = &rem{ds: map[int]store.Digest{}}
				left[seq] = r
			}
			r.idx = append(r.idx, idx)
			r.ds[idx] = se.Digest
			if r.lo.IsZero() || se.Time.Before(r.lo) {
				r.lo = se.Time
			}
			if se.Time.After(r.hi) {
				r.hi = se.Time
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("reseal after disposal %d: %w", id, err)
		}
		for _, s := range chunk {
			r := left[s]
			var ds []store.Digest
			var lo, hi time.Time
			if r != nil {
				sort.Ints(r.idx)
				for _, i := range r.idx {
					ds = append(ds, r.ds[i])
				}
				lo, hi = r.lo, r.hi
			} else {
				lo, hi = m.Now(), m.Now()
			}
			if err := m.Ledger.Reseal(ctx, s, ds, lo, hi, note); err != nil {
				// A batch stored before sealing began has nothing to reseal.
				m.Log.Warn("reseal after disposal", "batch", s, "err", err)
			}
		}
	}
	return nil
}

func parseID(id string) (uint64, int, bool) {
	a, b, ok := strings.Cut(id, "-")
	if !ok {
		return 0, 0, false
	}
	seq, err1 := strconv.ParseUint(a, 10, 64)
	idx, err2 := strconv.Atoi(b)
	return seq, idx, err1 == nil && err2 == nil && seq > 0 && idx >= 0
}

// Disposals lists the recorded disposals since since, newest first.
func (m *Manager) Disposals(ctx context.Context, since time.Time) ([]Disposal, error) {
	return Disposals(ctx, m.DB, since)
}

// Disposals reads the disposal log of d.
func Disposals(ctx context.Context, d *sql.DB, since time.Time) ([]Disposal, error) {
	rows, err := d.QueryContext(ctx, `SELECT id, started, finished, policy, filter, before, partition, events, batches, holds, error FROM disposals WHERE started >= ? ORDER BY started DESC`, since.UnixNano())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Disposal
	for rows.Next() {
		var (
			x                         Disposal
			started, finished, before int64
			batches, holds            string
		)
		if err := rows.Scan(&x.ID, &started, &finished, &x.Policy, &x.Filter, &before, &x.Partition, &x.Events, &batches, &holds, &x.Error); err != nil {
			return nil, err
		}
		x.Started, x.Before = time.Unix(0, started).UTC(), time.Unix(0, before).UTC()
		if finished != 0 {
			x.Finished = time.Unix(0, finished).UTC()
		}
		_ = json.Unmarshal([]byte(batches), &x.Batches)
		_ = json.Unmarshal([]byte(holds), &x.Holds)
		out = append(out, x)
	}
	return out, rows.Err()
}

// RunSchedule disposes every interval until ctx ends.
func (m *Manager) RunSchedule(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := m.Run(ctx, false); err != nil && ctx.Err() == nil {
			m.Log.Error("retention run failed", "err", err)
		}
	}
}
