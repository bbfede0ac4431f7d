package alerts

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/db"
)

func open(t *testing.T) *Store {
	t.Helper()
	d, err := db.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	s, err := Open(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAddIsIdempotentAndListFilters(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	in := []Alert{
		{Key: "r1/1-0", Kind: "sigma", RuleID: "r1", RuleTitle: "SSH brute force", Level: "high", Tags: []string{"attack.credential-access", "attack.t1110.001"}, Time: base, EventIDs: []string{"1-0"}, Fields: map[string]string{"source.ip": "10.0.0.9"}},
		{Key: "r2/2-0", Kind: "sigma", RuleID: "r2", RuleTitle: "Break glass", Level: "medium", Tags: []string{"hipaa.164.312.a.2.ii"}, Time: base.Add(time.Minute), EventIDs: []string{"2-0"}},
		{Key: "r3/g", Kind: "correlation", RuleID: "r3", RuleTitle: "Snooping", Level: "critical", Time: base.Add(2 * time.Minute), GroupBy: map[string]string{"user.name": "jdoe"}},
	}
	added, err := s.Add(ctx, in)
	if err != nil || len(added) != 3 || added[0].ID == 0 {
		t.Fatalf("added %v, %v", added, err)
	}
	again, err := s.Add(ctx, in[:2])
	if err != nil || len(again) != 0 {
		t.Fatalf("re-adding raised %d alerts (%v), want 0", len(again), err)
	}
	f := func(flt Filter, want ...string) {
		t.Helper()
		as, err := s.List(ctx, flt)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range as {
			got = append(got, a.RuleID)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%+v: got %v, want %v", flt, got, want)
		}
	}
	f(Filter{}, "r3", "r2", "r1")
	f(Filter{MinLevel: "high"}, "r3", "r1")
	f(Filter{Levels: []string{"medium"}}, "r2")
	f(Filter{Levels: []string{"medium", "critical"}}, "r3", "r2")
	f(Filter{Tag: "attack.t1110*"}, "r1")
	f(Filter{Tag: "HIPAA.164.312.a.2.ii"}, "r2")
	f(Filter{Kind: "correlation"}, "r3")
	f(Filter{Since: base.Add(30 * time.Second), Until: base.Add(90 * time.Second)}, "r2")
	f(Filter{Limit: 1}, "r3")
	if _, err := s.SetStatus(ctx, added[0].ID, "closed", "tester"); err != nil {
		t.Fatal(err)
	}
	f(Filter{Statuses: []string{"open"}}, "r3", "r2")
	if _, err := s.SetStatus(ctx, added[0].ID, "done", "tester"); err == nil {
		t.Error("unknown status accepted")
	}
	a, err := s.Get(ctx, added[0].ID)
	if err != nil || a.Fields["source.ip"] != "10.0.0.9" || a.EventIDs[0] != "1-0" || !a.Time.Equal(base) || a.Status != "closed" {
		t.Fatalf("get: %+v %v", a, err)
	}
}

func TestHTTP(t *testing.T) {
	s := open(t)
	s.Add(context.Background(), []Alert{{Key: "k", Kind: "sigma", RuleID: "r1", RuleTitle: "t", Level: "low", Time: time.Now().Add(-time.Hour)}})
	h := &Handler{Store: s, ParseTime: func(v string, now time.Time) (time.Time, error) {
		d, err := time.ParseDuration(strings.TrimPrefix(v, "-"))
		return now.Add(-d), err
	}}
	mux := http.NewServeMux()
	for _, r := range h.Routes() {
		mux.Handle(r.Pattern, r.Handler)
	}
	get := func(url string) (int, map[string]any) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", url, nil))
		var m map[string]any
		json.Unmarshal(rec.Body.Bytes(), &m)
		return rec.Code, m
	}
	if code, m := get("/api/v1/alerts?since=-2h&rule=r1"); code != 200 || len(m["alerts"].([]any)) != 1 {
		t.Fatalf("list: %d %v", code, m)
	}
	if code, m := get("/api/v1/alerts?since=-30m"); code != 200 || len(m["alerts"].([]any)) != 0 {
		t.Fatalf("list since: %d %v", code, m)
	}
	if code, _ := get("/api/v1/alerts?min_level=extreme"); code != 400 {
		t.Fatalf("bad level: %d", code)
	}
	if code, _ := get("/api/v1/alerts/999"); code != 404 {
		t.Fatalf("missing: %d", code)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("POST", "/api/v1/alerts/1/status", strings.NewReader(`{"status":"acknowledged"}`)))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"in_progress"`) {
		t.Fatalf("status: %d %s", rec.Code, rec.Body)
	}
}

// TestRaiseUsesIndexes: the statements every raise runs find their rows
// through an index, so the cost of a raise does not grow with the number
// of alerts stored (before, the group lookup and the tag replacement each
// scanned a table, and a brute-force workload slowed ingest several times).
func TestRaiseUsesIndexes(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	for _, c := range []struct{ query, index string }{
		{groupLookup, "alerts_group"},
		{`DELETE FROM alert_tags WHERE alert_id = ?`, "alert_tags_alert"},
		{`SELECT alert_id, count, ids FROM alert_keys WHERE key = ?`, "alert_keys"},
	} {
		rows, err := s.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+c.query, "k", 1, 2)
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		if !strings.Contains(p, c.index) || strings.Contains(p, "SCAN ") {
			t.Errorf("%s\n  plan %q: want a search through %s", c.query, p, c.index)
		}
	}
}
