package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-siem/vigil/internal/browsertest"
	"github.com/vigil-siem/vigil/internal/notify/mailtest"
)

// TestConsoleCompliance: an administrator sees the report schedule and
// signs off a scheduled report, generates one and signs it off, verifies
// the stored events, sees the last backup and runs a restore drill of it,
// places a legal hold and releases it (who and why kept in the audit
// trail), all in the console.
func TestConsoleCompliance(t *testing.T) {
	dir := t.TempDir()
	// Reports every 5 s (e-mailed when mailpit is here); an administrator
	// without the second factor: enrolment has its own test.
	cfg := "reports:\n  interval: 5s\n"
	var mp *mailtest.Server
	if mailtest.Binary() != "" {
		mp = mailtest.Start(t)
		cfg += fmt.Sprintf("  email_to: [privacy-officer@example.org]\nnotify:\n  smtp: {host: %s, port: %d, username: vigil, password: not-checked, from: vigil@example.org, starttls: mandatory, ca: %s}\n",
			mp.Host, mp.Port, mp.CertFile)
	} else {
		t.Log("mailpit not found (VIGIL_TEST_MAILPIT): scheduled reports are not e-mailed in this run")
	}
	if err := os.WriteFile(filepath.Join(dir, "vigil.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	in := startVigil(t, filepath.Join(dir, "data"), "--auth-mfa-roles=", "--config", filepath.Join(dir, "vigil.yaml"))
	ingestEvents(t, in, 200, time.Hour)
	if err := in.adminCall("POST", "/api/v1/backup", fmt.Sprintf(`{"to": %q}`, filepath.Join(t.TempDir(), "bk")), nil); err != nil {
		t.Fatalf("backup: %v", err)
	}
	// The first scheduled report, before the page lists the reports.
	for deadline := time.Now().Add(60 * time.Second); ; {
		var l struct {
			Reports []struct {
				GeneratedBy string `json:"generated_by"`
			} `json:"reports"`
		}
		if err := in.adminCall("GET", "/api/v1/reports", "", &l); err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(l.Reports, func(r struct {
			GeneratedBy string `json:"generated_by"`
		}) bool {
			return r.GeneratedBy == "schedule"
		}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no scheduled report in 60 s: %+v\n%s", l.Reports, tail(in.Logs(), 20))
		}
		time.Sleep(500 * time.Millisecond)
	}
	b := browsertest.New(t)
	pw := in.newUser(t, "console-officer", "admin")
	b.Run("open the console", chromedp.Navigate(in.httpURL+"/"), chromedp.WaitVisible(`form.signin`, chromedp.ByQuery))
	b.Run("sign in", chromedp.SendKeys(`input[name=username]`, "console-officer", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, pw, chromedp.ByQuery),
		chromedp.Click(`form.signin button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`nav.sidenav`, chromedp.ByQuery))
	b.Run("compliance page", chromedp.Navigate(in.httpURL+"/compliance"), chromedp.WaitVisible(`#c-reports`, chromedp.ByQuery),
		chromedp.WaitVisible(`#c-integrity`, chromedp.ByQuery), chromedp.WaitVisible(`#c-backups`, chromedp.ByQuery),
		chromedp.WaitVisible(`#c-retention`, chromedp.ByQuery))

	// The schedule, and a scheduled report signed off.
	sched := b.Text(`.report-schedule`)
	if !strings.Contains(sched, "Scheduled every 5 seconds") || !strings.Contains(sched, "Next ") {
		t.Fatalf("report schedule line: %q", sched)
	}
	if mp != nil {
		if !strings.Contains(sched, "e-mailed to privacy-officer@example.org") {
			t.Fatalf("report schedule line without its recipient: %q", sched)
		}
		msgs := mp.Wait(t, 1, 30*time.Second)
		if !strings.Contains(msgs[0].Subject, "HIPAA evidence report") || msgs[0].To[0].Address != "privacy-officer@example.org" {
			t.Fatalf("scheduled report mail: %+v", msgs[0])
		}
	}
	const scheduledRow = `(//section[@aria-labelledby="c-reports"]//tr[td[contains(., "by schedule")]])[last()]`
	b.Run("sign off a scheduled report", chromedp.Click(scheduledRow+`//button[contains(., "Sign off")]`, chromedp.BySearch),
		chromedp.WaitVisible(`form.modal-form`, chromedp.ByQuery),
		chromedp.SendKeys(`form.modal-form input[placeholder="Full name"]`, "Sam Scheduler", chromedp.ByQuery),
		chromedp.Click(`form.modal-form button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`//section[@aria-labelledby="c-reports"]//tr[td[contains(., "by schedule")]]/td[contains(., "Sam Scheduler")]`, chromedp.BySearch))

	// A report generated here, signed off.
	const mineRow = `//section[@aria-labelledby="c-reports"]//tr[td[contains(., "by user:console-officer")]]`
	b.Run("generate", chromedp.Click(`//button[contains(., "Generate HIPAA report")]`, chromedp.BySearch),
		chromedp.WaitVisible(mineRow+`/td[contains(., "not yet")]`, chromedp.BySearch))
	b.Run("sign off", chromedp.Click(mineRow+`//button[contains(., "Sign off")]`, chromedp.BySearch),
		chromedp.WaitVisible(`form.modal-form`, chromedp.ByQuery),
		chromedp.SendKeys(`form.modal-form input[placeholder="Full name"]`, "Ann Reviewer", chromedp.ByQuery),
		chromedp.SendKeys(`form.modal-form textarea`, "Reviewed with the security committee.", chromedp.ByQuery),
		chromedp.Click(`form.modal-form button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(mineRow+`/td[contains(., "Ann Reviewer")]`, chromedp.BySearch))

	b.Run("verify", chromedp.Click(`//button[contains(., "Verify the last 2 days now")]`, chromedp.BySearch),
		chromedp.WaitVisible(`//section[@aria-labelledby="c-integrity"]//dd[contains(., "passed")]`, chromedp.BySearch))
	if got := b.Text("#c-integrity + dl"); !strings.Contains(got, "events in") || !strings.Contains(got, "passed") {
		t.Fatalf("integrity card: %q", got)
	}

	// The backup, and a restore drill of it run from here.
	if got := b.Text(`section[aria-labelledby="c-backups"] tbody`); !strings.Contains(got, "ok") || !strings.Contains(got, "bk") {
		t.Fatalf("backups card does not show the backup just taken: %q", got)
	}
	if got := b.Text(`section[aria-labelledby="c-backups"]`); !strings.Contains(got, "Restore drills") || !strings.Contains(got, "No restore drill yet") {
		t.Fatalf("backups card without its restore drills: %q", got)
	}
	const drillRow = `//section[@aria-labelledby="c-backups"]//table[caption[contains(., "Restore drills")]]/tbody/tr[td[contains(., "passed")]]`
	b.Run("run a restore drill", chromedp.Click(`//button[contains(., "Run a restore drill now")]`, chromedp.BySearch),
		chromedp.WaitVisible(drillRow, chromedp.BySearch))
	var drills struct {
		Backups []struct {
			ID string `json:"id"`
		} `json:"backups"`
		Drills []struct {
			Backup   string  `json:"backup"`
			Recovery float64 `json:"recovery"`
			Restore  float64 `json:"restore"`
			Verify   float64 `json:"verify"`
			Start    float64 `json:"start"`
			Verified int64   `json:"verified_events"`
			OK       bool    `json:"ok"`
		} `json:"drills"`
	}
	if err := in.adminCall("GET", "/api/v1/backups", "", &drills); err != nil {
		t.Fatal(err)
	}
	if len(drills.Drills) != 1 || !drills.Drills[0].OK || drills.Drills[0].Backup != drills.Backups[0].ID || drills.Drills[0].Verified < 200 || drills.Drills[0].Recovery <= 0 {
		t.Fatalf("restore drill kept as %+v (backups %+v)", drills.Drills, drills.Backups)
	}
	var row []string
	b.Run("read the drill's row", chromedp.Evaluate(`[...document.evaluate('`+drillRow+`', document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue.cells].map(c => c.textContent)`, &row))
	d := drills.Drills[0]
	want := []string{"", d.Backup, fmt.Sprintf("%.2f s", d.Recovery), fmt.Sprintf("%.2f s / %.2f s / %.2f s", d.Restore, d.Verify, d.Start), fmt.Sprint(d.Verified), "passed"}
	if len(row) != len(want) {
		t.Fatalf("drill row %q, want %d cells", row, len(want))
	}
	for i := 1; i < len(want); i++ {
		if strings.ReplaceAll(row[i], ",", "") != want[i] {
			t.Errorf("drill row cell %d: %q, want %q (row %q)", i, row[i], want[i], row)
		}
	}

	// A legal hold placed, then released with a reason.
	b.Run("place a legal hold", chromedp.Click(`//button[contains(., "Place a legal hold")]`, chromedp.BySearch),
		chromedp.WaitVisible(`input[name=hold-name]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=hold-name]`, "Litigation 14", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=hold-query]`, "host.name:ehr-2", chromedp.ByQuery),
		chromedp.SendKeys(`textarea[name=hold-reason]`, "Counsel asked to keep ehr-2 logs.", chromedp.ByQuery),
		chromedp.Click(`//form[.//input[@name="hold-name"]]//button[@type="submit"]`, chromedp.BySearch),
		chromedp.WaitVisible(`//section[@aria-labelledby="c-retention"]//td[contains(., "Litigation 14")]`, chromedp.BySearch))
	type hold struct {
		ID        int64  `json:"id"`
		Query     string `json:"query"`
		CreatedBy string `json:"created_by"`
	}
	var holds struct {
		Holds []hold `json:"holds"`
	}
	if err := in.adminCall("GET", "/api/v1/legal-holds?active=true", "", &holds); err != nil {
		t.Fatal(err)
	}
	if len(holds.Holds) != 1 || holds.Holds[0].Query != "host.name:ehr-2" || holds.Holds[0].CreatedBy != "user:console-officer" {
		t.Fatalf("legal holds after placing one in the console: %+v", holds.Holds)
	}
	placed := holds.Holds[0]
	// The page with a signed-off report, a backup and its drill, and an
	// active hold: docs/console.md's picture, retaken with
	// VIGIL_TEST_DOCS_SCREENSHOTS=1.
	if shot := b.FullScreenshot("compliance-hold"); os.Getenv("VIGIL_TEST_DOCS_SCREENSHOTS") != "" {
		data, err := os.ReadFile(shot)
		if err == nil {
			err = os.WriteFile(filepath.Join("..", "docs", "images", "console-compliance.png"), data, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	const reason = "Matter settled; counsel confirmed in writing."
	b.Run("open the release dialog", chromedp.Click(`//section[@aria-labelledby="c-retention"]//tr[td[contains(., "Litigation 14")]]//button[contains(., "Release")]`, chromedp.BySearch),
		chromedp.WaitVisible(`[role=dialog] textarea[name=release-reason]`, chromedp.ByQuery))
	if got := b.Text(`[role=dialog]`); !strings.Contains(got, "Release a legal hold") || !strings.Contains(got, "Litigation 14") || !strings.Contains(got, "host.name:ehr-2") {
		t.Fatalf("release dialog: %q", got)
	}
	b.CheckA11y()
	b.Screenshot("compliance-release-hold")
	b.Run("release", chromedp.SendKeys(`textarea[name=release-reason]`, reason, chromedp.ByQuery),
		chromedp.Click(`//div[@role="dialog"]//button[@type="submit"]`, chromedp.BySearch),
		chromedp.WaitVisible(`//section[@aria-labelledby="c-retention"]//*[contains(text(), "No active legal hold.")]`, chromedp.BySearch))
	if n := b.Count(`[role=dialog]`); n != 0 {
		t.Fatalf("%d dialogs open after the release", n)
	}
	if err := in.adminCall("GET", "/api/v1/legal-holds?active=true", "", &holds); err != nil {
		t.Fatal(err)
	}
	if len(holds.Holds) != 0 {
		t.Fatalf("active legal holds after the release: %+v", holds.Holds)
	}
	var recs struct {
		Records []struct {
			Actor   string         `json:"actor"`
			Target  string         `json:"target"`
			Outcome string         `json:"outcome"`
			Details map[string]any `json:"details"`
		} `json:"records"`
	}
	if err := in.adminCall("GET", "/api/v1/audit?action=legal_hold.release", "", &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs.Records) != 1 || recs.Records[0].Actor != "console-officer" || recs.Records[0].Target != fmt.Sprintf("hold/%d", placed.ID) ||
		recs.Records[0].Outcome != "success" || recs.Records[0].Details["reason"] != reason {
		t.Fatalf("audit trail of the release: %+v", recs.Records)
	}
	b.CheckA11y()
	b.FullScreenshot("compliance")
}
