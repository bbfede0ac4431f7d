package web

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/store"
)

const token = "test-token-0123456789"

func newServer(t *testing.T) (*httptest.Server, time.Time) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	st, err := store.Open(t.TempDir(), store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	var evs []event.Event
	for i := range 10 {
		e := event.Event{Time: now.Add(-time.Duration(i)*time.Hour - time.Second)} // end is exclusive
		e.Add("message", "Failed password for jdoe")
		e.Add("host.name", []string{"ehr-1", "ehr-2"}[i%2])
		evs = append(evs, e)
	}
	st.Add(evs)
	st.Flush()
	s := &Server{Token: token, Store: st, Gatherer: prometheus.NewRegistry(), Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts, now
}

func get(t *testing.T, ts *httptest.Server, path string, q url.Values, tok string) (*http.Response, string) {
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
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if resp, body := get(t, ts, p, nil, ""); resp.StatusCode != 200 || body == "" {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
}

func TestSearch(t *testing.T) {
	ts, _ := newServer(t)
	resp, body := get(t, ts, "/api/v1/search", url.Values{"q": {"host.name:ehr-1"}, "start": {"-5h"}}, token)
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" || len(lines) != 3 {
		t.Fatalf("%d %q: %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var first map[string]string
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first["host.name"] != "ehr-1" || first["message"] != "Failed password for jdoe" || first["@timestamp"] == "" {
		t.Fatalf("first row %v (%v)", first, err)
	}
	// Default range is the last 24 hours; limit caps the rows.
	_, body = get(t, ts, "/api/v1/search", url.Values{"q": {"*"}, "limit": {"4"}}, token)
	if n := strings.Count(body, "\n"); n != 4 {
		t.Fatalf("limit 4 gave %d rows", n)
	}
	resp, body = get(t, ts, "/api/v1/search", url.Values{"q": {"foo:("}}, token)
	if resp.StatusCode != 400 || !strings.Contains(body, "invalid query") {
		t.Fatalf("bad query: %d %s", resp.StatusCode, body)
	}
	resp, body = get(t, ts, "/api/v1/search", url.Values{"start": {"yesterday-ish"}}, token)
	if resp.StatusCode != 400 || !strings.Contains(body, "start: invalid time") {
		t.Fatalf("bad start: %d %s", resp.StatusCode, body)
	}
	resp, _ = get(t, ts, "/api/v1/search", url.Values{"limit": {"-1"}}, token)
	if resp.StatusCode != 400 {
		t.Fatalf("bad limit: %d", resp.StatusCode)
	}
}

func TestHitsAndFields(t *testing.T) {
	ts, _ := newServer(t)
	resp, body := get(t, ts, "/api/v1/hits", url.Values{"start": {"-24h"}, "step": {"1h"}, "field": {"host.name"}}, token)
	var hits struct {
		Hits []store.HitsSeries `json:"hits"`
	}
	if err := json.Unmarshal([]byte(body), &hits); err != nil || resp.StatusCode != 200 || len(hits.Hits) != 2 || hits.Hits[0].Total != 5 {
		t.Fatalf("hits: %d %s (%v)", resp.StatusCode, body, err)
	}
	resp, _ = get(t, ts, "/api/v1/hits", url.Values{"start": {"-24h"}, "step": {"1s"}}, token)
	if resp.StatusCode != 400 {
		t.Fatalf("too many buckets: %d", resp.StatusCode)
	}
	resp, body = get(t, ts, "/api/v1/fields", url.Values{"start": {"-24h"}}, token)
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
