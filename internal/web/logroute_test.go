package web

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/logbuf"
)

// TestRequestLogNamesRouteNotPath: a path can name a patient
// (/api/v1/patients/MRN…), and failed requests are logged at warning
// level. The request log names the route's pattern, never the path.
func TestRequestLogNamesRouteNotPath(t *testing.T) {
	var logs logbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	fail := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { WriteError(w, 500, "broken") })
	s := &Server{Log: log, Guard: &Guard{Log: log},
		Routes: []access.Route{{Pattern: "GET /api/v1/patients/{id}", Perm: access.Public, Handler: fail}}}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/api/v1/patients/MRN-0042-SECRET")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	l := logs.String()
	if strings.Contains(l, "MRN-0042-SECRET") {
		t.Fatalf("the patient's identifier reached the log:\n%s", l)
	}
	if !strings.Contains(l, "/api/v1/patients/{id}") {
		t.Fatalf("the request is not logged with its route:\n%s", l)
	}
}
