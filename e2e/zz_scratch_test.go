package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-siem/vigil/internal/browsertest"
)

// Scratch: screenshots of pages of a running server (SCRATCH_URL, SCRATCH_TOKEN, SCRATCH_PAGES).
func TestZZScratch(t *testing.T) {
	u := os.Getenv("SCRATCH_URL")
	if u == "" {
		t.Skip("no SCRATCH_URL")
	}
	b := browsertest.New(t)
	b.Artifacts = "/tmp/console/shots"
	b.Run("open", chromedp.Navigate(u+"/"), chromedp.WaitVisible(`input[name=token]`, chromedp.ByQuery))
	b.Run("sign in", chromedp.SendKeys(`input[name=token]`, os.Getenv("SCRATCH_TOKEN"), chromedp.ByQuery), chromedp.Click(`form.signin button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`nav.sidenav`, chromedp.ByQuery))
	for i, p := range strings.Split(os.Getenv("SCRATCH_PAGES"), " ") {
		b.Run("page "+p, chromedp.Navigate(u+p), chromedp.WaitVisible(`main h1`, chromedp.ByQuery))
		time.Sleep(3 * time.Second)
		b.FullScreenshot(string(rune('a'+i)) + "-" + strings.NewReplacer("/", "_", "?", "_", "&", "_", "=", "_").Replace(p)[:min(40, len(p))])
	}
}
