package event

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	f := func(in string, want time.Time) {
		t.Helper()
		got, err := ParseTime(in)
		if err != nil {
			t.Fatalf("ParseTime(%q): %v", in, err)
		}
		if !got.Equal(want) {
			t.Fatalf("ParseTime(%q) = %v, want %v", in, got, want)
		}
	}
	base := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	f("2026-11-28T10:00:00Z", base)
	f("2026-11-28T11:00:00+01:00", base)
	f("2026-11-28T10:00:00.123456789Z", base.Add(123456789))
	f("2026-11-28T10:00:00", base)
	f("2026-11-28 10:00:00", base)
	f("2026-11-28 10:00:00.5", base.Add(500*time.Millisecond))
	f("1795860000", base)
	f("1795860000.25", base.Add(250*time.Millisecond))
	f("1795860000000", base)
	f("1795860000000000", base)
	f("1795860000000000000", base)
	f("Sat, 28 Nov 2026 10:00:00 +0000", base)
	for _, bad := range []string{"", "yesterday", "2026-13-01T00:00:00Z", "1e30"} {
		if _, err := ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q) accepted", bad)
		}
	}
}

func TestClampFuture(t *testing.T) {
	arrived := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	f := func(at time.Time, want time.Time, skew string) {
		t.Helper()
		e := Event{Time: at}
		changed := ClampFuture(&e, arrived, 2*time.Minute)
		if !e.Time.Equal(want) || changed != (skew != "") || e.Value(FieldTimeSkew) != skew {
			t.Fatalf("ClampFuture(%v): time %v changed %v skew %q, want %v and skew %q", at, e.Time, changed, e.Value(FieldTimeSkew), want, skew)
		}
		if changed && e.Value(FieldSenderTime) != at.Format(time.RFC3339Nano) {
			t.Fatalf("original time %q", e.Value(FieldSenderTime))
		}
	}
	f(arrived, arrived, "")
	f(arrived.Add(-30*24*time.Hour), arrived.Add(-30*24*time.Hour), "") // old events are kept
	f(arrived.Add(2*time.Minute), arrived.Add(2*time.Minute), "")       // within the skew
	f(arrived.Add(3*time.Hour), arrived, "10800")
	f(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), arrived, "96811200") // 1,120 days and 12 hours
}
