package elastic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/ingest"
)

// item is the outcome of one bulk operation.
type item struct {
	action    string
	index, id string
	status    int
	errType   string
	reason    string
	event     int // index in the request's events, -1 when none
}

// bulk serves POST /_bulk and POST /{index}/_bulk.
func (h *Handler) bulk(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	pathIndex := r.PathValue("index")
	body, done, ok := h.body(w, r)
	if !ok {
		return
	}
	defer done()
	arrived := h.Now()
	items := make([]item, 0, 64)
	// Encoded into bus batches as they come (see ingest.Pending).
	events := ingest.NewPending(r.Context(), h.Pub)
	reject := func(it *item, status int, typ, reason string) {
		it.status, it.errType, it.reason = status, typ, reason
		h.Metrics.Rejected.WithLabelValues(Source).Inc()
	}
	err := DecodeBulk(body, h.MaxDocBytes, func(op *Op) error {
		it := item{action: op.Action, index: op.Index, id: op.ID, event: -1}
		if it.index == "" {
			it.index = pathIndex
		}
		if it.id == "" && (op.Action == "index" || op.Action == "create") {
			it.id = h.newID()
		}
		switch {
		case op.Action == "delete" || op.Action == "update":
			reject(&it, http.StatusBadRequest, "illegal_argument_exception",
				"Vigil keeps an append-only log: "+op.Action+" actions are not supported; send index or create actions")
		case op.Err != nil && errors.Is(op.Err, ErrDocTooLarge):
			reject(&it, http.StatusRequestEntityTooLarge, "content_too_long_exception", op.Err.Error())
		case op.Err != nil:
			reject(&it, http.StatusBadRequest, "action_request_validation_exception", op.Err.Error())
			h.Metrics.Failures.Refused(Source, "ndjson")
		case it.index == "":
			reject(&it, http.StatusBadRequest, "action_request_validation_exception", "Validation Failed: 1: index is missing;")
		case !validIndex(it.index):
			reject(&it, http.StatusBadRequest, "invalid_index_name_exception",
				"Invalid index name ["+truncate(it.index, 256)+"], must be lowercase, must not start with '_', '-' or '+' and must not contain '\\', '/', '*', '?', '\"', '<', '>', '|', ' ', ',' or '#'")
		default:
			h.Metrics.Bytes.WithLabelValues(Source).Add(float64(len(op.Source)))
			// Room for a typical shipper document's fields: growing the
			// slice field by field was a quarter of the CPU time.
			e := event.Event{Fields: make([]event.Field, 0, 32)}
			if err := h.toEvent(&e, op.Source, it.index, arrived); errors.Is(err, ErrDocTooLarge) {
				reject(&it, http.StatusRequestEntityTooLarge, "content_too_long_exception", err.Error())
				break
			} else if err != nil {
				reject(&it, http.StatusBadRequest, "document_parsing_exception",
					fmt.Sprintf("[%d:1] failed to parse: %v", op.Line+1, err))
				h.Metrics.Failures.Refused(Source, "ndjson")
				break
			}
			h.Metrics.Count(Source, &e)
			it.event = events.Len()
			events.Add(e)
		}
		items = append(items, it)
		return nil
	})
	var malformed *MalformedError
	switch {
	case ingest.IsBusy(err):
		// What shippers retry with back-off, as for Elasticsearch's own
		// rejected executions.
		w.Header().Set("Retry-After", ingest.BusyRetryAfter)
		writeError(w, http.StatusTooManyRequests, "es_rejected_execution_exception", err.Error())
		return
	case isTooLarge(err):
		h.tooLarge(w)
		return
	case errors.As(err, &malformed):
		// Nothing is stored: the events read so far and the bad line.
		h.Metrics.Rejected.WithLabelValues(Source).Add(float64(events.Len() + 1))
		h.Metrics.Failures.Refused(Source, "ndjson") // the bad line
		writeError(w, http.StatusBadRequest, "illegal_argument_exception", malformed.Error())
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "parse_exception", "reading the request body: "+err.Error())
		return
	case len(items) == 0:
		writeError(w, http.StatusBadRequest, "action_request_validation_exception", "Validation Failed: 1: no requests added;")
		return
	}

	stored, perr := events.Publish(r.Context(), h.Pub, Source)
	if perr != nil {
		status, typ := busStatus(perr)
		h.Metrics.Rejected.WithLabelValues(Source).Add(float64(events.Len() - stored))
		h.Log.Warn("bulk request partly refused by the bus", "stored", stored, "refused", events.Len()-stored, "err", perr)
		if stored == 0 {
			// Nothing stored: the whole request is to be retried, which
			// every shipper does for a request-level 429/503.
			w.Header().Set("Retry-After", "5")
			writeError(w, status, typ, "rejected execution: the Vigil event bus did not store the events, retry later: "+perr.Error())
			return
		}
		for i := range items {
			if it := &items[i]; it.event >= stored {
				it.status, it.errType, it.reason = status, typ, "rejected execution: the Vigil event bus did not store the event, retry later"
			}
		}
	}
	seq := h.seqNo.Add(int64(stored)) - int64(stored)
	resp := appendBulkResponse(nil, items, time.Since(start), &seq)
	if fp := r.URL.Query().Get("filter_path"); fp != "" {
		resp = filterJSON(resp, fp)
	}
	writeRaw(w, http.StatusOK, resp)
}

// validIndex applies Elasticsearch's index name rules.
func validIndex(s string) bool {
	if s == "" || len(s) > 255 || s == "." || s == ".." {
		return false
	}
	switch s[0] {
	case '_', '-', '+':
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'A' && c <= 'Z':
			return false
		case strings.IndexByte("\\/*?\"<>| ,#:", c) >= 0:
			return false
		}
	}
	return true
}

// appendBulkResponse writes the _bulk answer: took, errors and one item per
// operation in request order.
func appendBulkResponse(dst []byte, items []item, took time.Duration, seq *int64) []byte {
	errs := false
	for i := range items {
		if items[i].status != 0 {
			errs = true
			break
		}
	}
	dst = append(dst, `{"took":`...)
	dst = strconv.AppendInt(dst, took.Milliseconds(), 10)
	dst = append(dst, `,"errors":`...)
	dst = strconv.AppendBool(dst, errs)
	dst = append(dst, `,"items":[`...)
	for i := range items {
		it := &items[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"`...)
		dst = append(dst, it.action...)
		dst = append(dst, `":{"_index":`...)
		dst = event.AppendJSONString(dst, it.index)
		dst = append(dst, `,"_id":`...)
		if it.id == "" {
			dst = append(dst, "null"...)
		} else {
			dst = event.AppendJSONString(dst, it.id)
		}
		if it.status != 0 {
			dst = append(dst, `,"status":`...)
			dst = strconv.AppendInt(dst, int64(it.status), 10)
			dst = append(dst, `,"error":{"type":`...)
			dst = event.AppendJSONString(dst, it.errType)
			dst = append(dst, `,"reason":`...)
			dst = event.AppendJSONString(dst, it.reason)
			dst = append(dst, `}}}`...)
			continue
		}
		dst = append(dst, `,"_version":1,"result":"created","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":`...)
		dst = strconv.AppendInt(dst, *seq, 10)
		*seq++
		dst = append(dst, `,"_primary_term":1,"status":201}}`...)
	}
	return append(dst, "]}"...)
}

// filterJSON applies an Elasticsearch filter_path ("errors,items.*.status",
// "-took", "**.status") to a JSON answer.
func filterJSON(data []byte, filterPath string) []byte {
	var inc, exc [][]string
	for _, p := range strings.Split(filterPath, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if q, ok := strings.CutPrefix(p, "-"); ok {
			exc = append(exc, strings.Split(q, "."))
		} else {
			inc = append(inc, strings.Split(p, "."))
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return data
	}
	if len(inc) > 0 {
		states := make([]pstate, len(inc))
		for i := range inc {
			states[i] = pstate{p: inc[i]}
		}
		var ok bool
		if v, ok = includePaths(v, states); !ok {
			v = map[string]any{}
		}
	}
	if len(exc) > 0 {
		states := make([]pstate, len(exc))
		for i := range exc {
			states[i] = pstate{p: exc[i]}
		}
		if v, _ = excludePaths(v, states); v == nil {
			v = map[string]any{}
		}
	}
	out, err := json.Marshal(v)
	if err != nil {
		return data
	}
	return out
}

// pstate is a position in a filter_path pattern.
type pstate struct {
	p   []string
	pos int
}

func (s pstate) done() bool { return s.pos == len(s.p) || (s.pos == len(s.p)-1 && s.p[s.pos] == "**") }

// advance returns the states after descending into key.
func advance(states []pstate, key string) []pstate {
	var out []pstate
	for _, s := range states {
		if s.pos >= len(s.p) {
			continue
		}
		seg := s.p[s.pos]
		if seg == "**" {
			out = append(out, s) // ** takes this key too
			out = append(out, advance([]pstate{{p: s.p, pos: s.pos + 1}}, key)...)
			continue
		}
		if wildcard(seg, key) {
			out = append(out, pstate{p: s.p, pos: s.pos + 1})
		}
	}
	return out
}

func includePaths(v any, states []pstate) (any, bool) {
	for _, s := range states {
		if s.done() {
			return v, true
		}
	}
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, child := range t {
			ns := advance(states, k)
			if len(ns) == 0 {
				continue
			}
			if c, ok := includePaths(child, ns); ok {
				out[k] = c
			}
		}
		return out, len(out) > 0
	case []any:
		var out []any
		for _, child := range t {
			if c, ok := includePaths(child, states); ok {
				out = append(out, c)
			}
		}
		return out, len(out) > 0
	}
	return nil, false
}

func excludePaths(v any, states []pstate) (any, bool) {
	for _, s := range states {
		if s.pos == len(s.p) {
			return nil, true
		}
	}
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			ns := advance(states, k)
			if len(ns) == 0 {
				continue
			}
			if c, removed := excludePaths(child, ns); removed {
				delete(t, k)
			} else {
				t[k] = c
			}
		}
	case []any:
		for i, child := range t {
			c, _ := excludePaths(child, states)
			t[i] = c
		}
	}
	return v, false
}
