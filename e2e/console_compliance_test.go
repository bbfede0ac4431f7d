package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-siem/vigil/internal/browsertest"
)

// TestConsoleCompliance: an administrator generates the HIPAA report in
// the console, signs it off, verifies the stored events, sees the last
// backup, and places a legal hold there.
func TestConsoleCompliance(t *testing.T) {
	// An administrator without the second factor: enrolment has its own test.
	in := startVigil(t, t.TempDir(), "--auth-mfa-roles=")
	ingestEvents(t, in, 200, time.Hour)
	if err := in.adminCall("POST", "/api/v1/backup", fmt.Sprintf(`{"to": %q}`, filepath.Join(t.TempDir(), "bk")), nil); err != nil {
		t.Fatalf("backup: %v", err)
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
	if got := b.Text(`section[aria-labelledby="c-backups"] tbody`); !strings.Contains(got, "ok") || !strings.Contains(got, "bk") {
		t.Fatalf("backups card does not show the backup just taken: %q", got)
	}
	if got := b.Text(`section[aria-labelledby="c-backups"]`); !strings.Contains(got, "Restore drills") || !strings.Contains(got, "No restore drill yet") {
		t.Fatalf("backups card without its restore drills: %q", got)
	}
	b.Run("generate", chromedp.Click(`//button[contains(., "Generate HIPAA report")]`, chromedp.BySearch),
		chromedp.WaitVisible(`//section[@aria-labelledby="c-reports"]//td[contains(., "not yet")]`, chromedp.BySearch))
	b.Run("sign off", chromedp.Click(`//button[contains(., "Sign off")]`, chromedp.BySearch),
		chromedp.WaitVisible(`form.modal-form`, chromedp.ByQuery),
		chromedp.SendKeys(`form.modal-form input[placeholder="Full name"]`, "Ann Reviewer", chromedp.ByQuery),
		chromedp.SendKeys(`form.modal-form textarea`, "Reviewed with the security committee.", chromedp.ByQuery),
		chromedp.Click(`form.modal-form button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`//section[@aria-labelledby="c-reports"]//td[contains(., "Ann Reviewer")]`, chromedp.BySearch))
	b.Run("verify", chromedp.Click(`//button[contains(., "Verify the last 2 days now")]`, chromedp.BySearch),
		chromedp.WaitVisible(`//section[@aria-labelledby="c-integrity"]//dd[contains(., "passed")]`, chromedp.BySearch))
	if got := b.Text("#c-integrity + dl"); !strings.Contains(got, "events in") || !strings.Contains(got, "passed") {
		t.Fatalf("integrity card: %q", got)
	}
	b.Run("place a legal hold", chromedp.Click(`//button[contains(., "Place a legal hold")]`, chromedp.BySearch),
		chromedp.WaitVisible(`input[name=hold-name]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=hold-name]`, "Litigation 14", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=hold-query]`, "host.name:ehr-2", chromedp.ByQuery),
		chromedp.SendKeys(`textarea[name=hold-reason]`, "Counsel asked to keep ehr-2 logs.", chromedp.ByQuery),
		chromedp.Click(`//form[.//input[@name="hold-name"]]//button[@type="submit"]`, chromedp.BySearch),
		chromedp.WaitVisible(`//section[@aria-labelledby="c-retention"]//td[contains(., "Litigation 14")]`, chromedp.BySearch))
	var holds struct {
		Holds []struct {
			Query     string `json:"query"`
			CreatedBy string `json:"created_by"`
		} `json:"holds"`
	}
	if err := in.adminCall("GET", "/api/v1/legal-holds?active=true", "", &holds); err != nil {
		t.Fatal(err)
	}
	if len(holds.Holds) != 1 || holds.Holds[0].Query != "host.name:ehr-2" || holds.Holds[0].CreatedBy != "user:console-officer" {
		t.Fatalf("legal holds after placing one in the console: %+v", holds.Holds)
	}
	b.CheckA11y()
	b.FullScreenshot("compliance")
}
