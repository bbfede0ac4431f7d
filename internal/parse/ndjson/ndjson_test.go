package ndjson

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func collect(t testing.TB, in string, max int) []string {
	t.Helper()
	var out []string
	err := Decode(strings.NewReader(in), max, func(it Item) error {
		if it.Err != nil {
			out = append(out, fmt.Sprintf("%d!%v", it.N, it.Err))
		} else {
			out = append(out, fmt.Sprintf("%d:%s", it.N, it.Raw))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return out
}

func TestDecode(t *testing.T) {
	f := func(in string, max int, want ...string) {
		t.Helper()
		got := collect(t, in, max)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%q:\ngot  %q\nwant %q", in, got, want)
		}
	}
	f("", 100)
	f("  \n\n", 100)
	f(`{"a":1}`, 100, `1:{"a":1}`)
	f("{\"a\":1}\r\n\n{\"b\":2}\n", 100, `1:{"a":1}`, `3:{"b":2}`)
	f("\xef\xbb\xbf{\"a\":1}", 100, `1:{"a":1}`)
	f("{\"a\":1}\n[1]\n\"x\"\n{\"b\":2}", 100, `1:{"a":1}`, `2!want a JSON object, line starts with '['`, `3!want a JSON object, line starts with '"'`, `4:{"b":2}`)
	f("{\"a\":\"0123456789\"}\n{\"b\":1}\n", 10, `1!event too large: line exceeds 10 bytes`, `2:{"b":1}`)
	f(` [ {"a":1}, {"b":[1,2]} ]`, 100, `1:{"a":1}`, `2:{"b":[1,2]}`)
	f(`[]`, 100)
	f(`[{"a":1}, 5, {"b":"0123456789abcdef"}]`, 12, `1:{"a":1}`, `2!want a JSON object, element starts with '5'`, `3!event too large: element exceeds 12 bytes`)
	f(`[{"a":1}, {"b":}]`, 100, `1:{"a":1}`, `2!invalid JSON in element 2 near byte 14: invalid character '}' looking for beginning of value`)
	f(`[{"a":1}] x`, 100, `1:{"a":1}`, `2!unexpected data after the JSON array`)
	f(`[{"a":1}`, 100, `1:{"a":1}`, `2!invalid JSON array end at byte 8: EOF`)
}

func TestLongLinesAcrossBuffer(t *testing.T) {
	long := `{"m":"` + strings.Repeat("x", 200<<10) + `"}`
	got := collect(t, long+"\n"+`{"ok":1}`+"\n"+long, 300<<10)
	if len(got) != 3 || !strings.HasPrefix(got[0], `1:{"m":"xxx`) || got[1] != `2:{"ok":1}` || len(got[2]) != len(long)+2 {
		t.Fatalf("got %d items: %.40q", len(got), got)
	}
	got = collect(t, long+"\n"+`{"ok":1}`, 100<<10)
	if len(got) != 2 || !strings.Contains(got[0], "too large") || got[1] != `2:{"ok":1}` {
		t.Fatalf("got %.80q", got)
	}
}

func TestCallbackErrorStops(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := Decode(strings.NewReader("{}\n{}\n{}"), 10, func(Item) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("err %v after %d items", err, n)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"{}\n{\"a\":1}", `[{"a":1},{"b":2}]`, "\xef\xbb\xbf[", "{\n", `[{"a":1}, 5]`} {
		f.Add([]byte(s), 16)
	}
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max <= 0 || max > 1<<16 {
			max = 64
		}
		_ = Decode(strings.NewReader(string(data)), max, func(it Item) error {
			if it.Err == nil && (len(it.Raw) == 0 || it.Raw[0] != '{' || len(it.Raw) > max+2) {
				t.Fatalf("bad item %d %q (max %d)", it.N, it.Raw, max)
			}
			if it.N <= 0 {
				t.Fatalf("item number %d", it.N)
			}
			return nil
		})
	})
}

func TestLines(t *testing.T) {
	var got []string
	err := Lines(strings.NewReader("<13>Nov 28 10:00:00 h a: x \r\n\n  indented line\nlast"), 100, func(it Item) error {
		got = append(got, fmt.Sprintf("%d:%q:%v", it.N, it.Raw, it.Err))
		return nil
	})
	want := []string{`1:"<13>Nov 28 10:00:00 h a: x ":<nil>`, `3:"  indented line":<nil>`, `4:"last":<nil>`}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %q (%v), want %q", got, err, want)
	}
}
