package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/vigil-siem/vigil/internal/browsertest"
)

// TestConsoleAndElasticShareTheRoot: a browser at / gets the console; an
// Elasticsearch client at / still gets the version banner (and a Basic
// challenge without credentials).
func TestConsoleAndElasticShareTheRoot(t *testing.T) {
	in := startVigil(t, t.TempDir())
	get := func(accept string, auth bool) *http.Response {
		req, _ := http.NewRequest("GET", in.httpURL+"/", nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		if auth {
			req.SetBasicAuth("elastic", in.token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	res := get("text/html,application/xhtml+xml,*/*;q=0.8", false)
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.Contains(string(body), `id="app"`) || res.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("browser GET /: %d %v\n%s", res.StatusCode, res.Header, body)
	}
	res = get("application/json", true)
	var banner struct {
		Version struct{ Number string } `json:"version"`
	}
	if err := json.NewDecoder(res.Body).Decode(&banner); err != nil || res.StatusCode != 200 || banner.Version.Number == "" {
		t.Fatalf("Elasticsearch GET /: %d %v %+v", res.StatusCode, err, banner)
	}
	res = get("", false)
	if res.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("Elasticsearch GET / without credentials: %d %v", res.StatusCode, res.Header)
	}
}

// consoleSignIn opens the console and signs in as a new analyst.
func consoleSignIn(t *testing.T, b *browsertest.Browser, in *instance) {
	t.Helper()
	pw := in.newUser(t, "console-analyst", "analyst")
	b.Run("open the console", chromedp.Navigate(in.httpURL+"/"), chromedp.WaitVisible(`form.signin`, chromedp.ByQuery))
	b.Run("sign in", chromedp.SendKeys(`input[name=username]`, "console-analyst", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, pw, chromedp.ByQuery),
		chromedp.Click(`form.signin button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`nav.sidenav`, chromedp.ByQuery))
}

// ingestEvents sends n events over the last span through the HTTP ingest
// API and waits until they are searchable: hosts ehr-1..3, users
// alice/bob/carol, every 7th a failure.
func ingestEvents(t *testing.T, in *instance, n int, span time.Duration) {
	t.Helper()
	now := time.Now().UTC()
	var body bytes.Buffer
	for i := range n {
		ts := now.Add(-span + time.Duration(i)*span/time.Duration(n))
		outcome := "success"
		if i%7 == 0 {
			outcome = "failure"
		}
		fmt.Fprintf(&body, `{"@timestamp":%q,"message":"login %d for %s","host":{"name":"ehr-%d"},"user":{"name":%q},"event":{"category":"authentication","outcome":%q,"dataset":"test.console"},"source":{"ip":"10.0.0.%d"}}`+"\n",
			ts.Format(time.RFC3339Nano), i, []string{"alice", "bob", "carol"}[i%3], i%3+1, []string{"alice", "bob", "carol"}[i%3], outcome, i%5+1)
	}
	req, _ := http.NewRequest("POST", in.httpURL+"/api/v1/ingest", &body)
	req.Header.Set("Authorization", "Bearer "+in.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("ingest: %d %s", res.StatusCode, out)
	}
	if got := len(in.waitFor("event.dataset:test.console", n, 30*time.Second)); got < n {
		t.Fatalf("%d of %d events searchable", got, n)
	}
}

func waitSearchDone(t *testing.T, b *browsertest.Browser) {
	t.Helper()
	b.Run("wait for the search", chromedp.WaitVisible(`.search-status .muted`, chromedp.ByQuery))
}

func location(t *testing.T, b *browsertest.Browser) *url.URL {
	t.Helper()
	var href string
	b.Run("read location", chromedp.Evaluate(`location.href`, &href))
	u, _ := url.Parse(href)
	return u
}

// drag presses the mouse at (x1,y) in a selector's box fractions and
// releases it at (x2,y), as a user dragging across a chart.
func drag(sel string, x1, x2, y float64) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var box struct{ X, Y, W, H float64 }
		if err := chromedp.Evaluate(fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return {X: r.x, Y: r.y, W: r.width, H: r.height}; })()`, sel), &box).Do(ctx); err != nil {
			return err
		}
		px := func(f float64) float64 { return box.X + f*box.W }
		py := box.Y + y*box.H
		if err := input.DispatchMouseEvent(input.MouseMoved, px(x1), py).Do(ctx); err != nil {
			return err
		}
		if err := input.DispatchMouseEvent(input.MousePressed, px(x1), py).WithButton(input.Left).WithClickCount(1).Do(ctx); err != nil {
			return err
		}
		for i := 1; i <= 10; i++ {
			if err := input.DispatchMouseEvent(input.MouseMoved, px(x1+(x2-x1)*float64(i)/10), py).WithButton(input.Left).WithButtons(1).Do(ctx); err != nil {
				return err
			}
		}
		return input.DispatchMouseEvent(input.MouseReleased, px(x2), py).WithButton(input.Left).WithClickCount(1).Do(ctx)
	})
}

// TestConsoleSearch: run a search, zoom the histogram, filter from the
// fields sidebar, expand an event, run a stats query, see a syntax error
// where it is — each step checked in the page and the URL, and
// screenshotted.
func TestConsoleSearch(t *testing.T) {
	in := startVigil(t, t.TempDir())
	ingestEvents(t, in, 600, 2*time.Hour)
	b := browsertest.New(t)
	consoleSignIn(t, b, in)

	b.Run("search", chromedp.Navigate(in.httpURL+"/search?q="+url.QueryEscape("event.dataset:test.console")+"&start=-3h"),
		chromedp.WaitVisible(`.vt-row`, chromedp.ByQuery), chromedp.WaitVisible(`.histogram .u-over`, chromedp.ByQuery))
	waitSearchDone(t, b)
	if s := b.Text(".search-status"); !strings.Contains(s, "600 events match") {
		t.Fatalf("status %q, want 600 events", s)
	}
	b.CheckA11y()
	b.Screenshot("1-results")

	// Zoom: drag across the middle of the histogram.
	b.Run("zoom the histogram", drag(".histogram .u-over", 0.35, 0.65, 0.5))
	b.Run("zoomed", chromedp.Poll(`new URLSearchParams(location.search).get("start")?.startsWith("20")`, nil))
	waitSearchDone(t, b)
	u := location(t, b)
	zs, _ := time.Parse(time.RFC3339, u.Query().Get("start"))
	ze, _ := time.Parse(time.RFC3339, u.Query().Get("end"))
	if zs.IsZero() || ze.IsZero() || ze.Sub(zs) > 2*time.Hour || ze.Sub(zs) < 10*time.Minute {
		t.Fatalf("after zooming the range is %s..%s (%s)", u.Query().Get("start"), u.Query().Get("end"), ze.Sub(zs))
	}
	var status string
	b.Run("read status", chromedp.Text(".search-status", &status, chromedp.ByQuery))
	if strings.Contains(status, "600 events") {
		t.Fatalf("zoomed status %q still counts all events", status)
	}
	b.Screenshot("2-zoomed")

	// Filter from the sidebar: open host.name, add its first top value.
	b.Run("open a field", chromedp.Click(`//button[contains(@class,"field-name-btn")][.//span[text()="host.name"]]`, chromedp.BySearch),
		chromedp.WaitVisible(`.top-values li button`, chromedp.ByQuery))
	var host string
	b.Run("read the value", chromedp.Text(`.top-values li .tv-value`, &host, chromedp.ByQuery))
	b.Run("filter for it", chromedp.Click(`.top-values li button[aria-label^="Filter for"]`, chromedp.ByQuery),
		chromedp.Poll(`new URLSearchParams(location.search).get("q").includes('host.name:=')`, nil))
	waitSearchDone(t, b)
	if q := location(t, b).Query().Get("q"); !strings.Contains(q, `host.name:="`+host+`"`) {
		t.Fatalf("after filtering the query is %q, want host.name:=%q", q, host)
	}
	var hosts []string
	b.Run("read hosts", chromedp.Evaluate(`[...document.querySelectorAll('.vt-row .col-host_name')].map(e => e.textContent)`, &hosts))
	for _, h := range hosts {
		if h != host {
			t.Fatalf("filtered on %s, a row shows %s", host, h)
		}
	}
	b.Screenshot("3-filtered")

	// Expand the first event: its fields as a table, then as JSON.
	b.Run("expand", chromedp.Click(`.vt-row .vt-toggle button`, chromedp.ByQuery), chromedp.WaitVisible(`.event-detail .fields-table`, chromedp.ByQuery))
	if n := b.Count(".event-detail .fields-table tbody tr"); n < 6 {
		t.Fatalf("expanded event shows %d fields", n)
	}
	b.Run("surrounding link", chromedp.WaitVisible(`//a[contains(., "surrounding events")]`, chromedp.BySearch))
	b.Screenshot("4-expanded")
	b.Run("JSON tab", chromedp.Click(`//button[@role="tab"][text()="JSON"]`, chromedp.BySearch), chromedp.WaitVisible(`.event-detail pre.json`, chromedp.ByQuery))
	var js string
	b.Run("read JSON", chromedp.Text(`.event-detail pre.json`, &js, chromedp.ByQuery))
	var ev map[string]string
	if err := json.Unmarshal([]byte(js), &ev); err != nil || ev["host.name"] != host {
		t.Fatalf("JSON view %q: %v", js, err)
	}

	// Field names complete as you type: "host.n" offers host.name, Tab
	// takes it.
	b.Run("complete a field", chromedp.Navigate(in.httpURL+"/search?start=-3h"), chromedp.WaitVisible(`.query-editor textarea`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelectorAll('.field-name-btn').length > 0`, nil),
		chromedp.Click(`.query-editor textarea`, chromedp.ByQuery), chromedp.KeyEvent("a", chromedp.KeyModifiers(input.ModifierCtrl)), chromedp.KeyEvent("host.na"),
		chromedp.WaitVisible(`#qe-suggestions [role=option]`, chromedp.ByQuery))
	if s := b.Text(`#qe-suggestions [role=option]`); s != "host.name" {
		t.Fatalf("completing host.na offers %q first", s)
	}
	b.Screenshot("4b-completion")
	b.Run("take it", chromedp.KeyEvent("\t"))
	if v := b.Value(".query-editor textarea"); v != "host.name:" {
		t.Fatalf("after Tab the query is %q, want host.name:", v)
	}

	// Save the filtered search, open it again from the list.
	filtered := `event.dataset:test.console host.name:="` + host + `"`
	b.Run("filtered search", chromedp.Navigate(in.httpURL+"/search?q="+url.QueryEscape(filtered)+"&start=-3h"), chromedp.WaitVisible(`.vt-row`, chromedp.ByQuery))
	waitSearchDone(t, b)
	b.Run("save it", chromedp.Click(`//button[text()="Save search"]`, chromedp.BySearch), chromedp.WaitVisible(`#save-title`, chromedp.ByQuery),
		chromedp.SendKeys(`.modal input:not([type=checkbox])`, "One host", chromedp.ByQuery), chromedp.Click(`.modal button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`#save-title`, chromedp.ByQuery))
	b.Run("blank search", chromedp.Navigate(in.httpURL+"/search?q=*&start=-3h"), chromedp.WaitVisible(`.vt-row`, chromedp.ByQuery))
	b.Run("open it", chromedp.Click(`//summary[text()="Saved searches"]`, chromedp.BySearch),
		chromedp.WaitVisible(`//ul[@class="saved-list"]//button[text()="One host"]`, chromedp.BySearch))
	b.Screenshot("4c-saved")
	b.Run("open it", chromedp.Click(`//ul[@class="saved-list"]//button[text()="One host"]`, chromedp.BySearch),
		chromedp.Poll(`new URLSearchParams(location.search).get("q").includes('host.name:=')`, nil))
	if q := location(t, b).Query().Get("q"); q != filtered {
		t.Fatalf("the saved search opens %q, want %q", q, filtered)
	}

	// Export as CSV: the audit trail records who exported what.
	waitSearchDone(t, b)
	b.Run("export", chromedp.Click(`//summary[text()="Export"]`, chromedp.BySearch), chromedp.Click(`//button[@role="menuitem"][contains(., "CSV")]`, chromedp.BySearch))
	var recs struct {
		Records []struct {
			Actor   string         `json:"actor"`
			Details map[string]any `json:"details"`
		} `json:"records"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(recs.Records) == 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		if err := in.adminCall("GET", "/api/v1/audit?action=events.export&actor=console-analyst", "", &recs); err != nil {
			t.Fatal(err)
		}
	}
	if len(recs.Records) != 1 || !strings.Contains(fmt.Sprint(recs.Records[0].Details), host) {
		t.Fatalf("the console's export is recorded as %+v", recs.Records)
	}

	// A stats query: a table and a bar chart.
	b.Run("stats", chromedp.Navigate(in.httpURL+"/search?q="+url.QueryEscape("event.dataset:test.console | stats by (user.name) count() logins")+"&start=-3h"),
		chromedp.WaitVisible(`.stats-view table.grid`, chromedp.ByQuery), chromedp.WaitVisible(`.stats-view .barlist`, chromedp.ByQuery))
	if n := b.Count(".stats-view table.grid tbody tr"); n != 3 {
		t.Fatalf("stats by user shows %d rows, want 3", n)
	}
	b.Screenshot("5-stats")

	// A syntax error is shown where it is.
	b.Run("bad query", chromedp.Navigate(in.httpURL+"/search?q="+url.QueryEscape("user.name:(alice")+"&start=-3h"),
		chromedp.WaitVisible(`#query-error`, chromedp.ByQuery), chromedp.WaitVisible(`.qe-highlight .tk-error`, chromedp.ByQuery))
	if s := b.Text("#query-error"); !strings.Contains(s, "Syntax error at character") {
		t.Fatalf("error %q", s)
	}
	b.Screenshot("6-syntax-error")
}

// simulateHospital loads a simulated day of a hospital (about 7,000
// events: EHR, FHIR, HL7, DICOM, Windows and Linux logons, with incidents)
// as fast as the server takes it.
func simulateHospital(t *testing.T, in *instance) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, vigilBin, "simulate", "--server", in.httpURL, "--token", in.admin, "--mllp", in.mllp,
		"--syslog", in.tcp, "--seed", "3", "--rate", "0", "--span", "24h", "--timezone", "UTC").CombinedOutput()
	if err != nil {
		t.Fatalf("vigil simulate: %v\n%s", err, out)
	}
	in.waitFor("event.module:ehr", 1000, 30*time.Second)
}

// TestConsoleDashboards opens each built-in dashboard on a simulated
// hospital: every panel loads without an error and the EHR panels have
// data.
func TestConsoleDashboards(t *testing.T) {
	in := startVigil(t, t.TempDir())
	simulateHospital(t, in)
	b := browsertest.New(t)
	consoleSignIn(t, b, in)
	b.Run("dashboards", chromedp.Navigate(in.httpURL+"/dashboards"), chromedp.WaitVisible(`.dash-list li`, chromedp.ByQuery))
	if n := b.Count(".dash-list li"); n != 3 {
		t.Fatalf("%d dashboards listed, want 3", n)
	}
	b.Screenshot("list")
	for _, id := range []string{"overview", "security", "healthcare"} {
		b.Run("open "+id, chromedp.Navigate(in.httpURL+"/dashboards/"+id+"?start=-2d"), chromedp.WaitVisible(`.panels .panel`, chromedp.ByQuery),
			chromedp.Poll(`document.querySelectorAll('.panel .spinner').length === 0 && document.querySelectorAll('.panel .loading').length === 0`, nil, chromedp.WithPollingTimeout(25*time.Second)))
		if n := b.Count(".panel .error-box"); n > 0 {
			t.Fatalf("%s: %d panels failed: %s", id, n, b.Text(".panel .error-box"))
		}
		var empty []string
		b.Run("empty panels", chromedp.Evaluate(`[...document.querySelectorAll('.panel')].filter(p => p.querySelector('.empty')).map(p => p.querySelector('h2').textContent)`, &empty))
		t.Logf("%s: %d panels, without data: %q", id, b.Count(".panel"), empty)
		if id == "healthcare" && len(empty) > 2 {
			t.Fatalf("healthcare dashboard on a simulated hospital: %d panels without data: %q", len(empty), empty)
		}
		b.Run("show a query", chromedp.Click(`.panel .panel-query summary`, chromedp.ByQuery), chromedp.WaitVisible(`.panel .panel-query code`, chromedp.ByQuery))
		b.CheckA11y()
		b.FullScreenshot(id)
	}
	// A copy of the overview becomes the analyst's own: saved, edited as
	// YAML, refused with the reason when invalid, deleted.
	setDefinition := func(js string) chromedp.Action {
		return chromedp.Evaluate(`(() => { const t = document.querySelector('.dash-editor textarea'); t.value = `+js+`;
			t.dispatchEvent(new Event('input', {bubbles: true})); })()`, nil)
	}
	b.Run("copy the overview", chromedp.Navigate(in.httpURL+"/dashboards/overview"), chromedp.Click(`//a[text()="Copy"]`, chromedp.BySearch),
		chromedp.WaitVisible(`.dash-editor textarea`, chromedp.ByQuery))
	if y := b.Value(".dash-editor textarea"); !strings.Contains(y, "id: overview-copy") || !strings.Contains(y, "Copy of Overview") || !strings.Contains(y, "type: sources") {
		t.Fatalf("the copy starts as %.300q", y)
	}
	b.CheckA11y()
	b.Screenshot("copy")
	b.Run("save the copy", chromedp.Click(`//button[text()="Save"]`, chromedp.BySearch), chromedp.WaitVisible(`//h1[text()="Copy of Overview"]`, chromedp.BySearch),
		chromedp.WaitVisible(`//a[text()="Edit"]`, chromedp.BySearch))
	// The dashboard re-renders after a save (its panels reload), so a
	// click on "Edit" can land on a link about to be replaced: click until
	// the editor opens.
	openEditor := chromedp.Poll(`(() => { if (document.querySelector('.dash-editor textarea')) return true;
		const a = [...document.querySelectorAll('a')].find(a => a.textContent === 'Edit'); if (a) a.click(); return false; })()`,
		nil, chromedp.WithPollingInterval(500*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))
	b.Run("edit", openEditor,
		setDefinition(`t.value.replace(/^title: .*$/m, "title: Ward 4 overview")`), chromedp.Click(`//button[text()="Save"]`, chromedp.BySearch),
		chromedp.WaitVisible(`//h1[text()="Ward 4 overview"]`, chromedp.BySearch))
	b.AllowConsole(`status of 400`)
	b.Run("an invalid definition", openEditor,
		setDefinition(`"id: overview-copy\ntitle: Broken\npanels:\n  - {title: Oops, type: pie}\n"`), chromedp.Click(`//button[text()="Save"]`, chromedp.BySearch),
		chromedp.WaitVisible(`.dash-editor .error-box`, chromedp.ByQuery))
	if s := b.Text(".dash-editor .error-box"); !strings.Contains(s, `type "pie"`) {
		t.Fatalf("an invalid dashboard reads %q", s)
	}
	b.Screenshot("invalid")
	b.Run("delete", chromedp.Click(`//button[text()="Delete…"]`, chromedp.BySearch), chromedp.WaitVisible(`.modal`, chromedp.ByQuery),
		chromedp.Click(`.modal .btn.danger`, chromedp.ByQuery), chromedp.WaitVisible(`.dash-list li`, chromedp.ByQuery))
	if n := b.Count(".dash-list li"); n != 3 {
		t.Fatalf("after deleting the copy %d dashboards are listed, want 3", n)
	}

	// Two searches become the panels of a new dashboard.
	panelsLoaded := chromedp.Poll(`document.querySelectorAll('.panel .spinner, .panel .loading').length === 0`, nil, chromedp.WithPollingTimeout(25*time.Second))
	add := func(q string, newTitle string) {
		t.Helper()
		b.Run("search "+q, chromedp.Navigate(in.httpURL+"/search?q="+url.QueryEscape(q)+"&start=-2d"), chromedp.WaitVisible(`.stats-view`, chromedp.ByQuery),
			chromedp.Click(`//button[text()="Add to dashboard"]`, chromedp.BySearch), chromedp.WaitVisible(`.modal select`, chromedp.ByQuery))
		if newTitle != "" {
			b.Run("name it", chromedp.WaitVisible(`//label[contains(., "New dashboard's title")]/input`, chromedp.BySearch),
				chromedp.SendKeys(`//label[contains(., "New dashboard's title")]/input`, newTitle, chromedp.BySearch))
			b.Screenshot("add-to-dashboard")
		}
		b.Run("add", chromedp.Click(`.modal button[type=submit]`, chromedp.ByQuery), chromedp.WaitVisible(`//h1[text()="Ward watch"]`, chromedp.BySearch), panelsLoaded)
	}
	add("event.module:ehr | stats by (_time:1h) count() accesses", "Ward watch")
	add("event.module:ehr | stats by (user.name) count() accesses | sort by (accesses desc) | limit 5", "")
	if n := b.Count(".panel"); n != 2 {
		t.Fatalf("the new dashboard has %d panels, want 2", n)
	}
	if n := b.Count(".panel .error-box") + b.Count(".panel .empty"); n > 0 {
		t.Fatalf("%d panels of the new dashboard failed or are empty", n)
	}
	var def struct {
		Panels []struct{ Type, Query string }
	}
	if err := in.adminCall("GET", "/api/v1/dashboards/ward-watch", "", &def); err == nil {
		t.Fatal("an administrator reads the analyst's private dashboard")
	}
	b.Run("panel types", chromedp.Evaluate(`fetch("/api/v1/dashboards/ward-watch").then(r => r.json())`, &def, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if len(def.Panels) != 2 || def.Panels[0].Type != "timeseries" || !strings.Contains(def.Panels[0].Query, "_time:$step") || def.Panels[1].Type != "bars" {
		t.Fatalf("the panels added from the search: %+v", def.Panels)
	}
	b.CheckA11y()
	b.FullScreenshot("from-search")
}

// activeElement describes the focused element.
func activeElement(t *testing.T, b *browsertest.Browser) string {
	t.Helper()
	var s string
	b.Run("read focus", chromedp.Evaluate(`(() => { const e = document.activeElement; return e.tagName.toLowerCase() + "|" + (e.getAttribute("aria-label") || e.textContent.trim().slice(0, 40) || e.name || ""); })()`, &s))
	return s
}

// TestConsoleKeyboardAndThemes: sign in and work a search with the
// keyboard alone; the dark theme meets the contrast the light one does;
// an API error reads in plain words.
func TestConsoleKeyboardAndThemes(t *testing.T) {
	in := startVigil(t, t.TempDir())
	ingestEvents(t, in, 60, time.Hour)
	pw := in.newUser(t, "keyboard-analyst", "analyst")
	b := browsertest.New(t)
	b.Run("open the console", chromedp.Navigate(in.httpURL+"/search?q="+url.QueryEscape("event.dataset:test.console")), chromedp.WaitVisible(`form.signin`, chromedp.ByQuery))
	b.CheckA11y()
	// Keyboard only: Tab to the user name, type, Tab to the password, type, Enter.
	b.Run("tab to the user name", chromedp.KeyEvent("\t"))
	if f := activeElement(t, b); !strings.HasPrefix(f, "input|") {
		t.Fatalf("first Tab focuses %q, want the user name field", f)
	}
	b.Run("type and submit", chromedp.KeyEvent("keyboard-analyst"), chromedp.KeyEvent("\t"), chromedp.KeyEvent(pw), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(`.vt-row`, chromedp.ByQuery))
	// The first Tab stop is the skip link, which moves focus to the page.
	b.Run("skip link", chromedp.Evaluate(`document.activeElement.blur(); window.scrollTo(0,0)`, nil), chromedp.KeyEvent("\t"))
	if f := activeElement(t, b); !strings.Contains(f, "Skip to content") {
		t.Fatalf("first Tab stop is %q, want the skip link", f)
	}
	b.Screenshot("1-skip-link")
	// Tab on until an event's expand button; Enter opens it.
	seen := map[string]bool{}
	found := false
	for range 80 {
		b.Run("tab", chromedp.KeyEvent("\t"))
		f := activeElement(t, b)
		seen[f] = true
		if strings.HasPrefix(f, "button|Expand event") {
			found = true
			break
		}
	}
	for _, want := range []string{"textarea|LogsQL query", "button|Search"} {
		if !seen[want] {
			t.Errorf("Tab never reached %q (reached %d stops)", want, len(seen))
		}
	}
	if !found {
		t.Fatalf("Tab never reached an event's expand button; stops: %v", seen)
	}
	b.Run("expand with Enter", chromedp.KeyEvent("\r"), chromedp.WaitVisible(`.event-detail`, chromedp.ByQuery))
	b.Screenshot("2-expanded-by-keyboard")

	// Dark theme: the same contrast checks.
	b.Run("dark theme", chromedp.SetValue(`.theme-toggle select`, "dark", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('.theme-toggle select').dispatchEvent(new Event('change', {bubbles: true}))`, nil),
		chromedp.Poll(`document.documentElement.dataset.theme === "dark"`, nil))
	b.CheckA11y()
	b.Screenshot("3-dark")
	b.Run("dark dashboard", chromedp.Navigate(in.httpURL+"/dashboards/overview"), chromedp.WaitVisible(`.panels .panel`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelectorAll('.panel .spinner').length === 0`, nil, chromedp.WithPollingTimeout(20*time.Second)))
	b.CheckA11y()
	b.FullScreenshot("4-dark-dashboard")

	// An API error in plain words.
	b.Run("missing dashboard", chromedp.Navigate(in.httpURL+"/dashboards/no-such-one"), chromedp.WaitVisible(`.error-box`, chromedp.ByQuery))
	if s := b.Text(".error-box"); !strings.Contains(s, "No such dashboard") {
		t.Fatalf("error reads %q", s)
	}
	// A page that does not exist.
	b.Run("missing page", chromedp.Navigate(in.httpURL+"/nowhere"), chromedp.WaitVisible(`//h1[text()="Page not found"]`, chromedp.BySearch))
}

// TestConsoleSignInWithPassword: a user an administrator created signs in
// with the one-time password, must choose a new one, and lands on the
// search page.
func TestConsoleSignInWithPassword(t *testing.T) {
	in := startVigil(t, t.TempDir())
	var created struct {
		OneTimePassword string `json:"one_time_password"`
	}
	if err := in.adminCall("POST", "/api/v1/users", `{"name":"carla","roles":["analyst"]}`, &created); err != nil || created.OneTimePassword == "" {
		t.Fatalf("create user: %v %+v", err, created)
	}
	b := browsertest.New(t)
	b.Run("open the console", chromedp.Navigate(in.httpURL+"/"), chromedp.WaitVisible(`input[name=username]`, chromedp.ByQuery))
	b.Screenshot("signin")
	b.Run("sign in", chromedp.SendKeys(`input[name=username]`, "carla", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, created.OneTimePassword, chromedp.ByQuery),
		chromedp.Click(`form.signin button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`input[name=new]`, chromedp.ByQuery))
	b.Screenshot("change-password")
	b.Run("choose a password", chromedp.SendKeys(`input[name=current]`, created.OneTimePassword, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=new]`, "tr4ce-Orbit-lantern", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=again]`, "tr4ce-Orbit-lantern", chromedp.ByQuery),
		chromedp.Click(`form.signin button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`nav.sidenav a[href="/search"]`, chromedp.ByQuery))
	b.Run("search page", chromedp.WaitVisible(`h1`, chromedp.ByQuery))
	if got := b.Text("h1"); got != "Search" {
		t.Fatalf("after sign-in the page is %q, want Search", got)
	}
	b.Screenshot("search")
}
