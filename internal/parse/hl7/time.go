package hl7

import (
	"fmt"
	"strconv"
	"time"
)

// ParseTime parses an HL7 DTM/TS value: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ].
// Values without an offset are read in loc (UTC when nil).
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	orig := s
	// Offset.
	var zone *time.Location
	for i := 4; i < len(s); i++ {
		if s[i] == '+' || s[i] == '-' {
			z := s[i:]
			if len(z) != 5 || !digits(z[1:]) {
				return time.Time{}, fmt.Errorf("time %q: bad offset %q", orig, z)
			}
			h, _ := strconv.Atoi(z[1:3])
			m, _ := strconv.Atoi(z[3:5])
			if h > 14 || m > 59 {
				return time.Time{}, fmt.Errorf("time %q: bad offset %q", orig, z)
			}
			secs := h*3600 + m*60
			if z[0] == '-' {
				secs = -secs
			}
			zone = time.FixedZone("", secs)
			s = s[:i]
			break
		}
	}
	frac := ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			frac, s = s[i+1:], s[:i]
			break
		}
	}
	if !digits(s) || len(s) < 4 || len(s) > 14 || len(s)%2 != 0 || (frac != "" && (len(s) != 14 || len(frac) > 4 || !digits(frac))) {
		return time.Time{}, fmt.Errorf("time %q: want YYYY[MM[DD[HH[MM[SS[.SSSS]]]]]][+/-ZZZZ]", orig)
	}
	num := func(a, b int, def int) int {
		if len(s) < b {
			return def
		}
		v, _ := strconv.Atoi(s[a:b])
		return v
	}
	y, mo, d := num(0, 4, 0), num(4, 6, 1), num(6, 8, 1)
	h, mi, sec := num(8, 10, 0), num(10, 12, 0), num(12, 14, 0)
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 {
		return time.Time{}, fmt.Errorf("time %q: value out of range", orig)
	}
	ns := 0
	if frac != "" {
		f := frac
		for len(f) < 9 {
			f += "0"
		}
		ns, _ = strconv.Atoi(f)
	}
	if zone != nil {
		loc = zone
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, ns, loc)
	if t.Day() != d {
		return time.Time{}, fmt.Errorf("time %q: no such day", orig)
	}
	return t, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// FormatTime formats t as an HL7 DTM with seconds and offset.
func FormatTime(t time.Time) string {
	return t.Format("20060102150405-0700")
}
