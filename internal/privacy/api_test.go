package privacy

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/enrich"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/report/reporttest"
	"github.com/vigil-siem/vigil/internal/store"
	"github.com/vigil-siem/vigil/internal/web"
)

type auditLog struct {
	mu      sync.Mutex
	entries []string
}

func (a *auditLog) record(_ context.Context, action, target string, _ map[string]any, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := action + " " + target
	if err != nil {
		s += " failed"
	}
	a.entries = append(a.entries, s)
}

// storedAccesses puts annotated access events into a real store: five
// accesses to MRN1 (the nurse on the care team, a pharmacist by a
// template, a clerk with nothing to explain it and breaking the glass), one
// to MRN2.
func storedAccesses(t *testing.T) *store.Embedded {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Config{Retention: 20 * 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	add := func(at, user, dept, role, patient string, x Explanation, kv ...string) event.Event {
		ev := event.Event{Time: tm(at)}
		ev.Add("event.module", "ehr")
		ev.Add("event.action", "chart-review")
		ev.Add("user.name", user)
		ev.Add("user.full_name", strings.ToUpper(user))
		ev.Add("healthcare.patient.id", patient)
		ev.Add(enrich.FieldWorkforceDepartment, dept)
		ev.Add(enrich.FieldWorkforceRole, role)
		ev.Add("event.id", "A-"+at[11:16])
		x.Annotate(&ev)
		for i := 0; i+1 < len(kv); i += 2 {
			ev.Add(kv[i], kv[i+1])
		}
		return ev
	}
	ct := Explanation{Explained: true, Code: ExplainCareTeam, Detail: "on the patient's care team (rn)"}
	tp := Explanation{Explained: true, Code: ExplainDeptPattern, Detail: "template 4 (learnt): users of department pharmacy …", Template: 4}
	no := Explanation{Code: ExplainNone, Detail: "not on the care team, and no template of department Billing fits the patient's state"}
	st.Add([]event.Event{
		add("2024-03-12T08:00:00Z", "nurse.ann", "Medicine", "RN", "MRN1", ct),
		add("2024-03-12T09:00:00Z", "rx.bob", "Pharmacy", "Pharmacist", "MRN1", tp),
		add("2024-03-12T10:00:00Z", "nurse.ann", "Medicine", "RN", "MRN1", ct),
		add("2024-03-12T11:00:00Z", "clerk.cy", "Billing", "Clerk", "MRN1", no, "healthcare.break_glass", "true", "healthcare.break_glass_justification", "urgent"),
		add("2024-03-12T12:00:00Z", "clerk.cy", "Billing", "Clerk", "MRN1", no),
		add("2024-03-12T13:00:00Z", "clerk.cy", "Billing", "Clerk", "MRN2", ct),
		// Not an access the explanation looked at.
		{Time: tm("2024-03-12T14:00:00Z"), Fields: []event.Field{{Name: "user.name", Value: "clerk.cy"}, {Name: "healthcare.patient.id", Value: "MRN1"}}},
	})
	st.Flush()
	return st
}

func apiServer(t *testing.T) (*httptest.Server, *auditLog, *Engine) {
	t.Helper()
	dir, accs := hospital()
	e := newTestEngine(t, dir, "", "")
	e.ExplainBatch(context.Background(), accs)
	al := &auditLog{}
	h := &Handler{Engine: e, Reports: &Reporter{Store: storedAccesses(t)}, ParseTime: web.ParseTime, Audit: al.record,
		Actor: func(context.Context) string { return "privacy.officer" },
		Mask: func(ctx context.Context, m map[string]string) {
			if ctx.Value(noPHI{}) != nil {
				for k := range m {
					m[k] = "[masked]"
				}
			}
		}}
	mux := http.NewServeMux()
	for _, r := range h.Routes() {
		if r.Perm != "privacy:read" && r.Perm != "privacy:write" {
			t.Fatalf("route %s declares %q", r.Pattern, r.Perm)
		}
		mux.Handle(r.Pattern, r.Handler)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-No-PHI") != "" {
			r = r.WithContext(context.WithValue(r.Context(), noPHI{}, true))
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, al, e
}

type noPHI struct{}

func get(t *testing.T, url string, hdr ...string) (int, []byte, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes(), resp.Header.Get("Content-Type")
}

func post(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes()
}

const period = "from=2024-03-01T00:00:00Z&to=2024-04-01T00:00:00Z"

func TestPatientReport(t *testing.T) {
	srv, al, _ := apiServer(t)
	code, body, _ := get(t, srv.URL+"/api/v1/privacy/reports/patients/MRN1?"+period)
	var rep PatientReport
	if code != 200 || json.Unmarshal(body, &rep) != nil {
		t.Fatalf("%d %s", code, body)
	}
	if rep.Total != 5 || len(rep.Accesses) != 5 || rep.Users != 3 || rep.Unexplained != 2 || rep.BreakGlass != 1 {
		t.Fatalf("report %+v", rep)
	}
	first, bg := rep.Accesses[0], rep.Accesses[3]
	if first.User != "nurse.ann" || first.Role != "RN" || first.Department != "Medicine" || first.Explanation != ExplainCareTeam || !first.Explained ||
		first.AccessID != "A-08:00" || first.UserName != "NURSE.ANN" || first.Action != "chart-review" {
		t.Fatalf("first access %+v", first)
	}
	if !bg.BreakGlass || bg.Reason != "urgent" || bg.Explained {
		t.Fatalf("break-glass access %+v", bg)
	}
	// CSV: the accesses, one line each, with the explanation.
	code, body, ct := get(t, srv.URL+"/api/v1/privacy/reports/patients/MRN1?format=csv&"+period)
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if code != 200 || !strings.HasPrefix(ct, "text/csv") || err != nil || len(recs) != 6 || recs[0][0] != "When" || recs[4][1] != "clerk.cy" ||
		!strings.Contains(recs[4][8], "no template of department Billing") || recs[4][9] != "yes: urgent" {
		t.Fatalf("csv %d %v %q", code, err, recs)
	}
	// PDF: who opened the record is in it.
	code, body, ct = get(t, srv.URL+"/api/v1/privacy/reports/patients/MRN1?format=pdf&"+period)
	if code != 200 || ct != "application/pdf" || !bytes.HasPrefix(body, []byte("%PDF")) {
		t.Fatalf("pdf %d %s", code, ct)
	}
	if text := reporttest.PDFText(t, body); !strings.Contains(text, "clerk.cy") || !strings.Contains(text, "Access report") {
		t.Fatalf("pdf text:\n%s", text)
	}
	// Without the PHI permission the patient's identifier is masked.
	_, body, _ = get(t, srv.URL+"/api/v1/privacy/reports/patients/MRN1?"+period, "X-No-PHI", "1")
	if bytes.Contains(body, []byte("MRN1")) || !bytes.Contains(body, []byte("[masked]")) {
		t.Fatalf("masked report: %s", body)
	}
	// Bad requests.
	if code, _, _ := get(t, srv.URL+"/api/v1/privacy/reports/patients/MRN1?format=doc"); code != 400 {
		t.Fatalf("format doc: %d", code)
	}
	if code, _, _ := get(t, srv.URL+"/api/v1/privacy/reports/patients/MRN1?from=2024-04-01T00:00:00Z&to=2024-03-01T00:00:00Z"); code != 400 {
		t.Fatalf("to before from: %d", code)
	}
	if code, _, _ := get(t, srv.URL+"/api/v1/privacy/reports/patients/MRN1?format=csv&table=nope"); code != 400 {
		t.Fatalf("unknown table: %d", code)
	}
	// Every generation is audited.
	n := 0
	for _, e := range al.entries {
		if e == "privacy.report.patient patient:MRN1" {
			n++
		}
	}
	if n < 4 {
		t.Fatalf("audit %q", al.entries)
	}
}

func TestUserReportAndSummary(t *testing.T) {
	srv, al, _ := apiServer(t)
	code, body, _ := get(t, srv.URL+"/api/v1/privacy/reports/users/clerk.cy?"+period)
	var rep UserReport
	if code != 200 || json.Unmarshal(body, &rep) != nil {
		t.Fatalf("%d %s", code, body)
	}
	// MRN1 (two unexplained accesses) before MRN2 (explained).
	if rep.Total != 3 || len(rep.Patients) != 2 || rep.Patients[0].Patient != "MRN1" || rep.Patients[0].Unexplained != 2 ||
		rep.Patients[0].BreakGlass != 1 || len(rep.Patients[0].AccessIDs) != 2 || rep.Patients[1].Unexplained != 0 ||
		rep.Department != "Billing" || rep.Unexplained != 2 {
		t.Fatalf("user report %+v", rep)
	}
	code, body, _ = get(t, srv.URL+"/api/v1/privacy/reports/users/clerk.cy?format=csv&"+period)
	recs, _ := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if code != 200 || len(recs) != 3 || recs[1][0] != "MRN1" || recs[1][2] != "2" {
		t.Fatalf("user csv %q", recs)
	}
	code, body, _ = get(t, srv.URL+"/api/v1/privacy/reports/summary?"+period)
	var s Summary
	if code != 200 || json.Unmarshal(body, &s) != nil || s.Accesses != 6 || s.Explained != 4 || len(s.Departments) != 3 ||
		s.Departments[0].Name != "Billing" || s.Departments[0].Explained != 1 || s.Users[0].Name != "clerk.cy" || s.Users[0].Accesses != 2 ||
		len(s.Reasons) != 1 || s.Reasons[0].Name != "no care team or template" || s.Reasons[0].Accesses != 2 {
		t.Fatalf("summary %d %+v %s", code, s, body)
	}
	if code, body, _ := get(t, srv.URL+"/api/v1/privacy/reports/summary?format=html&"+period); code != 200 || !bytes.Contains(body, []byte("Billing")) {
		t.Fatalf("summary html %d", code)
	}
	if len(al.entries) < 3 {
		t.Fatalf("audit %q", al.entries)
	}
}

func TestTemplatesAPI(t *testing.T) {
	srv, al, e := apiServer(t)
	code, body, _ := get(t, srv.URL+"/api/v1/privacy/templates")
	var res struct {
		Templates []Template `json:"templates"`
	}
	if code != 200 || json.Unmarshal(body, &res) != nil || len(res.Templates) != 2 {
		t.Fatalf("%d %s", code, body)
	}
	id := res.Templates[0].ID
	if code, _ := post(t, srv.URL+"/api/v1/privacy/templates/"+itoa(id)+"/reject", `{}`); code != 400 {
		t.Fatalf("reject without a reason: %d", code)
	}
	code, body = post(t, srv.URL+"/api/v1/privacy/templates/"+itoa(id)+"/reject", `{"reason":"not how we work"}`)
	var tp Template
	if code != 200 || json.Unmarshal(body, &tp) != nil || tp.Status != StatusRejected || tp.DecidedBy != "privacy.officer" {
		t.Fatalf("reject: %d %s", code, body)
	}
	if code, _, _ := get(t, srv.URL+"/api/v1/privacy/templates?status=rejected"); code != 200 {
		t.Fatal(code)
	}
	if code, _ := post(t, srv.URL+"/api/v1/privacy/templates/9999/approve", `{"reason":"x"}`); code != 404 {
		t.Fatalf("unknown template: %d", code)
	}
	if code, _ := post(t, srv.URL+"/api/v1/privacy/templates/x/approve", `{"reason":"x"}`); code != 400 {
		t.Fatalf("bad id: %d", code)
	}
	if code, _ := post(t, srv.URL+"/api/v1/privacy/templates/"+itoa(id)+"/approve", `not json`); code != 400 {
		t.Fatalf("bad body: %d", code)
	}
	if code, body := post(t, srv.URL+"/api/v1/privacy/mine", ``); code != 200 || !bytes.Contains(body, []byte(`"chosen"`)) {
		t.Fatalf("mine: %d %s", code, body)
	}
	if got, _ := e.Template(context.Background(), id); got.Status != StatusRejected {
		t.Fatalf("after mining: %s", got.Status)
	}
	code, body, _ = get(t, srv.URL+"/api/v1/privacy/rules")
	if code != 200 || !bytes.Contains(body, []byte(RuleBreakGlass)) || !bytes.Contains(body, []byte(`"min_patients":15`)) {
		t.Fatalf("rules %d %s", code, body)
	}
	joined := strings.Join(al.entries, "\n")
	if !strings.Contains(joined, "privacy.template.reject template:"+itoa(id)) || !strings.Contains(joined, "privacy.mine templates") ||
		!strings.Contains(joined, "failed") {
		t.Fatalf("audit:\n%s", joined)
	}
}

func itoa(i int64) string {
	b, _ := json.Marshal(i)
	return string(b)
}
