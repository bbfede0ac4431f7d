package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/accounts"
	"github.com/vigil-siem/vigil/internal/audit"
)

// TestEvidenceRoutesAreAudited calls every route of the route table that
// reads or makes compliance evidence (reports, integrity, backups,
// retention, legal holds) as an administrator and checks that each call
// left a record with its action in the audit trail: reads as well as
// changes. A new route under those paths without an action fails here.
func TestEvidenceRoutesAreAudited(t *testing.T) {
	s, _ := startTest(t, nil)
	base := "http://" + s.HTTPAddr()
	ctx := audit.System(context.Background())
	_, token, err := s.accounts.CreateToken(ctx, accounts.TokenRequest{Name: "evidence-test", Roles: []string{"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	var sha string
	call := func(method, path, body string) int {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Logf("%s %s: %s", method, path, b)
		}
		if h := resp.Header.Get("X-Vigil-Report-SHA256"); h != "" {
			sha = h
		}
		return resp.StatusCode
	}
	// How each route is called; the order makes the later ones find what
	// the earlier ones made (a report to download and sign off, a hold to
	// release).
	bk := filepath.Join(t.TempDir(), "bk")
	calls := []struct{ pattern, path, body string }{
		{"POST /api/v1/reports/{kind}", "/api/v1/reports/hipaa?since=-1h&format=csv", ""},
		{"GET /api/v1/reports", "/api/v1/reports", ""},
		{"GET /api/v1/reports/{id}", "/api/v1/reports/1?format=html", ""},
		{"POST /api/v1/reports/{id}/signoff", "/api/v1/reports/1/signoff", `{"reviewer": "Ann Smith", "sha256": "%SHA%"}`},
		{"GET /api/v1/integrity", "/api/v1/integrity", ""},
		{"POST /api/v1/integrity/verify", "/api/v1/integrity/verify?since=-1h", ""},
		{"GET /api/v1/integrity/export", "/api/v1/integrity/export?since=-1h", ""},
		{"POST /api/v1/integrity/prove", "/api/v1/integrity/prove", "not an event\n"},
		{"POST /api/v1/backup", "/api/v1/backup", fmt.Sprintf(`{"to": %q}`, bk)},
		{"GET /api/v1/backups", "/api/v1/backups", ""},
		// A drill runs vigil restore --drill, which a test binary cannot
		// start: a target never backed up to is refused, and recorded.
		{"POST /api/v1/backups/drill", "/api/v1/backups/drill", `{"from": "/nowhere"}`},
		{"GET /api/v1/retention", "/api/v1/retention?since=-1d", ""},
		{"POST /api/v1/retention/run", "/api/v1/retention/run?dry_run=true", ""},
		{"POST /api/v1/legal-holds", "/api/v1/legal-holds", `{"name": "litigation", "query": "host.name:ehr-1", "reason": "counsel"}`},
		{"GET /api/v1/legal-holds", "/api/v1/legal-holds?active=true", ""},
		{"POST /api/v1/legal-holds/{id}/release", "/api/v1/legal-holds/1/release", `{"reason": "settled"}`},
	}
	// What the services record themselves, with their details, instead of
	// the route's own action.
	also := map[string]string{"POST /api/v1/retention/run": "retention.dispose"}
	var evidence []string
	for _, rt := range s.RouteTable() {
		_, path, _ := strings.Cut(rt.Pattern, " ")
		for _, p := range []string{"/api/v1/reports", "/api/v1/integrity", "/api/v1/backup", "/api/v1/retention", "/api/v1/legal-holds"} {
			if strings.HasPrefix(path, p) {
				evidence = append(evidence, rt.Pattern)
			}
		}
	}
	for _, p := range evidence {
		if _, ok := evidenceActions[p]; !ok {
			t.Errorf("%s reads or makes evidence but has no audit action in evidenceActions", p)
		}
		if !slices.ContainsFunc(calls, func(c struct{ pattern, path, body string }) bool { return c.pattern == p }) {
			t.Errorf("%s is not called by this test", p)
		}
	}
	last := func() int64 {
		r, err := s.audit.List(context.Background(), audit.Filter{Limit: 1, Descending: true})
		if err != nil || len(r) == 0 {
			t.Fatalf("audit trail: %v %v", r, err)
		}
		return r[0].Seq
	}
	for _, c := range calls {
		before := last()
		status := call(strings.Fields(c.pattern)[0], c.path, strings.ReplaceAll(c.body, "%SHA%", sha))
		// Verification runs in a child process of vigil serve, which a test
		// binary cannot start: it fails here, and the failure is recorded.
		if status >= 500 && c.pattern != "POST /api/v1/integrity/verify" {
			t.Errorf("%s: status %d", c.path, status)
		}
		recs, err := s.audit.List(context.Background(), audit.Filter{AfterSeq: before})
		if err != nil {
			t.Fatal(err)
		}
		want := evidenceActions[c.pattern]
		var got []string
		found := false
		for _, r := range recs {
			got = append(got, r.Action)
			if (r.Action == want || r.Action == also[c.pattern]) && r.Actor == "evidence-test" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s %s (status %d): audit records %v, want %s by the caller", c.pattern, c.path, status, got, want)
		}
		if slices.Contains(got, "api.request") {
			t.Errorf("%s: recorded as a bare api.request besides its action: %v", c.pattern, got)
		}
	}
}
