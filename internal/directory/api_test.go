package directory

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/web/webtest"
)

func TestAPI(t *testing.T) {
	s, _ := newStore(t)
	apply(t, s, adt(t, "A01", "A1", evn("A01", "20240312083000"), pidDoe, nk1Doe, pv1("I", "4WEST^401^A^GENHOSP", house, wilson, "20240312083000", "")))
	apply(t, s, adt(t, "A28", "A2", "PID|1||MRN20002^^^GENHOSP^MR||ROE^RICHARD||19750101|M"))
	api := &API{Store: s}
	env := webtest.New(t, webtest.Options{}, api.Routes()...)
	api.Audit = env.Trail

	call := func(method, path, ctype, body string, want int) map[string]any {
		t.Helper()
		return callAs(t, env, "privacy-officer", method, path, ctype, body, want)
	}
	count := func(v map[string]any) int { return int(v["count"].(float64)) }

	if n := count(call("GET", "/api/v1/patients?q=doe", "", "", 200)); n != 1 {
		t.Fatalf("q=doe: %d", n)
	}
	if n := count(call("GET", "/api/v1/patients?identifier=GENHOSP|MRN20002", "", "", 200)); n != 1 {
		t.Fatalf("identifier: %d", n)
	}
	if n := count(call("GET", "/api/v1/patients?q=MRN10001", "", "", 200)); n != 1 {
		t.Fatalf("q=identifier: %d", n)
	}
	list := call("GET", "/api/v1/patients?q=doe", "", "", 200)
	id := int(list["patients"].([]any)[0].(map[string]any)["id"].(float64))
	p := call("GET", "/api/v1/patients/"+itoa(id), "", "", 200)
	encs := p["encounters"].([]any)
	if len(encs) != 1 || len(encs[0].(map[string]any)["care_team"].([]any)) != 2 || len(p["identifiers"].([]any)) != 3 {
		t.Fatalf("patient detail %v", p)
	}
	call("GET", "/api/v1/patients/999", "", "", 404)
	call("GET", "/api/v1/patients/MRN10001", "", "", 400)
	if n := count(call("GET", "/api/v1/encounters?provider=D1001", "", "", 200)); n != 1 {
		t.Fatalf("encounters by provider: %d", n)
	}
	if n := count(call("GET", "/api/v1/encounters?identifier=MRN20002", "", "", 200)); n != 0 {
		t.Fatalf("encounters of MRN20002: %d", n)
	}
	call("GET", "/api/v1/encounters", "", "", 400)
	call("GET", "/api/v1/patients?limit=x", "", "", 400)

	// Import with a mapping in the query, then as JSON.
	q := url.Values{"mapping": {`{"employee_id":"Pers","ehr_user_id":"Login","department":"Abteilung","provider_id":"Arzt"}`}}
	res := call("POST", "/api/v1/workforce/import?"+q.Encode(), "text/csv", "Pers,Login,Abteilung,Arzt\n1,ghouse,Diagnostics,D1001\n,x,y,z\n", 200)
	if res["created"].(float64) != 1 || res["error_total"].(float64) != 1 {
		t.Fatalf("import %v", res)
	}
	if e := res["errors"].([]any)[0].(map[string]any); e["line"].(float64) != 3 {
		t.Fatalf("error line %v", e)
	}
	res = call("POST", "/api/v1/workforce/import", "application/json", `{"csv":"employee_id;ehr_user_id;department\n2;lcuddy;Administration\n","delimiter":"semicolon"}`, 200)
	if res["created"].(float64) != 1 {
		t.Fatalf("json import %v", res)
	}
	res = call("POST", "/api/v1/workforce/import?map.employee_id=Nr", "text/csv", "Nr,Login\n3,jwilson\n", 200)
	if res["created"].(float64) != 1 || res["columns"].(map[string]any)["ehr_user_id"] != "Login" {
		t.Fatalf("map. import %v", res)
	}
	call("POST", "/api/v1/workforce/import?preset=nope", "text/csv", "a\n", 400)
	call("POST", "/api/v1/workforce/import?map.nope=x", "text/csv", "a\n", 400)
	call("POST", "/api/v1/workforce/import", "text/csv", "employee_id,hire_date\n1,bad\n", 400)

	if n := count(call("GET", "/api/v1/workforce?department=diagnostics", "", "", 200)); n != 1 {
		t.Fatalf("workforce by department: %d", n)
	}
	w := call("GET", "/api/v1/workforce/1", "", "", 200)
	if w["ehr_user_id"] != "ghouse" {
		t.Fatalf("worker %v", w)
	}
	if w := call("GET", "/api/v1/workforce/lcuddy", "", "", 200); w["employee_id"] != "2" {
		t.Fatalf("worker by EHR id %v", w)
	}
	call("GET", "/api/v1/workforce/nobody", "", "", 404)
	// The workforce link makes the EHR login count for the care team.
	if ok, _ := s.OnCareTeam(t.Context(), "ghouse", "MRN10001", testTime(2024, 3, 13), 0); !ok {
		t.Fatal("EHR user not resolved to the provider on the care team")
	}
}

func callAs(t *testing.T, env *webtest.Env, role, method, path, ctype, body string, want int) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, env.URL+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Authorization", "Bearer "+env.Tokens[role])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s as %s: status %d, want %d: %s", method, path, role, resp.StatusCode, want, data)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s %s: %v: %s", method, path, err, data)
	}
	return v
}

// Patients' PHI is masked for an analyst, who can reveal one patient
// with a reason; every read and the reveal are in the audit trail.
func TestAPIMaskingAndAudit(t *testing.T) {
	s, _ := newStore(t)
	apply(t, s, adt(t, "A01", "A1", evn("A01", "20240312083000"), pidDoe, nk1Doe, pv1("I", "4WEST^401^A^GENHOSP", house, wilson, "20240312083000", "")))
	api := &API{Store: s}
	env := webtest.New(t, webtest.Options{}, api.Routes()...)
	api.Audit = env.Trail
	raw := func(role, method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, env.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+env.Tokens[role])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	phi := []string{"DOE", "MRN10001", "19610615", "MAIN ST"}
	// Searching by the real value still finds the patient, masked.
	code, body := raw("analyst", "GET", "/api/v1/patients?q=doe", "")
	if code != 200 || !strings.Contains(body, `"count":1`) {
		t.Fatalf("analyst search: %d %s", code, body)
	}
	for _, v := range phi {
		if strings.Contains(strings.ToUpper(body), v) {
			t.Errorf("analyst search shows %q: %s", v, body)
		}
	}
	var list struct {
		Patients []struct {
			ID int64 `json:"id"`
		} `json:"patients"`
	}
	json.Unmarshal([]byte(body), &list)
	id := itoa(int(list.Patients[0].ID))
	_, body = raw("analyst", "GET", "/api/v1/patients/"+id, "")
	if strings.Contains(body, "MRN10001") || !strings.Contains(body, `"[masked]"`) || !strings.Contains(body, "4WEST") {
		t.Fatalf("analyst patient read: %s", body)
	}
	// The privacy officer sees everything.
	if _, body = raw("privacy-officer", "GET", "/api/v1/patients/"+id, ""); !strings.Contains(body, "MRN10001") {
		t.Fatalf("privacy officer read: %s", body)
	}
	// Reveal: a reason is required; the auditor may not.
	if code, _ := raw("analyst", "POST", "/api/v1/patients/"+id+"/reveal", `{"reason":""}`); code != 400 {
		t.Fatalf("reveal without reason: %d", code)
	}
	if code, _ := raw("auditor", "POST", "/api/v1/patients/"+id+"/reveal", `{"reason":"checking a complaint"}`); code != 403 {
		t.Fatalf("auditor reveal: %d", code)
	}
	if code, _ := raw("auditor", "GET", "/api/v1/patients/"+id, ""); code != 403 {
		t.Fatalf("auditor read: %d", code)
	}
	code, body = raw("analyst", "POST", "/api/v1/patients/"+id+"/reveal", `{"reason":"incident 42: confirm the patient"}`)
	if code != 200 || !strings.Contains(body, "MRN10001") {
		t.Fatalf("reveal: %d %s", code, body)
	}
	recs := env.Records(t, "*")
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Action+"/"+r.Actor+"/"+r.Target)
	}
	want := []string{"patient.search/test-analyst/", "patient.read/test-analyst/" + id, "patient.read/test-privacy-officer/" + id,
		"phi.reveal/test-analyst/patient:" + id}
	for _, w := range want {
		if !strings.Contains(strings.Join(actions, " "), w) {
			t.Errorf("audit trail lacks %s: %v", w, actions)
		}
	}
	if r := env.Records(t, "phi.reveal"); len(r) != 1 || !strings.Contains(string(r[0].Details), "incident 42") {
		t.Errorf("reveal record %+v", r)
	}
	if r := env.Records(t, "patient.search"); len(r) != 1 || !strings.Contains(string(r[0].Details), `"q":"doe"`) || !strings.Contains(string(r[0].Details), `"result_count":1`) {
		t.Errorf("search record %+v", r)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func testTime(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
