package web

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestExportCSVAndNDJSON(t *testing.T) {
	ts, _ := newServer(t)
	q := url.Values{"q": {"host.name:ehr-1"}, "start": {"-1d"}, "format": {"csv"}, "fields": {"@timestamp,host.name,message"}}
	res, body := get(t, ts, "/api/v1/export", q, ts.tokens["analyst"])
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(res.Header.Get("Content-Disposition"), `attachment; filename="vigil-export-`) {
		t.Fatalf("csv: %d %v\n%s", res.StatusCode, res.Header, body)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// Ten events over ten hours, every other one on ehr-1; start -1d keeps
	// them all.
	if len(recs) != 6 || strings.Join(recs[0], ",") != "@timestamp,host.name,message" || recs[1][1] != "ehr-1" || recs[1][2] != "Failed password for jdoe" {
		t.Fatalf("csv records: %q", recs)
	}
	q.Set("format", "ndjson")
	q.Set("limit", "2")
	res, body = get(t, ts, "/api/v1/export", q, ts.tokens["analyst"])
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if res.StatusCode != 200 || len(lines) != 2 {
		t.Fatalf("ndjson: %d %q", res.StatusCode, body)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil || m["host.name"] != "ehr-1" {
		t.Fatalf("ndjson line %q: %v", lines[0], err)
	}
	// Refusals: no token, bad format, bad limit, bad query (with its position).
	if res, _ := get(t, ts, "/api/v1/export", q, ""); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %d", res.StatusCode)
	}
	for _, bad := range []url.Values{{"format": {"xlsx"}}, {"limit": {"0"}}, {"limit": {"2000000"}}} {
		res, body := get(t, ts, "/api/v1/export", bad, ts.tokens["analyst"])
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("%v: %d %s", bad, res.StatusCode, body)
		}
	}
	res, body = get(t, ts, "/api/v1/export", url.Values{"q": {"foo:("}}, ts.tokens["analyst"])
	var e struct {
		Error    string
		Position *int
	}
	json.Unmarshal([]byte(body), &e)
	if res.StatusCode != http.StatusBadRequest || e.Position == nil || *e.Position != 5 {
		t.Fatalf("bad query: %d %s", res.StatusCode, body)
	}
	// The auditor may not export; exports are recorded; PHI is masked.
	if res, _ := get(t, ts, "/api/v1/export", q, ts.tokens["auditor"]); res.StatusCode != http.StatusForbidden {
		t.Fatalf("auditor: %d", res.StatusCode)
	}
	_, body = get(t, ts, "/api/v1/export", url.Values{"q": {"*"}, "start": {"-1d"}, "format": {"ndjson"}}, ts.tokens["analyst"])
	if strings.Contains(body, "MRN0") || !strings.Contains(body, `"healthcare.patient.id":"[masked]"`) {
		t.Fatalf("export shows PHI: %s", body)
	}
	records := ts.records(t, "events.export")
	if len(records) < 3 || !strings.Contains(string(records[0].Details), `"format":"csv"`) || !strings.Contains(string(records[0].Details), `"result_count":5`) {
		t.Fatalf("export records: %+v", records)
	}
}

func TestCSVSafe(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := csvSafe(in); got != want {
			t.Fatalf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
	f("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")")
	f("+1", "'+1")
	f("-2", "'-2")
	f("@SUM(A1)", "'@SUM(A1)")
	f("plain", "plain")
	f("", "")
}
