// Package httpin is the HTTP source: POST /api/v1/ingest with NDJSON or a
// JSON array of events (gzip accepted), or with ?format=<name> records of
// one of the record formats of package formats (syslog, cef, …), one per
// line; ?import=true marks a historical import (event.FieldImport). It
// answers only after the bus stored the
// accepted events, and lists each refused event with its line or element
// number and the reason.
package httpin

import (
	"errors"
	"fmt"
	"github.com/vigil-siem/vigil/internal/web"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/formats"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/parse/ndjson"
)

// Source is the metrics label and bus subject of this source.
const Source = "http"

// Handler serves POST /api/v1/ingest.
type Handler struct {
	Pub           ingest.Publisher
	Metrics       *ingest.Metrics
	Log           *slog.Logger
	MaxBodyBytes  int64
	MaxEventBytes int
	// Formats parse the events of a request, by name: "ndjson" (the
	// default, JSON objects or an array) and the record formats asked for
	// with ?format=<name>, one record per line (formats.Records).
	Formats map[string]formats.RecordParser
	Now     func() time.Time
}

// Rejection is one refused event.
type Rejection struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// Response is the answer to an ingest request.
type Response struct {
	Accepted      int         `json:"accepted"`
	Rejected      []Rejection `json:"rejected,omitempty"`
	RejectedTotal int         `json:"rejected_total"`
	// NotStoredFrom is set when the bus refused part of the request: the
	// events from this line on were not stored and may be sent again.
	NotStoredFrom int    `json:"not_stored_from_line,omitempty"`
	Error         string `json:"error,omitempty"`
}

// fieldsRoom is the room left in a decoded event's fields for what the
// server adds before storing it (about what the healthcare annotation
// adds to an access); maxFieldsHint bounds the fields allocated ahead.
const (
	fieldsRoom    = 24
	maxFieldsHint = 256
)

// maxListed bounds the rejections listed in one response.
const maxListed = 1000

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	body, err := ingest.Body(w, r, h.MaxBodyBytes)
	var encErr *ingest.EncodingError
	switch {
	case errors.As(err, &encErr) && encErr.Unsupported:
		web.WriteJSON(w, http.StatusUnsupportedMediaType, Response{Error: err.Error()})
		return
	case err != nil:
		web.WriteJSON(w, http.StatusBadRequest, Response{Error: err.Error()})
		return
	}
	defer body.Close()

	var (
		resp Response
		// Events are encoded into bus batches as they come: a large
		// request holds its size in encoded bytes, not its decoded events.
		events = ingest.NewPending(r.Context(), h.Pub)
		lines  []int // line of each event, for partial failures
	)
	arrived := now()
	// ?import=true: a historical import (old files sent on purpose), not
	// a live source; its events say so.
	imported := r.URL.Query().Get("import") == "true"
	format := r.URL.Query().Get("format")
	if format == "" || format == "json" {
		format = "ndjson"
	}
	parse := h.Formats[format]
	if parse == nil {
		web.WriteJSON(w, http.StatusBadRequest, Response{Error: fmt.Sprintf("unknown format %q: want %s", format, formatList(h.Formats))})
		return
	}
	fieldsHint := 16
	counts := h.Metrics.For(Source) // resolved once, not per event
	isJSON := format == "ndjson"
	decode := ndjson.Lines
	if isJSON {
		decode = ndjson.Decode
	}
	err = decode(body, h.MaxEventBytes, func(it ndjson.Item) error {
		reject := func(reason string) {
			resp.RejectedTotal++
			h.Metrics.Rejected.WithLabelValues(Source).Inc()
			if len(resp.Rejected) < maxListed {
				resp.Rejected = append(resp.Rejected, Rejection{Line: it.N, Reason: reason})
			}
		}
		if it.Err != nil {
			reject(it.Err.Error())
			if !errors.Is(it.Err, ndjson.ErrTooLong) { // too large is no parse failure
				h.Metrics.Failures.Refused(Source, format)
			}
			return nil
		}
		counts.Bytes.Add(float64(len(it.Raw)))
		// Fields sized like the previous event's, with room for what the
		// server adds on the way (stamps, the healthcare annotation): a
		// slice grown a field at a time is copied six times.
		e := event.Event{Fields: make([]event.Field, 0, fieldsHint)}
		if err := parse(it.Raw, &e); err != nil {
			reject(err.Error())
			h.Metrics.Failures.Refused(Source, format)
			return nil
		}
		if isJSON {
			e.SetIfAbsent("event.module", "http")
		}
		if imported {
			e.Set(event.FieldImport, "true")
		}
		ingest.Stamp(&e, arrived)
		counts.Count(&e)
		fieldsHint = min(len(e.Fields)+fieldsRoom, maxFieldsHint)
		events.Add(e)
		lines = append(lines, it.N)
		return nil
	})
	switch {
	case ingest.IsBusy(err):
		w.Header().Set("Retry-After", ingest.BusyRetryAfter)
		web.WriteJSON(w, http.StatusServiceUnavailable, Response{Error: err.Error()})
		return
	case ingest.IsTooLarge(err):
		web.WriteJSON(w, http.StatusRequestEntityTooLarge, Response{Error: fmt.Sprintf("request body exceeds %d bytes (after decompression), or the server's memory budget for requests; send smaller requests", h.MaxBodyBytes)})
		return
	case err != nil:
		web.WriteJSON(w, http.StatusBadRequest, Response{Error: "reading request body: " + err.Error()})
		return
	}
	stored, err := events.Publish(r.Context(), h.Pub, Source)
	resp.Accepted = stored
	if err != nil {
		resp.NotStoredFrom = lines[stored]
		resp.Error = "not stored: " + err.Error()
		status := http.StatusInternalServerError
		if errors.Is(err, bus.ErrFull) {
			status = http.StatusServiceUnavailable
			w.Header().Set("Retry-After", "5")
		}
		h.Log.Warn("ingest request partly refused by the bus", "accepted", stored, "refused", events.Len()-stored, "err", err)
		web.WriteJSON(w, status, resp)
		return
	}
	status := http.StatusOK
	if resp.Accepted == 0 && resp.RejectedTotal > 0 {
		status = http.StatusBadRequest
	}
	web.WriteJSON(w, status, resp)
}

func formatList(m map[string]formats.RecordParser) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ") + " (default ndjson)"
}
