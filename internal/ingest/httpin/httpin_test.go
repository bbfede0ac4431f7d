package httpin

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/bus/bustest"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/formats"
	"github.com/vigil-siem/vigil/internal/ingest"
)

type rig struct {
	h *Handler
	c *bus.Consumer
	m *ingest.Metrics
}

func newRig(t *testing.T, busCfg bus.Config) *rig {
	t.Helper()
	b, c := bustest.Open(t, busCfg)
	quiet := slog.New(slog.DiscardHandler)
	m := ingest.NewMetrics(prometheus.NewRegistry())
	now := func() time.Time { return time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC) }
	fs, err := formats.Records(formats.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	fs["upper"] = func(line []byte, e *event.Event) error {
		e.Time = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		e.Set("message", strings.ToUpper(string(line)))
		return nil
	}
	h := &Handler{Pub: b, Metrics: m, Log: quiet, MaxBodyBytes: 1 << 20, MaxEventBytes: 4096, Now: now, Formats: fs}
	return &rig{h: h, c: c, m: m}
}

func (r *rig) post(t *testing.T, query string, body []byte, hdr map[string]string) (int, Response) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/ingest"+query, bytes.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	r.h.ServeHTTP(rec, req)
	var resp Response
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("response %q: %v", rec.Body, err)
	}
	return rec.Code, resp
}

func (r *rig) events(t *testing.T) []event.Event {
	t.Helper()
	var evs []event.Event
	for {
		msgs, err := r.c.Fetch(context.Background(), 100, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			return evs
		}
		for _, m := range msgs {
			if evs, err = event.DecodeBatch(evs, m.Data); err != nil {
				t.Fatal(err)
			}
			m.Ack()
		}
	}
}

func TestIngestNDJSONAndArray(t *testing.T) {
	r := newRig(t, bus.Config{})
	body := `{"@timestamp":"2026-11-28T10:00:00Z","host":{"name":"ehr-1"},"message":"one"}
{"message":"two","@timestamp":"last tuesday"}
[1,2]
{"broken":
{"message":"three","user.name":"jdoe"}
`
	code, resp := r.post(t, "", []byte(body), nil)
	if code != 200 || resp.Accepted != 3 || resp.RejectedTotal != 2 {
		t.Fatalf("got %d %+v", code, resp)
	}
	if resp.Rejected[0].Line != 3 || resp.Rejected[1].Line != 4 || !strings.Contains(resp.Rejected[1].Reason, "invalid JSON") {
		t.Fatalf("rejections %+v", resp.Rejected)
	}
	evs := r.events(t)
	if len(evs) != 3 {
		t.Fatalf("%d events on the bus", len(evs))
	}
	if !evs[0].Time.Equal(time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)) || evs[0].Value("host.name") != "ehr-1" || evs[0].Has("@timestamp") {
		t.Errorf("event 0: %v %v", evs[0].Time, evs[0].Fields)
	}
	if !evs[1].Time.Equal(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)) || !strings.Contains(evs[1].Value("vigil.parse_error"), "@timestamp") || evs[1].Value("vigil.original_timestamp") != "last tuesday" {
		t.Errorf("bad timestamp kept with arrival time and error: %v %v", evs[1].Time, evs[1].Fields)
	}
	if evs[2].Value("event.module") != "http" || evs[2].Arrived.IsZero() {
		t.Errorf("event 2 fields %v", evs[2].Fields)
	}
	if got := testutil.ToFloat64(r.m.Rejected.WithLabelValues(Source)); got != 2 {
		t.Errorf("rejected metric %v", got)
	}
	if got := testutil.ToFloat64(r.m.Failed.WithLabelValues(Source)); got != 1 {
		t.Errorf("failed metric %v (the bad timestamp)", got)
	}

	code, resp = r.post(t, "", []byte(`[{"message":"a"},{"message":"b"}]`), nil)
	if code != 200 || resp.Accepted != 2 {
		t.Fatalf("array: %d %+v", code, resp)
	}
	if code, resp = r.post(t, "", []byte("nope\n"), nil); code != 400 || resp.Accepted != 0 || resp.RejectedTotal != 1 {
		t.Fatalf("all rejected: %d %+v", code, resp)
	}
}

func TestIngestGzipLimitsAndFormats(t *testing.T) {
	r := newRig(t, bus.Config{})
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	io.WriteString(zw, `{"message":"zipped"}`+"\n")
	zw.Close()
	if code, resp := r.post(t, "", zb.Bytes(), map[string]string{"Content-Encoding": "gzip"}); code != 200 || resp.Accepted != 1 {
		t.Fatalf("gzip: %d %+v", code, resp)
	}
	if code, resp := r.post(t, "", []byte("x"), map[string]string{"Content-Encoding": "gzip"}); code != 400 || !strings.Contains(resp.Error, "gzip") {
		t.Fatalf("bad gzip: %d %+v", code, resp)
	}
	if code, _ := r.post(t, "", []byte("{}"), map[string]string{"Content-Encoding": "br"}); code != 415 {
		t.Fatalf("brotli: %d", code)
	}
	// A gzip bomb: 4 MiB of zeros inflating past the 1 MiB limit.
	zb.Reset()
	zw = gzip.NewWriter(&zb)
	zw.Write([]byte(`{"message":"`))
	zw.Write(make([]byte, 4<<20))
	zw.Close()
	if code, resp := r.post(t, "", zb.Bytes(), map[string]string{"Content-Encoding": "gzip"}); code != 413 {
		t.Fatalf("bomb: %d %+v", code, resp)
	}
	big := `{"message":"` + strings.Repeat("x", 5000) + `"}` + "\n" + `{"message":"small"}`
	if code, resp := r.post(t, "", []byte(big), nil); code != 200 || resp.Accepted != 1 || !strings.Contains(resp.Rejected[0].Reason, "too large") {
		t.Fatalf("per-event limit: %d %+v", code, resp)
	}
	r.events(t)
	if code, resp := r.post(t, "?format=upper", []byte("abc\n\ndef\n"), nil); code != 200 || resp.Accepted != 2 {
		t.Fatalf("line format: %d %+v", code, resp)
	}
	evs := r.events(t)
	if len(evs) != 2 || evs[1].Value("message") != "DEF" || evs[1].Time.Year() != 2026 || evs[1].Arrived.IsZero() {
		t.Fatalf("line events %+v", evs)
	}
	if code, resp := r.post(t, "?format=xml", []byte("<a/>"), nil); code != 400 || !strings.Contains(resp.Error, "upper") {
		t.Fatalf("unknown format: %d %+v", code, resp)
	}
}

func TestIngestBusFullIs503(t *testing.T) {
	r := newRig(t, bus.Config{MaxBytes: 32 << 10})
	var last int
	var resp Response
	for i := 0; i < 20 && last != 503; i++ {
		body := strings.Repeat(`{"message":"`+strings.Repeat("y", 1000)+`"}`+"\n", 8)
		last, resp = r.post(t, "", []byte(body), nil)
	}
	if last != 503 || resp.NotStoredFrom != 1 || !strings.Contains(resp.Error, "full") {
		t.Fatalf("got %d %+v, want 503 naming the first line not stored", last, resp)
	}
}

// TestImportAndFutureTimes: ?import=true marks a historical import (old
// times kept, flagged), and a time after the arrival is taken as the
// arrival, the claim kept.
func TestImportAndFutureTimes(t *testing.T) {
	r := newRig(t, bus.Config{})
	body := `{"@timestamp":"2026-10-01T08:00:00Z","message":"last month"}
{"@timestamp":"2030-01-01T00:00:00Z","message":"the future"}
`
	if code, resp := r.post(t, "?import=true", []byte(body), nil); code != 200 || resp.Accepted != 2 {
		t.Fatalf("got %d %+v", code, resp)
	}
	evs := r.events(t)
	arrived := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	if len(evs) != 2 || !evs[0].Time.Equal(time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)) || evs[0].Value(event.FieldImport) != "true" || evs[0].Has(event.FieldTimeSkew) {
		t.Fatalf("imported event %+v", evs)
	}
	if !evs[1].Time.Equal(arrived) || evs[1].Value(event.FieldSenderTime) != "2030-01-01T00:00:00Z" || evs[1].Value(event.FieldTimeSkew) == "" {
		t.Fatalf("future event %v %v, want the arrival time with the claim kept", evs[1].Time, evs[1].Fields)
	}
}
