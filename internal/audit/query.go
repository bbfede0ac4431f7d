package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Filter selects records. Zero fields select everything.
type Filter struct {
	Since, Until time.Time
	// Actor is a user or token name, exact.
	Actor string
	// Action is exact, or a prefix ending in "*" ("auth.*").
	Action  string
	Outcome string
	Target  string
	// AfterSeq and BeforeSeq bound the sequence numbers (paging).
	AfterSeq, BeforeSeq int64
	// Limit bounds the records returned (0: no limit).
	Limit int
	// Descending returns the newest first.
	Descending bool
}

func (f Filter) where() (string, []any) {
	var conds []string
	var args []any
	if !f.Since.IsZero() {
		conds, args = append(conds, "time >= ?"), append(args, f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		conds, args = append(conds, "time < ?"), append(args, f.Until.UnixNano())
	}
	if f.Actor != "" {
		conds, args = append(conds, "actor = ?"), append(args, f.Actor)
	}
	if p, ok := strings.CutSuffix(f.Action, "*"); ok {
		conds, args = append(conds, "substr(action, 1, ?) = ?"), append(args, len(p), p)
	} else if f.Action != "" {
		conds, args = append(conds, "action = ?"), append(args, f.Action)
	}
	if f.Outcome != "" {
		conds, args = append(conds, "outcome = ?"), append(args, f.Outcome)
	}
	if f.Target != "" {
		conds, args = append(conds, "target = ?"), append(args, f.Target)
	}
	if f.AfterSeq > 0 {
		conds, args = append(conds, "seq > ?"), append(args, f.AfterSeq)
	}
	if f.BeforeSeq > 0 {
		conds, args = append(conds, "seq < ?"), append(args, f.BeforeSeq)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

const columns = `seq, time, actor, actor_kind, actor_id, roles, client_addr, action, target, outcome, details, prev_hash, hash`

func scan(rows *sql.Rows) (Record, error) {
	var r Record
	var ns int64
	var roles, details string
	if err := rows.Scan(&r.Seq, &ns, &r.Actor, &r.ActorKind, &r.ActorID, &roles, &r.ClientAddr, &r.Action, &r.Target,
		&r.Outcome, &details, &r.PrevHash, &r.Hash); err != nil {
		return r, err
	}
	r.Time = time.Unix(0, ns).UTC()
	if err := json.Unmarshal([]byte(roles), &r.Roles); err != nil {
		r.Roles = []string{roles} // verification will say the record is wrong
	}
	if details != "" {
		r.Details = json.RawMessage(details)
	}
	return r, nil
}

// Each calls fn with every record matching f, oldest first (newest first
// with f.Descending).
func Each(ctx context.Context, d *sql.DB, f Filter, fn func(Record) error) error {
	where, args := f.where()
	q := `SELECT ` + columns + ` FROM audit_log` + where + ` ORDER BY seq`
	if f.Descending {
		q += ` DESC`
	}
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := d.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("audit: query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return fmt.Errorf("audit: read: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Each calls fn with the records matching f.
func (t *Trail) Each(ctx context.Context, f Filter, fn func(Record) error) error {
	return Each(ctx, t.db, f, fn)
}

// List returns the records matching f.
func (t *Trail) List(ctx context.Context, f Filter) ([]Record, error) {
	out := []Record{}
	err := t.Each(ctx, f, func(r Record) error { out = append(out, r); return nil })
	return out, err
}

// Verification is the result of walking the chain.
type Verification struct {
	OK      bool  `json:"ok"`
	Records int64 `json:"records"`
	// FirstSeq and LastSeq bound the records walked; HeadHash is the hash
	// of the last one (note it down: a later verification that still
	// reaches it proves nothing before it was changed).
	FirstSeq int64  `json:"first_seq"`
	LastSeq  int64  `json:"last_seq"`
	HeadHash string `json:"head_hash"`
	// Pruned counts records removed by retention before FirstSeq.
	Pruned int64 `json:"pruned"`
	// BrokenAt is the first record that does not verify, and Problem says
	// why.
	BrokenAt int64  `json:"broken_at,omitempty"`
	Problem  string `json:"problem,omitempty"`
	// ExpectedFound is set when Verify was asked about a head noted
	// earlier: whether that record is still in the chain with that hash.
	ExpectedFound *bool `json:"expected_found,omitempty"`
}

// Verify walks the whole chain in d and reports the first record whose
// hash, sequence or link to its predecessor is wrong. expectSeq and
// expectHash, when set, name a head noted earlier that must still be
// there.
func Verify(ctx context.Context, d *sql.DB, expectSeq int64, expectHash string) (Verification, error) {
	v := Verification{OK: true}
	prev := genesis
	var anchorSeq int64
	err := d.QueryRowContext(ctx, `SELECT seq, prev_hash FROM audit_anchor ORDER BY seq DESC LIMIT 1`).Scan(&anchorSeq, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		if strings.Contains(err.Error(), "no such table") {
			return v, errors.New("audit: this database has no audit trail")
		}
		return v, fmt.Errorf("audit: read anchors: %w", err)
	}
	if anchorSeq > 0 {
		if err := d.QueryRowContext(ctx, `SELECT COALESCE(SUM(pruned), 0) FROM audit_anchor`).Scan(&v.Pruned); err != nil {
			return v, fmt.Errorf("audit: read anchors: %w", err)
		}
	}
	next := anchorSeq
	if next == 0 {
		next = 1
	}
	found := false
	fail := func(seq int64, problem string) error {
		v.OK, v.BrokenAt, v.Problem = false, seq, problem
		return errStop
	}
	err = Each(ctx, d, Filter{}, func(r Record) error {
		if v.Records == 0 {
			v.FirstSeq = r.Seq
		}
		switch {
		case r.Seq != next:
			if r.Seq < next {
				return fail(r.Seq, fmt.Sprintf("record %d is older than the retention anchor %d: records were put back", r.Seq, next))
			}
			return fail(next, fmt.Sprintf("records %d to %d are missing", next, r.Seq-1))
		case r.PrevHash != prev:
			return fail(r.Seq, "the link to the previous record is wrong: a record before it was changed or removed")
		case r.computeHash() != r.Hash:
			return fail(r.Seq, "the record's content does not match its hash: it was changed")
		}
		if expectSeq == r.Seq && expectHash == r.Hash {
			found = true
		}
		v.Records++
		v.LastSeq, v.HeadHash = r.Seq, r.Hash
		prev, next = r.Hash, r.Seq+1
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return v, err
	}
	if expectSeq > 0 || expectHash != "" {
		v.ExpectedFound = &found
		if !found && v.OK {
			v.OK, v.BrokenAt = false, expectSeq
			v.Problem = fmt.Sprintf("the head noted earlier (record %d, %s) is not in the chain: the trail was rewritten or cut", expectSeq, expectHash)
		}
	}
	return v, nil
}

var errStop = errors.New("stop")

// Verify walks the trail's chain.
func (t *Trail) Verify(ctx context.Context, expectSeq int64, expectHash string) (Verification, error) {
	return Verify(ctx, t.db, expectSeq, expectHash)
}

// Prune removes the records older than before, from the start of the
// chain, leaves an anchor for the first record kept, and records the
// prune. The newest record is always kept.
func (t *Trail) Prune(ctx context.Context, before time.Time) (int64, error) {
	t.mu.Lock()
	var keep int64
	err := t.db.QueryRowContext(ctx, `SELECT COALESCE(MIN(seq), 0) FROM audit_log WHERE time >= ?`, before.UnixNano()).Scan(&keep)
	if err == nil && keep == 0 {
		keep = t.seq // everything is older: keep the last one
	}
	var n int64
	if err == nil && keep > 0 {
		n, err = t.pruneBefore(ctx, keep)
	}
	t.mu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("audit: prune: %w", err)
	}
	if n > 0 {
		return n, t.Record(System(ctx), Entry{Action: "audit.prune", Target: fmt.Sprint(keep),
			Details: map[string]any{"removed": n, "before": before.UTC().Format(time.RFC3339)}})
	}
	return 0, nil
}

func (t *Trail) pruneBefore(ctx context.Context, keep int64) (int64, error) {
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var prev string
	if err := tx.QueryRowContext(ctx, `SELECT prev_hash FROM audit_log WHERE seq = ?`, keep).Scan(&prev); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM audit_log WHERE seq < ?`, keep)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		return 0, nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_anchor (seq, prev_hash, pruned, time) VALUES (?, ?, ?, ?)`,
		keep, prev, n, t.now().UnixNano()); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// RunRetention prunes records older than retention once at start and then
// daily, until ctx ends.
func (t *Trail) RunRetention(ctx context.Context, retention time.Duration, onErr func(error)) {
	tick := time.NewTicker(24 * time.Hour)
	defer tick.Stop()
	for {
		if _, err := t.Prune(ctx, t.now().Add(-retention)); err != nil && onErr != nil && ctx.Err() == nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
