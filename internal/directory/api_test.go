package directory

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestAPI(t *testing.T) {
	s, _ := newStore(t)
	apply(t, s, adt(t, "A01", "A1", evn("A01", "20240312083000"), pidDoe, nk1Doe, pv1("I", "4WEST^401^A^GENHOSP", house, wilson, "20240312083000", "")))
	apply(t, s, adt(t, "A28", "A2", "PID|1||MRN20002^^^GENHOSP^MR||ROE^RICHARD||19750101|M"))
	srv := httptest.NewServer((&API{Store: s}).Handler())
	defer srv.Close()

	call := func(method, path, ctype, body string, want int) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, data)
		}
		var v map[string]any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
		return v
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

func itoa(n int) string { return strconv.Itoa(n) }

func testTime(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
