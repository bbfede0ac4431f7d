package browsertest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestHarnessCatchesWhatPagesGetWrong: the checks every console test runs
// must see a console error, an uncaught exception, a missing script, a
// control without a label, an image without alt text and poor contrast.
func TestHarnessCatchesWhatPagesGetWrong(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!doctype html><html><body style="background:#fff">
<p style="color:#bbb">too pale</p>
<p style="color:#222">fine</p>
<input id="nolabel">
<label>Named <input id="named"></label>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<button></button>
<script src="/missing.js"></script>
<script>console.error("boom"); setTimeout(() => { throw new Error("uncaught") }, 0);</script>
</body></html>`))
	}))
	defer srv.Close()
	b := New(t)
	b.Run("open", chromedp.Navigate(srv.URL), chromedp.Sleep(300*time.Millisecond))
	problems := strings.Join(b.A11yProblems(), "\n")
	for _, want := range []string{"contrast", "#nolabel", "image without alt", "no accessible name: button"} {
		if !strings.Contains(problems, want) {
			t.Errorf("accessibility check missed %q; found:\n%s", want, problems)
		}
	}
	if strings.Contains(problems, "#named") || strings.Contains(problems, `"fine"`) {
		t.Errorf("accessibility check flagged what is right:\n%s", problems)
	}
	errs := strings.Join(b.Errors(), "\n")
	for _, want := range []string{`console.error: "boom"`, "uncaught", "missing.js"} {
		if !strings.Contains(errs, want) {
			t.Errorf("console check missed %q; found:\n%s", want, errs)
		}
	}
}
