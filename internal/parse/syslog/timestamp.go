package syslog

import (
	"strconv"
	"time"
)

// stamp is a timestamp as read from a message, before a year or zone is
// chosen for it.
type stamp struct {
	year, day, hour, min, sec, nsec int
	month                           time.Month
	hasZone                         bool
	offset                          int // seconds east of UTC, when hasZone
}

// scanTimestamp reads a timestamp at s[i:]. It knows
//
//	Nov 28 10:00:01      Nov  8 10:00:01      Nov 08 10:00:01.123
//	*Nov 8 10:00:01.123  (Cisco: '*' or '.' for unsynchronised clocks)
//	Nov 28 2024 10:00:01 (Cisco ASA)    2024 Nov 28 10:00:01 (Cisco NX-OS)
//	Nov 28 10:00:01 2024 (HP/Aruba)
//	2024-11-28T10:00:01[.123456789][Z|+01:00|+0100]   (RFC 3339 / ISO 8601)
//
// found is false when s[i:] does not have the shape of a timestamp (the
// message then has none); err is set when it has the shape but a field is
// out of range. end is the index after the timestamp.
func scanTimestamp(s string, i int) (ts stamp, end int, found bool, err *ParseError) {
	if i < len(s) && (s[i] == '*' || s[i] == '.') {
		i++
	}
	if i >= len(s) {
		return ts, 0, false, nil
	}
	start := i
	c := s[i]
	switch {
	case c >= '0' && c <= '9':
		// 2024-11-28T... or 2024 Nov 28 ...
		y, j := scanFixedDigits(s, i, 4)
		if j < 0 || j >= len(s) {
			return ts, 0, false, nil
		}
		if s[j] == '-' {
			return scanISO(s, start, y, j)
		}
		if s[j] != ' ' {
			return ts, 0, false, nil
		}
		ts, end, found, err = scanStamp(s, j+1)
		ts.year = y
		return ts, end, found, err
	case c >= 'A' && c <= 'z':
		return scanStamp(s, i)
	}
	return ts, 0, false, nil
}

// scanStamp reads "Mmm dd [yyyy ]hh:mm:ss[.frac]".
func scanStamp(s string, i int) (ts stamp, end int, found bool, err *ParseError) {
	if len(s)-i < 3 {
		return ts, 0, false, nil
	}
	ts.month = monthOf(s[i], s[i+1], s[i+2])
	if ts.month == 0 {
		return ts, 0, false, nil
	}
	j := i + 3
	if j >= len(s) || s[j] != ' ' {
		return ts, 0, false, nil
	}
	for j < len(s) && s[j] == ' ' {
		j++
	}
	dayAt := j
	ts.day, j = scanDigits(s, j, 2)
	if j < 0 || j >= len(s) || s[j] != ' ' {
		return ts, 0, false, nil
	}
	for j < len(s) && s[j] == ' ' {
		j++
	}
	// Optional year before the time (Cisco ASA "Nov 28 2024 10:00:01").
	if y, k := scanFixedDigits(s, j, 4); k > 0 && k < len(s) && s[k] == ' ' {
		ts.year = y
		j = k + 1
	}
	timeAt := j
	j, ok := scanClock(s, j, &ts)
	if !ok {
		return ts, 0, false, nil
	}
	// Optional year after the time (HP/Aruba "Nov 28 10:00:01 2024 sw1 ...").
	if ts.year == 0 && j < len(s) && s[j] == ' ' {
		if y, k := scanFixedDigits(s, j+1, 4); k > 0 && y >= 1970 && y < 2100 && (k == len(s) || s[k] == ' ') {
			ts.year, j = y, k
		}
	}
	if ts.day < 1 || ts.day > 31 {
		return ts, 0, true, &ParseError{Format: "rfc3164", Offset: dayAt, Reason: "invalid timestamp: day " + strconv.Itoa(ts.day) + " out of range"}
	}
	if e := checkClock(&ts, timeAt); e != nil {
		return ts, 0, true, e
	}
	return ts, j, true, nil
}

// scanISO reads the rest of an RFC 3339 timestamp whose year ended at j.
func scanISO(s string, start, year, j int) (ts stamp, end int, found bool, err *ParseError) {
	ts.year = year
	var mon int
	mon, j = scanFixedDigits(s, j+1, 2)
	if j < 0 || j >= len(s) || s[j] != '-' {
		return ts, 0, false, nil
	}
	ts.day, j = scanFixedDigits(s, j+1, 2)
	if j < 0 || j >= len(s) || (s[j] != 'T' && s[j] != 't') {
		return ts, 0, false, nil
	}
	timeAt := j + 1
	j, ok := scanClock(s, j+1, &ts)
	if !ok {
		return ts, 0, false, nil
	}
	if j < len(s) {
		switch c := s[j]; c {
		case 'Z', 'z':
			ts.hasZone = true
			j++
		case '+', '-':
			h, k := scanN(s, j+1, 2)
			if k < 0 {
				return ts, 0, false, nil
			}
			if k < len(s) && s[k] == ':' {
				k++
			}
			m, k2 := scanFixedDigits(s, k, 2)
			if k2 < 0 || h > 23 || m > 59 {
				return ts, 0, true, &ParseError{Format: "rfc3164", Offset: j, Reason: "invalid timestamp: bad zone offset"}
			}
			ts.hasZone = true
			ts.offset = h*3600 + m*60
			if c == '-' {
				ts.offset = -ts.offset
			}
			j = k2
		}
	}
	if mon < 1 || mon > 12 {
		return ts, 0, true, &ParseError{Format: "rfc3164", Offset: start + 5, Reason: "invalid timestamp: month " + strconv.Itoa(mon) + " out of range"}
	}
	ts.month = time.Month(mon)
	if ts.day < 1 || ts.day > 31 {
		return ts, 0, true, &ParseError{Format: "rfc3164", Offset: start + 8, Reason: "invalid timestamp: day " + strconv.Itoa(ts.day) + " out of range"}
	}
	if e := checkClock(&ts, timeAt); e != nil {
		return ts, 0, true, e
	}
	return ts, j, true, nil
}

// scanClock reads "hh:mm:ss[.frac]" (frac of 1 to 9 digits; a comma is
// accepted for the dot).
func scanClock(s string, j int, ts *stamp) (int, bool) {
	ts.hour, j = scanDigits(s, j, 2)
	if j < 0 || j >= len(s) || s[j] != ':' {
		return 0, false
	}
	ts.min, j = scanFixedDigits(s, j+1, 2)
	if j < 0 || j >= len(s) || s[j] != ':' {
		return 0, false
	}
	ts.sec, j = scanFixedDigits(s, j+1, 2)
	if j < 0 {
		return 0, false
	}
	if j+1 < len(s) && (s[j] == '.' || s[j] == ',') && s[j+1] >= '0' && s[j+1] <= '9' {
		j++
		n, scale := 0, 100000000
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			n += int(s[j]-'0') * scale
			scale /= 10
			j++
		}
		if scale == 0 && j < len(s) && s[j] >= '0' && s[j] <= '9' {
			return 0, false // more than 9 digits
		}
		ts.nsec = n
	}
	return j, true
}

func checkClock(ts *stamp, at int) *ParseError {
	switch {
	case ts.hour > 23:
		return &ParseError{Format: "rfc3164", Offset: at, Reason: "invalid timestamp: hour " + strconv.Itoa(ts.hour) + " out of range"}
	case ts.min > 59:
		return &ParseError{Format: "rfc3164", Offset: at + 3, Reason: "invalid timestamp: minute " + strconv.Itoa(ts.min) + " out of range"}
	case ts.sec > 60:
		return &ParseError{Format: "rfc3164", Offset: at + 6, Reason: "invalid timestamp: second " + strconv.Itoa(ts.sec) + " out of range"}
	}
	return nil
}

// scanDigits reads 1 to max digits at s[i:]; j is -1 when there are none.
func scanDigits(s string, i, max int) (v, j int) {
	j = i
	for j < len(s) && j-i < max && s[j] >= '0' && s[j] <= '9' {
		v = v*10 + int(s[j]-'0')
		j++
	}
	if j == i || (j < len(s) && s[j] >= '0' && s[j] <= '9') {
		return 0, -1
	}
	return v, j
}

// scanFixedDigits reads exactly n digits at s[i:] (not followed by
// another digit); j is -1 otherwise.
func scanFixedDigits(s string, i, n int) (v, j int) {
	v, j = scanDigits(s, i, n)
	if j-i != n {
		return 0, -1
	}
	return v, j
}

// scanN reads exactly n digits at s[i:], whatever follows; j is -1
// otherwise.
func scanN(s string, i, n int) (v, j int) {
	if len(s)-i < n {
		return 0, -1
	}
	for j = i; j < i+n; j++ {
		if s[j] < '0' || s[j] > '9' {
			return 0, -1
		}
		v = v*10 + int(s[j]-'0')
	}
	return v, j
}

// monthOf returns the month named by three letters, any case, or 0.
func monthOf(a, b, c byte) time.Month {
	k := uint32(a|0x20)<<16 | uint32(b|0x20)<<8 | uint32(c|0x20)
	switch k {
	case 'j'<<16 | 'a'<<8 | 'n':
		return time.January
	case 'f'<<16 | 'e'<<8 | 'b':
		return time.February
	case 'm'<<16 | 'a'<<8 | 'r':
		return time.March
	case 'a'<<16 | 'p'<<8 | 'r':
		return time.April
	case 'm'<<16 | 'a'<<8 | 'y':
		return time.May
	case 'j'<<16 | 'u'<<8 | 'n':
		return time.June
	case 'j'<<16 | 'u'<<8 | 'l':
		return time.July
	case 'a'<<16 | 'u'<<8 | 'g':
		return time.August
	case 's'<<16 | 'e'<<8 | 'p':
		return time.September
	case 'o'<<16 | 'c'<<8 | 't':
		return time.October
	case 'n'<<16 | 'o'<<8 | 'v':
		return time.November
	case 'd'<<16 | 'e'<<8 | 'c':
		return time.December
	}
	return 0
}

// resolve turns a stamp into a time. A stamp without zone is taken in loc;
// a stamp without year gets the latest year that does not put it more than
// tolerance after now. ok is false for a date that exists in no year
// considered (e.g. Feb 30).
func resolve(ts *stamp, loc *time.Location, now time.Time, tolerance time.Duration) (t time.Time, ok bool) {
	if ts.sec == 60 {
		ts.sec, ts.nsec = 59, 999999999 // a leap second, kept in its minute
	}
	if ts.hasZone {
		t = time.Date(ts.year, ts.month, ts.day, ts.hour, ts.min, ts.sec, ts.nsec, time.UTC)
		if t.Day() != ts.day {
			return t, false
		}
		return t.Add(-time.Duration(ts.offset) * time.Second), true
	}
	if ts.year != 0 {
		t = time.Date(ts.year, ts.month, ts.day, ts.hour, ts.min, ts.sec, ts.nsec, loc)
		return t, t.Day() == ts.day
	}
	limit := now.Add(tolerance)
	y := now.In(loc).Year() + 1
	// Feb 29 may need to go back up to 8 years (1896 → 1904 had none in
	// between for centuries not divisible by 400).
	for k := 0; k < 10; k++ {
		t = time.Date(y-k, ts.month, ts.day, ts.hour, ts.min, ts.sec, ts.nsec, loc)
		if t.Day() == ts.day && !t.After(limit) {
			return t, true
		}
	}
	return t, false
}
