// Package elastic is Vigil's Elasticsearch-compatible ingest endpoint, so
// that Beats (Filebeat, Winlogbeat), Elastic Agent, Logstash, Fluent Bit,
// Vector and the official clients send to Vigil as they would to
// Elasticsearch.
//
// It serves POST /_bulk and POST /{index}/_bulk (index and create actions;
// update and delete are answered per item with an error, since Vigil's log
// is append-only), single-document POST /{index}/_doc, the root document
// (GET /, version 8.x, header X-Elastic-Product: Elasticsearch) and the
// calls shippers make at start-up: license (/_license, /_xpack), index and
// component templates, legacy templates, ILM policies, ingest pipelines,
// data streams and index creation (GET/HEAD answer what was PUT since
// start, or 404; PUT is acknowledged), /_nodes, /_cluster/health and
// /_security/_authenticate. Bulk answers have Elasticsearch's shape (took,
// errors, per-item _index, _id, _version, result, status, _shards,
// _seq_no, _primary_term) and honour filter_path.
//
// Every request authenticates, through the server's access middleware,
// with a token holding the ingest permission: HTTP Basic with any user
// name and the token as password, "ApiKey base64(id:token)" (or the raw
// token), or "Bearer <token>". Others get 401 with WWW-Authenticate, or
// 403 for a token without the ingest permission, in Elasticsearch's form.
//
// Documents are flattened (internal/parse/jsonflat); @timestamp becomes the
// event time; the index name becomes data_stream.type/dataset/namespace
// for data stream names (logs-<dataset>-<namespace>) and event.dataset
// otherwise (date and version suffixes removed), never overwriting what the
// document carries. A bulk request is answered only after the bus stored
// its events; what the bus refused is answered per item with 429.
package elastic

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/parse/jsonflat"
)

// Source is the metrics label and bus subject of this endpoint.
const Source = "elastic"

// DefaultVersion is the Elasticsearch version announced by GET /. Beats
// and Elastic Agent of a newer minor version may refuse an older server;
// set Handler.Version to match them (e.g. "9.1.0" for 9.x shippers).
const DefaultVersion = "8.19.0"

// Handler serves the Elasticsearch-compatible API. Set the exported fields
// before the first request.
type Handler struct {
	Pub     ingest.Publisher
	Metrics *ingest.Metrics
	Log     *slog.Logger
	// MaxBodyBytes bounds a request body after decompression (default
	// 64 MiB); MaxDocBytes one document line (default 1 MiB).
	MaxBodyBytes int64
	MaxDocBytes  int
	// Normalize, when set, is applied to each document after flattening
	// and time extraction (e.g. Windows normalisation of winlog.* fields).
	// It is called from concurrent requests.
	Normalize func(*event.Event)
	// Version is the version number GET / announces (DefaultVersion).
	Version string
	// ClusterName names the "cluster" in answers (default "vigil").
	ClusterName string
	// Ready, when set, reports whether the pipeline takes events; it
	// colours /_cluster/health.
	Ready func() error
	Now   func() time.Time

	// Prefix, when set (e.g. "/es"), is the path the API is mounted
	// under; shippers then name it in their URL or path setting.
	Prefix string

	once        sync.Once
	clusterUUID string
	nodeID      string
	seqNo       atomic.Int64
	idPrefix    [9]byte
	idCounter   atomic.Uint64

	mu            sync.Mutex
	resources     map[string][]byte // PUT templates, policies, … by path
	resourceBytes int
}

// maxResources bounds the remembered templates, policies and indices.
const maxResources = 4096

// maxResourceBytes bounds one remembered PUT body.
const maxResourceBytes = 256 << 10

// Routes returns the endpoint's route (permission ingest). Elasticsearch
// clients address the API at the root of their URL, so it is mounted as
// the catch-all "/" (more specific API patterns still win), or under
// Prefix.
func (h *Handler) Routes() []access.Route {
	pattern := "/"
	if p := strings.TrimRight(h.Prefix, "/"); p != "" {
		pattern = p + "/"
	}
	return []access.Route{{Pattern: pattern, Perm: access.Ingest, Handler: h, Credentials: Secret, Refuse: Refuse}}
}

// resourceKinds are the stored-configuration APIs: GET/HEAD answer what was
// PUT, PUT/POST acknowledge, DELETE forgets.
var resourceKinds = map[string]string{
	"_index_template": "_index_template", "_component_template": "_component_template", "_template": "_template",
	"_ilm/policy": "_ilm/policy", "_ingest/pipeline": "_ingest/pipeline",
}

func (h *Handler) init() {
	h.once.Do(func() {
		if h.Version == "" {
			h.Version = DefaultVersion
		}
		if h.ClusterName == "" {
			h.ClusterName = "vigil"
		}
		if h.MaxBodyBytes <= 0 {
			h.MaxBodyBytes = 64 << 20
		}
		if h.MaxDocBytes <= 0 {
			h.MaxDocBytes = 1 << 20
		}
		if h.Now == nil {
			h.Now = time.Now
		}
		if h.Log == nil {
			h.Log = slog.New(slog.DiscardHandler)
		}
		var b [16]byte
		_, _ = rand.Read(b[:])
		h.clusterUUID = base64.RawURLEncoding.EncodeToString(b[:])
		h.nodeID = hex.EncodeToString(b[:6])
		_, _ = rand.Read(h.idPrefix[:])
		h.resources = map[string][]byte{}
	})
}

// ServeHTTP serves an authenticated request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.init()
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	h.route(w, r)
}

// Secret returns the token a request presents: the password of HTTP Basic,
// the secret of "ApiKey base64(id:secret)" or the raw ApiKey value, or a
// Bearer token.
func Secret(r *http.Request) string {
	a := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, rest, ok := strings.Cut(a, " ")
	if !ok {
		return ""
	}
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(scheme) {
	case "basic":
		if _, pw, ok := r.BasicAuth(); ok {
			return pw
		}
	case "apikey":
		if dec, err := base64.StdEncoding.DecodeString(rest); err == nil {
			if _, secret, ok := strings.Cut(string(dec), ":"); ok {
				return secret
			}
		}
		// Beats' api_key setting takes "id:key" and encodes it; some
		// shippers send the raw value.
		if _, secret, ok := strings.Cut(rest, ":"); ok {
			return secret
		}
		return rest
	case "bearer":
		return rest
	}
	return ""
}

// Refuse answers a request the access middleware refused, as
// Elasticsearch would: 401 with WWW-Authenticate, or 403 for a credential
// without the ingest permission.
func Refuse(w http.ResponseWriter, r *http.Request, status int, reason string) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	if status == http.StatusForbidden {
		writeError(w, status, "security_exception", "action [indices:data/write/bulk] is unauthorized: "+reason)
		return
	}
	msg := "missing authentication credentials for REST request [" + truncate(r.URL.Path, 128) + "]"
	if r.Header.Get("Authorization") != "" {
		msg = "unable to authenticate with provided credentials: " + reason +
			" (send a Vigil ingest token as the password of HTTP Basic, or as an ApiKey)"
	}
	w.Header().Add("WWW-Authenticate", `Basic realm="security", charset="UTF-8"`)
	w.Header().Add("WWW-Authenticate", "ApiKey")
	writeError(w, http.StatusUnauthorized, "security_exception", msg)
}

// esError is Elasticsearch's error body.
type esError struct {
	Error  esErrorBody `json:"error"`
	Status int         `json:"status"`
}

type esErrorBody struct {
	RootCause []esCause `json:"root_cause"`
	Type      string    `json:"type"`
	Reason    string    `json:"reason"`
}

type esCause struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

func writeError(w http.ResponseWriter, status int, typ, reason string) {
	writeJSON(w, status, esError{Error: esErrorBody{RootCause: []esCause{{typ, reason}}, Type: typ, Reason: reason}, Status: status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (h *Handler) noHandler(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"error":  "no handler found for uri [" + truncate(r.URL.Path, 256) + "] and method [" + r.Method + "]",
		"status": http.StatusBadRequest,
	})
}

// buildDate is announced as the build date of the version document.
const buildDate = "2025-01-01T00:00:00.000000000Z"

func (h *Handler) root(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"name":         h.ClusterName,
		"cluster_name": h.ClusterName,
		"cluster_uuid": h.clusterUUID,
		"version": map[string]any{
			"number":                              h.Version,
			"build_flavor":                        "default",
			"build_type":                          "tar",
			"build_hash":                          "vigil",
			"build_date":                          buildDate,
			"build_snapshot":                      false,
			"lucene_version":                      "9.12.0",
			"minimum_wire_compatibility_version":  "7.17.0",
			"minimum_index_compatibility_version": "7.0.0",
		},
		"tagline": "You Know, for Search",
	})
}

func (h *Handler) license(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"license": map[string]any{
		"status":               "active",
		"uid":                  h.clusterUUID,
		"type":                 "basic",
		"issue_date":           buildDate,
		"issue_date_in_millis": 1735689600000,
		"max_nodes":            1000,
		"max_resource_units":   nil,
		"issued_to":            h.ClusterName,
		"issuer":               "elasticsearch",
		"start_date_in_millis": -1,
	}})
}

func (h *Handler) xpack(w http.ResponseWriter, r *http.Request) {
	on := map[string]any{"available": true, "enabled": true}
	writeJSON(w, http.StatusOK, map[string]any{
		"build":   map[string]any{"hash": "vigil", "date": buildDate},
		"license": map[string]any{"uid": h.clusterUUID, "type": "basic", "mode": "basic", "status": "active"},
		"features": map[string]any{
			"ilm": on, "data_streams": on, "security": on, "monitoring": on,
			"watcher": map[string]any{"available": false, "enabled": true},
			"ml":      map[string]any{"available": false, "enabled": false},
		},
		"tagline": "You know, for X",
	})
}

func (h *Handler) nodes(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"_nodes":       map[string]int{"total": 1, "successful": 1, "failed": 0},
		"cluster_name": h.ClusterName,
		"nodes": map[string]any{h.nodeID: map[string]any{
			"name":              h.ClusterName,
			"transport_address": r.Host,
			"host":              hostOnly(r.Host),
			"ip":                hostOnly(r.Host),
			"version":           h.Version,
			"build_flavor":      "default",
			"roles":             []string{"data", "ingest", "master"},
			"http":              map[string]any{"publish_address": r.Host, "bound_address": []string{r.Host}},
		}},
	})
}

func hostOnly(hostport string) string {
	if i := strings.LastIndexByte(hostport, ':'); i > 0 && !strings.HasSuffix(hostport, "]") {
		return hostport[:i]
	}
	return hostport
}

func (h *Handler) health(w http.ResponseWriter, r *http.Request) {
	status := "green"
	if h.Ready != nil && h.Ready() != nil {
		status = "red"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"cluster_name": h.ClusterName, "status": status, "timed_out": false,
		"number_of_nodes": 1, "number_of_data_nodes": 1, "active_primary_shards": 1, "active_shards": 1,
		"relocating_shards": 0, "initializing_shards": 0, "unassigned_shards": 0, "delayed_unassigned_shards": 0,
		"number_of_pending_tasks": 0, "number_of_in_flight_fetch": 0, "task_max_waiting_in_queue_millis": 0,
		"active_shards_percent_as_number": 100.0,
	})
}

func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) {
	user, roles := "vigil", []string{"ingest"}
	if p := access.PrincipalFrom(r.Context()); p != nil {
		user, roles = p.Name, p.Roles
	}
	if u, _, ok := r.BasicAuth(); ok && u != "" {
		user = u // the name the shipper is configured with
	}
	realm := map[string]string{"name": "vigil", "type": "native"}
	writeJSON(w, http.StatusOK, map[string]any{
		"username": user, "roles": roles, "full_name": nil, "email": nil, "metadata": map[string]any{},
		"enabled": true, "authentication_realm": realm, "lookup_realm": realm, "authentication_type": "realm",
	})
}

func (h *Handler) ack(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, h.MaxBodyBytes))
	writeJSON(w, http.StatusOK, map[string]bool{"acknowledged": true})
}

func (h *Handler) refresh(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"_shards": shards{Total: 1, Successful: 1}})
}

// maxResourceTotal bounds the bytes of all remembered PUT bodies.
const maxResourceTotal = 16 << 20

// remember stores a PUT body under key, bounded in count and size; past
// the bounds a body is acknowledged but remembered as "{}".
func (h *Handler) remember(key string, body []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old, ok := h.resources[key]
	if !ok && len(h.resources) >= maxResources {
		return
	}
	if h.resourceBytes-len(old)+len(body) > maxResourceTotal {
		body = []byte("{}")
	}
	h.resourceBytes += len(body) - len(old)
	h.resources[key] = body
}

func (h *Handler) recall(key string) ([]byte, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, ok := h.resources[key]
	return b, ok
}

func (h *Handler) forget(key string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, ok := h.resources[key]
	h.resourceBytes -= len(b)
	delete(h.resources, key)
	return ok
}

// withPrefix lists remembered names under a key prefix, sorted.
func (h *Handler) withPrefix(prefix string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var names []string
	for k := range h.resources {
		if n, ok := strings.CutPrefix(k, prefix); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// readConfigBody reads a small JSON configuration body; it answers the
// request itself and returns false when the body is unusable.
func (h *Handler) readConfigBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxResourceBytes+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "parse_exception", "reading the request body: "+err.Error())
		return nil, false
	}
	if len(b) > maxResourceBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "content_too_long_exception", fmt.Sprintf("configuration body exceeds %d bytes", maxResourceBytes))
		return nil, false
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return []byte("{}"), true
	}
	if !json.Valid(b) {
		writeError(w, http.StatusBadRequest, "parse_exception", "request body is not valid JSON")
		return nil, false
	}
	return b, true
}

func (h *Handler) putResource(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, ok := h.readConfigBody(w, r)
		if !ok {
			return
		}
		h.remember(kind+"/"+r.PathValue("name"), b)
		writeJSON(w, http.StatusOK, map[string]bool{"acknowledged": true})
	}
}

func (h *Handler) deleteResource(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if !h.forget(kind + "/" + name) {
			h.notFound(w, kind, name)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"acknowledged": true})
	}
}

func (h *Handler) getResource(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var names []string
		for _, n := range strings.Split(r.PathValue("name"), ",") {
			if strings.ContainsAny(n, "*?") {
				for _, have := range h.withPrefix(kind + "/") {
					if globMatch(n, have) {
						names = append(names, have)
					}
				}
			} else if _, ok := h.recall(kind + "/" + n); ok {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			h.notFound(w, kind, r.PathValue("name"))
			return
		}
		h.writeResources(w, kind, names)
	}
}

func (h *Handler) listResources(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.writeResources(w, kind, h.withPrefix(kind+"/"))
	}
}

// writeResources answers remembered configuration in each API's shape.
func (h *Handler) writeResources(w http.ResponseWriter, kind string, names []string) {
	body := func(n string) json.RawMessage {
		b, _ := h.recall(kind + "/" + n)
		if b == nil {
			b = []byte("{}")
		}
		return b
	}
	switch kind {
	case "_index_template", "_component_template":
		key := strings.TrimPrefix(kind, "_") // index_template, component_template
		list := make([]map[string]any, 0, len(names))
		for _, n := range names {
			list = append(list, map[string]any{"name": n, key: body(n)})
		}
		writeJSON(w, http.StatusOK, map[string]any{key + "s": list})
	case "_ilm/policy":
		out := map[string]any{}
		for _, n := range names {
			var p struct {
				Policy json.RawMessage `json:"policy"`
			}
			_ = json.Unmarshal(body(n), &p)
			if p.Policy == nil {
				p.Policy = json.RawMessage("{}")
			}
			out[n] = map[string]any{"version": 1, "modified_date": buildDate, "policy": p.Policy}
		}
		writeJSON(w, http.StatusOK, out)
	default: // _template, _ingest/pipeline
		out := map[string]json.RawMessage{}
		for _, n := range names {
			out[n] = body(n)
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (h *Handler) notFound(w http.ResponseWriter, kind, name string) {
	name = truncate(name, 256)
	switch kind {
	case "_ilm/policy":
		writeError(w, http.StatusNotFound, "resource_not_found_exception", "Lifecycle policy not found: "+name)
	case "_ingest/pipeline", "_template":
		writeRaw(w, http.StatusNotFound, []byte("{}"))
	case "_index_template":
		writeError(w, http.StatusNotFound, "resource_not_found_exception", "index template matching ["+name+"] not found")
	case "_component_template":
		writeError(w, http.StatusNotFound, "resource_not_found_exception", "component template matching ["+name+"] not found")
	case "_data_stream":
		writeError(w, http.StatusNotFound, "index_not_found_exception", "no such index ["+name+"]")
	case "_alias":
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "alias [" + name + "] missing", "status": 404})
	default:
		writeError(w, http.StatusNotFound, "index_not_found_exception", "no such index ["+name+"]")
	}
}

func (h *Handler) getIndex(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("index")
	if strings.HasPrefix(name, "_") {
		h.noHandler(w, r)
		return
	}
	b, ok := h.recall("index/" + name)
	if !ok {
		h.notFound(w, "index", name)
		return
	}
	writeJSON(w, http.StatusOK, map[string]json.RawMessage{name: b})
}

func (h *Handler) putIndex(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("index")
	if strings.HasPrefix(name, "_") {
		h.noHandler(w, r)
		return
	}
	b, ok := h.readConfigBody(w, r)
	if !ok {
		return
	}
	h.remember("index/"+name, b)
	// Rollover aliases in the body (Logstash's legacy ILM) exist from now.
	var body struct {
		Aliases map[string]json.RawMessage `json:"aliases"`
	}
	if json.Unmarshal(b, &body) == nil {
		for a := range body.Aliases {
			h.remember("_alias/"+a, []byte(`{"index":`+strconv.Quote(name)+`}`))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"acknowledged": true, "shards_acknowledged": true, "index": name})
}

func (h *Handler) deleteIndex(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("index")
	if !h.forget("index/" + name) {
		h.notFound(w, "index", name)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"acknowledged": true})
}

func (h *Handler) getAlias(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	b, ok := h.recall("_alias/" + name)
	if !ok {
		h.notFound(w, "_alias", name)
		return
	}
	var a struct {
		Index string `json:"index"`
	}
	_ = json.Unmarshal(b, &a)
	writeJSON(w, http.StatusOK, map[string]any{a.Index: map[string]any{"aliases": map[string]any{name: map[string]any{"is_write_index": true}}}})
}

func (h *Handler) putDataStream(w http.ResponseWriter, r *http.Request) {
	h.remember("_data_stream/"+r.PathValue("name"), []byte("{}"))
	writeJSON(w, http.StatusOK, map[string]bool{"acknowledged": true})
}

func (h *Handler) deleteDataStream(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !h.forget("_data_stream/" + name) {
		h.notFound(w, "_data_stream", name)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"acknowledged": true})
}

func (h *Handler) getDataStream(w http.ResponseWriter, r *http.Request) {
	pattern := r.PathValue("name")
	if pattern == "" {
		pattern = "*"
	}
	var list []map[string]any
	for _, n := range h.withPrefix("_data_stream/") {
		if globMatch(pattern, n) {
			list = append(list, map[string]any{
				"name": n, "timestamp_field": map[string]string{"name": "@timestamp"}, "generation": 1,
				"indices": []map[string]string{{"index_name": ".ds-" + n + "-000001"}}, "status": "GREEN", "template": "",
				"hidden": false, "system": false, "replicated": false,
			})
		}
	}
	if len(list) == 0 && !strings.ContainsAny(pattern, "*?") {
		h.notFound(w, "_data_stream", pattern)
		return
	}
	if list == nil {
		list = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data_streams": list})
}

// globMatch matches Elasticsearch-style name patterns ("*" any run, "?"
// one byte) and comma lists.
func globMatch(pattern, s string) bool {
	for _, p := range strings.Split(pattern, ",") {
		if p == "_all" || wildcard(p, s) {
			return true
		}
	}
	return false
}

func wildcard(p, s string) bool {
	// Iterative matcher with backtracking on the last '*'.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// body returns the request body, decompressed and bounded; on failure it
// has answered.
func (h *Handler) body(w http.ResponseWriter, r *http.Request) (io.Reader, func(), bool) {
	body, err := ingest.Body(w, r, h.MaxBodyBytes)
	var encErr *ingest.EncodingError
	switch {
	case errors.As(err, &encErr) && encErr.Unsupported:
		writeError(w, http.StatusUnsupportedMediaType, "illegal_argument_exception", err.Error())
		return nil, nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, "parse_exception", err.Error())
		return nil, nil, false
	}
	return body, func() { body.Close() }, true
}

func (h *Handler) tooLarge(w http.ResponseWriter) {
	writeError(w, http.StatusRequestEntityTooLarge, "content_too_long_exception",
		fmt.Sprintf("request body exceeds %d bytes (after decompression); send smaller bulk requests", h.MaxBodyBytes))
}

func isTooLarge(err error) bool { return ingest.IsTooLarge(err) }

// newID returns a 20-character document id, unique within this process
// and random across processes (Elasticsearch's auto ids have that form).
func (h *Handler) newID() string {
	var b [15]byte
	copy(b[:9], h.idPrefix[:])
	n := h.idCounter.Add(1)
	for i := 14; i >= 9; i-- {
		b[i] = byte(n)
		n >>= 8
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// toEvent turns one document into an event. The error is for the sender.
func (h *Handler) toEvent(e *event.Event, src []byte, index string, arrived time.Time) error {
	if err := jsonflat.AppendObject(e, src, jsonflat.Options{}); err != nil {
		return err
	}
	event.TakeTimestamp(e) // zero without one: Stamp gives the arrival time after Normalize
	if h.Normalize != nil {
		h.Normalize(e)
	}
	applyIndex(e, index)
	ingest.Stamp(e, arrived)
	// Flattening repeats each key's path in every field name: a document
	// within the size limit can still make an event the bus cannot carry
	// in one batch, which must be refused here rather than retried forever.
	if n, max := flatSize(e), h.Pub.MaxBatchBytes()-1024; n > max {
		return fmt.Errorf("%w: the document flattens to %d bytes of fields, more than the %d an event may have", ErrDocTooLarge, n, max)
	}
	return nil
}

// flatSize is an upper bound of an event's size on the bus.
func flatSize(e *event.Event) int {
	n := 32
	for _, f := range e.Fields {
		n += len(f.Name) + len(f.Value) + 10
	}
	return n
}

// dataStreamTypes are the types of Elastic's data stream naming scheme.
var dataStreamTypes = map[string]bool{"logs": true, "metrics": true, "traces": true, "synthetics": true, "profiling": true}

// SplitDataStream splits "<type>-<dataset>-<namespace>" (type one of logs,
// metrics, traces, synthetics, profiling; dataset and namespace without
// "-").
func SplitDataStream(index string) (typ, dataset, namespace string, ok bool) {
	typ, rest, ok1 := strings.Cut(index, "-")
	dataset, namespace, ok2 := strings.Cut(rest, "-")
	if !ok1 || !ok2 || !dataStreamTypes[typ] || dataset == "" || namespace == "" || strings.Contains(namespace, "-") {
		return "", "", "", false
	}
	return typ, dataset, namespace, true
}

// IndexDataset is the dataset name of an index that is not a data stream
// name: the index without a trailing date ("-2024.11.28", "-2024.11",
// "-2024-11-28"), rollover number ("-000001") or version ("-8.15.0") part,
// so that daily indices of one source stay one dataset.
func IndexDataset(index string) string {
	for {
		i := strings.LastIndexByte(index, '-')
		if i <= 0 || !isSuffix(index[i+1:]) {
			return index
		}
		index = index[:i]
	}
}

// isSuffix reports whether s is made of digits and separators and holds a
// digit: a date, rollover counter or version.
func isSuffix(s string) bool {
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' || c == '-' || c == '_':
		default:
			return false
		}
	}
	return digits > 0
}

// applyIndex records where the document was sent, without overwriting what
// the document says.
func applyIndex(e *event.Event, index string) {
	if index == "" {
		return
	}
	if typ, ds, ns, ok := SplitDataStream(index); ok {
		var haveType, haveDS, haveNS, haveDataset bool
		for i := range e.Fields {
			switch e.Fields[i].Name {
			case "data_stream.type":
				haveType = true
			case "data_stream.dataset":
				haveDS = true
			case "data_stream.namespace":
				haveNS = true
			case "event.dataset":
				haveDataset = true
			}
		}
		if !haveType {
			e.Add("data_stream.type", typ)
		}
		if !haveDS {
			e.Add("data_stream.dataset", ds)
		}
		if !haveNS {
			e.Add("data_stream.namespace", ns)
		}
		if !haveDataset {
			e.Add("event.dataset", ds)
		}
		return
	}
	e.SetIfAbsent("event.dataset", IndexDataset(index))
}

// busStatus is the HTTP status and Elasticsearch error type for a
// publishing failure.
func busStatus(err error) (int, string) {
	if errors.Is(err, bus.ErrFull) {
		return http.StatusTooManyRequests, "es_rejected_execution_exception"
	}
	return http.StatusServiceUnavailable, "unavailable_shards_exception"
}

// doc serves single-document indexing: POST /{index}/_doc,
// PUT|POST /{index}/_doc/{id}, PUT|POST /{index}/_create/{id}.
func (h *Handler) doc(w http.ResponseWriter, r *http.Request) {
	index, id := r.PathValue("index"), r.PathValue("id")
	if strings.HasPrefix(index, "_") {
		h.noHandler(w, r)
		return
	}
	if id == "" {
		id = h.newID()
	}
	body, done, ok := h.body(w, r)
	if !ok {
		return
	}
	defer done()
	src, err := io.ReadAll(io.LimitReader(body, int64(h.MaxDocBytes)+1))
	switch {
	case ingest.IsBusy(err):
		w.Header().Set("Retry-After", ingest.BusyRetryAfter)
		writeError(w, http.StatusTooManyRequests, "es_rejected_execution_exception", err.Error())
		return
	case isTooLarge(err):
		h.tooLarge(w)
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "parse_exception", "reading the request body: "+err.Error())
		return
	case len(src) > h.MaxDocBytes:
		h.Metrics.Rejected.WithLabelValues(Source).Inc()
		writeError(w, http.StatusRequestEntityTooLarge, "content_too_long_exception", fmt.Sprintf("document exceeds %d bytes", h.MaxDocBytes))
		return
	}
	arrived := h.Now()
	h.Metrics.Bytes.WithLabelValues(Source).Add(float64(len(src)))
	var e event.Event
	if err := h.toEvent(&e, src, index, arrived); err != nil {
		h.Metrics.Rejected.WithLabelValues(Source).Inc()
		if errors.Is(err, ErrDocTooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "content_too_long_exception", err.Error())
			return
		}
		h.Metrics.Failures.Refused(Source, "ndjson")
		writeError(w, http.StatusBadRequest, "document_parsing_exception", "[1:1] failed to parse: "+err.Error())
		return
	}
	h.Metrics.Count(Source, &e)
	if _, err := ingest.PublishAll(r.Context(), h.Pub, Source, []event.Event{e}); err != nil {
		status, typ := busStatus(err)
		h.Log.Warn("document not stored: bus refused it", "err", err)
		w.Header().Set("Retry-After", "5")
		writeError(w, status, typ, "not stored, retry later: "+err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"_index": index, "_id": id, "_version": 1, "result": "created",
		"_shards": shards{Total: 2, Successful: 1}, "_seq_no": h.seqNo.Add(1) - 1, "_primary_term": 1,
	})
}

type shards struct {
	Total      int `json:"total"`
	Successful int `json:"successful"`
	Failed     int `json:"failed"`
}
