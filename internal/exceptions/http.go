package exceptions

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/web"
)

// Handler serves the exceptions API:
//
//	GET    /api/v1/exceptions               alerts:read   every exception with hits and expiry, and the directory's errors
//	POST   /api/v1/exceptions               alerts:write  {rule, tag, conditions: [{field, op, value|values}], reason, expires}
//	GET    /api/v1/exceptions/{id}          alerts:read
//	PATCH  /api/v1/exceptions/{id}          alerts:write  any of rule, tag, conditions, reason, expires, enabled
//	DELETE /api/v1/exceptions/{id}          alerts:write
//	POST   /api/v1/exceptions/reload        alerts:write  read the directory again
//	POST   /api/v1/alerts/{id}/exception    alerts:write  {fields, reason, expires, close, disposition}: from an alert in one step
type Handler struct {
	Service *Service
	Alerts  *alerts.Store
	Users   alerts.Users
	Actor   func(ctx context.Context) string
	Audit   func(ctx context.Context, action, target string, details map[string]any, err error)
}

// Routes returns the API's routes with their permissions.
func (h *Handler) Routes() []access.Route {
	return []access.Route{
		access.Handle("GET /api/v1/exceptions", access.AlertsRead, h.list),
		access.Handle("POST /api/v1/exceptions", access.AlertsWrite, h.create),
		access.Handle("GET /api/v1/exceptions/{id}", access.AlertsRead, h.get),
		access.Handle("PATCH /api/v1/exceptions/{id}", access.AlertsWrite, h.update),
		access.Handle("DELETE /api/v1/exceptions/{id}", access.AlertsWrite, h.delete),
		access.Handle("POST /api/v1/exceptions/reload", access.AlertsWrite, h.reload),
		access.Handle("POST /api/v1/alerts/{id}/exception", access.AlertsWrite, h.fromAlert),
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

func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return invalid("body", "empty: want a JSON object")
		}
		return invalid("body", "want a JSON object: %v", err)
	}
	return nil
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	xs, err := h.Service.List(r.Context())
	if err != nil {
		failErr(w, err)
		return
	}
	if xs == nil {
		xs = []Exception{}
	}
	var errs []string
	for _, e := range h.Service.Errors() {
		errs = append(errs, e.Error())
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"exceptions": xs, "errors": errs})
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	x, err := h.Service.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		failErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, x)
}

// request is an exception as the API takes it.
type request struct {
	Rule       string      `json:"rule"`
	Tag        string      `json:"tag"`
	Conditions []Condition `json:"conditions"`
	Reason     string      `json:"reason"`
	Expires    string      `json:"expires"`
}

func (q request) exception() (Exception, error) {
	x := Exception{Rule: q.Rule, Tag: q.Tag, Conditions: q.Conditions, Reason: q.Reason}
	if q.Expires != "" {
		t, err := ParseExpiry(q.Expires)
		if err != nil {
			return x, invalid("expires", "%v", err)
		}
		x.Expires = &t
	}
	return x, nil
}

func details(x Exception) map[string]any {
	d := map[string]any{"rule": x.Rule, "conditions": x.Conditions, "reason": x.Reason}
	if x.Tag != "" {
		d["tag"] = x.Tag
	}
	if x.Expires != nil {
		d["expires"] = x.Expires.Format(time.RFC3339)
	}
	return d
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	var q request
	if err := decode(w, r, &q); err != nil {
		failErr(w, err)
		return
	}
	x, err := q.exception()
	if err == nil {
		x, err = h.Service.Create(r.Context(), x, h.actor(r.Context()))
	}
	h.audit(r.Context(), "exception.create", x.ID, details(x), err)
	if err != nil {
		failErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, x)
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request) {
	var c Change
	if err := decode(w, r, &c); err != nil {
		failErr(w, err)
		return
	}
	id := r.PathValue("id")
	x, err := h.Service.Update(r.Context(), id, c)
	h.audit(r.Context(), "exception.update", id, details(x), err)
	if err != nil {
		failErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, x)
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := h.Service.Delete(r.Context(), id)
	h.audit(r.Context(), "exception.delete", id, nil, err)
	if err != nil {
		failErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) reload(w http.ResponseWriter, r *http.Request) {
	err := h.Service.Reload(r.Context())
	h.audit(r.Context(), "exception.reload", "", nil, err)
	if err != nil {
		failErr(w, err)
		return
	}
	h.list(w, r)
}

// fromAlert makes an exception from an alert: its rule, and conditions
// equal to the alert's values of the given fields (default: the entity it
// is grouped by). With close, the alert is closed at the same time
// (disposition false_positive unless given), with the same reason.
func (h *Handler) fromAlert(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		web.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "alert id must be a number"})
		return
	}
	var q struct {
		Fields      []string `json:"fields"`
		Reason      string   `json:"reason"`
		Expires     string   `json:"expires"`
		Close       bool     `json:"close"`
		Disposition string   `json:"disposition"`
	}
	if err := decode(w, r, &q); err != nil {
		failErr(w, err)
		return
	}
	ctx := r.Context()
	a, err := h.Alerts.Get(ctx, id)
	if err != nil {
		failErr(w, err)
		return
	}
	x, err := FromAlert(a, q.Fields)
	if err == nil {
		x.Reason = q.Reason
		if q.Expires != "" {
			var t time.Time
			if t, err = ParseExpiry(q.Expires); err != nil {
				err = invalid("expires", "%v", err)
			}
			x.Expires = &t
		}
	}
	if err == nil {
		_, err = Validate(x) // before closing anything
	}
	if err == nil && q.Close && a.Status != "closed" {
		st, d, reason := "closed", q.Disposition, q.Reason
		if d == "" {
			d = "false_positive"
		}
		var hist []alerts.HistoryEntry
		_, hist, err = h.Alerts.Update(ctx, id, alerts.Patch{Status: &st, Disposition: &d, Reason: &reason}, h.actor(ctx), h.Users)
		h.audit(ctx, "alert.update", strconv.FormatInt(id, 10), map[string]any{"status": "closed", "disposition": d, "changes": len(hist)}, err)
	}
	if err == nil {
		x, err = h.Service.Create(ctx, x, h.actor(ctx))
	}
	h.audit(ctx, "exception.create", x.ID, details(x), err)
	if err != nil {
		failErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, x)
}

// FromAlert builds the exception of an alert's rule for the alert's values
// of fields (taken from its group-by values, then its key fields). With
// no fields, the alert's entity: its group-by fields, or the entity its
// matches are grouped by.
func FromAlert(a alerts.Alert, fields []string) (Exception, error) {
	x := Exception{Rule: a.RuleID, FromAlert: a.ID}
	if len(fields) == 0 {
		fields = alerts.Sorted(a.GroupBy)
		if len(fields) == 0 {
			// "rule\x00field=value": the entity of a Sigma rule's matches.
			parts := strings.Split(a.GroupKey, "\x00")
			for _, p := range parts[1:] {
				if f, _, ok := strings.Cut(p, "="); ok {
					fields = append(fields, f)
				}
			}
		}
	}
	if len(fields) == 0 {
		return x, invalid("fields", "the alert has no entity: name the fields whose values the exception should match")
	}
	for _, f := range fields {
		v, ok := a.GroupBy[f]
		if !ok {
			v, ok = a.Fields[f]
		}
		if !ok || v == "" {
			return x, invalid("fields", "the alert has no value for %s", f)
		}
		x.Conditions = append(x.Conditions, Condition{Field: f, Op: "equals", Value: v})
	}
	return x, nil
}
