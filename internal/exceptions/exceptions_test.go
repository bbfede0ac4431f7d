package exceptions

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/db"
)

func TestConditions(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	past := now.Add(-time.Hour)
	xs := []Exception{
		{ID: "1", Rule: "r1", Reason: "x", Enabled: true, Conditions: []Condition{{Field: "source.ip", Op: "cidr", Values: []string{"10.0.5.0/24", "2001:db8::/32", "192.0.2.7"}}}},
		{ID: "2", Rule: "brute", Reason: "x", Enabled: true, Conditions: []Condition{{Field: "user.name", Op: "in", Values: []string{"svc-backup", "SVC-Scan"}}, {Field: "host.name", Op: "wildcard", Value: "lab-*.example.org"}}},
		{ID: "3", Rule: "*", Tag: "attack.t1110*", Reason: "x", Enabled: true, Conditions: []Condition{{Field: "host.name", Op: "equals", Value: "Honeypot"}}},
		{ID: "4", Rule: "r1", Reason: "x", Enabled: true, Expires: &past, Conditions: []Condition{{Field: "user.name", Op: "equals", Value: "anyone"}}},
		{ID: "5", Rule: "r1", Reason: "x", Enabled: false, Conditions: []Condition{{Field: "user.name", Op: "equals", Value: "off"}}},
	}
	for i := range xs {
		v, err := Validate(xs[i])
		if err != nil {
			t.Fatalf("%s: %v", xs[i].ID, err)
		}
		xs[i] = v
	}
	set := compile(xs, func() time.Time { return now }, nil)
	f := func(rule, name string, tags []string, ev map[string]string, want string) {
		t.Helper()
		got := ""
		if x := set.Match(rule, name, tags, MapFields(ev)); x != nil {
			got = x.ID
		}
		if got != want {
			t.Errorf("%s %v %v: exception %q, want %q", rule, tags, ev, got, want)
		}
	}
	f("r1", "", nil, map[string]string{"source.ip": "10.0.5.77"}, "1")
	f("r1", "", nil, map[string]string{"source.ip": "10.0.6.1"}, "")
	f("r1", "", nil, map[string]string{"source.ip": "2001:db8::1"}, "1")
	f("r1", "", nil, map[string]string{"source.ip": "::ffff:192.0.2.7"}, "1")
	f("r1", "", nil, map[string]string{"source.ip": "not an ip"}, "")
	f("r1", "", nil, map[string]string{}, "")
	f("r2", "", nil, map[string]string{"source.ip": "10.0.5.77"}, "")
	// By name, every condition must hold, in is case-insensitive.
	f("uuid", "brute", nil, map[string]string{"user.name": "svc-scan", "host.name": "LAB-7.example.org"}, "2")
	f("uuid", "brute", nil, map[string]string{"user.name": "svc-scan", "host.name": "ehr.example.org"}, "")
	// Any rule with a tag.
	f("x", "", []string{"attack.T1110.001"}, map[string]string{"host.name": "honeypot"}, "3")
	f("x", "", []string{"attack.t1078"}, map[string]string{"host.name": "honeypot"}, "")
	// Expired and disabled exceptions do not apply.
	f("r1", "", nil, map[string]string{"user.name": "anyone"}, "")
	f("r1", "", nil, map[string]string{"user.name": "off"}, "")
	if n := set.byRule["r1"][0].hits.Load(); n != 3 {
		t.Errorf("exception 1 counted %d hits, want 3", n)
	}
}

func TestValidate(t *testing.T) {
	day := time.Now().Add(24 * time.Hour)
	for _, c := range []struct {
		x     Exception
		where string
	}{
		{Exception{Reason: "x", Conditions: []Condition{{Field: "a", Value: "b"}}}, "rule"},
		{Exception{Rule: "r", Conditions: []Condition{{Field: "a", Value: "b"}}}, "reason"},
		{Exception{Rule: "*", Reason: "x"}, "conditions"},
		{Exception{Rule: "r", Reason: "noise"}, "conditions"},
		{Exception{Rule: "r", Reason: "x", Conditions: []Condition{{Field: "bad field!", Value: "b"}}}, "conditions[0].field"},
		{Exception{Rule: "r", Reason: "x", Conditions: []Condition{{Field: "a", Op: "regex", Value: "b"}}}, "conditions[0].op"},
		{Exception{Rule: "r", Reason: "x", Conditions: []Condition{{Field: "a", Op: "equals"}}}, "conditions[0].value"},
		{Exception{Rule: "r", Reason: "x", Conditions: []Condition{{Field: "a", Op: "in", Value: "b"}}}, "conditions[0].values"},
		{Exception{Rule: "r", Reason: "x", Conditions: []Condition{{Field: "a", Op: "cidr", Value: "10.0.0.0/33"}}}, "conditions[0].value"},
		{Exception{Rule: "r", Reason: "x", Conditions: []Condition{{Field: "a", Value: "1"}, {Field: "source.ip", Op: "cidr", Value: "ten"}}}, "conditions[1].value"},
		{Exception{Rule: "r", Reason: strings.Repeat("x", MaxReason+1), Conditions: []Condition{{Field: "a", Value: "b"}}}, "reason"},
	} {
		_, err := Validate(c.x)
		ve, ok := err.(*ValidationError)
		if !ok || ve.Where != c.where {
			t.Errorf("%+v: got %v, want an error at %s", c.x, err, c.where)
		}
	}
	// A rule switched off must say so, or expire.
	if _, err := Validate(Exception{Rule: "r", Reason: "disabled during the migration"}); err != nil {
		t.Error(err)
	}
	if _, err := Validate(Exception{Rule: "r", Reason: "noise", Expires: &day}); err != nil {
		t.Error(err)
	}
}

func openDB(t *testing.T) (*alerts.Store, string) {
	t.Helper()
	dir := t.TempDir()
	d, err := db.Open(filepath.Join(dir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	as, err := alerts.Open(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	return as, dir
}

const goodFile = `# scanners
- rule: vigil_lnx_ssh_brute_force
  conditions:
    - {field: source.ip, op: cidr, value: 10.0.5.0/24}
  reason: Nessus scans nightly
  author: alice
- rule: r2
  conditions:
    - {field: user.name, op: equalz, value: x}
  reason: typo in op
- rule: r3
  conditions:
    - {field: user.name, value: x}
  reason: unknown key
  colour: red
- rule: r4
  conditions:
    - {field: user.name, value: svc}
  reason: expired in a file
  expires: 2020-01-01
`

func TestServiceFilesAPIAndExpiry(t *testing.T) {
	as, dir := openDB(t)
	ctx := context.Background()
	xdir := filepath.Join(dir, "exceptions")
	os.Mkdir(xdir, 0o755)
	os.WriteFile(filepath.Join(xdir, "scanners.yml"), []byte(goodFile), 0o644)
	os.WriteFile(filepath.Join(xdir, "broken.yaml"), []byte("rule: [unclosed\n"), 0o644)
	clock := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s, err := Open(ctx, as.DB(), Options{Dir: xdir, Alerts: as, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, e := range s.Errors() {
		msgs = append(msgs, e.Error())
	}
	joined := strings.Join(msgs, "\n")
	if len(msgs) != 3 || !strings.Contains(joined, "broken.yaml") || !strings.Contains(joined, "scanners.yml:7: conditions[0].op: unknown operator \"equalz\"") ||
		!strings.Contains(joined, "scanners.yml:15: unknown key \"colour\"") {
		t.Fatalf("file errors:\n%s", joined)
	}
	ev := MapFields{"source.ip": "10.0.5.9"}
	if !s.Suppress("a3f75c2e", "vigil_lnx_ssh_brute_force", nil, ev) || s.Suppress("a3f75c2e", "other", nil, ev) {
		t.Fatal("file exception not applied by rule name")
	}
	// Through the API; expiring in an hour.
	exp := clock.Add(time.Hour)
	x, err := s.Create(ctx, Exception{Rule: "r9", Conditions: []Condition{{Field: "user.name", Value: "svc-backup"}}, Reason: "backup job", Expires: &exp}, "bob")
	if err != nil || x.ID != "1" || x.Author != "bob" {
		t.Fatalf("create %+v %v", x, err)
	}
	if _, err := s.Create(ctx, Exception{Rule: "r9", Conditions: []Condition{{Field: "user.name", Value: "x"}}, Reason: "x", Expires: &clock}, "bob"); err == nil {
		t.Fatal("an exception expiring now was accepted")
	}
	for i := 0; i < 3; i++ {
		if !s.Suppress("r9", "", nil, MapFields{"user.name": "SVC-Backup"}) {
			t.Fatal("API exception not applied")
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	s.Suppress("r9", "", nil, MapFields{"user.name": "svc-backup"}) // pending, not flushed
	got, _ := s.Get(ctx, "1")
	if got.Hits != 4 || got.LastHit == nil || got.Expired {
		t.Fatalf("hits %+v", got)
	}
	// Files are read-only through the API.
	if err := s.Delete(ctx, "file:scanners.yml:2"); err != ErrReadOnly {
		t.Fatalf("delete of a file exception: %v", err)
	}
	// Disabled, then enabled again: hits survive the recompiles.
	off, on := false, true
	if _, err := s.Update(ctx, "1", Change{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	if s.Suppress("r9", "", nil, MapFields{"user.name": "svc-backup"}) {
		t.Fatal("disabled exception applied")
	}
	if _, err := s.Update(ctx, "1", Change{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	// An hour later it has expired: it no longer applies, and the expiry
	// is reported once, as is the file's exception that expired in 2020.
	clock = clock.Add(2 * time.Hour)
	if s.Suppress("r9", "", nil, MapFields{"user.name": "svc-backup"}) {
		t.Fatal("expired exception applied")
	}
	for range 2 {
		if err := s.ReportExpired(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rep, _ := as.List(ctx, alerts.Filter{Kind: "exception_expired"})
	if len(rep) != 2 {
		t.Fatalf("expiry reports %+v", rep)
	}
	got, _ = s.Get(ctx, "1")
	if !got.Expired || got.Hits != 4 {
		t.Fatalf("after expiry %+v", got)
	}
}

func TestHTTPFromAlert(t *testing.T) {
	as, _ := openDB(t)
	ctx := context.Background()
	s, err := Open(ctx, as.DB(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	added, _ := as.Add(ctx, []alerts.Alert{
		{Key: "c1", Kind: "correlation", RuleID: "brute", RuleTitle: "Brute force", Level: "high", Time: time.Now(),
			GroupBy: map[string]string{"source.ip": "10.9.9.9", "host.name": "ehr-db"}},
		{Key: "s1", Kind: "sigma", RuleID: "sig", RuleTitle: "x", Level: "low", Time: time.Now(),
			GroupKey: alerts.GroupKey("sig", [2]string{"user.name", "jdoe"}), Fields: map[string]string{"user.name": "jdoe", "host.name": "h"}},
	})
	h := &Handler{Service: s, Alerts: as, Actor: func(context.Context) string { return "user:alice" }}
	mux := http.NewServeMux()
	for _, r := range h.Routes() {
		mux.Handle(r.Pattern, r.Handler)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	id1, id2 := added[0].ID, added[1].ID
	// Nothing changes when the exception is malformed.
	if code, body := do("POST", "/api/v1/alerts/"+itoa(id1)+"/exception", `{"close":true}`); code != 400 || !strings.Contains(body, "reason") {
		t.Fatalf("without a reason: %d %s", code, body)
	}
	if a, _ := as.Get(ctx, id1); a.Status != "new" {
		t.Fatal("alert closed although the exception was refused")
	}
	code, body := do("POST", "/api/v1/alerts/"+itoa(id1)+"/exception", `{"close":true,"reason":"our vulnerability scanner","expires":"2099-01-01"}`)
	var x Exception
	json.Unmarshal([]byte(body), &x)
	if code != 201 || x.Rule != "brute" || len(x.Conditions) != 2 || x.Conditions[1].Field != "source.ip" || x.Conditions[1].Value != "10.9.9.9" || x.FromAlert != id1 || x.Author != "user:alice" {
		t.Fatalf("from alert: %d %s", code, body)
	}
	if a, _ := as.Get(ctx, id1); a.Status != "closed" || a.Disposition != "false_positive" || a.Reason != "our vulnerability scanner" {
		t.Fatalf("alert after exception: %+v", a)
	}
	if !s.Suppress("brute", "", nil, MapFields{"source.ip": "10.9.9.9", "host.name": "ehr-db"}) || s.Suppress("brute", "", nil, MapFields{"source.ip": "10.9.9.8", "host.name": "ehr-db"}) {
		t.Fatal("exception from the alert does not apply as made")
	}
	// A Sigma alert's entity is the field it is grouped by.
	code, body = do("POST", "/api/v1/alerts/"+itoa(id2)+"/exception", `{"reason":"service account"}`)
	if code != 201 || !strings.Contains(body, `"field":"user.name","op":"equals","value":"jdoe"`) {
		t.Fatalf("sigma alert: %d %s", code, body)
	}
	if code, body := do("POST", "/api/v1/alerts/"+itoa(id2)+"/exception", `{"reason":"x","fields":["process.name"]}`); code != 400 || !strings.Contains(body, "no value for process.name") {
		t.Fatalf("missing field: %d %s", code, body)
	}
	for _, c := range []struct{ body, want string }{
		{`{"rule":"r","conditions":[{"field":"source.ip","op":"cidr","value":"300.1.1.1/8"}],"reason":"x"}`, "conditions[0].value"},
		{`{"rule":"r","conditions":[{"field":"a","op":"sounds_like","value":"x"}],"reason":"x"}`, "conditions[0].op"},
		{`{"rule":"r","conditions":[{"field":"a","value":"x"}],"reason":"x","expires":"next tuesday"}`, "expires"},
		{`{"rule":"r","conditions":[{"field":"a","value":"x"}],"reason":"x","colour":"red"}`, "unknown field"},
		{`[]`, "want a JSON object"},
	} {
		if code, body := do("POST", "/api/v1/exceptions", c.body); code != 400 || !strings.Contains(body, c.want) {
			t.Errorf("POST %s: %d %s, want 400 naming %s", c.body, code, body, c.want)
		}
	}
	if code, body := do("PATCH", "/api/v1/exceptions/2", `{"reason":"service account of the backup"}`); code != 200 || !strings.Contains(body, "of the backup") {
		t.Fatalf("patch %d %s", code, body)
	}
	if code, _ := do("DELETE", "/api/v1/exceptions/2", ``); code != 204 {
		t.Fatalf("delete %d", code)
	}
	if code, body := do("GET", "/api/v1/exceptions", ``); code != 200 || strings.Count(body, `"rule"`) != 1 {
		t.Fatalf("list %d %s", code, body)
	}
	if code, _ := do("GET", "/api/v1/exceptions/2", ``); code != 404 {
		t.Fatalf("deleted exception: %d", code)
	}
}

func itoa(n int64) string { return jsonNum(n) }

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }

func FuzzParseFile(f *testing.F) {
	f.Add([]byte(goodFile))
	f.Add([]byte("rule: r\nconditions: [{field: a, op: in, values: [x, y]}]\nreason: r\n"))
	f.Add([]byte("- 1\n- [2]\n"))
	f.Add([]byte("rule: r\nconditions: {field: a}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		xs, _ := parseFile("fuzz.yml", data)
		for _, x := range xs {
			if _, err := Validate(x); err != nil {
				t.Fatalf("accepted an invalid exception %+v: %v", x, err)
			}
			compile([]Exception{x}, time.Now, nil).Match(x.Rule, "", nil, MapFields{})
		}
	})
}
