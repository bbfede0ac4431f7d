package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
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
)

// TestTriageEndToEnd is the analyst's day: an SSH brute force over syslog
// raises one grouped alert; a webhook receiver gets it with a valid
// signature and an SMTP server the e-mail; the analyst closes it as a
// false positive with a reason and makes an exception from it; the same
// activity from the same source then raises nothing, while another source
// still alerts.
func TestTriageEndToEnd(t *testing.T) {
	mp := mailtest.Start(t)
	const secret = "e2e-webhook-secret"
	var mu sync.Mutex
	var hooks []notify.WebhookBody
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
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
`, mp.Host, mp.Port, mp.CertFile, hook.URL, secret)), 0o600)
	in := startVigil(t, filepath.Join(dir, "data"), "--config", cfg)
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
	bruteForce("198.51.100.9", 14)
	as := in.waitAlerts(url.Values{"rule": {rule}}, 1, 30*time.Second)
	if len(as) != 1 || as[0].GroupBy["source.ip"] != "198.51.100.9" {
		t.Fatalf("alerts %+v\n%s", as, in.Logs())
	}
	// One alert for the whole burst, with its true size.
	deadline := time.Now().Add(20 * time.Second)
	for as[0].Count != 14 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		as = in.alerts(url.Values{"rule": {rule}})
	}
	if len(as) != 1 || as[0].Count != 14 || as[0].Value != 14 {
		t.Fatalf("a burst of 14 failures: %d alerts, count %d, value %v", len(as), as[0].Count, as[0].Value)
	}
	id := as[0].ID
	// The webhook (signature checked by the receiver) and the e-mail.
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
	// The analyst closes it as a false positive and makes the exception.
	var closed alerts.Alert
	if err := in.client().Do(context.Background(), "PATCH", fmt.Sprintf("/api/v1/alerts/%d", id),
		strings.NewReader(`{"status":"closed","disposition":"false_positive","reason":"the nightly vulnerability scan"}`), &closed); err != nil {
		t.Fatal(err)
	}
	if closed.Status != "closed" || closed.Disposition != "false_positive" {
		t.Fatalf("closed %+v", closed)
	}
	var x exceptions.Exception
	if err := in.client().Do(context.Background(), "POST", fmt.Sprintf("/api/v1/alerts/%d/exception", id),
		strings.NewReader(`{"reason":"the nightly vulnerability scan","fields":["source.ip"]}`), &x); err != nil {
		t.Fatal(err)
	}
	if x.Rule != rule || len(x.Conditions) != 1 || x.Conditions[0].Value != "198.51.100.9" {
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
	// The history names every change.
	var h struct{ History []alerts.HistoryEntry }
	if err := in.client().Get(context.Background(), fmt.Sprintf("/api/v1/alerts/%d/history", id), nil, &h); err != nil || len(h.History) != 3 {
		t.Fatalf("history %+v %v", h, err)
	}
}
