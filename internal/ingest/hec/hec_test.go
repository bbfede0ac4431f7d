package hec

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/bus/bustest"
	"github.com/vigil-siem/vigil/internal/cputime"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/web"
	"github.com/vigil-siem/vigil/internal/web/webtest"
)

const testToken = "vgl_hec-token"

var arrived = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func TestToEvent(t *testing.T) {
	f := func(in string, meta Meta, want string) {
		t.Helper()
		var e event.Event
		st, err := ToEvent(&e, []byte(in), meta)
		var got string
		if err != nil {
			got = fmt.Sprintf("ERR %d %s: %v", st.Code, st.Text, err)
		} else {
			e.SortFields()
			var parts []string
			for _, f := range e.Fields {
				parts = append(parts, f.Name+"="+f.Value)
			}
			when := "none" // the normaliser or ingest.Stamp gives it one
			if !e.Time.IsZero() {
				when = e.Time.Format(time.RFC3339Nano)
			}
			got = when + " " + strings.Join(parts, " ")
		}
		if got != want {
			t.Errorf("ToEvent(%s)\n got %s\nwant %s", in, got, want)
		}
	}
	f(`{"event":"hello"}`, Meta{}, "none message=hello")
	f(`{"time":1732788000.123,"host":"ehr1","source":"/var/log/app.log","sourcetype":"app:log","index":"main","event":"x"}`, Meta{},
		"2024-11-28T10:00:00.123Z event.dataset=app:log host.name=ehr1 log.file.path=/var/log/app.log message=x splunk.index=main splunk.source=/var/log/app.log splunk.sourcetype=app:log")
	f(`{"time":"1732788000","event":{"message":"m","user":{"name":"u"},"event":{"dataset":"own"}},"sourcetype":"st","fields":{"env":"prod","user.name":"meta"}}`, Meta{},
		"2024-11-28T10:00:00Z env=prod event.dataset=own message=m splunk.sourcetype=st user.name=u")
	f(`{"event":{"@timestamp":"2026-01-02T03:04:05Z","a":1}}`, Meta{}, "2026-01-02T03:04:05Z a=1")
	f(`{"event":{"@timestamp":"nope","a":1}}`, Meta{}, "none a=1 vigil.original_timestamp=nope vigil.parse_error=@timestamp: unrecognised timestamp \"nope\": want RFC 3339 (2026-11-28T10:00:00Z) or Unix epoch")
	f(`{"event":42,"source":"udp:514"}`, Meta{Host: "qhost", SourceType: "qst"}, "none event.dataset=qst host.name=qhost message=42 splunk.source=udp:514 splunk.sourcetype=qst")
	f(`{"event":["a",1],"host":"h"}`, Meta{Host: "qhost"}, `none host.name=h message=["a",1]`)
	f(`{"event":"x","source":"C:\\logs\\a.log","extra":true}`, Meta{}, `none log.file.path=C:\logs\a.log message=x splunk.extra=true splunk.source=C:\logs\a.log`)
	f(`{"time":1732788000123,"event":"ms"}`, Meta{}, "2024-11-28T10:00:00.123Z message=ms")
	f(`{"host":"h"}`, Meta{}, `ERR 12 Event field is required: the "event" field is missing or null`)
	f(`{"event":null}`, Meta{}, `ERR 12 Event field is required: the "event" field is missing or null`)
	f(`{"event":""}`, Meta{}, `ERR 13 Event field cannot be blank: the "event" field is empty`)
	f(`{"event":"x","time":"yesterday"}`, Meta{}, "ERR 6 Invalid data format: \"time\": want epoch seconds such as 1732788000.123: unrecognised timestamp \"yesterday\": want RFC 3339 (2026-11-28T10:00:00Z) or Unix epoch")
	f(`{"event":"x",}`, Meta{}, `ERR 6 Invalid data format: invalid JSON at byte 13: want a quoted key, found '}'`)
}

func TestParseEpoch(t *testing.T) {
	for in, want := range map[string]string{
		"1732788000":             "2024-11-28T10:00:00Z",
		"1732788000.5":           "2024-11-28T10:00:00.5Z",
		"1732788000.123456789":   "2024-11-28T10:00:00.123456789Z",
		"1732788000.1234567891":  "2024-11-28T10:00:00.123456789Z",
		" 1732788000.000001 ":    "2024-11-28T10:00:00.000001Z",
		"1732788000123":          "2024-11-28T10:00:00.123Z",
		"2024-11-28T10:00:00Z":   "2024-11-28T10:00:00Z",
		"0":                      "1970-01-01T00:00:00Z",
		"1732788000.":            "2024-11-28T10:00:00Z",
		"-5":                     "1969-12-31T23:59:55Z",
		"17327880001732788000.1": "ERR",
	} {
		got := "ERR"
		if tm, err := ParseEpoch(in); err == nil {
			got = tm.Format(time.RFC3339Nano)
		}
		if got != want {
			t.Errorf("ParseEpoch(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestSplit(t *testing.T) {
	f := func(in string, want string) {
		t.Helper()
		var got []string
		err := Split([]byte(in), 40, func(n int, obj []byte) error {
			got = append(got, fmt.Sprintf("%d:%s", n, obj))
			return nil
		})
		if err != nil {
			got = append(got, "ERR "+err.Error())
		}
		if g := strings.Join(got, " | "); g != want {
			t.Errorf("Split(%q)\n got %s\nwant %s", in, g, want)
		}
	}
	f(`{"event":"a"}{"event":"b"}`, `0:{"event":"a"} | 1:{"event":"b"}`)
	f("{\"event\":\"}{\"}\n\n {\"event\":{\"x\":[1,{}]}}\r\n", `0:{"event":"}{"} | 1:{"event":{"x":[1,{}]}}`)
	f(`{"event":"a\"}"} x`, `0:{"event":"a\"}"} | ERR event 1: Invalid data format: want a JSON object at byte 17, found 'x'`)
	f(`[{"event":"a"}]`, `ERR event 0: Invalid data format: want a JSON object at byte 0, found '['`)
	f(`{"event":"a"`, `ERR event 0: Invalid data format: unterminated JSON object starting at byte 0`)
	f(`{"event":"`+strings.Repeat("x", 40)+`"}`, `ERR event 0: Invalid data format: event of 52 bytes exceeds the limit of 40`)
	f("  \n", ``)
}

type env struct {
	h   *Handler
	c   *bus.Consumer
	srv *httptest.Server
	web *webtest.Env
}

func setup(tb testing.TB, cfg bus.Config) *env {
	tb.Helper()
	b, c := bustest.Open(tb, cfg)
	h := &Handler{Pub: b, Metrics: ingest.NewMetrics(prometheus.NewRegistry())}
	w := webtest.New(tb, webtest.Options{IngestToken: testToken}, h.Routes()...)
	return &env{h: h, c: c, srv: w.Server, web: w}
}

func (e *env) events(tb testing.TB, want int) []event.Event {
	tb.Helper()
	return bustest.Events(tb, e.c, Source, want)
}

func (e *env) post(tb testing.TB, path, body string, hdr ...string) (int, response, http.Header) {
	tb.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Splunk "+testToken)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r response
	if err := json.Unmarshal(b, &r); err != nil {
		tb.Fatalf("answer %q: %v", b, err)
	}
	return resp.StatusCode, r, resp.Header
}

func TestAuthAndStatuses(t *testing.T) {
	e := setup(t, bus.Config{})
	e.h.Indexes = []string{"main", "security"}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("x:"+testToken))
	for _, c := range []struct {
		name, path, body string
		hdr              []string
		status, code     int
		invalid          int // -1: no invalid-event-number
	}{
		{"ok", "/services/collector/event", `{"event":"a"}`, nil, 200, 0, -1},
		{"ok short path", "/services/collector", `{"event":"a"}`, nil, 200, 0, -1},
		{"ok 1.0 path", "/services/collector/event/1.0", `{"event":"a"}`, nil, 200, 0, -1},
		{"basic auth", "/services/collector/event", `{"event":"a"}`, []string{"Authorization", basic}, 200, 0, -1},
		{"no token", "/services/collector/event", `{"event":"a"}`, []string{"Authorization", ""}, 401, 2, -1},
		{"query token", "/services/collector/event?token=" + testToken, `{"event":"a"}`, []string{"Authorization", ""}, 400, 16, -1},
		{"bad scheme", "/services/collector/event", `{"event":"a"}`, []string{"Authorization", "Bearer " + testToken}, 401, 3, -1},
		{"wrong token", "/services/collector/event", `{"event":"a"}`, []string{"Authorization", "Splunk nope"}, 403, 4, -1},
		{"token without ingest", "/services/collector/event", `{"event":"a"}`, []string{"Authorization", "Splunk " + e.web.Tokens["analyst"]}, 403, 4, -1},
		{"no data", "/services/collector/event", " \n", nil, 400, 5, -1},
		{"invalid format", "/services/collector/event", `{"event":"a"}{"event":"b"`, nil, 400, 6, 1},
		{"not an object", "/services/collector/event", `"event"`, nil, 400, 6, 0},
		{"index refused", "/services/collector/event", `{"event":"a","index":"main"}{"event":"a","index":"hr"}`, nil, 400, 7, 1},
		{"index refused in query", "/services/collector/raw?index=hr", "line", nil, 400, 7, -1},
		{"event required", "/services/collector/event", `{"event":"a"}{"event":"b"}{"time":1}`, nil, 400, 12, 2},
		{"event blank", "/services/collector/event", `{"event":""}`, nil, 400, 13, 0},
		{"bad channel", "/services/collector/event", `{"event":"a"}`, []string{"X-Splunk-Request-Channel", "nope"}, 400, 11, -1},
		{"good channel", "/services/collector/event", `{"event":"a"}`, []string{"X-Splunk-Request-Channel", "0f0e8f2e-2c3b-4b4a-9e51-8d8f0c1f5a10"}, 200, 0, -1},
		{"ack disabled", "/services/collector/ack", `{"acks":[1]}`, nil, 400, 14, -1},
		{"brotli", "/services/collector/event", `x`, []string{"Content-Encoding", "br"}, 415, 6, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, r, _ := e.post(t, c.path, c.body, c.hdr...)
			inv := -1
			if r.InvalidEventNumber != nil {
				inv = *r.InvalidEventNumber
			}
			if status != c.status || r.Code != c.code || inv != c.invalid {
				t.Fatalf("got %d %+v (invalid %d), want %d code %d invalid %d", status, r, inv, c.status, c.code, c.invalid)
			}
			if r.Text == "" || (c.code != 0 && r.Detail == "") {
				t.Fatalf("answer without text or detail: %+v", r)
			}
		})
	}
	// Stored: 5 successes, and the events before the invalid one: 1
	// (invalid format) + 1 (index refused) + 2 (event required).
	e.events(t, 9)
	// Refused because they did not parse (invalid format, not an object,
	// event required, event blank), not for their index: parse failures.
	var refused int64
	for _, c := range e.h.Metrics.Failures.List() {
		if c.Source == Source && c.Format == "json" && c.Outcome == ingest.OutcomeRefused {
			refused = c.Count
		}
	}
	if refused != 4 {
		t.Errorf("parse failures refused = %d, want 4 (%+v)", refused, e.h.Metrics.Failures.List())
	}
}

func TestEventsReachTheBus(t *testing.T) {
	e := setup(t, bus.Config{})
	body := `{"time":1732788000.25,"host":"pacs01","source":"/var/log/pacs/audit.log","sourcetype":"pacs:audit","index":"security","event":{"message":"study opened","user":{"name":"dr.who"}},"fields":{"site":"north"}}` +
		"\n" + `{"event":"plain text","sourcetype":"syslog"}`
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(body))
	zw.Close()
	status, r, _ := e.post(t, "/services/collector/event?host=default-host", zb.String(), "Content-Encoding", "gzip")
	if status != 200 || r.Code != 0 || r.Text != "Success" {
		t.Fatalf("got %d %+v", status, r)
	}
	status, r, _ = e.post(t, "/services/collector/raw?channel=0f0e8f2e-2c3b-4b4a-9e51-8d8f0c1f5a10&host=fw1&sourcetype=cisco:asa&source=udp:514",
		"line one\r\n\nline two\n")
	if status != 200 || r.Code != 0 {
		t.Fatalf("raw: %d %+v", status, r)
	}
	evs := e.events(t, 4)
	check := func(i int, want map[string]string) {
		t.Helper()
		for k, v := range want {
			if got := evs[i].Value(k); got != v {
				t.Errorf("event %d %s = %q, want %q (%v)", i, k, got, v, evs[i].Fields)
			}
		}
		if evs[i].Arrived.IsZero() {
			t.Errorf("event %d without its arrival time", i)
		}
	}
	check(0, map[string]string{"message": "study opened", "user.name": "dr.who", "host.name": "pacs01", "log.file.path": "/var/log/pacs/audit.log",
		"splunk.source": "/var/log/pacs/audit.log", "splunk.sourcetype": "pacs:audit", "event.dataset": "pacs:audit", "splunk.index": "security", "site": "north"})
	if want := time.Date(2024, 11, 28, 10, 0, 0, 25e7, time.UTC); !evs[0].Time.Equal(want) {
		t.Errorf("event 0 time %v, want %v", evs[0].Time, want)
	}
	check(1, map[string]string{"message": "plain text", "host.name": "default-host", "event.dataset": "syslog"})
	check(2, map[string]string{"message": "line one", "host.name": "fw1", "event.dataset": "cisco:asa", "splunk.source": "udp:514", "log.file.path": ""})
	check(3, map[string]string{"message": "line two"})
}

func TestRawChannelRequired(t *testing.T) {
	e := setup(t, bus.Config{})
	e.h.RequireRawChannel = true
	if status, r, _ := e.post(t, "/services/collector/raw", "x"); status != 400 || r.Code != 10 {
		t.Fatalf("got %d %+v, want code 10", status, r)
	}
	if status, r, _ := e.post(t, "/services/collector/raw", "x", "X-Splunk-Request-Channel", "0f0e8f2e-2c3b-4b4a-9e51-8d8f0c1f5a10"); status != 200 || r.Code != 0 {
		t.Fatalf("got %d %+v", status, r)
	}
	e.events(t, 1)
}

func TestHealth(t *testing.T) {
	e := setup(t, bus.Config{})
	for _, p := range []string{"/services/collector/health", "/services/collector/health/1.0"} {
		resp, err := http.Get(e.srv.URL + p) // no token needed
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != `{"text":"HEC is healthy","code":17}` {
			t.Fatalf("%s: %d %s", p, resp.StatusCode, b)
		}
	}
	e.h.Healthy = func() error { return fmt.Errorf("store writer stopped") }
	resp, err := http.Get(e.srv.URL + "/services/collector/health")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(b), `"code":18`) {
		t.Fatalf("unhealthy: %d %s", resp.StatusCode, b)
	}
}

func TestBusFull(t *testing.T) {
	e := setup(t, bus.Config{MaxBytes: 64 << 10, MaxBatchBytes: 16 << 10})
	body := strings.Repeat(`{"event":"`+strings.Repeat("x", 4000)+`"}`, 3)
	for i := 0; i < 40; i++ {
		status, r, hdr := e.post(t, "/services/collector/event", body)
		if status == 503 {
			if r.Code != 9 || hdr.Get("Retry-After") == "" {
				t.Fatalf("busy answer %+v %v", r, hdr)
			}
			return
		}
		if status != 200 {
			t.Fatalf("status %d %+v", status, r)
		}
	}
	t.Fatal("a full bus never answered 503")
}

func TestRoutesMountInWebServer(t *testing.T) {
	h := &Handler{}
	w := webtest.New(t, webtest.Options{})
	api := &web.Server{Log: slog.New(slog.DiscardHandler), Routes: h.Routes(), Guard: &web.Guard{Auth: w.Accounts, Log: slog.New(slog.DiscardHandler)}}
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/services/collector/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("health through the API server = %d", resp.StatusCode)
	}
}

// FuzzEvent: any /event body splits and maps without panicking.
func FuzzEvent(f *testing.F) {
	f.Add([]byte(`{"event":"a","time":1.5,"fields":{"x":[1]}}{"event":{"b":{"c":null}}}`))
	f.Add([]byte(`{"event":"}\"{","host":"h"} {"time":"1732788000.1","event":"x"}`))
	f.Add([]byte(`{"event":{"@timestamp":"2026-01-01T00:00:00Z"},"sourcetype":"s","source":"C:\\x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = Split(data, 256, func(n int, obj []byte) error {
			var e event.Event
			st, err := ToEvent(&e, obj, Meta{Host: "h"})
			if (err == nil) != (st.Code == 0) {
				t.Fatalf("status %+v with error %v", st, err)
			}
			if err == nil && e.Has("@timestamp") && !strings.Contains(string(obj), "time") {
				t.Fatalf("@timestamp left as a field without a time: %v", e.Fields)
			}
			return nil
		})
	})
}

// BenchmarkHEC measures events per second end to end through the handler:
// a batch of 1000 JSON events, mapping, publishing to a real embedded bus
// and waiting for it. "events/cpu-s" is events per CPU-second of the whole
// process (the bus included): events/s per core.
func BenchmarkHEC(b *testing.B) {
	const n = 1000
	var body bytes.Buffer
	for i := range n {
		fmt.Fprintf(&body, `{"time":1732788%03d.%03d,"host":"ehr-app-%d","source":"/var/log/ehr/audit.log","sourcetype":"ehr:audit","index":"security","event":{"message":"patient chart opened","user":{"name":"nurse%d"},"patient":{"mrn":"MRN%06d"},"action":"view","outcome":"success"},"fields":{"site":"north","env":"prod"}}`+"\n",
			i%1000, i%1000, i%5, i%50, i)
	}
	data := body.Bytes()
	e := setup(b, bus.Config{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Self()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("POST", "/services/collector/event", bytes.NewReader(data))
		req.Header.Set("Authorization", "Splunk "+testToken)
		rec := httptest.NewRecorder()
		e.srv.Config.Handler.ServeHTTP(rec, req) // through the access middleware
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	b.StopTimer()
	used := cputime.Self() - cpu
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
	if used > 0 {
		b.ReportMetric(float64(b.N*n)/used.Seconds(), "events/cpu-s")
	}
}

// An event whose flattened fields exceed what one bus batch holds is
// refused as invalid (not answered "busy" forever).
func TestEventFlatteningTooLarge(t *testing.T) {
	e := setup(t, bus.Config{MaxBatchBytes: 16 << 10})
	key := strings.Repeat("k", 4000)
	body := `{"event":"ok"}{"event":{"` + key + `":{"a":1,"b":2,"c":3,"d":4,"e":5}}}`
	status, r, _ := e.post(t, "/services/collector/event", body)
	if status != 400 || r.Code != 6 || r.InvalidEventNumber == nil || *r.InvalidEventNumber != 1 {
		t.Fatalf("got %d %+v", status, r)
	}
	if evs := e.events(t, 1); evs[0].Value("message") != "ok" {
		t.Fatalf("stored %v", evs[0].Fields)
	}
}

// TestNXLogTimeWithoutHECTime: an NXLog record sent through HEC without
// "time" keeps its own time — EventTime, else EventReceivedTime, zoneless
// ones read in the configured zone — not the arrival; a claimed time in
// the future is still clamped to the arrival.
func TestNXLogTimeWithoutHECTime(t *testing.T) {
	e := setup(t, bus.Config{})
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	payloads := normalize.NewPayloads(ny)
	e.h.Normalize = func(ev *event.Event) { normalize.JSONEvent(ev, payloads) }
	e.h.Now = func() time.Time { return arrived } // 12:00Z = 07:00 in New York
	body := `{"event":{"EventTime":"2026-11-28 05:30:00","EventReceivedTime":"2026-11-28 05:30:02","Hostname":"WS5","EventID":4625,"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","TargetUserName":"alice"}}` +
		`{"event":{"EventReceivedTime":"2026-11-28 06:00:00","SourceModuleName":"auth","SourceModuleType":"im_file","Hostname":"lab1","Message":"x"}}` +
		`{"event":{"EventTime":"2026-11-28 09:00:00","Hostname":"lab2","Message":"clock ahead"}}` +
		`{"event":{"Hostname":"lab3","Message":"no time"}}`
	if status, r, _ := e.post(t, "/services/collector/event", body); status != 200 {
		t.Fatalf("got %d %+v", status, r)
	}
	evs := e.events(t, 4)
	for i, want := range []string{"2026-11-28T10:30:00Z", "2026-11-28T11:00:00Z", "2026-11-28T12:00:00Z", "2026-11-28T12:00:00Z"} {
		if got := evs[i].Time.UTC().Format(time.RFC3339); got != want {
			t.Errorf("event %d time %s, want %s", i, got, want)
		}
	}
	if got := evs[2].Value(event.FieldSenderTime); got != "2026-11-28T14:00:00Z" {
		t.Errorf("the future EventTime is not kept as the sender's time: %q", got)
	}
}
