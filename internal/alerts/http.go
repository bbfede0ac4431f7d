package alerts

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Handler serves the alert API (the caller authenticates):
//
//	GET  /api/v1/alerts?since=&until=&rule=&level=high,critical&min_level=&status=&kind=&tag=&limit=
//	GET  /api/v1/alerts/{id}
//	POST /api/v1/alerts/{id}/status   {"status":"acknowledged"}
type Handler struct {
	Store *Store
	// ParseTime reads since/until (RFC 3339 or relative like -24h).
	ParseTime func(s string, now time.Time) (time.Time, error)
}

// Routes returns the handler's patterns, for mounting.
func (h *Handler) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /api/v1/alerts":              http.HandlerFunc(h.list),
		"GET /api/v1/alerts/{id}":         http.HandlerFunc(h.get),
		"POST /api/v1/alerts/{id}/status": http.HandlerFunc(h.status),
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

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := Filter{RuleID: q.Get("rule"), MinLevel: q.Get("min_level"), Status: q.Get("status"), Kind: q.Get("kind"), Tag: q.Get("tag")}
	if l := q.Get("level"); l != "" {
		f.Levels = strings.Split(l, ",")
	}
	now := time.Now()
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := h.ParseTime(v, now)
			if err != nil {
				fail(w, http.StatusBadRequest, p.name+": "+err.Error())
				return
			}
			*p.dst = t
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			fail(w, http.StatusBadRequest, "limit: want a number from 1 to 10000")
			return
		}
		f.Limit = n
	}
	as, err := h.Store.List(r.Context(), f)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if as == nil {
		as = []Alert{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": as})
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
	if errors.Is(err, ErrNotFound) {
		fail(w, http.StatusNotFound, err.Error())
		return
	}
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, a)
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
		fail(w, http.StatusBadRequest, "body: want {\"status\":\"open|acknowledged|closed\"}")
		return
	}
	err := h.Store.SetStatus(r.Context(), id, body.Status)
	switch {
	case errors.Is(err, ErrNotFound):
		fail(w, http.StatusNotFound, err.Error())
	case err != nil:
		fail(w, http.StatusBadRequest, err.Error())
	default:
		a, _ := h.Store.Get(r.Context(), id)
		writeJSON(w, http.StatusOK, a)
	}
}
