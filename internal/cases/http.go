package cases

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/report"
	"github.com/vigil-siem/vigil/internal/web"
)

// Handler serves the cases API (see docs/response.md):
//
//	GET   /api/v1/cases?status=&kind=&owner=&alert=          cases:read
//	POST  /api/v1/cases  {title, description, kind, owner, severity, discovered, alerts}   cases:write
//	GET   /api/v1/cases/{id}                                 cases:read   with the breach clock of a privacy case
//	PATCH /api/v1/cases/{id}  {title, description, owner, severity, status, kind, discovered, note, assessment, notified}   cases:write
//	POST  /api/v1/cases/{id}/alerts  {"ids": [..]}           cases:write
//	DELETE /api/v1/cases/{id}/alerts/{alert}                 cases:write
//	POST  /api/v1/cases/{id}/tasks  {title, assignee}        cases:write
//	PATCH /api/v1/cases/{id}/tasks/{task}  {"done": true}    cases:write
//	POST  /api/v1/cases/{id}/timeline  {time, text}          cases:write
//	POST  /api/v1/cases/{id}/evidence  {kind: search, name, query, start, end} | {kind: file, name, content_base64}   cases:write
//	GET   /api/v1/cases/{id}/evidence/{evidence}             cases:read   the content, X-Content-SHA256
//	GET   /api/v1/cases/{id}/patients                        cases:read   distinct patients and states (ids with phi)
//	GET   /api/v1/cases/{id}/report?format=pdf|html|csv      cases:read
type Handler struct {
	Store     *Store
	ParseTime func(s string, now time.Time) (time.Time, error)
	Actor     func(ctx context.Context) string
	// SeesPHI says whether the caller may see patient identifiers (nil:
	// no).
	SeesPHI func(ctx context.Context) bool
	Audit   func(ctx context.Context, action, target string, details map[string]any, err error)
}

// Routes returns the API's routes with their permissions.
func (h *Handler) Routes() []access.Route {
	return []access.Route{
		access.Handle("GET /api/v1/cases", access.CasesRead, h.list),
		access.Handle("POST /api/v1/cases", access.CasesWrite, h.create),
		access.Handle("GET /api/v1/cases/{id}", access.CasesRead, h.get),
		access.Handle("PATCH /api/v1/cases/{id}", access.CasesWrite, h.patch),
		access.Handle("POST /api/v1/cases/{id}/alerts", access.CasesWrite, h.addAlerts),
		access.Handle("DELETE /api/v1/cases/{id}/alerts/{alert}", access.CasesWrite, h.removeAlert),
		access.Handle("POST /api/v1/cases/{id}/tasks", access.CasesWrite, h.addTask),
		access.Handle("PATCH /api/v1/cases/{id}/tasks/{task}", access.CasesWrite, h.setTask),
		access.Handle("POST /api/v1/cases/{id}/timeline", access.CasesWrite, h.addEvent),
		access.Handle("POST /api/v1/cases/{id}/evidence", access.CasesWrite, h.addEvidence),
		access.Handle("GET /api/v1/cases/{id}/evidence/{evidence}", access.CasesRead, h.getEvidence),
		access.Handle("GET /api/v1/cases/{id}/patients", access.CasesRead, h.patients),
		access.Handle("GET /api/v1/cases/{id}/report", access.CasesRead, h.report),
	}
}

func failErr(w http.ResponseWriter, err error) { web.Fail(w, err) }

func (h *Handler) actor(ctx context.Context) string {
	if h.Actor != nil {
		return h.Actor(ctx)
	}
	return "api"
}

func (h *Handler) audit(ctx context.Context, action string, id int64, d map[string]any, err error) {
	if h.Audit != nil {
		h.Audit(ctx, action, strconv.FormatInt(id, 10), d, err)
	}
}

func decode(w http.ResponseWriter, r *http.Request, max int64, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, max))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return bad("body", "larger than %d bytes", max)
		}
		if errors.Is(err, io.EOF) {
			return bad("body", "empty: want a JSON object")
		}
		return bad("body", "want a JSON object: %v", err)
	}
	return nil
}

func pathInt(r *http.Request, name string) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil {
		return 0, bad(name, "want a number")
	}
	return n, nil
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var alert int64
	if v := q.Get("alert"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			failErr(w, bad("alert", "want an alert id"))
			return
		}
		alert = n
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	cs, err := h.Store.List(r.Context(), q.Get("status"), q.Get("kind"), q.Get("owner"), alert, limit)
	if err != nil {
		failErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"cases": cs})
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	var n New
	if err := decode(w, r, 1<<20, &n); err != nil {
		failErr(w, err)
		return
	}
	c, err := h.Store.Create(r.Context(), n, h.actor(r.Context()))
	h.audit(r.Context(), "case.create", c.ID, map[string]any{"title": n.Title, "kind": n.Kind, "alerts": len(n.Alerts)}, err)
	if err != nil {
		failErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, h.withBreach(r.Context(), c))
}

// withBreach completes a privacy case's clock with its patients.
func (h *Handler) withBreach(ctx context.Context, c Case) Case {
	if c.Kind == "privacy" {
		if p, err := h.Store.Patients(ctx, c); err == nil {
			b := ComputeBreach(c, &p, h.Store.opt.Now())
			c.Breach = &b
		}
	}
	return c
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	id, err := pathInt(r, "id")
	if err == nil {
		var c Case
		if c, err = h.Store.Get(r.Context(), id); err == nil {
			web.WriteJSON(w, http.StatusOK, h.withBreach(r.Context(), c))
			return
		}
	}
	failErr(w, err)
}

func (h *Handler) patch(w http.ResponseWriter, r *http.Request) {
	id, err := pathInt(r, "id")
	var p Patch
	if err == nil {
		err = decode(w, r, 1<<20, &p)
	}
	var c Case
	if err == nil {
		c, err = h.Store.Update(r.Context(), id, p, h.actor(r.Context()))
	}
	b, _ := json.Marshal(p)
	var d map[string]any
	_ = json.Unmarshal(b, &d)
	if _, ok := d["note"]; ok {
		d["note"] = fmt.Sprintf("%d bytes", len(*p.Note))
	}
	h.audit(r.Context(), "case.update", id, d, err)
	if err != nil {
		failErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, h.withBreach(r.Context(), c))
}

func (h *Handler) addAlerts(w http.ResponseWriter, r *http.Request) {
	id, err := pathInt(r, "id")
	var body struct {
		IDs []int64 `json:"ids"`
	}
	if err == nil {
		err = decode(w, r, 1<<20, &body)
	}
	if err == nil && len(body.IDs) == 0 {
		err = bad("ids", "no alert given")
	}
	if err == nil {
		err = h.Store.AddAlerts(r.Context(), id, body.IDs, h.actor(r.Context()))
	}
	h.audit(r.Context(), "case.alerts", id, map[string]any{"added": body.IDs}, err)
	if err != nil {
		failErr(w, err)
		return
	}
	h.get(w, r)
}

func (h *Handler) removeAlert(w http.ResponseWriter, r *http.Request) {
	id, err := pathInt(r, "id")
	var aid int64
	if err == nil {
		aid, err = pathInt(r, "alert")
	}
	if err == nil {
		err = h.Store.RemoveAlert(r.Context(), id, aid, h.actor(r.Context()))
	}
	h.audit(r.Context(), "case.alerts", id, map[string]any{"removed": aid}, err)
	if err != nil {
		failErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) addTask(w http.ResponseWriter, r *http.Request) {
	id, err := pathInt(r, "id")
	var body struct{ Title, Assignee string }
	if err == nil {
		err = decode(w, r, 64<<10, &body)
	}
	var t Task
	if err == nil {
		t, err = h.Store.AddTask(r.Context(), id, body.Title, body.Assignee, h.actor(r.Context()))
	}
	h.audit(r.Context(), "case.task", id, map[string]any{"task": body.Title}, err)
	if err != nil {
		failErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, t)
}

func (h *Handler) setTask(w http.ResponseWriter, r *http.Request) {
	id, err := pathInt(r, "id")
	var tid int64
	if err == nil {
		tid, err = pathInt(r, "task")
	}
	var body struct {
		Done bool `json:"done"`
	}
	if err == nil {
		err = decode(w, r, 4096, &body)
	}
	if err == nil {
		err = h.Store.SetTask(r.Context(), id, tid, body.Done, h.actor(r.Context()))
	}
	h.audit(r.Context(), "case.task", id, map[string]any{"task": tid, "done": body.Done}, err)
	if err != nil {
		failErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) addEvent(w http.ResponseWriter, r *http.Request) {
	id, err := pathInt(r, "id")
	var body struct {
		Time time.Time `json:"time"`
		Text string    `json:"text"`
	}
	if err == nil {
		err = decode(w, r, 64<<10, &body)
	}
	if err == nil && body.Time.IsZero() {
		body.Time = h.Store.opt.Now()
	}
	if err == nil {
		err = h.Store.AddEvent(r.Context(), id, body.Time, body.Text, h.actor(r.Context()))
	}
	h.audit(r.Context(), "case.timeline", id, nil, err)
	if err != nil {
		failErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) addEvidence(w http.ResponseWriter, r *http.Request) {
	id, err := pathInt(r, "id")
	var body struct {
		Kind          string `json:"kind"`
		Name          string `json:"name"`
		Query         string `json:"query"`
		Start         string `json:"start"`
		End           string `json:"end"`
		ContentBase64 string `json:"content_base64"`
	}
	if err == nil {
		err = decode(w, r, MaxEvidence*4/3+64<<10, &body)
	}
	var e Evidence
	if err == nil {
		switch body.Kind {
		case "search":
			now := h.Store.opt.Now()
			start, end := now.Add(-24*time.Hour), now
			if body.Start != "" {
				if start, err = h.ParseTime(body.Start, now); err != nil {
					err = bad("start", "%v", err)
				}
			}
			if err == nil && body.End != "" {
				if end, err = h.ParseTime(body.End, now); err != nil {
					err = bad("end", "%v", err)
				}
			}
			if err == nil {
				e, err = h.Store.AddSearch(r.Context(), id, body.Name, body.Query, start, end, h.actor(r.Context()))
			}
		case "file":
			var content []byte
			content, err = base64.StdEncoding.DecodeString(body.ContentBase64)
			if err != nil {
				err = bad("content_base64", "not base64: %v", err)
			} else {
				e, err = h.Store.AddFile(r.Context(), id, body.Name, content, h.actor(r.Context()))
			}
		default:
			err = bad("kind", "%q: want search or file", body.Kind)
		}
	}
	h.audit(r.Context(), "case.evidence", id, map[string]any{"kind": body.Kind, "name": body.Name, "query": body.Query, "sha256": e.SHA256}, err)
	if err != nil {
		failErr(w, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, e)
}

func (h *Handler) getEvidence(w http.ResponseWriter, r *http.Request) {
	id, err := pathInt(r, "id")
	var eid int64
	if err == nil {
		eid, err = pathInt(r, "evidence")
	}
	var e Evidence
	var content []byte
	if err == nil {
		e, content, err = h.Store.EvidenceContent(r.Context(), id, eid)
	}
	h.audit(r.Context(), "case.evidence_read", id, map[string]any{"evidence": eid}, err)
	if err != nil {
		failErr(w, err)
		return
	}
	ct := "application/octet-stream"
	if e.Kind == "search" {
		ct = "application/x-ndjson"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-SHA256", e.SHA256)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", fmt.Sprintf("case-%d-evidence-%d", id, eid)))
	w.Write(content)
}

func (h *Handler) seesPHI(ctx context.Context) bool { return h.SeesPHI != nil && h.SeesPHI(ctx) }

func (h *Handler) patients(w http.ResponseWriter, r *http.Request) {
	id, err := pathInt(r, "id")
	var c Case
	if err == nil {
		c, err = h.Store.Get(r.Context(), id)
	}
	var p Patients
	if err == nil {
		p, err = h.Store.Patients(r.Context(), c)
	}
	h.audit(r.Context(), "case.patients", id, map[string]any{"count": p.Count, "phi": h.seesPHI(r.Context())}, err)
	if err != nil {
		failErr(w, err)
		return
	}
	resp := map[string]any{"count": p.Count, "by_state": p.ByState, "truncated": p.Truncated}
	if h.seesPHI(r.Context()) {
		resp["ids"] = p.IDs
	}
	web.WriteJSON(w, http.StatusOK, resp)
}

func (h *Handler) report(w http.ResponseWriter, r *http.Request) {
	id, err := pathInt(r, "id")
	format := report.PDF
	if v := r.URL.Query().Get("format"); v != "" && err == nil {
		if format, err = report.ParseFormat(v); err != nil {
			err = bad("format", "%v", err)
		}
	}
	var doc *report.Document
	if err == nil {
		doc, err = h.Store.Report(r.Context(), id, h.seesPHI(r.Context()))
	}
	h.audit(r.Context(), "case.report", id, map[string]any{"format": string(format)}, err)
	if err != nil {
		failErr(w, err)
		return
	}
	w.Header().Set("Content-Type", format.ContentType())
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", fmt.Sprintf("case-%d%s", id, format.Ext())))
	if err := report.Render(w, doc, format); err != nil {
		h.Store.opt.Log.Error("case report", "case", id, "err", err)
	}
}
