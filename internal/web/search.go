package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/audit"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/store"
)

// Limits of the search API.
const (
	defaultLimit = 1000
	maxLimit     = 100_000
	maxBuckets   = 10_000
)

// ParseTime reads a time parameter: RFC 3339, "now", or a duration relative
// to now ("-1h", "-30m", "-7d"; a bare "1h" also means one hour ago).
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "now" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := parseRelative(strings.TrimPrefix(s, "-")); err == nil && !strings.HasPrefix(s, "+") {
		return now.Add(-d), nil
	}
	if t, err := event.ParseTime(s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("invalid time %q: want RFC 3339 (2026-11-28T10:00:00Z), now, or relative like -1h, -30m, -7d", s)
}

func parseRelative(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.ParseFloat(n, 64)
		return time.Duration(v * float64(24*time.Hour)), err
	}
	if n, ok := strings.CutSuffix(s, "w"); ok {
		v, err := strconv.ParseFloat(n, 64)
		return time.Duration(v * float64(7*24*time.Hour)), err
	}
	return time.ParseDuration(s)
}

// request reads q, start and end (default: the last 24 hours).
func (s *Server) request(r *http.Request) (store.Request, error) {
	now := s.Now()
	req := store.Request{Query: r.FormValue("q")}
	var err error
	if req.End, err = ParseTime(r.FormValue("end"), now); err != nil {
		return req, fmt.Errorf("end: %w", err)
	}
	start := r.FormValue("start")
	if start == "" {
		req.Start = req.End.Add(-24 * time.Hour)
	} else if req.Start, err = ParseTime(start, now); err != nil {
		return req, fmt.Errorf("start: %w", err)
	}
	if !req.Start.Before(req.End) {
		return req, fmt.Errorf("start %s is not before end %s", req.Start.Format(time.RFC3339), req.End.Format(time.RFC3339))
	}
	return req, nil
}

// queryFailed answers a failed query: 400 with the parser's message and
// the position in the query where it stopped ("position", in characters)
// for a malformed query, 500 otherwise.
func (s *Server) queryFailed(w http.ResponseWriter, err error, query string) {
	var qe *store.QueryError
	if errors.As(err, &qe) {
		body := map[string]any{"error": qe.Error()}
		if p := qe.Position(query); p >= 0 {
			body["position"] = p
		}
		WriteJSON(w, http.StatusBadRequest, body)
		return
	}
	s.Log.Error("query failed", "err", err)
	WriteError(w, http.StatusInternalServerError, "query failed: "+err.Error())
}

// search streams matching events as NDJSON, newest first.
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	req, err := s.request(r)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	req.Limit = defaultLimit
	if l := r.FormValue("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 || n > maxLimit {
			WriteError(w, http.StatusBadRequest, fmt.Sprintf("limit: want a number from 0 (no limit, unordered) to %d", maxLimit))
			return
		}
		req.Limit = n
	}
	started := false
	var buf []byte
	flusher, _ := w.(http.Flusher)
	p := access.PrincipalFrom(r.Context())
	count, masked := 0, false
	defer func() { s.recordQuery(r.Context(), "events.search", req, count, masked, err) }()
	err = s.Store.Search(r.Context(), req, func(row []event.Field) error {
		count++
		if s.Mask.Fields(p, row) {
			masked = true
		}
		if !started {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		buf = append(buf, '{')
		for i, f := range row {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = event.AppendJSONString(buf, f.Name)
			buf = append(buf, ':')
			buf = event.AppendJSONString(buf, f.Value)
		}
		buf = append(buf, '}', '\n')
		if len(buf) > 32<<10 {
			_, err := w.Write(buf)
			buf = buf[:0]
			if flusher != nil {
				flusher.Flush()
			}
			return err
		}
		return nil
	})
	if err != nil && !started {
		s.queryFailed(w, err, req.Query)
		return
	}
	if !started {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
	}
	if err != nil {
		// Too late for a status: end the stream with an error line.
		buf = append(buf, `{"error":`...)
		buf = event.AppendJSONString(buf, err.Error())
		buf = append(buf, "}\n"...)
	}
	w.Write(buf)
}

// hits counts matching events over time buckets: step (default: the range
// divided into about 60 buckets) and optional field=… to group by.
func (s *Server) hits(w http.ResponseWriter, r *http.Request) {
	req, err := s.request(r)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	span := req.End.Sub(req.Start)
	if st := r.FormValue("step"); st != "" {
		if req.Step, err = parseRelative(st); err != nil || req.Step <= 0 {
			WriteError(w, http.StatusBadRequest, fmt.Sprintf("step: invalid duration %q, want e.g. 1m, 1h, 1d", st))
			return
		}
	} else {
		req.Step = niceStep(span / 60)
	}
	if span/req.Step > maxBuckets {
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("step %s gives more than %d buckets over the range", req.Step, maxBuckets))
		return
	}
	req.GroupBy = r.Form["field"]
	series, err := s.Store.Hits(r.Context(), req)
	var total uint64
	masked := false
	for i := range series {
		total += series[i].Total
		if s.Mask.Map(access.PrincipalFrom(r.Context()), series[i].Fields) {
			masked = true
		}
	}
	s.recordQuery(r.Context(), "events.hits", req, int(total), masked, err)
	if err != nil {
		s.queryFailed(w, err, req.Query)
		return
	}
	if series == nil {
		series = []store.HitsSeries{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"step": req.Step.String(), "hits": series})
}

// niceStep rounds a bucket width up to a familiar one.
func niceStep(d time.Duration) time.Duration {
	for _, s := range []time.Duration{time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute,
		5 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour} {
		if d <= s {
			return s
		}
	}
	return d.Truncate(24*time.Hour) + 24*time.Hour
}

// fields lists field names of matching events with their top values.
func (s *Server) fields(w http.ResponseWriter, r *http.Request) {
	req, err := s.request(r)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	req.TopValues = 5
	if t := r.FormValue("top"); t != "" {
		if req.TopValues, err = strconv.Atoi(t); err != nil || req.TopValues < 1 || req.TopValues > 100 {
			WriteError(w, http.StatusBadRequest, "top: want a number from 1 to 100")
			return
		}
	}
	fs, err := s.Store.Fields(r.Context(), req)
	var hits uint64
	masked := false
	p := access.PrincipalFrom(r.Context())
	for i := range fs {
		hits = max(hits, fs[i].Hits)
		if !access.Sees(p) && s.Mask.IsPHI(fs[i].Name) {
			for j := range fs[i].TopValues {
				fs[i].TopValues[j].Value = access.Masked
				masked = true
			}
		}
	}
	s.recordQuery(r.Context(), "events.fields", req, int(hits), masked, err)
	if err != nil {
		s.queryFailed(w, err, req.Query)
		return
	}
	if fs == nil {
		fs = []store.FieldSummary{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"fields": fs})
}

// recordQuery writes the audit record of a query: its text, time range,
// how many results it gave, and whether PHI was masked in them.
func (s *Server) recordQuery(ctx context.Context, action string, req store.Request, count int, masked bool, err error) {
	if s.Audit == nil {
		return
	}
	d := map[string]any{"query": req.Query, "start": req.Start.UTC().Format(time.RFC3339Nano),
		"end": req.End.UTC().Format(time.RFC3339Nano), "result_count": count}
	if req.Limit > 0 {
		d["limit"] = req.Limit
	}
	if masked {
		d["phi_masked"] = true
	}
	outcome := audit.Success
	if err != nil {
		outcome = audit.Failure
		d["error"] = err.Error()
	}
	if rerr := s.Audit.Record(ctx, audit.Entry{Action: action, Outcome: outcome, Details: d}); rerr != nil {
		s.Log.Error("audit record failed", "action", action, "err", rerr)
	}
}

var eventIDRe = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// revealRequest is the body of POST /api/v1/events/reveal.
type revealRequest struct {
	// ID is the event's vigil.id.
	ID string `json:"id"`
	// Reason says why PHI is needed; it is recorded.
	Reason string `json:"reason"`
	// Time is the event's @timestamp (RFC 3339), to find it quickly;
	// without it the last 30 days are searched.
	Time string `json:"time"`
}

// reveal answers one event with its PHI unmasked, for a principal with
// phi:reveal who states a reason; the reveal is recorded.
func (s *Server) reveal(w http.ResponseWriter, r *http.Request) {
	var body revealRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		WriteError(w, http.StatusBadRequest, `body: want {"id": "<vigil.id>", "reason": "why PHI is needed", "time": "<@timestamp>"}: `+err.Error())
		return
	}
	body.Reason = strings.TrimSpace(body.Reason)
	switch {
	case !eventIDRe.MatchString(body.ID):
		WriteError(w, http.StatusBadRequest, "id: want the event's vigil.id")
		return
	case len(body.Reason) < 8 || len(body.Reason) > 500:
		WriteError(w, http.StatusBadRequest, "reason: say in 8 to 500 characters why this event's PHI is needed")
		return
	}
	now := s.Now()
	req := store.Request{Query: event.FieldID + `:="` + body.ID + `"`, Start: now.Add(-30 * 24 * time.Hour), End: now.Add(time.Minute), Limit: 2}
	if body.Time != "" {
		t, err := time.Parse(time.RFC3339Nano, body.Time)
		if err != nil {
			WriteError(w, http.StatusBadRequest, "time: want the event's @timestamp in RFC 3339")
			return
		}
		req.Start, req.End = t.Add(-time.Second), t.Add(time.Second)
	}
	var found []map[string]string
	err := s.Store.Search(r.Context(), req, func(row []event.Field) error {
		m := make(map[string]string, len(row))
		for _, f := range row {
			m[f.Name] = f.Value
		}
		found = append(found, m)
		return nil
	})
	d := map[string]any{"reason": body.Reason}
	outcome := audit.Success
	switch {
	case err != nil:
		outcome, d["error"] = audit.Failure, err.Error()
	case len(found) != 1:
		outcome, d["error"] = audit.Failure, fmt.Sprintf("%d events with this id", len(found))
	}
	if rerr := s.Audit.Record(r.Context(), audit.Entry{Action: "phi.reveal", Target: "event:" + body.ID, Outcome: outcome, Details: d}); rerr != nil {
		WriteError(w, http.StatusInternalServerError, "the reveal could not be recorded, so it is refused: "+rerr.Error())
		return
	}
	switch {
	case err != nil:
		s.queryFailed(w, err, req.Query)
	case len(found) == 0:
		WriteError(w, http.StatusNotFound, "no event with this id in the range searched (give the event's time)")
	case len(found) > 1:
		WriteError(w, http.StatusConflict, "more than one event has this id")
	default:
		w.Header().Set("Cache-Control", "no-store")
		WriteJSON(w, http.StatusOK, map[string]any{"event": found[0]})
	}
}
