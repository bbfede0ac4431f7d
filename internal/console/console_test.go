package console

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func newHandler(t *testing.T) (*Handler, http.Handler) {
	t.Helper()
	h, err := New(Options{Exclude: []string{"/es/"}})
	if err != nil {
		t.Fatal(err)
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Next", "1")
		w.Write([]byte("next"))
	})
	return h, h.Wrap(next)
}

func do(hh http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	hh.ServeHTTP(w, r)
	return w
}

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

func TestBrowsersGetTheConsoleClientsGetTheAPI(t *testing.T) {
	_, hh := newHandler(t)
	f := func(method, target, accept string, wantConsole bool) {
		t.Helper()
		w := do(hh, method, target, "Accept", accept)
		gotConsole := w.Header().Get("X-Next") == ""
		if gotConsole != wantConsole {
			t.Fatalf("%s %s Accept %q: console=%v, want %v", method, target, accept, gotConsole, wantConsole)
		}
		if wantConsole {
			if w.Code != 200 || (method == "GET" && !strings.Contains(w.Body.String(), `<div id="app">`)) {
				t.Fatalf("%s %s: status %d body %.200q, want the console page", method, target, w.Code, w.Body.String())
			}
			if w.Header().Get("Content-Security-Policy") != CSP || w.Header().Get("Cache-Control") != "no-cache" {
				t.Fatalf("%s %s: headers %v", method, target, w.Header())
			}
		}
	}
	// Browser navigations, anywhere in the application.
	f("GET", "/", browserAccept, true)
	f("GET", "/search?q=host.name:a", browserAccept, true)
	f("GET", "/entity/user/alice", browserAccept, true)
	f("HEAD", "/", "text/html", true)
	// Elasticsearch clients, shippers, curl and the API.
	f("GET", "/", "*/*", false)
	f("GET", "/", "", false)
	f("GET", "/", "application/json", false)
	f("GET", "/", "application/vnd.elasticsearch+json; compatible-with=8", false)
	f("GET", "/", "text/html;q=0", false)
	f("POST", "/", browserAccept, false)
	f("POST", "/_bulk", browserAccept, false)
	f("GET", "/_cluster/health", browserAccept, false)
	f("GET", "/api/v1/search", browserAccept, false)
	f("GET", "/metrics", browserAccept, false)
	f("GET", "/healthz", browserAccept, false)
	f("GET", "/es/", browserAccept, false)
	f("GET", "/services/collector/health", browserAccept, false)
}

func TestAssetsCachedAndCompressed(t *testing.T) {
	h, hh := newHandler(t)
	var js string
	for p := range h.assets {
		if strings.HasSuffix(p, ".js") && strings.Contains(p, "/index-") {
			js = p
		}
	}
	if js == "" {
		t.Fatal("no entry script in the build")
	}
	w := do(hh, "GET", js, "Accept-Encoding", "gzip, deflate, br")
	if w.Code != 200 || w.Header().Get("Content-Encoding") != "gzip" || w.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("GET %s: %d %v", js, w.Code, w.Header())
	}
	if cc := w.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Fatalf("Cache-Control %q for a hashed file", cc)
	}
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !bytes.Equal(plain, h.assets[js].body) {
		t.Fatal("gzip body differs from the file")
	}
	// Without gzip: the plain file; with the ETag: 304.
	w = do(hh, "GET", js)
	if w.Header().Get("Content-Encoding") != "" || !bytes.Equal(w.Body.Bytes(), h.assets[js].body) {
		t.Fatal("plain GET did not answer the plain file")
	}
	w = do(hh, "GET", js, "If-None-Match", w.Header().Get("ETag"))
	if w.Code != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d, want 304", w.Code)
	}
	// Unknown files under the prefix are 404, never the page or the API.
	w = do(hh, "GET", AssetPrefix+"nope.js", "Accept", browserAccept)
	if w.Code != 404 || w.Header().Get("X-Next") != "" {
		t.Fatalf("missing asset: %d next=%q", w.Code, w.Header().Get("X-Next"))
	}
	if w := do(hh, "POST", js); w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST asset: %d", w.Code)
	}
	// The favicon has no hash: revalidated.
	w = do(hh, "GET", AssetPrefix+"favicon.svg")
	if w.Code != 200 || w.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("favicon: %d %v", w.Code, w.Header())
	}
}

// TestNothingExternal: the console must work on an isolated network: no
// script, style, font or image from another origin, no inline script
// (which the CSP would refuse anyway).
func TestNothingExternal(t *testing.T) {
	h, _ := newHandler(t)
	idx := string(h.index.body)
	if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(idx) {
		t.Fatalf("index.html has an inline script:\n%s", idx)
	}
	ref := regexp.MustCompile(`(?:src|href)="([^"]*)"`)
	for _, m := range ref.FindAllStringSubmatch(idx, -1) {
		if !strings.HasPrefix(m[1], AssetPrefix) {
			t.Errorf("index.html refers to %q, outside %s", m[1], AssetPrefix)
		}
	}
	ext := regexp.MustCompile(`(?i)(@import|url\()\s*["']?(https?:)?//`)
	for p, a := range h.assets {
		if strings.HasSuffix(p, ".css") && ext.Match(a.body) {
			t.Errorf("%s loads something from another origin", p)
		}
	}
}

type manifestEntry struct {
	File           string   `json:"file"`
	IsEntry        bool     `json:"isEntry"`
	Imports        []string `json:"imports"`
	DynamicImports []string `json:"dynamicImports"`
	CSS            []string `json:"css"`
}

// FirstPageFiles lists the files a browser loads to show the search page
// after sign-in: the page, the entry script and its static imports and
// styles, and the search page's module with its own.
func firstPageFiles(t *testing.T) []string {
	t.Helper()
	data, err := fs.ReadFile(dist, "dist/.vite/manifest.json")
	if err != nil {
		t.Fatalf("read the build manifest: %v", err)
	}
	var m map[string]manifestEntry
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var files []string
	var walk func(key string)
	walk = func(key string) {
		if seen[key] {
			return
		}
		seen[key] = true
		e, ok := m[key]
		if !ok {
			t.Fatalf("manifest has no %q", key)
		}
		files = append(files, "/"+e.File)
		for _, c := range e.CSS {
			files = append(files, "/"+c)
		}
		for _, i := range e.Imports {
			walk(i)
		}
	}
	walk("index.html")
	walk("src/pages/search.tsx")
	return files
}

// Budget is the most the first page may weigh, gzipped.
const budget = 400 << 10

func TestBundleBudget(t *testing.T) {
	h, _ := newHandler(t)
	total := len(h.index.gz)
	if h.index.gz == nil {
		total = len(h.index.body)
	}
	for _, f := range firstPageFiles(t) {
		a := h.assets[f]
		if a == nil {
			t.Fatalf("the manifest names %s, which the build does not have", f)
		}
		n := len(a.body)
		if a.gz != nil {
			n = len(a.gz)
		}
		t.Logf("%-48s %7d bytes gzipped", f, n)
		total += n
	}
	t.Logf("first page: %d bytes gzipped (budget %d)", total, budget)
	if total > budget {
		t.Fatalf("the first page weighs %d KB gzipped, over the budget of %d KB", total>>10, budget>>10)
	}
}
