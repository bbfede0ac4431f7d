package e2e

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-siem/vigil/internal/browsertest"
)

// TestConsoleDocScreenshots retakes the console screenshots of
// docs/console.md and the README on a simulated hospital, so they show the
// console as it is:
//
//	VIGIL_TEST_DOCS_SCREENSHOTS=1 go test -run TestConsoleDocScreenshots ./e2e/
//
// It is not part of the suite (it writes into docs/images).
func TestConsoleDocScreenshots(t *testing.T) {
	if os.Getenv("VIGIL_TEST_DOCS_SCREENSHOTS") == "" {
		t.Skip("set VIGIL_TEST_DOCS_SCREENSHOTS=1 to retake the screenshots in docs/images")
	}
	in := startVigil(t, t.TempDir(), "--auth-mfa-roles=")
	simulateHospital(t, in)
	b := browsertest.New(t)
	save := func(name, shot string) {
		t.Helper()
		data, err := os.ReadFile(shot)
		if err == nil {
			err = os.WriteFile(filepath.Join("..", "docs", "images", name+".png"), data, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	loaded := chromedp.Poll(`document.querySelectorAll('main .loading, main .spinner').length === 0`, nil, chromedp.WithPollingTimeout(30*time.Second))
	signOut := func() {
		b.Run("sign out", chromedp.Click(`//button[text()="Sign out"]`, chromedp.BySearch), chromedp.WaitVisible(`input[name=username]`, chromedp.ByQuery))
	}

	// An analyst searches.
	consoleLogin(t, b, in, "dana", in.newUser(t, "dana", "analyst"))
	cols := "@timestamp,user.name,healthcare.workforce.department,event.action"
	b.Run("search", chromedp.Navigate(in.httpURL+"/search?q="+url.QueryEscape("event.module:ehr")+"&start=-3d&cols="+url.QueryEscape(cols)),
		chromedp.WaitVisible(`.vt-row`, chromedp.ByQuery), chromedp.WaitVisible(`.histogram .u-over`, chromedp.ByQuery), loaded)
	save("console-search", b.Screenshot("search"))
	q := "event.module:ehr | stats by (_time:1h, healthcare.workforce.department) count() accesses"
	b.Run("stats", chromedp.Navigate(in.httpURL+"/search?q="+url.QueryEscape(q)+"&start=-3d"), chromedp.WaitVisible(`.stats-view table.grid`, chromedp.ByQuery), loaded)
	save("console-stats", b.Screenshot("stats"))
	b.Run("healthcare", chromedp.Navigate(in.httpURL+"/dashboards/healthcare?start=-2d"), chromedp.WaitVisible(`.panels .panel`, chromedp.ByQuery), loaded)
	save("console-healthcare", b.FullScreenshot("healthcare"))
	signOut()

	// A privacy officer opens a patient's record.
	var pats struct {
		Patients []struct {
			Identifiers []struct {
				Value string `json:"value"`
			} `json:"identifiers"`
		} `json:"patients"`
	}
	if err := in.adminCall("GET", "/api/v1/patients?limit=50", "", &pats); err != nil {
		t.Fatal(err)
	}
	mrn, best := "", 0
	for _, p := range pats.Patients {
		for _, id := range p.Identifiers {
			if strings.HasPrefix(id.Value, "MRN") {
				if n := len(in.search(`healthcare.patient.id:="` + id.Value + `"`)); n > best {
					mrn, best = id.Value, n
				}
			}
		}
	}
	if mrn == "" {
		t.Fatal("no patient with an MRN")
	}
	consoleLogin(t, b, in, "olivia", in.newUser(t, "olivia", "privacy-officer"))
	b.Run("patient", chromedp.Navigate(in.httpURL+"/entity/patient/"+mrn+"?start=-3d"), chromedp.WaitVisible(`dl.kv dd`, chromedp.ByQuery), loaded)
	save("console-patient", b.FullScreenshot("patient"))
	signOut()

	// An administrator reads the roles.
	consoleLogin(t, b, in, "ada", in.newUser(t, "ada", "admin"))
	b.Run("roles", chromedp.Navigate(in.httpURL+"/admin/roles"), chromedp.WaitVisible(`table.matrix tbody tr`, chromedp.ByQuery), loaded)
	save("console-roles", b.Screenshot("roles"))
}
