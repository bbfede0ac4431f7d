// Package hec is Vigil's Splunk HTTP Event Collector endpoint, so that
// Splunk logging libraries, the OpenTelemetry Collector's splunk_hec
// exporter, Vector, Fluent Bit and other HEC senders send to Vigil as to
// Splunk.
//
//	POST /services/collector, /services/collector/event[/1.0]
//	     JSON event objects, concatenated (whitespace between them allowed)
//	POST /services/collector/raw[/1.0]
//	     text, one event per line; host, source, sourcetype, index from the
//	     query string
//	GET  /services/collector/health[/1.0]   (no token needed)
//	POST /services/collector/ack            ACK is disabled (code 14)
//
// Authentication, by the server's access middleware, is "Authorization:
// Splunk <token>" (or HTTP Basic with the token as password) with a token
// holding the ingest permission; ?token= is refused
// as Splunk does by default (code 16). Answers are Splunk's: {"text":
// "Success","code":0}, or the error text and code with Splunk's HTTP
// status (2/3 → 401, 4 → 403, 5/6/7/12/13 → 400 with
// invalid-event-number, 9 → 503 with Retry-After, …) and a "detail"
// naming the problem.
//
// As in Splunk, events are handled in order: an invalid event stops the
// request; the events before it are stored and the answer names the
// invalid one. Nothing is acknowledged before the bus stored it; indexer
// acknowledgement (ackId) is not needed for that and is not offered.
package hec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/ingest"
)

// Source is the metrics label and bus subject of this endpoint.
const Source = "hec"

// Handler serves the HEC endpoints. Set the exported fields before the
// first request.
type Handler struct {
	Pub     ingest.Publisher
	Metrics *ingest.Metrics
	Log     *slog.Logger
	// MaxBodyBytes bounds a request body after decompression (default
	// 64 MiB); MaxEventBytes one event object or raw line (default 1 MiB).
	MaxBodyBytes  int64
	MaxEventBytes int
	// Normalize, when set, is applied to each event after mapping. It is
	// called from concurrent requests.
	Normalize func(*event.Event)
	// Indexes, when not empty, lists the Splunk index names accepted;
	// others are refused with "Incorrect index" (code 7).
	Indexes []string
	// RequireRawChannel refuses /raw requests without a channel (header
	// X-Splunk-Request-Channel or ?channel=), as Splunk does when indexer
	// acknowledgement is on (code 10). A channel that is given must be a
	// GUID either way (code 11).
	RequireRawChannel bool
	// Healthy, when set, reports whether the pipeline takes events; the
	// health endpoint answers 503 (code 18) when it does not.
	Healthy func() error
	Now     func() time.Time
}

// Routes returns the endpoint's routes: the health check is public (as in
// Splunk), the others need the ingest permission.
func (h *Handler) Routes() []access.Route {
	ev, raw := http.HandlerFunc(h.event), http.HandlerFunc(h.raw)
	in := func(pattern string, hh http.Handler) access.Route {
		return access.Route{Pattern: pattern, Perm: access.Ingest, Handler: hh, Credentials: Credential, Refuse: Refuse}
	}
	return []access.Route{
		in("POST /services/collector", ev),
		in("POST /services/collector/event", ev),
		in("POST /services/collector/event/1.0", ev),
		in("POST /services/collector/raw", raw),
		in("POST /services/collector/raw/1.0", raw),
		access.Handle("GET /services/collector/health", access.Public, h.health),
		access.Handle("GET /services/collector/health/1.0", access.Public, h.health),
		in("POST /services/collector/ack", http.HandlerFunc(h.ack)),
		in("POST /services/collector/mint", http.HandlerFunc(h.notSupported)),
		in("POST /services/collector/mint/1.0", http.HandlerFunc(h.notSupported)),
		in("POST /services/collector/s2s", http.HandlerFunc(h.notSupported)),
	}
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (h *Handler) maxBody() int64 {
	if h.MaxBodyBytes > 0 {
		return h.MaxBodyBytes
	}
	return 64 << 20
}

func (h *Handler) maxEvent() int {
	if h.MaxEventBytes > 0 {
		return h.MaxEventBytes
	}
	return 1 << 20
}

// response is Splunk's answer body.
type response struct {
	Text               string `json:"text"`
	Code               int    `json:"code"`
	InvalidEventNumber *int   `json:"invalid-event-number,omitempty"`
	// Detail is Vigil's: what exactly was wrong.
	Detail string `json:"detail,omitempty"`
}

func write(w http.ResponseWriter, st Status, invalidEvent int, detail string) {
	resp := response{Text: st.Text, Code: st.Code, Detail: detail}
	if invalidEvent >= 0 {
		resp.InvalidEventNumber = &invalidEvent
	}
	b, _ := json.Marshal(resp)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(st.HTTP)
	_, _ = w.Write(b)
}

var successBody = []byte(`{"text":"Success","code":0}`)

// Token returns the token a request presents: "Splunk <token>" or the
// password of HTTP Basic.
func Token(r *http.Request) (token string, present bool) {
	a := strings.TrimSpace(r.Header.Get("Authorization"))
	if a == "" {
		return "", false
	}
	scheme, rest, _ := strings.Cut(a, " ")
	switch strings.ToLower(scheme) {
	case "splunk":
		return strings.TrimSpace(rest), true
	case "basic":
		if dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest)); err == nil {
			if _, pw, ok := strings.Cut(string(dec), ":"); ok {
				return pw, true
			}
		}
	}
	return "", true
}

// Credential is the token of a request, for the access middleware.
func Credential(r *http.Request) string {
	tok, _ := Token(r)
	return tok
}

// Refuse answers a request the access middleware refused, as Splunk
// would: token required (code 2), invalid authorization (3), invalid
// token (4, also for a token without the ingest permission), or a token
// in the query string (16).
func Refuse(w http.ResponseWriter, r *http.Request, status int, reason string) {
	tok, present := Token(r)
	switch {
	case status == http.StatusForbidden:
		write(w, StatusInvalidToken, -1, reason)
	case !present && r.URL.Query().Has("token"):
		write(w, StatusQueryStringAuth, -1, `send the token in the header "Authorization: Splunk <token>"`)
	case !present:
		write(w, StatusTokenRequired, -1, `send "Authorization: Splunk <token>" with a Vigil ingest token`)
	case tok == "":
		write(w, StatusInvalidAuth, -1, `want "Authorization: Splunk <token>"`)
	default:
		write(w, StatusInvalidToken, -1, reason)
	}
}

var guid = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// channel checks the request channel; it answers and returns false when
// the channel is invalid or missing but required.
func (h *Handler) channel(w http.ResponseWriter, r *http.Request, required bool) bool {
	c := r.Header.Get("X-Splunk-Request-Channel")
	if c == "" {
		c = r.URL.Query().Get("channel")
	}
	switch {
	case c == "" && required:
		write(w, StatusChannelMissing, -1, "send a GUID in the X-Splunk-Request-Channel header or the channel query parameter")
		return false
	case c != "" && !guid.MatchString(c):
		write(w, StatusInvalidChannel, -1, "the channel must be a GUID")
		return false
	}
	return true
}

func (h *Handler) meta(r *http.Request) (Meta, bool) {
	q := r.URL.Query()
	m := Meta{Host: q.Get("host"), Source: q.Get("source"), SourceType: q.Get("sourcetype"), Index: q.Get("index")}
	return m, h.indexAllowed(m.Index)
}

func (h *Handler) indexAllowed(index string) bool {
	return index == "" || len(h.Indexes) == 0 || slices.Contains(h.Indexes, index)
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBuf(buf *bytes.Buffer) {
	if buf.Cap() <= 8<<20 {
		bufPool.Put(buf)
	}
}

// request checks a request's token, channel and index, and reads its body
// into a pooled buffer (give it back with putBuf). It answers and returns
// false when the request is refused.
func (h *Handler) request(w http.ResponseWriter, r *http.Request, requireChannel bool) (Meta, *bytes.Buffer, bool) {
	if !h.channel(w, r, requireChannel) {
		return Meta{}, nil, false
	}
	meta, ok := h.meta(r)
	if !ok {
		write(w, StatusIncorrectIndex, -1, "index "+strconv.Quote(meta.Index)+" is not accepted")
		return Meta{}, nil, false
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	if !h.readBody(w, r, buf) {
		putBuf(buf)
		return Meta{}, nil, false
	}
	return meta, buf, true
}

// readBody reads the decompressed body, bounded; it answers and returns
// false on failure.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, buf *bytes.Buffer) bool {
	max := h.maxBody()
	body, err := ingest.Body(w, r, max)
	var encErr *ingest.EncodingError
	switch {
	case errors.As(err, &encErr) && encErr.Unsupported:
		write(w, statusUnsupportedMedia, -1, err.Error())
		return false
	case err != nil:
		write(w, StatusInvalidFormat, -1, err.Error())
		return false
	}
	defer body.Close()
	_, err = buf.ReadFrom(body)
	switch {
	case ingest.IsBusy(err):
		w.Header().Set("Retry-After", ingest.BusyRetryAfter)
		write(w, StatusBusy, -1, err.Error())
		return false
	case ingest.IsTooLarge(err):
		write(w, StatusTooLarge, -1, fmt.Sprintf("request body exceeds %d bytes (after decompression); send smaller batches", max))
		return false
	case err != nil:
		write(w, StatusInvalidFormat, -1, "reading the request body: "+err.Error())
		return false
	}
	return true
}

// publish stores events and answers: success, or the invalid event after
// them, or the bus failure.
func (h *Handler) publish(w http.ResponseWriter, r *http.Request, events *ingest.Pending, bad *EventError) {
	stored, err := events.Publish(r.Context(), h.Pub, Source)
	if err != nil {
		h.Metrics.Rejected.WithLabelValues(Source).Add(float64(events.Len() - stored))
		h.log().Warn("HEC request partly refused by the bus", "stored", stored, "refused", events.Len()-stored, "err", err)
		st := StatusInternal
		if errors.Is(err, bus.ErrFull) {
			st = StatusBusy
			w.Header().Set("Retry-After", "5")
		}
		detail := "not stored: " + err.Error()
		if stored > 0 {
			detail = fmt.Sprintf("events before number %d were stored; %s", stored, detail)
		}
		write(w, st, -1, detail)
		return
	}
	if bad != nil {
		h.Metrics.Rejected.WithLabelValues(Source).Inc()
		if bad.Unparsed {
			h.Metrics.Failures.Refused(Source, "ndjson")
		}
		detail := bad.Detail
		if bad.N > 0 {
			detail = fmt.Sprintf("%s (the %d events before it were stored)", detail, bad.N)
		}
		write(w, bad.Status, bad.N, detail)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(successBody)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(successBody)
}

// finish normalises, stamps and counts an event; it refuses one the bus
// could not carry in a batch (flattening repeats key paths, so a small
// object can make large fields), which must not be retried forever.
func (h *Handler) finish(e *event.Event, arrived time.Time) error {
	if h.Normalize != nil {
		h.Normalize(e)
	}
	ingest.Stamp(e, arrived)
	n := 32
	for _, f := range e.Fields {
		n += len(f.Name) + len(f.Value) + 10
	}
	if max := h.Pub.MaxBatchBytes() - 1024; n > max {
		return fmt.Errorf("the event flattens to %d bytes of fields, more than the %d an event may have", n, max)
	}
	h.Metrics.Count(Source, e)
	return nil
}

// event serves /services/collector[/event[/1.0]].
func (h *Handler) event(w http.ResponseWriter, r *http.Request) {
	meta, buf, ok := h.request(w, r, false)
	if !ok {
		return
	}
	defer putBuf(buf)
	data := buf.Bytes()
	if len(bytes.TrimSpace(data)) == 0 {
		write(w, StatusNoData, -1, "the request body is empty")
		return
	}
	h.Metrics.Bytes.WithLabelValues(Source).Add(float64(len(data)))
	arrived := h.now()
	events := ingest.NewPending(r.Context(), h.Pub)
	err := Split(data, h.maxEvent(), func(n int, obj []byte) error {
		e := event.Event{Fields: make([]event.Field, 0, 32)}
		st, err := ToEvent(&e, obj, meta)
		if err != nil {
			return &EventError{N: n, Status: st, Detail: err.Error(), Unparsed: true}
		}
		if idx := e.Value("splunk.index"); !h.indexAllowed(idx) {
			return &EventError{N: n, Status: StatusIncorrectIndex, Detail: "index " + strconv.Quote(idx) + " is not accepted"}
		}
		if err := h.finish(&e, arrived); err != nil {
			return &EventError{N: n, Status: StatusInvalidFormat, Detail: err.Error()}
		}
		events.Add(e)
		return nil
	})
	var bad *EventError
	if err != nil && !errors.As(err, &bad) {
		write(w, StatusInternal, -1, err.Error())
		return
	}
	h.publish(w, r, events, bad)
}

// raw serves /services/collector/raw[/1.0]: one event per line.
func (h *Handler) raw(w http.ResponseWriter, r *http.Request) {
	meta, buf, ok := h.request(w, r, h.RequireRawChannel)
	if !ok {
		return
	}
	defer putBuf(buf)
	data := buf.Bytes()
	h.Metrics.Bytes.WithLabelValues(Source).Add(float64(len(data)))
	arrived := h.now()
	events := ingest.NewPending(r.Context(), h.Pub)
	var bad *EventError
	max := h.maxEvent()
	for n := 0; len(data) > 0; {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if len(line) > max {
			bad = &EventError{N: n, Status: StatusInvalidFormat, Detail: fmt.Sprintf("line of %d bytes exceeds the limit of %d", len(line), max)}
			break
		}
		e := event.Event{Time: arrived, Fields: make([]event.Field, 0, 8)}
		e.Add(event.FieldMessage, string(line))
		applyMeta(&e, meta)
		if err := h.finish(&e, arrived); err != nil {
			bad = &EventError{N: n, Status: StatusInvalidFormat, Detail: err.Error()}
			break
		}
		events.Add(e)
		n++
	}
	if events.Len() == 0 && bad == nil {
		write(w, StatusNoData, -1, "the request body holds no line")
		return
	}
	h.publish(w, r, events, bad)
}

func (h *Handler) health(w http.ResponseWriter, r *http.Request) {
	if h.Healthy != nil {
		if err := h.Healthy(); err != nil {
			w.Header().Set("Retry-After", "5")
			write(w, StatusUnhealthy, -1, "")
			return
		}
	}
	write(w, StatusHealthy, -1, "")
}

func (h *Handler) ack(w http.ResponseWriter, r *http.Request) {
	write(w, StatusACKDisabled, -1, "Vigil answers only after events are stored; indexer acknowledgement is not needed")
}

func (h *Handler) notSupported(w http.ResponseWriter, r *http.Request) {
	write(w, StatusInvalidFormat, -1, "this HEC endpoint is not supported by Vigil: use /services/collector/event or /services/collector/raw")
}
