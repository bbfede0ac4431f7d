// Package audit is the trail of Vigil's own use: who signed in, searched,
// exported, read a patient, revealed PHI, changed an alert, a user, a
// token, a rule or the configuration, from where, when, and with what
// outcome.
//
// Records are append-only and hash-chained: each carries the SHA-256 of
// its own content and of the record before it, so an edit or a deletion
// in the middle breaks the chain, and Verify (vigil audit verify) finds
// the first broken record. Records older than the retention are pruned
// from the start of the chain only; each prune leaves an anchor (the hash
// the new first record must follow) so the rest still verifies.
//
// Feature packages record with Record(ctx, Entry); the actor, its roles
// and the client address come from the request context (access.PrincipalFrom,
// access.ClientAddrFrom). They depend on the small Recorder interface so
// their tests can pass a real Trail on a temporary SQLite database.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/db"
)

// Outcomes of an audited action.
const (
	Success = "success"
	Failure = "failure" // attempted and failed (wrong password, bad input)
	Denied  = "denied"  // refused for want of authentication or permission
)

// Entry is what a feature records. Actor, roles, client address and time
// are filled in from the context and the clock.
type Entry struct {
	// Action is "<area>.<verb>": auth.login, events.search, alert.status,
	// patient.read, phi.reveal, user.create, token.revoke, rules.reload …
	// (docs/access.md lists them).
	Action string
	// Target is what the action was on: an alert id, a patient id, a user
	// or token name, a route.
	Target string
	// Outcome is Success, Failure or Denied (empty: Success).
	Outcome string
	// Details are action-specific facts: the query text, time range and
	// result count of a search, the reason of a reveal, the old and new
	// status of an alert. Never passwords or tokens.
	Details map[string]any
	// Actor names the claimed identity when the context carries no
	// principal (a failed login records the user name tried).
	Actor string
}

// Recorder is what feature packages depend on.
type Recorder interface {
	Record(ctx context.Context, e Entry) error
}

// Record is one stored audit record.
type Record struct {
	Seq        int64           `json:"seq"`
	Time       time.Time       `json:"time"`
	Actor      string          `json:"actor"`
	ActorKind  string          `json:"actor_kind"` // user, token, anonymous, system
	ActorID    int64           `json:"actor_id,omitempty"`
	Roles      []string        `json:"roles"`
	ClientAddr string          `json:"client_addr,omitempty"`
	Action     string          `json:"action"`
	Target     string          `json:"target,omitempty"`
	Outcome    string          `json:"outcome"`
	Details    json.RawMessage `json:"details,omitempty"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
}

var migrations = []string{`
CREATE TABLE audit_log (
	seq         INTEGER PRIMARY KEY,
	time        INTEGER NOT NULL,
	actor       TEXT NOT NULL,
	actor_kind  TEXT NOT NULL,
	actor_id    INTEGER NOT NULL,
	roles       TEXT NOT NULL,
	client_addr TEXT NOT NULL,
	action      TEXT NOT NULL,
	target      TEXT NOT NULL,
	outcome     TEXT NOT NULL,
	details     TEXT NOT NULL,
	prev_hash   TEXT NOT NULL,
	hash        TEXT NOT NULL
);
CREATE INDEX audit_log_time ON audit_log (time);
CREATE INDEX audit_log_actor ON audit_log (actor, time);
CREATE INDEX audit_log_action ON audit_log (action, time);
CREATE TABLE audit_anchor (
	seq       INTEGER PRIMARY KEY, -- first record kept by a prune
	prev_hash TEXT NOT NULL,       -- the hash that record follows
	pruned    INTEGER NOT NULL,    -- how many records the prune removed
	time      INTEGER NOT NULL
);`}

// genesis is the previous hash of the first record ever written.
var genesis = strings.Repeat("0", 64)

// Trail is the audit trail in the control-plane database. It is the only
// writer of its tables.
type Trail struct {
	db  *sql.DB
	now func() time.Time

	mu   sync.Mutex // orders appends: seq and prev_hash
	seq  int64
	head string
}

// Open prepares the trail's tables in d.
func Open(ctx context.Context, d *sql.DB) (*Trail, error) {
	if err := db.Migrate(ctx, d, "audit", migrations); err != nil {
		return nil, err
	}
	t := &Trail{db: d, now: time.Now}
	err := d.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&t.seq, &t.head)
	if errors.Is(err, sql.ErrNoRows) {
		t.seq, t.head = 0, genesis
		// A trail whose records were all pruned continues from its anchor.
		var seq int64
		var prev string
		if err := d.QueryRowContext(ctx, `SELECT seq, prev_hash FROM audit_anchor ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev); err == nil {
			t.seq, t.head = seq-1, prev
		}
	} else if err != nil {
		return nil, fmt.Errorf("audit: read the chain head: %w", err)
	}
	return t, nil
}

// SetClock replaces the clock (tests).
func (t *Trail) SetClock(now func() time.Time) { t.now = now }

// Head returns the sequence number and hash of the last record.
func (t *Trail) Head() (int64, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.seq, t.head
}

// Record appends an entry for the principal and client address of ctx.
func (t *Trail) Record(ctx context.Context, e Entry) error {
	r := Record{Action: e.Action, Target: e.Target, Outcome: e.Outcome, ClientAddr: access.ClientAddrFrom(ctx)}
	if r.Outcome == "" {
		r.Outcome = Success
	}
	if r.Action == "" {
		return errors.New("BUG: audit entry without an action")
	}
	switch p := access.PrincipalFrom(ctx); {
	case p != nil:
		r.Actor, r.ActorKind, r.ActorID, r.Roles = p.Name, string(p.Kind), p.ID, p.Roles
		if p.Session != nil {
			if e.Details == nil {
				e.Details = map[string]any{}
			}
			if _, ok := e.Details["session"]; !ok {
				e.Details["session"] = p.Session.ID
			}
		}
	case e.Actor != "":
		r.Actor, r.ActorKind = e.Actor, "anonymous"
	case IsSystem(ctx):
		r.Actor, r.ActorKind = "vigil", "system"
	default:
		r.Actor, r.ActorKind = "", "anonymous"
	}
	if r.Roles == nil {
		r.Roles = []string{}
	}
	if len(e.Details) > 0 {
		d, err := json.Marshal(e.Details) // map keys sorted: a canonical form
		if err != nil {
			return fmt.Errorf("audit: details of %s: %w", e.Action, err)
		}
		r.Details = d
	}
	markRecorded(ctx)

	t.mu.Lock()
	defer t.mu.Unlock()
	r.Time = t.now().UTC()
	r.Seq, r.PrevHash = t.seq+1, t.head
	r.Hash = r.computeHash()
	roles, _ := json.Marshal(r.Roles)
	// The record is written even when the request was cancelled: what
	// happened must be on record.
	_, err := t.db.ExecContext(context.WithoutCancel(ctx), `INSERT INTO audit_log
		(seq, time, actor, actor_kind, actor_id, roles, client_addr, action, target, outcome, details, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Seq, r.Time.UnixNano(), r.Actor, r.ActorKind, r.ActorID, string(roles), r.ClientAddr, r.Action, r.Target,
		r.Outcome, string(r.Details), r.PrevHash, r.Hash)
	if err != nil {
		return fmt.Errorf("audit: append %s: %w", e.Action, err)
	}
	t.seq, t.head = r.Seq, r.Hash
	return nil
}

// computeHash is the SHA-256, in hex, of the record's content and the
// previous record's hash. Every stored column but hash takes part.
func (r *Record) computeHash() string {
	h := sha256.New()
	roles, _ := json.Marshal(r.Roles)
	for _, part := range []string{
		"vigil-audit-v1", r.PrevHash, strconv.FormatInt(r.Seq, 10), strconv.FormatInt(r.Time.UnixNano(), 10),
		r.Actor, r.ActorKind, strconv.FormatInt(r.ActorID, 10), string(roles), r.ClientAddr,
		r.Action, r.Target, r.Outcome, string(r.Details),
	} {
		// Length-prefixed, so no two records share an encoding.
		h.Write([]byte(strconv.Itoa(len(part))))
		h.Write([]byte{':'})
		h.Write([]byte(part))
	}
	return hex.EncodeToString(h.Sum(nil))
}

type systemKey struct{}

// System marks ctx as Vigil's own doing (retention, start-up), for records
// made outside any request.
func System(ctx context.Context) context.Context { return context.WithValue(ctx, systemKey{}, true) }

// IsSystem reports whether ctx was marked with System.
func IsSystem(ctx context.Context) bool { v, _ := ctx.Value(systemKey{}).(bool); return v }

type trackKey struct{}

// Tracker tells the HTTP middleware whether a handler recorded its
// request itself.
type Tracker struct {
	mu       sync.Mutex
	recorded bool
}

// Recorded reports whether anything was recorded with the tracked context.
func (t *Tracker) Recorded() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.recorded
}

// Track returns ctx with a tracker that notes records made with it.
func Track(ctx context.Context) (context.Context, *Tracker) {
	t := &Tracker{}
	return context.WithValue(ctx, trackKey{}, t), t
}

// RecordedIn reports whether anything was recorded with ctx's tracker
// (see Track); false when ctx has none. A wrapper that records what its
// handler did not record itself asks this after the handler.
func RecordedIn(ctx context.Context) bool {
	t, ok := ctx.Value(trackKey{}).(*Tracker)
	return ok && t.Recorded()
}

func markRecorded(ctx context.Context) {
	if t, ok := ctx.Value(trackKey{}).(*Tracker); ok {
		t.mu.Lock()
		t.recorded = true
		t.mu.Unlock()
	}
}
