// Package otlp is Vigil's OpenTelemetry logs endpoint: OTLP/HTTP POST
// /v1/logs with an ExportLogsServiceRequest in protobuf
// (application/x-protobuf) or JSON (application/json), gzip accepted, as
// the OpenTelemetry Collector's otlphttp exporter and the SDKs' OTLP/HTTP
// log exporters send it. Requests are decoded with the collector's pdata
// packages and each log record becomes one event (mapping in
// AppendEvents).
//
// Answers follow the OTLP/HTTP specification: 200 with an
// ExportLogsServiceResponse in the request's encoding (partial_success
// counts records refused for their size), 400 with a google.rpc.Status for
// a payload that cannot be decoded, 401 without a valid token, 413 for a
// body over the limit, 415 for another content type or encoding, 503 with
// Retry-After when the bus is full (the exporter retries; records already
// stored from the same request may then arrive twice, never none).
//
// Authentication, by the server's access middleware: "Authorization:
// Bearer <token>" (or HTTP Basic with the token as password) with a token
// holding the ingest permission; 401 (code 16) without a valid token, 403
// (code 7) for a token without the permission.
package otlp

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/ingest"
)

// Source is the metrics label and bus subject of this endpoint.
const Source = "otlp"

// Handler serves POST /v1/logs. Set the exported fields before the first
// request.
type Handler struct {
	Pub     ingest.Publisher
	Metrics *ingest.Metrics
	Log     *slog.Logger
	// MaxBodyBytes bounds a request body after decompression (default
	// 64 MiB); MaxEventBytes one log record's event (default 1 MiB): larger
	// records are refused in partial_success.
	MaxBodyBytes  int64
	MaxEventBytes int
	// Normalize, when set, is applied to each event after mapping. It is
	// called from concurrent requests.
	Normalize func(*event.Event)
	Now       func() time.Time
}

// Routes returns the endpoint's route (permission ingest).
func (h *Handler) Routes() []access.Route {
	return []access.Route{{Pattern: "POST /v1/logs", Perm: access.Ingest, Handler: h, Credentials: Token, Refuse: Refuse}}
}

// Refuse answers a request the access middleware refused with a
// google.rpc.Status in the request's encoding.
func Refuse(w http.ResponseWriter, r *http.Request, httpStatus int, reason string) {
	enc := encProto
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		enc = encJSON
	}
	if httpStatus == http.StatusForbidden {
		writeStatus(w, enc, httpStatus, codePermissionDenied, reason)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
	writeStatus(w, enc, http.StatusUnauthorized, codeUnauthenticated, reason+": send Authorization: Bearer <Vigil ingest token>")
}

// gRPC status codes used in answers.
const (
	codeInvalidArgument   = 3
	codePermissionDenied  = 7
	codeResourceExhausted = 8
	codeUnavailable       = 14
	codeUnauthenticated   = 16
)

type encoding int

const (
	encProto encoding = iota
	encJSON
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Token returns the token of "Authorization: Bearer <token>" or the
// password of HTTP Basic.
func Token(r *http.Request) string {
	a := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, rest, ok := strings.Cut(a, " ")
	if !ok {
		return ""
	}
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(scheme) {
	case "bearer":
		return rest
	case "basic":
		if dec, err := base64.StdEncoding.DecodeString(rest); err == nil {
			if _, pw, ok := strings.Cut(string(dec), ":"); ok {
				return pw
			}
		}
	}
	return ""
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	enc := encProto
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/x-protobuf", "application/protobuf":
	case "application/json":
		enc = encJSON
	default:
		writeStatus(w, encJSON, http.StatusUnsupportedMediaType, codeInvalidArgument,
			fmt.Sprintf("unsupported Content-Type %q: send application/x-protobuf or application/json", mt))
		return
	}
	max := h.MaxBodyBytes
	if max <= 0 {
		max = 64 << 20
	}
	body, err := ingest.Body(w, r, max)
	var encErr *ingest.EncodingError
	switch {
	case errors.As(err, &encErr) && encErr.Unsupported:
		writeStatus(w, enc, http.StatusUnsupportedMediaType, codeInvalidArgument, err.Error())
		return
	case err != nil:
		writeStatus(w, enc, http.StatusBadRequest, codeInvalidArgument, err.Error())
		return
	}
	defer body.Close()
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 8<<20 {
			bufPool.Put(buf)
		}
	}()
	_, err = buf.ReadFrom(body)
	switch {
	case ingest.IsBusy(err):
		// Retryable for OTLP exporters, which honour Retry-After.
		w.Header().Set("Retry-After", ingest.BusyRetryAfter)
		writeStatus(w, enc, http.StatusServiceUnavailable, codeUnavailable, err.Error())
		return
	case ingest.IsTooLarge(err):
		writeStatus(w, enc, http.StatusRequestEntityTooLarge, codeResourceExhausted, fmt.Sprintf("request body exceeds %d bytes (after decompression)", max))
		return
	case err != nil:
		writeStatus(w, enc, http.StatusBadRequest, codeInvalidArgument, "reading the request body: "+err.Error())
		return
	}
	h.Metrics.Bytes.WithLabelValues(Source).Add(float64(buf.Len()))

	req := plogotlp.NewExportRequest()
	if enc == encJSON {
		err = req.UnmarshalJSON(buf.Bytes())
	} else {
		err = req.UnmarshalProto(buf.Bytes())
	}
	if err != nil {
		h.Metrics.Rejected.WithLabelValues(Source).Inc()
		writeStatus(w, enc, http.StatusBadRequest, codeInvalidArgument, "invalid ExportLogsServiceRequest: "+err.Error())
		return
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	arrived := now()
	all := AppendEvents(nil, req.Logs(), arrived)
	maxEvent := h.MaxEventBytes
	if maxEvent <= 0 {
		maxEvent = 1 << 20
	}
	// An event must fit in one bus batch, or the bus would refuse the
	// request forever.
	maxEvent = min(maxEvent, h.Pub.MaxBatchBytes()-1024)
	events := all[:0]
	rejected := 0
	for i := range all {
		e := all[i]
		if size(&e) > maxEvent {
			rejected++
			continue
		}
		if h.Normalize != nil {
			h.Normalize(&e)
		}
		ingest.Stamp(&e, arrived)
		h.Metrics.Count(Source, &e)
		events = append(events, e)
	}
	if rejected > 0 {
		h.Metrics.Rejected.WithLabelValues(Source).Add(float64(rejected))
	}
	if stored, err := ingest.PublishAll(r.Context(), h.Pub, Source, events); err != nil {
		log.Warn("OTLP logs request refused by the bus", "stored", stored, "refused", len(events)-stored, "err", err)
		h.Metrics.Rejected.WithLabelValues(Source).Add(float64(len(events) - stored))
		if errors.Is(err, bus.ErrFull) {
			w.Header().Set("Retry-After", "5")
		}
		writeStatus(w, enc, http.StatusServiceUnavailable, codeUnavailable, "not stored, retry later: "+err.Error())
		return
	}
	resp := plogotlp.NewExportResponse()
	if rejected > 0 {
		ps := resp.PartialSuccess()
		ps.SetRejectedLogRecords(int64(rejected))
		ps.SetErrorMessage(fmt.Sprintf("%d log records exceed %d bytes each and were not stored", rejected, maxEvent))
	}
	var out []byte
	ct := "application/x-protobuf"
	if enc == encJSON {
		out, err = resp.MarshalJSON()
		ct = "application/json"
	} else {
		out, err = resp.MarshalProto()
	}
	if err != nil {
		panic("BUG: marshal ExportLogsServiceResponse: " + err.Error())
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// size is an event's size as the bus counts it, roughly.
func size(e *event.Event) int {
	n := 0
	for _, f := range e.Fields {
		n += len(f.Name) + len(f.Value) + 4
	}
	return n
}

// writeStatus answers with a google.rpc.Status in the request's encoding.
func writeStatus(w http.ResponseWriter, enc encoding, httpStatus int, code int32, msg string) {
	st := &status.Status{Code: code, Message: msg}
	var (
		b   []byte
		err error
		ct  = "application/x-protobuf"
	)
	if enc == encJSON {
		b, err = protojson.Marshal(st)
		ct = "application/json"
	} else {
		b, err = proto.Marshal(st)
	}
	if err != nil {
		panic("BUG: marshal status: " + err.Error())
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(httpStatus)
	_, _ = w.Write(b)
}
