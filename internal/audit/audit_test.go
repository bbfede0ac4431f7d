package audit

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/db"
)

func open(t *testing.T) (*Trail, *sql.DB, *time.Time) {
	t.Helper()
	d, err := db.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	tr, err := Open(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	tr.SetClock(func() time.Time { return now })
	return tr, d, &now
}

func asUser(name string, roles ...string) context.Context {
	ctx := access.WithPrincipal(context.Background(), access.NewPrincipal(access.KindUser, 7, name, roles))
	return access.WithClientAddr(ctx, "192.0.2.44")
}

func TestRecordAndVerify(t *testing.T) {
	tr, d, now := open(t)
	ctx := asUser("alice", "analyst")
	for i := range 5 {
		*now = now.Add(time.Minute)
		if err := tr.Record(ctx, Entry{Action: "events.search", Details: map[string]any{"query": "user.name:x", "result_count": i}}); err != nil {
			t.Fatal(err)
		}
	}
	tr.Record(context.Background(), Entry{Action: "auth.login", Outcome: Failure, Actor: "mallory"})
	tr.Record(System(context.Background()), Entry{Action: "rules.reload"})
	rs, err := tr.List(context.Background(), Filter{})
	if err != nil || len(rs) != 7 {
		t.Fatal(rs, err)
	}
	r := rs[0]
	if r.Actor != "alice" || r.ActorKind != "user" || r.ActorID != 7 || r.Roles[0] != "analyst" || r.ClientAddr != "192.0.2.44" ||
		r.Outcome != Success || r.PrevHash != genesis || r.Seq != 1 || !strings.Contains(string(r.Details), `"query":"user.name:x"`) {
		t.Fatalf("record %+v", r)
	}
	if rs[5].Actor != "mallory" || rs[5].ActorKind != "anonymous" || rs[6].ActorKind != "system" {
		t.Fatalf("actors %+v %+v", rs[5], rs[6])
	}
	for i := 1; i < len(rs); i++ {
		if rs[i].PrevHash != rs[i-1].Hash {
			t.Fatalf("chain broken at %d", i)
		}
	}
	v, err := tr.Verify(context.Background(), 0, "")
	if err != nil || !v.OK || v.Records != 7 || v.LastSeq != 7 || v.HeadHash != rs[6].Hash {
		t.Fatalf("verify %+v %v", v, err)
	}
	// A reopened trail continues the chain.
	tr2, _ := Open(context.Background(), d)
	tr2.Record(ctx, Entry{Action: "auth.logout"})
	if v, _ := tr2.Verify(context.Background(), 7, rs[6].Hash); !v.OK || v.Records != 8 || !*v.ExpectedFound {
		t.Fatalf("after reopen %+v", v)
	}
}

func TestTamperingIsFound(t *testing.T) {
	for _, c := range []struct {
		name, sql string
		brokenAt  int64
		problem   string
	}{
		{"edited details", `UPDATE audit_log SET details = '{"query":"nothing to see"}' WHERE seq = 3`, 3, "changed"},
		{"edited actor", `UPDATE audit_log SET actor = 'bob' WHERE seq = 2`, 2, "changed"},
		{"edited outcome", `UPDATE audit_log SET outcome = 'success' WHERE seq = 4`, 4, "changed"},
		{"deleted in the middle", `DELETE FROM audit_log WHERE seq = 3`, 3, "missing"},
		{"rehashed record", `UPDATE audit_log SET target = 'x', hash = '` + strings.Repeat("a", 64) + `' WHERE seq = 2`, 2, "changed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr, d, _ := open(t)
			ctx := asUser("alice", "analyst")
			for range 5 {
				tr.Record(ctx, Entry{Action: "patient.read", Target: "42", Outcome: Failure, Details: map[string]any{"query": "q"}})
			}
			if _, err := d.Exec(c.sql); err != nil {
				t.Fatal(err)
			}
			v, err := tr.Verify(context.Background(), 0, "")
			if err != nil || v.OK || v.BrokenAt != c.brokenAt || !strings.Contains(v.Problem, c.problem) {
				t.Fatalf("verify %+v %v", v, err)
			}
		})
	}
	// Cutting the tail is found against a head noted earlier.
	tr, d, _ := open(t)
	for range 4 {
		tr.Record(asUser("a"), Entry{Action: "x.y"})
	}
	seq, head := tr.Head()
	d.Exec(`DELETE FROM audit_log WHERE seq >= 3`)
	if v, _ := tr.Verify(context.Background(), seq, head); v.OK || *v.ExpectedFound {
		t.Fatalf("cut tail not found: %+v", v)
	}
}

func TestPruneKeepsTheChainVerifiable(t *testing.T) {
	tr, _, now := open(t)
	ctx := asUser("alice")
	for range 10 {
		tr.Record(ctx, Entry{Action: "events.search"})
		*now = now.Add(24 * time.Hour)
	}
	n, err := tr.Prune(context.Background(), now.Add(-5*24*time.Hour))
	if err != nil || n != 5 {
		t.Fatalf("pruned %d %v", n, err)
	}
	v, err := tr.Verify(context.Background(), 0, "")
	if err != nil || !v.OK || v.FirstSeq != 6 || v.Pruned != 5 || v.Records != 6 { // 5 kept + the prune record
		t.Fatalf("verify %+v %v", v, err)
	}
	if rs, _ := tr.List(context.Background(), Filter{Action: "audit.prune"}); len(rs) != 1 || rs[0].ActorKind != "system" {
		t.Fatalf("prune record %+v", rs)
	}
	// Putting a pruned record back is found too.
	if _, err := tr.db.Exec(`INSERT INTO audit_log SELECT 2, time, actor, actor_kind, actor_id, roles, client_addr, action, target, outcome, details, prev_hash, hash FROM audit_log WHERE seq = 6`); err != nil {
		t.Fatal(err)
	}
	if v, _ := tr.Verify(context.Background(), 0, ""); v.OK {
		t.Fatal("restored record not found")
	}
}

func TestFilters(t *testing.T) {
	tr, _, now := open(t)
	for i, a := range []string{"auth.login", "auth.logout", "events.search", "auth.login"} {
		*now = now.Add(time.Hour)
		actor := "alice"
		if i%2 == 1 {
			actor = "bob"
		}
		tr.Record(asUser(actor), Entry{Action: a, Target: actor})
	}
	f := func(fl Filter, want int) {
		t.Helper()
		rs, err := tr.List(context.Background(), fl)
		if err != nil || len(rs) != want {
			t.Errorf("%+v: %d records (%v), want %d", fl, len(rs), err, want)
		}
	}
	f(Filter{Action: "auth.*"}, 3)
	f(Filter{Action: "auth.login"}, 2)
	f(Filter{Actor: "bob"}, 2)
	f(Filter{Since: now.Add(-90 * time.Minute)}, 2)
	f(Filter{Until: now.Add(-90 * time.Minute)}, 2)
	f(Filter{Limit: 1, Descending: true}, 1)
	f(Filter{AfterSeq: 2, BeforeSeq: 4}, 1)
	f(Filter{Outcome: Failure}, 0)
}

func TestHTTP(t *testing.T) {
	tr, _, _ := open(t)
	ctx := asUser("alice", "analyst")
	tr.Record(ctx, Entry{Action: "events.search", Details: map[string]any{"query": "=HYPERLINK(\"http://x\")"}})
	tr.Record(ctx, Entry{Action: "phi.reveal", Target: "patient:3", Details: map[string]any{"reason": "incident 9"}})
	h := &Handler{Trail: tr, ParseTime: func(s string, now time.Time) (time.Time, error) { return time.Parse(time.RFC3339, s) }}
	mux := http.NewServeMux()
	for _, rt := range h.Routes() {
		if rt.Perm != access.AuditRead {
			t.Fatalf("%s declares %s", rt.Pattern, rt.Perm)
		}
		mux.Handle(rt.Pattern, rt.Handler)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(asUser("auditor-1", "auditor")))
	}))
	defer srv.Close()
	get := func(q string) (int, string, http.Header) {
		resp, err := http.Get(srv.URL + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	code, body, _ := get("/api/v1/audit?action=phi.reveal")
	var page struct{ Records []Record }
	json.Unmarshal([]byte(body), &page)
	if code != 200 || len(page.Records) != 1 || page.Records[0].Target != "patient:3" {
		t.Fatalf("json: %d %s", code, body)
	}
	code, body, hdr := get("/api/v1/audit?format=csv")
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if code != 200 || err != nil || hdr.Get("Content-Type") != "text/csv; charset=utf-8" || len(rows) != 5 || rows[0][0] != "seq" {
		t.Fatalf("csv: %d %v %q", code, err, body)
	}
	if !strings.HasPrefix(rows[1][10], `{"query"`) || strings.HasPrefix(rows[1][10], "=") {
		t.Fatalf("csv details %q", rows[1][10])
	}
	// The export is on record before it starts, so it lists itself.
	if rows[4][7] != "audit.export" {
		t.Fatalf("last row %v", rows[4])
	}
	code, body, _ = get("/api/v1/audit?format=ndjson&actor=alice")
	if code != 200 || strings.Count(body, "\n") != 2 {
		t.Fatalf("ndjson: %d %s", code, body)
	}
	for _, bad := range []string{"?format=xml", "?limit=0", "?limit=100000", "?since=yesterday", "?outcome=maybe", "?after_seq=x"} {
		if code, _, _ := get("/api/v1/audit" + bad); code != 400 {
			t.Errorf("%s: %d", bad, code)
		}
	}
	code, body, _ = get("/api/v1/audit/verify")
	if code != 200 || !strings.Contains(body, `"ok":true`) {
		t.Fatalf("verify: %d %s", code, body)
	}
	// Reading the trail is itself on record.
	rs, _ := tr.List(context.Background(), Filter{Action: "audit.*"})
	if len(rs) < 4 || rs[0].Actor != "auditor-1" {
		t.Fatalf("reads recorded: %+v", rs)
	}
}

func TestTracker(t *testing.T) {
	tr, _, _ := open(t)
	ctx, tk := Track(asUser("a"))
	if tk.Recorded() {
		t.Fatal("recorded before")
	}
	tr.Record(ctx, Entry{Action: "x.y"})
	if !tk.Recorded() {
		t.Fatal("not noted")
	}
	if err := tr.Record(ctx, Entry{}); err == nil {
		t.Fatal("entry without action accepted")
	}
}
