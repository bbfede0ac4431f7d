package privacy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/report"
)

// Route is one API route and the permission it needs (mounted through the
// server's access middleware).
type Route struct {
	Pattern string
	Perm    string
	Handler http.Handler
}

// Handler serves the privacy API:
//
//	GET  /api/v1/privacy/templates?status=&group=                privacy:read
//	GET  /api/v1/privacy/templates/{id}                          privacy:read
//	POST /api/v1/privacy/templates/{id}/approve  {"reason"}      privacy:write
//	POST /api/v1/privacy/templates/{id}/reject   {"reason"}      privacy:write
//	POST /api/v1/privacy/templates/{id}/reset                    privacy:write
//	POST /api/v1/privacy/mine                                    privacy:write
//	GET  /api/v1/privacy/rules                                   privacy:read
//	GET  /api/v1/privacy/reports/patients/{patient}?from=&to=&format=json|csv|pdf|html   privacy:read
//	GET  /api/v1/privacy/reports/users/{user}?from=&to=&format=                       privacy:read
//	GET  /api/v1/privacy/reports/summary?from=&to=&format=                            privacy:read
//
// Every decision and every report generated is recorded through Audit;
// report rows are masked through Mask for callers without the PHI
// permission.
type Handler struct {
	Engine  *Engine
	Config  *Config
	Reports *Reporter
	// Rules returns the detector's privacy rules (nil: detection off).
	Rules func() *Rules
	// ParseTime reads from/to (RFC 3339 or relative like -30d).
	ParseTime func(s string, now time.Time) (time.Time, error)
	// Location prints report times (default UTC).
	Location *time.Location
	// Actor names the caller (default "api").
	Actor func(ctx context.Context) string
	// Audit records decisions and report generations.
	Audit func(ctx context.Context, action, target string, details map[string]any, err error)
	// Mask hides what the caller may not see (PHI) in a flat field map.
	Mask func(ctx context.Context, fields map[string]string)
	// Names maps department and role names in lower case to the
	// directory's spelling (nil: groups are shown in lower case).
	Names func(ctx context.Context) (map[string]string, error)
	Now   func() time.Time
}

// Routes returns the handler's routes with their permissions.
func (h *Handler) Routes() []Route {
	return []Route{
		{"GET /api/v1/privacy/templates", "privacy:read", http.HandlerFunc(h.templates)},
		{"GET /api/v1/privacy/templates/{id}", "privacy:read", http.HandlerFunc(h.template)},
		{"POST /api/v1/privacy/templates/{id}/approve", "privacy:write", h.decide(StatusApproved)},
		{"POST /api/v1/privacy/templates/{id}/reject", "privacy:write", h.decide(StatusRejected)},
		{"POST /api/v1/privacy/templates/{id}/reset", "privacy:write", h.decide(StatusProposed)},
		{"POST /api/v1/privacy/mine", "privacy:write", http.HandlerFunc(h.mine)},
		{"GET /api/v1/privacy/rules", "privacy:read", http.HandlerFunc(h.rules)},
		{"GET /api/v1/privacy/reports/patients/{patient}", "privacy:read", http.HandlerFunc(h.patientReport)},
		{"GET /api/v1/privacy/reports/users/{user}", "privacy:read", http.HandlerFunc(h.userReport)},
		{"GET /api/v1/privacy/reports/summary", "privacy:read", http.HandlerFunc(h.summaryReport)},
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

func (h *Handler) audit(ctx context.Context, action, target string, details map[string]any, err error) {
	if h.Audit != nil {
		h.Audit(ctx, action, target, details, err)
	}
}

func (h *Handler) templates(w http.ResponseWriter, r *http.Request) {
	if h.Engine == nil {
		fail(w, http.StatusServiceUnavailable, "privacy analytics are off (privacy.enabled)")
		return
	}
	ts, err := h.Engine.Templates(r.Context())
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	status, group := r.URL.Query().Get("status"), strings.ToLower(r.URL.Query().Get("group"))
	var names map[string]string
	if h.Names != nil {
		names, _ = h.Names(r.Context()) // without them, groups are shown as keyed
	}
	out := []Template{}
	for _, t := range ts {
		if (status == "" || t.Status == status || status == "explaining" && t.Explains()) && (group == "" || strings.Contains(t.Group, group)) {
			t.GroupLabel = LabelWith(t.Group, names)
			out = append(out, t)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"templates": out, "stats": h.Engine.Stats()})
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("template id %q is not a number", r.PathValue("id"))
	}
	return id, nil
}

func (h *Handler) template(w http.ResponseWriter, r *http.Request) {
	if h.Engine == nil {
		fail(w, http.StatusServiceUnavailable, "privacy analytics are off (privacy.enabled)")
		return
	}
	id, err := pathID(r)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	t, err := h.Engine.Template(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		fail(w, http.StatusNotFound, err.Error())
		return
	}
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// decide records the privacy officer's decision on a template.
func (h *Handler) decide(status string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.Engine == nil {
			fail(w, http.StatusServiceUnavailable, "privacy analytics are off (privacy.enabled)")
			return
		}
		id, err := pathID(r)
		if err != nil {
			fail(w, http.StatusBadRequest, err.Error())
			return
		}
		var body struct {
			Reason string `json:"reason"`
		}
		data, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err == nil && len(bytes.TrimSpace(data)) > 0 {
			err = json.Unmarshal(data, &body)
		}
		if err != nil {
			fail(w, http.StatusBadRequest, "want a JSON body {\"reason\": \"...\"}: "+err.Error())
			return
		}
		ctx := r.Context()
		t, err := h.Engine.Decide(ctx, id, status, h.actor(ctx), body.Reason)
		h.audit(ctx, "privacy.template."+map[string]string{StatusApproved: "approve", StatusRejected: "reject", StatusProposed: "reset"}[status],
			"template:"+strconv.FormatInt(id, 10), map[string]any{"reason": body.Reason, "group": t.Group, "feature": t.Feature}, err)
		switch {
		case errors.Is(err, ErrNotFound):
			fail(w, http.StatusNotFound, err.Error())
		case err != nil:
			fail(w, http.StatusBadRequest, err.Error())
		default:
			writeJSON(w, http.StatusOK, t)
		}
	})
}

func (h *Handler) mine(w http.ResponseWriter, r *http.Request) {
	if h.Engine == nil {
		fail(w, http.StatusServiceUnavailable, "privacy analytics are off (privacy.enabled)")
		return
	}
	res, err := h.Engine.Mine(r.Context())
	h.audit(r.Context(), "privacy.mine", "templates", nil, err)
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *Handler) rules(w http.ResponseWriter, r *http.Request) {
	rs := NewRules(h.Config, RulesOptions{})
	out := map[string]any{"rules": rs.Info()}
	if h.Rules != nil {
		if live := h.Rules(); live != nil {
			out["pending"] = live.Pending()
		}
	}
	if h.Config != nil {
		out["exclude"] = h.Config.Exclude
		out["mining"] = h.Config.Mining
	}
	writeJSON(w, http.StatusOK, out)
}

// period reads from and to (default: the last 30 days).
func (h *Handler) period(r *http.Request) (time.Time, time.Time, error) {
	now := h.now()
	from, to := now.AddDate(0, 0, -30), now
	q := r.URL.Query()
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(p.name); v != "" {
			if h.ParseTime == nil {
				return from, to, errors.New("times cannot be read")
			}
			t, err := h.ParseTime(v, now)
			if err != nil {
				return from, to, fmt.Errorf("%s: %w", p.name, err)
			}
			*p.dst = t
		}
	}
	if !to.After(from) {
		return from, to, errors.New("to must be after from")
	}
	return from, to, nil
}

// maskRows hides PHI in report rows for callers without the permission.
func (h *Handler) maskRows(ctx context.Context, rows []AccessRow) {
	if h.Mask == nil {
		return
	}
	for i := range rows {
		m := map[string]string{"healthcare.patient.id": rows[i].Patient}
		h.Mask(ctx, m)
		rows[i].Patient = m["healthcare.patient.id"]
	}
}

// send answers a report in the format asked for: JSON (default), or a
// report document (pdf, html; csv: one table, ?table= or table, or the
// whole document with table=all).
func (h *Handler) send(w http.ResponseWriter, r *http.Request, v any, doc func() *report.Document, name, table string) {
	f := r.URL.Query().Get("format")
	if f == "" || f == "json" {
		writeJSON(w, http.StatusOK, v)
		return
	}
	format, err := report.ParseFormat(f)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error()+" (or json)")
		return
	}
	var buf bytes.Buffer
	d := doc()
	if t := r.URL.Query().Get("table"); t != "" {
		table = t
	}
	switch {
	case format == report.CSV && table != "all":
		if d.FindTable(table) == nil {
			fail(w, http.StatusBadRequest, fmt.Sprintf("no table %q in this report", table))
			return
		}
		err = report.RenderCSV(&buf, d, table)
	default:
		err = report.Render(&buf, d, format)
	}
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", format.ContentType())
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name+format.Ext()))
	w.Write(buf.Bytes())
}

func (h *Handler) loc() *time.Location {
	if h.Location != nil {
		return h.Location
	}
	return time.UTC
}

func (h *Handler) patientReport(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	patient := r.PathValue("patient")
	from, to, err := h.period(r)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	rep, err := h.Reports.Patient(ctx, patient, from, to)
	h.audit(ctx, "privacy.report.patient", "patient:"+patient, map[string]any{"from": from, "to": to, "format": r.URL.Query().Get("format")}, err)
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	h.maskRows(ctx, rep.Accesses)
	m := map[string]string{"healthcare.patient.id": rep.Patient}
	if h.Mask != nil {
		h.Mask(ctx, m)
	}
	rep.Patient = m["healthcare.patient.id"]
	h.send(w, r, rep, func() *report.Document { return rep.Document(h.actor(ctx), h.loc()) }, "access-report-patient", "accesses")
}

func (h *Handler) userReport(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	user := r.PathValue("user")
	from, to, err := h.period(r)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	rep, err := h.Reports.User(ctx, user, from, to)
	h.audit(ctx, "privacy.report.user", "user:"+user, map[string]any{"from": from, "to": to, "format": r.URL.Query().Get("format")}, err)
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	h.maskRows(ctx, rep.Accesses)
	if h.Mask != nil {
		for i := range rep.Patients {
			m := map[string]string{"healthcare.patient.id": rep.Patients[i].Patient}
			h.Mask(ctx, m)
			rep.Patients[i].Patient = m["healthcare.patient.id"]
		}
	}
	h.send(w, r, rep, func() *report.Document { return rep.Document(h.actor(ctx), h.loc()) }, "access-report-user", "patients")
}

func (h *Handler) summaryReport(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	from, to, err := h.period(r)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	s, err := h.Reports.Summary(ctx, from, to)
	h.audit(ctx, "privacy.report.summary", "accesses", map[string]any{"from": from, "to": to, "format": r.URL.Query().Get("format")}, err)
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	h.send(w, r, s, func() *report.Document { return s.Document(h.actor(ctx), h.loc()) }, "access-explanation-summary", "departments")
}
