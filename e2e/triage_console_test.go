package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-siem/vigil/internal/browsertest"
	"github.com/vigil-siem/vigil/internal/notify"
)

// TestTriageConsole walks the triage pages in Chromium: the alert queue
// (select, take with the keyboard), an alert (close as false positive with
// a reason, exception dialog), cases, exceptions, notifications and the
// rule review, with a screenshot of each.
func TestTriageConsole(t *testing.T) {
	b := browsertest.New(t)
	const secret = "console-channel-secret"
	tests := make(chan error, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		tests <- notify.Verify(secret, body, r.Header.Get("X-Vigil-Signature"), time.Now(), time.Minute)
		w.WriteHeader(204)
	}))
	defer hook.Close()
	// The notification channels need notify:admin (the admin role); its
	// second factor is not what this test is about.
	dir := t.TempDir()
	cfg := filepath.Join(dir, "vigil.yaml")
	if err := os.WriteFile(cfg, []byte("auth:\n  mfa_roles: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := startVigil(t, filepath.Join(dir, "data"), "--config", cfg)
	adminPW := in.newUser(t, "console-admin", "admin")
	conn, err := net.Dial("tcp", in.tcp)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for _, ip := range []string{"198.51.100.9", "203.0.113.50"} {
		for i := range 12 {
			ts := now.Add(time.Duration(i-12) * time.Second).Format("2006-01-02T15:04:05.000000Z07:00")
			fmt.Fprintf(conn, "<38>1 %s ehr-db-01 sshd %d - - Failed password for root from %s port %d ssh2\n", ts, 4000+i, ip, 50000+i)
		}
	}
	conn.Close()
	as := in.waitAlerts(url.Values{"kind": {"correlation"}}, 2, 30*time.Second)
	if len(as) != 2 {
		t.Fatalf("alerts %+v", as)
	}
	var c struct{ ID int64 }
	if err := in.client().Do(context.Background(), "POST", "/api/v1/cases", strings.NewReader(fmt.Sprintf(`{"title":"SSH brute force on ehr-db-01","kind":"privacy","alerts":[%d]}`, as[1].ID)), &c); err != nil {
		t.Fatal(err)
	}
	consoleSignIn(t, b, in)
	b.Run("alert queue", chromedp.Navigate(in.httpURL+"/alerts"), chromedp.WaitVisible(`table.alert-queue tbody tr`, chromedp.ByQuery))
	if n := b.Count(`table.alert-queue tbody tr`); n != 2 {
		t.Fatalf("queue shows %d alerts, want 2", n)
	}
	// The SLA column counts down to the acknowledgement target (high: 1h).
	if got := b.Text(`table.alert-queue tbody tr .sla-due`); !strings.HasPrefix(got, "acknowledge in 5") && got != "acknowledge in 1 h 0 min" {
		t.Fatalf("SLA of a new high alert: %q, want acknowledge in about an hour", got)
	}
	b.Screenshot("triage-alert-queue")
	// Keyboard: select the first alert (x) and take it (t).
	b.Run("select and take with the keyboard", chromedp.KeyEvent("x"), chromedp.WaitVisible(`.bulk-bar`, chromedp.ByQuery), chromedp.KeyEvent("t"),
		chromedp.WaitNotPresent(`.bulk-bar`, chromedp.ByQuery))
	deadline := time.Now().Add(10 * time.Second)
	for len(in.alerts(url.Values{"status": {"in_progress"}})) != 1 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := in.alerts(url.Values{"status": {"in_progress"}}); len(got) != 1 {
		t.Fatalf("taken with the keyboard: %+v", got)
	}
	id := as[0].ID
	b.Run("alert detail", chromedp.Navigate(fmt.Sprintf("%s/alerts/%d", in.httpURL, id)), chromedp.WaitVisible(`.triage-grid`, chromedp.ByQuery),
		chromedp.WaitVisible(`//h2[text()="History"]`, chromedp.BySearch))
	// Taken: now it waits to be closed (high: 24h).
	if got := b.Text(`.facts .sla-due`); !strings.HasPrefix(got, "close in 23 h") && !strings.HasPrefix(got, "close in 1 d") {
		t.Fatalf("SLA of a taken high alert: %q, want close in about a day", got)
	}
	if src := b.Text(`.rule-source`); !strings.Contains(src, "\n    condition:\n        gte: 10\n") || strings.Contains(src, `"file"`) {
		t.Fatalf("the alert page shows the rule %q, want its YAML", src)
	}
	b.FullScreenshot("triage-alert-detail")
	b.Run("close as false positive", chromedp.Click(`//button[text()="Close…"]`, chromedp.BySearch), chromedp.WaitVisible(`.modal textarea`, chromedp.ByQuery),
		chromedp.SendKeys(`.modal textarea`, "vulnerability scanner", chromedp.ByQuery), chromedp.Click(`.modal button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`.modal`, chromedp.ByQuery), chromedp.WaitVisible(`//button[text()="Reopen"]`, chromedp.BySearch))
	if got := in.alerts(url.Values{"status": {"closed"}, "disposition": {"false_positive"}}); len(got) != 1 || got[0].Reason != "vulnerability scanner" {
		t.Fatalf("closed from the console: %+v", got)
	}
	b.Run("exception dialog", chromedp.Click(`//button[text()="Exception…"]`, chromedp.BySearch), chromedp.WaitVisible(`.modal fieldset`, chromedp.ByQuery))
	if n := b.Count(`.modal fieldset input[type=checkbox]`); n != 2 {
		t.Fatalf("the exception dialog offers %d fields, want host.name and source.ip", n)
	}
	b.Screenshot("triage-exception-dialog")
	b.Run("create the exception", chromedp.SendKeys(`.modal textarea`, "our scanner", chromedp.ByQuery), chromedp.Click(`.modal button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`.modal`, chromedp.ByQuery))
	b.Run("exceptions", chromedp.Navigate(in.httpURL+"/exceptions"), chromedp.WaitVisible(`table.grid tbody tr`, chromedp.ByQuery))
	if !strings.Contains(b.Text(`table.grid`), "our scanner") {
		t.Fatalf("exceptions page: %s", b.Text(`table.grid`))
	}
	b.Screenshot("triage-exceptions")
	b.Run("case", chromedp.Navigate(fmt.Sprintf("%s/cases/%d", in.httpURL, c.ID)), chromedp.WaitVisible(`//h2[contains(text(), "164.402")]`, chromedp.BySearch))
	b.Screenshot("triage-case")
	b.Run("cases", chromedp.Navigate(in.httpURL+"/cases"), chromedp.WaitVisible(`table.grid tbody tr`, chromedp.ByQuery))
	b.Screenshot("triage-cases")
	b.Run("notifications", chromedp.Navigate(in.httpURL+"/notifications"), chromedp.WaitVisible(`//h2[text()="Deliveries"]`, chromedp.BySearch))
	b.Screenshot("triage-notifications")
	b.Run("rule review", chromedp.Navigate(in.httpURL+"/review"), chromedp.WaitVisible(`table.grid tbody tr`, chromedp.ByQuery))
	if !strings.Contains(b.Text(`table.grid`), "100%") {
		t.Fatalf("review: %s", b.Text(`table.grid`))
	}
	b.Screenshot("triage-review")
	// An administrator adds a signed webhook channel in the console and
	// sends a test through it.
	b.Run("sign in as an administrator", chromedp.Click(`//button[text()="Sign out"]`, chromedp.BySearch), chromedp.WaitVisible(`form.signin`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=username]`, "console-admin", chromedp.ByQuery), chromedp.SendKeys(`input[name=password]`, adminPW, chromedp.ByQuery),
		chromedp.Click(`form.signin button[type=submit]`, chromedp.ByQuery), chromedp.WaitVisible(`nav.sidenav`, chromedp.ByQuery))
	b.Run("new channel", chromedp.Navigate(in.httpURL+"/notifications"), chromedp.Click(`//button[text()="New channel…"]`, chromedp.BySearch),
		chromedp.WaitVisible(`.modal form`, chromedp.ByQuery), chromedp.SendKeys(`.modal input[name=name]`, "soc-console", chromedp.ByQuery),
		chromedp.SendKeys(`.modal input[name=url]`, hook.URL+"/vigil", chromedp.ByQuery), chromedp.SendKeys(`.modal input[name=secret]`, secret, chromedp.ByQuery),
		chromedp.SetValue(`.modal select[name=min_level]`, "high", chromedp.ByQuery))
	b.Screenshot("triage-new-channel")
	b.Run("add it", chromedp.Click(`.modal button[type=submit]`, chromedp.ByQuery), chromedp.WaitNotPresent(`.modal`, chromedp.ByQuery),
		chromedp.WaitVisible(`//td[text()="soc-console"]`, chromedp.BySearch))
	var chs struct {
		Channels []struct {
			Name, Kind, Target, MinLevel string
			Console                      bool
		}
	}
	if err := in.adminCall("GET", "/api/v1/notify/channels", "", &chs); err != nil || len(chs.Channels) != 1 || !chs.Channels[0].Console || chs.Channels[0].Kind != "webhook" {
		t.Fatalf("channels after the console added one: %+v %v", chs, err)
	}
	b.Run("send a test", chromedp.Click(`//tr[td[text()="soc-console"]]//button[text()="Send a test"]`, chromedp.BySearch))
	select {
	case err := <-tests:
		if err != nil {
			t.Fatalf("the test notification's signature: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no test notification reached the webhook")
	}
	b.Screenshot("triage-notification-channels")
	b.CheckConsole()
}
