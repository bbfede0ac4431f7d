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
