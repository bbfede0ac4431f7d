package searches

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// Handler serves saved searches (the caller is authenticated and may
// search):
//
//	GET    /api/v1/searches        the caller's and the shared ones
//	POST   /api/v1/searches        {"name","query","start","end","columns","shared"}
//	GET    /api/v1/searches/{id}
//	PUT    /api/v1/searches/{id}   the owner only
//	DELETE /api/v1/searches/{id}   the owner, or an administrator
type Handler struct {
	Store *Store
	// User names the caller; Admin reports whether the caller may delete
	// other users' searches.
	User  func(*http.Request) string
	Admin func(*http.Request) bool
}

// Routes returns the handler's patterns.
func (h *Handler) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /api/v1/searches":         http.HandlerFunc(h.list),
		"POST /api/v1/searches":        http.HandlerFunc(h.create),
		"GET /api/v1/searches/{id}":    http.HandlerFunc(h.get),
		"PUT /api/v1/searches/{id}":    http.HandlerFunc(h.update),
		"DELETE /api/v1/searches/{id}": http.HandlerFunc(h.delete),
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, err error) {
	var ie *InvalidError
	status := http.StatusInternalServerError
	switch {
	case errors.As(err, &ie):
		status = http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, ErrExists):
		status = http.StatusConflict
	case errors.Is(err, ErrNotOwner):
		status = http.StatusForbidden
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func (h *Handler) user(r *http.Request) string {
	if h.User == nil {
		return ""
	}
	return h.User(r)
}

func id(r *http.Request) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || n <= 0 {
		return 0, &InvalidError{fmt.Sprintf("id %q is not a saved search id", r.PathValue("id"))}
	}
	return n, nil
}

// body reads a saved search: JSON, at most 64 KiB, no unknown fields.
func body(w http.ResponseWriter, r *http.Request) (Saved, error) {
	var s Saved
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return s, &InvalidError{"empty body: want {\"name\", \"query\", \"start\", \"end\", \"columns\", \"shared\"}"}
		}
		return s, &InvalidError{"malformed body: " + err.Error()}
	}
	return s, nil
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	l, err := h.Store.List(r.Context(), h.user(r))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"searches": l})
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	n, err := id(r)
	if err == nil {
		var s Saved
		if s, err = h.Store.Get(r.Context(), h.user(r), n); err == nil {
			writeJSON(w, http.StatusOK, s)
			return
		}
	}
	fail(w, err)
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	s, err := body(w, r)
	if err == nil {
		if s, err = h.Store.Create(r.Context(), h.user(r), s); err == nil {
			writeJSON(w, http.StatusCreated, s)
			return
		}
	}
	fail(w, err)
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request) {
	n, err := id(r)
	if err == nil {
		var s Saved
		if s, err = body(w, r); err == nil {
			if s, err = h.Store.Update(r.Context(), h.user(r), n, s); err == nil {
				writeJSON(w, http.StatusOK, s)
				return
			}
		}
	}
	fail(w, err)
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) {
	n, err := id(r)
	if err == nil {
		if err = h.Store.Delete(r.Context(), h.user(r), n, h.Admin != nil && h.Admin(r)); err == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	fail(w, err)
}
