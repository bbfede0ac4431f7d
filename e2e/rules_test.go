package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestRulesTurnedOffAndOn: a rule is turned off with a reason (no restart),
// listed as off with who, when and why, turned on again; its YAML is
// served; a change without a reason is refused.
func TestRulesTurnedOffAndOn(t *testing.T) {
	in := startVigil(t, t.TempDir())
	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, in.httpURL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+in.admin)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode, m
	}
	rule := func(id string) map[string]any {
		t.Helper()
		code, m := call("GET", "/api/v1/rules", "")
		if code != 200 {
			t.Fatalf("rules: %d %v", code, m)
		}
		for _, r := range m["list"].([]any) {
			if rm := r.(map[string]any); rm["id"] == id || id == "" {
				return rm
			}
		}
		t.Fatalf("rule %s not listed", id)
		return nil
	}
	r := rule("")
	id := r["id"].(string)
	if r["enabled"] != true {
		t.Fatalf("rule %s starts %v", id, r["enabled"])
	}
	if code, m := call("POST", "/api/v1/rules/"+id+"/disable", `{}`); code != 400 {
		t.Fatalf("disable without a reason: %d %v", code, m)
	}
	if code, m := call("POST", "/api/v1/rules/"+id+"/disable", `{"reason":"noisy on the lab scanners"}`); code != 200 || m["enabled"] != false {
		t.Fatalf("disable: %d %v", code, m)
	}
	if r := rule(id); r["enabled"] != false || r["reason"] != "noisy on the lab scanners" || r["changed_at"] == nil {
		t.Fatalf("after disabling: %v", r)
	}
	if code, m := call("GET", "/api/v1/rules/"+id+"/source", ""); code != 200 || !strings.Contains(m["yaml"].(string), id) {
		t.Fatalf("source: %d %v", code, m)
	}
	if code, _ := call("GET", "/api/v1/rules/no-such-rule/source", ""); code != 404 {
		t.Fatalf("source of an unknown rule: %d", code)
	}
	if code, m := call("POST", "/api/v1/rules/"+id+"/enable", ``); code != 200 || m["enabled"] != true {
		t.Fatalf("enable: %d %v", code, m)
	}
	if r := rule(id); r["enabled"] != true {
		t.Fatalf("after enabling: %v", r)
	}
}
