// Package browsertest drives a real Chromium from Go tests (chromedp
// against Debian's chromium package). A test gets a browser tab sized like
// an analyst's screen; every console error, uncaught exception, failed
// asset or Content-Security-Policy violation in the page fails the test;
// screenshots are saved as test artifacts.
//
// Without a Chromium the tests skip with a message, except under CI
// (CI set in the environment), where a missing browser fails: .ci/run
// installs it.
//
// Environment:
//
//	VIGIL_TEST_CHROMIUM   the browser executable (default: chromium on PATH)
//	VIGIL_TEST_ARTIFACTS  where screenshots go (default: test-artifacts/ at the
//	                      top of the repository)
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Width and Height are the viewport: the narrowest screen the console
// promises to be usable on.
const (
	Width  = 1280
	Height = 800
)

// Browser is one Chromium with one tab.
type Browser struct {
	t      testing.TB
	ctx    context.Context
	cancel context.CancelFunc
	// Artifacts is the folder screenshots are written to.
	Artifacts string

	mu     sync.Mutex
	errs   []string
	allow  []*regexp.Regexp
	Prefix string // screenshot file name prefix (the test's name)
}

// Executable finds the browser, or returns "".
func Executable() string {
	if p := os.Getenv("VIGIL_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New starts a headless Chromium for the test, or skips the test when there
// is none. The browser is closed when the test ends; console errors
// collected until then fail it.
func New(t testing.TB) *Browser {
	t.Helper()
	exe := Executable()
	if exe == "" {
		msg := "no Chromium: install Debian's chromium package (apt-get install chromium) or set VIGIL_TEST_CHROMIUM"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI must run the browser tests)")
		}
		t.Skip(msg)
	}
	// The profile is removed after the browser is gone (t.TempDir would
	// race with Chromium's last writes).
	profile, err := os.MkdirTemp("", "vigil-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	// The flags that work on an isolated machine: no sandbox (tests run as
	// root), no GPU, and no background connections to the outside.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(Width, Height),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints,AutofillServerCommunication"),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("hide-scrollbars", false),
		chromedp.Flag("font-render-hinting", "none"),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &Browser{t: t, ctx: ctx, Artifacts: artifactsDir(t), Prefix: safeName(t.Name())}
	b.cancel = func() {
		_ = chromedp.Cancel(ctx) // closes the browser and waits for it
		cancel()
		acancel()
		os.RemoveAll(profile)
	}
	chromedp.ListenTarget(ctx, b.listen)
	if err := chromedp.Run(ctx, log.Enable(), runtime.Enable(), chromedp.EmulateViewport(Width, Height)); err != nil {
		b.cancel()
		t.Fatalf("start Chromium (%s): %v", exe, err)
	}
	t.Cleanup(func() {
		b.cancel()
		b.CheckConsole()
	})
	return b
}

// Ctx is the tab's context, for chromedp calls the helpers do not cover.
func (b *Browser) Ctx() context.Context { return b.ctx }

// AllowConsole accepts console messages matching re (an expected refusal
// the page shows, for instance).
func (b *Browser) AllowConsole(re string) {
	b.mu.Lock()
	b.allow = append(b.allow, regexp.MustCompile(re))
	b.mu.Unlock()
}

func (b *Browser) listen(ev any) {
	var msg string
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type != runtime.APITypeError && e.Type != runtime.APITypeAssert {
			return
		}
		var parts []string
		for _, a := range e.Args {
			if a.Value != nil {
				parts = append(parts, string(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		msg = "console." + string(e.Type) + ": " + strings.Join(parts, " ")
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		msg = "uncaught exception: " + d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
	case *log.EventEntryAdded:
		en := e.Entry
		if en.Level != log.LevelError {
			return
		}
		// An API answering 4xx is an answer the page handles and shows in
		// words (a refusal, a wrong password, a syntax error); a file of
		// the console that fails to load is a bug.
		if en.Source == log.SourceNetwork && strings.Contains(en.URL, "/api/") {
			return
		}
		msg = "log " + string(en.Source) + ": " + en.Text + " " + en.URL
	default:
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, re := range b.allow {
		if re.MatchString(msg) {
			return
		}
	}
	b.errs = append(b.errs, msg)
}

// Errors returns the errors the page logged so far and forgets them.
func (b *Browser) Errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	errs := b.errs
	b.errs = nil
	return errs
}

// CheckConsole fails the test if the page logged errors so far, and
// forgets them.
func (b *Browser) CheckConsole() {
	b.t.Helper()
	if errs := b.Errors(); len(errs) > 0 {
		b.t.Errorf("the page logged %d error(s):\n  %s", len(errs), strings.Join(errs, "\n  "))
	}
}

// Run runs chromedp actions with a time limit; on failure it saves a
// screenshot named after the failing step and fails the test.
func (b *Browser) Run(step string, actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		path := b.save("FAILED-" + step)
		b.t.Fatalf("%s: %v (screenshot: %s)", step, err, path)
	}
}

// Screenshot saves the viewport as <artifacts>/<test>-<name>.png and
// returns the path.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	p := b.save(name)
	b.t.Logf("screenshot %s", p)
	return p
}

// FullScreenshot saves the whole page, beyond the viewport: the viewport
// is made as tall as the page's scrolled main area for the shot.
func (b *Browser) FullScreenshot(name string) string {
	b.t.Helper()
	var h int64
	b.Run("measure the page", chromedp.Evaluate(`Math.ceil(Math.max(document.documentElement.scrollHeight,
		...Array.from(document.querySelectorAll("main")).map(m => m.scrollHeight + m.getBoundingClientRect().top)))`, &h))
	h = max(Height, min(h, 6000))
	var buf []byte
	b.Run("full screenshot "+name, chromedp.EmulateViewport(Width, h), chromedp.Sleep(300*time.Millisecond),
		chromedp.CaptureScreenshot(&buf), chromedp.EmulateViewport(Width, Height))
	p := b.write(name, buf)
	b.t.Logf("screenshot %s", p)
	return p
}

func (b *Browser) save(name string) string {
	var buf []byte
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.CaptureScreenshot(&buf)); err != nil {
		b.t.Logf("screenshot %s failed: %v", name, err)
		return ""
	}
	return b.write(name, buf)
}

func (b *Browser) write(name string, png []byte) string {
	if err := os.MkdirAll(b.Artifacts, 0o755); err != nil {
		b.t.Logf("artifacts: %v", err)
		return ""
	}
	p := filepath.Join(b.Artifacts, b.Prefix+"-"+safeName(name)+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Logf("artifacts: %v", err)
		return ""
	}
	return p
}

// Timing is the Navigation Timing of the last page load, in milliseconds
// from the start of navigation.
type Timing struct {
	ResponseEnd      float64 `json:"responseEnd"`
	DOMContentLoaded float64 `json:"domContentLoadedEventEnd"`
	Load             float64 `json:"loadEventEnd"`
	TransferSize     float64 `json:"transferSize"`
}

// NavigationTiming reads performance's navigation entry.
func (b *Browser) NavigationTiming() Timing {
	b.t.Helper()
	var tm Timing
	b.Run("read navigation timing", chromedp.Evaluate(`(() => { const n = performance.getEntriesByType("navigation")[0];
		return {responseEnd: n.responseEnd, domContentLoadedEventEnd: n.domContentLoadedEventEnd, loadEventEnd: n.loadEventEnd, transferSize: n.transferSize}; })()`, &tm))
	return tm
}

// Now is the page's performance.now(), in milliseconds.
func (b *Browser) Now() float64 {
	b.t.Helper()
	var v float64
	b.Run("read performance.now", chromedp.Evaluate(`performance.now()`, &v))
	return v
}

// Text returns the text content of the first node matching sel.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	var s string
	b.Run("read text of "+sel, chromedp.Text(sel, &s, chromedp.ByQuery, chromedp.NodeVisible))
	return s
}

// Value returns the value of the first input, select or text area
// matching sel.
func (b *Browser) Value(sel string) string {
	b.t.Helper()
	var s string
	b.Run("read value of "+sel, chromedp.Value(sel, &s, chromedp.ByQuery, chromedp.NodeVisible))
	return s
}

// Count returns how many nodes match a CSS selector now.
func (b *Browser) Count(sel string) int {
	b.t.Helper()
	var n int
	b.Run("count "+sel, chromedp.Evaluate(fmt.Sprintf(`document.querySelectorAll(%q).length`, sel), &n))
	return n
}

// WaitGone waits until no node matches sel.
func (b *Browser) WaitGone(sel string) {
	b.t.Helper()
	b.Run("wait for "+sel+" to go", chromedp.WaitNotPresent(sel, chromedp.ByQuery))
}

// Nodes returns the nodes matching sel (waiting for one at least).
func (b *Browser) Nodes(sel string) []*cdp.Node {
	b.t.Helper()
	var ns []*cdp.Node
	b.Run("find "+sel, chromedp.Nodes(sel, &ns, chromedp.ByQueryAll))
	return ns
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string { return strings.Trim(unsafeChars.ReplaceAllString(s, "_"), "_") }

func artifactsDir(t testing.TB) string {
	if d := os.Getenv("VIGIL_TEST_ARTIFACTS"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		return filepath.Join(os.TempDir(), "vigil-test-artifacts")
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "test-artifacts")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(os.TempDir(), "vigil-test-artifacts")
		}
	}
}
