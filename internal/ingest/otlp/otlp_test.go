package otlp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/bus/bustest"
	"github.com/vigil-siem/vigil/internal/cputime"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/web"
	"github.com/vigil-siem/vigil/internal/web/webtest"
)

const testToken = "vgl_otlp-token"

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

func checkFields(t *testing.T, e event.Event, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got, ok := e.Get(k); got != v || (v != "" && !ok) {
			t.Errorf("%s = %q, want %q\n%v", k, got, v, e.Fields)
		}
	}
}

// TestSDKExporter sends through the OpenTelemetry Go SDK's OTLP/HTTP log
// exporter (protobuf, gzip) and checks what reaches the bus.
func TestSDKExporter(t *testing.T) {
	e := setup(t, bus.Config{})
	ctx := context.Background()
	exp, err := otlploghttp.New(ctx,
		otlploghttp.WithEndpointURL(e.srv.URL+"/v1/logs"),
		otlploghttp.WithHeaders(map[string]string{"Authorization": "Bearer " + testToken}),
		otlploghttp.WithCompression(otlploghttp.GzipCompression),
		otlploghttp.WithRetry(otlploghttp.RetryConfig{Enabled: false}),
	)
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(
		attribute.String("service.name", "ehr-api"), attribute.String("service.version", "4.2"),
		attribute.String("host.name", "ehr-app-1"), attribute.String("os.type", "linux"),
		attribute.String("k8s.pod.name", "ehr-api-7d9f"), attribute.String("k8s.namespace.name", "clinical"),
		attribute.String("deployment.environment.name", "prod"),
	)
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
	logger := lp.Logger("ehr/audit", otellog.WithInstrumentationVersion("1.0.0"))

	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sctx := trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	at := time.Date(2026, 11, 28, 9, 30, 0, 123456789, time.UTC)
	const n = 20
	for i := range n {
		var r otellog.Record
		r.SetTimestamp(at.Add(time.Duration(i) * time.Second))
		r.SetObservedTimestamp(at.Add(time.Minute))
		r.SetSeverity(otellog.SeverityWarn)
		r.SetSeverityText("WARN")
		r.SetBody(attribute.StringValue(fmt.Sprintf("chart %d opened", i)))
		r.AddAttributes(
			attribute.String("user.name", fmt.Sprintf("nurse%d", i)),
			attribute.Int("http.response.status_code", 200),
			attribute.Map("patient", attribute.String("mrn", "MRN001"), attribute.Bool("vip", true)),
			attribute.StringSlice("roles", []string{"a", "b"}),
			attribute.String("message", "attribute named like a field"),
			attribute.String("exception.type", "TimeoutError"),
		)
		logger.Emit(sctx, r)
	}
	if err := lp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	evs := e.events(t, n)
	for i, ev := range evs {
		if want := at.Add(time.Duration(i) * time.Second); !ev.Time.Equal(want) {
			t.Errorf("event %d time %v, want %v", i, ev.Time, want)
		}
		checkFields(t, ev, map[string]string{
			"message": fmt.Sprintf("chart %d opened", i), "log.level": "warn", "event.severity": "13",
			"trace.id": "4bf92f3577b34da6a3ce929d0e0e4736", "span.id": "00f067aa0ba902b7",
			"otel.scope.name": "ehr/audit", "otel.scope.version": "1.0.0",
			"user.name": fmt.Sprintf("nurse%d", i), "http.response.status_code": "200",
			"patient.mrn": "MRN001", "patient.vip": "true", "roles": `["a","b"]`,
			"otel.attributes.message": "attribute named like a field", "error.type": "TimeoutError",
			"service.name": "ehr-api", "service.version": "4.2", "service.environment": "prod",
			"host.name": "ehr-app-1", "os.type": "linux",
			"kubernetes.pod.name": "ehr-api-7d9f", "kubernetes.namespace": "clinical",
			"event.dataset": "ehr-api", "event.created": "2026-11-28T09:31:00.123456789Z",
		})
		if ev.Arrived.IsZero() {
			t.Errorf("event %d without its arrival time", i)
		}
	}
}

// post sends a pdata-encoded request.
func post(t *testing.T, url, ct string, body []byte, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+testToken)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func sampleLogs(n int, bodyMap bool) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("host.name", "win-dc1")
	rl.Resource().Attributes().PutStr("os.type", "darwin")
	rl.Resource().Attributes().PutStr("data_stream.dataset", "windows.security")
	sl := rl.ScopeLogs().AppendEmpty()
	for i := range n {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 11, 28, 8, 0, i, 0, time.UTC)))
		lr.SetSeverityNumber(plog.SeverityNumberError2)
		lr.SetEventName("auth.failure")
		if bodyMap {
			m := lr.Body().SetEmptyMap()
			m.PutInt("event_id", 4625)
			m.PutEmptyMap("event_data").PutStr("TargetUserName", "admin")
		} else {
			lr.Body().SetInt(int64(i))
		}
		lr.Attributes().PutStr("host.name", "record-host")
	}
	return ld
}

func TestJSONAndMapping(t *testing.T) {
	e := setup(t, bus.Config{})
	body, err := plogotlp.NewExportRequestFromLogs(sampleLogs(2, true)).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	resp, out := post(t, e.srv.URL+"/v1/logs", "application/json", body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), out)
	}
	er := plogotlp.NewExportResponse()
	if err := er.UnmarshalJSON(out); err != nil || er.PartialSuccess().RejectedLogRecords() != 0 {
		t.Fatalf("response %s (%v)", out, err)
	}
	evs := e.events(t, 2)
	if want := time.Date(2026, 11, 28, 8, 0, 1, 0, time.UTC); !evs[1].Time.Equal(want) {
		t.Errorf("time from observed timestamp %v, want %v", evs[1].Time, want)
	}
	checkFields(t, evs[1], map[string]string{
		"otel.body.event_id": "4625", "otel.body.event_data.TargetUserName": "admin", "message": "",
		"log.level": "error", "event.severity": "18", "otel.event_name": "auth.failure",
		"host.name": "record-host", "os.type": "macos", "event.dataset": "windows.security",
	})
}

func TestStatuses(t *testing.T) {
	e := setup(t, bus.Config{})
	e.h.MaxEventBytes = 300
	proto1, _ := plogotlp.NewExportRequestFromLogs(sampleLogs(1, false)).MarshalProto()
	url := e.srv.URL + "/v1/logs"

	resp, out := post(t, url, "application/x-protobuf", proto1)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-protobuf" {
		t.Fatalf("protobuf: %d %q", resp.StatusCode, out)
	}
	if evs := e.events(t, 1); evs[0].Value("message") != "0" {
		t.Fatalf("int body: %v", evs[0].Fields)
	}

	// A record over the size limit is refused in partial_success.
	big := sampleLogs(2, false)
	big.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1).Body().SetStr(strings.Repeat("x", 400))
	pb, _ := plogotlp.NewExportRequestFromLogs(big).MarshalProto()
	resp, out = post(t, url, "application/x-protobuf", pb)
	er := plogotlp.NewExportResponse()
	if resp.StatusCode != 200 || er.UnmarshalProto(out) != nil || er.PartialSuccess().RejectedLogRecords() != 1 ||
		!strings.Contains(er.PartialSuccess().ErrorMessage(), "exceed 300 bytes") {
		t.Fatalf("partial success: %d %v", resp.StatusCode, er.PartialSuccess().ErrorMessage())
	}
	e.events(t, 1)

	for _, c := range []struct {
		name, ct string
		body     []byte
		hdr      []string
		status   int
		code     int32
	}{
		{"bad protobuf", "application/x-protobuf", []byte{0xff, 0xff, 0xff}, nil, 400, 3},
		{"bad json", "application/json", []byte(`{"resourceLogs":[{`), nil, 400, 3},
		{"no token", "application/x-protobuf", proto1, []string{"Authorization", ""}, 401, 16},
		{"wrong token", "application/json", []byte(`{}`), []string{"Authorization", "Bearer nope"}, 401, 16},
		{"token without ingest", "application/json", []byte(`{}`), []string{"Authorization", "Bearer " + e.web.Tokens["metrics"]}, 403, 7},
		{"content type", "text/plain", proto1, nil, 415, 3},
		{"encoding", "application/x-protobuf", proto1, []string{"Content-Encoding", "zstd"}, 415, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, out := post(t, url, c.ct, c.body, c.hdr...)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %q", resp.StatusCode, c.status, out)
			}
			var st status.Status
			if strings.Contains(resp.Header.Get("Content-Type"), "json") {
				if !strings.Contains(string(out), fmt.Sprintf(`"code":%d`, c.code)) {
					t.Fatalf("JSON status %s", out)
				}
				return
			}
			if err := proto.Unmarshal(out, &st); err != nil || st.Code != c.code || st.Message == "" {
				t.Fatalf("status %v (%v), want code %d", &st, err, c.code)
			}
		})
	}
}

func TestBusFull(t *testing.T) {
	e := setup(t, bus.Config{MaxBytes: 64 << 10, MaxBatchBytes: 16 << 10})
	ld := sampleLogs(3, false)
	for i := 0; i < 3; i++ {
		ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(i).Body().SetStr(strings.Repeat("y", 4000))
	}
	body, _ := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	for i := 0; i < 40; i++ {
		resp, out := post(t, e.srv.URL+"/v1/logs", "application/x-protobuf", body)
		if resp.StatusCode == 503 {
			var st status.Status
			if resp.Header.Get("Retry-After") == "" || proto.Unmarshal(out, &st) != nil || st.Code != 14 {
				t.Fatalf("503 answer %v %v", resp.Header, &st)
			}
			return
		}
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
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
	resp, err := http.Post(srv.URL+"/v1/logs", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("unauthenticated through the API server = %d", resp.StatusCode)
	}
}

// FuzzJSON: any JSON request body decodes or fails cleanly, and what
// decodes maps to events without panicking.
func FuzzJSON(f *testing.F) {
	b, _ := plogotlp.NewExportRequestFromLogs(sampleLogs(2, true)).MarshalJSON()
	f.Add(b)
	f.Add([]byte(`{"resourceLogs":[{"resource":{"attributes":[{"key":"k","value":{"kvlistValue":{"values":[{"key":"a","value":{"arrayValue":{"values":[{"intValue":"1"}]}}}]}}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"1","body":{"bytesValue":"AAE="},"traceId":"0102"}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req := plogotlp.NewExportRequest()
		if req.UnmarshalJSON(data) != nil {
			return
		}
		evs := AppendEvents(nil, req.Logs(), time.Unix(0, 0))
		if len(evs) != req.Logs().LogRecordCount() {
			t.Fatalf("%d events for %d records", len(evs), req.Logs().LogRecordCount())
		}
	})
}

// BenchmarkOTLP measures records per second end to end through the
// handler: a protobuf request of 1000 records, decoding, mapping,
// publishing to a real embedded bus and waiting for it.
func BenchmarkOTLP(b *testing.B) {
	const n = 1000
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "ehr-api")
	rl.Resource().Attributes().PutStr("host.name", "ehr-app-1")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("ehr/audit")
	for i := range n {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Unix(1732788000+int64(i), 0)))
		lr.SetSeverityText("INFO")
		lr.Body().SetStr(fmt.Sprintf("patient chart opened by nurse%d", i%50))
		lr.Attributes().PutStr("user.name", fmt.Sprintf("nurse%d", i%50))
		lr.Attributes().PutStr("patient.mrn", fmt.Sprintf("MRN%06d", i))
	}
	body, _ := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	e := setup(b, bus.Config{})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Self()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("POST", "/v1/logs", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
	b.StopTimer()
	used := cputime.Self() - cpu
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
	if used > 0 {
		b.ReportMetric(float64(b.N*n)/used.Seconds(), "events/cpu-s")
	}
}
