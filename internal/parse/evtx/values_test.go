package evtx

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand"
	"strings"
	"testing"
	"unicode/utf16"
)

func TestValueText(t *testing.T) {
	f := func(v tval, want string) {
		t.Helper()
		got, err := appendValueText(nil, v.typ, v.data)
		if err != nil {
			t.Errorf("%s % x: error %v, want %q", typeName(v.typ), v.data, err, want)
			return
		}
		if string(got) != want {
			t.Errorf("%s % x: got %q, want %q", typeName(v.typ), v.data, got, want)
		}
	}
	f(vNull(), "")
	f(vStr("plain"), "plain")
	f(vStr("trailing \t\r\n"), "trailing")
	f(tval{typ: typeString, data: []byte{'a', 0, 0, 0, 'b', 0}}, "a")     // cut at NUL
	f(tval{typ: typeString, data: []byte{0x3d, 0xd8, 'x', 0}}, "\uFFFDx") // lone surrogate
	f(tval{typ: typeAnsi, data: []byte{'a', 0, 'b', 0x93, 'q', 0x94, 0xe9}}, "ab“q”é")
	f(vI8(-128), "-128")
	f(vU8(255), "255")
	f(vI16(-32768), "-32768")
	f(vU16(65535), "65535")
	f(vI32(math.MinInt32), "-2147483648")
	f(vU32(math.MaxUint32), "4294967295")
	f(vI64(math.MinInt64), "-9223372036854775808")
	f(vU64(math.MaxUint64), "18446744073709551615")
	f(vF32(0.1), "0.1")
	f(vF32(16777216), "16777216.0")
	f(vF32(1e20), "1e20")
	f(vF64(1), "1.0")
	f(vF64(-0.0), "0.0")
	f(vF64(math.Copysign(0, -1)), "-0.0")
	f(vF64(123456.789), "123456.789")
	f(vF64(1e16), "1e16")
	f(vF64(1234567890123456), "1234567890123456.0")
	f(vF64(0.0001), "0.0001")
	f(vF64(0.00001), "0.00001")
	f(vF64(0.000001), "1e-6")
	f(vF64(1.5e300), "1.5e300")
	f(vF64(math.NaN()), "NaN")
	f(vF64(math.Inf(-1)), "-inf")
	f(vBool(0), "false")
	f(vBool(1), "true")
	f(vBool(0xffffffff), "true")
	f(vBin(), "")
	f(vBin(0x00, 0xab, 0x10), "00AB10")
	f(vGUID(0x54849625, 0x5478, 0x4994, [8]byte{0xA5, 0xBA, 0x3E, 0x3B, 0x03, 0x28, 0xC3, 0x0D}), "54849625-5478-4994-A5BA-3E3B0328C30D")
	f(tval{typ: typeSizeT, data: []byte{0xff, 0, 0, 0}}, "0xff")
	f(tval{typ: typeSizeT, data: []byte{0, 0, 0, 0, 0, 0, 0, 0x80}}, "0x8000000000000000")
	f(vFiletime(0), "1601-01-01T00:00:00.000000Z")
	f(vFiletime(filetimeOf("2026-03-20T08:31:26.7511565Z")), "2026-03-20T08:31:26.751156Z")
	f(vFiletime(math.MaxUint64), "60056-05-28T05:36:10.955161Z")
	f(vSystime(0, 0, 0, 0, 0, 0, 0, 0), "1601-01-01T00:00:00.000000Z")
	f(vSystime(1999, 12, 5, 31, 23, 59, 59, 999), "1999-12-31T23:59:59.999000Z")
	f(vSID(1, 5, 21, 2555720767, 1205513275, 3893774561, 1001), "S-1-5-21-2555720767-1205513275-3893774561-1001")
	f(vSID(1, 0x123456789abc), "S-1-20015998343868")
	f(tval{typ: typeSID, data: []byte{1, 2}}, "S-?")
	f(vHex32(0), "0x0")
	f(vHex64(0x58c3c), "0x58c3c")
	f(vStrs("a", "b"), "a,b")
	f(tval{typ: typeString | typeArray, data: []byte{'a', 0, 0, 0, 'b', 0}}, "a,b") // no final NUL
	f(vStrs("pad "), "pad ")                                                        // items are not trimmed
	f(vArr(typeInt16, vI16(-1), vI16(2)), "-1,2")
	f(vArr(typeReal64, vF64(0.5), vF64(2)), "0.5,2.0")
	f(vArr(typeBool, vBool(1), vBool(0)), "true,false")
	f(vArr(typeGUID, vGUID(1, 2, 3, [8]byte{4}), vGUID(0, 0, 0, [8]byte{})), "00000001-0002-0003-0400-000000000000,00000000-0000-0000-0000-000000000000")
	f(vArr(typeFiletime, vFiletime(0), vFiletime(10)), "1601-01-01T00:00:00.000000Z,1601-01-01T00:00:00.000001Z")
	f(vArr(typeSystime, vSystime(2000, 1, 6, 1, 0, 0, 0, 0)), "2000-01-01T00:00:00.000000Z")
	f(vArr(typeSID, vSID(1, 5, 18), vSID(1, 5, 19)), "S-1-5-18,S-1-5-19")
	f(vArr(typeHex32, vHex32(1), vHex32(0xa)), "0x1,0xa")
	f(vArr(typeHex64, vHex64(16)), "0x10")
	f(tval{typ: typeAnsi | typeArray, data: []byte{'x', 0, 'y', 0}}, "x,y")
}

func TestValueErrors(t *testing.T) {
	f := func(v tval, want string) {
		t.Helper()
		_, err := appendValueText(nil, v.typ, v.data)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s % x: error %v, want one containing %q", typeName(v.typ), v.data, err, want)
		}
	}
	f(tval{typ: typeUint32, data: []byte{1, 2}}, "uint32 value of 2 bytes: needs 4 bytes")
	f(tval{typ: typeGUID, data: []byte{1}}, "needs 16 bytes")
	f(tval{typ: typeSizeT, data: []byte{1, 2, 3}}, "needs 4 or 8 bytes")
	f(vSystime(2023, 2, 0, 29, 0, 0, 0, 0), "invalid date 2023-02-29")
	f(vSystime(2024, 13, 0, 1, 0, 0, 0, 0), "invalid date")
	f(tval{typ: typeBinXML, data: []byte{1}}, "has no text form")
}

func TestValueShapeRules(t *testing.T) {
	f := func(v tval, empty, number bool, n int) {
		t.Helper()
		if got := isEmptyValue(v.typ, v.data); got != empty {
			t.Errorf("%s % x: empty %v, want %v", typeName(v.typ), v.data, got, empty)
		}
		if got := isNumberType(v.typ); got != number {
			t.Errorf("%s: number %v, want %v", typeName(v.typ), got, number)
		}
		if v.typ&typeArray != 0 {
			if got := arrayLen(v.typ, v.data); got != n {
				t.Errorf("%s % x: %d items, want %d", typeName(v.typ), v.data, got, n)
			}
		}
	}
	f(vNull(), true, false, 0)
	f(vStr(""), true, false, 0)
	f(vStr("   "), true, false, 0) // blank after trimming
	f(tval{typ: typeAnsi, data: []byte{0, 0}}, true, false, 0)
	f(vBin(), true, false, 0)
	f(vU32(0), false, true, 0)
	f(vBool(0), false, true, 0)
	f(vHex32(0), false, false, 0)
	f(vStrs(), true, false, 0)
	f(vStrs(""), false, false, 1)
	f(vStrs("a", "b", "c"), false, false, 3)
	f(vArr(typeUint64, vU64(1), vU64(2)), false, false, 2)
	f(tval{typ: typeUint64 | typeArray, data: make([]byte, 12)}, false, false, 1) // partial item ignored
	f(tval{typ: typeSizeT | typeArray, data: make([]byte, 12)}, false, false, 3)
}

func TestAppendJSONUTF16(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	alphabet := []uint16{'a', 'Z', ' ', '"', '\\', '\n', 0x01, 0x1f, 0x7f, 0xe9, 0x20ac, 0xd83d, 0xde00, 0xdc00, 0x2028}
	for i := 0; i < 2000; i++ {
		units := make([]uint16, rng.Intn(24))
		for j := range units {
			units[j] = alphabet[rng.Intn(len(alphabet))]
		}
		var b []byte
		for _, u := range units {
			b = binary.LittleEndian.AppendUint16(b, u)
		}
		out := appendJSONUTF16([]byte(`"`), b)
		out = append(out, '"')
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%x: invalid JSON string %s: %v", units, out, err)
		}
		want := strings.ToValidUTF8(string(utf16.Decode(units)), "\uFFFD")
		// utf16.Decode turns each lone surrogate into U+FFFD already.
		if got != want {
			t.Fatalf("%x: got %q, want %q", units, got, want)
		}
	}
}
