package integrity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/store"
)

// KindUnsealed covers bus sequences stored before the ledger began (an
// instance that ran before sealing existed): their events cannot be
// verified, and verify says so instead of calling them added.
const KindUnsealed Kind = 4

var migrations = []string{`
CREATE TABLE entries (
	n        INTEGER PRIMARY KEY,
	seq      INTEGER NOT NULL,
	kind     INTEGER NOT NULL,
	source   TEXT NOT NULL,
	events   INTEGER NOT NULL,
	min_time INTEGER NOT NULL,
	max_time INTEGER NOT NULL,
	digest   BLOB NOT NULL,
	chain    BLOB NOT NULL,
	sealed   INTEGER NOT NULL,
	note     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX entries_seq ON entries (seq);
CREATE INDEX entries_max_time ON entries (max_time);
CREATE TABLE checkpoints (
	number    INTEGER PRIMARY KEY,
	n         INTEGER NOT NULL,
	time      INTEGER NOT NULL,
	body      BLOB NOT NULL,
	signature BLOB NOT NULL,
	timestamp_token BLOB
);
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);`, partsMigration}

// LedgerOptions configure a ledger.
type LedgerOptions struct {
	// RowTime is the time the store files an event under when added at
	// now (store.Embedded.RowTime); default: the event's own time.
	RowTime func(t, now time.Time) time.Time
	Now     func() time.Time
	Log     *slog.Logger
}

// Ledger is the chain of seals, in an SQLite file.
type Ledger struct {
	db   *sql.DB
	opts LedgerOptions

	mu      sync.Mutex
	head    Head
	pending map[uint64]*Entry
	// mismatches counts batches sealed again (after a restart) with a
	// different digest than their first seal.
	mismatches int
}

// Head is the end of the chain.
type Head struct {
	// N is the number of entries; Chain the last entry's chain hash.
	N     int64
	Chain Hash
	// Seq is the highest bus sequence covered.
	Seq uint64
	// Events is the number of sealed events still kept (batches minus
	// what reseals removed).
	Events int64
	// Batches counts KindBatch entries.
	Batches int64
}

// OpenLedger opens (creating if needed) the ledger at path.
func OpenLedger(ctx context.Context, path string, opts LedgerOptions) (*Ledger, error) {
	if opts.RowTime == nil {
		opts.RowTime = func(t, _ time.Time) time.Time { return t }
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	d, err := db.Open(path)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, d, "integrity", migrations); err != nil {
		d.Close()
		return nil, err
	}
	l := &Ledger{db: d, opts: opts, pending: map[uint64]*Entry{}}
	if err := l.loadHead(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return l, nil
}

// DB is the ledger's database (backups copy it).
func (l *Ledger) DB() *sql.DB { return l.db }

// Close closes the ledger.
func (l *Ledger) Close() error { return l.db.Close() }

func (l *Ledger) loadHead(ctx context.Context) error {
	var (
		n     sql.NullInt64
		chain []byte
	)
	err := l.db.QueryRowContext(ctx, `SELECT n, chain FROM entries ORDER BY n DESC LIMIT 1`).Scan(&n, &chain)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read ledger head: %w", err)
	}
	l.head.N = n.Int64
	copy(l.head.Chain[:], chain)
	var seq sql.NullInt64
	if err := l.db.QueryRowContext(ctx, `SELECT MAX(seq + CASE WHEN kind IN (2, 4) THEN events - 1 ELSE 0 END) FROM entries WHERE kind != 3`).Scan(&seq); err != nil {
		return fmt.Errorf("read ledger head: %w", err)
	}
	l.head.Seq = uint64(seq.Int64)
	// Events kept: each batch's latest seal counts.
	if err := l.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(events), 0), COUNT(*) FROM entries e WHERE kind = 0 AND NOT EXISTS (SELECT 1 FROM entries r WHERE r.seq = e.seq AND r.kind = 3)`).Scan(&l.head.Events, &l.head.Batches); err != nil {
		return fmt.Errorf("read ledger totals: %w", err)
	}
	var resealed int64
	if err := l.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(events), 0) FROM entries r WHERE kind = 3 AND n = (SELECT MAX(n) FROM entries x WHERE x.seq = r.seq AND x.kind = 3)`).Scan(&resealed); err != nil {
		return fmt.Errorf("read ledger totals: %w", err)
	}
	var resealedBatches int64
	if err := l.db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT seq) FROM entries WHERE kind = 3`).Scan(&resealedBatches); err != nil {
		return fmt.Errorf("read ledger totals: %w", err)
	}
	l.head.Events += resealed
	l.head.Batches += resealedBatches
	return nil
}

// Head returns the end of the committed chain.
func (l *Ledger) Head() Head {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.head
}

// Seal records batch seq with all of its events (their vigil.id set),
// before they are handed to the store. It is safe for concurrent use; the
// seal becomes durable at the next Commit that covers seq.
func (l *Ledger) Seal(seq uint64, source string, events []event.Event) {
	now := l.opts.Now()
	digests := make([]store.Digest, len(events))
	e := &Entry{Seq: seq, Kind: KindBatch, Source: source, Events: len(events)}
	for i := range events {
		digests[i] = store.EventDigest(&events[i])
		// The store may file an event under its arrival time instead; a
		// margin around now covers the moment it does.
		for _, at := range []time.Time{now.Add(-2 * time.Minute), now.Add(2 * time.Minute)} {
			t := l.opts.RowTime(events[i].Time, at)
			if e.MinTime.IsZero() || t.Before(e.MinTime) {
				e.MinTime = t
			}
			if t.After(e.MaxTime) {
				e.MaxTime = t
			}
		}
	}
	e.Digest = BatchDigest(seq, digests)
	l.addPending(e)
}

// SealCorrupt records batch seq that could not be decoded: nothing of it
// is stored.
func (l *Ledger) SealCorrupt(seq uint64, source string, data []byte) {
	now := l.opts.Now()
	l.addPending(&Entry{Seq: seq, Kind: KindCorrupt, Source: source, MinTime: now, MaxTime: now, Digest: CorruptDigest(seq, data)})
}

func (l *Ledger) addPending(e *Entry) {
	e.MinTime, e.MaxTime = e.MinTime.UTC(), e.MaxTime.UTC()
	l.mu.Lock()
	l.pending[e.Seq] = e
	l.mu.Unlock()
}

// Commit appends the seals of every batch up to seq to the chain, in
// sequence order, durably. The store writer calls it after the store made
// those batches durable and before its own checkpoint moves past them, so
// after a crash a batch is either sealed or delivered again. Sequences up
// to seq with no seal (stored before the ledger began) are recorded as
// one KindUnsealed entry.
func (l *Ledger) Commit(ctx context.Context, seq uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var batch []*Entry
	var again []*Entry
	for s, e := range l.pending {
		switch {
		case s <= l.head.Seq:
			again = append(again, e)
		case s <= seq:
			batch = append(batch, e)
		}
	}
	for _, e := range again {
		delete(l.pending, e.Seq)
		l.checkResealed(ctx, e)
	}
	if len(batch) == 0 && seq <= l.head.Seq {
		return nil
	}
	slices.SortFunc(batch, func(a, b *Entry) int { return compareSeq(a.Seq, b.Seq) })
	now := l.opts.Now().UTC()
	var entries []*Entry
	next := l.head.Seq + 1
	for _, e := range batch {
		if e.Seq > next {
			entries = append(entries, &Entry{Seq: next, Kind: KindUnsealed, Events: int(e.Seq - next), MinTime: now, MaxTime: now,
				Note: fmt.Sprintf("bus sequences %d to %d were stored before the ledger recorded them", next, e.Seq-1)})
		}
		entries = append(entries, e)
		next = e.Seq + 1
	}
	if next <= seq {
		entries = append(entries, &Entry{Seq: next, Kind: KindUnsealed, Events: int(seq - next + 1), MinTime: now, MaxTime: now,
			Note: fmt.Sprintf("bus sequences %d to %d were stored before the ledger recorded them", next, seq)})
	}
	for _, e := range entries {
		if e.Kind == KindUnsealed {
			l.opts.Log.Warn("ledger: batches stored without seals", "from", e.Seq, "to", e.Seq+uint64(e.Events)-1)
		}
	}
	head, err := l.append(ctx, entries, now)
	if err != nil {
		return err
	}
	for _, e := range batch {
		delete(l.pending, e.Seq)
	}
	l.head = head
	return nil
}

func compareSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// append writes entries after the head in one transaction and returns the
// new head. l.mu is held.
func (l *Ledger) append(ctx context.Context, entries []*Entry, now time.Time) (Head, error) {
	head := l.head
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return head, fmt.Errorf("ledger: %w", err)
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO entries (n, seq, kind, source, events, min_time, max_time, digest, chain, sealed, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return head, fmt.Errorf("ledger: %w", err)
	}
	defer ins.Close()
	for _, e := range entries {
		head.N++
		e.N = head.N
		e.Sealed = now
		e.Chain = Link(head.Chain, e)
		head.Chain = e.Chain
		switch e.Kind {
		case KindBatch:
			head.Batches++
			head.Events += int64(e.Events)
		case KindReseal:
			// The caller adjusts Events (it knows the previous seal).
		}
		if e.Kind != KindReseal {
			last := e.Seq
			if e.Kind == KindGap || e.Kind == KindUnsealed {
				last = e.Seq + uint64(e.Events) - 1
			}
			head.Seq = max(head.Seq, last)
		}
		if _, err := ins.ExecContext(ctx, e.N, int64(e.Seq), int(e.Kind), e.Source, e.Events, nanos(e.MinTime), nanos(e.MaxTime),
			e.Digest[:], e.Chain[:], now.UnixNano(), e.Note); err != nil {
			return l.head, fmt.Errorf("ledger: write entry %d: %w", e.N, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return l.head, fmt.Errorf("ledger: commit: %w", err)
	}
	return head, nil
}

// checkResealed compares a batch sealed again after a restart with its
// first seal; they must agree. l.mu is held.
func (l *Ledger) checkResealed(ctx context.Context, e *Entry) {
	var digest []byte
	err := l.db.QueryRowContext(ctx, `SELECT digest FROM entries WHERE seq = ? AND kind IN (0, 1) ORDER BY n LIMIT 1`, int64(e.Seq)).Scan(&digest)
	if err != nil {
		if !errors.Is(err, sql.ErrNoRows) {
			l.opts.Log.Error("ledger: read seal", "seq", e.Seq, "err", err)
		}
		return
	}
	if string(digest) != string(e.Digest[:]) {
		l.mismatches++
		l.opts.Log.Error("ledger: a batch delivered again does not match its seal", "seq", e.Seq)
	}
}

// Mismatches counts redelivered batches whose seal differed from the first.
func (l *Ledger) Mismatches() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mismatches
}

// RecordGap appends a KindGap entry for bus sequences from..to that will
// never be stored (see KindGap); a restore calls it.
func (l *Ledger) RecordGap(ctx context.Context, from, to uint64, note string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if to < from {
		return nil
	}
	now := l.opts.Now().UTC()
	head, err := l.append(ctx, []*Entry{{Seq: from, Kind: KindGap, Events: int(to - from + 1), MinTime: now, MaxTime: now, Note: note}}, now)
	if err != nil {
		return err
	}
	l.head = head
	return nil
}

// Reseal appends a KindReseal entry for batch seq: its remaining events
// (ids and digests, in index order) after a recorded disposal removed
// others. note names the disposal.
func (l *Ledger) Reseal(ctx context.Context, seq uint64, remaining []store.Digest, minT, maxT time.Time, note string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	prev, err := l.effective(ctx, seq)
	if err != nil {
		return err
	}
	now := l.opts.Now().UTC()
	e := &Entry{Seq: seq, Kind: KindReseal, Source: prev.Source, Events: len(remaining), MinTime: minT.UTC(), MaxTime: maxT.UTC(),
		Digest: ResealDigest(seq, remaining), Note: note}
	head, err := l.append(ctx, []*Entry{e}, now)
	if err != nil {
		return err
	}
	head.Events += int64(len(remaining) - prev.Events)
	l.head = head
	return nil
}

// effective is the latest seal of batch seq (its reseal if any).
func (l *Ledger) effective(ctx context.Context, seq uint64) (*Entry, error) {
	rows, err := l.db.QueryContext(ctx, entryColumns+` WHERE seq = ? AND kind IN (0, 3) ORDER BY n DESC LIMIT 1`, int64(seq))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("ledger has no seal of batch %d", seq)
	}
	return scanEntry(rows)
}

// ResealDigest seals the events of a batch that remain after a disposal,
// in index order. Each event digest covers its vigil.id, so which events
// remain is sealed too.
func ResealDigest(seq uint64, remaining []store.Digest) Hash {
	return BatchDigest(seq, remaining)
}

const entryColumns = `SELECT n, seq, kind, source, events, min_time, max_time, digest, chain, sealed, note FROM entries`

func scanEntry(rows *sql.Rows) (*Entry, error) {
	var (
		e                  Entry
		seq                int64
		kind, events       int
		minT, maxT, sealed int64
		digest, chain      []byte
	)
	if err := rows.Scan(&e.N, &seq, &kind, &e.Source, &events, &minT, &maxT, &digest, &chain, &sealed, &e.Note); err != nil {
		return nil, err
	}
	if len(digest) != len(e.Digest) || len(chain) != len(e.Chain) {
		return nil, fmt.Errorf("ledger entry %d: malformed hash", e.N)
	}
	e.Seq, e.Kind, e.Events = uint64(seq), Kind(kind), events
	e.MinTime, e.MaxTime, e.Sealed = fromNanos(minT), fromNanos(maxT), fromNanos(sealed)
	copy(e.Digest[:], digest)
	copy(e.Chain[:], chain)
	return &e, nil
}

// Entries calls fn for the entries from n on, in chain order.
func (l *Ledger) Entries(ctx context.Context, from int64, fn func(*Entry) error) error {
	rows, err := l.db.QueryContext(ctx, entryColumns+` WHERE n >= ? ORDER BY n`, from)
	if err != nil {
		return fmt.Errorf("read ledger: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return fmt.Errorf("read ledger: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Entry returns entry n.
func (l *Ledger) Entry(ctx context.Context, n int64) (*Entry, error) {
	rows, err := l.db.QueryContext(ctx, entryColumns+` WHERE n = ?`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, fmt.Errorf("ledger has no entry %d", n)
	}
	return scanEntry(rows)
}

// FirstEntryAfter returns the position of the first entry whose events
// may be filed at or after t (0 when none).
func (l *Ledger) FirstEntryAfter(ctx context.Context, t time.Time) (int64, error) {
	var n sql.NullInt64
	err := l.db.QueryRowContext(ctx, `SELECT MIN(n) FROM entries WHERE max_time >= ?`, t.UnixNano()).Scan(&n)
	return n.Int64, err
}

// TruncateLedger removes, from the ledger file at path, the entries after
// the first n and the checkpoints covering them: a restore keeps the chain
// as it was when the backup's store snapshot was taken.
func TruncateLedger(ctx context.Context, path string, n int64) error {
	d, err := db.Open(path)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := db.Migrate(ctx, d, "integrity", migrations); err != nil {
		return err
	}
	if _, err := d.ExecContext(ctx, `DELETE FROM entries WHERE n > ?`, n); err != nil {
		return fmt.Errorf("truncate ledger: %w", err)
	}
	if _, err := d.ExecContext(ctx, `DELETE FROM checkpoints WHERE n > ?`, n); err != nil {
		return fmt.Errorf("truncate ledger: %w", err)
	}
	return nil
}

// Resealed reports whether batch seq has a reseal entry.
func (l *Ledger) Resealed(ctx context.Context, seq uint64) (bool, error) {
	var n int
	err := l.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM entries WHERE seq = ? AND kind = 3`, int64(seq)).Scan(&n)
	return n > 0, err
}
