package elastic

import (
	"bytes"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/cputime"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/jsonflat"
)

func TestDecodeBulk(t *testing.T) {
	f := func(in string, maxDoc int, want string) {
		t.Helper()
		var got []string
		err := DecodeBulk(strings.NewReader(in), maxDoc, func(op *Op) error {
			s := fmt.Sprintf("%d:%s[%s/%s]", op.Line, op.Action, op.Index, op.ID)
			if op.Source != nil {
				s += "=" + string(op.Source)
			}
			if op.Err != nil {
				s += "!" + op.Err.Error()
			}
			got = append(got, s)
			return nil
		})
		if err != nil {
			got = append(got, "ERR "+err.Error())
		}
		if g := strings.Join(got, " | "); g != want {
			t.Errorf("DecodeBulk(%q)\n got %s\nwant %s", in, g, want)
		}
	}
	f("", 100, "")
	f("\n\n", 100, "")
	f(`{"index":{"_index":"a","_id":"1"}}`+"\n"+`{"x":1}`+"\n", 100, `1:index[a/1]={"x":1}`)
	f(`{"create":{}}`+"\r\n"+`{"x":1}`, 100, `1:create[/]={"x":1}`)
	f("\n"+`{ "delete" : { "_index" : "a" , "_id" : "2" } }`+"\n"+`{"index":{"_index":"b"}}`+"\n\n"+`{"y":2}`+"\n", 100,
		`2:delete[a/2] | 3:index[b/]={"y":2}`)
	f(`{"update":{"_id":"1","_index":"a","retry_on_conflict":3}}`+"\n"+`{"doc":{"a":1}}`, 100, `1:update[a/1]={"doc":{"a":1}}`)
	f(`{"index":{"_index":"a","dynamic_templates":{"f":"t"}}}`+"\n{}", 100, `1:index[a/]={}`)
	f(`{"index":{"_index":"a\u0062"}}`+"\n{}", 100, `1:index[ab/]={}`)
	f(`{"index":{}}`, 100, `1:index[/]!the index action on line 1 has no document line after it`)
	f(`{"index":{}}`+"\n"+`{"m":"`+strings.Repeat("x", 50)+`"}`+"\n"+`{"index":{}}`+"\n{}", 20,
		`1:index[/]!document too large: the document line exceeds 20 bytes | 3:index[/]={}`)
	f(`{"upsert":{}}`, 100, `ERR malformed action/metadata line [1]: expected one of [create, delete, index, update] but found [upsert]`)
	f(`["index"]`, 100, `ERR malformed action/metadata line [1]: expected START_OBJECT, found '[' at byte 0`)
	f(`{"index":[]}`, 100, `ERR malformed action/metadata line [1]: expected START_OBJECT for the index metadata, found '[' at byte 9`)
	f(`{"index":{"_index":}}`, 100, `ERR malformed action/metadata line [1]: invalid JSON at byte 19: want a value, found '}'`)
	f(`{"index":{"_index":"a"},"x":1}`, 100, `ERR malformed action/metadata line [1]: expected END_OBJECT after the index metadata, found ',' at byte 23`)
	f(`{"index":{}`, 100, `ERR malformed action/metadata line [1]: expected END_OBJECT after the index metadata, found end of line`)
	f(`{"index":{"a":"}"}`, 100, `ERR malformed action/metadata line [1]: expected END_OBJECT after the index metadata, found end of line`)
	f(`{"index":{"a":"\"}"} } x`, 100, `ERR malformed action/metadata line [1]: unexpected 'x' at byte 23 after the action object`)
	f(`{"index":{"a":1`, 100, `ERR malformed action/metadata line [1]: unterminated index metadata object`)
	f(strings.Repeat("x", 200), 20, `ERR malformed action/metadata line [1]: longer than 20 bytes`)
}

func TestDecodeBulkStopsOnCallbackError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := DecodeBulk(strings.NewReader("{\"index\":{}}\n{}\n{\"index\":{}}\n{}\n"), 100, func(*Op) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("err %v after %d calls", err, n)
	}
}

func TestFilterJSON(t *testing.T) {
	in := `{"took":3,"errors":true,"items":[{"index":{"_id":"a","status":201}},{"delete":{"_id":"b","status":400,"error":{"type":"x","reason":"y"}}}]}`
	f := func(filter, want string) {
		t.Helper()
		if got := string(filterJSON([]byte(in), filter)); got != want {
			t.Errorf("filter %q\n got %s\nwant %s", filter, got, want)
		}
	}
	f("took", `{"took":3}`)
	f("errors,items.*.error", `{"errors":true,"items":[{"delete":{"error":{"reason":"y","type":"x"}}}]}`)
	f("items.*.error.type,items.index.status", `{"items":[{"index":{"status":201}},{"delete":{"error":{"type":"x"}}}]}`)
	f("**.type", `{"items":[{"delete":{"error":{"type":"x"}}}]}`)
	f("-items,-took", `{"errors":true}`)
	f("nothing", `{}`)
	f("items.*._id,-items.delete", `{"items":[{"index":{"_id":"a"}},{}]}`)
}

// FuzzDecodeBulk: any body decodes without panicking, operations come in
// increasing line order, and documents flatten or fail cleanly.
func FuzzDecodeBulk(f *testing.F) {
	f.Add([]byte("{\"index\":{\"_index\":\"a\"}}\n{\"x\":1}\n"))
	f.Add([]byte("{\"delete\":{\"_id\":\"1\"}}\n{\"create\":{}}\n{\"a\":{\"b\":[1,2]}}"))
	f.Add([]byte("{\"update\":{}}\n{\"doc\":{}}\n{\"index\":{\"_index\":\"x\\u0041\"}}\n{}\r\n"))
	f.Add([]byte("{\"index\":{}}\n{\"m\":\"" + strings.Repeat("y", 100) + "\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		last := 0
		var e event.Event
		err := DecodeBulk(bytes.NewReader(data), 64, func(op *Op) error {
			if op.Line <= last {
				t.Fatalf("line %d after %d", op.Line, last)
			}
			last = op.Line
			if op.Source != nil && len(op.Source) > 66 {
				t.Fatalf("document of %d bytes over the limit", len(op.Source))
			}
			if op.Source != nil {
				e.Reset()
				_ = jsonflat.AppendObject(&e, op.Source, jsonflat.Options{})
			}
			return nil
		})
		var me *MalformedError
		if err != nil && !errors.As(err, &me) {
			t.Fatalf("unexpected error %v", err)
		}
		_ = filterJSON(data, "a.*,-b,**.c")
	})
}

// BenchmarkBulk measures events per second end to end through the
// handler: reading and decoding a _bulk request of 1000 Filebeat-like
// documents, flattening, mapping, publishing to a real embedded bus and
// waiting for it, and writing the answer. "events/cpu-s" is events per
// CPU-second of the whole process (the bus included): events/s per core.
func BenchmarkBulk(b *testing.B) {
	const docs = 1000
	var body bytes.Buffer
	for i := range docs {
		fmt.Fprintf(&body, `{"create":{"_index":"logs-system.auth-default"}}`+"\n")
		fmt.Fprintf(&body, `{"@timestamp":"2026-11-28T10:00:%02d.123Z","message":"Accepted publickey for user%d from 10.0.%d.%d port 52%03d ssh2","host":{"name":"ehr-db-%d","os":{"type":"linux","family":"debian"}},"agent":{"type":"filebeat","version":"8.19.0","id":"a1b2c3d4"},"log":{"file":{"path":"/var/log/auth.log"},"offset":%d},"input":{"type":"filestream"},"event":{"module":"system","dataset":"system.auth"},"ecs":{"version":"8.0.0"}}`+"\n",
			i%60, i, i%256, i%200, i%1000, i%7, i*180)
	}
	data := body.Bytes()
	e := setup(b, bus.Config{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Self()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("POST", "/_bulk", bytes.NewReader(data))
		req.SetBasicAuth("elastic", testToken)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code != 200 || bytes.Contains(rec.Body.Bytes(), []byte(`"errors":true`)) {
			b.Fatalf("status %d: %.300s", rec.Code, rec.Body)
		}
	}
	b.StopTimer()
	used := cputime.Self() - cpu
	b.ReportMetric(float64(b.N*docs)/b.Elapsed().Seconds(), "events/s")
	if used > 0 {
		b.ReportMetric(float64(b.N*docs)/used.Seconds(), "events/cpu-s")
	}
}
