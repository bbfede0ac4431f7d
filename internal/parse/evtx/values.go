package evtx

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// BinXML value types (libyal "Value types", MS-EVEN6 2.2.14). The 0x80 bit
// marks an array of the base type.
const (
	typeNull     = 0x00
	typeString   = 0x01
	typeAnsi     = 0x02
	typeInt8     = 0x03
	typeUint8    = 0x04
	typeInt16    = 0x05
	typeUint16   = 0x06
	typeInt32    = 0x07
	typeUint32   = 0x08
	typeInt64    = 0x09
	typeUint64   = 0x0a
	typeReal32   = 0x0b
	typeReal64   = 0x0c
	typeBool     = 0x0d
	typeBinary   = 0x0e
	typeGUID     = 0x0f
	typeSizeT    = 0x10
	typeFiletime = 0x11
	typeSystime  = 0x12
	typeSID      = 0x13
	typeHex32    = 0x14
	typeHex64    = 0x15
	typeEvtHandl = 0x20
	typeBinXML   = 0x21
	typeEvtXML   = 0x23
	typeArray    = 0x80

	// typeStringRaw is internal: a UTF-16 string that is not trimmed (an
	// item of a string array, which evtx_dump reads NUL-terminated).
	typeStringRaw = 0x7f
	// typeStrClean is internal: a UTF-16 string already cut at its NUL (and
	// trimmed when the source type asks for it); tree nodes hold strings so.
	typeStrClean = 0x7e
)

var typeNames = map[uint8]string{
	typeNull: "null", typeString: "string", typeAnsi: "ansi string", typeInt8: "int8",
	typeUint8: "uint8", typeInt16: "int16", typeUint16: "uint16", typeInt32: "int32",
	typeUint32: "uint32", typeInt64: "int64", typeUint64: "uint64", typeReal32: "float",
	typeReal64: "double", typeBool: "bool", typeBinary: "binary", typeGUID: "guid",
	typeSizeT: "size_t", typeFiletime: "filetime", typeSystime: "systemtime", typeSID: "sid",
	typeHex32: "hexint32", typeHex64: "hexint64", typeEvtHandl: "evt handle",
	typeBinXML: "binxml", typeEvtXML: "evt xml",
}

func typeName(t uint8) string {
	if t == typeStringRaw || t == typeStrClean {
		return "string"
	}
	if n, ok := typeNames[t&^typeArray]; ok {
		if t&typeArray != 0 {
			return "array of " + n
		}
		return n
	}
	return fmt.Sprintf("unknown value type 0x%02x", t)
}

// validTypes marks the value types a file may use.
var validTypes = func() (v [256]bool) {
	for t := range typeNames {
		v[t] = true
	}
	for base := typeString; base <= typeHex64; base++ {
		v[base|typeArray] = true
	}
	return v
}()

// validType reports whether t is a value type this parser knows.
func validType(t uint8) bool { return validTypes[t] }

// fixedWidth is the byte width of one item of a fixed-size base type, or 0.
func fixedWidth(base uint8) int {
	switch base {
	case typeInt8, typeUint8:
		return 1
	case typeInt16, typeUint16:
		return 2
	case typeInt32, typeUint32, typeReal32, typeBool, typeHex32:
		return 4
	case typeInt64, typeUint64, typeReal64, typeFiletime, typeHex64:
		return 8
	case typeGUID, typeSystime:
		return 16
	}
	return 0
}

// cleanValue returns the form a value takes in a tree node: strings are
// cut (and trimmed) once here instead of at every use.
func cleanValue(t uint8, b []byte) (uint8, []byte) {
	switch t {
	case typeString:
		return typeStrClean, trimUTF16(b)
	case typeStringRaw:
		return typeStrClean, b[:2*utf16Units(b)]
	}
	return t, b
}

// utf16Units returns the number of UTF-16 code units of b before the first
// NUL unit (strings are cut at their terminator, as evtx_dump does).
func utf16Units(b []byte) int {
	n := len(b) / 2
	for i := 0; i < n; i++ {
		if b[2*i] == 0 && b[2*i+1] == 0 {
			return i
		}
	}
	return n
}

// trimUTF16 cuts a UTF-16LE string at its first NUL and drops trailing
// white space, as evtx_dump does for sized and length-prefixed strings.
func trimUTF16(b []byte) []byte {
	n := utf16Units(b)
	for n > 0 && isSpaceUnit(uint16(b[2*n-2])|uint16(b[2*n-1])<<8) {
		n--
	}
	return b[:2*n]
}

// isSpaceUnit reports Unicode White_Space (all of it lies in the BMP).
func isSpaceUnit(u uint16) bool {
	switch {
	case u >= 0x09 && u <= 0x0d, u == 0x20, u == 0x85, u == 0xa0, u == 0x1680,
		u >= 0x2000 && u <= 0x200a, u == 0x2028, u == 0x2029, u == 0x202f, u == 0x205f, u == 0x3000:
		return true
	}
	return false
}

// ansiEmpty reports whether an ANSI string has no characters but NULs
// (evtx_dump drops every NUL byte of an ANSI string).
func ansiEmpty(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// isEmptyValue mirrors evtx_dump's "optional empty" test: a null value, an
// empty string or binary, or an array without items.
func isEmptyValue(t uint8, b []byte) bool {
	switch t {
	case typeNull:
		return true
	case typeString:
		return len(trimUTF16(b)) == 0
	case typeStringRaw:
		return utf16Units(b) == 0
	case typeStrClean:
		return len(b) == 0
	case typeAnsi:
		return ansiEmpty(b)
	case typeBinary, typeBinXML:
		return len(b) == 0
	}
	if t&typeArray != 0 {
		return arrayLen(t, b) == 0
	}
	return false
}

// isNumberType reports whether a lone value of type t becomes a JSON number
// (or boolean) rather than a string.
func isNumberType(t uint8) bool {
	return (t >= typeInt8 && t <= typeUint64) || t == typeBool
}

// arrayLen returns the number of items in an array value.
func arrayLen(t uint8, b []byte) int {
	base := t &^ typeArray
	switch base {
	case typeString:
		return len(splitUTF16(b, nil))
	case typeAnsi:
		return len(splitAnsi(b, nil))
	case typeSID:
		n := 0
		for len(b) > 0 {
			sz := sidSize(b)
			if sz <= 0 || sz > len(b) {
				break
			}
			n++
			b = b[sz:]
		}
		return n
	case typeSizeT:
		return len(b) / sizeTWidth(b)
	case typeBinary:
		if len(b) == 0 {
			return 0
		}
		return 1
	}
	if w := fixedWidth(base); w > 0 {
		return len(b) / w
	}
	return 0
}

// sizeTWidth guesses the width of size_t array items: 8 bytes when the data
// divides evenly, 4 otherwise.
func sizeTWidth(b []byte) int {
	if len(b)%8 == 0 {
		return 8
	}
	return 4
}

// arrayItem returns the scalar type and bytes of item i of an array value.
func arrayItem(t uint8, b []byte, i int) (uint8, []byte) {
	base := t &^ typeArray
	switch base {
	case typeString:
		var buf [64][]byte
		items := splitUTF16(b, buf[:0])
		return typeStringRaw, items[i]
	case typeAnsi:
		var buf [64][]byte
		items := splitAnsi(b, buf[:0])
		return typeAnsi, items[i]
	case typeSID:
		for {
			sz := sidSize(b)
			if i == 0 {
				return typeSID, b[:sz]
			}
			b = b[sz:]
			i--
		}
	case typeSizeT:
		w := sizeTWidth(b)
		return typeSizeT, b[i*w : i*w+w]
	case typeBinary:
		return typeBinary, b
	}
	w := fixedWidth(base)
	return base, b[i*w : i*w+w]
}

// splitUTF16 splits NUL-separated UTF-16 strings; a trailing terminator does
// not start another item (so "a\0b\0" is two items and "\0" one empty item).
func splitUTF16(b []byte, dst [][]byte) [][]byte {
	n := len(b) / 2
	if n == 0 {
		return dst
	}
	start := 0
	for i := 0; i < n; i++ {
		if b[2*i] == 0 && b[2*i+1] == 0 {
			dst = append(dst, b[2*start:2*i])
			start = i + 1
		}
	}
	if start < n {
		dst = append(dst, b[2*start:2*n])
	}
	return dst
}

func splitAnsi(b []byte, dst [][]byte) [][]byte {
	if len(b) == 0 {
		return dst
	}
	start := 0
	for i, c := range b {
		if c == 0 {
			dst = append(dst, b[start:i])
			start = i + 1
		}
	}
	if start < len(b) {
		dst = append(dst, b[start:])
	}
	return dst
}

// sidSize returns the encoded size of the SID at the start of b, or -1.
func sidSize(b []byte) int {
	if len(b) < 8 {
		return -1
	}
	return 8 + 4*int(b[1])
}

// valueError describes a value whose bytes do not fit its type.
type valueError struct {
	typ  uint8
	size int
	msg  string
}

func (e *valueError) Error() string {
	return fmt.Sprintf("%s value of %d bytes: %s", typeName(e.typ), e.size, e.msg)
}

func shortValue(t uint8, b []byte, need int) error {
	return &valueError{typ: t, size: len(b), msg: fmt.Sprintf("needs %d bytes", need)}
}

// appendValueText appends the text of a value (JSON-escaped, no quotes) to
// dst, formatted the way evtx_dump renders it.
func appendValueText(dst []byte, t uint8, b []byte) ([]byte, error) {
	if t&typeArray != 0 {
		n := arrayLen(t, b)
		var buf [64][]byte
		var items [][]byte
		base := t &^ typeArray
		if base == typeString {
			items = splitUTF16(b, buf[:0])
		} else if base == typeAnsi {
			items = splitAnsi(b, buf[:0])
		}
		for i := 0; i < n; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			var it uint8
			var ib []byte
			if items != nil {
				it, ib = base, items[i]
				if base == typeString {
					it = typeStringRaw
				}
			} else {
				it, ib = arrayItem(t, b, i)
			}
			var err error
			if dst, err = appendValueText(dst, it, ib); err != nil {
				return dst, err
			}
		}
		return dst, nil
	}
	switch t {
	case typeNull:
		return dst, nil
	case typeString:
		return appendJSONUTF16(dst, trimUTF16(b)), nil
	case typeStringRaw:
		return appendJSONUTF16(dst, b[:2*utf16Units(b)]), nil
	case typeStrClean:
		return appendJSONUTF16(dst, b), nil
	case typeAnsi:
		return appendJSONAnsi(dst, b), nil
	case typeBinary:
		for _, c := range b {
			dst = append(dst, hexUpper[c>>4], hexUpper[c&15])
		}
		return dst, nil
	case typeGUID:
		if len(b) < 16 {
			return dst, shortValue(t, b, 16)
		}
		return appendGUID(dst, b), nil
	case typeSizeT:
		switch len(b) {
		case 4:
			return appendHex(dst, uint64(binary.LittleEndian.Uint32(b))), nil
		case 8:
			return appendHex(dst, binary.LittleEndian.Uint64(b)), nil
		}
		return dst, &valueError{typ: t, size: len(b), msg: "needs 4 or 8 bytes"}
	case typeFiletime:
		if len(b) < 8 {
			return dst, shortValue(t, b, 8)
		}
		return appendFiletime(dst, binary.LittleEndian.Uint64(b)), nil
	case typeSystime:
		if len(b) < 16 {
			return dst, shortValue(t, b, 16)
		}
		return appendSystemtime(dst, b)
	case typeSID:
		return appendSID(dst, b), nil
	case typeBool:
		v, err := boolValue(b)
		if err != nil {
			return dst, err
		}
		return strconv.AppendBool(dst, v), nil
	case typeReal32:
		if len(b) < 4 {
			return dst, shortValue(t, b, 4)
		}
		return appendFloat(dst, float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), 32), nil
	case typeReal64:
		if len(b) < 8 {
			return dst, shortValue(t, b, 8)
		}
		return appendFloat(dst, math.Float64frombits(binary.LittleEndian.Uint64(b)), 64), nil
	case typeHex32:
		if len(b) < 4 {
			return dst, shortValue(t, b, 4)
		}
		return appendHex(dst, uint64(binary.LittleEndian.Uint32(b))), nil
	case typeHex64:
		if len(b) < 8 {
			return dst, shortValue(t, b, 8)
		}
		return appendHex(dst, binary.LittleEndian.Uint64(b)), nil
	case typeInt8, typeUint8, typeInt16, typeUint16, typeInt32, typeUint32, typeInt64, typeUint64:
		return appendInt(dst, t, b)
	}
	return dst, &valueError{typ: t, size: len(b), msg: "has no text form"}
}

// appendInt appends the decimal form of an integer value.
func appendInt(dst []byte, t uint8, b []byte) ([]byte, error) {
	w := fixedWidth(t)
	if len(b) < w {
		return dst, shortValue(t, b, w)
	}
	switch t {
	case typeInt8:
		return strconv.AppendInt(dst, int64(int8(b[0])), 10), nil
	case typeUint8:
		return strconv.AppendUint(dst, uint64(b[0]), 10), nil
	case typeInt16:
		return strconv.AppendInt(dst, int64(int16(binary.LittleEndian.Uint16(b))), 10), nil
	case typeUint16:
		return strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint16(b)), 10), nil
	case typeInt32:
		return strconv.AppendInt(dst, int64(int32(binary.LittleEndian.Uint32(b))), 10), nil
	case typeUint32:
		return strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint32(b)), 10), nil
	case typeInt64:
		return strconv.AppendInt(dst, int64(binary.LittleEndian.Uint64(b)), 10), nil
	default:
		return strconv.AppendUint(dst, binary.LittleEndian.Uint64(b), 10), nil
	}
}

// boolValue reads a BOOL: a 32-bit integer where anything but 0 is true.
// Shorter encodings (1 or 2 bytes) are accepted.
func boolValue(b []byte) (bool, error) {
	switch {
	case len(b) >= 4:
		return binary.LittleEndian.Uint32(b) != 0, nil
	case len(b) >= 2:
		return binary.LittleEndian.Uint16(b) != 0, nil
	case len(b) == 1:
		return b[0] != 0, nil
	}
	return false, shortValue(typeBool, b, 4)
}

const hexUpper = "0123456789ABCDEF"
const hexLower = "0123456789abcdef"

func appendHex(dst []byte, v uint64) []byte {
	dst = append(dst, '0', 'x')
	return strconv.AppendUint(dst, v, 16)
}

// appendGUID writes a GUID as evtx_dump does: upper case, no braces.
func appendGUID(dst []byte, b []byte) []byte {
	order := [16]int{3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15}
	for i, idx := range order {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexUpper[b[idx]>>4], hexUpper[b[idx]&15])
	}
	return dst
}

// appendSID writes S-R-A-S1-...; too short data gives "S-?" (as evtx_dump).
func appendSID(dst []byte, b []byte) []byte {
	if len(b) < 8 {
		return append(dst, "S-?"...)
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	dst = append(dst, 'S', '-')
	dst = strconv.AppendUint(dst, uint64(b[0]), 10)
	dst = append(dst, '-')
	dst = strconv.AppendUint(dst, auth, 10)
	subs := b[8:]
	for i := 0; i < int(b[1]) && len(subs) >= 4; i++ {
		dst = append(dst, '-')
		dst = strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint32(subs)), 10)
		subs = subs[4:]
	}
	return dst
}

// filetimeEpochDelta is the number of seconds between 1601-01-01 and 1970-01-01.
const filetimeEpochDelta = 11644473600

// appendFiletime writes a FILETIME as YYYY-MM-DDTHH:MM:SS.ffffffZ (micro-
// second precision, truncated, as evtx_dump).
func appendFiletime(dst []byte, ft uint64) []byte {
	micros := ft / 10
	secs := int64(micros / 1e6)
	frac := int(micros % 1e6)
	return appendDateTime(dst, secs-filetimeEpochDelta, frac)
}

// appendDateTime writes Unix seconds plus microseconds in UTC.
func appendDateTime(dst []byte, unix int64, micros int) []byte {
	days := unix / 86400
	rem := unix % 86400
	if rem < 0 {
		rem += 86400
		days--
	}
	y, m, d := civilFromDays(days)
	dst = appendPadded(dst, int64(y), 4)
	dst = append(dst, '-')
	dst = appendPadded(dst, int64(m), 2)
	dst = append(dst, '-')
	dst = appendPadded(dst, int64(d), 2)
	dst = append(dst, 'T')
	dst = appendPadded(dst, rem/3600, 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, rem%3600/60, 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, rem%60, 2)
	dst = append(dst, '.')
	dst = appendPadded(dst, int64(micros), 6)
	return append(dst, 'Z')
}

// civilFromDays converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's algorithm).
func civilFromDays(z int64) (int64, int, int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := int(doy - (153*mp+2)/5 + 1)
	m := int(mp + 3)
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func appendPadded(dst []byte, v int64, width int) []byte {
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], v, 10)
	for i := len(s); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// appendSystemtime writes a SYSTEMTIME. An all-zero value is 1601-01-01 (as
// evtx_dump); an impossible date is an error.
func appendSystemtime(dst []byte, b []byte) ([]byte, error) {
	var f [8]int
	zero := true
	for i := range f {
		f[i] = int(binary.LittleEndian.Uint16(b[2*i:]))
		if f[i] != 0 {
			zero = false
		}
	}
	if zero {
		return append(dst, "1601-01-01T00:00:00.000000Z"...), nil
	}
	year, month, day, hour, minute, sec, ms := f[0], f[1], f[3], f[4], f[5], f[6], f[7]
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || sec > 59 || ms > 999 {
		return dst, &valueError{typ: typeSystime, size: len(b), msg: fmt.Sprintf("invalid date %04d-%02d-%02d %02d:%02d:%02d.%03d", year, month, day, hour, minute, sec, ms)}
	}
	dst = appendPadded(dst, int64(year), 4)
	dst = append(dst, '-')
	dst = appendPadded(dst, int64(month), 2)
	dst = append(dst, '-')
	dst = appendPadded(dst, int64(day), 2)
	dst = append(dst, 'T')
	dst = appendPadded(dst, int64(hour), 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, int64(minute), 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, int64(sec), 2)
	dst = append(dst, '.')
	dst = appendPadded(dst, int64(ms)*1000, 6)
	return append(dst, 'Z'), nil
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// appendFloat formats a float the way Rust's ryu/zmij "pretty" formatter
// does (shortest round-trip digits, "1.0", "1e30", "1.5e-7", "NaN", "inf").
func appendFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	}
	if f == 0 {
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], f, 'e', -1, bits)
	if s[0] == '-' {
		dst = append(dst, '-')
		s = s[1:]
	}
	// s is d[.ddd]e±XX
	ePos := 0
	for ePos < len(s) && s[ePos] != 'e' {
		ePos++
	}
	mant := s[:ePos]
	exp, _ := strconv.Atoi(string(s[ePos+1:]))
	var digits [24]byte
	nd := 0
	for _, c := range mant {
		if c != '.' {
			digits[nd] = c
			nd++
		}
	}
	// value = 0.digits × 10^kk
	kk := exp + 1
	k := kk - nd
	limit := 16
	if bits == 32 {
		limit = 13
	}
	switch {
	case k >= 0 && kk <= limit:
		dst = append(dst, digits[:nd]...)
		for i := 0; i < k; i++ {
			dst = append(dst, '0')
		}
		dst = append(dst, '.', '0')
	case kk > 0 && kk <= limit:
		dst = append(dst, digits[:kk]...)
		dst = append(dst, '.')
		dst = append(dst, digits[kk:nd]...)
	case kk > -5 && kk <= 0:
		dst = append(dst, '0', '.')
		for i := 0; i < -kk; i++ {
			dst = append(dst, '0')
		}
		dst = append(dst, digits[:nd]...)
	default:
		dst = append(dst, digits[0])
		if nd > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:nd]...)
		}
		dst = append(dst, 'e')
		dst = strconv.AppendInt(dst, int64(kk-1), 10)
	}
	return dst
}

// appendJSONUTF16 appends UTF-16LE text JSON-escaped (no quotes). Lone
// surrogates become U+FFFD so the output is always valid UTF-8.
func appendJSONUTF16(dst []byte, b []byte) []byte {
	n := len(b) / 2
	for i := 0; i < n; i++ {
		// Fast path: four plain ASCII characters at a time.
		for i+4 <= n {
			v := binary.LittleEndian.Uint64(b[2*i:])
			if v&0xff80ff80ff80ff80 != 0 || !plainASCII(byte(v)) || !plainASCII(byte(v>>16)) ||
				!plainASCII(byte(v>>32)) || !plainASCII(byte(v>>48)) {
				break
			}
			dst = append(dst, byte(v), byte(v>>16), byte(v>>32), byte(v>>48))
			i += 4
		}
		if i >= n {
			break
		}
		u := uint16(b[2*i]) | uint16(b[2*i+1])<<8
		if u < 0x80 {
			c := byte(u)
			if c >= 0x20 && c != '"' && c != '\\' {
				dst = append(dst, c)
				continue
			}
			dst = appendEscapedASCII(dst, c)
			continue
		}
		r := rune(u)
		if utf16.IsSurrogate(r) {
			r = utf8.RuneError
			if u < 0xdc00 && i+1 < n {
				u2 := uint16(b[2*i+2]) | uint16(b[2*i+3])<<8
				if u2 >= 0xdc00 && u2 < 0xe000 {
					r = utf16.DecodeRune(rune(u), rune(u2))
					i++
				}
			}
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// appendJSONString appends UTF-8 text JSON-escaped (no quotes); invalid
// UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = appendEscapedASCII(dst, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// plainASCII reports an ASCII byte that needs no JSON escaping.
func plainASCII(c byte) bool { return c >= 0x20 && c != '"' && c != '\\' && c < 0x80 }

func appendEscapedASCII(dst []byte, c byte) []byte {
	switch c {
	case '"':
		return append(dst, '\\', '"')
	case '\\':
		return append(dst, '\\', '\\')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	}
	return append(dst, '\\', 'u', '0', '0', hexLower[c>>4], hexLower[c&15])
}

// windows1252 maps bytes 0x80-0x9f of code page 1252 to Unicode (WHATWG
// mapping: the five undefined bytes map to the C1 control of the same value).
var windows1252 = [32]rune{
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
}

// appendJSONAnsi appends code page 1252 text JSON-escaped (no quotes),
// dropping NUL bytes.
func appendJSONAnsi(dst []byte, b []byte) []byte {
	for _, c := range b {
		switch {
		case c == 0:
		case c < 0x80:
			if c >= 0x20 && c != '"' && c != '\\' {
				dst = append(dst, c)
			} else {
				dst = appendEscapedASCII(dst, c)
			}
		case c < 0xa0:
			dst = utf8.AppendRune(dst, windows1252[c-0x80])
		default:
			dst = utf8.AppendRune(dst, rune(c))
		}
	}
	return dst
}

// decodeUTF16 returns UTF-16LE bytes as a Go string (lone surrogates become
// U+FFFD).
func decodeUTF16(b []byte) string {
	n := len(b) / 2
	ascii := true
	for i := 0; i < n; i++ {
		if b[2*i+1] != 0 || b[2*i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		buf := make([]byte, n)
		for i := range buf {
			buf[i] = b[2*i]
		}
		return string(buf)
	}
	u := make([]uint16, n)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}
