package jsonflat

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
)

func flat(t testing.TB, in string) ([]event.Field, error) {
	t.Helper()
	var e event.Event
	err := AppendObject(&e, []byte(in), Options{})
	return e.Fields, err
}

func TestAppendObject(t *testing.T) {
	f := func(in string, want ...string) {
		t.Helper()
		got, err := flat(t, in)
		if err != nil {
			t.Fatalf("%s: unexpected error %v", in, err)
		}
		var gotS []string
		for _, f := range got {
			gotS = append(gotS, f.Name+"="+f.Value)
		}
		if !reflect.DeepEqual(gotS, want) {
			t.Fatalf("%s:\ngot  %q\nwant %q", in, gotS, want)
		}
	}
	f(`{}`)
	f(` {"a":"b"} `, "a=b")
	f(`{"a":{"b":{"c":1}},"d":true,"e":false,"f":null,"g":-1.5e+3}`, "a.b.c=1", "d=true", "e=false", "g=-1.5e+3")
	f(`{"host.name":"x","host":{"ip":"10.0.0.1"}}`, "host.name=x", "host.ip=10.0.0.1")
	f(`{"tags":[ "a", {"b" : 1} , [] ]}`, `tags=["a",{"b":1},[]]`)
	f(`{"s":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}`, "s=\"\\/\b\f\n\r\té😀")
	f(`{"lone":"\ud800x"}`, "lone=\ufffdx")
	f("{\"bad\":\"a\xffb\"}", "bad=a\ufffdb")
	f(`{"a":{}}`)
	f(`{"Event":{"#attributes":{"xmlns":"x"},"System":{"EventID":11}}}`, "Event.#attributes.xmlns=x", "Event.System.EventID=11")
}

func TestAppendObjectErrors(t *testing.T) {
	f := func(in string, wantOffset int, wantMsg string) {
		t.Helper()
		_, err := flat(t, in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("%q: got err %v, want SyntaxError", in, err)
		}
		if se.Offset != wantOffset || !strings.Contains(se.Msg, wantMsg) {
			t.Fatalf("%q: got %q at %d, want %q at %d", in, se.Msg, se.Offset, wantMsg, wantOffset)
		}
	}
	f(``, 0, "empty input")
	f(`[1]`, 0, "want a JSON object")
	f(`{"a":1} x`, 8, "after the object")
	f(`{"a" 1}`, 5, "want ':'")
	f(`{"a":01}`, 6, "want ',' or '}'")
	f(`{"a":1.}`, 7, "digits after '.'")
	f(`{"a":tru}`, 5, "invalid literal")
	f(`{"a":"x`, 7, "unterminated string")
	f("{\"a\":\"\x01\"}", 6, "control character")
	f(`{"a":"\q"}`, 6, "invalid escape")
	f(`{"a":[1,}`, 8, "want a value")
	f(`{"a":1,}`, 7, "want a quoted key")
	f(strings.Repeat(`{"a":`, 70)+"1"+strings.Repeat("}", 70), 320, "nesting deeper")
}

func TestMaxNameBytes(t *testing.T) {
	// A long key with many children would repeat it in every name.
	in := `{"` + strings.Repeat("k", 1000) + `":{` + strings.Repeat(`"a":1,`, 200) + `"b":2}}`
	var e event.Event
	err := AppendObject(&e, []byte(in), Options{MaxNameBytes: 100_000})
	if err == nil || !strings.Contains(err.Error(), "field names longer than") {
		t.Fatalf("got %v, want the name-bytes limit", err)
	}
}

func TestMaxFields(t *testing.T) {
	var e event.Event
	err := AppendObject(&e, []byte(`{"a":1,"b":2,"c":3}`), Options{MaxFields: 2})
	if err == nil || !strings.Contains(err.Error(), "more than 2 fields") {
		t.Fatalf("got %v, want field limit error", err)
	}
}

// reference flattens with encoding/json, for the differential fuzz test.
func reference(data []byte) (map[string]string, bool) {
	if !json.Valid(data) {
		return nil, false
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, false
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			switch x := v.(type) {
			case map[string]any:
				walk(name, x)
			case nil:
			case string:
				out[name] = x
			case json.Number:
				out[name] = string(x)
			case bool:
				if x {
					out[name] = "true"
				} else {
					out[name] = "false"
				}
			case []any:
				b, _ := json.Marshal(x)
				out[name] = string(b)
			}
		}
	}
	walk("", obj)
	return out, true
}

func FuzzAppendObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":{"b":[1,2,{"c":null}]},"d":"\u00e9"}`, `{"a":1e5,"b":-0.0}`, `{"x":"\ud83d\ude00"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var e event.Event
		err := AppendObject(&e, data, Options{MaxDepth: 1000, MaxFields: 1 << 20})
		want, valid := reference(data)
		if valid != (err == nil) {
			t.Fatalf("%q: encoding/json valid=%v, ours err=%v", data, valid, err)
		}
		if !valid || hasDuplicateKeys(data) {
			return // encoding/json keeps the last of duplicate keys, we keep all
		}
		got := map[string]string{}
		var names []string
		for _, f := range e.Fields {
			if _, dup := got[f.Name]; dup {
				return // e.g. {"a.b":1,"a":{"b":2}}
			}
			got[f.Name] = f.Value
			names = append(names, f.Name)
		}
		sort.Strings(names)
		if len(got) != len(want) {
			t.Fatalf("%q: got %v, want %v", data, got, want)
		}
		for k, w := range want {
			g, ok := got[k]
			if !ok {
				t.Fatalf("%q: missing %s", data, k)
			}
			if strings.HasPrefix(w, "[") { // compare arrays semantically
				var a, b any
				if json.Unmarshal([]byte(g), &a) != nil || json.Unmarshal([]byte(w), &b) != nil || !reflect.DeepEqual(a, b) {
					t.Fatalf("%q: %s: got %s, want %s", data, k, g, w)
				}
				continue
			}
			if g != w {
				t.Fatalf("%q: %s: got %q, want %q", data, k, g, w)
			}
		}
	})
}

func BenchmarkAppendObject(b *testing.B) {
	data := []byte(`{"@timestamp":"2026-11-28T10:00:00Z","host":{"name":"ehr-app-01","ip":"10.1.2.3"},"event":{"action":"login","outcome":"failure","category":"authentication"},"user":{"name":"jdoe"},"source":{"ip":"192.168.10.44","port":52344},"message":"Failed password for jdoe from 192.168.10.44 port 52344 ssh2","tags":["ssh","auth"]}`)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var e event.Event
	for b.Loop() {
		e.Reset()
		if err := AppendObject(&e, data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// hasDuplicateKeys reports whether any object in valid JSON data repeats a key.
func hasDuplicateKeys(data []byte) bool {
	d := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		obj    bool
		keys   map[string]bool
		expKey bool
	}
	var stack []*frame
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.expKey {
			if k, ok := tok.(string); ok {
				if top.keys[k] {
					return true
				}
				top.keys[k] = true
				top.expKey = false
				continue
			}
		}
		if top != nil && top.obj {
			top.expKey = true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, keys: map[string]bool{}, expKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].obj {
				stack[len(stack)-1].expKey = true
			}
		}
	}
}
