package dashboards

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/store"
)

// TestBuiltinDashboards: the shipped dashboards are valid, the three the
// console promises are there, and every panel's query is LogsQL the store
// accepts (with the console's substitutions).
func TestBuiltinDashboards(t *testing.T) {
	ds, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	if got := strings.Join(ids, ","); got != "overview,security,healthcare" {
		t.Fatalf("built-in dashboards %s", got)
	}
	st, err := store.Open(t.TempDir(), store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	for _, d := range ds {
		for _, p := range d.Panels {
			if p.Query == "" {
				continue
			}
			q := strings.NewReplacer("$step", "1h", "$tzoffset", "offset 60m").Replace(p.Query)
			err := st.Search(context.Background(), store.Request{Query: q, Start: now.Add(-time.Hour), End: now, Limit: 10}, func([]event.Field) error { return nil })
			var qe *store.QueryError
			if errors.As(err, &qe) {
				t.Errorf("%s / %s: %v", d.ID, p.Title, err)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	ok := `id: mine
title: Mine
panels:
  - {title: A, type: bars, query: "* | stats by (host.name) count() n"}
`
	if d, err := Parse([]byte(ok)); err != nil || d.Range != "-24h" || d.Panels[0].Width != 6 {
		t.Fatalf("valid dashboard: %v %+v", err, d)
	}
	f := func(doc, want string) {
		t.Helper()
		_, err := Parse([]byte(doc))
		var ie *InvalidError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), want) {
			t.Fatalf("%q: got %v, want an error with %q", doc, err, want)
		}
	}
	f(`id: Bad_ID
title: x
panels: [{title: a, type: bars, query: x}]`, `id "Bad_ID"`)
	f(`id: x
title: x
panels: []`, "at least one")
	f(`id: x
title: x
panels: [{title: a, type: pie, query: x}]`, `type "pie"`)
	f(`id: x
title: x
panels: [{title: a, type: bars}]`, "needs a query")
	f(`id: x
title: x
panels: [{title: a, type: alerts, alerts: {group: colour}}]`, "alerts.group")
	f(`id: x
title: x
range: yesterday
panels: [{title: a, type: sources}]`, `range "yesterday"`)
	f(`id: x
title: x
colour: red
panels: [{title: a, type: sources}]`, "colour")
	f(`id: x
title: x
panels: [{title: a, type: sources, width: 13}]`, "width 13")
	f(`: [`, "dashboard:")
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "id: x\ntitle: y\npanels: [{title: a, type: sources}]", `{"id":"x","title":"t","panels":[{"title":"a","type":"stat","query":"*"}]}`, "- [", "id: &a [*a]"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err == nil && (d.ID == "" || len(d.Panels) == 0) {
			t.Fatalf("accepted an incomplete dashboard: %+v", d)
		}
	})
}

func TestDashboardsAPI(t *testing.T) {
	d, err := db.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	st, err := Open(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{Store: st, User: func(r *http.Request) string { return r.Header.Get("X-User") },
		Admin: func(r *http.Request) bool { return r.Header.Get("X-User") == "admin" }}
	mux := http.NewServeMux()
	for p, hh := range h.Routes() {
		mux.Handle(p, hh)
	}
	call := func(user, method, path, body string) (int, map[string]any) {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("X-User", user)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		var m map[string]any
		json.Unmarshal(w.Body.Bytes(), &m)
		return w.Code, m
	}
	yamlDoc := "id: ward-4\ntitle: Ward 4\npanels:\n  - {title: Accesses, type: timeseries, query: 'event.module:ehr | stats by (_time:$step) count() n'}\n"
	if code, m := call("alice", "POST", "/api/v1/dashboards", yamlDoc); code != 201 || m["owner"] != "alice" {
		t.Fatalf("create from YAML: %d %v", code, m)
	}
	if code, _ := call("alice", "POST", "/api/v1/dashboards", yamlDoc); code != 409 {
		t.Fatalf("duplicate id: %d", code)
	}
	if code, m := call("alice", "POST", "/api/v1/dashboards", `{"id":"overview","title":"x","panels":[{"title":"a","type":"sources"}]}`); code != 403 {
		t.Fatalf("overwrite a built-in: %d %v", code, m)
	}
	// Bob does not see alice's private dashboard; once shared he does.
	_, l := call("bob", "GET", "/api/v1/dashboards", "")
	if n := len(l["dashboards"].([]any)); n != 3 {
		t.Fatalf("bob sees %d dashboards, want the 3 built-in", n)
	}
	if code, _ := call("bob", "GET", "/api/v1/dashboards/ward-4", ""); code != 404 {
		t.Fatalf("bob reads alice's private dashboard: %d", code)
	}
	shared := strings.Replace(yamlDoc, "title: Ward 4", "title: Ward 4\nshared: true", 1)
	if code, m := call("alice", "PUT", "/api/v1/dashboards/ward-4", shared); code != 200 || m["shared"] != true {
		t.Fatalf("share: %d %v", code, m)
	}
	if code, m := call("bob", "GET", "/api/v1/dashboards/ward-4", ""); code != 200 || m["mine"] != false || len(m["panels"].([]any)) != 1 {
		t.Fatalf("bob reads the shared dashboard: %d %v", code, m)
	}
	if code, _ := call("bob", "PUT", "/api/v1/dashboards/ward-4", shared); code != 403 {
		t.Fatalf("bob replaces alice's dashboard: %d", code)
	}
	if code, _ := call("bob", "DELETE", "/api/v1/dashboards/ward-4", ""); code != 403 {
		t.Fatalf("bob deletes alice's dashboard: %d", code)
	}
	if code, m := call("bob", "GET", "/api/v1/dashboards/overview", ""); code != 200 || m["builtin"] != true {
		t.Fatalf("built-in: %d %v", code, m)
	}
	// The YAML form of a built-in, saved under a new id, is bob's own copy.
	r := httptest.NewRequest("GET", "/api/v1/dashboards/overview?format=yaml", nil)
	r.Header.Set("X-User", "bob")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	y := w.Body.String()
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/yaml") || strings.Contains(y, "builtin") || !strings.Contains(y, "panels:") {
		t.Fatalf("overview as YAML: %d %s\n%s", w.Code, w.Header().Get("Content-Type"), y)
	}
	if code, m := call("bob", "POST", "/api/v1/dashboards", strings.Replace(y, "id: overview", "id: my-overview", 1)); code != 201 || m["owner"] != "bob" || len(m["panels"].([]any)) < 5 {
		t.Fatalf("a copy of the overview: %d %v", code, m)
	}
	if code, _ := call("bob", "GET", "/api/v1/dashboards/overview?format=xml", ""); code != 400 {
		t.Fatalf("format=xml: %d", code)
	}
	if code, _ := call("admin", "DELETE", "/api/v1/dashboards/overview", ""); code != 403 {
		t.Fatalf("delete a built-in: %d", code)
	}
	if code, _ := call("alice", "DELETE", "/api/v1/dashboards/ward-4", ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code, m := call("alice", "POST", "/api/v1/dashboards", "id: x\n"); code != 400 || m["error"] == nil {
		t.Fatalf("invalid: %d %v", code, m)
	}
}
