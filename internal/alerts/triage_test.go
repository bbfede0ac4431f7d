package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/db"
)

// users is a roster of assignees for the tests (the server passes the
// accounts store).
type users map[string]bool

func (u users) CheckAssignee(_ context.Context, name string) error {
	if !u[name] {
		return fmt.Errorf("no user %q", name)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func raise(t *testing.T, s *Store, as ...Alert) []Alert {
	t.Helper()
	added, err := s.Add(context.Background(), as)
	if err != nil {
		t.Fatal(err)
	}
	return added
}

func TestLifecycle(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	roster := users{"alice": true, "bob": true}
	clock := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s.opt.Now = func() time.Time { return clock }
	a := raise(t, s, Alert{Key: "k1", Kind: "sigma", RuleID: "r1", RuleTitle: "x", Level: "critical", Time: clock, Tags: []string{"attack.t1110"}})[0]
	if a.Status != "new" || a.Assignee != "" {
		t.Fatalf("new alert %+v", a)
	}
	bad := func(p Patch, wantField string, conflict bool) {
		t.Helper()
		_, _, err := s.Update(ctx, a.ID, p, "alice", roster)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != wantField || ie.Conflict != conflict {
			t.Fatalf("patch %+v: got %v, want an error on %s (conflict %v)", p, err, wantField, conflict)
		}
	}
	bad(Patch{}, "body", false)
	bad(Patch{Status: ptr("done")}, "status", false)
	bad(Patch{Assignee: ptr("mallory")}, "assignee", false)
	bad(Patch{Status: ptr("closed")}, "disposition", false)
	bad(Patch{Status: ptr("closed"), Disposition: ptr("false_positive")}, "reason", false)
	bad(Patch{Status: ptr("closed"), Disposition: ptr("wrong"), Reason: ptr("x")}, "disposition", false)
	bad(Patch{Disposition: ptr("false_positive"), Reason: ptr("x")}, "disposition", false)
	bad(Patch{Note: ptr(strings.Repeat("x", MaxNoteBytes+1))}, "note", false)
	bad(Patch{Note: ptr("  ")}, "note", false)
	bad(Patch{Tags: &[]string{"Not a tag!"}}, "tags", false)

	// Taking it: acknowledged now, 10 minutes after it was raised.
	clock = clock.Add(10 * time.Minute)
	a2, hist, err := s.Update(ctx, a.ID, Patch{Status: ptr("in_progress"), Assignee: ptr("alice"), Tags: &[]string{"Needs-Review"}}, "alice", roster)
	if err != nil {
		t.Fatal(err)
	}
	if a2.Status != "in_progress" || a2.Assignee != "alice" || a2.AcknowledgedAt == nil || !a2.AcknowledgedAt.Equal(clock) ||
		strings.Join(a2.AnalystTags, ",") != "needs-review" || strings.Join(a2.Tags, ",") != "attack.t1110,needs-review" || len(hist) != 3 {
		t.Fatalf("after taking: %+v, history %+v", a2, hist)
	}
	if as, _ := s.List(ctx, Filter{Tag: "needs-review"}); len(as) != 1 {
		t.Fatalf("analyst tag not searchable: %d", len(as))
	}
	if as, _ := s.List(ctx, Filter{Assignee: "none"}); len(as) != 0 {
		t.Fatalf("assigned alert listed as unassigned")
	}
	// No way back to new.
	bad(Patch{Status: ptr("new")}, "status", true)
	// Closing as false positive, with a note.
	clock = clock.Add(time.Hour)
	a3, _, err := s.Update(ctx, a.ID, Patch{Status: ptr("closed"), Disposition: ptr("false_positive"), Reason: ptr("backup job with a stale password"),
		Note: ptr("checked with the server team")}, "bob", roster)
	if err != nil {
		t.Fatal(err)
	}
	if a3.ClosedAt == nil || a3.Disposition != "false_positive" || len(a3.Notes) != 1 || a3.Notes[0].Author != "bob" {
		t.Fatalf("closed: %+v", a3)
	}
	st := DefaultSLA().State(a3, clock.Add(time.Hour))
	if *st.AcknowledgedIn != 600 || *st.ClosedIn != 4200 || st.AcknowledgeBreached || st.CloseBreached {
		t.Fatalf("SLA %+v", st)
	}
	// A critical alert left new past 15 minutes breaches its target.
	late := raise(t, s, Alert{Key: "k2", Kind: "sigma", RuleID: "r1", RuleTitle: "x", Level: "critical", Time: clock})[0]
	if st := DefaultSLA().State(late, clock.Add(16*time.Minute)); !st.AcknowledgeBreached || st.CloseBreached {
		t.Fatalf("SLA of a neglected alert %+v", st)
	}
	// Reopening clears the disposition; a disposition cannot come with it.
	bad(Patch{Status: ptr("in_progress"), Disposition: ptr("duplicate")}, "disposition", false)
	a4, _, err := s.Update(ctx, a.ID, Patch{Status: ptr("in_progress")}, "alice", roster)
	if err != nil || a4.Disposition != "" || a4.Reason != "" || a4.ClosedAt != nil {
		t.Fatalf("reopened: %+v %v", a4, err)
	}
	h, err := s.History(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range h {
		got = append(got, e.Actor+":"+e.Field+":"+e.Old+"->"+e.New)
	}
	want := []string{
		"alice:status:new->in_progress", "alice:assignee:->alice", "alice:tags:->needs-review",
		"bob:status:in_progress->closed", "bob:disposition:->false_positive", "bob:reason:->backup job with a stale password",
		"bob:note:->checked with the server team",
		"alice:status:closed->in_progress", "alice:disposition:false_positive->", "alice:reason:backup job with a stale password->",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := s.History(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("history of a missing alert: %v", err)
	}
}

func TestGrouping(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	gk := GroupKey("r1", [2]string{"user.name", "jdoe"})
	m := func(i int, at time.Duration) Alert {
		return Alert{Key: fmt.Sprintf("sigma/r1/%d", i), Kind: "sigma", RuleID: "r1", RuleTitle: "x", Level: "medium", Time: base.Add(at),
			EventIDs: []string{fmt.Sprintf("1-%d", i)}, GroupKey: gk, Fields: map[string]string{"n": fmt.Sprint(i)}}
	}
	var changes []Change
	s.OnChange(func(_ context.Context, cs []Change) { changes = append(changes, cs...) })
	added := raise(t, s, m(0, 0), m(1, 10*time.Minute), m(2, 5*time.Minute))
	if len(added) != 1 {
		t.Fatalf("three matches in an hour raised %d alerts, want 1", len(added))
	}
	if len(changes) != 1 || changes[0].What != "new" || changes[0].Raises != 3 {
		t.Fatalf("changes %+v", changes)
	}
	a, _ := s.Get(ctx, added[0].ID)
	if a.Count != 3 || !a.FirstSeen.Equal(base) || !a.Time.Equal(base.Add(10*time.Minute)) || strings.Join(a.EventIDs, ",") != "1-0,1-1,1-2" || a.Fields["n"] != "1" {
		t.Fatalf("grouped alert %+v", a)
	}
	// Seen again: nothing.
	if added := raise(t, s, m(1, 10*time.Minute)); len(added) != 0 {
		t.Fatal("a raise seen before raised again")
	}
	if a, _ := s.Get(ctx, a.ID); a.Count != 3 {
		t.Fatalf("a raise seen before counted again: %d", a.Count)
	}
	// Within the window of the last match: rolled in, a later one
	// (more than an hour after) is a new alert.
	raise(t, s, m(3, 65*time.Minute))
	if added := raise(t, s, m(4, 3*time.Hour)); len(added) != 1 {
		t.Fatalf("a match hours later: %d new alerts, want 1", len(added))
	}
	// A closed alert takes no more matches.
	if _, _, err := s.Update(ctx, a.ID, Patch{Status: ptr("closed"), Disposition: ptr("benign_true_positive"), Reason: ptr("ok")}, "a", nil); err != nil {
		t.Fatal(err)
	}
	if added := raise(t, s, m(5, 66*time.Minute)); len(added) != 1 {
		t.Fatalf("a match after closing: %d new alerts, want 1", len(added))
	}
	// Correlation bursts: updates of one key replace the size it reported.
	c := func(n int, value float64) Alert {
		var ids []string
		for i := 0; i < n; i++ {
			ids = append(ids, fmt.Sprintf("9-%d", i))
		}
		return Alert{Key: "correlation/bulk/user.name=jdoe/1", Kind: "correlation", RuleID: "bulk", RuleTitle: "bulk", Level: "high",
			Time: base.Add(time.Duration(n) * time.Second), Count: n, Value: value, EventIDs: ids, Update: true,
			GroupKey: GroupKey("bulk", [2]string{"user.name", "jdoe"})}
	}
	changes = nil
	first := raise(t, s, c(31, 31))
	raise(t, s, c(80, 80), c(150, 150))
	raise(t, s, c(150, 150)) // redelivered
	b, _ := s.Get(ctx, first[0].ID)
	if b.Count != 150 || b.Value != 150 || len(b.EventIDs) != 150 || b.EventIDs[149] != "9-149" {
		t.Fatalf("burst: count %d value %v ids %d", b.Count, b.Value, len(b.EventIDs))
	}
	if n, _ := s.Count(ctx, Filter{RuleID: "bulk"}); n != 1 {
		t.Fatalf("a burst of 150 made %d alerts", n)
	}
	if len(changes) != 3 || changes[0].What != "new" || changes[1].What != "updated" {
		t.Fatalf("burst changes %+v", changes)
	}
}

// A brute force rolls thousands of raises into one alert per Add: the
// alert's row is written once per Add, as it stands after all of them,
// not rewritten (with its event ids and fields) for every raise.
func TestGroupedRaisesWriteTheAlertOnce(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE alert_writes (n INTEGER NOT NULL);
		INSERT INTO alert_writes VALUES (0);
		CREATE TRIGGER count_alert_writes AFTER UPDATE ON alerts BEGIN UPDATE alert_writes SET n = n + 1; END;`); err != nil {
		t.Fatal(err)
	}
	writes := func() int {
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT n FROM alert_writes`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	gk := GroupKey("r1", [2]string{"source.ip", "203.0.113.9"})
	var as []Alert
	for i := range 2000 {
		as = append(as, Alert{Key: fmt.Sprintf("sigma/r1/%d", i), Kind: "sigma", RuleID: "r1", RuleTitle: "x", Level: "low",
			Time: base.Add(time.Duration(i) * time.Millisecond), EventIDs: []string{fmt.Sprintf("1-%d", i)}, GroupKey: gk,
			Fields: map[string]string{"n": fmt.Sprint(i)}})
	}
	// Out of order and a level raised on the way: merged as one by one.
	as[1500].Time, as[1500].Level = base.Add(-time.Minute), "high"
	added := raise(t, s, as[:1000]...)
	raise(t, s, as[1000:]...)
	if len(added) != 1 {
		t.Fatalf("%d alerts, want 1", len(added))
	}
	if w := writes(); w > 2 {
		t.Fatalf("2,000 raises in two Adds wrote the alert's row %d times, want at most 2", w)
	}
	a, _ := s.Get(ctx, added[0].ID)
	if a.Count != 2000 || !a.FirstSeen.Equal(base.Add(-time.Minute)) || !a.Time.Equal(base.Add(1999*time.Millisecond)) ||
		len(a.EventIDs) != MaxEventIDs || a.EventIDs[999] != "1-999" || a.Fields["n"] != "1999" || a.Level != "high" {
		t.Fatalf("count %d first %v last %v ids %d fields %v level %s", a.Count, a.FirstSeen, a.Time, len(a.EventIDs), a.Fields, a.Level)
	}
	// Redelivered: nothing counted, nothing written.
	raise(t, s, as[10:20]...)
	if a2, _ := s.Get(ctx, a.ID); a2.Count != 2000 || writes() > 2 {
		t.Fatalf("a redelivery counted again (%d) or wrote the alert (%d writes)", a2.Count, writes())
	}
}

// Raises keep the alerts they wrote in memory; a triage change in
// between is not lost: the next raise reads the alert again.
func TestRaiseAfterTriageSeesIt(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	burst := func(n int) Alert {
		var ids []string
		for i := range n {
			ids = append(ids, fmt.Sprint("9-", i))
		}
		return Alert{Key: "correlation/bf/1", Kind: "correlation", RuleID: "bf", RuleTitle: "bf", Level: "high", Time: base.Add(time.Duration(n) * time.Second),
			Count: n, EventIDs: ids, Update: true, GroupKey: GroupKey("bf", [2]string{"source.ip", "203.0.113.9"})}
	}
	var changes []Change
	s.OnChange(func(_ context.Context, cs []Change) { changes = append(changes, cs...) })
	id := raise(t, s, burst(10))[0].ID
	raise(t, s, burst(20))
	if _, _, err := s.Update(ctx, id, Patch{Status: ptr("in_progress"), Assignee: ptr("alice"), Tags: &[]string{"triaged"}}, "alice", users{"alice": true}); err != nil {
		t.Fatal(err)
	}
	raise(t, s, burst(30))
	last := changes[len(changes)-1].Alert
	if last.Status != "in_progress" || last.Assignee != "alice" || !contains(last.Tags, "triaged") || last.Count != 30 {
		t.Fatalf("the raise after triage reported status %q assignee %q tags %v count %d", last.Status, last.Assignee, last.Tags, last.Count)
	}
	a, _ := s.Get(ctx, id)
	if a.Status != "in_progress" || a.Count != 30 || len(a.EventIDs) != 30 {
		t.Fatalf("stored: status %q count %d ids %d", a.Status, a.Count, len(a.EventIDs))
	}
}

func TestBulkUpdate(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	now := time.Now()
	for i := 0; i < 5; i++ {
		raise(t, s, Alert{Key: fmt.Sprint(i), Kind: "sigma", RuleID: []string{"noisy", "other"}[i%2], RuleTitle: "x", Level: "low", Time: now})
	}
	as, _ := s.List(ctx, Filter{RuleID: "noisy"})
	if _, _, err := s.Update(ctx, as[0].ID, Patch{Status: ptr("in_progress")}, "a", nil); err != nil {
		t.Fatal(err)
	}
	// Back to new is refused for the alert in progress only.
	res, err := s.BulkUpdate(ctx, Filter{RuleID: "noisy"}, Patch{Status: ptr("new")}, "bob", nil)
	if err != nil || res.Matched != 3 || len(res.Updated) != 2 || len(res.Failed) != 1 || res.Failed[0].ID != as[0].ID {
		t.Fatalf("bulk %+v %v", res, err)
	}
	res, err = s.BulkUpdate(ctx, Filter{RuleID: "noisy"}, Patch{Status: ptr("closed"), Disposition: ptr("false_positive"), Reason: ptr("tuning")}, "bob", nil)
	if err != nil || len(res.Updated) != 3 {
		t.Fatalf("bulk close %+v %v", res, err)
	}
	if _, err := s.BulkUpdate(ctx, Filter{RuleID: "noisy"}, Patch{Status: ptr("finished")}, "bob", nil); err == nil {
		t.Fatal("bulk change with an unknown status accepted")
	}
	if n, _ := s.Count(ctx, Filter{Disposition: "false_positive"}); n != 3 {
		t.Fatalf("%d false positives", n)
	}
	if n, _ := s.Count(ctx, Filter{Statuses: []string{"new"}}); n != 2 {
		t.Fatalf("the other rule's alerts changed: %d new left", n)
	}
}

func TestPaging(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	base := time.Now().Add(-time.Hour)
	var in []Alert
	for i := 0; i < 25; i++ {
		in = append(in, Alert{Key: fmt.Sprint(i), Kind: "sigma", RuleID: "r", RuleTitle: "x", Level: Levels[i%5], Time: base.Add(time.Duration(i%7) * time.Minute)})
	}
	raise(t, s, in...)
	for _, order := range []string{"time", "created", "level"} {
		seen := map[int64]bool{}
		f := Filter{Limit: 10, Order: order}
		pages := 0
		for {
			as, next, err := s.Page(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, a := range as {
				if seen[a.ID] {
					t.Fatalf("%s: alert %d on two pages", order, a.ID)
				}
				seen[a.ID] = true
			}
			if next == "" {
				break
			}
			f.After = next
		}
		if len(seen) != 25 || pages != 3 {
			t.Fatalf("%s: %d alerts in %d pages", order, len(seen), pages)
		}
	}
}

func TestMigrationFromFirstSchema(t *testing.T) {
	d, err := db.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	if err := db.Migrate(ctx, d, "alerts", migrations[:1]); err != nil {
		t.Fatal(err)
	}
	for i, st := range []string{"open", "acknowledged", "closed"} {
		if _, err := d.Exec(`INSERT INTO alerts (key, kind, rule_id, rule_title, level, tags, time, created, event_ids, group_by, fields, status) VALUES (?, 'sigma', 'r', 't', 'low', '[]', 1, 2, '["1-0"]', '{}', '{}', ?)`, fmt.Sprint(i), st); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	as, _ := s.List(ctx, Filter{Order: "created"})
	var got []string
	for _, a := range as {
		got = append(got, a.Status)
	}
	if strings.Join(got, ",") != "closed,in_progress,new" || as[2].Count != 1 || !as[2].FirstSeen.Equal(as[2].Time) {
		t.Fatalf("migrated: %v %+v", got, as[2])
	}
	// The old keys stay known.
	if added := raise(t, s, Alert{Key: "0", Kind: "sigma", RuleID: "r", Time: time.Now()}); len(added) != 0 {
		t.Fatal("a raise from before the migration raised again")
	}
}

func TestTriageHTTP(t *testing.T) {
	s := open(t)
	a := raise(t, s, Alert{Key: "k", Kind: "sigma", RuleID: "r1", RuleTitle: "t", Level: "high", Time: time.Now()})[0]
	raise(t, s, Alert{Key: "k2", Kind: "sigma", RuleID: "r1", RuleTitle: "t", Level: "high", Time: time.Now()})
	var audited []string
	h := &Handler{Store: s, SLA: DefaultSLA(), Users: users{"alice": true},
		ParseTime: func(v string, now time.Time) (time.Time, error) { return time.Parse(time.RFC3339, v) },
		Actor:     func(context.Context) string { return "user:alice" },
		Audit: func(_ context.Context, action, target string, d map[string]any, err error) {
			audited = append(audited, fmt.Sprintf("%s %s %v", action, target, err == nil))
		}}
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
	id := fmt.Sprint(a.ID)
	for _, c := range []struct {
		body string
		code int
		want string
	}{
		{`{"status":"in_progress","assignee":"alice","note":"mine"}`, 200, `"assignee":"alice"`},
		{`{"status":"new"}`, 409, "cannot go from in_progress to new"},
		{`{"assignee":"mallory"}`, 400, `assignee: no user \"mallory\"`},
		{`{"status":"closed","disposition":"false_positive"}`, 400, "closing needs a reason"},
		{`{"colour":"red"}`, 400, "unknown field"},
		{`not json`, 400, "want a JSON object"},
		{`{"note":"` + strings.Repeat("n", MaxNoteBytes+1) + `"}`, 400, "at most 16384"},
		{`{"note":"` + strings.Repeat("n", maxBody) + `"}`, 400, "too large"},
		{`{"status":"closed","disposition":"false_positive","reason":"scanner"}`, 200, `"disposition":"false_positive"`},
	} {
		code, body := do("PATCH", "/api/v1/alerts/"+id, c.body)
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("PATCH %.60s: %d %.200s, want %d with %s", c.body, code, body, c.code, c.want)
		}
	}
	if code, _ := do("PATCH", "/api/v1/alerts/999", `{"note":"x"}`); code != 404 {
		t.Errorf("patch of a missing alert: %d", code)
	}
	code, body := do("GET", "/api/v1/alerts/"+id+"/history", "")
	var hr struct{ History []HistoryEntry }
	json.Unmarshal([]byte(body), &hr)
	if code != 200 || len(hr.History) != 6 || hr.History[0].Actor != "user:alice" {
		t.Fatalf("history %d %s", code, body)
	}
	code, body = do("GET", "/api/v1/alerts/"+id, "")
	if code != 200 || !strings.Contains(body, `"closed_in_seconds"`) || !strings.Contains(body, `"text":"mine"`) {
		t.Fatalf("get %d %s", code, body)
	}
	if code, body := do("POST", "/api/v1/alerts/bulk", `{"patch":{"status":"in_progress"}}`); code != 400 || !strings.Contains(body, "give a filter or ids") {
		t.Errorf("bulk without a filter: %d %s", code, body)
	}
	code, body = do("POST", "/api/v1/alerts/bulk", `{"filter":{"rule":"r1","status":"new"},"patch":{"assignee":"alice","add_tags":["triaged"]}}`)
	if code != 200 || !strings.Contains(body, `"matched":1`) {
		t.Fatalf("bulk %d %s", code, body)
	}
	if code, body := do("GET", "/api/v1/alerts?assignee=alice&tag=triaged", ""); code != 200 || strings.Count(body, `"rule_id"`) != 1 {
		t.Fatalf("list after bulk %d %s", code, body)
	}
	if len(audited) != 11 || audited[0] != "alert.update "+id+" true" || audited[1] != "alert.update "+id+" false" {
		t.Fatalf("audited %q", audited)
	}
}
