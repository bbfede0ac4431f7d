package privacy

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/enrich"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/report"
	"github.com/vigil-siem/vigil/internal/store"
)

// Access reports, read from the stored access events (which carry their
// explanation): every access to one patient's record over a period — who,
// when, in which role and department, doing what, and why it is explained
// or not (the accounting of disclosures and access report HIPAA's
// proposed 164.528(b) describes) — and every patient one user opened,
// the unexplained first.

// Searcher runs LogsQL searches over the stored events (store.Store).
type Searcher interface {
	Search(ctx context.Context, req store.Request, fn func(row []event.Field) error) error
}

// MaxReportRows bounds the accesses a report reads (the newest are kept
// and the report says how many there were).
const MaxReportRows = 100_000

// AccessRow is one access in a report.
type AccessRow struct {
	Time        time.Time `json:"time"`
	User        string    `json:"user"`
	UserName    string    `json:"user_name,omitempty"`
	Role        string    `json:"role,omitempty"`
	Department  string    `json:"department,omitempty"`
	Patient     string    `json:"patient"`
	Action      string    `json:"action,omitempty"`
	Source      string    `json:"source,omitempty"` // ehr, fhir, atna
	Explained   bool      `json:"explained"`
	Explanation string    `json:"explanation,omitempty"`
	Detail      string    `json:"explanation_detail,omitempty"`
	BreakGlass  bool      `json:"break_glass,omitempty"`
	Reason      string    `json:"break_glass_reason,omitempty"`
	AccessID    string    `json:"access_id,omitempty"`
	EventID     string    `json:"event_id,omitempty"`
	Workstation string    `json:"workstation,omitempty"`
}

// PatientReport is every access to one patient's record over a period.
type PatientReport struct {
	Patient     string      `json:"patient"`
	From        time.Time   `json:"from"`
	To          time.Time   `json:"to"`
	Accesses    []AccessRow `json:"accesses"` // oldest first
	Total       int         `json:"total"`    // accesses in the period (Accesses may hold the newest MaxReportRows)
	Users       int         `json:"users"`
	Unexplained int         `json:"unexplained"`
	BreakGlass  int         `json:"break_glass"`
}

// PatientSummary is what one user did with one patient's record.
type PatientSummary struct {
	Patient      string    `json:"patient"`
	Accesses     int       `json:"accesses"`
	Unexplained  int       `json:"unexplained"`
	BreakGlass   int       `json:"break_glass"`
	First        time.Time `json:"first"`
	Last         time.Time `json:"last"`
	Explanations []string  `json:"explanations"`
	AccessIDs    []string  `json:"access_ids,omitempty"` // of the unexplained accesses, at most 20
}

// UserReport is every patient one user opened over a period, those with
// unexplained accesses first.
type UserReport struct {
	User        string           `json:"user"`
	Department  string           `json:"department,omitempty"`
	Role        string           `json:"role,omitempty"`
	From        time.Time        `json:"from"`
	To          time.Time        `json:"to"`
	Patients    []PatientSummary `json:"patients"`
	Total       int              `json:"total"`
	Unexplained int              `json:"unexplained"`
	BreakGlass  int              `json:"break_glass"`
	Accesses    []AccessRow      `json:"accesses"` // oldest first
}

// quote writes a LogsQL exact-match value.
func quote(s string) string { return strconv.Quote(s) }

func (e *Reporter) rows(ctx context.Context, filter string, from, to time.Time) ([]AccessRow, int, error) {
	q := filter + " " + FieldExplained + ":*"
	var out []AccessRow
	total := 0
	err := e.Store.Search(ctx, store.Request{Query: q, Start: from, End: to, Limit: MaxReportRows}, func(row []event.Field) error {
		total++
		out = append(out, readRow(row))
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	if total >= MaxReportRows {
		// The search stopped at the limit: count them all.
		total = 0
		err = e.Store.Search(ctx, store.Request{Query: q + " | stats count() n", Start: from, End: to}, func(row []event.Field) error {
			for _, f := range row {
				if f.Name == "n" {
					total, _ = strconv.Atoi(f.Value)
				}
			}
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, max(total, len(out)), nil
}

func readRow(row []event.Field) AccessRow {
	var r AccessRow
	for _, f := range row {
		switch f.Name {
		case "@timestamp":
			r.Time, _ = time.Parse(time.RFC3339Nano, f.Value)
		case "user.name":
			r.User = f.Value
		case "user.full_name":
			r.UserName = f.Value
		case enrich.FieldWorkforceRole:
			r.Role = f.Value
		case enrich.FieldWorkforceDepartment:
			r.Department = f.Value
		case "healthcare.patient.id":
			r.Patient = f.Value
		case "event.action":
			r.Action = f.Value
		case "event.module":
			r.Source = f.Value
		case FieldExplained:
			r.Explained = f.Value == "true"
		case FieldExplanation:
			r.Explanation = f.Value
		case FieldExplanationDetail:
			r.Detail = f.Value
		case "healthcare.break_glass":
			r.BreakGlass = f.Value == "true"
		case "healthcare.break_glass_justification":
			r.Reason = f.Value
		case "event.id":
			r.AccessID = f.Value
		case event.FieldID:
			r.EventID = f.Value
		case "host.name":
			r.Workstation = f.Value
		}
	}
	return r
}

// Reporter builds access reports from the stored events.
type Reporter struct {
	Store Searcher
}

// Patient reports every access to a patient's record in [from, to).
func (e *Reporter) Patient(ctx context.Context, patient string, from, to time.Time) (*PatientReport, error) {
	rows, total, err := e.rows(ctx, "healthcare.patient.id:="+quote(patient), from, to)
	if err != nil {
		return nil, err
	}
	rep := &PatientReport{Patient: patient, From: from, To: to, Accesses: rows, Total: total}
	users := map[string]bool{}
	for _, r := range rows {
		users[strings.ToLower(r.User)] = true
		if !r.Explained {
			rep.Unexplained++
		}
		if r.BreakGlass {
			rep.BreakGlass++
		}
	}
	rep.Users = len(users)
	if rep.Accesses == nil {
		rep.Accesses = []AccessRow{}
	}
	return rep, nil
}

// User reports every patient a user opened in [from, to).
func (e *Reporter) User(ctx context.Context, user string, from, to time.Time) (*UserReport, error) {
	rows, total, err := e.rows(ctx, "user.name:="+quote(user), from, to)
	if err != nil {
		return nil, err
	}
	rep := &UserReport{User: user, From: from, To: to, Total: total, Accesses: rows}
	byPatient := map[string]*PatientSummary{}
	for _, r := range rows {
		if r.Department != "" {
			rep.Department, rep.Role = r.Department, r.Role
		}
		p := byPatient[r.Patient]
		if p == nil {
			p = &PatientSummary{Patient: r.Patient, First: r.Time}
			byPatient[r.Patient] = p
		}
		p.Accesses++
		p.Last = r.Time
		code := r.Explanation
		if !r.Explained {
			p.Unexplained++
			rep.Unexplained++
			code = "unexplained"
			if len(p.AccessIDs) < 20 {
				id := r.AccessID
				if id == "" {
					id = r.EventID
				}
				p.AccessIDs = append(p.AccessIDs, id)
			}
		}
		if r.BreakGlass {
			p.BreakGlass++
			rep.BreakGlass++
		}
		if code != "" && !containsString(p.Explanations, code) {
			p.Explanations = append(p.Explanations, code)
		}
	}
	for _, p := range byPatient {
		rep.Patients = append(rep.Patients, *p)
	}
	sort.Slice(rep.Patients, func(i, j int) bool {
		a, b := &rep.Patients[i], &rep.Patients[j]
		if (a.Unexplained > 0) != (b.Unexplained > 0) {
			return a.Unexplained > 0
		}
		if a.Unexplained != b.Unexplained {
			return a.Unexplained > b.Unexplained
		}
		if a.Accesses != b.Accesses {
			return a.Accesses > b.Accesses
		}
		return a.Patient < b.Patient
	})
	if rep.Patients == nil {
		rep.Patients = []PatientSummary{}
	}
	if rep.Accesses == nil {
		rep.Accesses = []AccessRow{}
	}
	return rep, nil
}

const phiNotice = "Confidential: contains protected health information"

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func fmtTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format("2006-01-02 15:04:05")
}

var accessColumns = []report.Column{{Name: "When"}, {Name: "User"}, {Name: "Name"}, {Name: "Role"}, {Name: "Department"}, {Name: "Action"},
	{Name: "Source"}, {Name: "Explained"}, {Name: "Explanation"}, {Name: "Break-glass"}, {Name: "Access id"}}

func accessCells(r AccessRow, loc *time.Location) []string {
	bg := ""
	if r.BreakGlass {
		bg = "yes"
		if r.Reason != "" {
			bg += ": " + r.Reason
		}
	}
	expl := r.Explanation
	if r.Detail != "" {
		expl = r.Detail
	}
	id := r.AccessID
	if id == "" {
		id = r.EventID
	}
	return []string{fmtTime(r.Time, loc), r.User, r.UserName, r.Role, r.Department, r.Action, r.Source, yes(r.Explained), expl, bg, id}
}

// Document renders the patient report as a report document; generator
// names who asked for it (printed in the report).
func (p *PatientReport) Document(generator string, loc *time.Location) *report.Document {
	if loc == nil {
		loc = time.UTC
	}
	doc := &report.Document{Title: "Access report", Subtitle: "Patient " + p.Patient, Period: report.Period{From: p.From, To: p.To},
		Notice: phiNotice, Location: loc, Meta: []report.Fact{{Label: "Patient", Value: p.Patient}, {Label: "Generated by", Value: generator}}}
	sec := doc.AddSection("summary", "Summary")
	sec.Ref = "45 CFR 164.528(b) (proposed): access report"
	sec.Text("Every access to the patient's electronic record in the period, as the EHR, FHIR and imaging audit trails recorded it, with whether Vigil found a reason for it (the care team, or a routine of the user's department learnt from the access history).")
	sec.Figures(report.Figure{Label: "Accesses", Value: report.Count(p.Total)}, report.Figure{Label: "Users", Value: report.Count(p.Users)},
		report.Figure{Label: "Unexplained", Value: report.Count(p.Unexplained), Status: statusOf(p.Unexplained)},
		report.Figure{Label: "Break-glass", Value: report.Count(p.BreakGlass)})
	t := &report.Table{ID: "accesses", Title: "Accesses", Columns: accessColumns, Total: p.Total, Empty: "No access to the record in the period."}
	for _, r := range p.Accesses {
		t.Rows = append(t.Rows, accessCells(r, loc))
	}
	doc.AddSection("accesses", "Accesses").Table(t)
	return doc
}

func statusOf(unexplained int) report.Status {
	if unexplained > 0 {
		return report.StatusWarn
	}
	return report.StatusOK
}

// Document renders the user report as a report document.
func (u *UserReport) Document(generator string, loc *time.Location) *report.Document {
	if loc == nil {
		loc = time.UTC
	}
	doc := &report.Document{Title: "User access report", Subtitle: "User " + u.User, Period: report.Period{From: u.From, To: u.To},
		Notice: phiNotice, Location: loc, Meta: []report.Fact{{Label: "User", Value: u.User}, {Label: "Department", Value: u.Department},
			{Label: "Role", Value: u.Role}, {Label: "Generated by", Value: generator}}}
	sec := doc.AddSection("summary", "Summary")
	sec.Text("Every patient record the user opened in the period; those with accesses Vigil found no reason for come first.")
	sec.Figures(report.Figure{Label: "Accesses", Value: report.Count(u.Total)}, report.Figure{Label: "Patients", Value: report.Count(len(u.Patients))},
		report.Figure{Label: "Unexplained accesses", Value: report.Count(u.Unexplained), Status: statusOf(u.Unexplained)},
		report.Figure{Label: "Break-glass", Value: report.Count(u.BreakGlass)})
	pt := &report.Table{ID: "patients", Title: "Patients", Columns: []report.Column{{Name: "Patient"}, {Name: "Accesses", Align: report.AlignRight},
		{Name: "Unexplained", Align: report.AlignRight}, {Name: "Break-glass", Align: report.AlignRight}, {Name: "First"}, {Name: "Last"},
		{Name: "Explanations"}, {Name: "Unexplained access ids"}}, Empty: "No patient record opened in the period."}
	for _, p := range u.Patients {
		pt.Rows = append(pt.Rows, []string{p.Patient, report.Count(p.Accesses), report.Count(p.Unexplained), report.Count(p.BreakGlass),
			fmtTime(p.First, loc), fmtTime(p.Last, loc), strings.Join(p.Explanations, ", "), strings.Join(p.AccessIDs, ", ")})
	}
	doc.AddSection("patients", "Patients").Table(pt)
	t := &report.Table{ID: "accesses", Title: "Accesses", Columns: accessColumns, Total: u.Total, Empty: "No access in the period."}
	for _, r := range u.Accesses {
		t.Rows = append(t.Rows, append(accessCells(r, loc)[:5], append([]string{r.Patient}, accessCells(r, loc)[5:]...)...))
	}
	t.Columns = append(append(append([]report.Column{}, accessColumns[:5]...), report.Column{Name: "Patient"}), accessColumns[5:]...)
	doc.AddSection("accesses", "Accesses").Table(t)
	return doc
}

// Summary is how the accesses of a period were explained: overall, per
// department and per explanation.
type Summary struct {
	From         time.Time  `json:"from"`
	To           time.Time  `json:"to"`
	Accesses     int        `json:"accesses"`
	Explained    int        `json:"explained"`
	Departments  []CountRow `json:"departments"`  // explained and total per department, least explained first
	Explanations []CountRow `json:"explanations"` // accesses per explanation code
	Users        []CountRow `json:"unexplained_users"`
	// Reasons counts the unexplained accesses by why nothing explains
	// them (UnexplainedReason), most first.
	Reasons []CountRow     `json:"unexplained_reasons"`
	ByCode  map[string]int `json:"-"`
}

// CountRow is a name with its accesses and how many were explained.
type CountRow struct {
	Name      string `json:"name"`
	Accesses  int    `json:"accesses"`
	Explained int    `json:"explained"`
}

// Summary counts the accesses of [from, to) by department, explanation
// and (unexplained ones) user.
func (e *Reporter) Summary(ctx context.Context, from, to time.Time) (*Summary, error) {
	s := &Summary{From: from, To: to}
	depts := map[string]*CountRow{}
	codes := map[string]*CountRow{}
	users := map[string]*CountRow{}
	q := FieldExplained + ":* | stats by (" + enrich.FieldWorkforceDepartment + ", " + FieldExplanation + ", " + FieldExplained + ", user.name) count() n"
	err := e.Store.Search(ctx, store.Request{Query: q, Start: from, End: to}, func(row []event.Field) error {
		var dept, code, expl, user string
		n := 0
		for _, f := range row {
			switch f.Name {
			case enrich.FieldWorkforceDepartment:
				dept = f.Value
			case FieldExplanation:
				code = f.Value
			case FieldExplained:
				expl = f.Value
			case "user.name":
				user = f.Value
			case "n":
				n, _ = strconv.Atoi(f.Value)
			}
		}
		add := func(m map[string]*CountRow, k string) {
			c := m[k]
			if c == nil {
				c = &CountRow{Name: k}
				m[k] = c
			}
			c.Accesses += n
			if expl == "true" {
				c.Explained += n
			}
		}
		s.Accesses += n
		if expl == "true" {
			s.Explained += n
		}
		add(depts, dept)
		add(codes, code)
		if expl != "true" {
			add(users, user)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	flat := func(m map[string]*CountRow, less func(a, b *CountRow) bool) []CountRow {
		out := []CountRow{}
		for _, c := range m {
			out = append(out, *c)
		}
		sort.Slice(out, func(i, j int) bool { return less(&out[i], &out[j]) })
		return out
	}
	share := func(c *CountRow) float64 { return float64(c.Explained) / float64(max(1, c.Accesses)) }
	s.Departments = flat(depts, func(a, b *CountRow) bool {
		if share(a) != share(b) {
			return share(a) < share(b)
		}
		return a.Name < b.Name
	})
	byCount := func(a, b *CountRow) bool {
		if a.Accesses != b.Accesses {
			return a.Accesses > b.Accesses
		}
		return a.Name < b.Name
	}
	s.Explanations = flat(codes, byCount)
	s.Users = flat(users, byCount)
	reasons := map[string]*CountRow{}
	q = FieldExplained + ":false | stats by (" + FieldExplanationDetail + ") count() n"
	err = e.Store.Search(ctx, store.Request{Query: q, Start: from, End: to}, func(row []event.Field) error {
		var detail string
		n := 0
		for _, f := range row {
			switch f.Name {
			case FieldExplanationDetail:
				detail = f.Value
			case "n":
				n, _ = strconv.Atoi(f.Value)
			}
		}
		r := UnexplainedReason(detail)
		if reasons[r] == nil {
			reasons[r] = &CountRow{Name: r}
		}
		reasons[r].Accesses += n
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.Reasons = flat(reasons, byCount)
	if len(s.Users) > 100 {
		s.Users = s.Users[:100]
	}
	return s, nil
}

// Document renders the summary as a report document.
func (s *Summary) Document(generator string, loc *time.Location) *report.Document {
	if loc == nil {
		loc = time.UTC
	}
	doc := &report.Document{Title: "Access explanation summary", Period: report.Period{From: s.From, To: s.To}, Location: loc,
		Meta: []report.Fact{{Label: "Generated by", Value: generator}}}
	sec := doc.AddSection("summary", "Summary")
	sec.Text("How the accesses to patient records in the period were explained: by the care team, by a routine of the user's department learnt from the access history (or approved, or configured), or not at all. Unexplained accesses are what the privacy rules look at.")
	sec.Figures(report.Figure{Label: "Accesses", Value: report.Count(s.Accesses)},
		report.Figure{Label: "Explained", Value: report.Percent(float64(s.Explained), float64(s.Accesses))},
		report.Figure{Label: "Unexplained", Value: report.Count(s.Accesses - s.Explained)})
	rows := func(id, title, first string, cs []CountRow) *report.Table {
		t := &report.Table{ID: id, Title: title, Columns: []report.Column{{Name: first}, {Name: "Accesses", Align: report.AlignRight},
			{Name: "Explained", Align: report.AlignRight}, {Name: "Share", Align: report.AlignRight}}}
		for _, c := range cs {
			t.Rows = append(t.Rows, []string{c.Name, report.Count(c.Accesses), report.Count(c.Explained), report.Percent(float64(c.Explained), float64(c.Accesses))})
		}
		return t
	}
	doc.AddSection("departments", "By department").Table(rows("departments", "Departments, least explained first", "Department", s.Departments))
	doc.AddSection("explanations", "By explanation").Table(rows("explanations", "Explanations", "Explanation", s.Explanations))
	reasons := &report.Table{ID: "reasons", Title: "Unexplained accesses by reason", Columns: []report.Column{{Name: "Reason"}, {Name: "Accesses", Align: report.AlignRight}}}
	for _, c := range s.Reasons {
		reasons.Rows = append(reasons.Rows, []string{c.Name, report.Count(c.Accesses)})
	}
	doc.AddSection("reasons", "Why accesses were left unexplained").Table(reasons)
	doc.AddSection("users", "Users with unexplained accesses").Table(rows("users", "Users, most unexplained accesses first", "User", s.Users))
	return doc
}
