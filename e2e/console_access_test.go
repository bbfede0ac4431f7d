package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/vigil-siem/vigil/internal/browsertest"
)

// apiAs calls the API with a token and decodes the JSON answer.
func apiAs(t *testing.T, in *instance, token, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, in.httpURL+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// addUser creates a user with the admin token and returns the one-time
// password.
func addUser(t *testing.T, in *instance, name string, roles ...string) string {
	t.Helper()
	code, m := apiAs(t, in, in.admin, "POST", "/api/v1/users", map[string]any{"name": name, "roles": roles})
	if code != 201 {
		t.Fatalf("create user %s: %d %v", name, code, m)
	}
	return m["one_time_password"].(string)
}

const newPassword = "correct horse battery staple 42"

// consoleLogin signs in through the sign-in form, changing the one-time
// password when asked; it returns when the console's navigation shows.
func consoleLogin(t *testing.T, b *browsertest.Browser, in *instance, user, password string) {
	t.Helper()
	b.Run("open the console", chromedp.Navigate(in.httpURL+"/"), chromedp.WaitVisible(`input[name=username]`, chromedp.ByQuery))
	b.Run("sign in", chromedp.SendKeys(`input[name=username]`, user, chromedp.ByQuery), chromedp.SendKeys(`input[name=password]`, password, chromedp.ByQuery),
		chromedp.Click(`form.signin button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`nav.sidenav, input[name=new]`, chromedp.ByQuery))
	if b.Count(`input[name=new]`) > 0 {
		b.Run("change the one-time password", chromedp.SendKeys(`input[name=current]`, password, chromedp.ByQuery),
			chromedp.SendKeys(`input[name=new]`, newPassword, chromedp.ByQuery), chromedp.SendKeys(`input[name=again]`, newPassword, chromedp.ByQuery),
			chromedp.Click(`form.signin button[type=submit]`, chromedp.ByQuery), chromedp.WaitVisible(`nav.sidenav`, chromedp.ByQuery))
	}
}

// TestConsoleSignInWithTOTP: a privacy officer (whose role requires a
// second factor) signs in with a one-time password, chooses a password,
// enrols an authenticator app, keeps the recovery codes; signs out; signs
// in again with the password and the app's code.
func TestConsoleSignInWithTOTP(t *testing.T) {
	in := startVigil(t, t.TempDir())
	otpw := addUser(t, in, "olivia", "privacy-officer")
	b := browsertest.New(t)
	b.Run("open the console", chromedp.Navigate(in.httpURL+"/"), chromedp.WaitVisible(`input[name=username]`, chromedp.ByQuery))
	b.Screenshot("1-signin")
	b.Run("sign in", chromedp.SendKeys(`input[name=username]`, "olivia", chromedp.ByQuery), chromedp.SendKeys(`input[name=password]`, otpw, chromedp.ByQuery),
		chromedp.Click(`form.signin button[type=submit]`, chromedp.ByQuery), chromedp.WaitVisible(`input[name=new]`, chromedp.ByQuery))
	b.CheckA11y()
	b.Screenshot("2-change-password")
	b.Run("choose a password", chromedp.SendKeys(`input[name=current]`, otpw, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=new]`, newPassword, chromedp.ByQuery), chromedp.SendKeys(`input[name=again]`, newPassword, chromedp.ByQuery),
		chromedp.Click(`form.signin button[type=submit]`, chromedp.ByQuery), chromedp.WaitVisible(`//h1[text()="Set up two-step sign-in"]`, chromedp.BySearch))
	b.Run("start enrolment", chromedp.Click(`//button[text()="Start"]`, chromedp.BySearch), chromedp.WaitVisible(`img.qr`, chromedp.ByQuery))
	b.CheckA11y()
	b.Screenshot("3-enrol")
	secret := strings.TrimSpace(b.Text("code.secret"))
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatalf("secret %q: %v", secret, err)
	}
	b.Run("confirm", chromedp.SendKeys(`input[name=code]`, code, chromedp.ByQuery), chromedp.Click(`form.signin button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`ul.recovery-codes li`, chromedp.ByQuery))
	if n := b.Count("ul.recovery-codes li"); n < 5 {
		t.Fatalf("%d recovery codes", n)
	}
	b.Screenshot("4-recovery-codes")
	b.Run("into the console", chromedp.Click(`//button[text()="I have stored them"]`, chromedp.BySearch), chromedp.WaitVisible(`nav.sidenav`, chromedp.ByQuery))
	if who := b.Text(".who"); !strings.Contains(who, "olivia") || !strings.Contains(who, "privacy-officer") {
		t.Fatalf("signed in as %q", who)
	}
	b.Run("sign out", chromedp.Click(`//button[text()="Sign out"]`, chromedp.BySearch), chromedp.WaitVisible(`input[name=username]`, chromedp.ByQuery))
	// Again: password, then the code of the next time step (the one used
	// to enrol cannot be used twice).
	b.Run("sign in again", chromedp.SendKeys(`input[name=username]`, "olivia", chromedp.ByQuery), chromedp.SendKeys(`input[name=password]`, newPassword, chromedp.ByQuery),
		chromedp.Click(`form.signin button[type=submit]`, chromedp.ByQuery), chromedp.WaitVisible(`input[name=code]`, chromedp.ByQuery))
	b.Screenshot("5-code")
	code, _ = totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	b.Run("give the code", chromedp.SendKeys(`input[name=code]`, code, chromedp.ByQuery), chromedp.Click(`form.signin button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`nav.sidenav`, chromedp.ByQuery))
	b.Screenshot("6-signed-in")
}

// TestConsolePatientPHIAndRoles: on a simulated hospital, a privacy
// officer sees a patient's record unmasked; an analyst sees it masked,
// reveals it with a reason (audited), and is refused the admin pages.
func TestConsolePatientPHIAndRoles(t *testing.T) {
	in := startVigil(t, t.TempDir(), "--auth-mfa-roles=")
	simulateHospital(t, in)
	code, m := apiAs(t, in, in.admin, "GET", "/api/v1/patients?limit=20", nil)
	if code != 200 {
		t.Fatalf("patients: %d %v", code, m)
	}
	var mrn, name string
	for _, p := range m["patients"].([]any) {
		pm := p.(map[string]any)
		for _, id := range pm["identifiers"].([]any) {
			if v := id.(map[string]any)["value"].(string); strings.HasPrefix(v, "MRN") {
				mrn, name = v, pm["name"].(string)
			}
		}
		if mrn != "" && in.search(`healthcare.patient.id:="`+mrn+`"`) != nil {
			break
		}
	}
	if mrn == "" || name == "" {
		t.Fatalf("no patient with an MRN in %v", m)
	}
	po := in.newUser(t, "olivia", "privacy-officer")
	an := in.newUser(t, "alan", "analyst")

	b := browsertest.New(t)
	consoleLogin(t, b, in, "olivia", po)
	b.Run("patient page", chromedp.Navigate(in.httpURL+"/entity/patient/"+mrn+"?start=-3d"), chromedp.WaitVisible(`dl.kv dd`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelectorAll('.loading').length === 0`, nil, chromedp.WithPollingTimeout(20*time.Second)))
	if got := b.Text("dl.kv dd"); got != name {
		t.Fatalf("privacy officer sees the name %q, want %q", got, name)
	}
	if b.Count(".phi-note") != 0 {
		t.Fatal("privacy officer is told PHI is masked")
	}
	// Encounters: the HL7 location read as a place, each carer once with
	// every role (the simulation's attending physician also admits).
	var enc [][]string
	b.Run("read the encounters", chromedp.Evaluate(`(() => {
		const t = document.querySelector('section[aria-labelledby="s-encounters-and-care-teams"] table');
		if (!t) return [];
		const h = [...t.tHead.rows[0].cells].map(c => c.textContent.trim());
		const li = h.findIndex(x => x.startsWith("Location")), ci = h.findIndex(x => x.startsWith("Care team")), ki = h.findIndex(x => x.startsWith("Class"));
		return [...t.tBodies[0].rows].map(r => [r.cells[li].textContent, r.cells[li].querySelector("span")?.title ?? "", r.cells[ci].textContent, r.cells[ki].textContent]);
	})()`, &enc))
	if len(enc) == 0 {
		t.Fatalf("patient %s: no encounter shown", mrn)
	}
	both := false
	for _, e := range enc {
		shown, raw, team := e[0], e[1], e[2]
		if !slices.Contains([]string{"inpatient", "outpatient", "emergency"}, e[3]) {
			t.Errorf("encounter class shown as %q, want its name", e[3])
		}
		if strings.Contains(shown, "^") || !strings.Contains(raw, "^") || !regexp.MustCompile(`^\S+, room \d+, bed [A-Z] \(\S+\)$`).MatchString(shown) {
			t.Errorf("encounter location %q shown as %q, want \"UNIT, room N, bed X (FACILITY)\"", raw, shown)
		}
		var names []string
		for _, m := range strings.Split(team, "; ") {
			name, roles, _ := strings.Cut(m, " (")
			if slices.Contains(names, name) {
				t.Errorf("care team %q lists %s twice", team, name)
			}
			names = append(names, name)
			both = both || strings.Contains(roles, "attending, admitting")
		}
	}
	if !both {
		t.Errorf("no carer shown as attending and admitting in %q", enc)
	}
	b.CheckA11y()
	b.FullScreenshot("1-patient-privacy-officer")
	// The user who opened the record most, by clicking the name: the
	// workforce record (the simulation imports a roster), logons, the
	// patients they opened, alerts and risk. Then a host and an address
	// that user worked from.
	loaded := chromedp.Poll(`document.querySelectorAll('main .loading').length === 0`, nil, chromedp.WithPollingTimeout(20*time.Second))
	b.Run("open the top user", chromedp.Click(`section[aria-labelledby="s-who-opened-this-record"] a`, chromedp.ByQuery),
		chromedp.WaitVisible(`#s-workforce-record`, chromedp.ByQuery), loaded)
	user := strings.TrimPrefix(b.Text("main h1"), "User ")
	if n := b.Count("main .error-box"); n > 0 {
		t.Fatalf("user page of %s: %s", user, b.Text("main .error-box"))
	}
	if dept := b.Text(`section[aria-labelledby="s-workforce-record"] dl.kv`); !strings.Contains(dept, "Department") {
		t.Fatalf("user %s: workforce record reads %q", user, dept)
	}
	for _, s := range []string{"s-recent-logons", "s-ehr-accesses-patients-opened", "s-risk", "s-alerts"} {
		if b.Count("#"+s) != 1 {
			t.Fatalf("user page of %s has no section %s", user, s)
		}
	}
	b.CheckA11y()
	b.FullScreenshot("1b-user")
	for _, ent := range []struct{ kind, field, section string }{{"host", "host.name", "s-datasets"}, {"ip", "source.ip", "s-users-from-this-address"}} {
		rows := in.search(`user.name:="` + user + `" ` + ent.field + `:* | limit 1`)
		if len(rows) == 0 {
			rows = in.search(ent.field + `:* | limit 1`)
		}
		if len(rows) == 0 {
			t.Fatalf("no event of the simulated hospital has %s", ent.field)
		}
		b.Run(ent.kind+" page", chromedp.Navigate(in.httpURL+"/entity/"+ent.kind+"/"+url.PathEscape(rows[0][ent.field])+"?start=-3d"),
			chromedp.WaitVisible("#"+ent.section, chromedp.ByQuery), loaded)
		if n := b.Count("main .error-box"); n > 0 {
			t.Fatalf("%s page of %s: %s", ent.kind, rows[0][ent.field], b.Text("main .error-box"))
		}
		if b.Count(`section[aria-labelledby="`+ent.section+`"] .empty`) > 0 {
			t.Fatalf("%s page of %s: %s is empty", ent.kind, rows[0][ent.field], ent.section)
		}
		b.CheckA11y()
		b.FullScreenshot("1c-" + ent.kind)
	}
	b.Run("sign out", chromedp.Click(`//button[text()="Sign out"]`, chromedp.BySearch), chromedp.WaitVisible(`input[name=username]`, chromedp.ByQuery))

	consoleLogin(t, b, in, "alan", an)
	b.Run("patient page", chromedp.Navigate(in.httpURL+"/entity/patient/"+mrn+"?start=-3d"), chromedp.WaitVisible(`.phi-note`, chromedp.ByQuery))
	if got := b.Text("dl.kv dd"); got != "[masked]" {
		t.Fatalf("analyst sees the name %q, want it masked", got)
	}
	b.FullScreenshot("2-patient-analyst-masked")
	b.Run("reveal", chromedp.Click(`//button[text()="Reveal PHI…"]`, chromedp.BySearch), chromedp.WaitVisible(`.reveal-form textarea`, chromedp.ByQuery),
		chromedp.SendKeys(`.reveal-form textarea`, "Investigating alert 42: possible snooping on this record", chromedp.ByQuery),
		chromedp.Click(`.reveal-form button[type=submit]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector("dl.kv dd").textContent !== "[masked]"`, nil))
	if got := b.Text("dl.kv dd"); got != name {
		t.Fatalf("after the reveal the analyst sees %q, want %q", got, name)
	}
	b.Screenshot("3-patient-analyst-revealed")
	code, m = apiAs(t, in, in.admin, "GET", "/api/v1/audit?action=phi.reveal&actor=alan", nil)
	if code != 200 || len(m["records"].([]any)) == 0 {
		t.Fatalf("the reveal is not in the audit trail: %d %v", code, m)
	}
	// An analyst has none of the administration pages (system status
	// excepted: an analyst may read it), in the navigation or by URL, and
	// the API refuses them too.
	var links []string
	b.Run("admin links", chromedp.Evaluate(`[...document.querySelectorAll('nav.sidenav a[href^="/admin"]')].map(a => a.getAttribute("href"))`, &links))
	if len(links) != 1 || links[0] != "/admin/system" {
		t.Fatalf("analyst's navigation shows admin pages %q, want only /admin/system", links)
	}
	b.AllowConsole(`status of 403`)
	for _, p := range []string{"/admin/users", "/admin/tokens", "/admin/audit", "/admin/config"} {
		b.Run("refused "+p, chromedp.Navigate(in.httpURL+p), chromedp.WaitVisible(`//h1[text()="Not allowed"]`, chromedp.BySearch))
	}
	b.Screenshot("4-analyst-refused")
	var status int
	b.Run("API refuses", chromedp.Evaluate(`fetch("/api/v1/users").then(r => r.status)`, &status, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if status != http.StatusForbidden {
		t.Fatalf("analyst GET /api/v1/users: %d, want 403", status)
	}
}

// TestConsoleAdminPages: an administrator opens every admin page; each
// loads without an error, passes the accessibility checks and is
// screenshotted; a rule is turned off and on again, a token created.
func TestConsoleAdminPages(t *testing.T) {
	in := startVigil(t, t.TempDir(), "--auth-mfa-roles=")
	pw := in.newUser(t, "ada", "admin")
	b := browsertest.New(t)
	consoleLogin(t, b, in, "ada", pw)
	// Every page of the navigation (an administrator sees them all, those
	// other issues add too), then the admin pages by name so none is
	// dropped from the navigation unnoticed.
	var nav []string
	b.Run("navigation", chromedp.Evaluate(`[...document.querySelectorAll('nav.sidenav a')].map(a => a.getAttribute("href"))`, &nav))
	for _, p := range []string{"/admin/users", "/admin/roles", "/admin/tokens", "/admin/sso", "/admin/audit", "/admin/config", "/admin/system", "/sources", "/rules"} {
		if !slices.Contains(nav, p) {
			t.Errorf("%s is not in an administrator's navigation %q", p, nav)
		}
	}
	for _, p := range nav {
		b.Run("open "+p, chromedp.Navigate(in.httpURL+p), chromedp.WaitVisible(`main h1`, chromedp.ByQuery),
			chromedp.Poll(`document.querySelectorAll('main .loading').length === 0`, nil, chromedp.WithPollingTimeout(20*time.Second)))
		if n := b.Count("main .error-box"); n > 0 {
			t.Fatalf("%s: %s", p, b.Text("main .error-box"))
		}
		b.CheckA11y()
		b.Screenshot(strings.TrimPrefix(strings.ReplaceAll(p, "/", "-"), "-"))
	}
	// The roles page shows the matrix the guard enforces: an analyst may
	// reveal PHI but not see it unmasked, a privacy officer may.
	b.Run("roles", chromedp.Navigate(in.httpURL+"/admin/roles"), chromedp.WaitVisible(`table.matrix tbody tr`, chromedp.ByQuery))
	var cells map[string]string
	b.Run("matrix", chromedp.Evaluate(`Object.fromEntries([...document.querySelectorAll('table.matrix tbody tr')].flatMap(tr =>
		[...tr.querySelectorAll('td [aria-label]')].map(s => [tr.querySelector('code').textContent + " " + s.getAttribute('aria-label').split(':')[0], s.getAttribute('aria-label').split(': ')[1]])))`, &cells))
	for k, want := range map[string]string{"phi analyst": "no", "phi:reveal analyst": "yes", "phi privacy-officer": "yes", "users:admin admin": "yes", "users:admin auditor": "no", "ingest ingest": "yes"} {
		if cells[k] != want {
			t.Errorf("roles page: %s = %q, want %q (of %d cells)", k, cells[k], want, len(cells))
		}
	}
	// Turn the first rule off, then on.
	b.Run("rules", chromedp.Navigate(in.httpURL+"/rules"), chromedp.WaitVisible(`//button[text()="Turn off"]`, chromedp.BySearch))
	b.Run("turn off", chromedp.Click(`//button[text()="Turn off"]`, chromedp.BySearch), chromedp.WaitVisible(`.modal textarea`, chromedp.ByQuery),
		chromedp.SendKeys(`.modal textarea`, "noisy during the test", chromedp.ByQuery), chromedp.Click(`.modal button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`//button[text()="Turn on"]`, chromedp.BySearch))
	code, m := apiAs(t, in, in.admin, "GET", "/api/v1/rules", nil)
	off := 0
	for _, r := range m["list"].([]any) {
		if r.(map[string]any)["enabled"] == false {
			off++
		}
	}
	if code != 200 || off != 1 {
		t.Fatalf("after turning one rule off: %d rules off (%d)", off, code)
	}
	b.Screenshot("rule-off")
	b.Run("turn on", chromedp.Click(`//button[text()="Turn on"]`, chromedp.BySearch), chromedp.WaitVisible(`.modal`, chromedp.ByQuery),
		chromedp.Click(`.modal button[type=submit]`, chromedp.ByQuery), chromedp.WaitNotPresent(`.modal`, chromedp.ByQuery))
	b.Run("YAML", chromedp.Click(`//button[text()="YAML"]`, chromedp.BySearch), chromedp.WaitVisible(`.rule-yaml`, chromedp.ByQuery))
	if y := b.Text(".rule-yaml"); !strings.Contains(y, "title:") || !strings.Contains(y, "id:") {
		t.Fatalf("rule YAML %.200q", y)
	}
	b.Screenshot("rule-yaml")
	b.Run("close", chromedp.Click(`//button[text()="Close"]`, chromedp.BySearch))
	// A token, shown once.
	b.Run("tokens", chromedp.Navigate(in.httpURL+"/admin/tokens"), chromedp.WaitVisible(`//button[text()="Create token"]`, chromedp.BySearch),
		chromedp.Click(`//button[text()="Create token"]`, chromedp.BySearch), chromedp.WaitVisible(`.modal input`, chromedp.ByQuery),
		chromedp.SendKeys(`.modal input`, "winlogbeat-dc01", chromedp.ByQuery), chromedp.Click(`.modal button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`.secret-box code`, chromedp.ByQuery))
	if s := b.Text(".secret-box code"); len(s) < 20 {
		t.Fatalf("token secret %q", s)
	}
	b.Screenshot("token-created")
}

// TestConsoleIdleLogout: with a 20-second idle timeout, a user who keeps
// working stays signed in past it (the server moves the session's
// deadline as the console pings); left idle, the console warns, then signs
// out before the server would, and the audit trail records the logoff as
// idle.
func TestConsoleIdleLogout(t *testing.T) {
	in := startVigil(t, t.TempDir(), "--auth-mfa-roles=", "--auth-idle-timeout=20s")
	pw := in.newUser(t, "ivan", "analyst")
	b := browsertest.New(t)
	consoleLogin(t, b, in, "ivan", pw)
	signedIn := time.Now()
	var lastClick time.Time
	for time.Since(signedIn) < 22*time.Second {
		lastClick = time.Now()
		b.Run("work", chromedp.Click(`main h1`, chromedp.ByQuery), chromedp.Sleep(2*time.Second))
		if b.Count(`nav.sidenav`) == 0 || b.Count(`.modal[role=alertdialog]`) != 0 {
			t.Fatalf("signed out or warned while working, %s after signing in", time.Since(signedIn).Round(time.Second))
		}
	}
	b.Run("warned", chromedp.WaitVisible(`//h2[text()="Still there?"]`, chromedp.BySearch))
	b.CheckA11y()
	b.Screenshot("idle-warning")
	b.Run("signed out", chromedp.WaitVisible(`form.signin`, chromedp.ByQuery))
	idle := time.Since(lastClick) // an upper bound of the idle time
	if s := b.Text(".notice-line"); !strings.Contains(s, "idle") {
		t.Fatalf("sign-in page after the idle logout says %q", s)
	}
	b.Screenshot("idle-signed-out")
	// The console signs out after 10.7 s idle (20 s less the ping and touch
	// intervals and a second): never before, and before the server's 20 s.
	if idle < 10*time.Second || idle > 20*time.Second {
		t.Fatalf("signed out after %s idle with a 20s timeout, want about 11s", idle)
	}
	var recs struct {
		Records []struct {
			Actor   string         `json:"actor"`
			Details map[string]any `json:"details"`
		} `json:"records"`
	}
	if err := in.adminCall("GET", "/api/v1/audit?action=auth.logout&actor=ivan", "", &recs); err != nil {
		t.Fatal(err)
	}
	// Newest first; the older one ends the session in.newUser signed in with.
	if len(recs.Records) == 0 || recs.Records[0].Details["reason"] != "idle" {
		t.Fatalf("auth.logout records of ivan: %+v", recs.Records)
	}
}
