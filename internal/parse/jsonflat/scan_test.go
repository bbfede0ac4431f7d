package jsonflat

import "testing"

func TestObjectEnd(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{`{"a":1} {"b":2}`, 7},
		{`{"a":"}"}`, 9},
		{`{"a":"\"}"}`, 11},
		{`{"a":[1,{"b":[]}]}x`, 18},
		{`[1,2]`, 5},
		{`{"a":1`, -1},
		{`{"a":"}`, -1},
	} {
		if got := ObjectEnd([]byte(c.in), 0); got != c.want {
			t.Errorf("ObjectEnd(%q) = %d, want %d", c.in, got, c.want)
		}
	}
	if got := SkipSpace([]byte(" \t\r\n{"), 0); got != 4 {
		t.Errorf("SkipSpace = %d, want 4", got)
	}
	if got := SkipSpace([]byte("  "), 1); got != 2 {
		t.Errorf("SkipSpace at the end = %d, want 2", got)
	}
}
