package retention

import (
	"encoding/json"
	"github.com/vigil-siem/vigil/internal/web"
	"net/http"
	"strconv"
	"time"
)

// Routes serve the retention API:
//
//	GET  /api/v1/retention                    policies, active holds, recent disposals (?since=)
//	POST /api/v1/retention/run                dispose now (?dry_run=true counts only)
//	GET  /api/v1/legal-holds                  every hold (?active=true)
//	POST /api/v1/legal-holds                  {"name", "query", "case", "reason"}
//	POST /api/v1/legal-holds/{id}/release     {"reason"}
//
// actor names who asked (the principal, once accounts exist).
func (m *Manager) Routes(parseTime func(string, time.Time) (time.Time, error), actor func(*http.Request) string) map[string]http.Handler {
	return map[string]http.Handler{
		"GET /api/v1/retention": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			since := time.Now().Add(-30 * 24 * time.Hour)
			if v := r.URL.Query().Get("since"); v != "" {
				t, err := parseTime(v, time.Now())
				if err != nil {
					web.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
					return
				}
				since = t
			}
			holds, err := m.Holds(r.Context(), true)
			if err != nil {
				web.WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
				return
			}
			ds, err := m.Disposals(r.Context(), since)
			if err != nil {
				web.WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
				return
			}
			web.WriteJSON(w, http.StatusOK, map[string]any{"store_retention": m.Retention.String(), "policies": m.Policies, "holds": nonNil(holds), "disposals": nonNil(ds)})
		}),
		"POST /api/v1/retention/run": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			dry := r.URL.Query().Get("dry_run") == "true"
			ds, err := m.Run(r.Context(), dry)
			if err != nil {
				web.WriteJSON(w, http.StatusInternalServerError, map[string]any{"error": err.Error(), "disposals": nonNil(ds)})
				return
			}
			web.WriteJSON(w, http.StatusOK, map[string]any{"dry_run": dry, "disposals": nonNil(ds)})
		}),
		"GET /api/v1/legal-holds": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hs, err := m.Holds(r.Context(), r.URL.Query().Get("active") == "true")
			if err != nil {
				web.WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
				return
			}
			web.WriteJSON(w, http.StatusOK, map[string]any{"holds": nonNil(hs)})
		}),
		"POST /api/v1/legal-holds": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var h Hold
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&h); err != nil {
				web.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "want {\"name\", \"query\", \"case\", \"reason\"}: " + err.Error()})
				return
			}
			h.ID, h.Released, h.CreatedBy = 0, time.Time{}, actor(r)
			h, err := m.AddHold(r.Context(), h)
			if err != nil {
				web.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
			web.WriteJSON(w, http.StatusCreated, h)
		}),
		"POST /api/v1/legal-holds/{id}/release": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
			if err != nil {
				web.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "hold id must be a number"})
				return
			}
			var body struct {
				Reason string `json:"reason"`
			}
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&body); err != nil {
				web.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "want {\"reason\"}"})
				return
			}
			if err := m.ReleaseHold(r.Context(), id, actor(r), body.Reason); err != nil {
				web.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
			web.WriteJSON(w, http.StatusOK, map[string]any{"released": id})
		}),
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
