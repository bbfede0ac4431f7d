package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/audit"
	"github.com/vigil-siem/vigil/internal/detect/detector"
	"github.com/vigil-siem/vigil/internal/detect/sigma"
	"github.com/vigil-siem/vigil/internal/rulestate"
	"github.com/vigil-siem/vigil/internal/web"
)

// rulesAPI serves the state of the rules:
//
//	GET  /api/v1/rules                rules:read   loaded rules (on or off) and every rejection with its file, line and reason
//	GET  /api/v1/rules/{id}/source    rules:read   the YAML file a rule comes from
//	POST /api/v1/rules/{id}/disable   rules:write  turn a rule off {"reason": "…"}: it raises no alert
//	POST /api/v1/rules/{id}/enable    rules:write  turn it on again
//	POST /api/v1/rules/reload         rules:write  read the rule directories again (the stream keeps flowing)
type rulesAPI struct{ s *Server }

func (a *rulesAPI) routes() []access.Route {
	return []access.Route{
		access.Handle("GET /api/v1/rules", access.RulesRead, a.list),
		access.Handle("GET /api/v1/rules/{id}/source", access.RulesRead, a.source),
		access.Handle("POST /api/v1/rules/{id}/disable", access.RulesWrite, a.setState),
		access.Handle("POST /api/v1/rules/{id}/enable", access.RulesWrite, a.setState),
		access.Handle("POST /api/v1/rules/reload", access.RulesWrite, a.reload),
	}
}

type ruleSummary struct {
	ID     string   `json:"id"`
	Title  string   `json:"title"`
	Level  string   `json:"level"`
	Status string   `json:"status,omitempty"`
	Tags   []string `json:"tags,omitempty"`
	File   string   `json:"file"`
	Alerts bool     `json:"alerts"`
	Routed bool     `json:"routed"`
	// Kind is sigma or correlation.
	Kind string `json:"kind"`
	// Enabled is false for a rule an operator turned off; the last change
	// says who, when and why.
	Enabled   bool       `json:"enabled"`
	ChangedBy string     `json:"changed_by,omitempty"`
	ChangedAt *time.Time `json:"changed_at,omitempty"`
	Reason    string     `json:"reason,omitempty"`
}

type rejection struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason"`
}

func summary(r *detector.Rules, withRules bool, changes map[string]rulestate.Change) map[string]any {
	st := r.Engine.Stats()
	out := map[string]any{
		"rules": st.RulesLoaded, "correlations": len(r.Correlations), "rejected_count": len(r.Rejected),
		"unrouted": st.RulesUnrouted,
	}
	rej := []rejection{}
	for _, x := range r.Rejected {
		rej = append(rej, rejection{File: x.File, Line: x.Line, ID: x.ID, Reason: x.Reason})
	}
	out["rejected"] = rej
	if withRules {
		unrouted := map[string]bool{}
		for _, u := range r.Engine.Unrouted() {
			unrouted[u.ID+u.Name] = true
		}
		list := []ruleSummary{}
		for _, ri := range r.Engine.Rules() {
			list = append(list, withState(ruleSummary{ID: ri.ID, Title: ri.Title, Level: ri.Level, Status: ri.Status, Tags: ri.Tags,
				File: ri.File, Alerts: ri.Alert, Routed: !unrouted[ri.ID+ri.Name], Kind: "sigma"}, changes))
		}
		for _, c := range r.Correlations {
			list = append(list, withState(ruleSummary{ID: c.ID, Title: c.Title, Level: c.Level, Status: c.Status, Tags: c.Tags,
				File: c.File, Alerts: true, Routed: true, Kind: "correlation"}, changes))
		}
		for _, c := range r.Off {
			list = append(list, withState(ruleSummary{ID: c.ID, Title: c.Title, Level: c.Level, Status: c.Status, Tags: c.Tags,
				File: c.File, Alerts: true, Routed: true, Kind: "correlation"}, changes))
		}
		// Rules turned off that are no longer in the rule files.
		for id, ch := range changes {
			if !ch.Enabled && !listed(list, id) {
				list = append(list, withState(ruleSummary{ID: id, Title: id, Kind: "correlation"}, changes))
			}
		}
		out["list"] = list
	}
	return out
}

func (a *rulesAPI) list(w http.ResponseWriter, r *http.Request) {
	if a.s.detector == nil {
		web.WriteError(w, http.StatusNotFound, "detection is disabled (detect.enabled)")
		return
	}
	st, err := a.s.ruleStates(r.Context())
	if err != nil {
		web.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	ch, err := st.Changes(r.Context())
	if err != nil {
		web.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	web.WriteJSON(w, http.StatusOK, summary(a.s.detector.Rules(), r.URL.Query().Get("list") != "false", ch))
}

func withState(rs ruleSummary, changes map[string]rulestate.Change) ruleSummary {
	rs.Enabled = true
	if c, ok := changes[rs.ID]; ok {
		at := c.ChangedAt
		rs.Enabled, rs.ChangedBy, rs.ChangedAt, rs.Reason = c.Enabled, c.ChangedBy, &at, c.Reason
	}
	return rs
}

func listed(list []ruleSummary, id string) bool {
	for _, r := range list {
		if r.ID == id {
			return true
		}
	}
	return false
}

// maxRuleFile bounds a rule file served by the source route.
const maxRuleFile = 1 << 20

// source answers the YAML file a loaded rule comes from.
func (a *rulesAPI) source(w http.ResponseWriter, r *http.Request) {
	if a.s.detector == nil {
		web.WriteError(w, http.StatusNotFound, "detection is disabled (detect.enabled)")
		return
	}
	id := r.PathValue("id")
	file := ""
	rs := a.s.detector.Rules()
	for _, ri := range rs.Engine.Rules() {
		if ri.ID == id {
			file = ri.File
			break
		}
	}
	for _, c := range append(append([]*sigma.Correlation{}, rs.Correlations...), rs.Off...) {
		if file == "" && c.ID == id {
			file = c.File
		}
	}
	if file == "" {
		web.WriteError(w, http.StatusNotFound, "no loaded rule with id "+id)
		return
	}
	f, err := os.Open(file)
	if err != nil {
		web.WriteError(w, http.StatusNotFound, "the rule's file cannot be read: "+err.Error())
		return
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRuleFile))
	if err != nil {
		web.WriteError(w, http.StatusInternalServerError, "read the rule's file: "+err.Error())
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]string{"id": id, "file": file, "yaml": string(data)})
}

// setState turns a rule off or on and reloads the rules so it takes
// effect at once.
func (a *rulesAPI) setState(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	enable := r.URL.Path[len(r.URL.Path)-len("/enable"):] == "/enable"
	var body struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 {
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
			web.WriteError(w, http.StatusBadRequest, `body: want {"reason": "why"}: `+err.Error())
			return
		}
	}
	if !enable && len(body.Reason) < 3 {
		web.WriteError(w, http.StatusBadRequest, "reason: say why the rule is turned off (it is recorded)")
		return
	}
	st, err := a.s.ruleStates(r.Context())
	if err != nil {
		web.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	c, err := st.Set(r.Context(), id, enable, access.PrincipalFrom(r.Context()).String(), body.Reason)
	action := "rule.disable"
	if enable {
		action = "rule.enable"
	}
	e := audit.Entry{Action: action, Target: "rule:" + id, Details: map[string]any{"reason": body.Reason}}
	if err != nil {
		e.Outcome, e.Details["error"] = audit.Failure, err.Error()
	}
	if rerr := a.s.audit.Record(r.Context(), e); rerr != nil && err == nil {
		err = rerr
	}
	if errors.Is(err, rulestate.ErrInvalid) {
		web.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err != nil {
		web.WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if a.s.detector != nil {
		if _, err := a.s.ReloadRules(r.Context()); err != nil {
			web.WriteError(w, http.StatusInternalServerError, "the change is saved but the rules could not be reloaded: "+err.Error())
			return
		}
	}
	web.WriteJSON(w, http.StatusOK, c)
}

func (a *rulesAPI) reload(w http.ResponseWriter, r *http.Request) {
	rs, err := a.s.ReloadRules(r.Context())
	if err != nil {
		web.WriteError(w, http.StatusInternalServerError, "reload failed, the previous rules stay in use: "+err.Error())
		return
	}
	web.WriteJSON(w, http.StatusOK, summary(rs, false, nil))
}

// ruleStates opens, once, the store of rules turned off.
func (s *Server) ruleStates(ctx context.Context) (*rulestate.Store, error) {
	s.ruleStateMu.Lock()
	defer s.ruleStateMu.Unlock()
	if s.ruleState == nil {
		st, err := rulestate.Open(ctx, s.db)
		if err != nil {
			return nil, err
		}
		s.ruleState = st
	}
	return s.ruleState, nil
}
