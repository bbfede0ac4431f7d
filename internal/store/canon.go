package store

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// canonValue is the form of a value that survives storage unchanged.
//
// The storage library keeps a block's column in a typed encoding when all
// its values parse as one type (unsigned, signed, float, IPv4, ISO 8601
// time), and prints them back from the number: "1.0" comes back as "1",
// "1_000" as "1000", "010.000.000.001" as "10.0.0.1", depending on the
// other values of the block. A digest of stored events must not depend on
// that, so both sides hash canonValue of each value: the value printed
// the way the library prints the first type it parses as, repeated until
// it no longer changes ("-0.0" → "-0" → "0"). The parsers below follow
// the library's (lib/logstorage/values_encoder.go, v1.52.1) exactly,
// quirks included; TestCanonMatchesLibrary stores every kind of value in
// typed columns and checks that the canonical forms agree.
func canonValue(v string) string {
	var scratch [40]byte
	return canonValueBuf(v, scratch[:0])
}

// canonValueBuf is canonValue printing into buf; it returns v itself, with
// no allocation, when v is already canonical (most values).
func canonValueBuf(v string, buf []byte) string {
	for range 4 {
		c, same := canonOnce(v, buf[:0])
		if same {
			return v
		}
		v = c
	}
	return v
}

// canonOnce prints v as the library would print it back; same says v is
// already in that form.
func canonOnce(v string, buf []byte) (string, bool) {
	if v == "" {
		return v, true
	}
	if c := v[0]; !(c >= '0' && c <= '9' || c == '-' || c == '_') {
		return v, true // no number, address or timestamp starts otherwise
	}
	if n, ok := parseUint64(v); ok {
		buf = strconv.AppendUint(buf, n, 10)
	} else if n, ok := parseInt64(v); ok {
		buf = strconv.AppendInt(buf, n, 10)
	} else if f, ok := parseFloat64Exact(v); ok {
		buf = appendCanonFloat(buf, f)
	} else if ip, ok := parseIPv4(v); ok {
		for i := 3; i >= 0; i-- {
			buf = strconv.AppendUint(buf, uint64(ip>>(8*i)&0xff), 10)
			if i > 0 {
				buf = append(buf, '.')
			}
		}
	} else if ns, ok := parseTimestampISO8601(v); ok {
		buf = time.Unix(0, ns).UTC().AppendFormat(buf, "2006-01-02T15:04:05.000Z")
	} else if f, ok := longDecimal(v); ok {
		// The library prints some floats with more digits than its own
		// parser takes back: such text is a float too.
		buf = appendCanonFloat(buf, f)
	} else {
		return v, true
	}
	if string(buf) == v {
		return v, true
	}
	return string(buf), false
}

// appendCanonFloat prints a value the library parses as a float with a
// fraction. Its parser is not exactly rounded (a fused multiply-add of the
// digits and a power of ten), so the text it prints back may parse to a
// float a few units in the last place away; both print the same here: an
// integral value as its integer digits (which the integer rules then keep
// exactly), any other to 12 significant digits, marked with "~f" so no
// stored text is taken for it. Such values are sealed to 12 significant
// digits, not to the byte (docs/compliance.md says so).
func appendCanonFloat(buf []byte, f float64) []byte {
	if f == math.Trunc(f) && !math.IsInf(f, 0) {
		return strconv.AppendFloat(buf, f, 'f', -1, 64)
	}
	buf = append(buf, "~f"...)
	return strconv.AppendFloat(buf, f, 'g', 12, 64)
}

// longDecimal parses a plain decimal with a fraction (-12.5, 0.000_1)
// that the library's float parser refuses for its length.
func longDecimal(s string) (float64, bool) {
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == '_':
		case c == '-' && i == 0:
		case c == '.' && !dot && i > 0 && i < len(s)-1:
			dot = true
		default:
			return 0, false
		}
	}
	if !dot {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	return f, err == nil
}

func parseUint64(s string) (uint64, bool) {
	if len(s) == 0 || len(s) > len("18_446_744_073_709_551_615") {
		return 0, false
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	n := uint64(0)
	for i := range len(s) {
		ch := s[i]
		if ch == '_' {
			continue
		}
		if ch < '0' || ch > '9' {
			return 0, false
		}
		if n > math.MaxUint64/10 {
			return 0, false
		}
		n *= 10
		n1 := n + uint64(ch-'0')
		if n1 < n {
			return 0, false
		}
		n = n1
	}
	return n, true
}

func parseInt64(s string) (int64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	minus := s[0] == '-'
	if minus {
		s = s[1:]
	}
	n, ok := parseUint64(s)
	if !ok {
		return 0, false
	}
	if n >= 1<<63 {
		if minus && n == 1<<63 {
			return math.MinInt64, true
		}
		return 0, false
	}
	if minus {
		return -int64(n), true
	}
	return int64(n), true
}

func parseFloat64Exact(s string) (float64, bool) {
	if len(s) == 0 || len(s) > len("-18_446_744_073_709_551_615") {
		return 0, false
	}
	minus := s[0] == '-'
	if minus {
		s = s[1:]
	}
	n := strings.IndexByte(s, '.')
	if n < 0 {
		u, ok := parseUint64(s)
		if !ok || u >= 1<<53 {
			return 0, false
		}
		f := float64(u)
		if minus {
			f = -f
		}
		return f, true
	}
	if n == 0 || n == len(s)-1 {
		return 0, false
	}
	sInt, sFrac := s[:n], s[n+1:]
	nInt, ok := parseUint64(sInt)
	if !ok {
		return 0, false
	}
	n = 0
	for n < len(sFrac)-1 && sFrac[n] == '0' {
		n++
	}
	nFrac, ok := parseUint64(sFrac[n:])
	if !ok {
		return 0, false
	}
	p10 := math.Pow10(strings.Count(sFrac, "_") - len(sFrac))
	f := math.FMA(float64(nFrac), p10, float64(nInt))
	if minus {
		f = -f
	}
	return f, true
}

// parseDateUint64 keeps the library's two-digit fast path, which checks
// only the first digit.
func parseDateUint64(s string) (uint64, bool) {
	if len(s) == 0 || len(s) > 9 {
		return 0, false
	}
	if len(s) == 2 {
		if s[0] < '0' || s[0] > '9' {
			return 0, false
		}
		return 10*uint64(s[0]-'0') + uint64(s[1]-'0'), true
	}
	n := uint64(0)
	for i := range len(s) {
		ch := s[i]
		if ch < '0' || ch > '9' {
			return 0, false
		}
		n = n*10 + uint64(ch-'0')
	}
	return n, true
}

func parseIPv4(s string) (uint32, bool) {
	if len(s) < len("1.1.1.1") || len(s) > len("255.255.255.255") || strings.Count(s, ".") != 3 {
		return 0, false
	}
	var ip uint32
	for i := range 4 {
		part := s
		if i < 3 {
			n := strings.IndexByte(s, '.')
			if n <= 0 || n > 3 {
				return 0, false
			}
			part, s = s[:n], s[n+1:]
		}
		v, ok := parseDateUint64(part)
		if !ok || v > 255 {
			return 0, false
		}
		ip = ip<<8 | uint32(v)
	}
	return ip, true
}

func parseTimestampISO8601(s string) (int64, bool) {
	if len(s) != len("2006-01-02T15:04:05.000Z") {
		return 0, false
	}
	field := func(str string, sep byte) (int, bool) {
		if sep != 0 && str[len(str)-1] != sep {
			return 0, false
		}
		if sep != 0 {
			str = str[:len(str)-1]
		}
		n, ok := parseDateUint64(str)
		return int(n), ok
	}
	year, ok := field(s[0:5], '-')
	if !ok || year < 1677 || year > 2262 {
		return 0, false
	}
	month, ok := field(s[5:8], '-')
	if !ok {
		return 0, false
	}
	if s[10] != 'T' && s[10] != ' ' {
		return 0, false
	}
	day, ok := field(s[8:10], 0)
	if !ok {
		return 0, false
	}
	hour, ok := field(s[11:14], ':')
	if !ok {
		return 0, false
	}
	minute, ok := field(s[14:17], ':')
	if !ok {
		return 0, false
	}
	second, ok := field(s[17:19], 0)
	if !ok {
		return 0, false
	}
	if s[19] != '.' || s[23] != 'Z' {
		return 0, false
	}
	ms, ok := parseDateUint64(s[20:23])
	if !ok {
		return 0, false
	}
	secs := time.Date(year, time.Month(month), day, hour, minute, second, 0, time.UTC).Unix()
	if secs < math.MinInt64/int64(1e9) || secs >= math.MaxInt64/int64(1e9) {
		return 0, false
	}
	return secs*1e9 + int64(ms)*1e6, true
}
