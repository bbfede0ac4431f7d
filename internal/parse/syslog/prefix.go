package syslog

import "time"

// prefix is what precedes the time stamp in syslog variants that put a
// few words before it, as some collectors and archives write their lines:
//
//	node17 Jan  4 07:00:01 crond[1234]: …                    (host first)
//	2006.01.04 node17 Jan  4 07:00:01 node17/node17 crond[1234]: …
//	- 1136358001 2006.01.04 node17 Jan  4 07:00:01 node17/node17 crond[1234]: …
//
// The words may be an alert flag ("-" or a category in capitals), a Unix
// time, a date with a year (yyyy.mm.dd, yyyy-mm-dd, yyyy/mm/dd) and a host
// name. A date gives the stamp its year.
type prefix struct {
	words      int
	host       string // the last word that looks like a host name
	dated      bool   // a date was among the words
	year       int
	month, day int
	epoch      int64 // a Unix time among the words (0: none)
}

// maxPrefixWords bounds the words looked at before a time stamp.
const maxPrefixWords = 5

// scanPrefix reads up to maxPrefixWords words at s[i:] and returns where a
// time stamp would start after them. ok is false when a word is not of
// the kinds above, or when nothing but one non-host word precedes.
func scanPrefix(s string, i int) (p prefix, at int, ok bool) {
	for p.words < maxPrefixWords {
		j := i
		for j < len(s) && s[j] != ' ' {
			j++
		}
		if j == i || j >= len(s) || j-i > 64 {
			return p, 0, false
		}
		w := s[i:j]
		switch {
		case w == "-":
		case isDigits(w) && len(w) >= 9 && len(w) <= 10:
			p.epoch = atoi64(w)
		case isDottedDate(w):
			p.dated = true
			p.year, p.month, p.day = int(atoi64(w[0:4])), int(atoi64(w[5:7])), int(atoi64(w[8:10]))
		case isHostWord(w):
			p.host = w
		default:
			return p, 0, false
		}
		p.words++
		i = skipSpaces(s, j)
		if looksLikeStamp(s, i) {
			return p, i, p.host != "" || p.dated || p.epoch != 0
		}
	}
	return p, 0, false
}

// looksLikeStamp is a cheap test for the start of a time stamp: a month
// name and a space, or four digits and '-'.
func looksLikeStamp(s string, i int) bool {
	if len(s)-i < 4 {
		return false
	}
	if monthOf(s[i], s[i+1], s[i+2]) != 0 && s[i+3] == ' ' {
		return true
	}
	return isDigits(s[i:i+4]) && len(s)-i > 4 && s[i+4] == '-'
}

// fits reports whether the prefix agrees with the stamp read after it: a
// date in the prefix must name the same day, a Unix time a day within 14
// hours of it (the stamp's zone is unknown).
func (p *prefix) fits(ts *stamp) bool {
	if p.dated {
		return int(ts.month) == p.month && ts.day == p.day && (ts.year == 0 || ts.year == p.year)
	}
	if p.epoch != 0 {
		return p.epochYear(ts) != 0
	}
	return true
}

// epochYear is the year in which the prefix's Unix time falls on the
// stamp's day, in some zone from UTC-14 to UTC+14, or 0.
func (p *prefix) epochYear(ts *stamp) int {
	t := time.Unix(p.epoch, 0).UTC()
	for _, off := range []time.Duration{0, -14 * time.Hour, 14 * time.Hour} {
		u := t.Add(off)
		if u.Month() == ts.month && u.Day() == ts.day && (ts.year == 0 || u.Year() == ts.year) {
			return u.Year()
		}
	}
	return 0
}

// apply gives a stamp without a year the prefix's year.
func (p *prefix) apply(ts *stamp) {
	if ts.year != 0 {
		return
	}
	if p.dated {
		ts.year = p.year
	} else if p.epoch != 0 {
		ts.year = p.epochYear(ts)
	}
}

// weak reports whether only host-like words preceded the stamp: then the
// line must go on with a tag to be taken as a header.
func (p *prefix) weak() bool { return p.words > 0 && !p.dated && p.epoch == 0 }

// isDottedDate reports whether w is yyyy.mm.dd, yyyy-mm-dd or yyyy/mm/dd
// with a plausible month and day.
func isDottedDate(w string) bool {
	if len(w) != 10 || !isDigits(w[0:4]) || !isDigits(w[5:7]) || !isDigits(w[8:10]) {
		return false
	}
	sep := w[4]
	if (sep != '.' && sep != '-' && sep != '/') || w[7] != sep {
		return false
	}
	m, d := atoi64(w[5:7]), atoi64(w[8:10])
	return m >= 1 && m <= 12 && d >= 1 && d <= 31
}

// isHostWord reports whether w can be a host name (or an alert category):
// host-name bytes, at least one letter, not ending with ':'.
func isHostWord(w string) bool {
	letter := false
	for k := 0; k < len(w); k++ {
		c := w[k]
		if !isHostByte(c) {
			return false
		}
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			letter = true
		}
	}
	return letter && w[len(w)-1] != ':'
}

func atoi64(s string) int64 {
	var v int64
	for k := 0; k < len(s); k++ {
		v = v*10 + int64(s[k]-'0')
	}
	return v
}
