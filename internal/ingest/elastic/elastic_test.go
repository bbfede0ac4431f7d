package elastic

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/bus/bustest"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/web"
	"github.com/vigil-siem/vigil/internal/web/webtest"
)

const testToken = "vgl_test-token"

type env struct {
	h   *Handler
	bus *bus.Bus
	c   *bus.Consumer
	srv *httptest.Server
	web *webtest.Env
}

func setup(tb testing.TB, cfg bus.Config) *env {
	tb.Helper()
	b, c := bustest.Open(tb, cfg)
	log := slog.New(slog.DiscardHandler)
	h := &Handler{Pub: b, Metrics: ingest.NewMetrics(prometheus.NewRegistry()), Log: log}
	w := webtest.New(tb, webtest.Options{IngestToken: testToken}, h.Routes()...)
	return &env{h: h, bus: b, c: c, srv: w.Server, web: w}
}

// events fetches what reached the bus, waiting for want events.
func (e *env) events(tb testing.TB, want int) []event.Event {
	tb.Helper()
	return bustest.Events(tb, e.c, Source, want)
}

func (e *env) do(tb testing.TB, method, path, body string, hdr ...string) (*http.Response, string) {
	tb.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.SetBasicAuth("elastic", testToken)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Authorization" && hdr[i+1] == "" {
			req.Header.Del("Authorization")
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestAuthentication(t *testing.T) {
	e := setup(t, bus.Config{})
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, c := range []struct {
		name, auth string
		want       int
	}{
		{"basic", "Basic " + b64("anyone:"+testToken), 200},
		{"apikey id:secret", "ApiKey " + b64("myid:"+testToken), 200},
		{"apikey raw", "ApiKey " + testToken, 200},
		{"apikey raw id:secret", "ApiKey myid:" + testToken, 200},
		{"bearer", "Bearer " + testToken, 200},
		{"wrong password", "Basic " + b64("elastic:nope"), 401},
		{"wrong apikey", "ApiKey " + b64("id:nope"), 401},
		{"none", "", 401},
		{"garbage", "Basic !!!", 401},
		// A valid token without the ingest permission.
		{"metrics token", "Basic " + b64("elastic:"+e.web.Tokens["metrics"]), 403},
		{"auditor token", "Bearer " + e.web.Tokens["auditor"], 403},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.do(t, "GET", "/", "", "Authorization", c.auth)
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.want, body)
			}
			if got := resp.Header.Get("X-Elastic-Product"); got != "Elasticsearch" {
				t.Errorf("X-Elastic-Product %q", got)
			}
			if c.want == 403 && !strings.Contains(body, "security_exception") {
				t.Errorf("403 body %s", body)
			}
			if c.want == 401 {
				if !strings.Contains(strings.Join(resp.Header.Values("WWW-Authenticate"), ","), "Basic") {
					t.Errorf("401 without WWW-Authenticate Basic: %v", resp.Header)
				}
				if !strings.Contains(body, "security_exception") {
					t.Errorf("401 body %s", body)
				}
			}
		})
	}
}

func TestRootAndStartupCalls(t *testing.T) {
	e := setup(t, bus.Config{})
	resp, body := e.do(t, "GET", "/", "")
	var root struct {
		Version struct {
			Number string `json:"number"`
		} `json:"version"`
		Tagline string `json:"tagline"`
	}
	var raw map[string]map[string]any
	json.Unmarshal([]byte(body), &root)
	json.Unmarshal([]byte(body), &raw)
	if resp.StatusCode != 200 || !strings.HasPrefix(root.Version.Number, "8.") || raw["version"]["build_flavor"] != "default" || root.Tagline != "You Know, for Search" {
		t.Fatalf("GET / = %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do(t, "HEAD", "/", ""); resp.StatusCode != 200 {
		t.Fatalf("HEAD / = %d", resp.StatusCode)
	}
	_, body = e.do(t, "GET", "/_license?human=false", "")
	if !strings.Contains(body, `"status":"active"`) || !strings.Contains(body, `"type":"basic"`) {
		t.Errorf("license %s", body)
	}
	_, body = e.do(t, "GET", "/_xpack", "")
	if !strings.Contains(body, `"ilm":{"available":true,"enabled":true}`) {
		t.Errorf("xpack %s", body)
	}
	if resp, body := e.do(t, "GET", "/_cluster/health", ""); resp.StatusCode != 200 || !strings.Contains(body, `"status":"green"`) {
		t.Errorf("health %d %s", resp.StatusCode, body)
	}
	if resp, body := e.do(t, "GET", "/_nodes/http", ""); resp.StatusCode != 200 || !strings.Contains(body, `"publish_address"`) {
		t.Errorf("nodes %d %s", resp.StatusCode, body)
	}

	// Templates, policies, pipelines: absent, then PUT, then present.
	for _, p := range []string{"/_index_template/filebeat-8.19.0", "/_component_template/c1", "/_template/logstash", "/_ilm/policy/filebeat", "/_ingest/pipeline/p1"} {
		if resp, body := e.do(t, "HEAD", p, ""); resp.StatusCode != 404 {
			t.Errorf("HEAD %s before PUT = %d %s", p, resp.StatusCode, body)
		}
		if resp, _ := e.do(t, "GET", p, ""); resp.StatusCode != 404 {
			t.Errorf("GET %s before PUT = %d", p, resp.StatusCode)
		}
		if resp, body := e.do(t, "PUT", p, `{"policy":{"phases":{}},"index_patterns":["x-*"]}`); resp.StatusCode != 200 || body != `{"acknowledged":true}` {
			t.Errorf("PUT %s = %d %s", p, resp.StatusCode, body)
		}
		if resp, _ := e.do(t, "HEAD", p, ""); resp.StatusCode != 200 {
			t.Errorf("HEAD %s after PUT = %d", p, resp.StatusCode)
		}
		if resp, body := e.do(t, "GET", p, ""); resp.StatusCode != 200 || !json.Valid([]byte(body)) {
			t.Errorf("GET %s after PUT = %d %s", p, resp.StatusCode, body)
		}
	}
	_, body = e.do(t, "GET", "/_ilm/policy/filebeat", "")
	if !strings.Contains(body, `"filebeat":{`) || !strings.Contains(body, `"phases"`) {
		t.Errorf("ILM policy answer %s", body)
	}
	_, body = e.do(t, "GET", "/_index_template/filebeat-*", "")
	if !strings.Contains(body, `"index_templates":[{"index_template"`) && !strings.Contains(body, `"name":"filebeat-8.19.0"`) {
		t.Errorf("index template answer %s", body)
	}
	if resp, body := e.do(t, "PUT", "/_index_template/bad", `{not json`); resp.StatusCode != 400 {
		t.Errorf("PUT invalid JSON = %d %s", resp.StatusCode, body)
	}
	// Data streams and indices.
	if resp, _ := e.do(t, "GET", "/_data_stream/logs-app-default", ""); resp.StatusCode != 404 {
		t.Errorf("GET data stream before PUT = %d", resp.StatusCode)
	}
	e.do(t, "PUT", "/_data_stream/logs-app-default", "")
	if resp, body := e.do(t, "GET", "/_data_stream/logs-app-default", ""); resp.StatusCode != 200 || !strings.Contains(body, `"name":"logs-app-default"`) {
		t.Errorf("GET data stream after PUT = %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do(t, "HEAD", "/_alias/logstash", ""); resp.StatusCode != 404 {
		t.Errorf("HEAD alias = %d", resp.StatusCode)
	}
	if resp, body := e.do(t, "PUT", "/%3Clogstash-%7Bnow%2Fd%7D-000001%3E", `{"aliases":{"logstash":{"is_write_index":true}}}`); resp.StatusCode != 200 {
		t.Errorf("PUT rollover index = %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do(t, "HEAD", "/_alias/logstash", ""); resp.StatusCode != 200 {
		t.Errorf("HEAD alias after index creation = %d", resp.StatusCode)
	}
	if resp, body := e.do(t, "GET", "/_security/_authenticate", ""); resp.StatusCode != 200 || !strings.Contains(body, `"username":"elastic"`) {
		t.Errorf("authenticate = %d %s", resp.StatusCode, body)
	}
	if resp, body := e.do(t, "GET", "/_cat/indices", ""); resp.StatusCode != 400 || !strings.Contains(body, "no handler found") {
		t.Errorf("unknown API = %d %s", resp.StatusCode, body)
	}
}

func TestBulkResponseAndMapping(t *testing.T) {
	e := setup(t, bus.Config{})
	body := strings.Join([]string{
		`{"create":{"_index":"logs-nginx.access-prod"}}`,
		`{"@timestamp":"2026-11-28T10:00:00.123Z","message":"GET /","host":{"name":"web1"}}`,
		`{"index":{"_id":"given-id"}}`,
		`{"message":"daily index","event":{"dataset":"own.dataset"}}`,
		`{"delete":{"_index":"x","_id":"1"}}`,
		`{"update":{"_index":"x","_id":"1"}}`,
		`{"doc":{"a":1}}`,
		`{"index":{}}`,
		`{"broken json`,
		`{"index":{"_index":"BadName"}}`,
		`{"message":"refused"}`,
		`{"create":{"_index":"logstash-2026.11.28"}}`,
		`{"message":"last","@timestamp":"not a time"}`,
	}, "\n") // no final newline: accepted
	resp, out := e.do(t, "POST", "/filebeat-8.19.0/_bulk?refresh=false", body, "Content-Type", "application/x-ndjson")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, out)
	}
	var r struct {
		Took   *int                        `json:"took"`
		Errors bool                        `json:"errors"`
		Items  []map[string]map[string]any `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Took == nil || !r.Errors || len(r.Items) != 7 {
		t.Fatalf("response %s", out)
	}
	want := []struct {
		action string
		status float64
		index  string
		errTyp string
	}{
		{"create", 201, "logs-nginx.access-prod", ""},
		{"index", 201, "filebeat-8.19.0", ""},
		{"delete", 400, "x", "illegal_argument_exception"},
		{"update", 400, "x", "illegal_argument_exception"},
		{"index", 400, "filebeat-8.19.0", "document_parsing_exception"},
		{"index", 400, "BadName", "invalid_index_name_exception"},
		{"create", 201, "logstash-2026.11.28", ""},
	}
	for i, w := range want {
		it, ok := r.Items[i][w.action]
		if !ok {
			t.Fatalf("item %d: %v, want action %s", i, r.Items[i], w.action)
		}
		if it["status"] != w.status || it["_index"] != w.index {
			t.Errorf("item %d: %v, want status %v index %s", i, it, w.status, w.index)
		}
		if w.errTyp != "" {
			errObj, _ := it["error"].(map[string]any)
			if errObj["type"] != w.errTyp || errObj["reason"] == "" {
				t.Errorf("item %d error %v, want %s", i, it["error"], w.errTyp)
			}
			continue
		}
		if it["result"] != "created" || it["_version"] != float64(1) || it["_primary_term"] != float64(1) || it["_seq_no"] == nil || it["_shards"] == nil {
			t.Errorf("item %d: %v", i, it)
		}
		if id, _ := it["_id"].(string); len(id) == 0 {
			t.Errorf("item %d without _id", i)
		}
	}
	if r.Items[1]["index"]["_id"] != "given-id" {
		t.Errorf("given _id not echoed: %v", r.Items[1])
	}
	if id, _ := r.Items[0]["create"]["_id"].(string); len(id) != 20 {
		t.Errorf("generated _id %q, want 20 characters", id)
	}

	evs := e.events(t, 3)
	get := func(i int, name string) string { return evs[i].Value(name) }
	if !evs[0].Time.Equal(time.Date(2026, 11, 28, 10, 0, 0, 123e6, time.UTC)) || evs[0].Has("@timestamp") {
		t.Errorf("event 0 time %v fields %v", evs[0].Time, evs[0].Fields)
	}
	for name, want := range map[string]string{
		"message": "GET /", "host.name": "web1", "data_stream.type": "logs", "data_stream.dataset": "nginx.access",
		"data_stream.namespace": "prod", "event.dataset": "nginx.access",
	} {
		if got := get(0, name); got != want {
			t.Errorf("event 0 %s = %q, want %q", name, got, want)
		}
	}
	if evs[0].Arrived.IsZero() {
		t.Error("event 0 without its arrival time")
	}
	if got := get(1, "event.dataset"); got != "own.dataset" {
		t.Errorf("event 1 event.dataset = %q, want the document's own", got)
	}
	if got := get(2, "event.dataset"); got != "logstash" {
		t.Errorf("event 2 event.dataset = %q, want logstash", got)
	}
	if got := get(2, event.FieldParseError); !strings.Contains(got, "@timestamp") || get(2, "vigil.original_timestamp") != "not a time" {
		t.Errorf("event 2 bad @timestamp kept as %q / %q", got, get(2, "vigil.original_timestamp"))
	}
}

func TestBulkFilterPath(t *testing.T) {
	e := setup(t, bus.Config{})
	body := "{\"index\":{\"_index\":\"a\"}}\n{\"x\":1}\n{\"delete\":{\"_index\":\"a\",\"_id\":\"1\"}}\n"
	// Beats sends this filter.
	_, out := e.do(t, "POST", "/_bulk?filter_path=errors,items.*.error,items.*.status", body)
	var r map[string]any
	json.Unmarshal([]byte(out), &r)
	if _, ok := r["took"]; ok || r["errors"] != true {
		t.Fatalf("filtered answer %s", out)
	}
	items := r["items"].([]any)
	first := items[0].(map[string]any)["index"].(map[string]any)
	second := items[1].(map[string]any)["delete"].(map[string]any)
	if len(first) != 1 || first["status"] != float64(201) || second["status"] != float64(400) || second["error"] == nil || second["_id"] != nil {
		t.Fatalf("filtered answer %s", out)
	}
	_, out = e.do(t, "POST", "/_bulk?filter_path=-items", body)
	if strings.Contains(out, "items") || !strings.Contains(out, `"took"`) {
		t.Errorf("exclusion answer %s", out)
	}
	_, out = e.do(t, "POST", "/_bulk?filter_path=**.status", body)
	if strings.Contains(out, "_index") || !strings.Contains(out, `"status":201`) {
		t.Errorf("** answer %s", out)
	}
	e.events(t, 3)
}

func TestBulkRequestErrors(t *testing.T) {
	e := setup(t, bus.Config{})
	e.h.MaxBodyBytes = 4096
	e.h.MaxDocBytes = 256
	for _, c := range []struct {
		name, body string
		status     int
		contains   string
	}{
		{"empty", "", 400, "no requests added"},
		{"malformed action", "{\"index\":{}}\n{\"a\":1}\nnot json\n", 400, "malformed action/metadata line [3]"},
		{"unknown action", "{\"upsert\":{}}\n{}\n", 400, "[upsert]"},
		{"body too large", strings.Repeat("{\"index\":{\"_index\":\"a\"}}\n{\"a\":1}\n", 200), 413, "exceeds 4096 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, out := e.do(t, "POST", "/_bulk", c.body)
			if resp.StatusCode != c.status || !strings.Contains(out, c.contains) {
				t.Fatalf("got %d %s, want %d containing %q", resp.StatusCode, out, c.status, c.contains)
			}
		})
	}
	// A document over the limit is refused alone.
	body := "{\"index\":{\"_index\":\"a\"}}\n{\"m\":\"" + strings.Repeat("x", 300) + "\"}\n{\"index\":{\"_index\":\"a\"}}\n{\"m\":\"ok\"}\n"
	resp, out := e.do(t, "POST", "/_bulk", body)
	if resp.StatusCode != 200 || !strings.Contains(out, `"status":413`) || !strings.Contains(out, `"status":201`) {
		t.Fatalf("oversized document: %d %s", resp.StatusCode, out)
	}
	if evs := e.events(t, 1); evs[0].Value("m") != "ok" {
		t.Fatalf("stored %v", evs[0].Fields)
	}
	// gzip
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte("{\"index\":{\"_index\":\"gz\"}}\n{\"m\":\"zipped\"}\n"))
	zw.Close()
	resp, out = e.do(t, "POST", "/_bulk", zb.String(), "Content-Encoding", "gzip")
	if resp.StatusCode != 200 || strings.Contains(out, `"errors":true`) {
		t.Fatalf("gzip: %d %s", resp.StatusCode, out)
	}
	if evs := e.events(t, 1); evs[0].Value("m") != "zipped" || evs[0].Value("event.dataset") != "gz" {
		t.Fatalf("gzip stored %v", evs[0].Fields)
	}
	if resp, _ := e.do(t, "POST", "/_bulk", "x", "Content-Encoding", "br"); resp.StatusCode != 415 {
		t.Errorf("brotli = %d, want 415", resp.StatusCode)
	}
}

func TestSingleDocument(t *testing.T) {
	e := setup(t, bus.Config{})
	resp, out := e.do(t, "POST", "/logs-app-default/_doc", `{"message":"one"}`)
	if resp.StatusCode != 201 || !strings.Contains(out, `"result":"created"`) {
		t.Fatalf("POST _doc = %d %s", resp.StatusCode, out)
	}
	resp, out = e.do(t, "PUT", "/logs-app-default/_create/abc", `{"message":"two"}`)
	if resp.StatusCode != 201 || !strings.Contains(out, `"_id":"abc"`) {
		t.Fatalf("PUT _create = %d %s", resp.StatusCode, out)
	}
	if resp, out := e.do(t, "POST", "/logs-app-default/_doc", `{"message":`); resp.StatusCode != 400 || !strings.Contains(out, "document_parsing_exception") {
		t.Fatalf("bad document = %d %s", resp.StatusCode, out)
	}
	evs := e.events(t, 2)
	if evs[1].Value("message") != "two" || evs[1].Value("data_stream.dataset") != "app" {
		t.Fatalf("stored %v", evs[1].Fields)
	}
}

func TestBusFull(t *testing.T) {
	e := setup(t, bus.Config{MaxBytes: 64 << 10, MaxBatchBytes: 16 << 10})
	doc := `{"message":"` + strings.Repeat("x", 4000) + `"}`
	var body strings.Builder
	for range 3 {
		body.WriteString("{\"index\":{\"_index\":\"a\"}}\n" + doc + "\n")
	}
	saw429 := false
	for i := 0; i < 40 && !saw429; i++ {
		resp, out := e.do(t, "POST", "/_bulk", body.String())
		switch {
		case resp.StatusCode == 429:
			if resp.Header.Get("Retry-After") == "" || !strings.Contains(out, "es_rejected_execution_exception") {
				t.Fatalf("429 without Retry-After or error type: %v %s", resp.Header, out)
			}
			saw429 = true
		case resp.StatusCode == 200 && strings.Contains(out, `"status":429`):
			saw429 = true
		case resp.StatusCode != 200:
			t.Fatalf("status %d: %s", resp.StatusCode, out)
		}
	}
	if !saw429 {
		t.Fatal("a full bus never answered 429")
	}
}

func TestSplitDataStreamAndDataset(t *testing.T) {
	f := func(in, typ, ds, ns string, ok bool) {
		t.Helper()
		a, b, c, k := SplitDataStream(in)
		if a != typ || b != ds || c != ns || k != ok {
			t.Errorf("SplitDataStream(%q) = %q %q %q %v, want %q %q %q %v", in, a, b, c, k, typ, ds, ns, ok)
		}
	}
	f("logs-nginx.access-default", "logs", "nginx.access", "default", true)
	f("metrics-system.cpu-prod", "metrics", "system.cpu", "prod", true)
	f("logs-generic-default", "logs", "generic", "default", true)
	f("logs-a-b-c", "", "", "", false)
	f("filebeat-8.15.0", "", "", "", false)
	f("logs", "", "", "", false)
	f("logs--x", "", "", "", false)
	g := func(in, want string) {
		t.Helper()
		if got := IndexDataset(in); got != want {
			t.Errorf("IndexDataset(%q) = %q, want %q", in, got, want)
		}
	}
	g("filebeat-8.15.0", "filebeat")
	g("logstash-2026.11.28", "logstash")
	g("logstash-2026.11.28-000001", "logstash")
	g("fluent-bit", "fluent-bit")
	g("app-logs-2026-11-28", "app-logs")
	g("winlogbeat-7.17.0-2026.11.28", "winlogbeat")
	g("2026.11.28", "2026.11.28")
	g("logs-x", "logs-x")
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"*", "abc", true}, {"a*", "abc", true}, {"*c", "abc", true}, {"a?c", "abc", true},
		{"a*d", "abc", false}, {"filebeat-*", "filebeat-8.1.0", true}, {"x,filebeat*", "filebeat", true}, {"", "", true}, {"", "a", false},
	} {
		if got := globMatch(c.p, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", c.p, c.s, got, c.want)
		}
	}
}

// The routes mount beside the API's own without conflicting patterns
// (ServeMux panics on conflicts).
func TestRoutesMountInWebServer(t *testing.T) {
	h := &Handler{}
	w := webtest.New(t, webtest.Options{})
	api := &web.Server{Log: slog.New(slog.DiscardHandler), Guard: &web.Guard{Auth: w.Accounts, Log: slog.New(slog.DiscardHandler)},
		Routes: append(h.Routes(), access.Route{Pattern: "POST /api/v1/ingest", Perm: access.Ingest, Handler: http.NotFoundHandler()})}
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/healthz = %d", resp.StatusCode)
	}
	resp, err = http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("X-Elastic-Product") != "Elasticsearch" {
		t.Fatalf("GET / unauthenticated = %d %v", resp.StatusCode, resp.Header)
	}
}

// Mounted under a prefix, the API answers there (shippers name the path
// in their URL).
func TestPrefix(t *testing.T) {
	e := setup(t, bus.Config{})
	e.h.Prefix = "/es"
	w := webtest.New(t, webtest.Options{IngestToken: testToken}, append(e.h.Routes(),
		access.Handle("GET /other", access.Public, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(418) }))...)
	e.srv = w.Server
	if resp, body := e.do(t, "GET", "/es/", ""); resp.StatusCode != 200 || !strings.Contains(body, "You Know, for Search") {
		t.Fatalf("GET /es/ = %d %s", resp.StatusCode, body)
	}
	if resp, body := e.do(t, "POST", "/es/logs-a-b/_bulk", "{\"create\":{}}\n{\"m\":1}\n"); resp.StatusCode != 200 || strings.Contains(body, `"errors":true`) {
		t.Fatalf("bulk under prefix = %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do(t, "GET", "/other", ""); resp.StatusCode != 418 {
		t.Fatalf("other route = %d", resp.StatusCode)
	}
	if evs := e.events(t, 1); evs[0].Value("data_stream.dataset") != "a" {
		t.Fatalf("stored %v", evs[0].Fields)
	}
}

// A small document whose flattened fields exceed what one bus batch holds
// is refused alone (413), not retried forever with the whole request.
func TestDocumentFlatteningTooLarge(t *testing.T) {
	e := setup(t, bus.Config{MaxBatchBytes: 16 << 10})
	key := strings.Repeat("k", 4000)
	big := `{"` + key + `":{"a":1,"b":2,"c":3,"d":4,"e":5}}`
	body := "{\"index\":{\"_index\":\"a\"}}\n" + big + "\n{\"index\":{\"_index\":\"a\"}}\n{\"m\":\"ok\"}\n"
	resp, out := e.do(t, "POST", "/_bulk", body)
	if resp.StatusCode != 200 || !strings.Contains(out, `"status":413`) || !strings.Contains(out, `"status":201`) {
		t.Fatalf("got %d %s", resp.StatusCode, out)
	}
	if resp, out := e.do(t, "POST", "/a/_doc", big); resp.StatusCode != 413 {
		t.Fatalf("single document: %d %s", resp.StatusCode, out)
	}
	if evs := e.events(t, 1); evs[0].Value("m") != "ok" {
		t.Fatalf("stored %v", evs[0].Fields)
	}
}
