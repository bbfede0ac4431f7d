package fhirin

import (
	"bytes"
	"compress/gzip"
	"context"
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
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/bus/bustest"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/logbuf"
	"github.com/vigil-siem/vigil/internal/parse/fhir"
)

type env struct {
	h       *Handler
	mux     http.Handler
	cons    *bus.Consumer
	metrics *ingest.Metrics
	logs    *logbuf.Buffer
}

func setup(t testing.TB, busCfg bus.Config) *env {
	t.Helper()
	b, cons := bustest.Open(t, busCfg)
	e := &env{cons: cons, metrics: ingest.NewMetrics(prometheus.NewRegistry()), logs: &logbuf.Buffer{}}
	e.h = &Handler{Pub: b, Metrics: e.metrics, BaseURL: "https://vigil.example.org/fhir",
		Log: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	// The handlers alone: authentication is the server's (web.Guard).
	mux := http.NewServeMux()
	for _, rt := range e.h.Routes() {
		mux.Handle(rt.Pattern, rt.Handler)
	}
	e.mux = mux
	return e
}

func (e *env) events(t testing.TB, want int) []event.Event {
	t.Helper()
	out := bustest.Events(t, e.cons, "", want)
	// Nothing more may arrive.
	if msgs, _ := e.cons.Fetch(context.Background(), 100, 100*time.Millisecond); len(msgs) > 0 {
		t.Fatalf("more batches on the bus than expected (%d events wanted)", want)
	}
	return out
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, r.body)
	}
	return v
}

func (e *env) do(method, path, ctype string, body []byte, hdr ...string) response {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), rec.Body.Bytes()}
}

// auditEvent is a BALP-style R4 patient read by user of patient.
func auditEvent(user, patient string) string {
	return `{"resourceType":"AuditEvent","id":"client-id-1",
	"type":{"system":"http://terminology.hl7.org/CodeSystem/audit-event-type","code":"rest"},
	"subtype":[{"system":"http://hl7.org/fhir/restful-interaction","code":"read"}],
	"action":"R","recorded":"2024-03-12T08:49:00Z","outcome":"0",
	"agent":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},
		"who":{"identifier":{"value":"` + user + `"},"display":"Gregory House"},"requestor":true,
		"network":{"address":"10.1.2.3","type":"2"}}],
	"source":{"observer":{"display":"EHR"}},
	"entity":[{"what":{"reference":"Patient/` + patient + `"},"role":{"system":"http://terminology.hl7.org/CodeSystem/object-role","code":"1"}}]}`
}

func bundle(typ string, entries ...string) string {
	var parts []string
	for _, e := range entries {
		parts = append(parts, `{"fullUrl":"urn:uuid:x","resource":`+e+`,"request":{"method":"POST","url":"AuditEvent"}}`)
	}
	return `{"resourceType":"Bundle","type":"` + typ + `","entry":[` + strings.Join(parts, ",") + `]}`
}

const invalidEvent = `{"resourceType":"AuditEvent","type":{"code":"rest"},"recorded":"not a time","agent":[],"source":{"observer":{"display":"x"}}}`

func issueExpressions(t testing.TB, r response) []string {
	t.Helper()
	var oo struct {
		ResourceType string
		Issue        []fhir.Issue
	}
	if err := json.Unmarshal(r.body, &oo); err != nil || oo.ResourceType != "OperationOutcome" {
		t.Fatalf("not an OperationOutcome: %s", r.body)
	}
	var ex []string
	for _, is := range oo.Issue {
		ex = append(ex, is.Expression...)
	}
	return ex
}

func TestCreate(t *testing.T) {
	e := setup(t, bus.Config{})
	r := e.do("POST", "/fhir/AuditEvent", "application/fhir+json", []byte(auditEvent("dr.house", "P123")))
	if r.status != 201 || !strings.HasPrefix(r.header.Get("Location"), "https://vigil.example.org/fhir/AuditEvent/") || len(r.body) != 0 {
		t.Fatalf("create: %d %v %s", r.status, r.header, r.body)
	}
	id := strings.Split(r.header.Get("Location"), "/")[5]
	// Prefer: return=representation echoes the resource with the new id.
	r = e.do("POST", "/fhir/AuditEvent", "application/json; charset=utf-8", []byte(auditEvent("dr.wilson", "P124")), "Prefer", "return=representation")
	if r.status != 201 || r.json(t)["id"] == "client-id-1" || r.json(t)["meta"].(map[string]any)["versionId"] != "1" {
		t.Fatalf("representation: %d %s", r.status, r.body)
	}
	evs := e.events(t, 2)
	ev := evs[0]
	for name, want := range map[string]string{
		"event.module": "fhir", "user.name": "dr.house", "healthcare.patient.id": "P123", "event.action": "read",
		FieldAssignedID: id, "event.id": "client-id-1", "source.ip": "10.1.2.3",
	} {
		if got := ev.Value(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if ev.Arrived.IsZero() || ev.Has(event.FieldOriginal) || ev.Time != time.Date(2024, 3, 12, 8, 49, 0, 0, time.UTC) {
		t.Errorf("event %v %v", ev.Time, ev.Fields)
	}
	if got := testutil.ToFloat64(e.metrics.Parsed.WithLabelValues(Source)); got != 2 {
		t.Errorf("parsed %v", got)
	}
}

func TestCreateRefusals(t *testing.T) {
	e := setup(t, bus.Config{})
	for _, c := range []struct {
		name, path, ctype, body string
		status                  int
		expr                    string
	}{
		{"invalid element", "/fhir/AuditEvent", "application/fhir+json", invalidEvent, 400, "AuditEvent.recorded"},
		{"not JSON", "/fhir/AuditEvent", "application/fhir+json", `{"resourceType":`, 400, ""},
		{"wrong resource", "/fhir/AuditEvent", "application/fhir+json", `{"resourceType":"Patient","id":"x"}`, 400, "Resource.resourceType"},
		{"bundle to type endpoint", "/fhir/AuditEvent", "application/fhir+json", bundle("batch", auditEvent("u", "p")), 400, ""},
		{"event to base", "/fhir", "application/fhir+json", auditEvent("u", "p"), 400, ""},
		{"media type", "/fhir/AuditEvent", "text/plain", auditEvent("u", "p"), 415, ""},
		{"history bundle", "/fhir", "application/fhir+json", `{"resourceType":"Bundle","type":"history","entry":[]}`, 400, "Bundle.type"},
	} {
		r := e.do("POST", c.path, c.ctype, []byte(c.body))
		if r.status != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, r.status, c.status, r.body)
			continue
		}
		ex := issueExpressions(t, r)
		if c.expr != "" && !strings.Contains(strings.Join(ex, " "), c.expr) {
			t.Errorf("%s: expressions %v, want %s", c.name, ex, c.expr)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
			t.Errorf("%s: Content-Type %q", c.name, ct)
		}
	}
	// Too large.
	e.h.Limits = fhir.Limits{MaxRequestBytes: 1024}
	r := e.do("POST", "/fhir/AuditEvent", "application/fhir+json", []byte(auditEvent(strings.Repeat("u", 2000), "p")))
	if r.status != 413 {
		t.Fatalf("too large: %d %s", r.status, r.body)
	}
	e.events(t, 0)
	if got := testutil.ToFloat64(e.metrics.Rejected.WithLabelValues(Source)); got < 5 {
		t.Errorf("rejected %v", got)
	}
}

func TestXMLAndGzip(t *testing.T) {
	e := setup(t, bus.Config{})
	xml := `<AuditEvent xmlns="http://hl7.org/fhir">
  <type><system value="http://terminology.hl7.org/CodeSystem/audit-event-type"/><code value="rest"/></type>
  <subtype><system value="http://hl7.org/fhir/restful-interaction"/><code value="read"/></subtype>
  <action value="R"/><recorded value="2024-03-12T08:49:00Z"/><outcome value="0"/>
  <agent><who><identifier><value value="dr.xml"/></identifier></who><requestor value="true"/></agent>
  <source><observer><display value="EHR"/></observer></source>
  <entity><what><reference value="Patient/PX"/></what></entity>
</AuditEvent>`
	if r := e.do("POST", "/fhir/AuditEvent", "application/fhir+xml", []byte(xml)); r.status != 201 {
		t.Fatalf("xml: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/fhir/AuditEvent", "", []byte(xml)); r.status != 201 {
		t.Fatalf("xml without content type: %d %s", r.status, r.body)
	}
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	io.WriteString(zw, auditEvent("dr.gzip", "PZ"))
	zw.Close()
	if r := e.do("POST", "/fhir/AuditEvent", "application/fhir+json", zb.Bytes(), "Content-Encoding", "gzip"); r.status != 201 {
		t.Fatalf("gzip: %d %s", r.status, r.body)
	}
	evs := e.events(t, 3)
	if evs[0].Value("user.name") != "dr.xml" || evs[2].Value("user.name") != "dr.gzip" {
		t.Fatalf("users %q %q", evs[0].Value("user.name"), evs[2].Value("user.name"))
	}
}

func TestBatch(t *testing.T) {
	e := setup(t, bus.Config{})
	r := e.do("POST", "/fhir", "application/fhir+json", []byte(bundle("batch", auditEvent("a", "P1"), invalidEvent, auditEvent("b", "P2"))))
	if r.status != 200 {
		t.Fatalf("batch: %d %s", r.status, r.body)
	}
	var resp struct {
		ResourceType, Type string
		Entry              []struct {
			Response struct {
				Status, Location string
				Outcome          json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(r.body, &resp); err != nil || resp.Type != "batch-response" || len(resp.Entry) != 3 {
		t.Fatalf("batch response %s", r.body)
	}
	if resp.Entry[0].Response.Status != "201 Created" || resp.Entry[1].Response.Status != "400 Bad Request" ||
		!strings.Contains(string(resp.Entry[1].Response.Outcome), "Bundle.entry[1].resource.recorded") || resp.Entry[2].Response.Location == "" {
		t.Fatalf("entries %s", r.body)
	}
	evs := e.events(t, 2)
	if evs[0].Value("user.name") != "a" || evs[1].Value("user.name") != "b" {
		t.Fatalf("events %v", evs)
	}
}

func TestTransaction(t *testing.T) {
	e := setup(t, bus.Config{})
	// One invalid entry: nothing is stored.
	r := e.do("POST", "/fhir", "application/fhir+json", []byte(bundle("transaction", auditEvent("a", "P1"), invalidEvent)))
	if r.status != 400 || !strings.Contains(strings.Join(issueExpressions(t, r), " "), "Bundle.entry[1]") {
		t.Fatalf("invalid transaction: %d %s", r.status, r.body)
	}
	e.events(t, 0)
	r = e.do("POST", "/fhir", "application/fhir+json", []byte(bundle("transaction", auditEvent("a", "P1"), auditEvent("b", "P2"))))
	if r.status != 200 || r.json(t)["type"] != "transaction-response" {
		t.Fatalf("transaction: %d %s", r.status, r.body)
	}
	e.events(t, 2)
}

func TestTransactionTooLargeForOneBatch(t *testing.T) {
	e := setup(t, bus.Config{MaxBatchBytes: 16 << 10})
	var entries []string
	for i := range 40 {
		entries = append(entries, auditEvent(fmt.Sprintf("user%d", i), "P1"))
	}
	r := e.do("POST", "/fhir", "application/fhir+json", []byte(bundle("transaction", entries...)))
	if r.status != 413 || !strings.Contains(string(r.body), "atomically") {
		t.Fatalf("big transaction: %d %s", r.status, r.body)
	}
	e.events(t, 0)
	// The same entries as a batch are stored, in several bus batches.
	r = e.do("POST", "/fhir", "application/fhir+json", []byte(bundle("batch", entries...)))
	if r.status != 200 {
		t.Fatalf("big batch: %d %s", r.status, r.body)
	}
	e.events(t, 40)
}

func TestBusFull(t *testing.T) {
	e := setup(t, bus.Config{MaxBytes: 32 << 10, MaxBatchBytes: 8 << 10})
	for i := range 200 {
		r := e.do("POST", "/fhir/AuditEvent", "application/fhir+json", []byte(auditEvent(fmt.Sprintf("u%d", i), strings.Repeat("P", 1000))))
		if r.status == 201 {
			continue
		}
		if r.status != 503 || r.header.Get("Retry-After") == "" || !strings.Contains(string(r.body), "transient") {
			t.Fatalf("bus full: %d %v %s", r.status, r.header, r.body)
		}
		// A batch when the bus is full (no smaller than the event just
		// refused): refused as a whole.
		r = e.do("POST", "/fhir", "application/fhir+json", []byte(bundle("batch", auditEvent(fmt.Sprintf("u%d", i), strings.Repeat("P", 1100)))))
		if r.status != 503 {
			t.Fatalf("batch on a full bus: %d %s", r.status, r.body)
		}
		e.events(t, i)
		return
	}
	t.Fatal("the bus never filled up")
}

func TestMetadata(t *testing.T) {
	e := setup(t, bus.Config{})
	r := e.do("GET", "/fhir/metadata", "", nil)
	if r.status != 200 || r.json(t)["resourceType"] != "CapabilityStatement" {
		t.Fatalf("metadata: %d %s", r.status, r.body)
	}
}
