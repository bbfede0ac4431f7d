package cases

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
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

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/report"
	"github.com/vigil-siem/vigil/internal/report/reporttest"
	"github.com/vigil-siem/vigil/internal/store"
)

type users map[string]bool

func (u users) CheckAssignee(_ context.Context, name string) error {
	if !u[name] {
		return fmt.Errorf("no user %q", name)
	}
	return nil
}

type rig struct {
	cases  *Store
	alerts *alerts.Store
	store  *store.Embedded
	clock  *time.Time
}

// newRig has a real log store holding 620 EHR accesses to distinct
// patients by one user: 560 living in MA, 60 in NH.
func newRig(t *testing.T) *rig {
	t.Helper()
	dir := t.TempDir()
	d, err := db.Open(filepath.Join(dir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ctx := context.Background()
	as, err := alerts.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, "store"), store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	var evs []event.Event
	states := map[string]string{}
	var ids []string
	for i := range 620 {
		e := event.Event{Time: base.Add(time.Duration(i) * time.Second)}
		pid := fmt.Sprintf("MRN%05d", i)
		e.Add(event.FieldID, fmt.Sprintf("7-%d", i))
		e.Add("user.name", "jdoe")
		e.Add("healthcare.patient.id", pid)
		evs = append(evs, e)
		ids = append(ids, fmt.Sprintf("7-%d", i))
		states[pid] = "MA"
		if i >= 560 {
			states[pid] = "nh"
		}
	}
	st.Add(evs)
	st.Flush()
	clock := new(time.Time)
	*clock = time.Now()
	cs, err := Open(ctx, d, Options{Alerts: as, Users: users{"alice": true, "bob": true},
		Search: func(ctx context.Context, q string, start, end time.Time, limit int, fn func([]event.Field) error) error {
			return st.Search(ctx, store.Request{Query: q, Start: start, End: end, Limit: limit}, fn)
		},
		PatientState: func(_ context.Context, id string) (string, error) { return states[id], nil },
		Now:          func() time.Time { return *clock }})
	if err != nil {
		t.Fatal(err)
	}
	// The bulk-access alert keeps 1,000 event ids at most: two alerts here.
	if _, err := as.Add(ctx, []alerts.Alert{
		{Key: "bulk1", Kind: "correlation", RuleID: "bulk", RuleTitle: "Bulk access", Level: "high", Time: base.Add(400 * time.Second), FirstSeen: base,
			EventIDs: ids[:400], Count: 400, GroupBy: map[string]string{"user.name": "jdoe"}},
		{Key: "bulk2", Kind: "correlation", RuleID: "bulk", RuleTitle: "Bulk access", Level: "high", Time: base.Add(620 * time.Second), FirstSeen: base.Add(400 * time.Second),
			EventIDs: ids[400:], Count: 220, GroupBy: map[string]string{"user.name": "jdoe"}},
	}); err != nil {
		t.Fatal(err)
	}
	return &rig{cases: cs, alerts: as, store: st, clock: clock}
}

func TestCaseWorkflowEvidenceAndReport(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	for _, c := range []struct {
		n     New
		field string
	}{
		{New{Title: ""}, "title"},
		{New{Title: strings.Repeat("x", MaxTitle+1)}, "title"},
		{New{Title: "x", Kind: "legal"}, "kind"},
		{New{Title: "x", Severity: "urgent"}, "severity"},
		{New{Title: "x", Owner: "mallory"}, "owner"},
		{New{Title: "x", Alerts: []int64{999}}, "alerts"},
	} {
		_, err := r.cases.Create(ctx, c.n, "alice")
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != c.field {
			t.Errorf("%+v: %v, want an error on %s", c.n, err, c.field)
		}
	}
	discovered := r.clock.Add(-5 * 24 * time.Hour)
	c, err := r.cases.Create(ctx, New{Title: "Bulk chart access by jdoe", Kind: "privacy", Owner: "alice", Severity: "high", Discovered: &discovered, Alerts: []int64{1, 2}}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != "open" || len(c.Alerts) != 2 || c.Breach == nil || c.Breach.Conclusion != "incomplete" {
		t.Fatalf("created %+v", c)
	}
	if _, err := r.cases.Update(ctx, c.ID, Patch{Note: ptr(strings.Repeat("n", MaxText+1))}, "bob"); err == nil {
		t.Fatal("oversized note accepted")
	}
	c, err = r.cases.Update(ctx, c.ID, Patch{Status: ptr("in_progress"), Owner: ptr("bob"), Note: ptr("interviewed the manager")}, "alice")
	if err != nil || c.Status != "in_progress" || c.Owner != "bob" {
		t.Fatalf("update %+v %v", c, err)
	}
	task, err := r.cases.AddTask(ctx, c.ID, "Interview jdoe", "bob", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cases.SetTask(ctx, c.ID, task.ID, true, "bob"); err != nil {
		t.Fatal(err)
	}
	// Evidence: a file and a search, each with its SHA-256.
	letter := []byte("Dear patient, …")
	fe, err := r.cases.AddFile(ctx, c.ID, "draft-letter.txt", letter, "alice")
	sum := sha256.Sum256(letter)
	if err != nil || fe.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("file evidence %+v %v", fe, err)
	}
	se, err := r.cases.AddSearch(ctx, c.ID, "jdoe's accesses", "user.name:jdoe", r.clock.Add(-3*time.Hour), r.clock.Add(time.Minute), "alice")
	if err != nil || se.Events != 620 {
		t.Fatalf("search evidence %+v %v", se, err)
	}
	_, content, err := r.cases.EvidenceContent(ctx, c.ID, se.ID)
	sum = sha256.Sum256(content)
	if err != nil || hex.EncodeToString(sum[:]) != se.SHA256 || bytes.Count(content, []byte("\n")) != 620 {
		t.Fatalf("search evidence content: %v, %d lines", err, bytes.Count(content, []byte("\n")))
	}
	if _, err := r.cases.AddSearch(ctx, c.ID, "bad", "user.name:(", r.clock.Add(-time.Hour), *r.clock, "alice"); err == nil {
		t.Fatal("malformed query accepted")
	}
	// Patients of the linked events, read back from the store.
	c, _ = r.cases.Get(ctx, c.ID)
	p, err := r.cases.Patients(ctx, c)
	if err != nil || p.Count != 620 || p.ByState["MA"] != 560 || p.ByState["NH"] != 60 {
		t.Fatalf("patients %+v %v", p.ByState, err)
	}
	// The timeline has every change.
	var kinds []string
	for _, e := range c.Timeline {
		kinds = append(kinds, e.Kind)
	}
	if got := strings.Join(kinds, ","); !strings.Contains(got, "event") || strings.Count(got, "alert") != 2 || !strings.Contains(got, "note") ||
		strings.Count(got, "task") != 2 || strings.Count(got, "evidence") != 2 {
		t.Fatalf("timeline kinds %s", got)
	}
	// The report: HTML and PDF carry the assessment's citation, the
	// states and the evidence hashes.
	doc, err := r.cases.Report(ctx, c.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	var html bytes.Buffer
	if err := report.Render(&html, doc, report.HTML); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"164.402", fe.SHA256, se.SHA256, "Residents by state", "560", "Interview jdoe", "interviewed the manager"} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
	if strings.Contains(html.String(), "MRN00001") {
		t.Error("patient ids in the report for a reader without PHI")
	}
	var pdf bytes.Buffer
	if err := report.Render(&pdf, doc, report.PDF); err != nil {
		t.Fatal(err)
	}
	text := reporttest.PDFText(t, pdf.Bytes())
	flat := strings.Join(strings.Fields(text), "") // hashes wrap in table cells
	for _, want := range []string{"Breachnotificationclock", se.SHA256, fe.SHA256, "individuals"} {
		if !strings.Contains(flat, want) {
			t.Errorf("PDF report lacks %q", want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestBreachAssessmentAndClock(t *testing.T) {
	disc := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	now := disc.AddDate(0, 0, 20)
	low := Factor{Risk: "low", Notes: "n"}
	for _, c := range []struct {
		a    *Assessment
		want string
	}{
		{nil, "incomplete"},
		{&Assessment{NatureExtent: low, UnauthorizedPerson: low, AcquiredViewed: low}, "incomplete"},
		{&Assessment{NatureExtent: low, UnauthorizedPerson: low, AcquiredViewed: low, Mitigation: low}, "not a breach (low probability of compromise)"},
		{&Assessment{NatureExtent: low, UnauthorizedPerson: Factor{Risk: "medium", Notes: "n"}, AcquiredViewed: low, Mitigation: low}, "breach"},
		{&Assessment{Exception: "inadvertent_authorized"}, "not a breach (exception inadvertent_authorized)"},
	} {
		b := ComputeBreach(Case{Discovered: disc, Assessment: c.a}, nil, now)
		if b.Conclusion != c.want {
			t.Errorf("%+v: %s, want %s", c.a, b.Conclusion, c.want)
		}
	}
	if err := (Assessment{NatureExtent: Factor{Risk: "high"}}).validate(); err == nil {
		t.Error("a factor without notes accepted")
	}
	if err := (Assessment{Exception: "because"}).validate(); err == nil {
		t.Error("an unknown exception accepted")
	}
	deadlines := func(p *Patients, n Notified, at time.Time) map[string]Deadline {
		b := ComputeBreach(Case{Discovered: disc, Notified: n}, p, at)
		m := map[string]Deadline{}
		for _, d := range b.Deadlines {
			m[d.Who] = d
		}
		return m
	}
	// 501 residents of one state: media and HHS within 60 days.
	d := deadlines(&Patients{Count: 620, ByState: map[string]int{"MA": 501, "NH": 119}}, Notified{}, now)
	if !d["individuals"].Due.Equal(disc.AddDate(0, 0, 60)) || !d["media"].Required || !d["hhs"].Required || !d["hhs"].Due.Equal(disc.AddDate(0, 0, 60)) || d["individuals"].DaysLeft != 40 {
		t.Fatalf("over 500 in a state: %+v", d)
	}
	// Exactly 500 in one state: no media notice (more than 500), but 500
	// or more individuals: HHS at once.
	d = deadlines(&Patients{Count: 500, ByState: map[string]int{"MA": 500}}, Notified{}, now)
	if d["media"].Required || !d["hhs"].Due.Equal(disc.AddDate(0, 0, 60)) {
		t.Fatalf("500 in a state: %+v", d)
	}
	// Fewer than 500: HHS within 60 days after the end of the year.
	d = deadlines(&Patients{Count: 12, ByState: map[string]int{"MA": 12}}, Notified{}, now)
	if d["media"].Required || !d["hhs"].Due.Equal(time.Date(2027, 3, 2, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("12 patients: %+v", d["hhs"])
	}
	// Past the deadline without notice: overdue; notified: not.
	late := disc.AddDate(0, 0, 61)
	done := disc.AddDate(0, 0, 30)
	if d = deadlines(&Patients{Count: 12, ByState: map[string]int{}}, Notified{}, late); !d["individuals"].Overdue {
		t.Fatal("not overdue after 61 days")
	}
	if d = deadlines(&Patients{Count: 12, ByState: map[string]int{}}, Notified{Individuals: &done}, late); d["individuals"].Overdue {
		t.Fatal("overdue although notified")
	}
}

func TestRemindersAndAPI(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	disc := r.clock.Add(-50 * 24 * time.Hour)
	c, err := r.cases.Create(ctx, New{Title: "Snooping", Kind: "privacy", Discovered: &disc, Alerts: []int64{1}}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := r.cases.Remind(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rem, _ := r.alerts.List(ctx, alerts.Filter{Kind: "case_deadline"})
	// Individuals and HHS (400 patients: the annual log is far away):
	// one reminder, ten days before.
	if len(rem) != 1 || rem[0].Fields["deadline.who"] != "individuals" || !strings.Contains(rem[0].RuleTitle, "due in 10 days") || rem[0].Level != "high" {
		t.Fatalf("reminders %+v", rem)
	}
	*r.clock = r.clock.Add(9*24*time.Hour + 12*time.Hour)
	r.cases.Remind(ctx)
	if rem, _ = r.alerts.List(ctx, alerts.Filter{Kind: "case_deadline"}); len(rem) != 2 || rem[0].Level != "critical" {
		t.Fatalf("last-day reminder %+v", rem)
	}
	// The API.
	h := &Handler{Store: r.cases, Actor: func(context.Context) string { return "user:alice" },
		ParseTime: func(v string, now time.Time) (time.Time, error) { return time.Parse(time.RFC3339, v) }}
	mux := http.NewServeMux()
	for _, rt := range h.Routes() {
		mux.Handle(rt.Pattern, rt.Handler)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	do := func(method, path, body string) (int, []byte, http.Header) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, resp.Header
	}
	id := fmt.Sprint(c.ID)
	code, body, _ := do("POST", "/api/v1/cases/"+id+"/evidence", `{"kind":"file","name":"memo.txt","content_base64":"`+base64.StdEncoding.EncodeToString([]byte("memo"))+`"}`)
	var e Evidence
	json.Unmarshal(body, &e)
	if code != 201 || e.Size != 4 {
		t.Fatalf("evidence %d %s", code, body)
	}
	code, body, hdr := do("GET", fmt.Sprintf("/api/v1/cases/%s/evidence/%d", id, e.ID), "")
	sum := sha256.Sum256(body)
	if code != 200 || string(body) != "memo" || hdr.Get("X-Content-SHA256") != hex.EncodeToString(sum[:]) {
		t.Fatalf("evidence download %d %q %v", code, body, hdr)
	}
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/api/v1/cases", `{"title":""}`},
		{"POST", "/api/v1/cases/" + id + "/evidence", `{"kind":"rumour","name":"x"}`},
		{"PATCH", "/api/v1/cases/" + id, `{"assessment":{"nature_extent":{"risk":"extreme","notes":"x"}}}`},
		{"PATCH", "/api/v1/cases/" + id, `{"status":"archived"}`},
		{"PATCH", "/api/v1/cases/" + id, `{"colour":"red"}`},
	} {
		if code, body, _ := do(c.method, c.path, c.body); code != 400 {
			t.Errorf("%s %s %s: %d %s, want 400", c.method, c.path, c.body, code, body)
		}
	}
	code, body, _ = do("PATCH", "/api/v1/cases/"+id, `{"assessment":{"nature_extent":{"risk":"high","notes":"diagnoses and addresses"},"unauthorized_person":{"risk":"medium","notes":"a clerk"},"acquired_viewed":{"risk":"high","notes":"opened"},"mitigation":{"risk":"medium","notes":"access revoked"}}}`)
	if code != 200 || !strings.Contains(string(body), `"conclusion":"breach"`) || !strings.Contains(string(body), `"count":400`) {
		t.Fatalf("assessment %d %s", code, body)
	}
	if code, body, hdr := do("GET", "/api/v1/cases/"+id+"/report?format=html", ""); code != 200 || hdr.Get("Content-Type") != "text/html; charset=utf-8" || !bytes.Contains(body, []byte("Breach risk assessment")) {
		t.Fatalf("report %d %v", code, hdr)
	}
	if code, body, _ := do("GET", "/api/v1/cases/"+id+"/patients", ""); code != 200 || strings.Contains(string(body), "MRN") {
		t.Fatalf("patients without PHI %d %s", code, body)
	}
	if code, _, _ := do("GET", "/api/v1/cases/999", ""); code != 404 {
		t.Fatalf("missing case %d", code)
	}
}
