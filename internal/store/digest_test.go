package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

// TestCanonMatchesLibrary stores values that the library keeps in typed
// columns (and prints back differently) and checks that the digest of each
// stored row equals the digest of the event that was added.
func TestCanonMatchesLibrary(t *testing.T) {
	now := time.Now().UTC()
	s := openTest(t, now)
	groups := map[string][]string{
		"uint":  {"0", "7", "1_000", "18446744073709551615", "255", "65535", "4294967296"},
		"int":   {"-0", "-5", "12", "-9223372036854775808", "-1_000"},
		"float": {"1.0", "12.30", "-0.0", "0.10", "1_0.5", "3", "0.000001", "123456789012345678.5", "-2.50"},
		"ipv4":  {"010.000.000.001", "1.2.3.4", "255.255.255.255", "0.0.0.0", "01.1.1.1"},
		"iso":   {"2026-12-07T12:03:23.500Z", "2026-02-30T00:00:00.000Z", "2026-12-07 12:03:23.500Z", "2026-12-07T12:0a:23.500Z", "1999-13-01T00:00:00.999Z"},
		"mixed": {"1.0", "x", "010.000.000.001", "-0", ""},
	}
	gen := map[string]func(i int) string{
		"uint":  func(i int) string { return fmt.Sprint(1000 + i) },
		"int":   func(i int) string { return fmt.Sprint(-1000 - i) },
		"float": func(i int) string { return fmt.Sprintf("%d.%d0", i, i) },
		"ipv4":  func(i int) string { return fmt.Sprintf("10.0.%d.%03d", i/200, i%200) },
		"iso": func(i int) string {
			return now.Add(time.Duration(i) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
		},
		"mixed": func(i int) string { return fmt.Sprintf("v%d", i) },
	}
	var evs []event.Event
	for kind, vals := range groups {
		// Enough distinct values that the library does not keep a
		// dictionary; one stream per kind so each is its own block.
		for i := range 40 {
			vals = append(vals, gen[kind](i))
		}
		for i, v := range vals {
			e := ev(now.Add(-time.Minute), "message", "m", "host.name", kind, "v", v, "w", v+"")
			e.Set(event.FieldID, fmt.Sprintf("%s-%d", kind, i))
			evs = append(evs, e)
		}
	}
	// Odd shapes: duplicate names, empty values, reserved names, an event
	// the store files under its arrival time.
	odd := []event.Event{
		ev(now.Add(-time.Minute), "message", "dup", "a", "2", "a", "1", "b", ""),
		ev(now.Add(-time.Minute), "message", "", "_msg", "x", "_time", "y", "vigil.original_time", "2020-01-01T00:00:00Z", "", "empty name"),
		ev(now.Add(-800*24*time.Hour), "message", "too old"),
		ev(time.Time{}, "message", "no time"),
		ev(now.Add(-time.Minute), "message", strings.Repeat("long ", 1000)),
	}
	for i := range odd {
		odd[i].Set(event.FieldID, fmt.Sprintf("odd-%d", i))
	}
	evs = append(evs, odd...)
	want := map[string]Digest{}
	for i := range evs {
		want[evs[i].Value(event.FieldID)] = EventDigest(&evs[i])
	}
	s.Add(evs)
	s.Flush()
	seen := 0
	err := s.ScanDigests(context.Background(), now.Add(-24*time.Hour), now.Add(time.Hour), func(se StoredEvent) error {
		seen++
		w, ok := want[se.ID]
		if !ok {
			t.Errorf("stored row with unknown id %q", se.ID)
			return nil
		}
		if se.Digest != w {
			t.Errorf("row %s: stored digest differs from the added event's", se.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(evs) {
		t.Fatalf("scanned %d rows, added %d", seen, len(evs))
	}
	// A name given twice keeps its first value, as Event.Get reads it.
	rows := search(t, s, Request{Query: `vigil.id:="odd-0"`, Start: now.Add(-time.Hour), End: now.Add(time.Hour)})
	if len(rows) != 1 || rows[0]["a"] != "2" {
		t.Errorf("duplicate field: got %v, want a=2", rows)
	}
	// A digest changes with any value, name or the time.
	a := ev(now, "message", "x", "user.name", "alice")
	b := ev(now, "message", "x", "user.name", "alicf")
	c := ev(now, "message", "x", "user.nama", "alice")
	d := ev(now.Add(time.Nanosecond), "message", "x", "user.name", "alice")
	if EventDigest(&a) == EventDigest(&b) || EventDigest(&a) == EventDigest(&c) || EventDigest(&a) == EventDigest(&d) {
		t.Error("digest does not depend on every value, name and the time")
	}
	// Field order does not matter; the store does not keep it.
	e := ev(now, "user.name", "alice", "message", "x")
	if EventDigest(&a) != EventDigest(&e) {
		t.Error("digest depends on field order")
	}
}

func TestCanonValue(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := canonValue(in); got != want {
			t.Errorf("canonValue(%q) = %q, want %q", in, got, want)
		}
		if again := canonValue(canonValue(in)); again != want {
			t.Errorf("canonValue not idempotent on %q: %q", in, again)
		}
	}
	f("abc", "abc")
	f("007", "007")
	f("1_000", "1000")
	f("-0", "0")
	f("-0.0", "0")
	f("1.0", "1")
	f("12.30", "~f12.3")
	f("12.3", "~f12.3")
	f("-0.0", "0")
	f("0.000000711", "~f7.11e-07")
	f("010.000.000.001", "10.0.0.1")
	f("2026-12-07 12:03:23.500Z", "2026-12-07T12:03:23.500Z")
	f("1e3", "1e3")
	f("", "")
}

func FuzzCanonValue(f *testing.F) {
	for _, s := range []string{"1.0", "-0", "1_0.5", "010.0.0.1", "2026-12-07T12:0a:23.500Z", "18_446_744_073_709_551_615"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := canonValue(s)
		if canonValue(c) != c {
			t.Fatalf("canonValue(%q) = %q is not a fixed point", s, c)
		}
	})
}

// FuzzCanonConversion: a value stored in a float column comes back as the
// library prints its float; both must have one canonical form.
func FuzzCanonConversion(f *testing.F) {
	for _, s := range []string{"1.0", "0.000000711", "123456789012345678.5", "-0.0", "12.30", "3.14159265358979323", "1_0.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := parseFloat64Exact(s)
		if !ok {
			return
		}
		if _, isUint := parseUint64(s); isUint {
			return // an integer column, exact
		}
		if _, isInt := parseInt64(s); isInt {
			return
		}
		back := strconv.FormatFloat(v, 'f', -1, 64) // what the library prints
		if got, want := canonValue(back), canonValue(s); got != want {
			t.Fatalf("%q stored in a float column reads back %q: canonical %q, written %q", s, back, got, want)
		}
	})
}

// TestDigestReusesOrder: a digester that reuses the sorted order of the
// previous row's names gives every row the digest a fresh one gives.
func TestDigestReusesOrder(t *testing.T) {
	mk := func(kv ...string) *event.Event {
		e := &event.Event{Time: time.Unix(1700000000, 5)}
		for i := 0; i < len(kv); i += 2 {
			e.Fields = append(e.Fields, event.Field{Name: kv[i], Value: kv[i+1]})
		}
		return e
	}
	rows := []*event.Event{
		mk("user.name", "ann", "a", "1", "z", "x", "m", "3"),
		mk("user.name", "bob", "a", "2", "z", "y", "m", "4"), // same names, same order
		mk("z", "y", "user.name", "bob", "a", "2", "m", "4"), // same names, other order
		mk("z", "y", "user.name", "bob", "a", "2", "m", ""),  // an empty value left out
		mk("z", "y", "user.name", "bob", "a", "2", "m", "4"),
		mk("z", "y", "user.name", "bob", "a", "2", "m", "4", "n", "5"),
	}
	digest := func(d *digester, ev *event.Event) Digest {
		d.fields = appendRow(d.fields[:0], ev)
		d.ts = ev.Time.UTC().AppendFormat(d.ts[:0], time.RFC3339Nano)
		return d.digest(d.ts)
	}
	reused := new(digester)
	for i, ev := range rows {
		if got, want := digest(reused, ev), digest(new(digester), ev); got != want {
			t.Fatalf("row %d: digest %x with the order reused, %x fresh", i, got, want)
		}
	}
	// Rows that differ only in field order have one digest.
	if digest(reused, rows[1]) != digest(reused, rows[2]) {
		t.Fatal("field order changed the digest")
	}
	// A repeated name (scanned rows may hold one) is sorted by value
	// again in each row.
	d := new(digester)
	for _, vals := range [][2]string{{"1", "2"}, {"2", "1"}, {"1", "2"}} {
		d.pairs = append(d.pairs[:0], pair{"a", vals[0]}, pair{"a", vals[1]})
		got := d.sort()
		if got[0].value != "1" || got[1].value != "2" {
			t.Fatalf("repeated name: %v", got)
		}
	}
}
