// Package console serves Vigil's web console: the TypeScript application
// in console/ at the top of the repository, built into dist/ and embedded
// in the binary, so neither running Vigil nor its tests need Node.
//
// The console shares the HTTP root with the Elasticsearch-compatible API,
// which shippers address at "/". The two are told apart without
// ambiguity:
//
//   - the console's files live under /_console/, a path no Elasticsearch
//     index or API can take (index names never start with "_", and no
//     Elasticsearch API is called _console);
//   - a GET or HEAD whose Accept header asks for text/html is a browser
//     navigating, and gets the console's page (the application routes on
//     the path itself). Elasticsearch clients and shippers never ask for
//     HTML, so GET / still answers them the version banner.
//
// Every console response carries a strict Content-Security-Policy (only
// this origin's scripts, styles, images and API; no inline script; no
// framing) so that the console works on an isolated hospital network and
// an injected value cannot run script. Files whose names carry a content
// hash are cached for a year; the page itself is revalidated on every
// visit so a new binary's console is picked up at once.
package console

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// AssetPrefix is the path under which the console's files are served.
const AssetPrefix = "/_console/"

// CSP is the Content-Security-Policy of every console response.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// hashed matches a built file name with a content hash ("index-CW8HTMiU.js").
var hashed = regexp.MustCompile(`-[A-Za-z0-9_-]{8}\.(js|css)$`)

type asset struct {
	body, gz  []byte
	ctype     string
	etag      string
	immutable bool
}

// Handler serves the console. It is safe for concurrent use.
type Handler struct {
	assets  map[string]*asset // by URL path
	index   *asset
	exclude []string
}

// Options configure a Handler.
type Options struct {
	// Exclude lists path prefixes that are never the console's pages even
	// when a browser navigates there (API mounts such as "/api/" or the
	// Elasticsearch prefix).
	Exclude []string
}

// DefaultExclude are the paths of Vigil's own APIs.
var DefaultExclude = []string{"/api/", "/metrics", "/debug/", "/healthz", "/readyz", "/services/", "/v1/"}

// New loads the embedded build. It fails when the build is missing, which
// means the binary was built from a tree where console/ was never built.
func New(opts Options) (*Handler, error) {
	return load(dist, "dist", opts)
}

func load(fsys fs.FS, root string, opts Options) (*Handler, error) {
	h := &Handler{assets: map[string]*asset{}, exclude: append(append([]string{}, DefaultExclude...), opts.Exclude...)}
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel := strings.TrimPrefix(p, root+"/")
		if strings.HasPrefix(rel, ".") { // .vite/manifest.json: for the build checks only
			return nil
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		a := &asset{body: body, ctype: mime.TypeByExtension(path.Ext(rel)), immutable: hashed.MatchString(rel)}
		if a.ctype == "" {
			a.ctype = "application/octet-stream"
		}
		sum := sha256.Sum256(body)
		a.etag = `"` + hex.EncodeToString(sum[:12]) + `"`
		if compressible(a.ctype) {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			zw.Write(body)
			zw.Close()
			if buf.Len() < len(body) {
				a.gz = buf.Bytes()
			}
		}
		h.assets["/"+rel] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("console: read embedded build: %w", err)
	}
	h.index = h.assets["/index.html"]
	if h.index == nil {
		return nil, fmt.Errorf("console: the embedded build has no index.html; build it with: cd console && npm ci && npm run build")
	}
	delete(h.assets, "/index.html")
	return h, nil
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "javascript") || strings.Contains(ctype, "json") ||
		strings.Contains(ctype, "svg")
}

// Wrap serves the console in front of next: its files under AssetPrefix,
// and its page to browser navigations; every other request goes to next.
func (h *Handler) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, AssetPrefix):
			h.serveAsset(w, r)
		case h.IsNavigation(r):
			h.serve(w, r, h.index)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// IsNavigation reports whether a request is a browser asking for a page:
// a GET or HEAD that accepts text/html, outside the API paths.
func (h *Handler) IsNavigation(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if !acceptsHTML(r.Header.Values("Accept")) {
		return false
	}
	p := r.URL.Path
	for _, x := range h.exclude {
		if strings.HasPrefix(p, x) || p == strings.TrimSuffix(x, "/") {
			return false
		}
	}
	// Elasticsearch API paths ("/_bulk", "/_cluster/health") are never
	// console pages.
	return !strings.HasPrefix(p, "/_")
}

func acceptsHTML(vals []string) bool {
	for _, v := range vals {
		for _, part := range strings.Split(v, ",") {
			mt, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(strings.TrimSpace(mt), "text/html") && !refused(params) {
				return true
			}
		}
	}
	return false
}

func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	a := h.assets[r.URL.Path]
	if a == nil {
		securityHeaders(w.Header())
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	h.serve(w, r, a)
}

func securityHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, a *asset) {
	hd := w.Header()
	securityHeaders(hd)
	hd.Set("Content-Type", a.ctype)
	hd.Set("ETag", a.etag)
	hd.Set("Vary", "Accept-Encoding")
	if a.immutable {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if a.gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body = a.gz
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

func acceptsGzip(v string) bool {
	for _, part := range strings.Split(v, ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && !refused(params) {
			return true
		}
	}
	return false
}

// refused reports whether media-range or coding parameters carry q=0.
func refused(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q == 0
		}
	}
	return false
}
