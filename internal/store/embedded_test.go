package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

func openTest(t *testing.T, now time.Time) *Embedded {
	t.Helper()
	s, err := Open(t.TempDir(), Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func ev(t time.Time, kv ...string) event.Event {
	e := event.Event{Time: t}
	for i := 0; i < len(kv); i += 2 {
		e.Add(kv[i], kv[i+1])
	}
	return e
}

func search(t *testing.T, s Store, req Request) []map[string]string {
	t.Helper()
	var rows []map[string]string
	err := s.Search(context.Background(), req, func(row []event.Field) error {
		m := map[string]string{}
		for _, f := range row {
			m[strings.Clone(f.Name)] = strings.Clone(f.Value) // rows alias the store's buffers
		}
		rows = append(rows, m)
		return nil
	})
	if err != nil {
		t.Fatalf("search %q: %v", req.Query, err)
	}
	return rows
}

func TestAddSearch(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	s := openTest(t, now)
	s.Add([]event.Event{
		ev(now.Add(-time.Minute), "message", "Failed password for alice from 10.0.0.5", "host.name", "ehr-1", "user.name", "alice", "source.ip", "10.0.0.5"),
		ev(now.Add(-2*time.Minute), "message", "Accepted publickey for bob", "host.name", "ehr-2", "user.name", "bob"),
		ev(now.Add(-3*time.Minute), "message", "Failed password for carol", "host.name", "ehr-1", "user.name", "carol"),
	})
	s.Flush()
	win := Request{Start: now.Add(-time.Hour), End: now.Add(time.Second)}

	req := win
	req.Query = `"Failed password"`
	rows := search(t, s, req)
	if len(rows) != 2 {
		t.Fatalf("got %d rows, want 2: %v", len(rows), rows)
	}
	req.Query = `user.name:alice`
	rows = search(t, s, req)
	if len(rows) != 1 || rows[0]["message"] != "Failed password for alice from 10.0.0.5" || rows[0]["source.ip"] != "10.0.0.5" {
		t.Fatalf("got %v", rows)
	}
	if ts, err := time.Parse(time.RFC3339Nano, rows[0]["@timestamp"]); err != nil || !ts.Equal(now.Add(-time.Minute)) {
		t.Fatalf("@timestamp %q (%v), want %v", rows[0]["@timestamp"], err, now.Add(-time.Minute))
	}
	if _, ok := rows[0]["_msg"]; ok {
		t.Fatalf("_msg leaked into results: %v", rows[0])
	}
	// The message filtered by its public name, as results show it.
	req.Query = `message:"Failed password" -message:carol`
	if rows = search(t, s, req); len(rows) != 1 || rows[0]["user.name"] != "alice" {
		t.Fatalf("message filter: got %v", rows)
	}
	// Limit returns the newest first.
	req.Query = "*"
	req.Limit = 2
	rows = search(t, s, req)
	if len(rows) != 2 || rows[0]["user.name"] != "alice" || rows[1]["user.name"] != "bob" {
		t.Fatalf("limit: got %v", rows)
	}
	// The time range is honoured.
	req = Request{Query: "*", Start: now.Add(-150 * time.Second), End: now}
	if rows = search(t, s, req); len(rows) != 2 {
		t.Fatalf("time range: got %d rows, want 2", len(rows))
	}
}

func TestQueryError(t *testing.T) {
	s := openTest(t, time.Now())
	err := s.Search(context.Background(), Request{Query: `foo:(`, End: time.Now()}, func([]event.Field) error { return nil })
	var qe *QueryError
	if !errors.As(err, &qe) {
		t.Fatalf("got %v, want QueryError", err)
	}
}

func TestHitsAndFields(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	s := openTest(t, now)
	var evs []event.Event
	for i := range 30 {
		host := "a"
		if i%3 == 0 {
			host = "b"
		}
		evs = append(evs, ev(now.Add(-time.Duration(i)*time.Minute), "message", fmt.Sprintf("m%d", i), "host.name", host, "event.outcome", "failure"))
	}
	s.Add(evs)
	s.Flush()
	req := Request{Query: "*", Start: now.Add(-time.Hour), End: now.Add(time.Minute), Step: 10 * time.Minute}
	hs, err := s.Hits(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 1 || hs[0].Total != 30 {
		t.Fatalf("hits: got %+v", hs)
	}
	var sum uint64
	for i, v := range hs[0].Values {
		sum += v
		if i > 0 && !hs[0].Timestamps[i].After(hs[0].Timestamps[i-1]) {
			t.Fatalf("buckets out of order: %v", hs[0].Timestamps)
		}
	}
	if sum != 30 || len(hs[0].Values) != 4 {
		t.Fatalf("buckets %v, want 4 (aligned to 10m: 11:30..12:00) summing to 30", hs[0].Values)
	}
	req.GroupBy = []string{"host.name"}
	hs, err = s.Hits(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 2 || hs[0].Fields["host.name"] != "a" || hs[0].Total != 20 || hs[1].Total != 10 {
		t.Fatalf("grouped hits: %+v", hs)
	}

	fs, err := s.Fields(context.Background(), Request{Query: "*", Start: now.Add(-time.Hour), End: now.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]FieldSummary{}
	for _, f := range fs {
		got[f.Name] = f
	}
	if got["host.name"].Hits != 30 || len(got["host.name"].TopValues) != 2 || got["host.name"].TopValues[0] != (ValueCount{"a", 20}) {
		t.Fatalf("host.name summary: %+v", got["host.name"])
	}
	if _, ok := got["message"]; !ok {
		t.Fatalf("no message field in %+v", fs)
	}
}

func TestLockedDir(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A second open in this process sees the same flock as another process
	// would (flock locks are per open file description).
	if _, err := Open(dir, Config{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("got %v, want ErrLocked", err)
	}
}

func TestNothingSilentlyDropped(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	s := openTest(t, now)
	long := strings.Repeat("n", 300)
	many := ev(now, "message", "many fields", "case", "many")
	for i := range 3000 {
		many.Add(fmt.Sprintf("f%d", i), "v")
	}
	big := ev(now, "message", "big", "case", "big", "blob", strings.Repeat("x", 3<<20))
	evs := []event.Event{
		ev(now.AddDate(-3, 0, 0), "message", "ancient", "case", "old"),
		ev(now.AddDate(0, 0, 30), "message", "future", "case", "future"),
		ev(now, "message", "long name", "case", "long", long, "v"),
		ev(now, "message", "reserved", "case", "reserved", "_time", "x", "_stream", "y"),
		many, big,
	}
	s.Add(evs)
	s.Flush()
	rows := search(t, s, Request{Query: "*", Start: now.Add(-time.Hour), End: now.Add(time.Hour)})
	byCase := map[string]map[string]string{}
	for _, r := range rows {
		byCase[r["case"]] = r
	}
	for _, c := range []string{"old", "future", "long", "reserved", "many", "big"} {
		if byCase[c] == nil {
			t.Errorf("event %q was dropped; stored: %d rows", c, len(rows))
		}
	}
	if r := byCase["old"]; r != nil && !strings.HasPrefix(r["vigil.original_time"], fmt.Sprint(now.Year()-3)) {
		t.Errorf("old event lost its time: %v", r["vigil.original_time"])
	}
	if r := byCase["big"]; r != nil && r["vigil.truncated"] != "true" {
		t.Errorf("big event not flagged truncated")
	}
	if r := byCase["many"]; r != nil && !strings.Contains(r["vigil.overflow"], `"f2999":"v"`) {
		t.Errorf("many-field event lost fields: overflow %.100q", r["vigil.overflow"])
	}
	if r := byCase["reserved"]; r != nil && (r["vigil.renamed.time"] != "x" || r["vigil.renamed.stream"] != "y") {
		t.Errorf("reserved names not kept: %v", r)
	}
}

// TestQueryErrorPosition: the parser's error names where the query went
// wrong, so the console can point at it.
func TestQueryErrorPosition(t *testing.T) {
	s := openTest(t, time.Now())
	f := func(q string, want int) {
		t.Helper()
		err := s.Search(context.Background(), Request{Query: q, End: time.Now()}, func([]event.Field) error { return nil })
		var qe *QueryError
		if !errors.As(err, &qe) {
			t.Fatalf("%q: got %v, want a QueryError", q, err)
		}
		if got := qe.Position(q); got != want {
			t.Fatalf("%q: position %d, want %d (%v)", q, got, want, err)
		}
	}
	f(`foo:(`, 5)
	f(`host.name:a | stats by (x count()`, 31) // just after the offending token
	f(`* | stats count() c | sort by (c desc`, 37)
	f(`é:( `, 3)
}

// TestSearchNewestRowsOfALongRange: the newest N rows of a long range are
// the same, in the same order, whether the search narrows the range first
// (plain filters) or sorts everything (with a pipe).
func TestSearchNewestRowsOfALongRange(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	s := openTest(t, now)
	var evs []event.Event
	for i := range 5000 {
		// Uneven: most events early in the range, few at its end.
		d := time.Duration(i*i) * time.Second / 1000
		evs = append(evs, ev(now.Add(-d-time.Second), "message", fmt.Sprintf("m%d", i), "host.name", []string{"a", "b"}[i%2]))
	}
	s.Add(evs)
	s.Flush()
	read := func(q string, limit int) []string {
		var out []string
		err := s.Search(context.Background(), Request{Query: q, Start: now.Add(-10 * time.Hour), End: now, Limit: limit}, func(row []event.Field) error {
			for _, f := range row {
				if f.Name == "message" {
					out = append(out, f.Value)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, limit := range []int{1, 10, 777, 4999, 5000, 6000} {
		got := read("*", limit)
		want := read("* | fields _time, _msg", limit) // a pipe: no narrowing
		if len(got) != min(limit, 5000) || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("limit %d: %d rows %.80q…, want %d %.80q…", limit, len(got), got, len(want), want)
		}
		if got[0] != "m0" {
			t.Fatalf("limit %d: newest row %s, want m0", limit, got[0])
		}
	}
	// The narrowing happens: the newest 10 rows lie in the last minutes.
	req := Request{Query: "*", Start: now.Add(-10 * time.Hour), End: now, Limit: 10}
	q, _ := s.parse(req)
	if cut, ok := s.lastNStart(context.Background(), req, q); !ok || now.Sub(cut) > 10*time.Minute {
		t.Fatalf("lastNStart: %v %v", cut, ok)
	}
	if got := read("host.name:b", 100); len(got) != 100 || got[0] != "m1" || got[99] != "m199" {
		t.Fatalf("filtered: %d rows %q…%q", len(got), got[0], got[len(got)-1])
	}
}

// The arrival time travels in binary (event.Arrived) and is stored as
// event.ingested, with milliseconds, winning over a sender's field of that
// name; its digest is the stored row's.
func TestArrivalStoredAsIngested(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	s := openTest(t, now)
	arrived := now.Add(-30 * time.Second).Add(123456789)
	e := ev(now.Add(-time.Minute), "message", "hello", "event.ingested", "1999-01-01T00:00:00Z", "vigil.id", "1-0")
	e.Arrived = arrived
	s.Add([]event.Event{e})
	s.Flush()
	rows := search(t, s, Request{Query: "*", Start: now.Add(-time.Hour), End: now.Add(time.Second)})
	if len(rows) != 1 || rows[0]["event.ingested"] != arrived.Format("2006-01-02T15:04:05.000Z") {
		t.Fatalf("rows %v, want event.ingested %s", rows, arrived.Format("2006-01-02T15:04:05.000Z"))
	}
	var got []StoredEvent
	if err := s.ScanDigests(context.Background(), now.Add(-time.Hour), now.Add(time.Second), func(se StoredEvent) error {
		got = append(got, se)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Digest != EventDigest(&e) {
		t.Fatalf("stored digest differs from the event's: %+v", got)
	}
}

// TestBatchArrivalsEachStoredAsIngested: Add writes an arrival time as
// text once per millisecond of a batch; events of the same millisecond
// share it and the next millisecond gets its own, and after the first
// event of a millisecond the conversion allocates nothing.
func TestBatchArrivalsEachStoredAsIngested(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	s := openTest(t, now)
	base := now.Add(-30 * time.Second).Add(7 * time.Millisecond)
	var batch []event.Event
	for i, d := range []time.Duration{0, 300 * time.Microsecond, time.Millisecond, time.Millisecond + 1, 25 * time.Hour} {
		e := ev(now.Add(-time.Minute), "message", "hello", "vigil.id", fmt.Sprintf("1-%d", i))
		e.Arrived = base.Add(d)
		batch = append(batch, e)
	}
	s.Add(batch)
	s.Flush()
	rows := search(t, s, Request{Query: "*", Start: now.Add(-time.Hour), End: now.Add(time.Second)})
	got := map[string]string{}
	for _, r := range rows {
		got[r["vigil.id"]] = r["event.ingested"]
	}
	for i, e := range batch {
		if want := e.Arrived.Format("2006-01-02T15:04:05.000Z"); got[fmt.Sprintf("1-%d", i)] != want {
			t.Errorf("event %d: event.ingested %q, want %q", i, got[fmt.Sprintf("1-%d", i)], want)
		}
	}

	var cache ingestedText
	fields := appendRowWith(nil, &batch[0], &cache)
	if n := testing.AllocsPerRun(100, func() { fields = appendRowWith(fields[:0], &batch[1], &cache) }); n != 0 {
		t.Fatalf("%.1f allocations converting an event of the same millisecond, want 0", n)
	}
}

// TestAppendRowFirstNameWins: a row keeps the first value of each name
// and every distinct name once, in order, in rows small and large (the
// name filter's "maybe" is always checked against the row).
func TestAppendRowFirstNameWins(t *testing.T) {
	for _, n := range []int{3, 40, 700} {
		ev := event.Event{Time: time.Unix(1, 0)}
		distinct := n/2 + 1
		for i := range n {
			ev.Fields = append(ev.Fields, event.Field{Name: fmt.Sprintf("f%d.x", i%distinct), Value: strconv.Itoa(i)})
		}
		row := appendRow(nil, &ev)
		if len(row) != distinct {
			t.Fatalf("%d fields: row of %d, want %d", n, len(row), distinct)
		}
		for i, f := range row {
			if f.Name != fmt.Sprintf("f%d.x", i) || f.Value != strconv.Itoa(i) {
				t.Fatalf("%d fields: field %d is %s=%s", n, i, f.Name, f.Value)
			}
		}
	}
}
