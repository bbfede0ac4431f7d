package weblog

import (
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
)

// FuzzParse: no input panics; an error leaves the event unchanged; a
// recognised line gets a time and the module's dataset. Seeds:
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add(`127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "-" "x"`)
	f.Add(`[Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 1:tid 2] [client ::1:5] AH00128: x, referer: y`)
	f.Add(`2016/09/01 10:23:45 [error] 1#2: *9 x, client: 1.2.3.4, request: "GET / HTTP/1.1", host: "h"`)
	f.Fuzz(func(t *testing.T, s string) {
		var e event.Event
		k, err := Parse(&e, s, Options{})
		if err != nil {
			if len(e.Fields) != 0 || !e.Time.IsZero() {
				t.Fatalf("%q: error %v but event changed", s, err)
			}
			return
		}
		if k == KindNone {
			if len(e.Fields) != 0 {
				t.Fatalf("%q: not recognised but fields set", s)
			}
			return
		}
		if e.Time.IsZero() || e.Value("event.dataset") == "" {
			t.Fatalf("%q: recognised as %v without time or dataset", s, k)
		}
		seen := map[string]bool{}
		for _, fl := range e.Fields {
			if seen[fl.Name] {
				t.Fatalf("%q: field %s twice", s, fl.Name)
			}
			seen[fl.Name] = true
		}
	})
}
