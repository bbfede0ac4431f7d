package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/apierr"
)

// Handler serves the alert API:
//
//	GET   /api/v1/alerts?since=&until=&created_since=&created_until=&rule=&level=&min_level=&status=&kind=&tag=
//	      &assignee=&disposition=&entity=&q=&order=&limit=&cursor=                          alerts:read
//	GET   /api/v1/alerts/{id}                                                              alerts:read
//	PATCH /api/v1/alerts/{id}  {status, assignee, disposition, reason, note, tags}         alerts:write
//	GET   /api/v1/alerts/{id}/history                                                      alerts:read
//	POST  /api/v1/alerts/bulk  {"filter": {<list parameters>} | "ids": [..], "patch": {..}} alerts:write
//	POST  /api/v1/alerts/{id}/status  {"status": "in_progress"}  (older API)               alerts:write
//	GET   /api/v1/alerts/stats?since=-30d&until=   per rule: dispositions, false-positive rate,
//	      times to acknowledge and close, SLA breaches; noisiest first              alerts:read
type Handler struct {
	Store *Store
	// ParseTime reads since/until (RFC 3339 or relative like -24h).
	ParseTime func(s string, now time.Time) (time.Time, error)
	SLA       SLA
	// Users checks assignees (nil: any name).
	Users Users
	// Actor names the caller of a request for the history (nil: "api").
	Actor func(ctx context.Context) string
	// Audit, when set, records every change (action alert.update,
	// alert.bulk_update) with its outcome.
	Audit func(ctx context.Context, action, target string, details map[string]any, err error)
	// Mask, when set, hides what the caller may not see (PHI) in alerts
	// before they are answered.
	Mask func(ctx context.Context, as []Alert)
	Now  func() time.Time
}

// Routes returns the handler's routes with their permissions.
func (h *Handler) Routes() []access.Route {
	return []access.Route{
		access.Handle("GET /api/v1/alerts", access.AlertsRead, h.list),
		access.Handle("GET /api/v1/alerts/{id}", access.AlertsRead, h.get),
		access.Handle("PATCH /api/v1/alerts/{id}", access.AlertsWrite, h.patch),
		access.Handle("GET /api/v1/alerts/{id}/history", access.AlertsRead, h.history),
		access.Handle("POST /api/v1/alerts/bulk", access.AlertsWrite, h.bulk),
		access.Handle("GET /api/v1/alerts/stats", access.AlertsRead, h.stats),
		access.Handle("POST /api/v1/alerts/{id}/status", access.AlertsWrite, h.status),
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// failErr answers an error of the store with the status it deserves.
func failErr(w http.ResponseWriter, err error) { fail(w, apierr.Status(err), err.Error()) }

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) actor(ctx context.Context) string {
	if h.Actor != nil {
		return h.Actor(ctx)
	}
	return "api"
}

// ParseFilter reads the list parameters.
func ParseFilter(q url.Values, parseTime func(string, time.Time) (time.Time, error), now time.Time) (Filter, error) {
	f := Filter{RuleID: q.Get("rule"), MinLevel: q.Get("min_level"), Kind: q.Get("kind"), Tag: q.Get("tag"),
		Assignee: q.Get("assignee"), Disposition: q.Get("disposition"), Entity: q.Get("entity"), Text: q.Get("q"),
		Order: q.Get("order"), After: q.Get("cursor")}
	split := func(v string) []string {
		var out []string
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	f.Levels, f.Statuses = split(q.Get("level")), split(q.Get("status"))
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}, {"created_since", &f.CreatedSince}, {"created_until", &f.CreatedUntil}} {
		if v := q.Get(p.name); v != "" {
			t, err := parseTime(v, now)
			if err != nil {
				return f, &InputError{Field: p.name, Msg: err.Error()}
			}
			*p.dst = t
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return f, &InputError{Field: "limit", Msg: "want a number from 1 to 10000 (page further with cursor)"}
		}
		f.Limit = n
	}
	for _, id := range split(q.Get("ids")) {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return f, &InputError{Field: "ids", Msg: "want alert ids separated by commas"}
		}
		f.IDs = append(f.IDs, n)
	}
	return f, nil
}

func (h *Handler) decorate(ctx context.Context, as []Alert) {
	now := h.now()
	for i := range as {
		as[i].SLA = h.SLA.State(as[i], now)
	}
	if h.Mask != nil {
		h.Mask(ctx, as)
	}
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	f, err := ParseFilter(r.URL.Query(), h.ParseTime, h.now())
	if err != nil {
		failErr(w, err)
		return
	}
	as, next, err := h.Store.Page(r.Context(), f)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if as == nil {
		as = []Alert{}
	}
	h.decorate(r.Context(), as)
	resp := map[string]any{"alerts": as}
	if next != "" {
		resp["next"] = next
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *Handler) id(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		fail(w, http.StatusBadRequest, "alert id must be a number")
		return 0, false
	}
	return id, true
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	id, ok := h.id(w, r)
	if !ok {
		return
	}
	a, err := h.Store.Get(r.Context(), id)
	if err != nil {
		failErr(w, err)
		return
	}
	as := []Alert{a}
	h.decorate(r.Context(), as)
	writeJSON(w, http.StatusOK, as[0])
}

func (h *Handler) history(w http.ResponseWriter, r *http.Request) {
	id, ok := h.id(w, r)
	if !ok {
		return
	}
	hs, err := h.Store.History(r.Context(), id)
	if err != nil {
		failErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"history": hs})
}

// maxBody bounds a triage request: a note of MaxNoteBytes, JSON-escaped,
// and the rest.
const maxBody = 8*MaxNoteBytes + 64<<10

// decode reads a JSON body, refusing unknown fields.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return &InputError{Field: "body", Msg: "too large: a note holds at most 16 KiB"}
		}
		if errors.Is(err, io.EOF) {
			return &InputError{Field: "body", Msg: "empty: want a JSON object"}
		}
		return &InputError{Field: "body", Msg: "want a JSON object: " + err.Error()}
	}
	return nil
}

func (h *Handler) audit(ctx context.Context, action, target string, details map[string]any, err error) {
	if h.Audit != nil {
		h.Audit(ctx, action, target, details, err)
	}
}

func (h *Handler) patch(w http.ResponseWriter, r *http.Request) {
	id, ok := h.id(w, r)
	if !ok {
		return
	}
	var p Patch
	if err := decode(w, r, &p); err != nil {
		h.audit(r.Context(), "alert.update", strconv.FormatInt(id, 10), nil, err)
		failErr(w, err)
		return
	}
	a, hist, err := h.Store.Update(r.Context(), id, p, h.actor(r.Context()), h.Users)
	h.audit(r.Context(), "alert.update", strconv.FormatInt(id, 10), historyDetails(hist), err)
	if err != nil {
		failErr(w, err)
		return
	}
	as := []Alert{a}
	h.decorate(r.Context(), as)
	writeJSON(w, http.StatusOK, as[0])
}

// historyDetails are the audit details of a change: each field's old and
// new value (a note's text is not repeated in the trail, only its size).
func historyDetails(hist []HistoryEntry) map[string]any {
	if len(hist) == 0 {
		return nil
	}
	d := map[string]any{}
	for _, h := range hist {
		if h.Field == "note" {
			d["note_bytes"] = len(h.New)
			continue
		}
		d[h.Field] = map[string]string{"from": h.Old, "to": h.New}
	}
	return d
}

func (h *Handler) bulk(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Filter map[string]string `json:"filter"`
		IDs    []int64           `json:"ids"`
		Patch  Patch             `json:"patch"`
	}
	if err := decode(w, r, &body); err != nil {
		failErr(w, err)
		return
	}
	q := url.Values{}
	for k, v := range body.Filter {
		q.Set(k, v)
	}
	f, err := ParseFilter(q, h.ParseTime, h.now())
	if err != nil {
		failErr(w, err)
		return
	}
	f.IDs = append(f.IDs, body.IDs...)
	if len(body.Filter) == 0 && len(body.IDs) == 0 {
		failErr(w, &InputError{Field: "filter", Msg: "give a filter or ids: a bulk change of every alert is refused"})
		return
	}
	res, err := h.Store.BulkUpdate(r.Context(), f, body.Patch, h.actor(r.Context()), h.Users)
	details := map[string]any{"filter": body.Filter, "ids": len(body.IDs), "matched": res.Matched, "updated": len(res.Updated), "failed": len(res.Failed)}
	if pd, _ := json.Marshal(body.Patch); len(pd) < 4096 {
		details["patch"] = json.RawMessage(pd)
	}
	h.audit(r.Context(), "alert.bulk_update", "", details, err)
	if err != nil {
		failErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	id, ok := h.id(w, r)
	if !ok {
		return
	}
	var body struct {
		Status string `json:"status"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
		fail(w, http.StatusBadRequest, "body: want {\"status\":\"new|in_progress|closed\"}")
		return
	}
	a, err := h.Store.SetStatus(r.Context(), id, body.Status, h.actor(r.Context()))
	h.audit(r.Context(), "alert.update", strconv.FormatInt(id, 10), map[string]any{"status": body.Status}, err)
	if err != nil {
		failErr(w, err)
		return
	}
	as := []Alert{a}
	h.decorate(r.Context(), as)
	writeJSON(w, http.StatusOK, as[0])
}
