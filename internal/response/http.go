package response

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/web"
)

// Handler serves the response API:
//
//	GET  /api/v1/response/actions                     alerts:read       the actions (no secrets)
//	GET  /api/v1/alerts/{id}/actions                  alerts:read       the actions of an alert (attached to its rule first) and its runs
//	POST /api/v1/alerts/{id}/actions/{name}           response:run      {"dry_run": true}: run, dry-run, or ask for approval
//	GET  /api/v1/response/runs?alert=&status=&limit=  alerts:read       recorded runs, newest first
//	GET  /api/v1/response/runs/{id}                   alerts:read
//	POST /api/v1/response/runs/{id}/approve           response:approve  {"reason": "..."}: run it now
//	POST /api/v1/response/runs/{id}/reject            response:approve  {"reason": "..."}
type Handler struct {
	Runner *Runner
	Alerts *alerts.Store
	Actor  func(ctx context.Context) string
	Audit  func(ctx context.Context, action, target string, details map[string]any, err error)
}

// Routes returns the API's routes with their permissions.
func (h *Handler) Routes() []access.Route {
	return []access.Route{
		access.Handle("GET /api/v1/response/actions", access.AlertsRead, h.actions),
		access.Handle("GET /api/v1/alerts/{id}/actions", access.AlertsRead, h.alertActions),
		access.Handle("POST /api/v1/alerts/{id}/actions/{name}", access.ResponseRun, h.run),
		access.Handle("GET /api/v1/response/runs", access.AlertsRead, h.runs),
		access.Handle("GET /api/v1/response/runs/{id}", access.AlertsRead, h.getRun),
		access.Handle("POST /api/v1/response/runs/{id}/approve", access.ResponseApprove, h.approve),
		access.Handle("POST /api/v1/response/runs/{id}/reject", access.ResponseApprove, h.reject),
	}
}

func failErr(w http.ResponseWriter, err error) { web.Fail(w, err) }

func (h *Handler) actor(ctx context.Context) string {
	if h.Actor != nil {
		return h.Actor(ctx)
	}
	return "api"
}

func (h *Handler) audit(ctx context.Context, action, target string, d map[string]any, err error) {
	if h.Audit != nil {
		h.Audit(ctx, action, target, d, err)
	}
}

func (h *Handler) actions(w http.ResponseWriter, r *http.Request) {
	web.WriteJSON(w, http.StatusOK, map[string]any{"actions": nonNil(h.Runner.Actions())})
}

func nonNil(a []*Action) []*Action {
	if a == nil {
		return []*Action{}
	}
	return a
}

func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		web.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "id must be a number"})
		return 0, false
	}
	return id, true
}

func (h *Handler) alertActions(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	a, err := h.Alerts.Get(r.Context(), id)
	if err != nil {
		failErr(w, err)
		return
	}
	att, other := h.Runner.For(a)
	runs, err := h.Runner.Runs(r.Context(), id, "", 100)
	if err != nil {
		failErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"attached": nonNil(att), "other": nonNil(other), "runs": runs})
}

func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return &InputError{Msg: "body: want a JSON object: " + err.Error()}
	}
	return nil
}

func (h *Handler) run(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var body struct {
		DryRun bool `json:"dry_run"`
	}
	if err := decode(w, r, &body); err != nil {
		failErr(w, err)
		return
	}
	name := r.PathValue("name")
	run, err := h.Runner.Request(r.Context(), id, name, body.DryRun, h.actor(r.Context()))
	h.audit(r.Context(), "response.run", strconv.FormatInt(id, 10), map[string]any{"action": name, "dry_run": body.DryRun, "run": run.ID, "status": run.Status}, err)
	if err != nil {
		failErr(w, err)
		return
	}
	status := http.StatusCreated
	if run.Status == "pending_approval" {
		status = http.StatusAccepted
	}
	web.WriteJSON(w, status, run)
}

func (h *Handler) runs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var alert int64
	if v := q.Get("alert"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			web.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "alert: want an alert id"})
			return
		}
		alert = n
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	runs, err := h.Runner.Runs(r.Context(), alert, q.Get("status"), limit)
	if err != nil {
		failErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"runs": runs})
}

func (h *Handler) getRun(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	run, err := h.Runner.Get(r.Context(), id)
	if err != nil {
		failErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, run)
}

func (h *Handler) decide(w http.ResponseWriter, r *http.Request, approve bool) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var body struct {
		Reason string `json:"reason"`
	}
	if err := decode(w, r, &body); err != nil {
		failErr(w, err)
		return
	}
	run, err := h.Runner.Decide(r.Context(), id, approve, h.actor(r.Context()), body.Reason)
	action := "response.reject"
	if approve {
		action = "response.approve"
	}
	h.audit(r.Context(), action, strconv.FormatInt(id, 10), map[string]any{"action": run.Action, "alert": run.AlertID, "status": run.Status}, err)
	if err != nil {
		failErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, run)
}

func (h *Handler) approve(w http.ResponseWriter, r *http.Request) { h.decide(w, r, true) }
func (h *Handler) reject(w http.ResponseWriter, r *http.Request)  { h.decide(w, r, false) }
