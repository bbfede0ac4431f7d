// Package fhirin is Vigil's FHIR endpoint for audit records: POST
// /fhir/AuditEvent (one AuditEvent, R4 or R5), POST /fhir (a batch or
// transaction Bundle of AuditEvents) and GET /fhir/metadata (the
// CapabilityStatement). JSON (application/fhir+json, application/json) is
// the format; XML (application/fhir+xml) is read too. Answers are JSON.
//
// A resource is answered 201 Created only after the bus stored its event;
// a transaction is stored all or nothing (as one bus batch); a batch is
// answered entry by entry. Invalid resources get an OperationOutcome
// naming the element at fault (400, 413 for oversized requests, 415 for
// other media types). The handler does no authentication: mount it behind
// the API's bearer token.
//
// Nothing of a request body reaches Vigil's logs.
package fhirin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/parse/fhir"
)

// Source is the metrics label and bus subject of this endpoint.
const Source = "fhir"

// FieldAssignedID is the event field holding the id the server assigned
// to the created AuditEvent (the id of its Location).
const FieldAssignedID = "healthcare.fhir.assigned_id"

// Handler serves the FHIR endpoint.
type Handler struct {
	Pub     ingest.Publisher
	Metrics *ingest.Metrics
	Log     *slog.Logger
	// KeepOriginal stores each resource's JSON in event.original (PHI).
	KeepOriginal bool
	// Limits bound requests (fhir.Limits defaults: 8 MiB per request,
	// 256 KiB per resource, 1000 Bundle entries).
	Limits fhir.Limits
	// BaseURL prefixes Location headers, e.g.
	// "https://vigil.example.org/fhir"; empty gives relative locations
	// ("AuditEvent/<id>/_history/1").
	BaseURL         string
	SoftwareVersion string
	Now             func() time.Time

	once       sync.Once
	capability []byte
}

// Routes returns the endpoint's routes; senders need the ingest
// permission (Authorization: Bearer <token>).
func (h *Handler) Routes() []access.Route {
	return []access.Route{
		access.Handle("POST /fhir/AuditEvent", access.Ingest, h.create),
		access.Handle("POST /fhir", access.Ingest, h.bundle),
		access.Handle("GET /fhir/metadata", access.Ingest, h.metadata),
	}
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}

func (h *Handler) maxRequest() int64 {
	if h.Limits.MaxRequestBytes > 0 {
		return int64(h.Limits.MaxRequestBytes)
	}
	return 8 << 20
}

const fhirJSON = "application/fhir+json; charset=utf-8"

func writeFHIR(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", fhirJSON)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func outcome(w http.ResponseWriter, status int, code, msg string) {
	sev := "error"
	if status >= 500 {
		sev = "fatal"
	}
	writeFHIR(w, status, fhir.OperationOutcome(fhir.Issue{Severity: sev, Code: code, Diagnostics: msg}))
}

func (h *Handler) metadata(w http.ResponseWriter, r *http.Request) {
	h.once.Do(func() {
		h.capability = fhir.CapabilityStatement(fhir.CapabilityOptions{SoftwareVersion: h.SoftwareVersion, BaseURL: h.BaseURL, Date: h.now()})
	})
	writeFHIR(w, http.StatusOK, h.capability)
}

// format says how to read a body from its Content-Type.
type format int

const (
	formatAuto format = iota
	formatJSON
	formatXML
)

func mediaFormat(ct string) (format, error) {
	if strings.TrimSpace(ct) == "" {
		return formatAuto, nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return 0, fmt.Errorf("unreadable Content-Type %q", ct)
	}
	switch mt {
	case "application/fhir+json", "application/json", "application/json+fhir":
		return formatJSON, nil
	case "application/fhir+xml", "application/xml", "text/xml", "application/xml+fhir":
		return formatXML, nil
	}
	return 0, fmt.Errorf("Content-Type %q is not supported: send application/fhir+json (or application/fhir+xml)", mt)
}

var errTooLarge = errors.New("request too large")

// read parses the request body; on failure it has answered.
func (h *Handler) read(w http.ResponseWriter, r *http.Request) (*fhir.Request, bool) {
	f, err := mediaFormat(r.Header.Get("Content-Type"))
	if err != nil {
		outcome(w, http.StatusUnsupportedMediaType, "not-supported", err.Error())
		return nil, false
	}
	max := h.maxRequest()
	body, err := ingest.Body(w, r, max)
	var encErr *ingest.EncodingError
	switch {
	case errors.As(err, &encErr) && encErr.Unsupported:
		outcome(w, http.StatusUnsupportedMediaType, "not-supported", err.Error())
		return nil, false
	case err != nil:
		outcome(w, http.StatusBadRequest, "structure", err.Error())
		return nil, false
	}
	defer body.Close()
	data, err := io.ReadAll(body)
	switch {
	case ingest.IsBusy(err):
		w.Header().Set("Retry-After", ingest.BusyRetryAfter)
		outcome(w, http.StatusServiceUnavailable, "transient", err.Error())
		return nil, false
	case ingest.IsTooLarge(err):
		outcome(w, http.StatusRequestEntityTooLarge, "too-long", fmt.Sprintf("request exceeds %d bytes; send smaller Bundles", max))
		return nil, false
	case err != nil:
		outcome(w, http.StatusBadRequest, "structure", "reading request body: "+err.Error())
		return nil, false
	}
	var req *fhir.Request
	switch f {
	case formatJSON:
		req, err = fhir.ParseRequest(data, h.Limits)
	case formatXML:
		js, xerr := fhir.XMLToJSON(data, h.Limits)
		if xerr != nil {
			err = xerr
		} else {
			req, err = fhir.ParseRequest(js, h.Limits)
		}
	default:
		req, err = fhir.ParseRequestAuto(data, h.Limits)
	}
	if err != nil {
		h.Metrics.Rejected.WithLabelValues(Source).Inc()
		var ve *fhir.ValidationError
		if errors.As(err, &ve) {
			logIssues(h.log(), "FHIR request refused", ve.Issues)
			status := http.StatusBadRequest
			if ve.TooLarge {
				status = http.StatusRequestEntityTooLarge
			}
			writeFHIR(w, status, ve.Outcome())
			return nil, false
		}
		outcome(w, http.StatusBadRequest, "structure", err.Error())
		return nil, false
	}
	return req, true
}

// logIssues logs where resources were wrong (FHIRPath expressions and
// issue codes), never the diagnostics, which may quote values.
func logIssues(log *slog.Logger, msg string, issues []fhir.Issue) {
	if !log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	var where []string
	for i, is := range issues {
		if i == 5 {
			where = append(where, fmt.Sprintf("(%d more)", len(issues)-5))
			break
		}
		where = append(where, is.Code+" "+strings.Join(is.Expression, ","))
	}
	log.Debug(msg, "issues", where)
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (h *Handler) location(id string) string {
	loc := "AuditEvent/" + id + "/_history/1"
	if h.BaseURL != "" {
		loc = strings.TrimRight(h.BaseURL, "/") + "/" + loc
	}
	return loc
}

// toEvent maps a valid entry to its event with a new server id.
func (h *Handler) toEvent(en *fhir.Entry, r *http.Request, now time.Time) (event.Event, string) {
	var e event.Event
	e.Fields = make([]event.Field, 0, 48)
	fhir.MapEvent(&e, en.Event, en.Raw, fhir.Options{KeepOriginal: h.KeepOriginal})
	id := newID()
	e.Set(FieldAssignedID, id)
	e.Set("log.source.address", r.RemoteAddr)
	ingest.Stamp(&e, now)
	return e, id
}

// busFailure answers a request the bus did not take.
func (h *Handler) busFailure(w http.ResponseWriter, err error, events int) {
	h.Metrics.Rejected.WithLabelValues(Source).Add(float64(events))
	h.log().Warn("FHIR AuditEvents not stored: bus refused them", "events", events, "err", err)
	if errors.Is(err, bus.ErrFull) {
		w.Header().Set("Retry-After", "5")
		outcome(w, http.StatusServiceUnavailable, "transient", "the event store is full; retry later")
		return
	}
	outcome(w, http.StatusInternalServerError, "exception", "the AuditEvent could not be stored; retry later")
}

// preferReturn reads the Prefer header's return= value.
func preferReturn(r *http.Request) string {
	for _, p := range strings.Split(r.Header.Get("Prefer"), ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(p), "return="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "minimal"
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	req, ok := h.read(w, r)
	if !ok {
		return
	}
	if req.ResourceType != "AuditEvent" {
		h.Metrics.Rejected.WithLabelValues(Source).Inc()
		outcome(w, http.StatusBadRequest, "not-supported", "POST /fhir/AuditEvent takes one AuditEvent; send Bundles to POST /fhir")
		return
	}
	en := &req.Entries[0]
	if en.Err != nil {
		h.Metrics.Rejected.WithLabelValues(Source).Inc()
		logIssues(h.log(), "FHIR AuditEvent refused", en.Err.Issues)
		writeFHIR(w, http.StatusBadRequest, en.Err.Outcome())
		return
	}
	now := h.now()
	e, id := h.toEvent(en, r, now)
	if _, err := ingest.PublishAll(r.Context(), h.Pub, Source, []event.Event{e}); err != nil {
		h.busFailure(w, err, 1)
		return
	}
	h.Metrics.Count(Source, &e)
	h.Metrics.Bytes.WithLabelValues(Source).Add(float64(len(en.Raw)))
	w.Header().Set("Location", h.location(id))
	w.Header().Set("ETag", `W/"1"`)
	w.Header().Set("Last-Modified", now.UTC().Format(http.TimeFormat))
	switch preferReturn(r) {
	case "representation":
		writeFHIR(w, http.StatusCreated, withID(en.Raw, id, now))
	case "OperationOutcome":
		writeFHIR(w, http.StatusCreated, fhir.OperationOutcome(fhir.Issue{Severity: "information", Code: "informational",
			Diagnostics: "AuditEvent created as " + id}))
	default:
		w.WriteHeader(http.StatusCreated)
	}
}

// withID returns the resource with the server's id and meta.versionId and
// lastUpdated.
func withID(raw []byte, id string, now time.Time) []byte {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return raw
	}
	m["id"], _ = json.Marshal(id)
	var meta map[string]json.RawMessage
	_ = json.Unmarshal(m["meta"], &meta)
	if meta == nil {
		meta = map[string]json.RawMessage{}
	}
	meta["versionId"], _ = json.Marshal("1")
	meta["lastUpdated"], _ = json.Marshal(now.UTC().Format(time.RFC3339Nano))
	m["meta"], _ = json.Marshal(meta)
	out, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return out
}

// batchOverhead and eventSize mirror ingest.PublishAll's bound on the
// encoded size, to know whether a transaction fits one bus batch.
const batchOverhead = 64

func eventSize(e *event.Event) int {
	n := 20
	for _, f := range e.Fields {
		n += len(f.Name) + len(f.Value) + 10
	}
	return n
}

func (h *Handler) bundle(w http.ResponseWriter, r *http.Request) {
	req, ok := h.read(w, r)
	if !ok {
		return
	}
	if req.ResourceType != "Bundle" {
		h.Metrics.Rejected.WithLabelValues(Source).Inc()
		outcome(w, http.StatusBadRequest, "not-supported", "POST /fhir takes a batch or transaction Bundle; send single AuditEvents to POST /fhir/AuditEvent")
		return
	}
	now := h.now()
	if req.BundleType == "transaction" {
		h.transaction(w, r, req, now)
		return
	}
	results := make([]fhir.EntryResponse, len(req.Entries))
	var events []event.Event
	var index []int // entry of each event
	var ids []string
	for i := range req.Entries {
		en := &req.Entries[i]
		if en.Err != nil {
			h.Metrics.Rejected.WithLabelValues(Source).Inc()
			logIssues(h.log(), "FHIR batch entry refused", en.Err.Issues)
			results[i] = fhir.EntryResponse{Status: "400 Bad Request", Outcome: en.Err.Issues}
			continue
		}
		e, id := h.toEvent(en, r, now)
		events = append(events, e)
		index = append(index, i)
		ids = append(ids, id)
	}
	stored, err := ingest.PublishAll(r.Context(), h.Pub, Source, events)
	if err != nil && stored == 0 && len(events) > 0 {
		h.busFailure(w, err, len(events))
		return
	}
	for k, i := range index {
		if k < stored {
			h.Metrics.Count(Source, &events[k])
			h.Metrics.Bytes.WithLabelValues(Source).Add(float64(len(req.Entries[i].Raw)))
			results[i] = fhir.EntryResponse{Status: "201 Created", Location: h.location(ids[k])}
			continue
		}
		h.Metrics.Rejected.WithLabelValues(Source).Inc()
		results[i] = fhir.EntryResponse{Status: "503 Service Unavailable", Outcome: []fhir.Issue{{
			Severity: "error", Code: "transient", Diagnostics: "not stored: the event store refused it; send this entry again",
		}}}
	}
	if err != nil {
		h.log().Warn("FHIR batch partly stored: bus refused the rest", "stored", stored, "refused", len(events)-stored, "err", err)
	}
	writeFHIR(w, http.StatusOK, fhir.BundleResponse("batch", results))
}

// transaction stores every entry or none.
func (h *Handler) transaction(w http.ResponseWriter, r *http.Request, req *fhir.Request, now time.Time) {
	if !req.Valid() {
		h.Metrics.Rejected.WithLabelValues(Source).Add(float64(len(req.Entries)))
		issues := req.Issues()
		logIssues(h.log(), "FHIR transaction refused", issues)
		writeFHIR(w, http.StatusBadRequest, fhir.OperationOutcome(issues...))
		return
	}
	events := make([]event.Event, len(req.Entries))
	ids := make([]string, len(req.Entries))
	size := 0
	for i := range req.Entries {
		events[i], ids[i] = h.toEvent(&req.Entries[i], r, now)
		size += eventSize(&events[i])
	}
	if max := h.Pub.MaxBatchBytes() - batchOverhead; size > max {
		h.Metrics.Rejected.WithLabelValues(Source).Add(float64(len(events)))
		outcome(w, http.StatusRequestEntityTooLarge, "too-long",
			fmt.Sprintf("transaction of %d AuditEvents is too large to be stored atomically (about %d bytes, limit %d); split it or send a batch", len(events), size, max))
		return
	}
	// One bus batch: stored entirely or not at all.
	if _, err := ingest.PublishAll(r.Context(), h.Pub, Source, events); err != nil {
		h.busFailure(w, err, len(events))
		return
	}
	results := make([]fhir.EntryResponse, len(events))
	for i := range events {
		h.Metrics.Count(Source, &events[i])
		h.Metrics.Bytes.WithLabelValues(Source).Add(float64(len(req.Entries[i].Raw)))
		results[i] = fhir.EntryResponse{Status: "201 Created", Location: h.location(ids[i])}
	}
	writeFHIR(w, http.StatusOK, fhir.BundleResponse("transaction", results))
}
