package server

import (
	"net/http"

	"github.com/vigil-siem/vigil/internal/detect/detector"
	"github.com/vigil-siem/vigil/internal/web"
)

// rulesAPI serves the state of the rules:
//
//	GET  /api/v1/rules          loaded rules and every rejection with its file, line and reason
//	POST /api/v1/rules/reload   read the rule directories again (the stream keeps flowing)
type rulesAPI struct{ s *Server }

func (a *rulesAPI) routes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /api/v1/rules":         http.HandlerFunc(a.list),
		"POST /api/v1/rules/reload": http.HandlerFunc(a.reload),
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
}

type rejection struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason"`
}

func summary(r *detector.Rules, withRules bool) map[string]any {
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
			list = append(list, ruleSummary{ID: ri.ID, Title: ri.Title, Level: ri.Level, Status: ri.Status, Tags: ri.Tags,
				File: ri.File, Alerts: ri.Alert, Routed: !unrouted[ri.ID+ri.Name]})
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
	web.WriteJSON(w, http.StatusOK, summary(a.s.detector.Rules(), r.URL.Query().Get("list") != "false"))
}

func (a *rulesAPI) reload(w http.ResponseWriter, r *http.Request) {
	rs, err := a.s.ReloadRules(r.Context())
	if err != nil {
		web.WriteError(w, http.StatusInternalServerError, "reload failed, the previous rules stay in use: "+err.Error())
		return
	}
	web.WriteJSON(w, http.StatusOK, summary(rs, false))
}
