package ingest

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigil-siem/vigil/internal/event"
)

func failed(reason, dataset string) *event.Event {
	e := &event.Event{}
	if dataset != "" {
		e.Add("event.dataset", dataset)
	}
	if reason != "" {
		e.Add(event.FieldParseError, reason)
	}
	return e
}

func TestFailureFormat(t *testing.T) {
	f := func(reason, dataset, want string) {
		t.Helper()
		if got := FailureFormat(failed(reason, dataset)); got != want {
			t.Errorf("%q (dataset %q): %s, want %s", reason, dataset, got, want)
		}
	}
	f("rfc3164: invalid timestamp: November 31 is not a date at byte 4", "", "syslog")
	f("rfc5424: expecting a structured data parameter at byte 51", "syslog", "syslog")
	f("syslog framing: bytes outside a syslog frame at byte 1204 (37 bytes)", "", "syslog")
	f("cef: key \"d\" at byte 30: more than 512 extension pairs", "syslog", "cef")
	f("key=value: unterminated quote at byte 3", "syslog", "kv")
	f("@timestamp: unrecognised timestamp \"x\"", "", "json")
	f("windows event: flat event without an event id (EventID)", "", "windows")
	f("gelf: short_message missing", "gelf", "gelf")
	f("line 3: something", "atna.audit", "atna")
	f("whatever", "mystery", "other")
}

func TestFailuresCountedPerSourceAndFormat(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m.Failures.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	udp := m.For("syslog-udp")
	udp.Count(failed("rfc3164: invalid timestamp", "syslog"))
	udp.Count(failed("cef: bad header", "syslog"))
	udp.Count(failed("rfc5424: broken", "syslog"))
	udp.Count(failed("", "syslog")) // parsed cleanly
	m.Count("http", failed("@timestamp: bad", ""))
	m.Failures.Refused("http", "ndjson")
	m.Failures.Refused("http", "apache-access")

	if got := testutil.ToFloat64(m.Failures.vec.WithLabelValues("syslog-udp", "syslog", "kept")); got != 2 {
		t.Errorf("vigil_parse_failures_total{syslog-udp,syslog} = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.Failed.WithLabelValues("syslog-udp")); got != 3 {
		t.Errorf("failed = %v, want 3", got)
	}
	rec := httptest.NewRecorder()
	(&FailuresHandler{Failures: m.Failures, Started: time.Unix(0, 0)}).ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/parse-failures", nil))
	var resp struct {
		Failures []FailureCount `json:"failures"`
		Total    int64          `json:"total"`
		Refused  int64          `json:"refused"`
		Query    string         `json:"query"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatal(err, rec.Body.String())
	}
	if resp.Total != 6 || resp.Refused != 2 || resp.Query != "vigil.parse_error:*" || len(resp.Failures) != 5 {
		t.Fatalf("got %+v", resp)
	}
	want := []struct {
		source, format, outcome string
		n                       int64
	}{{"http", "json", "kept", 1}, {"http", "json", "refused", 1}, {"http", "weblog", "refused", 1}, {"syslog-udp", "cef", "kept", 1}, {"syslog-udp", "syslog", "kept", 2}}
	for i, w := range want {
		g := resp.Failures[i]
		if g.Source != w.source || g.Format != w.format || g.Outcome != w.outcome || g.Count != w.n {
			t.Errorf("failures[%d] = %+v, want %v", i, g, w)
		}
	}
	if s := resp.Failures[4]; !s.Last.After(s.First) {
		t.Errorf("first %v last %v", s.First, s.Last)
	}
}

func TestFailuresBounded(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	for i := 0; i < maxFailureKey+50; i++ {
		m.For("src-" + string(rune('a'+i%26)) + string(rune('a'+i/26))).Count(failed("cef: x", ""))
	}
	if n := len(m.Failures.List()); n > maxFailureKey+1 {
		t.Fatalf("%d keys tracked, want at most %d", n, maxFailureKey+1)
	}
}
