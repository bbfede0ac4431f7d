package evtx

import (
	"encoding/json"
	"testing"
	"time"
)

// sysTemplate is a System-like template: numbers, hex keywords, a FILETIME
// attribute, optional attributes that vanish when null.
var sysTemplate = &xel{name: "Event", attrs: []xattr{{"xmlns", []xn{xtext("http://schemas.microsoft.com/win/2004/08/events/event")}}}, kids: []xn{
	&xel{name: "System", kids: []xn{
		&xel{name: "Provider", attrs: []xattr{{"Name", []xn{xsub{0, typeString, true}}}, {"Guid", []xn{xsub{1, typeGUID, true}}}}},
		&xel{name: "EventID", attrs: []xattr{{"Qualifiers", []xn{xsub{2, typeUint16, true}}}}, kids: []xn{xsub{3, typeUint16, false}}},
		&xel{name: "Keywords", kids: []xn{xsub{4, typeHex64, false}}},
		&xel{name: "TimeCreated", attrs: []xattr{{"SystemTime", []xn{xsub{5, typeFiletime, true}}}}},
		&xel{name: "Correlation", attrs: []xattr{{"ActivityID", []xn{xsub{6, typeGUID, true}}}}},
		&xel{name: "Security", attrs: []xattr{{"UserID", []xn{xsub{7, typeSID, true}}}}},
	}},
	&xel{name: "EventData", kids: []xn{xsub{8, typeBinXML, false}}},
}}

// renderRecords builds one chunk with the given record roots and returns
// their JSON, failing on any corruption report.
func renderRecords(t *testing.T, roots ...xn) []string {
	t.Helper()
	c := newChunkW()
	for i, r := range roots {
		c.record(uint64(i+1), 133000000000000000, r)
	}
	d := dump(t, evtxFile(c.bytes()))
	for _, ce := range d.corrupt {
		t.Fatalf("unexpected corruption: %v", ce)
	}
	var out []string
	for _, r := range d.recs {
		if !json.Valid(r.JSON) {
			t.Fatalf("invalid JSON: %s", r.JSON)
		}
		out = append(out, string(r.JSON))
	}
	return out
}

func sameJSON(t *testing.T, got, want string) {
	t.Helper()
	g, err := decodeOne([]byte(got))
	if err != nil {
		t.Fatalf("got invalid JSON %v: %s", err, got)
	}
	w, err := decodeOne([]byte(want))
	if err != nil {
		t.Fatalf("want invalid JSON %v: %s", err, want)
	}
	if d := diffJSON("", g, w); d != "" {
		t.Errorf("%s\ngot  %s\nwant %s", d, got, want)
	}
}

func TestTemplateSystemAndNamedData(t *testing.T) {
	eventData := &xel{name: "EventData", kids: []xn{
		&xel{name: "Data", attrs: []xattr{{"Name", []xn{xtext("Image")}}}, kids: []xn{xsub{0, typeString, false}}},
		&xel{name: "Data", attrs: []xattr{{"Name", []xn{xtext("ProcessId")}}}, kids: []xn{xsub{1, typeUint32, false}}},
		&xel{name: "Data", attrs: []xattr{{"Name", []xn{xtext("Empty")}}}, kids: []xn{xsub{2, typeString, true}}},
		&xel{name: "Data", attrs: []xattr{{"Name", []xn{xtext("NoContent")}}}},
		&xel{name: "Data", attrs: []xattr{{"Name", []xn{xtext("Spaces")}}}, kids: []xn{xsub{3, typeString, false}}},
		&xel{name: "Data", kids: []xn{xtext("unnamed is dropped when others are named")}},
	}}
	inner := xinst{key: "data", body: eventData, vals: []tval{vStr(`C:\Windows\cmd.exe`), vU32(4242), vStr(""), vStr("Advapi  ")}}
	rec := xinst{key: "sys", body: sysTemplate, vals: []tval{
		vStr("Microsoft-Windows-Sysmon"),
		vGUID(0x5770385F, 0xC22A, 0x43E0, [8]byte{0xBF, 0x4C, 0x06, 0xF5, 0x69, 0x8F, 0xFB, 0xD9}),
		vNull(),
		vU16(11),
		vHex64(0x8000000000000000),
		vFiletime(filetimeOf("2026-04-17T05:24:53.092051Z")),
		vNull(),
		vSID(1, 5, 18),
		vBinXML(inner),
	}}
	got := renderRecords(t, rec, rec)
	want := `{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},
	"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"5770385F-C22A-43E0-BF4C-06F5698FFBD9"}},
	"EventID":11,"Keywords":"0x8000000000000000",
	"TimeCreated":{"#attributes":{"SystemTime":"2026-04-17T05:24:53.092051Z"}},
	"Correlation":null,"Security":{"#attributes":{"UserID":"S-1-5-18"}}},
	"EventData":{"EventData":{"Image":"C:\\Windows\\cmd.exe","ProcessId":4242,"Empty":"","NoContent":"","Spaces":"Advapi"}}}}`
	if len(got) != 2 {
		t.Fatalf("got %d records, want 2 (the second reuses the template)", len(got))
	}
	sameJSON(t, got[0], want)
	sameJSON(t, got[1], want)
}

func TestTemplateShapes(t *testing.T) {
	f := func(name string, body *xel, vals []tval, want string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			got := renderRecords(t, xinst{key: name, body: body, vals: vals})
			sameJSON(t, got[0], want)
		})
	}
	f("attributes and text", &xel{name: "E", kids: []xn{
		&xel{name: "EventID", attrs: []xattr{{"Qualifiers", []xn{xsub{0, typeUint16, true}}}}, kids: []xn{xsub{1, typeUint16, false}}},
	}}, []tval{vU16(16384), vU16(7036)},
		`{"E":{"EventID":{"#attributes":{"Qualifiers":16384},"#text":7036}}}`)
	f("repeated names get suffixes", &xel{name: "E", kids: []xn{
		&xel{name: "Header", kids: []xn{xtext("a")}},
		&xel{name: "Other"},
		&xel{name: "Header", kids: []xn{xtext("b")}},
		&xel{name: "Header", kids: []xn{xtext("c")}},
	}}, nil, `{"E":{"Header":"a","Other":null,"Header_1":"b","Header_2":"c"}}`)
	f("positional data", &xel{name: "Event", kids: []xn{&xel{name: "EventData", kids: []xn{
		&xel{name: "Data", kids: []xn{xsub{0, typeString, false}}},
		&xel{name: "Data", kids: []xn{xsub{1, typeUint32, false}}},
		&xel{name: "Data"},
		&xel{name: "Binary", kids: []xn{xsub{2, typeBinary, false}}},
	}}}}, []tval{vStr("x"), vU32(7), vBin(0xd9, 0x06, 0, 0)},
		`{"Event":{"EventData":{"Data":{"#text":["x",7,""]},"Binary":"D9060000"}}}`)
	f("single positional data", &xel{name: "Event", kids: []xn{&xel{name: "EventData", kids: []xn{
		&xel{name: "Data", kids: []xn{xsub{0, typeString, false}}},
	}}}}, []tval{vStr("only")}, `{"Event":{"EventData":{"Data":{"#text":"only"}}}}`)
	f("user data", &xel{name: "Event", kids: []xn{&xel{name: "UserData", kids: []xn{
		&xel{name: "Op", attrs: []xattr{{"xmlns", []xn{xtext("urn:x")}}}, kids: []xn{
			&xel{name: "Id", kids: []xn{xsub{0, typeString, false}}},
			&xel{name: "Pid", kids: []xn{xsub{1, typeUint32, false}}},
			&xel{name: "Missing", kids: []xn{xsub{2, typeString, true}}},
		}},
	}}}}, []tval{vStr("{0000}"), vU32(25920), vNull()},
		`{"Event":{"UserData":{"Op":{"#attributes":{"xmlns":"urn:x"},"Id":"{0000}","Pid":25920,"Missing":null}}}}`)
	f("mixed content", &xel{name: "E", attrs: []xattr{{"a", []xn{xsub{0, typeInt32, false}}}}, kids: []xn{
		xtext("hello "), &xel{name: "B"}, xsub{1, typeString, false},
	}}, []tval{vI32(-5), vStr("world")},
		// Length-prefixed strings lose trailing white space (as in evtx_dump).
		`{"E":{"#attributes":{"a":-5},"#text":"helloworld","B":null}}`)
	f("references cdata and pi", &xel{name: "E", kids: []xn{
		&xel{name: "Ent", kids: []xn{xtext("a "), xentity("amp"), xtext(" b "), xentity("lt"), xentity("quot"), xentity("nbsp")}},
		&xel{name: "Char", kids: []xn{xcharref(0x41), xcharref(0x20ac)}},
		&xel{name: "CData", kids: []xn{xcdata("if (a < b) {}")}},
		&xel{name: "PI", kids: []xn{xpi{"target", "data"}, xtext("after")}},
		&xel{name: "EntOnly", kids: []xn{xentity("gt")}},
	}}, nil,
		`{"E":{"Ent":"a& b<\"&nbsp;","Char":"A€","CData":"if (a < b) {}","PI":"after","EntOnly":">"}}`)
	f("inline typed values", &xel{name: "E", kids: []xn{
		&xel{name: "N", kids: []xn{xinline{typeUint32, []byte{1, 0, 0, 0}}}},
		&xel{name: "B", kids: []xn{xinline{typeBool, []byte{1, 0, 0, 0}}}},
		&xel{name: "G", kids: []xn{xinline{typeGUID, make([]byte, 16)}}},
	}}, nil, `{"E":{"N":1,"B":true,"G":"00000000-0000-0000-0000-000000000000"}}`)
	f("value types", &xel{name: "E", kids: []xn{
		&xel{name: "i8", kids: []xn{xsub{0, typeInt8, false}}},
		&xel{name: "u8", kids: []xn{xsub{1, typeUint8, false}}},
		&xel{name: "i16", kids: []xn{xsub{2, typeInt16, false}}},
		&xel{name: "i64", kids: []xn{xsub{3, typeInt64, false}}},
		&xel{name: "u64", kids: []xn{xsub{4, typeUint64, false}}},
		&xel{name: "f32", kids: []xn{xsub{5, typeReal32, false}}},
		&xel{name: "f64", kids: []xn{xsub{6, typeReal64, false}}},
		&xel{name: "bool", kids: []xn{xsub{7, typeBool, false}}},
		&xel{name: "false", kids: []xn{xsub{8, typeBool, false}}},
		&xel{name: "hex32", kids: []xn{xsub{9, typeHex32, false}}},
		&xel{name: "sizet", kids: []xn{xsub{10, typeSizeT, false}}},
		&xel{name: "systime", kids: []xn{xsub{11, typeSystime, false}}},
		&xel{name: "ansi", kids: []xn{xsub{12, typeAnsi, false}}},
		&xel{name: "u16", kids: []xn{xsub{13, typeUint16, false}}},
		&xel{name: "i32attr", attrs: []xattr{{"v", []xn{xsub{14, typeInt32, false}}}}},
	}}, []tval{vI8(-8), vU8(200), vI16(-300), vI64(-1 << 40), vU64(1<<64 - 1), vF32(1.5), vF64(-2.25e-7),
		vBool(2), vBool(0), vHex32(0xDEADBEEF), {typ: typeSizeT, data: []byte{0x10, 0, 0, 0, 0, 0, 0, 0}},
		vSystime(2024, 2, 4, 29, 23, 59, 58, 7), {typ: typeAnsi, data: []byte{'c', 'o', 's', 't', ' ', 0x80, 0}}, vU16(65535), vI32(-1)},
		`{"E":{"i8":-8,"u8":200,"i16":-300,"i64":-1099511627776,"u64":18446744073709551615,"f32":"1.5","f64":"-2.25e-7",
		"bool":true,"false":false,"hex32":"0xdeadbeef","sizet":"0x10","systime":"2024-02-29T23:59:58.007000Z","ansi":"cost €","u16":65535,
		"i32attr":{"#attributes":{"v":-1}}}}`)
	f("arrays expand their element", &xel{name: "Event", kids: []xn{
		&xel{name: "EventData", kids: []xn{&xel{name: "Data", kids: []xn{xsub{0, typeString | typeArray, false}}}}},
		&xel{name: "Port", kids: []xn{xsub{1, typeUint16 | typeArray, false}}},
		&xel{name: "One", kids: []xn{xsub{2, typeUint32 | typeArray, false}}},
		&xel{name: "None", kids: []xn{xsub{3, typeUint32 | typeArray, true}}},
		&xel{name: "Sids", kids: []xn{xsub{4, typeSID | typeArray, false}}},
		&xel{name: "Attr", attrs: []xattr{{"n", []xn{xsub{5, typeInt8 | typeArray, false}}}}},
	}}, []tval{vStrs("a", "", "c  "), vArr(typeUint16, vU16(80), vU16(443)), vArr(typeUint32, vU32(5)), vArr(typeUint32),
		vArr(typeSID, vSID(1, 5, 18), vSID(1, 5, 32, 544)), vArr(typeInt8, vI8(1), vI8(-2))},
		`{"Event":{"EventData":{"Data":{"#text":["a","","c  "]}},"Port":80,"Port_1":443,"One":"5","None":null,
		"Sids":"S-1-5-18","Sids_1":"S-1-5-32-544","Attr":{"#attributes":{"n":1}},"Attr_1":{"#attributes":{"n":-2}}}}`)
	f("inline binxml value", &xel{name: "E", kids: []xn{xinlineFrag{&xel{name: "In", kids: []xn{xtext("x")}}}}}, nil,
		`{"E":{"In":"x"}}`)
	f("nested binxml", &xel{name: "E", kids: []xn{xsub{0, typeBinXML, false}, xsub{1, typeBinXML, true}}},
		[]tval{vBinXML(&xel{name: "Inner", attrs: []xattr{{"k", []xn{xtext("v")}}}, kids: []xn{xtext("t")}}), vNull()},
		`{"E":{"Inner":{"#attributes":{"k":"v"},"#text":"t"}}}`)
	f("substitution beyond the values is dropped", &xel{name: "E", kids: []xn{
		&xel{name: "A", kids: []xn{xsub{5, typeString, false}}},
	}}, []tval{vStr("x")}, `{"E":{"A":null}}`)
	f("escaping", &xel{name: "E", kids: []xn{&xel{name: "S", kids: []xn{xsub{0, typeString, false}}}}},
		[]tval{vStr("quote\" back\\ tab\t nl\n ctl\x01 emoji 😀")},
		`{"E":{"S":"quote\" back\\ tab\t nl\n ctl\u0001 emoji 😀"}}`)
}

func TestTemplateErrorsAreRecordLevel(t *testing.T) {
	// A record whose substitution is too short for its type fails alone;
	// the records around it are still read.
	body := &xel{name: "E", kids: []xn{&xel{name: "G", kids: []xn{xsub{0, typeGUID, false}}}}}
	c := newChunkW()
	c.record(1, 0, xinst{key: "g", body: body, vals: []tval{vGUID(1, 2, 3, [8]byte{})}})
	c.record(2, 0, xinst{key: "g", body: body, vals: []tval{{typ: typeGUID, data: []byte{1, 2, 3}}}})
	c.record(3, 0, xinst{key: "g", body: body, vals: []tval{vGUID(4, 5, 6, [8]byte{})}})
	d := dump(t, evtxFile(c.bytes()))
	if len(d.recs) != 2 || d.recs[0].ID != 1 || d.recs[1].ID != 3 {
		t.Fatalf("got records %v, want 1 and 3", ids(d.recs))
	}
	if len(d.corrupt) != 1 || d.corrupt[0].RecordID != 2 || d.corrupt[0].Lost != LostRecord {
		t.Fatalf("got corruption reports %v, want one for record 2", d.corrupt)
	}
}

func TestArrayExpansionIsBounded(t *testing.T) {
	// Three 2000-item arrays in one element expand to 8e9 copies: the record
	// must fail with an error, not exhaust memory.
	items := make([]tval, 2000)
	for i := range items {
		items[i] = vU8(uint8(i))
	}
	arr := vArr(typeUint8, items...)
	body := &xel{name: "E", kids: []xn{&xel{name: "X", kids: []xn{xsub{0, arr.typ, false}, xsub{0, arr.typ, false}, xsub{0, arr.typ, false}}}}}
	c := newChunkW()
	c.record(1, 0, xinst{key: "bomb", body: body, vals: []tval{arr}})
	d := dump(t, evtxFile(c.bytes()))
	if len(d.recs) != 0 || len(d.corrupt) != 1 {
		t.Fatalf("got %d records and %v, want one record error", len(d.recs), d.corrupt)
	}
}

func filetimeOf(s string) uint64 {
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return uint64(tm.Unix()+filetimeEpochDelta)*1e7 + uint64(tm.Nanosecond()/100)
}

func ids(recs []Record) []uint64 {
	var out []uint64
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}
