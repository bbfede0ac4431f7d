// Package alerts keeps the alerts Vigil raises (Sigma matches, correlations,
// silent sources, risk thresholds) in the control-plane database, runs
// their triage (status, assignee, disposition, notes, tags, history) and
// serves them over the API.
//
// Raising is idempotent on each raise's key, so a detector that sees an
// event again after a restart does not raise the same alert twice. Raises
// that carry a group key (one rule on one entity) roll into the open alert
// of that group while it was last seen within the grouping window: one
// alert with a count, first and last seen and the event ids, instead of
// one per match. A raise marked Update (a correlation burst that grew)
// replaces the size it reported before.
package alerts

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/apierr"
	"github.com/vigil-siem/vigil/internal/db"
)

// Alert is one alert: a raise, or several raises of one rule on one entity
// rolled into one.
type Alert struct {
	ID int64 `json:"id"`
	// Key identifies the first raise, e.g. "sigma/<rule id>/<event id>".
	Key       string `json:"key"`
	Kind      string `json:"kind"` // sigma, correlation, source_silent, risk, …
	RuleID    string `json:"rule_id"`
	RuleTitle string `json:"rule_title"`
	Level     string `json:"level"` // informational, low, medium, high, critical
	// Tags are the rule's tags and the analysts' (AnalystTags).
	Tags        []string `json:"tags"`
	AnalystTags []string `json:"analyst_tags"`
	// Time is when the detected activity was last seen; FirstSeen when it
	// began.
	Time      time.Time `json:"time"`
	FirstSeen time.Time `json:"first_seen"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
	// Count is how many matching events the alert stands for (all of
	// them, also beyond the EventIDs kept).
	Count int `json:"count"`
	// Value is what a correlation measured over its whole burst: the
	// number of events, distinct values (e.g. patients) or the sum.
	Value float64 `json:"value,omitempty"`
	// EventIDs are the vigil.id of the events that raised the alert (the
	// first MaxEventIDs).
	EventIDs []string `json:"event_ids"`
	// GroupBy holds a correlation's group-by values.
	GroupBy map[string]string `json:"group_by,omitempty"`
	// Fields are key fields of the (last) matching event.
	Fields map[string]string `json:"fields,omitempty"`
	// GroupKey is the rule and entity raises are grouped by ("" for
	// alerts that are never grouped).
	GroupKey string `json:"group_key,omitempty"`

	Status         string     `json:"status"` // new, in_progress, closed
	Assignee       string     `json:"assignee"`
	Disposition    string     `json:"disposition,omitempty"`
	Reason         string     `json:"reason,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	ClosedAt       *time.Time `json:"closed_at,omitempty"`
	// SLA is filled in by the API from the configured targets.
	SLA *SLAState `json:"sla,omitempty"`
	// Notes are filled in by Get.
	Notes []Note `json:"notes,omitempty"`
	// Update marks a raise that replaces the size and events an earlier
	// raise with the same key reported (a correlation burst that grew);
	// a plain raise with a known key is ignored.
	Update bool `json:"-"`
}

// Note is an analyst's note on an alert.
type Note struct {
	ID     int64     `json:"id"`
	Time   time.Time `json:"time"`
	Author string    `json:"author"`
	Text   string    `json:"text"`
}

// Statuses an alert may have.
var Statuses = []string{"new", "in_progress", "closed"}

// Dispositions an alert may be closed with.
var Dispositions = []string{"true_positive", "benign_true_positive", "false_positive", "duplicate", "not_evaluable"}

// Levels from the least to the most severe.
var Levels = []string{"informational", "low", "medium", "high", "critical"}

// MaxEventIDs is how many event ids one alert keeps.
const MaxEventIDs = 1000

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
);`, `
ALTER TABLE alerts ADD COLUMN analyst_tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE alerts ADD COLUMN first_seen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN updated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
ALTER TABLE alerts ADD COLUMN value REAL NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN group_key TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN assignee TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN disposition TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN acknowledged INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN closed INTEGER NOT NULL DEFAULT 0;
UPDATE alerts SET first_seen = time, updated = created;
UPDATE alerts SET status = 'new' WHERE status = 'open';
UPDATE alerts SET status = 'in_progress', acknowledged = created WHERE status = 'acknowledged';
UPDATE alerts SET closed = created, acknowledged = created WHERE status = 'closed';
CREATE INDEX alerts_group ON alerts (group_key, time) WHERE group_key != '';
CREATE INDEX alerts_status ON alerts (status, time);
CREATE INDEX alerts_created ON alerts (created);
CREATE TABLE alert_keys (
	key      TEXT PRIMARY KEY,
	alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
	count    INTEGER NOT NULL DEFAULT 1,
	ids      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO alert_keys (key, alert_id, count) SELECT key, id, 1 FROM alerts;
CREATE TABLE alert_history (
	id       INTEGER PRIMARY KEY,
	alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
	time     INTEGER NOT NULL,
	actor    TEXT NOT NULL,
	field    TEXT NOT NULL,
	old      TEXT NOT NULL,
	new      TEXT NOT NULL
);
CREATE INDEX alert_history_alert ON alert_history (alert_id, id);
CREATE TABLE alert_notes (
	id       INTEGER PRIMARY KEY,
	alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
	time     INTEGER NOT NULL,
	author   TEXT NOT NULL,
	text     TEXT NOT NULL
);
CREATE INDEX alert_notes_alert ON alert_notes (alert_id, id);`, `
-- setTags deletes an alert's tags by alert_id, and deleting an alert
-- cascades to them: without this index each was a scan of every tag row.
CREATE INDEX alert_tags_alert ON alert_tags (alert_id);`}

// Change is what one Add did to one alert, for the components that follow
// alerts (notifications, risk).
type Change struct {
	Alert Alert
	// What: "new" (a new alert), "grouped" (raises rolled into an open
	// alert of the same rule and entity) or "updated" (a correlation
	// burst grew).
	What string
	// Raises is how many raises this Add rolled in (1 for a new alert).
	Raises int
}

// Options tune a store.
type Options struct {
	// GroupWindow: a raise rolls into the open alert of its group when
	// that alert was last seen at most this long before it (default 1h;
	// negative: never group).
	GroupWindow time.Duration
	Now         func() time.Time
}

// Store is the alert store.
type Store struct {
	db  *sql.DB
	opt Options

	mu          sync.Mutex // guards hooks
	hooks       []func(context.Context, []Change)
	triageHooks []func(ctx context.Context, before, after Alert)
	// write serialises raises and triage changes: both read an alert
	// and write it back.
	write sync.Mutex
	// open holds, under write, the alerts raises wrote or held last (at
	// most maxOpenCached): an ongoing brute force updates the same few
	// thousand alerts every few seconds, and reading each back from its
	// row (parsing its JSON) was half the cost of raising. A triage change
	// drops the alert from it.
	open map[int64]*cached
	// keyOf maps, under write, the burst keys held in open to their alert.
	keyOf map[string]int64
	// held counts the open entries with updates not yet written; past
	// heldMax (maxHeld) a raise writes them.
	held, heldMax int
	// live holds copies of the alerts whose newest size is held in
	// memory (not yet written), for readers: List, Page and Get show
	// them as they stand (see Flush).
	liveMu sync.RWMutex
	live   map[int64]*Alert
}

// cached is an alert as raises last left it. An update of a correlation
// burst (a raise marked Update whose key is known) is merged here and
// written to the table only by Flush (the detector's checkpoint), by a
// triage change of the alert, or when more than maxHeld alerts wait: an
// open burst then costs no SQL at all between checkpoints.
type cached struct {
	a     Alert
	keys  map[string]keyState // burst keys of the alert, as last reported
	dirty bool                // a or one of keys differs from its row
}

// keyState is what a burst key reported last (alert_keys' count and ids).
type keyState struct {
	count, ids int
	dirty      bool
}

// maxOpenCached bounds Store.open (a few KiB each: a correlation's alert
// keeps at most 100 event ids).
const maxOpenCached = 8192

// maxHeld bounds the alerts whose updates wait for Flush: past it a raise
// writes them all (a flush of its own). The benchmark's brute force from
// 200 addresses against 8 hosts keeps a few thousand bursts open.
const maxHeld = 4096

// Open prepares the alert tables in d.
func Open(ctx context.Context, d *sql.DB) (*Store, error) {
	return OpenWith(ctx, d, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, d *sql.DB, opt Options) (*Store, error) {
	if err := db.Migrate(ctx, d, "alerts", migrations); err != nil {
		return nil, err
	}
	if opt.GroupWindow == 0 {
		opt.GroupWindow = time.Hour
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Store{db: d, opt: opt, heldMax: maxHeld}, nil
}

// DB is the database the store keeps its tables in (for the features
// built on alerts: exceptions, cases, notifications).
func (s *Store) DB() *sql.DB { return s.db }

// OnChange registers f to see every alert Add creates, groups or updates,
// after the change is committed. f runs on the caller's goroutine (the
// detector's): it must be quick and must not block (queue work).
func (s *Store) OnChange(f func(context.Context, []Change)) {
	s.mu.Lock()
	s.hooks = append(s.hooks, f)
	s.mu.Unlock()
}

// GroupKey is the group of a raise of rule on one entity: the values of
// the given fields, in order.
func GroupKey(ruleID string, fields ...[2]string) string {
	var b strings.Builder
	b.WriteString(ruleID)
	for _, f := range fields {
		b.WriteString("\x00")
		b.WriteString(f[0])
		b.WriteString("=")
		b.WriteString(f[1])
	}
	return b.String()
}

// EntityFields are the fields whose value names the entity of a Sigma
// match, in order of preference, when its rule has no group-by: the user,
// else the host, else the patient, else the source address.
var EntityFields = []string{"user.name", "host.name", "healthcare.patient.id", "source.ip"}

// Add stores raises: a raise whose key is known is skipped (or, marked
// Update, replaces what that key reported); one with a group key rolls
// into the open alert of its group seen within the grouping window;
// anything else is a new alert. It returns the new alerts, with their IDs.
func (s *Store) Add(ctx context.Context, as []Alert) ([]Alert, error) {
	changes, err := s.raise(ctx, as)
	if err != nil {
		return nil, err
	}
	var added []Alert
	for _, c := range changes {
		if c.What == "new" {
			added = append(added, c.Alert)
		}
	}
	if len(changes) > 0 {
		s.mu.Lock()
		hooks := s.hooks
		s.mu.Unlock()
		for _, h := range hooks {
			h(ctx, changes)
		}
	}
	return added, nil
}

func (s *Store) raise(ctx context.Context, as []Alert) ([]Change, error) {
	s.write.Lock()
	defer s.write.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	now := s.opt.Now().UTC()
	byID := map[int64]int{} // alert id -> index in changes
	var changes []Change
	note := func(a Alert, what string) {
		if i, ok := byID[a.ID]; ok {
			changes[i].Alert = a
			changes[i].Raises++
			if changes[i].What != "new" && what == "grouped" {
				changes[i].What = what
			}
			return
		}
		byID[a.ID] = len(changes)
		changes = append(changes, Change{Alert: a, What: what, Raises: 1})
	}
	// The alerts this call read or created, as they stand after its raises:
	// a brute force rolls thousands of raises into one alert per call, and
	// reading, merging and rewriting the alert's row (its JSON event ids
	// and fields) for each was most of the cost of raising. Each alert is
	// read once, merged in memory and written once, at the end — or, when
	// only burst updates changed it, held for Flush.
	touched := map[int64]*Alert{}
	var dirty []int64
	isDirty := map[int64]bool{}
	inGroup := map[string]int64{} // group key -> the alert its last raise rolled into
	// Burst keys this call updated (applied to open after the commit: a
	// failed call must leave the sizes as they were, so that the same
	// raises given again add the same counts).
	type stagedKey struct {
		id         int64
		count, ids int
	}
	staged := map[string]stagedKey{}
	fresh := map[string]stagedKey{} // keys of bursts' new alerts, as written
	held := map[int64]bool{}        // alerts changed by burst updates only, so far
	load := func(id int64) (*Alert, error) {
		if a, ok := touched[id]; ok {
			return a, nil
		}
		if c, ok := s.open[id]; ok {
			// A copy: this call may fail, and merge appends to EventIDs.
			a := c.a
			a.EventIDs = append(make([]string, 0, len(c.a.EventIDs)+1), c.a.EventIDs...)
			touched[id] = &a
			return &a, nil
		}
		a, err := getTx(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		touched[id] = &a
		return &a, nil
	}
	rolled := func(a *Alert) {
		a.Updated = now
		if !isDirty[a.ID] {
			isDirty[a.ID] = true
			dirty = append(dirty, a.ID)
		}
	}
	// knownKey is what a burst key reported last: this call's, else the
	// one held in memory, else its row.
	knownKey := func(key string) (id int64, count, ids int, err error) {
		if k, ok := staged[key]; ok {
			return k.id, k.count, k.ids, nil
		}
		if k, ok := fresh[key]; ok {
			return k.id, k.count, k.ids, nil
		}
		if id, ok := s.keyOf[key]; ok {
			k := s.open[id].keys[key]
			return id, k.count, k.ids, nil
		}
		err = tx.QueryRowContext(ctx, `SELECT alert_id, count, ids FROM alert_keys WHERE key = ?`, key).Scan(&id, &count, &ids)
		return id, count, ids, err
	}
	for _, in := range as {
		if in.Key == "" {
			return nil, errors.New("alert without key")
		}
		if in.Count <= 0 {
			in.Count = max(1, len(in.EventIDs))
		}
		if in.FirstSeen.IsZero() || in.FirstSeen.After(in.Time) {
			in.FirstSeen = in.Time
		}
		known, knownCount, knownIDs, err := knownKey(in.Key)
		switch {
		case err == nil && !in.Update:
			continue // raised before
		case err == nil:
			a, err := load(known)
			if err != nil {
				return nil, err
			}
			// The burst's ids come oldest first: those reported before are
			// a prefix of the new list.
			newIDs := in.EventIDs
			if knownIDs <= len(newIDs) {
				newIDs = newIDs[knownIDs:]
			}
			merge(a, in, in.Count-knownCount, newIDs)
			a.Updated = now
			staged[in.Key] = stagedKey{id: known, count: in.Count, ids: len(in.EventIDs)}
			held[known] = true
			note(*a, "updated")
			continue
		case !errors.Is(err, sql.ErrNoRows):
			return nil, fmt.Errorf("look up alert key: %w", err)
		}
		if in.GroupKey != "" && s.opt.GroupWindow > 0 {
			lo, hi := in.FirstSeen.Add(-s.opt.GroupWindow), in.Time.Add(s.opt.GroupWindow)
			gid, cached := inGroup[in.GroupKey]
			if a := touched[gid]; cached && (a.Status == "closed" || a.Time.Before(lo) || a.FirstSeen.After(hi)) {
				// Outside the window of the alert the group's last raise
				// rolled into: as stored, it is outside it too (its
				// times only widened here), so ask the store.
				cached = false
			}
			if !cached {
				// The raise falls within the window around the alert's
				// activity (raises may come out of order).
				err = tx.QueryRowContext(ctx, groupLookup, in.GroupKey, lo.UnixNano(), hi.UnixNano()).Scan(&gid)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return nil, fmt.Errorf("look up alert group: %w", err)
				}
				cached = err == nil
			}
			if cached {
				a, err := load(gid)
				if err != nil {
					return nil, err
				}
				merge(a, in, in.Count, in.EventIDs)
				rolled(a)
				inGroup[in.GroupKey] = a.ID
				if _, err := tx.ExecContext(ctx, `INSERT INTO alert_keys (key, alert_id, count, ids) VALUES (?, ?, ?, ?)`, in.Key, a.ID, in.Count, len(in.EventIDs)); err != nil {
					return nil, err
				}
				note(*a, "grouped")
				continue
			}
		}
		a := in
		a.Created, a.Updated, a.Status = now, now, "new"
		a.AnalystTags = nil
		if len(a.EventIDs) > MaxEventIDs {
			a.EventIDs = a.EventIDs[:MaxEventIDs]
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO alerts (key, kind, rule_id, rule_title, level, tags, time, created, event_ids, group_by, fields, status,
			analyst_tags, first_seen, updated, count, value, group_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', '[]', ?, ?, ?, ?, ?)`,
			a.Key, a.Kind, a.RuleID, a.RuleTitle, a.Level, mustJSON(nonNil(a.Tags)), a.Time.UTC().UnixNano(), now.UnixNano(),
			mustJSON(nonNil(a.EventIDs)), mustJSON(nonNilMap(a.GroupBy)), mustJSON(nonNilMap(a.Fields)),
			a.FirstSeen.UTC().UnixNano(), now.UnixNano(), a.Count, a.Value, a.GroupKey)
		if err != nil {
			return nil, fmt.Errorf("insert alert %s: %w", a.Key, err)
		}
		a.ID, _ = res.LastInsertId()
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_keys (key, alert_id, count, ids) VALUES (?, ?, ?, ?)`, a.Key, a.ID, a.Count, len(in.EventIDs)); err != nil {
			return nil, err
		}
		if in.Kind == "correlation" || in.Update {
			// A burst: its updates will look its key up.
			fresh[in.Key] = stagedKey{id: a.ID, count: a.Count, ids: len(in.EventIDs)}
		}
		if err := insertTags(ctx, tx, a.ID, a.Tags); err != nil { // a new alert has none yet
			return nil, err
		}
		a.Tags, a.EventIDs = nonNil(a.Tags), nonNil(a.EventIDs)
		a.AnalystTags = []string{}
		// Later raises of this call merge into it in memory: its row is
		// written again at the end (dirty), as it then stands.
		stored := a
		stored.EventIDs = append([]string(nil), a.EventIDs...)
		touched[a.ID] = &stored
		if a.GroupKey != "" {
			inGroup[a.GroupKey] = a.ID
		}
		note(a, "new")
	}
	// What is written now: the alerts raises rolled into or created, and —
	// when more than maxHeld would wait — every alert held, this call's and
	// earlier calls'. An alert's row and its burst keys are always written
	// together: a size in one and not the other would count twice after a
	// restart.
	waiting := s.held
	for id := range held {
		if c := s.open[id]; (c == nil || !c.dirty) && !isDirty[id] {
			waiting++
		}
	}
	flushAll := waiting > s.heldMax
	written := map[int64]bool{}
	for _, id := range dirty {
		written[id] = true
	}
	if flushAll {
		for id := range held {
			if !written[id] {
				written[id] = true
				dirty = append(dirty, id)
			}
		}
	}
	for _, id := range dirty {
		if err := saveRaise(ctx, tx, touched[id], now); err != nil {
			return nil, err
		}
		if c := s.open[id]; c != nil {
			if err := saveKeys(ctx, tx, c.keys, staged); err != nil {
				return nil, err
			}
		}
	}
	for k, st := range staged {
		if written[st.id] {
			if _, err := tx.ExecContext(ctx, `UPDATE alert_keys SET count = ?, ids = ? WHERE key = ?`, st.count, st.ids, k); err != nil {
				return nil, err
			}
		}
	}
	if flushAll {
		for id, c := range s.open {
			if c.dirty && !written[id] {
				a := c.a
				if err := saveRaise(ctx, tx, &a, now); err != nil {
					return nil, err
				}
				if err := saveKeys[bool](ctx, tx, c.keys, nil); err != nil {
					return nil, err
				}
				written[id] = true
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	if s.open == nil {
		s.open, s.keyOf = map[int64]*cached{}, map[string]int64{}
	}
	for id, a := range touched {
		c := s.open[id]
		if c == nil {
			s.evictOne(touched)
			c = &cached{keys: map[string]keyState{}}
			s.open[id] = c
		}
		c.a = *a // the changes returned share a's slices
		c.a.EventIDs = append([]string(nil), a.EventIDs...)
	}
	for k, st := range fresh {
		if _, ok := staged[k]; !ok {
			s.open[st.id].keys[k] = keyState{count: st.count, ids: st.ids}
			s.keyOf[k] = st.id
		}
	}
	for k, st := range staged {
		s.open[st.id].keys[k] = keyState{count: st.count, ids: st.ids, dirty: true}
		s.keyOf[k] = st.id
	}
	for id, c := range s.open {
		switch {
		case written[id]:
			s.setClean(id, c)
		case held[id]:
			if !c.dirty {
				c.dirty = true
				s.held++
			}
			s.setLive(id, &c.a)
		}
	}
	return changes, nil
}

// saveKeys writes the burst keys of an alert that changed since written,
// except those in skip (written by the caller).
func saveKeys[V any](ctx context.Context, tx *sql.Tx, keys map[string]keyState, skip map[string]V) error {
	for k, st := range keys {
		if _, ok := skip[k]; ok || !st.dirty {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alert_keys SET count = ?, ids = ? WHERE key = ?`, st.count, st.ids, k); err != nil {
			return err
		}
	}
	return nil
}

// evictOne makes room in open for one more alert, dropping one that is
// written and not in keep (any one: map order is random). Called under
// write.
func (s *Store) evictOne(keep map[int64]*Alert) {
	if len(s.open) < maxOpenCached {
		return
	}
	for id, c := range s.open {
		if _, ok := keep[id]; !ok && !c.dirty {
			s.dropCached(id)
			return
		}
	}
}

// dropCached forgets an alert raises held (its row is as held). Called
// under write.
func (s *Store) dropCached(id int64) {
	c := s.open[id]
	if c == nil {
		return
	}
	for k := range c.keys {
		delete(s.keyOf, k)
	}
	if c.dirty {
		s.held--
	}
	delete(s.open, id)
	s.liveMu.Lock()
	delete(s.live, id)
	s.liveMu.Unlock()
}

// setClean records that an alert and its keys are as written.
func (s *Store) setClean(id int64, c *cached) {
	for k, st := range c.keys {
		if st.dirty {
			st.dirty = false
			c.keys[k] = st
		}
	}
	if c.dirty {
		c.dirty = false
		s.held--
	}
	s.liveMu.Lock()
	delete(s.live, id)
	s.liveMu.Unlock()
}

// setLive publishes, for readers, an alert as held in memory. The event
// ids are shared: a cached alert's slice is never appended to (raises
// merge into a copy and store a new one).
func (s *Store) setLive(id int64, a *Alert) {
	l := *a
	s.liveMu.Lock()
	if s.live == nil {
		s.live = map[int64]*Alert{}
	}
	s.live[id] = &l
	s.liveMu.Unlock()
}

// withLive shows an alert read from its row as it stands in memory, when
// updates of its burst are held there (at most until the next Flush).
func (s *Store) withLive(a *Alert) {
	s.liveMu.RLock()
	l := s.live[a.ID]
	s.liveMu.RUnlock()
	if l == nil {
		return
	}
	a.Time, a.FirstSeen, a.Updated, a.Count, a.Value, a.Level, a.Fields = l.Time, l.FirstSeen, l.Updated, l.Count, l.Value, l.Level, l.Fields
	a.EventIDs = append([]string(nil), l.EventIDs...)
}

// Flush writes the burst updates raises held in memory (see cached). The
// detector calls it at each checkpoint, before it saves the correlation
// state and acknowledges the batches behind those updates, and when it
// stops: after a crash the updates since are raised again from the
// batches, against the sizes written here, so a burst is neither lost
// nor counted twice. Readers see held sizes at once (List, Page, Get);
// filters and order use the rows, as of the last Flush.
func (s *Store) Flush(ctx context.Context) error {
	s.write.Lock()
	defer s.write.Unlock()
	if s.held == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := s.opt.Now().UTC()
	for _, c := range s.open {
		if !c.dirty {
			continue
		}
		a := c.a
		if err := saveRaise(ctx, tx, &a, now); err != nil {
			return err
		}
		if err := saveKeys[bool](ctx, tx, c.keys, nil); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	for id, c := range s.open {
		if c.dirty {
			s.setClean(id, c)
		}
	}
	return nil
}

// merge rolls a raise into an alert: count and events grow, first and
// last seen widen, the latest fields win, the largest measured value is
// kept, and the level is raised to the most severe.
func merge(a *Alert, in Alert, addCount int, newIDs []string) {
	a.Count += max(0, addCount)
	for _, id := range newIDs {
		if len(a.EventIDs) >= MaxEventIDs {
			break
		}
		a.EventIDs = append(a.EventIDs, id)
	}
	if in.FirstSeen.Before(a.FirstSeen) {
		a.FirstSeen = in.FirstSeen
	}
	if in.Time.After(a.Time) {
		a.Time = in.Time
		if len(in.Fields) > 0 {
			a.Fields = in.Fields
		}
	}
	if in.Value > a.Value {
		a.Value = in.Value
	}
	if LevelRank(in.Level) > LevelRank(a.Level) {
		a.Level = in.Level
	}
}

func saveRaise(ctx context.Context, tx *sql.Tx, a *Alert, now time.Time) error {
	a.Updated = now
	_, err := tx.ExecContext(ctx, `UPDATE alerts SET time = ?, first_seen = ?, count = ?, value = ?, event_ids = ?, fields = ?, level = ?, updated = ? WHERE id = ?`,
		a.Time.UTC().UnixNano(), a.FirstSeen.UTC().UnixNano(), a.Count, a.Value, mustJSON(nonNil(a.EventIDs)), mustJSON(nonNilMap(a.Fields)),
		a.Level, now.UnixNano(), a.ID)
	return err
}

// groupLookup finds the open alert a raise of the same group rolls into.
// "group_key != ”" repeats the partial index's condition so that SQLite
// uses it (a bound parameter does not prove it): without it every raise
// scanned the open alerts of the window.
const groupLookup = `SELECT id FROM alerts WHERE group_key = ? AND group_key != '' AND status != 'closed' AND time >= ? AND first_seen <= ? ORDER BY time DESC LIMIT 1`

func setTags(ctx context.Context, tx *sql.Tx, id int64, tags []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM alert_tags WHERE alert_id = ?`, id); err != nil {
		return err
	}
	return insertTags(ctx, tx, id, tags)
}

// insertTags adds an alert's tags in one statement (a new alert's four or
// five tags were as many statements, a sixth of the cost of raising it).
func insertTags(ctx context.Context, tx *sql.Tx, id int64, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString(`INSERT OR IGNORE INTO alert_tags (alert_id, tag) VALUES `)
	args := make([]any, 0, 2*len(tags))
	for i, t := range tags {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?)")
		args = append(args, id, strings.ToLower(t))
	}
	_, err := tx.ExecContext(ctx, q.String(), args...)
	return err
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

// LevelRank orders levels: 0 for informational up to 4 for critical, -1
// for an unknown level.
func LevelRank(l string) int {
	for i, x := range Levels {
		if x == l {
			return i
		}
	}
	return -1
}

// Filter selects alerts. Zero fields match everything.
type Filter struct {
	IDs []int64
	// Since and Until bound the time the activity was last seen.
	Since, Until time.Time
	// CreatedSince and CreatedUntil bound the time the alert was raised
	// (a historical import raises today alerts about last month).
	CreatedSince, CreatedUntil time.Time
	RuleID                     string
	Levels                     []string // any of these levels
	MinLevel                   string   // this level or more severe
	Statuses                   []string // any of these statuses ("open": new or in_progress)
	Kind                       string
	Tag                        string // exact tag or prefix ending in "*" (e.g. "attack.t1110*")
	// Assignee: a user name, or "none" for unassigned alerts.
	Assignee    string
	Disposition string
	// Entity matches alerts whose group-by or key fields hold this value.
	Entity string
	// Text matches the rule title (case-insensitive substring).
	Text string
	// Order: "time" (last seen, newest first; default), "created" (newest
	// raised first) or "level" (most severe first, then newest).
	Order string
	// After continues a listing after the cursor of its last page.
	After string
	Limit int
}

var (
	errLevel = errors.New("want informational, low, medium, high or critical")
)

func checkLevel(l string) error {
	if LevelRank(l) < 0 {
		return fmt.Errorf("unknown level %q: %w", l, errLevel)
	}
	return nil
}

// where builds the WHERE clause of a filter (without the cursor).
func (f Filter) where() ([]string, []any, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) { where, args = append(where, cond), append(args, a...) }
	if len(f.IDs) > 0 {
		ph := strings.Repeat(",?", len(f.IDs))[1:]
		var a []any
		for _, id := range f.IDs {
			a = append(a, id)
		}
		add("a.id IN ("+ph+")", a...)
	}
	for _, p := range []struct {
		t    time.Time
		cond string
	}{{f.Since, "a.time >= ?"}, {f.Until, "a.time < ?"}, {f.CreatedSince, "a.created >= ?"}, {f.CreatedUntil, "a.created < ?"}} {
		if !p.t.IsZero() {
			add(p.cond, p.t.UnixNano())
		}
	}
	if f.RuleID != "" {
		add("a.rule_id = ?", f.RuleID)
	}
	if len(f.Statuses) > 0 {
		var st []any
		for _, s := range f.Statuses {
			switch s {
			case "open":
				st = append(st, "new", "in_progress")
			case "acknowledged": // the name before triage had statuses
				st = append(st, "in_progress")
			default:
				if !contains(Statuses, s) {
					return nil, nil, fmt.Errorf("unknown status %q: want new, in_progress, closed or open", s)
				}
				st = append(st, s)
			}
		}
		add("a.status IN ("+strings.Repeat(",?", len(st))[1:]+")", st...)
	}
	if f.Kind != "" {
		add("a.kind = ?", f.Kind)
	}
	if f.Assignee == "none" {
		add("a.assignee = ''")
	} else if f.Assignee != "" {
		add("a.assignee = ?", f.Assignee)
	}
	if f.Disposition != "" {
		if !contains(Dispositions, f.Disposition) {
			return nil, nil, fmt.Errorf("unknown disposition %q: want %s", f.Disposition, strings.Join(Dispositions, ", "))
		}
		add("a.disposition = ?", f.Disposition)
	}
	var levels []any
	for _, l := range f.Levels {
		if err := checkLevel(l); err != nil {
			return nil, nil, err
		}
		levels = append(levels, l)
	}
	if f.MinLevel != "" {
		if err := checkLevel(f.MinLevel); err != nil {
			return nil, nil, err
		}
		var lv []any
		for _, l := range Levels[LevelRank(f.MinLevel):] {
			lv = append(lv, l)
		}
		add("a.level IN ("+strings.Repeat(",?", len(lv))[1:]+")", lv...)
	}
	if len(levels) > 0 {
		add("a.level IN ("+strings.Repeat(",?", len(levels))[1:]+")", levels...)
	}
	if f.Tag != "" {
		t := strings.ToLower(f.Tag)
		if p, ok := strings.CutSuffix(t, "*"); ok {
			add("EXISTS (SELECT 1 FROM alert_tags t WHERE t.alert_id = a.id AND t.tag >= ? AND t.tag < ?)", p, p+"\uffff")
		} else {
			add("EXISTS (SELECT 1 FROM alert_tags t WHERE t.alert_id = a.id AND t.tag = ?)", t)
		}
	}
	if f.Entity != "" {
		add("(EXISTS (SELECT 1 FROM json_each(a.group_by) j WHERE j.value = ?) OR EXISTS (SELECT 1 FROM json_each(a.fields) j WHERE j.value = ?))", f.Entity, f.Entity)
	}
	if f.Text != "" {
		add("instr(lower(a.rule_title), ?) > 0", strings.ToLower(f.Text))
	}
	return where, args, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

const alertColumns = `a.id, a.key, a.kind, a.rule_id, a.rule_title, a.level, a.tags, a.time, a.created, a.event_ids, a.group_by, a.fields, a.status,
	a.analyst_tags, a.first_seen, a.updated, a.count, a.value, a.group_key, a.assignee, a.disposition, a.reason, a.acknowledged, a.closed`

// MaxLimit is the largest page List returns; page further with Next.
const MaxLimit = 10000

// List returns matching alerts in the filter's order, and the cursor of
// the next page ("" when this page is the last).
func (s *Store) List(ctx context.Context, f Filter) ([]Alert, error) {
	as, _, err := s.Page(ctx, f)
	return as, err
}

// Page is List with the cursor of the next page.
func (s *Store) Page(ctx context.Context, f Filter) ([]Alert, string, error) {
	where, args, err := f.where()
	if err != nil {
		return nil, "", err
	}
	order, col := "a.time DESC, a.id DESC", "a.time"
	switch f.Order {
	case "", "time":
	case "created":
		order, col = "a.created DESC, a.id DESC", "a.created"
	case "level":
		order, col = "CASE a.level WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END DESC, a.time DESC, a.id DESC", ""
	default:
		return nil, "", fmt.Errorf("unknown order %q: want time, created or level", f.Order)
	}
	offset := 0
	if f.After != "" {
		var t, id int64
		if col != "" {
			if _, err := fmt.Sscanf(f.After, "%d.%d", &t, &id); err != nil {
				return nil, "", fmt.Errorf("invalid cursor %q", f.After)
			}
			where, args = append(where, "("+col+" < ? OR ("+col+" = ? AND a.id < ?))"), append(args, t, t, id)
		} else if _, err := fmt.Sscanf(f.After, "o%d", &offset); err != nil || offset < 0 {
			return nil, "", fmt.Errorf("invalid cursor %q", f.After)
		}
	}
	q := `SELECT ` + alertColumns + ` FROM alerts a`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	limit = min(limit, MaxLimit)
	q += fmt.Sprintf(" ORDER BY %s LIMIT %d OFFSET %d", order, limit+1, offset)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		a, err := scan(rows)
		if err != nil {
			return nil, "", err
		}
		s.withLive(&a)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[len(out)-1]
		switch col {
		case "a.time":
			next = fmt.Sprintf("%d.%d", last.Time.UnixNano(), last.ID)
		case "a.created":
			next = fmt.Sprintf("%d.%d", last.Created.UnixNano(), last.ID)
		default:
			next = fmt.Sprintf("o%d", offset+limit)
		}
	}
	return out, next, nil
}

// Count returns how many alerts match a filter.
func (s *Store) Count(ctx context.Context, f Filter) (int, error) {
	where, args, err := f.where()
	if err != nil {
		return 0, err
	}
	q := `SELECT COUNT(*) FROM alerts a`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	var n int
	err = s.db.QueryRowContext(ctx, q, args...).Scan(&n)
	return n, err
}

type scanner interface{ Scan(...any) error }

func scan(r scanner) (Alert, error) {
	var a Alert
	var tags, ids, gb, fields, atags string
	var t, c, first, upd, ack, closed int64
	if err := r.Scan(&a.ID, &a.Key, &a.Kind, &a.RuleID, &a.RuleTitle, &a.Level, &tags, &t, &c, &ids, &gb, &fields, &a.Status,
		&atags, &first, &upd, &a.Count, &a.Value, &a.GroupKey, &a.Assignee, &a.Disposition, &a.Reason, &ack, &closed); err != nil {
		return a, err
	}
	a.Time, a.Created, a.FirstSeen, a.Updated = time.Unix(0, t).UTC(), time.Unix(0, c).UTC(), time.Unix(0, first).UTC(), time.Unix(0, upd).UTC()
	if ack != 0 {
		at := time.Unix(0, ack).UTC()
		a.AcknowledgedAt = &at
	}
	if closed != 0 {
		ct := time.Unix(0, closed).UTC()
		a.ClosedAt = &ct
	}
	for _, p := range []struct {
		s string
		v any
	}{{tags, &a.Tags}, {ids, &a.EventIDs}, {gb, &a.GroupBy}, {fields, &a.Fields}, {atags, &a.AnalystTags}} {
		if err := json.Unmarshal([]byte(p.s), p.v); err != nil {
			return a, fmt.Errorf("alert %d: %w", a.ID, err)
		}
	}
	a.Tags = union(a.Tags, a.AnalystTags)
	return a, nil
}

// union is a followed by the elements of b not in a.
func union(a, b []string) []string {
	out := append([]string{}, a...)
	for _, x := range b {
		if !contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// ErrNotFound is returned for an unknown alert id.
var ErrNotFound = apierr.NotFound("alert not found")

// Get returns one alert with its notes.
func (s *Store) Get(ctx context.Context, id int64) (Alert, error) {
	a, err := get(ctx, s.db, id)
	if err != nil {
		return a, err
	}
	s.withLive(&a)
	a.Notes, err = s.notes(ctx, id)
	return a, err
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func get(ctx context.Context, q querier, id int64) (Alert, error) {
	a, err := scan(q.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts a WHERE a.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("alert %d: %w", id, ErrNotFound)
	}
	return a, err
}

func getTx(ctx context.Context, tx *sql.Tx, id int64) (Alert, error) { return get(ctx, tx, id) }

func (s *Store) notes(ctx context.Context, id int64) ([]Note, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, time, author, text FROM alert_notes WHERE alert_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Note
	for rows.Next() {
		var n Note
		var t int64
		if err := rows.Scan(&n.ID, &t, &n.Author, &n.Text); err != nil {
			return nil, err
		}
		n.Time = time.Unix(0, t).UTC()
		out = append(out, n)
	}
	return out, rows.Err()
}

// Sorted returns the keys of m in order (for deterministic output).
func Sorted(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
