package e2e

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/vigil-siem/vigil/internal/browsertest"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/store"
)

// TestConsoleTimings measures, in Chromium, on loopback: the first load
// of the search page (cold cache, the default query over the last hour)
// and a search returning 10,000 rows, with 1,000,000 events stored over
// the last 24 hours; then scrolling through the 10,000 rows. The figures
// are in BENCHMARKS.md. It takes about a minute and a half, so it runs
// only when asked:
//
//	VIGIL_TEST_CONSOLE_BENCH=1 go test -run TestConsoleTimings -v ./e2e/
func TestConsoleTimings(t *testing.T) {
	if os.Getenv("VIGIL_TEST_CONSOLE_BENCH") == "" {
		t.Skip("a benchmark over 1M stored events; run with VIGIL_TEST_CONSOLE_BENCH=1")
	}
	n := 1_000_000
	if v := os.Getenv("VIGIL_TEST_CONSOLE_BENCH_EVENTS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	dir := t.TempDir()
	began := time.Now()
	fillStore(t, filepath.Join(dir, "store"), n, 24*time.Hour)
	t.Logf("stored %d events in %s", n, time.Since(began).Round(time.Millisecond))
	in := startVigil(t, dir, "--detect-enabled=false")
	b := browsertest.New(t)
	consoleSignIn(t, b, in)

	// First load: a new page load with an empty cache.
	var firstLoads, loads, dcls []float64
	var transfer float64
	for range 3 {
		b.Run("clear the cache", network.Enable(), network.ClearBrowserCache())
		b.Run("first load", chromedp.Navigate(in.httpURL+"/search"), chromedp.Poll(`performance.getEntriesByName("vigil-search-done").length > 0`, nil, chromedp.WithPollingTimeout(60*time.Second)))
		var m struct {
			Done, DCL, Load, Transfer, Rows float64
		}
		b.Run("read timings", chromedp.Evaluate(`(() => { const n = performance.getEntriesByType("navigation")[0]; const d = performance.getEntriesByName("vigil-search-done")[0];
			const res = performance.getEntriesByType("resource").filter(r => r.name.includes("/_console/"));
			return {Done: d.startTime, DCL: n.domContentLoadedEventEnd, Load: n.loadEventEnd, Rows: d.detail.rows,
			        Transfer: n.transferSize + res.reduce((a, r) => a + r.transferSize, 0)}; })()`, &m))
		firstLoads, dcls, loads = append(firstLoads, m.Done), append(dcls, m.DCL), append(loads, m.Load)
		transfer = m.Transfer
		t.Logf("first load: DOMContentLoaded %.0f ms, load %.0f ms, results (%v rows) %.0f ms, %.0f bytes transferred", m.DCL, m.Load, m.Rows, m.Done, m.Transfer)
	}
	b.Screenshot("first-load")

	// 10,000 rows of the 1M: the newest over 24 hours.
	var took []float64
	apis := map[string][]float64{}
	for i := range 3 {
		// A different end each time, so no cache answers.
		end := time.Now().Add(-time.Duration(i) * time.Minute).UTC().Format(time.RFC3339)
		u := in.httpURL + "/search?q=*&start=-24h&end=" + url.QueryEscape(end) + "&limit=10000"
		b.Run("10k search", chromedp.Navigate(u), chromedp.Poll(`performance.getEntriesByName("vigil-search-done").length > 0`, nil, chromedp.WithPollingTimeout(120*time.Second)))
		var m struct {
			Rows, Took, Done float64
			APIs             map[string]float64
		}
		b.Run("read timings", chromedp.Evaluate(`(() => { const d = performance.getEntriesByName("vigil-search-done")[0]; const apis = {};
			for (const r of performance.getEntriesByType("resource")) { const m = /\/api\/v1\/(search|hits|fields)/.exec(r.name); if (m) apis[m[1]] = r.duration; }
			return {Rows: d.detail.rows, Took: d.detail.tookMs, Done: d.startTime, APIs: apis}; })()`, &m))
		if m.Rows != 10000 {
			t.Fatalf("the search returned %v rows, want 10000", m.Rows)
		}
		took = append(took, m.Took)
		for k, v := range m.APIs {
			apis[k] = append(apis[k], v)
		}
		t.Logf("10,000 rows: search, histogram and fields %.0f ms (page ready at %.0f ms); requests in parallel: search %.0f ms, hits %.0f ms, fields %.0f ms",
			m.Took, m.Done, m.APIs["search"], m.APIs["hits"], m.APIs["fields"])
	}
	b.Screenshot("10k-rows")

	// Scroll through the 10,000 rows, a screen at a time, one frame each.
	var frames []float64
	b.Run("scroll", chromedp.Evaluate(`(async () => {
		const s = document.querySelector(".vt-scroll"); const out = [];
		for (let i = 0; i < 60; i++) {
			const t0 = performance.now();
			s.scrollTop += s.clientHeight * 5;
			s.dispatchEvent(new Event("scroll"));
			await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
			out.push(performance.now() - t0);
		}
		return out; })()`, &frames, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	var last string
	b.Run("last row", chromedp.Text(`.vt-row:last-child .vt-cell`, &last, chromedp.ByQuery))
	t.Logf("scrolled to %q", last)
	b.Screenshot("10k-scrolled")

	fmt.Printf("console timings, %d events stored (median of 3): first load of the search page: DOMContentLoaded %.0f ms, load %.0f ms, results shown %.0f ms, %.0f KB transferred; 10,000-row search %.0f ms (search %.0f, hits %.0f, fields %.0f ms in parallel); scrolling: median %.1f ms, p95 %.1f ms per 2-frame step over 60 steps\n",
		n, median(dcls), median(loads), median(firstLoads), transfer/1024, median(took), median(apis["search"]), median(apis["hits"]), median(apis["fields"]), median(frames), pct(frames, 95))
}

func median(v []float64) float64 { return pct(v, 50) }

func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[min(len(s)-1, int(float64(len(s))*p/100))]
}

// fillStore writes n events spread over the last span into a store
// directory before the server opens it: EHR accesses, logons and syslog
// lines over 40 hosts and 500 users.
func fillStore(t *testing.T, dir string, n int, span time.Duration) {
	t.Helper()
	st, err := store.Open(dir, store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	const batch = 10_000
	evs := make([]event.Event, 0, batch)
	for i := range n {
		e := event.Event{Time: now.Add(-span + time.Duration(float64(span)*float64(i)/float64(n)))}
		user := fmt.Sprintf("user%03d", i%500)
		host := fmt.Sprintf("ws-%02d", i%40)
		e.Add("host.name", host)
		e.Add("user.name", user)
		e.Add("source.ip", fmt.Sprintf("10.%d.%d.%d", i%4, i%50, i%200))
		switch i % 4 {
		case 0, 1:
			e.Add("event.module", "ehr")
			e.Add("event.dataset", "ehr.access")
			e.Add("event.action", []string{"chart-review", "note-viewed", "vitals-entered"}[i%3])
			e.Add("healthcare.patient.id", fmt.Sprintf("MRN%07d", i%60000))
			e.Add("message", fmt.Sprintf("EHR Epic %s by %s", []string{"chart-review", "note-viewed", "vitals-entered"}[i%3], user))
		case 2:
			e.Add("event.module", "windows")
			e.Add("event.dataset", "windows.security")
			e.Add("event.category", "authentication")
			e.Add("event.outcome", []string{"success", "success", "success", "failure"}[i%4/3+i%3/2])
			e.Add("message", "An account was successfully logged on")
		default:
			e.Add("event.module", "syslog")
			e.Add("event.dataset", "linux.auth")
			e.Add("process.name", "sshd")
			e.Add("message", fmt.Sprintf("Accepted publickey for %s from 10.0.%d.%d port %d ssh2", user, i%50, i%200, 30000+i%30000))
		}
		e.Add(event.FieldID, fmt.Sprintf("bench-%d", i))
		evs = append(evs, e)
		if len(evs) == batch {
			st.Add(evs)
			evs = evs[:0]
		}
	}
	st.Add(evs)
	st.Flush()
}
