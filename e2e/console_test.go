package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

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
		Tagline string                  `json:"tagline"`
	}
	if err := json.NewDecoder(res.Body).Decode(&banner); err != nil || res.StatusCode != 200 || banner.Version.Number == "" {
		t.Fatalf("Elasticsearch GET /: %d %v %+v", res.StatusCode, err, banner)
	}
	res = get("", false)
	if res.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("Elasticsearch GET / without credentials: %d %v", res.StatusCode, res.Header)
	}
}

// TestConsoleSignInWithToken: on a server without user accounts the
// console asks for the API token and opens the search page.
func TestConsoleSignInWithToken(t *testing.T) {
	in := startVigil(t, t.TempDir())
	b := browsertest.New(t)
	b.Run("open the console", chromedp.Navigate(in.httpURL+"/"), chromedp.WaitVisible(`input[name=token]`, chromedp.ByQuery))
	b.Screenshot("signin")
	b.Run("sign in", chromedp.SendKeys(`input[name=token]`, in.token, chromedp.ByQuery), chromedp.Click(`form.signin button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`nav.sidenav a[href="/search"]`, chromedp.ByQuery))
	b.Run("search page", chromedp.WaitVisible(`h1`, chromedp.ByQuery))
	if got := b.Text("h1"); got != "Search" {
		t.Fatalf("after sign-in the page is %q, want Search", got)
	}
	b.Screenshot("search")
}
