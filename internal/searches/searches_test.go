package searches

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/db"
)

func newAPI(t *testing.T) http.Handler {
	t.Helper()
	d, err := db.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
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
	return mux
}

func call(t *testing.T, h http.Handler, user, method, path, body string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("X-User", user)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var m map[string]any
	json.Unmarshal(w.Body.Bytes(), &m)
	return w.Code, m
}

func TestSavedSearchesOwnedAndShared(t *testing.T) {
	h := newAPI(t)
	code, s := call(t, h, "alice", "POST", "/api/v1/searches", `{"name":"Failed logons","query":"event.outcome:failure","start":"-24h","end":"now","columns":["@timestamp","user.name"]}`)
	if code != 201 || s["owner"] != "alice" || s["mine"] != true {
		t.Fatalf("create: %d %v", code, s)
	}
	id := int(s["id"].(float64))
	path := "/api/v1/searches/" + itoa(id)
	call(t, h, "alice", "POST", "/api/v1/searches", `{"name":"Shared one","query":"*","shared":true}`)
	// Bob sees only the shared one, and may not change or delete alice's.
	_, l := call(t, h, "bob", "GET", "/api/v1/searches", "")
	if got := names(l); got != "Shared one" {
		t.Fatalf("bob sees %q", got)
	}
	if code, _ := call(t, h, "bob", "GET", path, ""); code != 404 {
		t.Fatalf("bob reads alice's private search: %d", code)
	}
	if code, _ := call(t, h, "bob", "DELETE", path, ""); code != 403 {
		t.Fatalf("bob deletes alice's search: %d", code)
	}
	_, l = call(t, h, "alice", "GET", "/api/v1/searches", "")
	if got := names(l); got != "Failed logons,Shared one" {
		t.Fatalf("alice sees %q", got)
	}
	// Update, duplicate names, bad input.
	if code, s := call(t, h, "alice", "PUT", path, `{"name":"Failed logons 24h","query":"event.outcome:failure","columns":[]}`); code != 200 || s["name"] != "Failed logons 24h" {
		t.Fatalf("update: %d %v", code, s)
	}
	if code, _ := call(t, h, "alice", "POST", "/api/v1/searches", `{"name":"Shared one","query":"x"}`); code != 409 {
		t.Fatalf("duplicate name: %d", code)
	}
	for _, bad := range []string{``, `{"name":"","query":"x"}`, `{"name":"n","query":"  "}`, `{"name":"n","query":"x","extra":1}`, `not json`,
		`{"name":"` + strings.Repeat("n", 201) + `","query":"x"}`} {
		if code, m := call(t, h, "alice", "POST", "/api/v1/searches", bad); code != 400 || m["error"] == "" {
			t.Fatalf("%q: %d %v", bad, code, m)
		}
	}
	if code, _ := call(t, h, "alice", "GET", "/api/v1/searches/abc", ""); code != 400 {
		t.Fatalf("bad id: %d", code)
	}
	// An administrator may delete anyone's; then it is gone.
	if code, _ := call(t, h, "admin", "DELETE", path, ""); code != 204 {
		t.Fatalf("admin delete: %d", code)
	}
	if code, _ := call(t, h, "alice", "GET", path, ""); code != 404 {
		t.Fatalf("after delete: %d", code)
	}
}

func names(m map[string]any) string {
	var out []string
	for _, s := range m["searches"].([]any) {
		out = append(out, s.(map[string]any)["name"].(string))
	}
	return strings.Join(out, ",")
}

func itoa(n int) string { return strconv.Itoa(n) }
