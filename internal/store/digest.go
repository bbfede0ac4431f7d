package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/VictoriaLogs/lib/logstorage"

	"github.com/vigil-siem/vigil/internal/event"
)

// Digest is the SHA-256 of an event's canonical stored form.
type Digest = [sha256.Size]byte

// digestVersion starts every event digest's input: a change of the
// canonical form is a new version, never a silent change.
const digestVersion = "vigil-event-v1\n"

// EventDigest is the digest of the row the store keeps for ev: its time
// and its fields as Add stores them (names mapped, limits applied), empty
// values left out (the store drops them), values in canonical form, sorted
// by name and value. ScanDigests computes the same digest from a stored
// row, so the two agree exactly when the row is what was added.
func EventDigest(ev *event.Event) Digest {
	d := digesterPool.Get().(*digester)
	defer digesterPool.Put(d)
	d.fields = appendRow(d.fields[:0], ev)
	d.ts = ev.Time.UTC().AppendFormat(d.ts[:0], time.RFC3339Nano)
	return d.digest(d.ts)
}

type digester struct {
	fields  []logstorage.Field
	pairs   []pair
	buf     []byte
	ts      []byte
	scratch []byte
	// names and order: the names of the last row sorted, in the row's
	// order, and the order that sorts them. Rows of one source mostly
	// list the same names in the same order: their order is reused
	// instead of sorting each row again (sorting was half of the digest).
	names  []string
	order  []int
	sorted []pair
}

type pair struct{ name, value string }

var digesterPool = sync.Pool{New: func() any { return new(digester) }}

func (d *digester) digest(timeToken []byte) Digest {
	d.pairs = d.pairs[:0]
	if d.scratch == nil {
		d.scratch = make([]byte, 0, 64)
	}
	for _, f := range d.fields {
		if f.Value == "" {
			continue
		}
		d.pairs = append(d.pairs, pair{f.Name, canonValueBuf(f.Value, d.scratch)})
	}
	b := append(d.buf[:0], digestVersion...)
	b = binary.AppendUvarint(b, uint64(len(timeToken)))
	b = append(b, timeToken...)
	for _, p := range d.sort() {
		b = binary.AppendUvarint(b, uint64(len(p.name)))
		b = append(b, p.name...)
		b = binary.AppendUvarint(b, uint64(len(p.value)))
		b = append(b, p.value...)
	}
	d.buf = b
	return sha256.Sum256(b)
}

// sort returns d.pairs sorted by name, then value.
func (d *digester) sort() []pair {
	same := len(d.names) == len(d.pairs) && d.order != nil
	for i := 0; same && i < len(d.pairs); i++ {
		same = d.pairs[i].name == d.names[i]
	}
	if same {
		d.sorted = d.sorted[:0]
		for _, i := range d.order {
			d.sorted = append(d.sorted, d.pairs[i])
		}
		return d.sorted
	}
	d.names = d.names[:0]
	d.order = d.order[:0]
	for i := range d.pairs {
		d.names = append(d.names, strings.Clone(d.pairs[i].name)) // not the batch's memory
		d.order = append(d.order, i)
	}
	slices.SortFunc(d.order, func(a, b int) int {
		if c := strings.Compare(d.pairs[a].name, d.pairs[b].name); c != 0 {
			return c
		}
		return strings.Compare(d.pairs[a].value, d.pairs[b].value)
	})
	d.sorted = d.sorted[:0]
	for k, i := range d.order {
		d.sorted = append(d.sorted, d.pairs[i])
		if k > 0 && d.sorted[k-1].name == d.pairs[i].name {
			// A name twice: the values decide, and they differ from row
			// to row; this order is not for another row.
			d.order = nil
		}
	}
	return d.sorted
}

// StoredEvent is what ScanDigests reports of one stored row.
type StoredEvent struct {
	// ID is the row's vigil.id ("" when it has none).
	ID string
	// Time is the time the row is filed under.
	Time time.Time
	// Digest is the digest of the row's canonical form (see EventDigest).
	Digest Digest
	// Duplicates counts other vigil.id values on the same row (an altered
	// row may carry two).
	Duplicates int
}

// ScanDigests calls fn for every row filed in [start, end), in no
// particular order and one call at a time. It reads every column of every
// row, so it costs a full read of the range.
func (e *Embedded) ScanDigests(ctx context.Context, start, end time.Time, fn func(StoredEvent) error) error {
	return e.ScanDigestsOf(ctx, "*", start, end, fn)
}

// ScanDigestsOf is ScanDigests of the rows matching a LogsQL filter.
func (e *Embedded) ScanDigestsOf(ctx context.Context, filter string, start, end time.Time, fn func(StoredEvent) error) error {
	q, err := e.parse(Request{Query: filter, Start: start, End: end})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		fnErr error
	)
	err = e.run(ctx, q, func(_ uint, db *logstorage.DataBlock) {
		cols := db.GetColumns(false)
		n := db.RowsCount()
		d := digesterPool.Get().(*digester)
		defer digesterPool.Put(d)
		out := make([]StoredEvent, 0, n)
		for r := 0; r < n; r++ {
			d.fields = d.fields[:0]
			var se StoredEvent
			var stored, original string
			for ci := range cols {
				c := &cols[ci]
				v := c.Values[r]
				switch c.Name {
				case "_time":
					stored = v
					continue
				case "_stream", "_stream_id":
					continue
				case FieldOriginalTime:
					if v != "" {
						original = v
					}
					continue
				case event.FieldID:
					if v != "" {
						if se.ID == "" {
							se.ID = strings.Clone(v)
						} else {
							se.Duplicates++
						}
					}
				}
				if v != "" {
					d.fields = append(d.fields, logstorage.Field{Name: c.Name, Value: v})
				}
			}
			if len(d.fields) == 0 && original == "" {
				continue // a deleted row's placeholder (see emptyRow)
			}
			t, err := time.Parse(time.RFC3339Nano, stored)
			if err != nil {
				mu.Lock()
				fnErr = fmt.Errorf("stored row with unreadable time %q: %w", stored, err)
				mu.Unlock()
				cancel()
				return
			}
			se.Time = t
			d.ts = t.UTC().AppendFormat(d.ts[:0], time.RFC3339Nano)
			if original != "" {
				d.ts = append(d.ts[:0], original...)
			}
			se.Digest = d.digest(d.ts)
			out = append(out, se)
		}
		mu.Lock()
		defer mu.Unlock()
		if fnErr != nil {
			return
		}
		for _, se := range out {
			if err := fn(se); err != nil {
				fnErr = err
				cancel()
				return
			}
		}
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// RowTime is the time Add files an event under when it adds it at now:
// the event's own time, or now when the store would refuse it.
func (e *Embedded) RowTime(t, now time.Time) time.Time {
	return rowTime(t, now, now.Add(-e.cfg.Retention).Add(24*time.Hour), now.Add(e.cfg.FutureRetention).Add(-time.Hour))
}
