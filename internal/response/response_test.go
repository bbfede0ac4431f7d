package response

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/config"
	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/notify"
)

// firewall is a real HTTP API standing for a firewall and a directory.
type firewall struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []string
}

func newFirewall(t *testing.T) *firewall {
	f := &firewall{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Authorization") != "Bearer fw-token" {
			w.WriteHeader(401)
			return
		}
		if sig := r.Header.Get("X-Vigil-Signature"); sig != "" && sig != notify.Sign("action-secret", body) {
			w.WriteHeader(403)
			return
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, r.Method+" "+r.URL.RequestURI()+" "+string(body))
		f.mu.Unlock()
		if strings.Contains(r.URL.Path, "broken") {
			w.WriteHeader(500)
			io.WriteString(w, "internal error")
			return
		}
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *firewall) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reqs...)
}

func TestActions(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	as, _ := alerts.Open(ctx, d)
	fw := newFirewall(t)
	hdr := map[string]string{"Authorization": "Bearer fw-token"}
	cfg := []config.Action{
		{Name: "block-ip", URL: fw.URL + `/api/block?ip={{.Field "source.ip"}}`, Headers: hdr, Disruptive: true, Rules: []string{"brute*"}, Auto: true, Secret: "action-secret",
			Body: `{"address": {{json (.Field "source.ip")}}, "reason": {{json .Alert.RuleTitle}}, "alert": {{.Alert.ID}}}`},
		{Name: "ticket", URL: fw.URL + "/api/tickets", Headers: hdr, Body: `{"title": {{json .Alert.RuleTitle}}, "user": {{json (.Field "user.name")}}}`},
		{Name: "broken", URL: fw.URL + "/broken", Headers: hdr},
	}
	r, err := New(ctx, d, cfg, []string{"10.50.0.0/16"}, Options{Alerts: as})
	if err != nil {
		t.Fatal(err)
	}
	as.OnChange(r.OnChange)
	added, _ := as.Add(ctx, []alerts.Alert{
		{Key: "1", Kind: "correlation", RuleID: "brute_force", RuleTitle: `SSH "brute" force`, Level: "high", Time: time.Now(), GroupBy: map[string]string{"source.ip": "198.51.100.9"}},
		{Key: "2", Kind: "sigma", RuleID: "x", RuleTitle: "Infusion pump login", Level: "medium", Time: time.Now(), Fields: map[string]string{"user.name": "svc", "source.ip": "10.50.3.4"}},
	})
	brute, pump := added[0].ID, added[1].ID
	// The automatic block is disruptive: it waits for approval.
	var auto Run
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		rs, _ := r.Runs(ctx, brute, "", 0)
		if len(rs) == 1 {
			auto = rs[0]
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if auto.Status != "pending_approval" || auto.RequestedBy != "system:auto" || auto.Approval != "disruptive action" || len(fw.got()) != 0 {
		t.Fatalf("automatic disruptive run %+v, firewall %v", auto, fw.got())
	}
	if auto.Headers["Authorization"] != "[redacted]" || !strings.Contains(auto.Body, `"reason": "SSH \"brute\" force"`) {
		t.Fatalf("recorded request %+v", auto)
	}
	// Dry run: rendered, recorded, not sent.
	dry, err := r.Request(ctx, pump, "ticket", true, "alice")
	if err != nil || dry.Status != "dry_run" || dry.Body != `{"title": "Infusion pump login", "user": "svc"}` || len(fw.got()) != 0 {
		t.Fatalf("dry run %+v %v", dry, err)
	}
	// Not disruptive, but the alert names a device on the protected
	// network: it waits too.
	wait, err := r.Request(ctx, pump, "ticket", false, "alice")
	if err != nil || wait.Status != "pending_approval" || !strings.Contains(wait.Approval, "10.50.3.4 is in the protected network 10.50.0.0/16") {
		t.Fatalf("protected network %+v %v", wait, err)
	}
	if _, err := r.Decide(ctx, wait.ID, true, "alice", "me"); !errors.Is(err, ErrSelfApprove) {
		t.Fatalf("self-approval: %v", err)
	}
	done, err := r.Decide(ctx, wait.ID, true, "bob", "checked with biomed")
	if err != nil || done.Status != "succeeded" || done.DecidedBy != "bob" || done.ResponseStatus != 200 {
		t.Fatalf("approved %+v %v", done, err)
	}
	if _, err := r.Decide(ctx, wait.ID, true, "bob", ""); !errors.Is(err, ErrState) {
		t.Fatalf("approved twice: %v", err)
	}
	// The automatic block, approved by someone else, runs with the
	// signature and the rendered URL.
	blocked, err := r.Decide(ctx, auto.ID, true, "bob", "confirmed")
	if err != nil || blocked.Status != "succeeded" {
		t.Fatalf("block %+v %v", blocked, err)
	}
	got := fw.got()
	if len(got) != 2 || !strings.HasPrefix(got[1], "POST /api/block?ip=198.51.100.9 ") || !strings.Contains(got[1], `"alert": 1`) {
		t.Fatalf("firewall saw %q", got)
	}
	// A failing endpoint is recorded as failed with its answer.
	br, err := r.Request(ctx, brute, "broken", false, "alice")
	if err != nil || br.Status != "failed" || br.ResponseStatus != 500 || br.ResponseBody != "internal error" {
		t.Fatalf("broken %+v %v", br, err)
	}
	// A variable the alert lacks is a clear error, and nothing is recorded.
	if _, err := r.Request(ctx, brute, "ticket", false, "alice"); err == nil || !strings.Contains(err.Error(), "the alert has no user.name") {
		t.Fatalf("missing variable: %v", err)
	}
	rej, err := r.Request(ctx, brute, "block-ip", false, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if rej, err = r.Decide(ctx, rej.ID, false, "alice", "not needed"); err != nil || rej.Status != "rejected" {
		t.Fatalf("reject %+v %v", rej, err)
	}
	// Every run is listed.
	all, _ := r.Runs(ctx, 0, "", 0)
	var states []string
	for _, x := range all {
		states = append(states, x.Status)
	}
	if strings.Join(states, ",") != "rejected,failed,succeeded,dry_run,succeeded" {
		t.Fatalf("runs %v", states)
	}
	// Bad templates are refused at start with their place.
	if _, err := New(ctx, d, []config.Action{{Name: "bad", URL: "{{.Alert.ID", Where: "vigil.yaml:7"}}, nil, Options{Alerts: as}); err == nil || !strings.Contains(err.Error(), "vigil.yaml:7") {
		t.Fatalf("bad template: %v", err)
	}
	// The API.
	h := &Handler{Runner: r, Alerts: as, Actor: func(context.Context) string { return "user:carol" }}
	mux := http.NewServeMux()
	for _, rt := range h.Routes() {
		mux.Handle(rt.Pattern, rt.Handler)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/api/v1/alerts/2/actions/ticket", "application/json", strings.NewReader(`{"dry_run":true}`))
	if err != nil {
		t.Fatal(err)
	}
	var run Run
	json.NewDecoder(resp.Body).Decode(&run)
	resp.Body.Close()
	if resp.StatusCode != 201 || run.Status != "dry_run" || run.RequestedBy != "user:carol" {
		t.Fatalf("API dry run %d %+v", resp.StatusCode, run)
	}
	resp, _ = http.Post(srv.URL+"/api/v1/alerts/2/actions/nope", "application/json", nil)
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("unknown action: %d", resp.StatusCode)
	}
	resp, _ = http.Get(srv.URL + "/api/v1/alerts/1/actions")
	var aa struct{ Attached, Other []Action }
	json.NewDecoder(resp.Body).Decode(&aa)
	resp.Body.Close()
	if len(aa.Attached) != 1 || aa.Attached[0].Name != "block-ip" || len(aa.Other) != 2 {
		t.Fatalf("actions of the alert %+v", aa)
	}
}
