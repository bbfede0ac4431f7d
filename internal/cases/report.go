package cases

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/vigil-siem/vigil/internal/report"
)

// Report builds a case's report: the summary, its alerts, the breach
// assessment and clock of a privacy case with the patients and states
// involved, the tasks, the timeline, and the evidence with the SHA-256 of
// each piece (to check against the files, and against vigil verify for
// stored events). showPHI adds the patient identifiers.
func (s *Store) Report(ctx context.Context, id int64, showPHI bool) (*report.Document, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	now := s.opt.Now().UTC()
	doc := &report.Document{Title: fmt.Sprintf("Case %d: %s", c.ID, c.Title), Subtitle: map[string]string{"security": "Security case", "privacy": "Privacy case"}[c.Kind], Generated: now,
		Meta: []report.Fact{{Label: "Status", Value: c.Status}, {Label: "Severity", Value: c.Severity}, {Label: "Owner", Value: orNone(c.Owner)},
			{Label: "Opened", Value: c.Created.Format(time.RFC3339) + " by " + c.CreatedBy}, {Label: "Discovered", Value: c.Discovered.Format(time.RFC3339)}},
		Notice: "Confidential: security and privacy investigation"}
	if c.ClosedAt != nil {
		doc.Meta = append(doc.Meta, report.Fact{Label: "Closed", Value: c.ClosedAt.Format(time.RFC3339)})
	}
	sum := doc.AddSection("summary", "Summary")
	if c.Description != "" {
		sum.Text(c.Description)
	}
	open := 0
	for _, t := range c.Tasks {
		if !t.Done {
			open++
		}
	}
	sum.Figures(report.Figure{Label: "Alerts", Value: report.Count(len(c.Alerts))}, report.Figure{Label: "Evidence", Value: report.Count(len(c.Evidence))},
		report.Figure{Label: "Open tasks", Value: report.Count(open)})
	at := &report.Table{ID: "alerts", Title: "Alerts", Columns: []report.Column{{Name: "Alert"}, {Name: "Rule"}, {Name: "Level"}, {Name: "First seen"}, {Name: "Last seen"},
		{Name: "Events", Align: report.AlignRight}, {Name: "Status"}, {Name: "Disposition"}}, Empty: "No alert is linked."}
	for _, aid := range c.Alerts {
		a, err := s.opt.Alerts.Get(ctx, aid)
		if err != nil {
			continue
		}
		at.Rows = append(at.Rows, []string{strconv.FormatInt(a.ID, 10), a.RuleTitle, a.Level, a.FirstSeen.Format(time.RFC3339), a.Time.Format(time.RFC3339),
			report.Count(a.Count), a.Status, a.Disposition})
	}
	doc.AddSection("alerts", "Alerts").Table(at)
	if c.Kind == "privacy" {
		s.privacySections(ctx, doc, c, showPHI, now)
	}
	tt := &report.Table{ID: "tasks", Title: "Tasks", Columns: []report.Column{{Name: "Task", Weight: 4}, {Name: "Assignee", Weight: 1}, {Name: "Done", Weight: 1.5}}, Empty: "No task."}
	for _, t := range c.Tasks {
		done := ""
		if t.DoneAt != nil {
			done = t.DoneAt.Format(time.RFC3339)
		}
		tt.Rows = append(tt.Rows, []string{t.Title, t.Assignee, done})
	}
	doc.AddSection("tasks", "Tasks").Table(tt)
	tl := &report.Table{ID: "timeline", Title: "Timeline", Columns: []report.Column{{Name: "Time", Weight: 1.4}, {Name: "Who", Weight: 1}, {Name: "What", Weight: 5}}}
	for _, e := range c.Timeline {
		tl.Rows = append(tl.Rows, []string{e.Time.Format(time.RFC3339), e.Actor, e.Kind + ": " + e.Text})
	}
	doc.AddSection("timeline", "Timeline").Table(tl)
	ev := &report.Table{ID: "evidence", Title: "Evidence", Columns: []report.Column{{Name: "Id", Align: report.AlignRight, Weight: 0.4}, {Name: "Name", Weight: 2},
		{Name: "Kind", Weight: 0.8}, {Name: "Query or period", Weight: 3.5}, {Name: "Events", Align: report.AlignRight, Weight: 0.8},
		{Name: "Bytes", Align: report.AlignRight, Weight: 0.9}, {Name: "Added", Weight: 2.5}}, Empty: "No evidence."}
	hs := &report.Table{ID: "evidence_sha256", Title: "SHA-256 of each piece of evidence", Columns: []report.Column{{Name: "Id", Align: report.AlignRight, Weight: 0.5},
		{Name: "SHA-256", Weight: 9}}, Empty: "No evidence."}
	for _, e := range c.Evidence {
		q := e.Query
		if e.Start != nil {
			q += " [" + e.Start.Format(time.RFC3339) + ", " + e.End.Format(time.RFC3339) + ")"
		}
		ev.Rows = append(ev.Rows, []string{strconv.FormatInt(e.ID, 10), e.Name, e.Kind, q, report.Count(e.Events), report.Count(e.Size),
			e.Time.Format(time.RFC3339) + " by " + e.AddedBy})
		hs.Rows = append(hs.Rows, []string{strconv.FormatInt(e.ID, 10), e.SHA256})
	}
	es := doc.AddSection("evidence", "Evidence")
	es.Text("Each piece of evidence is kept as it was collected; its SHA-256 is computed over the exact bytes served by GET /api/v1/cases/{id}/evidence/{evidence id} (sha256sum of the downloaded file must match). Events collected by a search are also covered by the store's own integrity chain (vigil verify).")
	es.Table(ev)
	es.Table(hs)
	return doc, nil
}

func (s *Store) privacySections(ctx context.Context, doc *report.Document, c Case, showPHI bool, now time.Time) {
	p, perr := s.Patients(ctx, c)
	var pp *Patients
	if perr == nil {
		pp = &p
	}
	b := ComputeBreach(c, pp, now)
	as := doc.AddSection("assessment", "Breach risk assessment")
	as.Ref = "45 CFR 164.402"
	as.Text("An impermissible use or disclosure of protected health information is presumed to be a breach unless a low probability that it has been compromised is demonstrated from a risk assessment of at least the four factors below, or one of the exceptions of 164.402(1) applies.")
	if c.Assessment == nil {
		as.Find(report.StatusWarn, "No assessment recorded: the breach is presumed.")
	} else {
		a := c.Assessment
		ft := &report.Table{ID: "factors", Title: "Four-factor assessment", Columns: []report.Column{{Name: "Factor", Weight: 3}, {Name: "Risk", Weight: 0.7}, {Name: "Findings", Weight: 4}}}
		names := map[string]string{"nature_extent": "(i) Nature and extent of the PHI, identifiers, likelihood of re-identification",
			"unauthorized_person": "(ii) The unauthorized person who used it or to whom it was disclosed",
			"acquired_viewed":     "(iii) Whether the PHI was actually acquired or viewed", "mitigation": "(iv) Extent to which the risk has been mitigated"}
		for _, f := range a.factors() {
			ft.Rows = append(ft.Rows, []string{names[f.name], orNone(f.f.Risk), f.f.Notes})
		}
		as.Table(ft)
		if a.Exception != "" {
			as.Text("Exception: " + exceptions[a.Exception])
		}
		st := report.StatusFail
		if !a.IsBreach() {
			st = report.StatusOK
		}
		as.Find(st, "Conclusion: "+a.Conclusion()+" (assessed by "+a.By+", "+a.At.Format(time.RFC3339)+")")
	}
	ps := doc.AddSection("patients", "Patients involved")
	if perr != nil {
		ps.Find(report.StatusWarn, "The linked events could not be read: "+perr.Error())
	} else {
		ps.Figures(report.Figure{Label: "Distinct patients", Value: report.Count(p.Count)})
		if p.Truncated {
			ps.Find(report.StatusWarn, "Some alerts keep only their first 1,000 events: the count may be low; add the full search as evidence.")
		}
		stt := &report.Table{ID: "states", Title: "Residents by state", Columns: []report.Column{{Name: "State"}, {Name: "Patients", Align: report.AlignRight}}}
		var states []string
		for st := range p.ByState {
			states = append(states, st)
		}
		sort.Slice(states, func(i, j int) bool { return p.ByState[states[i]] > p.ByState[states[j]] })
		for _, st := range states {
			stt.Rows = append(stt.Rows, []string{st, report.Count(p.ByState[st])})
		}
		ps.Table(stt)
		if showPHI {
			pt := &report.Table{ID: "patients", Title: "Patient identifiers", Columns: []report.Column{{Name: "Patient id"}}}
			for _, id := range p.IDs {
				pt.Rows = append(pt.Rows, []string{id})
			}
			ps.Table(pt)
		}
	}
	cs := doc.AddSection("clock", "Breach notification clock")
	cs.Ref = "45 CFR 164.404–164.408"
	cs.Text("Counted from discovery, " + c.Discovered.Format("2006-01-02") + ". Assessment: " + b.Conclusion + ".")
	dt := &report.Table{ID: "deadlines", Title: "Notifications", Columns: []report.Column{{Name: "To", Weight: 1}, {Name: "Required", Weight: 0.8}, {Name: "Due", Weight: 1.1}, {Name: "Done", Weight: 1.1}, {Name: "Rule", Weight: 6}}}
	for _, d := range b.Deadlines {
		req, done := "no", ""
		if d.Required {
			req = "yes"
		}
		if d.Done != nil {
			done = d.Done.Format("2006-01-02")
		} else if d.Overdue {
			done = "OVERDUE"
		}
		dt.Rows = append(dt.Rows, []string{d.Who, req, d.Due.Format("2006-01-02"), done, d.Rule})
	}
	cs.Table(dt)
}
