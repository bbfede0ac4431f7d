package dashboards

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"go.yaml.in/yaml/v3"
)

// Handler serves dashboards (the caller is authenticated and may search):
//
//	GET    /api/v1/dashboards        built-in, own and shared (without panels)
//	GET    /api/v1/dashboards/{id}   one, with its panels (?format=yaml: its
//	                                 definition as YAML, what POST and PUT take)
//	POST   /api/v1/dashboards        a new one: JSON or YAML body
//	PUT    /api/v1/dashboards/{id}   replace one's own
//	DELETE /api/v1/dashboards/{id}   one's own (any, for an administrator)
type Handler struct {
	Store *Store
	User  func(*http.Request) string
	Admin func(*http.Request) bool
}

// Routes returns the handler's patterns.
func (h *Handler) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /api/v1/dashboards":         http.HandlerFunc(h.list),
		"POST /api/v1/dashboards":        http.HandlerFunc(h.create),
		"GET /api/v1/dashboards/{id}":    http.HandlerFunc(h.get),
		"PUT /api/v1/dashboards/{id}":    http.HandlerFunc(h.update),
		"DELETE /api/v1/dashboards/{id}": http.HandlerFunc(h.delete),
	}
}

func (h *Handler) user(r *http.Request) string {
	if h.User == nil {
		return ""
	}
	return h.User(r)
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
	case errors.Is(err, ErrNotOwner), errors.Is(err, ErrBuiltin):
		status = http.StatusForbidden
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

type summary struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Panels      int    `json:"panels"`
	Builtin     bool   `json:"builtin"`
	Owner       string `json:"owner,omitempty"`
	Shared      bool   `json:"shared"`
	Mine        bool   `json:"mine"`
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	ds, err := h.Store.List(r.Context(), h.user(r))
	if err != nil {
		fail(w, err)
		return
	}
	out := make([]summary, 0, len(ds))
	for _, d := range ds {
		out = append(out, summary{d.ID, d.Title, d.Description, len(d.Panels), d.Builtin, d.Owner, d.Shared, d.Mine})
	}
	writeJSON(w, http.StatusOK, map[string]any{"dashboards": out})
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	d, err := h.Store.Get(r.Context(), h.user(r), r.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	switch r.URL.Query().Get("format") {
	case "", "json":
		writeJSON(w, http.StatusOK, d)
	case "yaml":
		// The definition the console's editor starts from: a built-in
		// one saved under a new id becomes the user's own copy.
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(d); err != nil {
			fail(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(buf.Bytes())
	default:
		fail(w, invalid("format %q: json or yaml", r.URL.Query().Get("format")))
	}
}

// maxBody bounds a dashboard definition.
const maxBody = 256 << 10

func read(w http.ResponseWriter, r *http.Request) (*Dashboard, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, invalid("body: %v (at most %d bytes)", err, maxBody)
	}
	return Parse(data)
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	d, err := read(w, r)
	if err == nil {
		if d, err = h.Store.Save(r.Context(), h.user(r), d, true); err == nil {
			writeJSON(w, http.StatusCreated, d)
			return
		}
	}
	fail(w, err)
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request) {
	d, err := read(w, r)
	if err == nil {
		if d.ID != r.PathValue("id") {
			err = invalid("id %q in the body differs from %q in the path", d.ID, r.PathValue("id"))
		} else if d, err = h.Store.Save(r.Context(), h.user(r), d, false); err == nil {
			writeJSON(w, http.StatusOK, d)
			return
		}
	}
	fail(w, err)
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) {
	if err := h.Store.Delete(r.Context(), h.user(r), r.PathValue("id"), h.Admin != nil && h.Admin(r)); err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
