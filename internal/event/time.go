package event

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// timeLayouts are the textual timestamp forms ParseTime accepts, most
// common first.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",       // no zone: UTC
	"2006-01-02 15:04:05.999999999Z07:00", // SQL-ish with zone
	"2006-01-02 15:04:05.999999999",       // SQL-ish: UTC
	time.RFC1123Z,
	time.RFC1123,
}

// ParseTime reads a timestamp as senders write them: RFC 3339 (with or
// without fraction and zone; no zone means UTC), "2006-01-02 15:04:05",
// RFC 1123, or a Unix epoch number in seconds, milliseconds, microseconds or
// nanoseconds (told apart by magnitude).
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty timestamp")
	}
	if c := s[0]; c >= '0' && c <= '9' || c == '-' {
		if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, ":T") {
			return epoch(f)
		}
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised timestamp %q: want RFC 3339 (2026-11-28T10:00:00Z) or Unix epoch", truncate(s, 64))
}

func epoch(f float64) (time.Time, error) {
	a := math.Abs(f)
	switch {
	case a < 1e11: // seconds (until year 5138)
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	case a < 1e14:
		return time.UnixMicro(int64(f * 1e3)).UTC(), nil
	case a < 1e17:
		return time.UnixMicro(int64(f)).UTC(), nil
	case a < 9.2e18:
		return time.Unix(0, int64(f)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("epoch timestamp %v out of range", f)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Fields of an event whose own time was not believed.
const (
	// FieldSenderTime is the time the sender gave, when the event is
	// kept under its arrival time instead (RFC 3339).
	FieldSenderTime = "vigil.sender_time"
	// FieldTimeSkew is how far, in whole seconds, the sender's time was
	// ahead of the event's arrival.
	FieldTimeSkew = "vigil.time_skew"
)

// DefaultMaxSkew is how far ahead of its arrival an event's time is
// believed by default: clocks synchronised by NTP agree within seconds,
// and a little more covers devices that drift between synchronisations.
const DefaultMaxSkew = 2 * time.Minute

// ClampFuture keeps an event from claiming to have happened after it
// arrived: when its time is more than skew after arrival, the time becomes
// the arrival time, the claimed one is kept in vigil.sender_time and the
// difference in vigil.time_skew. It reports whether
// it changed the event. Earlier times are kept: old events are normal
// (backlogs, imports) and only ever place themselves in the past.
func ClampFuture(e *Event, arrival time.Time, skew time.Duration) bool {
	if arrival.IsZero() || !e.Time.After(arrival.Add(skew)) {
		return false
	}
	e.Set(FieldSenderTime, e.Time.UTC().Format(time.RFC3339Nano))
	e.Set(FieldTimeSkew, strconv.FormatInt(int64(e.Time.Sub(arrival)/time.Second), 10))
	e.Time = arrival
	return true
}

// TakeTimestamp moves an event's @timestamp field into its time (JSON
// senders' events). Without one, or with one that does not parse (the
// text then goes to vigil.original_timestamp and the reason to
// vigil.parse_error), the time is left zero: the normaliser may still find
// the event's time in its fields (NXLog's zoneless EventTime, read in the
// configured zone), and the caller gives the arrival time to an event
// that still has none (ingest.Stamp does).
func TakeTimestamp(e *Event) {
	e.Time = time.Time{}
	v, ok := e.Get("@timestamp")
	if !ok {
		return
	}
	e.Delete("@timestamp")
	t, err := ParseTime(v)
	if err != nil {
		e.Set("vigil.original_timestamp", v)
		e.Set(FieldParseError, "@timestamp: "+err.Error())
		return
	}
	e.Time = t
}

// FormatIngested writes an arrival time as stored in event.ingested: UTC
// with milliseconds, "2006-01-02T15:04:05.000Z", the form the log store
// keeps as a compact timestamp column rather than text.
func FormatIngested(t time.Time) string {
	var b [24]byte
	return string(t.UTC().AppendFormat(b[:0], "2006-01-02T15:04:05.000Z07:00"))
}
