package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Patch is a triage change: any of its fields, nil when unchanged.
type Patch struct {
	Status      *string `json:"status,omitempty"`
	Assignee    *string `json:"assignee,omitempty"`
	Disposition *string `json:"disposition,omitempty"`
	Reason      *string `json:"reason,omitempty"`
	// Note adds a note.
	Note *string `json:"note,omitempty"`
	// Tags replaces the analysts' tags; AddTags and RemoveTags change
	// them one by one (for bulk changes).
	Tags       *[]string `json:"tags,omitempty"`
	AddTags    []string  `json:"add_tags,omitempty"`
	RemoveTags []string  `json:"remove_tags,omitempty"`
}

// Empty reports whether the patch changes nothing.
func (p Patch) Empty() bool {
	return p.Status == nil && p.Assignee == nil && p.Disposition == nil && p.Reason == nil && p.Note == nil && p.Tags == nil &&
		len(p.AddTags) == 0 && len(p.RemoveTags) == 0
}

// Limits of triage input.
const (
	MaxNoteBytes   = 16 << 10
	MaxReasonBytes = 2000
	MaxNotes       = 1000
	MaxTags        = 32
	MaxTagBytes    = 64
)

// InputError is a triage change that cannot be made: Field names what was
// wrong. Conflict is set for a status change the lifecycle does not allow.
type InputError struct {
	Field    string
	Msg      string
	Conflict bool
}

func (e *InputError) Error() string { return e.Field + ": " + e.Msg }

// HTTPStatus answers a lifecycle conflict 409, other bad input 400.
func (e *InputError) HTTPStatus() int {
	if e.Conflict {
		return http.StatusConflict
	}
	return http.StatusBadRequest
}

func inputErr(field, format string, a ...any) error {
	return &InputError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// Users checks assignees: an alert can only be given to a user who
// exists and is enabled.
type Users interface {
	CheckAssignee(ctx context.Context, name string) error
}

// transitions are the status changes the lifecycle allows: new alerts are
// taken (in_progress) or closed at once; work in progress is closed;
// closed alerts are reopened into progress. Nothing goes back to new.
var transitions = map[string][]string{
	"new":         {"in_progress", "closed"},
	"in_progress": {"closed"},
	"closed":      {"in_progress"},
}

var tagRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._:/-]*$`)

// HistoryEntry is one change of one alert field.
type HistoryEntry struct {
	ID      int64     `json:"id"`
	AlertID int64     `json:"alert_id"`
	Time    time.Time `json:"time"`
	Actor   string    `json:"actor"`
	Field   string    `json:"field"`
	Old     string    `json:"old"`
	New     string    `json:"new"`
}

// Update applies a triage change by actor and returns the alert after it
// and the changes made (nothing for a patch that changes nothing).
func (s *Store) Update(ctx context.Context, id int64, p Patch, actor string, users Users) (Alert, []HistoryEntry, error) {
	if err := p.validate(ctx, users); err != nil {
		return Alert{}, nil, err
	}
	s.write.Lock()
	defer s.write.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Alert{}, nil, err
	}
	defer tx.Rollback()
	if c := s.open[id]; c != nil && c.dirty {
		// Its burst's size is held in memory: the change starts from it.
		a := c.a
		if err := saveRaise(ctx, tx, &a, s.opt.Now().UTC()); err != nil {
			return Alert{}, nil, err
		}
		if err := saveKeys[bool](ctx, tx, c.keys, nil); err != nil {
			return Alert{}, nil, err
		}
	}
	before, err := getTx(ctx, tx, id)
	if err != nil {
		return Alert{}, nil, err
	}
	var ruleTagsJSON string
	if err := tx.QueryRowContext(ctx, `SELECT tags FROM alerts WHERE id = ?`, id).Scan(&ruleTagsJSON); err != nil {
		return Alert{}, nil, err
	}
	a := before
	now := s.opt.Now().UTC()
	var hist []HistoryEntry
	change := func(field, old, new string) {
		if old != new {
			hist = append(hist, HistoryEntry{AlertID: id, Time: now, Actor: actor, Field: field, Old: old, New: new})
		}
	}
	status := a.Status
	if p.Status != nil {
		status = *p.Status
	}
	if status != a.Status {
		if !contains(transitions[a.Status], status) {
			return Alert{}, nil, &InputError{Field: "status", Conflict: true,
				Msg: fmt.Sprintf("cannot go from %s to %s: from %s an alert goes to %s", a.Status, status, a.Status, strings.Join(transitions[a.Status], " or "))}
		}
	}
	disposition, reason := a.Disposition, a.Reason
	if p.Disposition != nil {
		disposition = *p.Disposition
	}
	if p.Reason != nil {
		reason = strings.TrimSpace(*p.Reason)
	}
	switch {
	case status == "closed" && a.Status != "closed":
		if p.Disposition == nil || disposition == "" {
			return Alert{}, nil, inputErr("disposition", "closing needs a disposition: one of %s", strings.Join(Dispositions, ", "))
		}
		if reason == "" || p.Reason == nil {
			return Alert{}, nil, inputErr("reason", "closing needs a reason")
		}
		a.ClosedAt = &now
	case status == "closed":
		// Amending the disposition or reason of a closed alert.
		if disposition == "" || reason == "" {
			return Alert{}, nil, inputErr("disposition", "a closed alert keeps a disposition and a reason")
		}
	case a.Status == "closed": // reopened
		if (p.Disposition != nil && *p.Disposition != "") || (p.Reason != nil && *p.Reason != "") {
			return Alert{}, nil, inputErr("disposition", "a reopened alert has no disposition; give the reason for reopening in a note")
		}
		disposition, reason, a.ClosedAt = "", "", nil
	default:
		if p.Disposition != nil || p.Reason != nil {
			return Alert{}, nil, inputErr("disposition", "a disposition and reason are given when closing: send status closed with them")
		}
	}
	change("status", a.Status, status)
	change("disposition", a.Disposition, disposition)
	change("reason", a.Reason, reason)
	a.Status, a.Disposition, a.Reason = status, disposition, reason
	if p.Assignee != nil {
		change("assignee", a.Assignee, *p.Assignee)
		a.Assignee = *p.Assignee
	}
	if a.AcknowledgedAt == nil && (a.Status != "new" || a.Assignee != "") {
		a.AcknowledgedAt = &now
	}
	tags := append([]string{}, a.AnalystTags...)
	if p.Tags != nil {
		tags = normTags(*p.Tags)
	}
	for _, t := range normTags(p.AddTags) {
		if !contains(tags, t) {
			tags = append(tags, t)
		}
	}
	for _, t := range normTags(p.RemoveTags) {
		for i := 0; i < len(tags); i++ {
			if tags[i] == t {
				tags = append(tags[:i], tags[i+1:]...)
				i--
			}
		}
	}
	if len(tags) > MaxTags {
		return Alert{}, nil, inputErr("tags", "%d tags: at most %d", len(tags), MaxTags)
	}
	change("tags", strings.Join(a.AnalystTags, ","), strings.Join(tags, ","))
	a.AnalystTags = nonNil(tags)
	if p.Note != nil {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM alert_notes WHERE alert_id = ?`, id).Scan(&n); err != nil {
			return Alert{}, nil, err
		}
		if n >= MaxNotes {
			return Alert{}, nil, inputErr("note", "the alert has %d notes already, the most it keeps", n)
		}
		text := strings.TrimSpace(*p.Note)
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_notes (alert_id, time, author, text) VALUES (?, ?, ?, ?)`, id, now.UnixNano(), actor, text); err != nil {
			return Alert{}, nil, err
		}
		change("note", "", text)
	}
	if len(hist) == 0 {
		a, err := s.Get(ctx, id)
		return a, nil, err
	}
	a.Updated = now
	if _, err := tx.ExecContext(ctx, `UPDATE alerts SET status = ?, assignee = ?, disposition = ?, reason = ?, analyst_tags = ?, acknowledged = ?, closed = ?, updated = ? WHERE id = ?`,
		a.Status, a.Assignee, a.Disposition, a.Reason, mustJSON(a.AnalystTags), nanos(a.AcknowledgedAt), nanos(a.ClosedAt), now.UnixNano(), id); err != nil {
		return Alert{}, nil, err
	}
	var rt []string
	if err := json.Unmarshal([]byte(ruleTagsJSON), &rt); err != nil {
		return Alert{}, nil, err
	}
	if err := setTags(ctx, tx, id, union(rt, a.AnalystTags)); err != nil {
		return Alert{}, nil, err
	}
	for i, h := range hist {
		res, err := tx.ExecContext(ctx, `INSERT INTO alert_history (alert_id, time, actor, field, old, new) VALUES (?, ?, ?, ?, ?, ?)`,
			id, now.UnixNano(), actor, h.Field, h.Old, h.New)
		if err != nil {
			return Alert{}, nil, err
		}
		hist[i].ID, _ = res.LastInsertId()
	}
	if err := tx.Commit(); err != nil {
		return Alert{}, nil, err
	}
	s.dropCached(id) // raises read it from the table again
	after, err := s.Get(ctx, id)
	if err != nil {
		return Alert{}, nil, err
	}
	s.mu.Lock()
	hooks := s.triageHooks
	s.mu.Unlock()
	for _, h := range hooks {
		h(ctx, before, after)
	}
	return after, hist, nil
}

// OnTriage registers f to see each alert before and after a triage change
// (metrics).
func (s *Store) OnTriage(f func(ctx context.Context, before, after Alert)) {
	s.mu.Lock()
	s.triageHooks = append(s.triageHooks, f)
	s.mu.Unlock()
}

func nanos(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return t.UnixNano()
}

func normTags(in []string) []string {
	out := []string{}
	for _, t := range in {
		t = strings.ToLower(strings.TrimSpace(t))
		if t != "" && !contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func (p Patch) validate(ctx context.Context, users Users) error {
	if p.Empty() {
		return inputErr("body", "nothing to change: give any of status, assignee, disposition, reason, note, tags")
	}
	if p.Status != nil && !contains(Statuses, *p.Status) {
		return inputErr("status", "unknown status %q: want new, in_progress or closed", *p.Status)
	}
	if p.Disposition != nil && *p.Disposition != "" && !contains(Dispositions, *p.Disposition) {
		return inputErr("disposition", "unknown disposition %q: want %s", *p.Disposition, strings.Join(Dispositions, ", "))
	}
	if p.Reason != nil && len(*p.Reason) > MaxReasonBytes {
		return inputErr("reason", "%d bytes: at most %d", len(*p.Reason), MaxReasonBytes)
	}
	if p.Note != nil {
		switch n := *p.Note; {
		case len(n) > MaxNoteBytes:
			return inputErr("note", "%d bytes: at most %d; attach longer material to a case as evidence", len(n), MaxNoteBytes)
		case strings.TrimSpace(n) == "":
			return inputErr("note", "empty")
		case !utf8.ValidString(n):
			return inputErr("note", "not valid UTF-8")
		}
	}
	if p.Assignee != nil && *p.Assignee != "" {
		a := *p.Assignee
		if len(a) > 128 || strings.ContainsAny(a, "\x00\r\n") {
			return inputErr("assignee", "not a user name")
		}
		if users != nil {
			if err := users.CheckAssignee(ctx, a); err != nil {
				return inputErr("assignee", "%v", err)
			}
		}
	}
	var all []string
	if p.Tags != nil {
		all = append(all, *p.Tags...)
	}
	all = append(append(all, p.AddTags...), p.RemoveTags...)
	for _, t := range all {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		if len(t) > MaxTagBytes || !tagRE.MatchString(t) {
			return inputErr("tags", "tag %q: want at most %d characters of a-z, 0-9 and . _ : / -", t, MaxTagBytes)
		}
	}
	return nil
}

// History returns the changes of an alert, oldest first.
func (s *Store) History(ctx context.Context, id int64) ([]HistoryEntry, error) {
	if _, err := get(ctx, s.db, id); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, alert_id, time, actor, field, old, new FROM alert_history WHERE alert_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []HistoryEntry{}
	for rows.Next() {
		var h HistoryEntry
		var t int64
		if err := rows.Scan(&h.ID, &h.AlertID, &t, &h.Actor, &h.Field, &h.Old, &h.New); err != nil {
			return nil, err
		}
		h.Time = time.Unix(0, t).UTC()
		out = append(out, h)
	}
	return out, rows.Err()
}

// BulkResult is what a bulk change did.
type BulkResult struct {
	Matched int           `json:"matched"`
	Updated []int64       `json:"updated"`
	Failed  []BulkFailure `json:"failed"`
}

// BulkFailure is one alert a bulk change could not change.
type BulkFailure struct {
	ID    int64  `json:"id"`
	Error string `json:"error"`
}

// MaxBulk is the most alerts one bulk change touches.
const MaxBulk = 10000

// BulkUpdate applies one change to every alert of a filter (at most
// MaxBulk; more is refused so that nobody closes a month of alerts by a
// typo). Alerts the change does not fit (e.g. already closed) are listed
// as failed; the others are changed, each with its own history.
func (s *Store) BulkUpdate(ctx context.Context, f Filter, p Patch, actor string, users Users) (BulkResult, error) {
	if err := p.validate(ctx, users); err != nil {
		return BulkResult{}, err
	}
	n, err := s.Count(ctx, f)
	if err != nil {
		return BulkResult{}, err
	}
	if n > MaxBulk {
		return BulkResult{}, inputErr("filter", "matches %d alerts: at most %d at once; narrow the filter", n, MaxBulk)
	}
	f.Limit, f.After, f.Order = MaxBulk, "", ""
	as, err := s.List(ctx, f)
	if err != nil {
		return BulkResult{}, err
	}
	res := BulkResult{Matched: len(as), Updated: []int64{}, Failed: []BulkFailure{}}
	for _, a := range as {
		if _, _, err := s.Update(ctx, a.ID, p, actor, users); err != nil {
			var ie *InputError
			if !errors.As(err, &ie) && !errors.Is(err, ErrNotFound) {
				return res, err
			}
			res.Failed = append(res.Failed, BulkFailure{ID: a.ID, Error: err.Error()})
			continue
		}
		res.Updated = append(res.Updated, a.ID)
	}
	return res, nil
}

// SetStatus changes an alert's status (the API before triage; closing
// this way records the disposition not_evaluable).
func (s *Store) SetStatus(ctx context.Context, id int64, status, actor string) (Alert, error) {
	switch status {
	case "open":
		status = "new"
	case "acknowledged":
		status = "in_progress"
	}
	p := Patch{Status: &status}
	if status == "closed" {
		d, r := "not_evaluable", "closed through the status endpoint"
		p.Disposition, p.Reason = &d, &r
	}
	a, _, err := s.Update(ctx, id, p, actor, nil)
	return a, err
}
