package elastic

import (
	"net/http"
	"net/url"
	"strings"
)

// route dispatches a request by its path segments. Elasticsearch paths
// start with an API name ("_bulk", "_index_template") or an index name,
// which ServeMux patterns cannot tell apart without conflicts; so the
// endpoint is mounted as one handler and routes itself. Path parameters
// are handed over with SetPathValue.
func (h *Handler) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	if h.Prefix != "" {
		p = strings.TrimPrefix(p, strings.TrimRight(h.Prefix, "/"))
	}
	var seg []string
	for _, s := range strings.Split(strings.Trim(p, "/"), "/") {
		if s == "" {
			continue
		}
		u, err := url.PathUnescape(s)
		if err != nil {
			u = s
		}
		seg = append(seg, u)
	}
	m := r.Method
	get := m == http.MethodGet || m == http.MethodHead
	put := m == http.MethodPut || m == http.MethodPost
	set := func(kv ...string) {
		for i := 0; i+1 < len(kv); i += 2 {
			r.SetPathValue(kv[i], kv[i+1])
		}
	}
	n := len(seg)
	first := ""
	if n > 0 {
		first = seg[0]
	}
	switch {
	case n == 0:
		if get {
			h.root(w, r)
			return
		}
	case first == "_bulk" && n == 1:
		if put {
			h.bulk(w, r)
			return
		}
	case first == "_refresh" && n == 1:
		h.refresh(w, r)
		return
	case first == "_license" && n == 1:
		if get {
			h.license(w, r)
			return
		}
	case first == "_xpack" && n == 1:
		if get {
			h.xpack(w, r)
			return
		}
	case first == "_nodes" && n <= 3:
		if get {
			h.nodes(w, r)
			return
		}
	case first == "_cluster" && n >= 2 && seg[1] == "health" && n <= 3:
		if get {
			h.health(w, r)
			return
		}
	case first == "_security" && n == 2 && seg[1] == "_authenticate":
		if get {
			h.authenticate(w, r)
			return
		}
	case first == "_aliases" && n == 1:
		if put {
			h.ack(w, r)
			return
		}
	case first == "_alias" && n == 2:
		if get {
			set("name", seg[1])
			h.getAlias(w, r)
			return
		}
	case first == "_data_stream" && n <= 2:
		if n == 2 {
			set("name", seg[1])
		}
		switch {
		case get:
			h.getDataStream(w, r)
			return
		case m == http.MethodPut && n == 2:
			h.putDataStream(w, r)
			return
		case m == http.MethodDelete && n == 2:
			h.deleteDataStream(w, r)
			return
		}
	case first == "_index_template" || first == "_component_template" || first == "_template" ||
		(first == "_ilm" && n >= 2 && seg[1] == "policy") || (first == "_ingest" && n >= 2 && seg[1] == "pipeline"):
		kind, rest := first, seg[1:]
		if first == "_ilm" || first == "_ingest" {
			kind, rest = first+"/"+seg[1], seg[2:]
		}
		switch {
		case len(rest) == 0 && get:
			h.listResources(kind)(w, r)
			return
		case len(rest) == 1:
			set("name", rest[0])
			switch {
			case get:
				h.getResource(kind)(w, r)
				return
			case put:
				h.putResource(kind)(w, r)
				return
			case m == http.MethodDelete:
				h.deleteResource(kind)(w, r)
				return
			}
		}
	case strings.HasPrefix(first, "_"):
		// An API Vigil does not serve.
	case n == 1:
		set("index", first)
		switch m {
		case http.MethodGet, http.MethodHead:
			h.getIndex(w, r)
			return
		case http.MethodPut:
			h.putIndex(w, r)
			return
		case http.MethodDelete:
			h.deleteIndex(w, r)
			return
		}
	case n == 2 && seg[1] == "_bulk":
		if put {
			set("index", first)
			h.bulk(w, r)
			return
		}
	case n == 2 && seg[1] == "_doc":
		if m == http.MethodPost {
			set("index", first)
			h.doc(w, r)
			return
		}
	case n == 3 && (seg[1] == "_doc" || seg[1] == "_create"):
		if put {
			set("index", first, "id", seg[2])
			h.doc(w, r)
			return
		}
	case n == 2 && seg[1] == "_refresh":
		h.refresh(w, r)
		return
	case n == 2 && seg[1] == "_mapping":
		if put {
			h.ack(w, r)
			return
		}
	}
	h.noHandler(w, r)
}
