package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/accounts"
	"github.com/vigil-siem/vigil/internal/audit"
	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/store"
)

// env is the API on a real store, with a real accounts store and audit
// trail on a temporary SQLite database, and one token per role.
type env struct {
	*httptest.Server
	tokens map[string]string
	trail  *audit.Trail
}

func newServer(t *testing.T) (*env, time.Time) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "store"), store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	var evs []event.Event
	for i := range 10 {
		e := event.Event{Time: now.Add(-time.Duration(i)*time.Hour - time.Second)} // end is exclusive
		e.Add("message", "Failed password for jdoe")
		e.Add("host.name", []string{"ehr-1", "ehr-2"}[i%2])
		e.Add("healthcare.patient.id", fmt.Sprintf("MRN%05d", i))
		e.Add(event.FieldID, fmt.Sprintf("ev-%d", i))
		evs = append(evs, e)
	}
	st.Add(evs)
	st.Flush()
	ctx := context.Background()
	d, err := db.Open(filepath.Join(dir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	trail, err := audit.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := accounts.Open(ctx, d, accounts.Options{DataDir: dir, Audit: trail})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{tokens: map[string]string{}, trail: trail}
	for _, role := range access.RoleNames() {
		_, secret, err := acc.CreateToken(audit.System(ctx), accounts.TokenRequest{Name: "t-" + role, Roles: []string{role}})
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[role] = secret
	}
	log := slog.New(slog.DiscardHandler)
	s := &Server{Store: st, Gatherer: prometheus.NewRegistry(), Log: log, Now: func() time.Time { return now },
		Guard: &Guard{Auth: acc, Audit: trail, Log: log}, Audit: trail}
	e.Server = httptest.NewServer(s.Handler())
	t.Cleanup(e.Server.Close)
	return e, now
}

func (e *env) records(t *testing.T, action string) []audit.Record {
	t.Helper()
	rs, err := e.trail.List(context.Background(), audit.Filter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func get(t *testing.T, ts *env, path string, q url.Values, tok string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.URL+path+"?"+q.Encode(), nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return resp, b.String()
}

func TestAuth(t *testing.T) {
	ts, _ := newServer(t)
	for _, p := range []string{"/api/v1/search", "/api/v1/hits", "/api/v1/fields", "/metrics", "/debug/pprof/"} {
		for _, tok := range []string{"", "wrong-token-0123456789"} {
			if resp, _ := get(t, ts, p, nil, tok); resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s with token %q: %d", p, tok, resp.StatusCode)
			}
		}
		// A sender's token reads nothing.
		if resp, body := get(t, ts, p, nil, ts.tokens["ingest"]); resp.StatusCode != 403 || !strings.Contains(body, "permission") {
			t.Errorf("%s with the ingest token: %d %s", p, resp.StatusCode, body)
		}
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if resp, body := get(t, ts, p, nil, ""); resp.StatusCode != 200 || body == "" {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	// A scrape token reads /metrics and nothing else.
	if resp, _ := get(t, ts, "/metrics", nil, ts.tokens["metrics"]); resp.StatusCode != 200 {
		t.Errorf("/metrics with the metrics token: %d", resp.StatusCode)
	}
	if resp, _ := get(t, ts, "/api/v1/search", nil, ts.tokens["metrics"]); resp.StatusCode != 403 {
		t.Errorf("search with the metrics token: %d", resp.StatusCode)
	}
	// Refusals of presented credentials are in the audit trail; a call
	// without any is not (scanners would flood it).
	if n := len(ts.records(t, "auth.denied")); n != 5 {
		t.Errorf("%d auth.denied records, want 5 (one per wrong token)", n)
	}
	if d := ts.records(t, "access.denied"); len(d) != 6 || d[0].Actor != "t-ingest" {
		t.Errorf("access.denied records: %+v", d)
	}
}

// Searches are recorded with their text, range and result count; PHI is
// masked for callers without the phi permission, while the query still
// matches the real value.
func TestSearchAuditAndMasking(t *testing.T) {
	ts, _ := newServer(t)
	q := url.Values{"q": {"healthcare.patient.id:MRN00003"}, "start": {"-24h"}}
	_, body := get(t, ts, "/api/v1/search", q, ts.tokens["analyst"])
	if !strings.Contains(body, `"healthcare.patient.id":"[masked]"`) || strings.Contains(body, "MRN00003") || strings.Count(body, "\n") != 1 {
		t.Fatalf("analyst: %s", body)
	}
	if _, body = get(t, ts, "/api/v1/search", q, ts.tokens["privacy-officer"]); !strings.Contains(body, `"MRN00003"`) {
		t.Fatalf("privacy officer: %s", body)
	}
	_, body = get(t, ts, "/api/v1/fields", url.Values{"start": {"-24h"}}, ts.tokens["analyst"])
	if strings.Contains(body, "MRN0") {
		t.Fatalf("fields show PHI values: %s", body)
	}
	_, body = get(t, ts, "/api/v1/hits", url.Values{"start": {"-24h"}, "field": {"healthcare.patient.id"}}, ts.tokens["analyst"])
	if strings.Contains(body, "MRN0") {
		t.Fatalf("hits show PHI values: %s", body)
	}
	recs := ts.records(t, "events.search")
	if len(recs) != 2 {
		t.Fatalf("%d search records", len(recs))
	}
	var d map[string]any
	json.Unmarshal(recs[0].Details, &d)
	if recs[0].Actor != "t-analyst" || d["query"] != "healthcare.patient.id:MRN00003" || d["result_count"] != 1.0 || d["phi_masked"] != true || d["start"] == nil || d["end"] == nil {
		t.Fatalf("record %+v %v", recs[0], d)
	}
	if len(ts.records(t, "events.fields")) != 1 || len(ts.records(t, "events.hits")) != 1 {
		t.Fatal("fields and hits are not recorded")
	}
}

func TestReveal(t *testing.T) {
	ts, now := newServer(t)
	post := func(role, body string) (int, string) {
		req, _ := http.NewRequest("POST", ts.URL+"/api/v1/events/reveal", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+ts.tokens[role])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	at := now.Add(-3*time.Hour - time.Second).Format(time.RFC3339Nano)
	if code, _ := post("analyst", `{"id":"ev-3","reason":""}`); code != 400 {
		t.Errorf("no reason: %d", code)
	}
	if code, _ := post("analyst", `{"id":"ev-3\" OR *","reason":"a good reason"}`); code != 400 {
		t.Errorf("injected id: %d", code)
	}
	if code, _ := post("auditor", `{"id":"ev-3","reason":"a good reason"}`); code != 403 {
		t.Errorf("auditor: %d", code)
	}
	code, body := post("analyst", `{"id":"ev-3","reason":"incident 7 needs the MRN","time":"`+at+`"}`)
	if code != 200 || !strings.Contains(body, "MRN00003") {
		t.Fatalf("reveal: %d %s", code, body)
	}
	if code, _ := post("analyst", `{"id":"ev-404","reason":"incident 7 needs the MRN"}`); code != 404 {
		t.Errorf("unknown event: %d", code)
	}
	recs := ts.records(t, "phi.reveal")
	if len(recs) != 2 || recs[0].Target != "event:ev-3" || !strings.Contains(string(recs[0].Details), "incident 7") || recs[1].Outcome != audit.Failure {
		t.Fatalf("reveal records %+v", recs)
	}
}

func TestSearch(t *testing.T) {
	ts, _ := newServer(t)
	resp, body := get(t, ts, "/api/v1/search", url.Values{"q": {"host.name:ehr-1"}, "start": {"-5h"}}, ts.tokens["analyst"])
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" || len(lines) != 3 {
		t.Fatalf("%d %q: %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var first map[string]string
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first["host.name"] != "ehr-1" || first["message"] != "Failed password for jdoe" || first["@timestamp"] == "" {
		t.Fatalf("first row %v (%v)", first, err)
	}
	// Default range is the last 24 hours; limit caps the rows.
	_, body = get(t, ts, "/api/v1/search", url.Values{"q": {"*"}, "limit": {"4"}}, ts.tokens["analyst"])
	if n := strings.Count(body, "\n"); n != 4 {
		t.Fatalf("limit 4 gave %d rows", n)
	}
	resp, body = get(t, ts, "/api/v1/search", url.Values{"q": {"foo:("}}, ts.tokens["analyst"])
	if resp.StatusCode != 400 || !strings.Contains(body, "invalid query") {
		t.Fatalf("bad query: %d %s", resp.StatusCode, body)
	}
	resp, body = get(t, ts, "/api/v1/search", url.Values{"start": {"yesterday-ish"}}, ts.tokens["analyst"])
	if resp.StatusCode != 400 || !strings.Contains(body, "start: invalid time") {
		t.Fatalf("bad start: %d %s", resp.StatusCode, body)
	}
	resp, _ = get(t, ts, "/api/v1/search", url.Values{"limit": {"-1"}}, ts.tokens["analyst"])
	if resp.StatusCode != 400 {
		t.Fatalf("bad limit: %d", resp.StatusCode)
	}
}

func TestHitsAndFields(t *testing.T) {
	ts, _ := newServer(t)
	resp, body := get(t, ts, "/api/v1/hits", url.Values{"start": {"-24h"}, "step": {"1h"}, "field": {"host.name"}}, ts.tokens["analyst"])
	var hits struct {
		Hits []store.HitsSeries `json:"hits"`
	}
	if err := json.Unmarshal([]byte(body), &hits); err != nil || resp.StatusCode != 200 || len(hits.Hits) != 2 || hits.Hits[0].Total != 5 {
		t.Fatalf("hits: %d %s (%v)", resp.StatusCode, body, err)
	}
	resp, _ = get(t, ts, "/api/v1/hits", url.Values{"start": {"-24h"}, "step": {"1s"}}, ts.tokens["analyst"])
	if resp.StatusCode != 400 {
		t.Fatalf("too many buckets: %d", resp.StatusCode)
	}
	resp, body = get(t, ts, "/api/v1/fields", url.Values{"start": {"-24h"}}, ts.tokens["analyst"])
	if resp.StatusCode != 200 || !strings.Contains(body, `"name":"host.name","hits":10`) || !strings.Contains(body, `"value":"ehr-1","hits":5`) {
		t.Fatalf("fields: %d %s", resp.StatusCode, body)
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	f := func(in string, want time.Time) {
		t.Helper()
		got, err := ParseTime(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	f("", now)
	f("now", now)
	f("-1h", now.Add(-time.Hour))
	f("90m", now.Add(-90*time.Minute))
	f("-7d", now.AddDate(0, 0, -7))
	f("-2w", now.AddDate(0, 0, -14))
	f("2026-11-01T00:00:00Z", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if _, err := ParseTime("soon", now); err == nil {
		t.Error("accepted 'soon'")
	}
}

// TestUnknownAPIPathIsJSON404: a browser calling an API the server does
// not have gets a JSON 404, not the root handler's Basic challenge.
func TestUnknownAPIPathIsJSON404(t *testing.T) {
	ts, _ := newServer(t)
	res, body := get(t, ts, "/api/v1/nope", nil, "")
	if res.StatusCode != http.StatusNotFound || res.Header.Get("WWW-Authenticate") != "" || !strings.Contains(body, `"error"`) {
		t.Fatalf("got %d %v %s, want a JSON 404", res.StatusCode, res.Header, body)
	}
}
