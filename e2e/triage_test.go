package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/exceptions"
	"github.com/vigil-siem/vigil/internal/notify"
	"github.com/vigil-siem/vigil/internal/notify/mailtest"
	"github.com/vigil-siem/vigil/internal/response"
)

// TestTriageEndToEnd is the analyst's day, with the real binary: an SSH
// brute force over syslog raises one grouped alert that grows while the
// burst goes on; a webhook receiver gets it with a valid signature and a
// real SMTP server (mailpit) the e-mail; an analyst signed in with the
// analyst role takes it, asks for a disruptive response action that waits
// for someone else's approval, closes the alert as a false positive with a
// reason and makes an exception from it; the same activity from the same
// source then raises nothing (counted by the exception), while another
// source still alerts. The history and the audit trail name who did what.
func TestTriageEndToEnd(t *testing.T) {
	mp := mailtest.Start(t)
	const secret = "e2e-webhook-secret"
	var mu sync.Mutex
	var hooks []notify.WebhookBody
	var blocked []string // what the firewall API was asked to block
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/fw/block" {
			mu.Lock()
			blocked = append(blocked, r.URL.Query().Get("ip"))
			mu.Unlock()
			w.WriteHeader(200)
			return
		}
		if err := notify.Verify(secret, body, r.Header.Get("X-Vigil-Signature"), time.Now(), 5*time.Minute); err != nil {
			t.Errorf("webhook: %v", err)
			w.WriteHeader(401)
			return
		}
		var b notify.WebhookBody
		if err := json.Unmarshal(body, &b); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		mu.Lock()
		hooks = append(hooks, b)
		mu.Unlock()
		w.WriteHeader(204)
	}))
	defer hook.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "vigil.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`
notify:
  console_url: https://vigil.example.org
  smtp: {host: %s, port: %d, username: vigil, password: not-checked, from: vigil@example.org, starttls: mandatory, ca: %s}
  webhooks:
    - {name: soc, url: "%s/hook", secret: %s, min_level: medium}
  email:
    - {name: soc-mail, to: [soc@example.org], min_level: high}
response:
  actions:
    - name: block-ip
      url: '%s/fw/block?ip={{.Field "source.ip"}}'
      disruptive: true
      rules: [vigil_lnx_ssh_brute_force]
`, mp.Host, mp.Port, mp.CertFile, hook.URL, secret, hook.URL)), 0o600)
	in := startVigil(t, filepath.Join(dir, "data"), "--config", cfg)
	dana := in.signIn(t, "dana", in.newUser(t, "dana", "analyst"))
	bruteForce := func(ip string, n int) {
		conn, err := net.Dial("tcp", in.tcp)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		now := time.Now().UTC()
		for i := range n {
			ts := now.Add(time.Duration(i-n) * time.Second).Format("2006-01-02T15:04:05.000000Z07:00")
			fmt.Fprintf(conn, "<38>1 %s ehr-db-01 sshd %d - - Failed password for root from %s port %d ssh2\n", ts, 4000+i, ip, 50000+i)
		}
	}
	const rule = "a3f75c2e-91d4-4b68-bc0e-7d2a4e6f8b53"
	// Ten failures reach the rule's threshold: one alert.
	bruteForce("198.51.100.9", 10)
	as := in.waitAlerts(url.Values{"rule": {rule}}, 1, 30*time.Second)
	if len(as) != 1 || as[0].GroupBy["source.ip"] != "198.51.100.9" {
		t.Fatalf("alerts %+v\n%s", as, in.Logs())
	}
	id := as[0].ID
	// The burst goes on: the same alert grows to its true size.
	bruteForce("198.51.100.9", 4)
	deadline := time.Now().Add(20 * time.Second)
	for as[0].Count != 14 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		as = in.alerts(url.Values{"rule": {rule}})
	}
	if len(as) != 1 || as[0].ID != id || as[0].Count != 14 || as[0].Value != 14 || len(as[0].EventIDs) != 14 {
		t.Fatalf("a burst of 10 then 4 failures: %d alerts, id %d (first %d), count %d, value %v, %d event ids",
			len(as), as[0].ID, id, as[0].Count, as[0].Value, len(as[0].EventIDs))
	}
	// The webhook (signature checked by the receiver) and the e-mail, once.
	deadline = time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(hooks)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	if len(hooks) != 1 || hooks[0].Alerts[0].AlertID != id || hooks[0].Alerts[0].URL != fmt.Sprintf("https://vigil.example.org/alerts/%d", id) {
		t.Fatalf("webhook deliveries %+v\n%s", hooks, in.Logs())
	}
	mu.Unlock()
	ms := mp.Wait(t, 1, 30*time.Second)
	if len(ms) != 1 || !strings.Contains(ms[0].Subject, "SSH/PAM Brute Force") || ms[0].To[0].Address != "soc@example.org" {
		t.Fatalf("mail %+v\n%s", ms, in.Logs())
	}
	var ds struct{ Deliveries []notify.DeliveryRecord }
	if err := in.client().Get(context.Background(), fmt.Sprintf("/api/v1/alerts/%d/deliveries", id), nil, &ds); err != nil || len(ds.Deliveries) != 2 ||
		ds.Deliveries[0].Status != "sent" || ds.Deliveries[1].Status != "sent" {
		t.Fatalf("delivery status %+v %v", ds, err)
	}
	// The analyst takes the alert and asks for the firewall block: it is
	// disruptive, so it waits for someone else's approval.
	if code, err := dana.call("PATCH", fmt.Sprintf("/api/v1/alerts/%d", id), `{"status":"in_progress","assignee":"dana"}`, nil); err != nil {
		t.Fatalf("take: %d %v", code, err)
	}
	var run response.Run
	if code, err := dana.call("POST", fmt.Sprintf("/api/v1/alerts/%d/actions/block-ip", id), `{}`, &run); code != 202 || run.Status != "pending_approval" || run.RequestedBy != "dana" {
		t.Fatalf("block-ip asked: %d %v %+v", code, err, run)
	}
	if code, _ := dana.call("POST", fmt.Sprintf("/api/v1/response/runs/%d/approve", run.ID), `{"reason":"mine"}`, nil); code != 403 {
		t.Fatalf("an analyst approved a disruptive action: %d", code)
	}
	mu.Lock()
	if len(blocked) != 0 {
		t.Fatalf("the firewall was called before approval: %v", blocked)
	}
	mu.Unlock()
	if err := in.adminCall("POST", fmt.Sprintf("/api/v1/response/runs/%d/approve", run.ID), `{"reason":"confirmed with dana"}`, &run); err != nil ||
		run.DecidedBy != "local-cli" || run.ResponseStatus != 200 {
		t.Fatalf("approved run %+v %v", run, err)
	}
	mu.Lock()
	if len(blocked) != 1 || blocked[0] != "198.51.100.9" {
		t.Fatalf("firewall calls %v", blocked)
	}
	mu.Unlock()
	// Bad input is refused with a reason: an unknown assignee, a
	// disposition that is not one, a note too long.
	for _, bad := range []string{`{"assignee":"nobody-here"}`, `{"status":"closed","disposition":"maybe"}`, `{"note":"` + strings.Repeat("x", 70000) + `"}`} {
		if code, err := dana.call("PATCH", fmt.Sprintf("/api/v1/alerts/%d", id), bad, nil); code != 400 || err == nil {
			t.Errorf("PATCH %.40s: %d %v, want 400 with a reason", bad, code, err)
		}
	}
	// The analyst closes it as a false positive and makes the exception.
	var closed alerts.Alert
	if code, err := dana.call("PATCH", fmt.Sprintf("/api/v1/alerts/%d", id),
		`{"status":"closed","disposition":"false_positive","reason":"the nightly vulnerability scan"}`, &closed); err != nil {
		t.Fatalf("close: %d %v", code, err)
	}
	if closed.Status != "closed" || closed.Disposition != "false_positive" {
		t.Fatalf("closed %+v", closed)
	}
	var x exceptions.Exception
	if code, err := dana.call("POST", fmt.Sprintf("/api/v1/alerts/%d/exception", id),
		`{"reason":"the nightly vulnerability scan","fields":["source.ip"]}`, &x); err != nil {
		t.Fatalf("exception: %d %v", code, err)
	}
	if x.Rule != rule || len(x.Conditions) != 1 || x.Conditions[0].Value != "198.51.100.9" || x.Author != "dana" {
		t.Fatalf("exception %+v", x)
	}
	// The same activity again: nothing; another source: an alert.
	bruteForce("198.51.100.9", 14)
	bruteForce("203.0.113.50", 12)
	other := in.waitAlerts(url.Values{"rule": {rule}, "entity": {"203.0.113.50"}}, 1, 30*time.Second)
	if len(other) != 1 {
		t.Fatalf("another source raised %d alerts\n%s", len(other), in.Logs())
	}
	if again := in.alerts(url.Values{"rule": {rule}, "entity": {"198.51.100.9"}}); len(again) != 1 || again[0].ID != id {
		t.Fatalf("the excepted source alerted again: %+v", again)
	}
	var got exceptions.Exception
	if err := in.client().Get(context.Background(), "/api/v1/exceptions/"+x.ID, nil, &got); err != nil || got.Hits != 14 {
		t.Fatalf("exception hits %+v %v", got, err)
	}
	// The history names every change and who made it.
	var h struct{ History []alerts.HistoryEntry }
	if err := in.client().Get(context.Background(), fmt.Sprintf("/api/v1/alerts/%d/history", id), nil, &h); err != nil || len(h.History) < 5 {
		t.Fatalf("history %+v %v", h, err)
	}
	changed := map[string]string{}
	for _, e := range h.History {
		if e.Actor != "dana" {
			t.Errorf("history entry by %q, want dana: %+v", e.Actor, e)
		}
		changed[e.Field] = e.New
	}
	if changed["assignee"] != "dana" || changed["status"] != "closed" || changed["disposition"] != "false_positive" || changed["reason"] != "the nightly vulnerability scan" {
		t.Errorf("history %+v", h.History)
	}
	// The audit trail has every step, by whom, in order.
	var trail struct {
		Records []struct{ Actor, ActorKind, Action, Target, Outcome string } `json:"records"`
	}
	if err := in.client().Get(context.Background(), "/api/v1/audit", url.Values{"order": {"asc"}, "limit": {"1000"}}, &trail); err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, r := range trail.Records {
		if strings.HasPrefix(r.Action, "alert.") || strings.HasPrefix(r.Action, "exception.") || strings.HasPrefix(r.Action, "response.") || r.Action == "access.denied" {
			steps = append(steps, r.Actor+" "+r.Action+" "+r.Outcome)
		}
	}
	want := []string{"dana alert.update success", "dana response.run success", "dana access.denied denied", "local-cli response.approve success",
		"dana alert.update failure", "dana alert.update failure", "dana alert.update failure",
		"dana alert.update success", "dana exception.create success"}
	if strings.Join(steps, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit trail of the triage:\n%s\nwant:\n%s", strings.Join(steps, "\n"), strings.Join(want, "\n"))
	}
}

// session is a person signed in to the API with a session cookie, as the
// console is.
type session struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

// signIn signs a user in with their password.
func (in *instance) signIn(t *testing.T, name, password string) *session {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	s := &session{t: t, base: in.httpURL, c: &http.Client{Jar: jar}}
	var m struct {
		Session struct {
			CSRF string `json:"csrf_token"`
		} `json:"session"`
	}
	if code, err := s.call("POST", "/api/v1/auth/login", fmt.Sprintf(`{"username":%q,"password":%q}`, name, password), &m); err != nil {
		t.Fatalf("sign in %s: %d %v", name, code, err)
	}
	s.csrf = m.Session.CSRF
	return s
}

// call sends a JSON request and decodes a 2xx answer into out; any other
// status is an error carrying the answer.
func (s *session) call(method, path, body string, out any) (int, error) {
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if s.csrf != "" {
		req.Header.Set("X-CSRF-Token", s.csrf)
	}
	resp, err := s.c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		return resp.StatusCode, json.Unmarshal(data, out)
	}
	return resp.StatusCode, nil
}
