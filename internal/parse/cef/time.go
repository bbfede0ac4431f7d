package cef

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Time layouts of the CEF specification ("MMM dd yyyy HH:mm:ss.SSS zzz",
// …), without their zone, which is handled separately because Go maps an
// unknown zone abbreviation to UTC silently.
var cefLayouts = []string{
	"Jan _2 2006 15:04:05.000",
	"Jan _2 2006 15:04:05",
	"Jan _2 15:04:05.000",
	"Jan _2 15:04:05",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
}

var errTime = errors.New("not a recognised timestamp")

// ParseTime parses a timestamp in one of the forms CEF and LEEF devices
// send: milliseconds (or, below 10^11, seconds) since the Unix epoch, the
// specification's "MMM dd [yyyy] HH:mm:ss[.SSS] [zone]" forms and RFC 3339 /
// ISO 8601. loc is used when the text has no zone; a year-less timestamp
// gets the year of now, or the year before when that would put it more than
// a day in the future.
func ParseTime(s string, loc *time.Location, now func() time.Time) (time.Time, error) {
	return parseTime(s, loc, now)
}

func parseTime(s string, loc *time.Location, now func() time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errTime
	}
	if loc == nil {
		loc = time.UTC
	}
	if isDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || len(s) > 16 {
			return time.Time{}, errTime
		}
		if n < 1e11 {
			return time.Unix(n, 0).UTC(), nil
		}
		return time.UnixMilli(n).UTC(), nil
	}
	if s[0] >= '0' && s[0] <= '9' {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, nil
		}
	}
	body, zone := splitZone(s)
	if zone != nil {
		loc = zone
	}
	layouts := cefLayouts[4:]
	if c := body[0]; c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' {
		// "Mmm dd [yyyy] HH:mm:ss[.SSS]": pick the layout by shape.
		i := 0
		if strings.Count(body, " ") < 3 {
			i = 2
		}
		if strings.IndexByte(body, '.') < 0 {
			i++
		}
		if t, err := time.ParseInLocation(cefLayouts[i], body, loc); err == nil {
			if t.Year() == 0 {
				t = withYear(t, now)
			}
			return t, nil
		}
		layouts = cefLayouts[:4] // "Sep  9 …" and other spacing
	}
	for _, layout := range layouts {
		t, err := time.ParseInLocation(layout, body, loc)
		if err != nil {
			continue
		}
		if t.Year() == 0 {
			t = withYear(t, now)
		}
		return t, nil
	}
	return time.Time{}, errTime
}

func withYear(t time.Time, now func() time.Time) time.Time {
	if now == nil {
		now = time.Now
	}
	n := now()
	y := n.Year()
	t = t.AddDate(y, 0, 0)
	if t.After(n.Add(24 * time.Hour)) {
		t = t.AddDate(-1, 0, 0)
	}
	return t
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

// SplitZone takes a trailing time zone word ("UTC", "PST", "GMT+02:00",
// "+0200", "Europe/Berlin") off s and returns the rest and its location, or
// s and nil when the last word is not a zone. Unknown abbreviations are not
// zones (Go would read them as UTC).
func SplitZone(s string) (string, *time.Location) { return splitZone(s) }

// splitZone takes a trailing zone (an abbreviation, "GMT+02:00", "+0200",
// "Z" or an IANA name) off s. It returns s unchanged and nil when the last
// word is not a zone.
func splitZone(s string) (string, *time.Location) {
	i := strings.LastIndexByte(s, ' ')
	if i < 0 {
		return s, nil
	}
	if l := zoneLocation(s[i+1:]); l != nil {
		return strings.TrimSpace(s[:i]), l
	}
	return s, nil
}

// zones are the abbreviations accepted; others are refused rather than read
// as UTC.
var zones = map[string]int{
	"UTC": 0, "GMT": 0, "Z": 0, "UT": 0,
	"EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600,
	"MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
	"AKST": -9 * 3600, "AKDT": -8 * 3600, "HST": -10 * 3600,
	"WET": 0, "WEST": 3600, "BST": 3600, "CET": 3600, "CEST": 2 * 3600,
	"EET": 2 * 3600, "EEST": 3 * 3600, "IST": 19800, "JST": 9 * 3600,
	"AEST": 10 * 3600, "AEDT": 11 * 3600,
}

// zoneLocation returns the location named by a zone word, or nil.
func zoneLocation(z string) *time.Location {
	z = strings.TrimSpace(z)
	if z == "" {
		return nil
	}
	if off, ok := zones[strings.ToUpper(z)]; ok {
		if off == 0 {
			return time.UTC
		}
		return time.FixedZone(strings.ToUpper(z), off)
	}
	u := strings.ToUpper(z)
	if strings.HasPrefix(u, "GMT") || strings.HasPrefix(u, "UTC") {
		u = u[3:]
	}
	if off, ok := numericOffset(u); ok {
		return time.FixedZone(z, off)
	}
	if strings.Contains(z, "/") && len(z) < 64 {
		if l, err := time.LoadLocation(z); err == nil {
			return l
		}
	}
	return nil
}

// numericOffset parses +hh, +hhmm, +hh:mm (or -).
func numericOffset(s string) (int, bool) {
	if len(s) < 3 || (s[0] != '+' && s[0] != '-') {
		return 0, false
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	d := strings.ReplaceAll(s[1:], ":", "")
	if !isDigits(d) || (len(d) != 2 && len(d) != 4) {
		return 0, false
	}
	h, _ := strconv.Atoi(d[:2])
	m := 0
	if len(d) == 4 {
		m, _ = strconv.Atoi(d[2:])
	}
	if h > 14 || m > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60), true
}

// prefixInfo is what a syslog header before the record says.
type prefixInfo struct {
	pri  string
	time time.Time
	host string
}

// SyslogPrefix is what a syslog header in front of a CEF or LEEF record
// says: its priority (without brackets, "" when absent), timestamp (zero
// when absent or unreadable) and host name.
type SyslogPrefix struct {
	Priority string
	Time     time.Time
	Host     string
}

// ParseSyslogPrefix reads the syslog header that may precede a CEF or LEEF
// record in a file or a syslog message that was not parsed as syslog:
// "[<PRI>][1 ]TIMESTAMP HOST [more words]". TIMESTAMP is RFC 3339 or
// "Mmm dd [yyyy] hh:mm:ss". Words it cannot read are ignored.
func ParseSyslogPrefix(prefix []byte, loc *time.Location, now func() time.Time) SyslogPrefix {
	p := parsePrefix(prefix, Options{Location: loc, Now: now}.withDefaults())
	return SyslogPrefix{Priority: p.pri, Time: p.time, Host: p.host}
}

func parsePrefix(b []byte, opt Options) prefixInfo {
	var p prefixInfo
	s := strings.TrimSpace(string(b))
	if strings.HasPrefix(s, "<") {
		if j := strings.IndexByte(s, '>'); j > 1 && j <= 4 && isDigits(s[1:j]) {
			p.pri = s[1:j]
			s = s[j+1:]
		}
	}
	if strings.HasPrefix(s, "1 ") {
		s = s[2:]
	}
	words := strings.Fields(s)
	if len(words) == 0 {
		return p
	}
	// RFC 3339 timestamp, then host.
	if c := words[0][0]; c < '0' || c > '9' {
		// Not an RFC 3339 timestamp.
	} else if t, err := time.Parse(time.RFC3339Nano, words[0]); err == nil {
		p.time = t
		if len(words) > 1 && words[1] != "-" {
			p.host = words[1]
		}
		return p
	}
	// "Mmm dd hh:mm:ss host" or "Mmm dd yyyy hh:mm:ss host".
	if len(words) >= 3 && len(words[0]) == 3 {
		n := 3
		if !strings.Contains(words[2], ":") {
			n = 4 // a year before the time
		}
		if len(words) >= n {
			if t, err := parseTime(strings.Join(words[:n], " "), opt.Location, opt.Now); err == nil {
				p.time = t
				if len(words) > n {
					p.host = words[n]
				}
				return p
			}
		}
	}
	return p
}
