package store

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/VictoriaMetrics/VictoriaLogs/lib/logstorage"
	vmlogger "github.com/VictoriaMetrics/VictoriaMetrics/lib/logger"

	"github.com/vigil-siem/vigil/internal/event"
)

// Config configures the embedded store.
type Config struct {
	// Retention is how long events are kept (default 400 days).
	Retention time.Duration
	// KeepPartitions stops the library from dropping the days older than
	// Retention by itself: the caller disposes of them (package
	// retention, which honours legal holds). Rows older than Retention are
	// still filed under their arrival time.
	KeepPartitions bool
	// FutureRetention is how far in the future an event time may be before
	// it is replaced by the arrival time (default 2 days).
	FutureRetention time.Duration
	// MaxDiskSpaceUsageBytes, when set, drops the oldest days beyond it.
	MaxDiskSpaceUsageBytes int64
	// MinFreeDiskSpaceBytes: below it the store turns read-only.
	MinFreeDiskSpaceBytes int64
	// MemoryBytes, when set, is the memory the library sizes its caches,
	// in-memory parts and query state from (by default a share of the
	// machine's memory). It is process-wide: the first store opened in a
	// process sets it.
	MemoryBytes int64
	// StreamFields name the fields that identify a log stream (a source).
	StreamFields []string
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// Log receives the store's own problems (default: discarded).
	Log *slog.Logger
}

// DefaultRetention is the default retention: 400 days, more than a year of
// audit history plus margin.
const DefaultRetention = 400 * 24 * time.Hour

// DefaultStreamFields identify a source: where it ran and what it is.
var DefaultStreamFields = []string{"host.name", "event.module", "event.dataset"}

func (c Config) withDefaults() Config {
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	if c.FutureRetention <= 0 {
		c.FutureRetention = 48 * time.Hour
	}
	if c.StreamFields == nil {
		c.StreamFields = DefaultStreamFields
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Embedded is the VictoriaLogs storage library running in this process.
type Embedded struct {
	s   *logstorage.Storage
	cfg Config
	dir string

	closeOnce sync.Once

	mu sync.Mutex
	// touched are the day partitions (YYYYMMDD) written to since the last
	// Flush.
	touched map[string]bool
}

var _ Store = (*Embedded)(nil)

var libraryOnce sync.Once

// prepareLibrary satisfies the library's expectations of process-wide state:
// its dependencies read flag.CommandLine and panic unless it was parsed, and
// its logger would print whole log rows (which may carry PHI) on warnings,
// so only errors are let through.
func prepareLibrary(memoryBytes int64) {
	libraryOnce.Do(func() {
		if !flag.CommandLine.Parsed() {
			_ = flag.CommandLine.Parse(nil)
		}
		if memoryBytes > 0 {
			_ = flag.Set("memory.allowedBytes", strconv.FormatInt(memoryBytes, 10))
		}
		_ = flag.Set("loggerLevel", "ERROR")
		_ = flag.Set("loggerFormat", "json")
		_ = flag.Set("loggerMaxArgLen", "200")
		vmlogger.InitNoLogFlags()
	})
}

// libraryFlushInterval is how long the library keeps rows in memory
// parts (searchable, merged there) before it writes them to files on its
// own: VictoriaLogs' own default. Durability does not depend on it: the
// store writer calls Flush every few seconds (3 by default) before it
// acknowledges the bus, and the bus keeps what is not flushed. A second,
// as before, made the library write small file parts every second
// between those flushes, which it then merged again.
const libraryFlushInterval = 5 * time.Second

// Open opens (creating if needed) the store in dir.
func Open(dir string, cfg Config) (st *Embedded, err error) {
	cfg = cfg.withDefaults()
	prepareLibrary(cfg.MemoryBytes)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create store dir: %w", err)
	}
	if err := checkLock(dir); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("open store %s: %v", dir, r)
		}
	}()
	libRetention := cfg.Retention
	if cfg.KeepPartitions {
		libRetention = 100 * 365 * 24 * time.Hour
	}
	s := logstorage.MustOpenStorage(dir, &logstorage.StorageConfig{
		Retention:              libRetention,
		FutureRetention:        cfg.FutureRetention,
		MaxDiskSpaceUsageBytes: cfg.MaxDiskSpaceUsageBytes,
		MinFreeDiskSpaceBytes:  cfg.MinFreeDiskSpaceBytes,
		FlushInterval:          libraryFlushInterval,
	})
	return &Embedded{s: s, cfg: cfg, dir: dir, touched: map[string]bool{}}, nil
}

// CheckUnlocked returns ErrLocked when a process holds the store at dir.
func CheckUnlocked(dir string) error { return checkLock(dir) }

// checkLock tells whether another process holds the library's lock file,
// which the library would answer with a panic.
func checkLock(dir string) error {
	path := filepath.Join(dir, "flock.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open lock file: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("%w: %s (is another vigil running with the same --data-dir?)", ErrLocked, dir)
	}
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}

// Close flushes and closes the store; closing again does nothing.
func (e *Embedded) Close() { e.closeOnce.Do(e.s.MustClose) }

// Flush makes every added event durable. The library has no such call:
// its DebugFlush only moves buffered rows into in-memory parts, and its own
// flusher writes those to files after its flush interval, with no way to
// wait for it. Creating a partition snapshot writes a partition's
// in-memory parts (data and stream index) to files, except parts that an
// in-memory merge holds at that moment; so Flush repeats until the
// library reports no in-memory data left. The writer is the only one
// adding rows, and it does not add while Flush runs. The snapshots
// themselves, directories of hard links, are deleted at once.
func (e *Embedded) Flush() {
	e.mu.Lock()
	days := make([]string, 0, len(e.touched))
	for d := range e.touched {
		days = append(days, d)
	}
	clear(e.touched)
	e.mu.Unlock()
	for attempt := 0; ; attempt++ {
		e.s.DebugFlush()
		for _, d := range days {
			for _, p := range e.s.PartitionSnapshotMustCreate(d) {
				_ = e.s.PartitionSnapshotDelete(p)
			}
		}
		var st logstorage.StorageStats
		e.s.UpdateStats(&st)
		if st.InmemoryParts == 0 && st.PendingRows == 0 && st.ActiveInmemoryMerges == 0 &&
			st.IndexdbPendingItems == 0 && st.IndexdbActiveInmemoryMerges == 0 {
			return
		}
		if attempt > 0 && attempt%1000 == 0 {
			// Should not happen; say so rather than spin silently.
			e.cfg.Log.Error("store flush: in-memory data remains", "attempts", attempt, "parts", st.InmemoryParts, "rows", st.PendingRows)
		}
		time.Sleep(time.Duration(min(attempt+1, 20)) * time.Millisecond)
	}
}

// Limits of the library: rows breaking them would be dropped with a
// warning, so Add reshapes such rows instead.
const (
	maxFieldNameLen = 128
	maxFields       = 1000
	maxRowBytes     = 1 << 20
	// libraryMaxRowBytes is the library's limit on a row's estimated JSON
	// length: the sum of names and values plus fieldOverhead per field.
	libraryMaxRowBytes = 2 << 20
	fieldOverhead      = len(`,"":""`)
)

// Add stores events.
func (e *Embedded) Add(events []event.Event) {
	lr := logstorage.GetLogRows(e.cfg.StreamFields, nil, nil, nil, "")
	defer logstorage.PutLogRows(lr)
	now := e.cfg.Now()
	minT := now.Add(-e.cfg.Retention).Add(24 * time.Hour)
	maxT := now.Add(e.cfg.FutureRetention).Add(-time.Hour)
	var (
		fields   []logstorage.Field
		ingested ingestedText
		lastDay  int64 = -1
		days     []string
	)
	for i := range events {
		ev := &events[i]
		t := rowTime(ev.Time, now, minT, maxT)
		fields = appendRowWith(fields[:0], ev, &ingested)
		if !t.Equal(ev.Time) {
			fields = append(fields, logstorage.Field{Name: FieldOriginalTime, Value: ev.Time.UTC().Format(time.RFC3339Nano)})
		}
		// The events of a batch are mostly of one day: name it once.
		if d := floorDiv(t.UnixNano(), nsPerDay); d != lastDay {
			lastDay = d
			days = append(days, t.UTC().Format("20060102"))
		}
		lr.MustAdd(logstorage.TenantID{}, t.UnixNano(), fields, -1)
		if lr.NeedFlush() {
			e.s.MustAddRows(lr)
			lr.ResetKeepSettings()
		}
	}
	e.s.MustAddRows(lr)
	e.mu.Lock()
	for _, d := range days {
		e.touched[d] = true
	}
	e.mu.Unlock()
}

// rowTime is the time the row is stored under: the event time when the
// store accepts it, else the arrival time (appendRow keeps the original).
func rowTime(t, now, minT, maxT time.Time) time.Time {
	if t.Before(minT) || t.After(maxT) {
		return now
	}
	return t
}

// FieldOriginalTime keeps the time of an event the store files under its
// arrival time (its own was beyond retention or too far in the future).
const FieldOriginalTime = "vigil.original_time"

// appendRow converts an event to library fields, never breaking the
// library's limits (which would make it drop the row). The result does not
// depend on the clock: Add appends FieldOriginalTime when it files the row
// under its arrival time, and digests hash the same fields.
//
// A name given twice keeps its first value (the one Event.Get returns):
// the library would keep both in some blocks and the last in others, so a
// stored event would read differently after a merge.
func appendRow(dst []logstorage.Field, ev *event.Event) []logstorage.Field {
	return appendRowWith(dst, ev, nil)
}

// ingestedText remembers the last arrival time written as text: events
// of a batch arrive within milliseconds of each other, and writing the
// text was an allocation and 2 % of the CPU per event.
type ingestedText struct {
	ms   int64
	text string
}

func (c *ingestedText) format(t time.Time) string {
	if c == nil {
		return event.FormatIngested(t)
	}
	ms := floorDiv(t.UnixNano(), int64(time.Millisecond))
	if c.text == "" || ms != c.ms {
		c.ms, c.text = ms, event.FormatIngested(t)
	}
	return c.text
}

const nsPerDay = int64(24 * time.Hour)

// floorDiv divides rounding towards minus infinity (times before 1970).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// appendRowWith is appendRow reusing the arrival text of the previous
// event when it arrived in the same millisecond (ingested may be nil).
func appendRowWith(dst []logstorage.Field, ev *event.Event, ingested *ingestedText) []logstorage.Field {
	size := 0
	start := len(dst)
	// names holds the names in the row so far, as a Bloom filter: a name
	// it has not seen is new for sure; one it may have seen is looked for
	// in the row. (A map per row cost more than the rest of appendRow.)
	var names nameFilter
	if !ev.Arrived.IsZero() {
		// The arrival, first so that it wins over a sender's field of the
		// name, in the form the library stores as a timestamp column.
		dst = append(dst, logstorage.Field{Name: event.FieldIngested, Value: ingested.format(ev.Arrived)})
		names.add(event.FieldIngested)
	}
	var overflow []byte
	for _, f := range ev.Fields {
		if f.Value == "" {
			continue // the library keeps no empty values
		}
		name := f.Name
		switch name {
		case event.FieldMessage:
			name = "_msg"
		case "_msg", "_time", "_stream", "_stream_id", "":
			name = "vigil.renamed." + strings.TrimPrefix(name, "_")
			if f.Name == "" {
				name = "vigil.renamed.empty"
			}
		case FieldOriginalTime, fieldOverflow, fieldTruncated:
			// The store's own fields; a sender's field of such a name is
			// kept under another.
			name = "vigil.renamed." + strings.TrimPrefix(name, "vigil.")
		}
		if len(name) > maxFieldNameLen {
			name = name[:maxFieldNameLen-9] + "~" + strconv.FormatUint(uint64(hash32(name)), 16)
		}
		if !names.add(name) && hasField(dst[start:], name) {
			continue // the first of a name wins
		}
		if len(dst) >= maxFields-4 || size+len(name)+len(f.Value)+fieldOverhead > maxRowBytes {
			// Too many or too big: keep the rest as one JSON text field,
			// itself truncated to stay within the row limit.
			if overflow == nil {
				overflow = append(overflow, '{')
			} else {
				overflow = append(overflow, ',')
			}
			overflow = event.AppendJSONString(overflow, f.Name)
			overflow = append(overflow, ':')
			overflow = event.AppendJSONString(overflow, f.Value)
			continue
		}
		size += len(name) + len(f.Value) + fieldOverhead
		dst = append(dst, logstorage.Field{Name: name, Value: f.Value})
	}
	if overflow != nil {
		overflow = append(overflow, '}')
		room := max(libraryMaxRowBytes-size-256, 0)
		if len(overflow) > room {
			overflow = overflow[:room]
			dst = append(dst, logstorage.Field{Name: fieldTruncated, Value: "true"})
		}
		dst = append(dst, logstorage.Field{Name: fieldOverflow, Value: string(overflow)})
	}
	return dst
}

const (
	fieldOverflow  = "vigil.overflow"
	fieldTruncated = "vigil.truncated"
)

func hasField(fs []logstorage.Field, name string) bool {
	for i := range fs {
		if fs[i].Name == name {
			return true
		}
	}
	return false
}

// nameFilter is a Bloom filter of field names: 1,024 bits, two of them
// per name (about one false "maybe" in 140 checks for a row of 45 fields).
type nameFilter [16]uint64

// add adds name and reports whether it was surely new.
func (f *nameFilter) add(name string) bool {
	h := hash32(name)
	a, b := h&1023, (h>>10)&1023
	maybe := f[a>>6]&(1<<(a&63)) != 0 && f[b>>6]&(1<<(b&63)) != 0
	f[a>>6] |= 1 << (a & 63)
	f[b>>6] |= 1 << (b & 63)
	return !maybe
}

func hash32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

func (e *Embedded) parse(req Request) (*logstorage.Query, error) {
	qs := strings.TrimSpace(req.Query)
	if qs == "" {
		qs = "*"
	}
	q, err := logstorage.ParseQueryAtTimestamp(storedNames(qs), req.End.UnixNano())
	if err != nil {
		return nil, &QueryError{Err: err}
	}
	start, end := int64(math.MinInt64), int64(math.MaxInt64)
	if !req.Start.IsZero() {
		start = req.Start.UnixNano()
	}
	if !req.End.IsZero() {
		end = req.End.UnixNano() - 1
	}
	q.AddTimeFilter(start, end)
	return q, nil
}

func (e *Embedded) run(ctx context.Context, q *logstorage.Query, fn logstorage.WriteDataBlockFunc) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("query %s: %v", q, r)
		}
	}()
	qctx := logstorage.NewQueryContext(ctx, &logstorage.QueryStats{}, []logstorage.TenantID{{}}, q, false, nil)
	if err := e.s.RunQuery(qctx, fn); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("query %s: %w", q, err)
	}
	return nil
}

// Search runs req and calls fn for each row.
func (e *Embedded) Search(ctx context.Context, req Request, fn func(row []event.Field) error) error {
	q, err := e.parse(req)
	if err != nil {
		return err
	}
	if req.Limit > 0 {
		if q.CanReturnLastNResults() {
			// The newest rows of a long range: count first, then read
			// only the end of the range that holds them.
			if cut, ok := e.lastNStart(ctx, req, q); ok {
				req.Start = cut
				if q, err = e.parse(req); err != nil {
					return err
				}
			}
			q.AddPipeSortByTimeDesc()
		}
		q.AddPipeOffsetLimit(0, uint64(req.Limit))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu      sync.Mutex
		fnErr   error
		row     []event.Field
		timeIdx = -1
	)
	err = e.run(ctx, q, func(_ uint, db *logstorage.DataBlock) {
		cols := db.GetColumns(false)
		n := db.RowsCount()
		mu.Lock()
		defer mu.Unlock()
		if fnErr != nil {
			return
		}
		timeIdx = -1
		for ci := range cols {
			if cols[ci].Name == "_time" {
				timeIdx = ci
			}
		}
		for r := 0; r < n; r++ {
			row = row[:0]
			if timeIdx >= 0 {
				row = append(row, event.Field{Name: "@timestamp", Value: cols[timeIdx].Values[r]})
			}
			for ci := range cols {
				c := &cols[ci]
				v := c.Values[r]
				if v == "" || ci == timeIdx {
					continue
				}
				name := c.Name
				switch name {
				case "_msg":
					name = event.FieldMessage
				case "_stream", "_stream_id":
					continue
				}
				row = append(row, event.Field{Name: name, Value: v})
			}
			if emptyRow(row, timeIdx >= 0) {
				continue
			}
			if err := fn(row); err != nil {
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

// lastNBuckets is how finely lastNStart counts a range.
const lastNBuckets = 128

// lastNStart finds where in a long range the newest req.Limit rows of a
// query without pipes begin: it counts the matching rows per bucket (a
// cheap pass that reads no field values) and walks back from the end
// until the buckets hold req.Limit rows. Sorting then reads only those
// buckets instead of every row of the range. ok is false when narrowing
// would not help (a short range, too few rows, or pipes, which may drop
// rows the count cannot see).
func (e *Embedded) lastNStart(ctx context.Context, req Request, q *logstorage.Query) (time.Time, bool) {
	span := req.End.Sub(req.Start)
	if req.Start.IsZero() || req.End.IsZero() || span < 10*time.Minute {
		return time.Time{}, false
	}
	bare := q.Clone(q.GetTimestamp())
	bare.DropAllPipes()
	if bare.String() != q.String() {
		return time.Time{}, false
	}
	step := (span / lastNBuckets).Truncate(time.Second)
	if step < time.Second {
		step = time.Second
	}
	hreq := req
	hreq.Step, hreq.GroupBy = step, nil
	series, err := e.Hits(ctx, hreq)
	if err != nil || len(series) != 1 {
		return time.Time{}, false
	}
	hs := series[0]
	if hs.Total <= uint64(req.Limit) {
		return time.Time{}, false
	}
	var n uint64
	for i := len(hs.Timestamps) - 1; i >= 0; i-- {
		n += hs.Values[i]
		if n >= uint64(req.Limit) {
			if cut := hs.Timestamps[i]; cut.After(req.Start) {
				return cut, true
			}
			return time.Time{}, false
		}
	}
	return time.Time{}, false
}

// emptyRow tells a row with no field but its time: when the library
// deletes the first row of a block it keeps an empty row in its place, to
// keep its blocks ordered (lib/logstorage rows.go, skipRowsByDropFilter);
// it is no event. (Counts in Hits may include such placeholders until a
// merge removes them.)
func emptyRow(row []event.Field, hasTime bool) bool {
	if hasTime {
		return len(row) == 1
	}
	return len(row) == 0
}

// Hits counts matching events per time bucket.
func (e *Embedded) Hits(ctx context.Context, req Request) ([]HitsSeries, error) {
	if req.Step <= 0 {
		return nil, fmt.Errorf("hits: step must be positive")
	}
	q, err := e.parse(req)
	if err != nil {
		return nil, err
	}
	q.AddCountByTimePipe(req.Step.Nanoseconds(), 0, req.GroupBy)
	var mu sync.Mutex
	series := map[string]*HitsSeries{}
	var parseErr error
	err = e.run(ctx, q, func(_ uint, db *logstorage.DataBlock) {
		cols := db.GetColumns(false)
		n := db.RowsCount()
		if n == 0 || len(cols) < 2 {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for r := 0; r < n; r++ {
			ts, err := time.Parse(time.RFC3339Nano, cols[0].Values[r])
			if err != nil {
				parseErr = fmt.Errorf("hits: bad bucket time %q: %w", cols[0].Values[r], err)
				return
			}
			hits, err := strconv.ParseUint(cols[len(cols)-1].Values[r], 10, 64)
			if err != nil {
				parseErr = fmt.Errorf("hits: bad count %q: %w", cols[len(cols)-1].Values[r], err)
				return
			}
			var key strings.Builder
			group := map[string]string{}
			for _, c := range cols[1 : len(cols)-1] {
				group[c.Name] = strings.Clone(c.Values[r])
				key.WriteString(c.Name + "\x00" + c.Values[r] + "\x00")
			}
			hs := series[key.String()]
			if hs == nil {
				hs = &HitsSeries{Fields: group}
				series[key.String()] = hs
			}
			hs.Timestamps = append(hs.Timestamps, ts)
			hs.Values = append(hs.Values, hits)
			hs.Total += hits
		}
	})
	if err == nil {
		err = parseErr
	}
	if err != nil {
		return nil, err
	}
	out := make([]HitsSeries, 0, len(series))
	for _, hs := range series {
		sortBuckets(hs)
		out = append(out, *hs)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Total > out[j].Total })
	return out, nil
}

func sortBuckets(hs *HitsSeries) {
	idx := make([]int, len(hs.Timestamps))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return hs.Timestamps[idx[a]].Before(hs.Timestamps[idx[b]]) })
	ts := make([]time.Time, len(idx))
	vs := make([]uint64, len(idx))
	for i, j := range idx {
		ts[i], vs[i] = hs.Timestamps[j], hs.Values[j]
	}
	hs.Timestamps, hs.Values = ts, vs
}

// Fields lists field names of matching events with hit counts and, for
// fields with few distinct values, their top values.
func (e *Embedded) Fields(ctx context.Context, req Request) ([]FieldSummary, error) {
	q, err := e.parse(req)
	if err != nil {
		return nil, err
	}
	top := req.TopValues
	if top <= 0 {
		top = 5
	}
	names, err := e.fieldNames(ctx, q)
	if err != nil {
		return nil, err
	}
	fq, err := e.parse(req)
	if err != nil {
		return nil, err
	}
	fq.AddFacetsPipe(top, 1000, 256, true)
	var mu sync.Mutex
	values := map[string][]ValueCount{}
	err = e.run(ctx, fq, func(_ uint, db *logstorage.DataBlock) {
		nameCol, valueCol, hitsCol := db.GetColumnByName("field_name"), db.GetColumnByName("field_value"), db.GetColumnByName("hits")
		if nameCol == nil || valueCol == nil || hitsCol == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for r := range nameCol.Values {
			if nameCol.Values[r] == "_time" {
				continue // every event's own: no useful top values
			}
			h, _ := strconv.ParseUint(hitsCol.Values[r], 10, 64)
			n := publicName(nameCol.Values[r])
			values[n] = append(values[n], ValueCount{Value: strings.Clone(valueCol.Values[r]), Hits: h})
		}
	})
	if err != nil {
		return nil, err
	}
	for i := range names {
		vs := values[names[i].Name]
		sort.Slice(vs, func(a, b int) bool { return vs[a].Hits > vs[b].Hits })
		if len(vs) > top {
			vs = vs[:top]
		}
		names[i].TopValues = vs
	}
	return names, nil
}

func (e *Embedded) fieldNames(ctx context.Context, q *logstorage.Query) (out []FieldSummary, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("field names: %v", r)
		}
	}()
	qctx := logstorage.NewQueryContext(ctx, &logstorage.QueryStats{}, []logstorage.TenantID{{}}, q, false, nil)
	vhs, err := e.s.GetFieldNames(qctx, "")
	if err != nil {
		return nil, fmt.Errorf("field names: %w", err)
	}
	for _, vh := range vhs {
		if vh.Value == "_stream" || vh.Value == "_stream_id" {
			continue
		}
		out = append(out, FieldSummary{Name: publicName(vh.Value), Hits: vh.Hits})
	}
	slices.SortFunc(out, func(a, b FieldSummary) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func publicName(n string) string {
	switch n {
	case "_msg":
		return event.FieldMessage
	case "_time":
		return "@timestamp"
	}
	return n
}

// Delete removes the events matching the LogsQL filter that are filed in
// [start, end), and returns once they are gone from every part on disk.
// The library rewrites each part holding a matching row without it (a
// merge), so the deletion is physical, not a mark.
func (e *Embedded) Delete(ctx context.Context, filter string, start, end time.Time) (err error) {
	fs := strings.TrimSpace(filter)
	if fs == "" {
		fs = "*"
	}
	full := fmt.Sprintf("_time:[%s, %s) (%s)", start.UTC().Format(time.RFC3339Nano), end.UTC().Format(time.RFC3339Nano), storedNames(fs))
	f, err := logstorage.ParseFilter(full)
	if err != nil {
		return &QueryError{Err: err}
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("delete %s: %v", full, r)
		}
	}()
	id := fmt.Sprintf("vigil-%d", time.Now().UnixNano())
	if err := e.s.DeleteRunTask(ctx, id, time.Now().UnixNano(), []logstorage.TenantID{{}}, f); err != nil {
		return fmt.Errorf("delete %s: %w", full, err)
	}
	for {
		tasks, err := e.s.DeleteActiveTasks(ctx)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(tasks, func(t *logstorage.DeleteTask) bool { return t.TaskID == id }) {
			return nil
		}
		select {
		case <-ctx.Done():
			_ = e.s.DeleteStopTask(context.Background(), id)
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// DropPartition deletes the day partition (YYYYMMDD) and every event in it:
// the library stops using it, then its directory is removed.
func (e *Embedded) DropPartition(day string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("drop partition %s: %v", day, r)
		}
	}()
	if _, err := time.Parse("20060102", day); err != nil {
		return fmt.Errorf("drop partition %q: not a day", day)
	}
	if err := e.s.PartitionDetach(day); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(e.dir, "partitions", day))
}
