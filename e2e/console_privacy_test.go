package e2e

import (
	"encoding/csv"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/vigil-siem/vigil/internal/browsertest"
)

// TestConsolePrivacy: on a simulated hospital a privacy officer opens the
// privacy overview (its figures are the API's), approves a mined
// explanation template (its status changes, the decision is in the audit
// trail), opens a patient's access report through the form and downloads
// it as CSV (one row per access the API reports).
func TestConsolePrivacy(t *testing.T) {
	// One hand-written template, shown read-only beside the mined ones.
	cfg := filepath.Join(t.TempDir(), "privacy.yaml")
	if err := os.WriteFile(cfg, []byte("templates:\n  - name: privacy office investigations\n    department: Compliance\n    patients: any\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := startVigil(t, t.TempDir(), "--auth-mfa-roles=", "--privacy-config="+cfg)
	simulateHospital(t, in)

	type summary struct {
		Accesses  int `json:"accesses"`
		Explained int `json:"explained"`
	}
	figures := func() (summary, int) {
		var s summary
		if err := in.adminCall("GET", "/api/v1/privacy/reports/summary?from=-30d", "", &s); err != nil {
			t.Fatal(err)
		}
		var as struct {
			Alerts []struct{} `json:"alerts"`
		}
		if err := in.adminCall("GET", "/api/v1/alerts?kind=privacy&since=-30d&limit=10000", "", &as); err != nil {
			t.Fatal(err)
		}
		return s, len(as.Alerts)
	}

	pw := in.newUser(t, "olivia", "privacy-officer")
	b := browsertest.New(t)
	consoleLogin(t, b, in, "olivia", pw)
	loaded := chromedp.Poll(`document.querySelectorAll('main .loading').length === 0`, nil, chromedp.WithPollingTimeout(20*time.Second))
	digits := func(s string) string { return strings.ReplaceAll(s, ",", "") }

	// The overview shows what the API reports. Accesses may still be
	// arriving, or held for the next mining before they are judged: the
	// page and the API must agree once they stop moving.
	var sum summary
	var mismatch string
	for try := 0; try < 30; try++ {
		b.Run("overview", chromedp.Navigate(in.httpURL+"/privacy"), chromedp.WaitVisible(`[data-k=accesses]`, chromedp.ByQuery), chromedp.WaitVisible(`[data-k=alerts]`, chromedp.ByQuery), loaded)
		page := []string{digits(b.Text(`[data-k=accesses]`)), b.Text(`[data-k=explained-share]`), digits(b.Text(`[data-k=unexplained]`)), digits(b.Text(`[data-k=alerts]`))}
		var alerts int
		sum, alerts = figures()
		api := []string{fmt.Sprint(sum.Accesses), fmt.Sprintf("%.1f%%", 100*float64(sum.Explained)/float64(sum.Accesses)), fmt.Sprint(sum.Accesses - sum.Explained), fmt.Sprint(alerts)}
		if mismatch = ""; strings.Join(page, " ") != strings.Join(api, " ") {
			mismatch = fmt.Sprintf("overview shows accesses, explained, unexplained, alerts %q, the API %q", page, api)
			time.Sleep(2 * time.Second)
			continue
		}
		break
	}
	if mismatch != "" {
		t.Error(mismatch)
	}
	if sum.Accesses < 1000 || sum.Explained == 0 || sum.Explained == sum.Accesses {
		t.Fatalf("summary of the simulated hospital: %+v", sum)
	}
	if b.Count(`section[aria-labelledby="p-accesses"] .u-over`) != 1 {
		t.Error("overview: no chart of the accesses over time")
	}
	if n := b.Count(`section[aria-labelledby="p-reasons"] .barlist tr`); n == 0 {
		t.Error("overview: no reason for the unexplained accesses")
	}
	if n := b.Count(`section[aria-labelledby="p-alerts"] a[href^="/alerts?rule="]`); n < 9 {
		t.Errorf("overview: %d privacy rules link to their alerts, want every rule", n)
	}
	b.CheckA11y()
	shot := b.FullScreenshot("1-overview")
	if os.Getenv("VIGIL_TEST_DOCS_SCREENSHOTS") != "" {
		data, err := os.ReadFile(shot)
		if err == nil {
			err = os.WriteFile(filepath.Join("..", "docs", "images", "console-privacy.png"), data, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	// From the newest open privacy alert to the access report of its user.
	b.Run("open a privacy alert", chromedp.Click(`section[aria-labelledby="p-open"] a[href^="/alerts/"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`//h2[text()="Privacy"]`, chromedp.BySearch), loaded)
	b.Screenshot("1b-alert")
	if got := b.Text(`.privacy-card dl`); !strings.Contains(got, "Why") {
		t.Errorf("privacy alert: %q", got)
	}
	b.Run("its access report", chromedp.Click(`//a[starts-with(., "Access report of")]`, chromedp.BySearch),
		chromedp.WaitVisible(`#r-user, #r-patient`, chromedp.ByQuery), loaded)
	if n := b.Count("main .error-box"); n > 0 {
		t.Fatalf("access report from an alert: %s", b.Text("main .error-box"))
	}

	// Approve the first mined template that is not approved yet.
	b.Run("templates", chromedp.Navigate(in.httpURL+"/privacy/templates"), chromedp.WaitVisible(`#t-mined`, chromedp.ByQuery), loaded)
	var label string
	b.Run("first approve button", chromedp.AttributeValue(`section[aria-labelledby="t-mined"] button[aria-label^="Approve template"]`, "aria-label", &label, nil, chromedp.ByQuery))
	id := strings.TrimPrefix(label, "Approve template ")
	b.Run("approve", chromedp.Click(`button[aria-label="`+label+`"]`, chromedp.ByQuery), chromedp.WaitVisible(`.modal textarea`, chromedp.ByQuery))
	b.CheckA11y()
	b.Screenshot("2a-approve")
	b.Run("approve with a reason", chromedp.SendKeys(`.modal textarea`, "pharmacy verifies every inpatient order", chromedp.ByQuery),
		chromedp.Click(`.modal button[type=submit]`, chromedp.ByQuery), chromedp.WaitNotPresent(`.modal`, chromedp.ByQuery),
		chromedp.WaitVisible(`//tr[td[1][normalize-space()="`+id+`"]]//span[@data-status="approved"]`, chromedp.BySearch))
	var tpl struct {
		Status    string `json:"status"`
		DecidedBy string `json:"decided_by"`
	}
	if err := in.adminCall("GET", "/api/v1/privacy/templates/"+id, "", &tpl); err != nil || tpl.Status != "approved" || tpl.DecidedBy != "olivia" {
		t.Fatalf("template %s after approval: %+v %v", id, tpl, err)
	}
	var audit struct {
		Records []struct {
			Target string `json:"target"`
		} `json:"records"`
	}
	if err := in.adminCall("GET", "/api/v1/audit?action=privacy.template.approve&actor=olivia", "", &audit); err != nil || len(audit.Records) != 1 || audit.Records[0].Target != "template:"+id {
		t.Fatalf("audit trail of the approval: %+v %v", audit, err)
	}
	// Groups are named as the directory spells them, patient classes in
	// words.
	var tpls struct {
		Templates []struct {
			GroupLabel string `json:"group_label"`
			Feature    string `json:"feature"`
		} `json:"templates"`
	}
	if err := in.adminCall("GET", "/api/v1/privacy/templates", "", &tpls); err != nil || len(tpls.Templates) == 0 {
		t.Fatalf("templates: %+v %v", tpls, err)
	}
	mined := b.Text(`section[aria-labelledby="t-mined"] tbody`)
	for _, tp := range tpls.Templates {
		if tp.GroupLabel == "" || tp.GroupLabel == strings.ToLower(tp.GroupLabel) {
			t.Errorf("template group label %q: not the directory's spelling", tp.GroupLabel)
			break
		}
		label := strings.ToUpper(tp.GroupLabel[:1]) + tp.GroupLabel[1:]
		if !strings.Contains(mined, label) && !strings.Contains(b.Text(`section[aria-labelledby="t-configured"] tbody`), label) {
			t.Errorf("templates page does not name the group %q", label)
			break
		}
	}
	if strings.Contains(mined, "a stay of class") {
		t.Errorf("templates page shows a patient class as a code: %q", mined)
	}
	if got := b.Text(`section[aria-labelledby="t-configured"] tbody`); !strings.Contains(got, "privacy office investigations") {
		t.Errorf("configured templates: %q", got)
	}
	if n := b.Count(`section[aria-labelledby="t-configured"] tbody button`); n != 0 {
		t.Errorf("configured templates have %d buttons, want none (read-only)", n)
	}
	b.CheckA11y()
	b.Screenshot("2-templates")

	// A patient with an unexplained access: the report through the form,
	// then its CSV.
	rows := in.search(`healthcare.access.explained:false | limit 1`)
	if len(rows) == 0 {
		t.Fatal("no unexplained access in the simulated hospital")
	}
	mrn := rows[0]["healthcare.patient.id"]
	var rep struct {
		Total       int `json:"total"`
		Unexplained int `json:"unexplained"`
	}
	if err := in.adminCall("GET", "/api/v1/privacy/reports/patients/"+url.PathEscape(mrn)+"?from=-30d", "", &rep); err != nil || rep.Unexplained == 0 {
		t.Fatalf("patient report of %s: %+v %v", mrn, rep, err)
	}
	b.Run("report form", chromedp.Navigate(in.httpURL+"/privacy/reports"), chromedp.WaitVisible(`input[name=id]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=id]`, mrn, chromedp.ByQuery), chromedp.Click(`//button[text()="Open report"]`, chromedp.BySearch),
		chromedp.WaitVisible(`#r-patient`, chromedp.ByQuery), loaded)
	if got := digits(b.Text(`section[aria-labelledby="r-patient"] [data-k=total]`)); got != fmt.Sprint(rep.Total) {
		t.Errorf("patient report: %s accesses, the API %d", got, rep.Total)
	}
	if n := b.Count(`section[aria-labelledby="r-patient"] tbody tr`); n != rep.Total {
		t.Errorf("patient report: %d rows, want %d", n, rep.Total)
	}
	if n := b.Count(`section[aria-labelledby="r-patient"] tbody .badge.warn`); n != rep.Unexplained {
		t.Errorf("patient report: %d accesses marked unexplained, want %d", n, rep.Unexplained)
	}
	b.CheckA11y()
	b.FullScreenshot("3-patient-report")
	dir := t.TempDir()
	b.Run("download csv", browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllow).WithDownloadPath(dir),
		chromedp.Click(`//button[contains(., "Download CSV")]`, chromedp.BySearch))
	file := filepath.Join(dir, "access-report-"+mrn+".csv")
	var data []byte
	for i := 0; i < 100; i++ {
		if d, err := os.ReadFile(file); err == nil && len(d) > 0 {
			data = d
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	recs, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	if err != nil || len(recs) != rep.Total+1 {
		t.Fatalf("downloaded CSV %s: %d records, want %d and a header (%v)", file, len(recs), rep.Total, err)
	}
	// The user of the first unexplained access: their report lists the
	// patients with unexplained accesses first.
	b.Run("user report", chromedp.Click(`//section[@aria-labelledby="r-patient"]//tr[.//span[contains(@class,"warn")]]/td[2]/a`, chromedp.BySearch),
		chromedp.WaitVisible(`#r-user`, chromedp.ByQuery), loaded)
	if got := b.Text(`section[aria-labelledby="r-user"] tbody tr td:nth-child(3)`); got == "0" || got == "" {
		t.Errorf("user report: the first patient has %q unexplained accesses, want the unexplained first", got)
	}
	// Dates instead of a recent period: the same report over the days of
	// the simulation.
	total := b.Text(`section[aria-labelledby="r-user"] [data-k=total]`)
	b.Run("dates", chromedp.SetValue(`select[name=period]`, "custom", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('select[name=period]').dispatchEvent(new Event('change', {bubbles: true}))`, nil),
		chromedp.WaitVisible(`input[name=to]`, chromedp.ByQuery), loaded, chromedp.WaitVisible(`#r-user`, chromedp.ByQuery))
	if got := b.Text(`section[aria-labelledby="r-user"] [data-k=total]`); got != total || !strings.Contains(b.Value(`input[name=from]`), "-") {
		t.Errorf("the last 30 days as dates (from %q): %s accesses, as a period %s", b.Value(`input[name=from]`), got, total)
	}
	b.CheckA11y()
	b.FullScreenshot("4-user-report")
	// The patient page shows the explanation of each access and links to
	// the report.
	b.Run("patient page", chromedp.Navigate(in.httpURL+"/entity/patient/"+url.PathEscape(mrn)+"?start=-3d"), chromedp.WaitVisible(`#s-access-report`, chromedp.ByQuery), loaded)
	if got := b.Text(`section[aria-labelledby="s-access-report"] thead`); !strings.Contains(got, "healthcare.access.explanation") {
		t.Errorf("patient page access report columns: %q", got)
	}
	if b.Count(`section[aria-labelledby="s-access-report"] a[href^="/privacy/reports?patient="]`) != 1 {
		t.Error("patient page: no link to the access report")
	}
	b.Screenshot("5-patient")
	// An access event's detail in search says whether it was explained
	// and why.
	b.Run("search an unexplained access", chromedp.Navigate(in.httpURL+"/search?start=-3d&q="+url.QueryEscape(`healthcare.access.explained:false`)),
		chromedp.WaitVisible(`.vt-row`, chromedp.ByQuery), chromedp.Click(`.vt-row .vt-toggle button`, chromedp.ByQuery),
		chromedp.WaitVisible(`.event-detail .access-explanation`, chromedp.ByQuery))
	if got := b.Text(`.event-detail .access-explanation`); !strings.HasPrefix(got, "unexplained ") || len(got) < 20 {
		t.Errorf("event detail of an unexplained access: %q", got)
	}
	b.Screenshot("6-event")
	b.CheckConsole()
}
