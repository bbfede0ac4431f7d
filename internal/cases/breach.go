package cases

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/event"
)

// Assessment is the breach risk assessment of 45 CFR 164.402(2): an
// impermissible use or disclosure of PHI is presumed a breach unless a
// low probability that the PHI has been compromised is shown from at
// least these four factors (or one of the exceptions of 164.402(1)
// applies).
type Assessment struct {
	// (i) The nature and extent of the PHI involved, including the types
	// of identifiers and the likelihood of re-identification.
	NatureExtent Factor `json:"nature_extent"`
	// (ii) The unauthorized person who used the PHI or to whom the
	// disclosure was made.
	UnauthorizedPerson Factor `json:"unauthorized_person"`
	// (iii) Whether the PHI was actually acquired or viewed.
	AcquiredViewed Factor `json:"acquired_viewed"`
	// (iv) The extent to which the risk to the PHI has been mitigated.
	Mitigation Factor `json:"mitigation"`
	// Exception, when one of 164.402(1) applies: unintentional_workforce
	// (i), inadvertent_authorized (ii), unable_to_retain (iii).
	Exception string `json:"exception,omitempty"`
	// By and At are set when the assessment is recorded.
	By string    `json:"by,omitempty"`
	At time.Time `json:"at,omitzero"`
}

// Factor is one factor's finding: the risk it shows (low, medium, high)
// and why.
type Factor struct {
	Risk  string `json:"risk"`
	Notes string `json:"notes"`
}

var exceptions = map[string]string{
	"unintentional_workforce": "164.402(1)(i): unintentional acquisition, access or use by a workforce member acting in good faith within their authority, not further used or disclosed",
	"inadvertent_authorized":  "164.402(1)(ii): inadvertent disclosure between persons authorized at the same covered entity, business associate or organized health care arrangement",
	"unable_to_retain":        "164.402(1)(iii): good-faith belief that the unauthorized recipient could not reasonably have retained the information",
}

func (a Assessment) factors() []struct {
	name string
	f    Factor
} {
	return []struct {
		name string
		f    Factor
	}{{"nature_extent", a.NatureExtent}, {"unauthorized_person", a.UnauthorizedPerson}, {"acquired_viewed", a.AcquiredViewed}, {"mitigation", a.Mitigation}}
}

func (a Assessment) validate() error {
	if a.Exception != "" {
		if _, ok := exceptions[a.Exception]; !ok {
			return bad("assessment.exception", "%q: want unintentional_workforce, inadvertent_authorized or unable_to_retain", a.Exception)
		}
	}
	for _, f := range a.factors() {
		switch f.f.Risk {
		case "", "low", "medium", "high":
		default:
			return bad("assessment."+f.name+".risk", "%q: want low, medium or high", f.f.Risk)
		}
		if f.f.Risk != "" && strings.TrimSpace(f.f.Notes) == "" {
			return bad("assessment."+f.name+".notes", "say what the finding rests on")
		}
		if len(f.f.Notes) > MaxText {
			return bad("assessment."+f.name+".notes", "at most %d bytes", MaxText)
		}
	}
	return nil
}

// Conclusion is what the assessment shows: "incomplete" until every
// factor is assessed; "not a breach" when an exception applies or every
// factor shows a low risk (a low probability of compromise); otherwise
// "breach" (the presumption stands).
func (a Assessment) Conclusion() string {
	if a.Exception != "" {
		return "not a breach (exception " + a.Exception + ")"
	}
	low := true
	for _, f := range a.factors() {
		if f.f.Risk == "" {
			return "incomplete"
		}
		low = low && f.f.Risk == "low"
	}
	if low {
		return "not a breach (low probability of compromise)"
	}
	return "breach"
}

// IsBreach reports whether the assessment concludes a breach (an
// incomplete assessment is treated as one: the presumption stands).
func (a *Assessment) IsBreach() bool {
	if a == nil {
		return true
	}
	c := a.Conclusion()
	return c == "breach" || c == "incomplete"
}

// Notified records the notifications made.
type Notified struct {
	Individuals *time.Time `json:"individuals,omitempty"`
	Media       *time.Time `json:"media,omitempty"`
	HHS         *time.Time `json:"hhs,omitempty"`
}

func (n Notified) validate(now time.Time) error {
	for name, t := range map[string]*time.Time{"individuals": n.Individuals, "media": n.Media, "hhs": n.HHS} {
		if t != nil && t.After(now.Add(time.Minute)) {
			return bad("notified."+name, "in the future")
		}
	}
	return nil
}

func (n Notified) String() string {
	var parts []string
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"individuals", n.Individuals}, {"media", n.Media}, {"HHS", n.HHS}} {
		if p.t != nil {
			parts = append(parts, p.name+" "+p.t.Format("2006-01-02"))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// Patients are the distinct patients of a case's linked events, and the
// states they live in.
type Patients struct {
	Count int `json:"count"`
	// ByState counts them by state of residence ("unknown" when the
	// directory has no address).
	ByState map[string]int `json:"by_state"`
	// IDs are kept for the report (PHI: shown to those who may see it).
	IDs []string `json:"-"`
	// Truncated is set when some alerts kept only part of their events.
	Truncated bool `json:"truncated,omitempty"`
}

// Deadline is one notification obligation.
type Deadline struct {
	Who      string     `json:"who"` // individuals, media, hhs
	Required bool       `json:"required"`
	Due      time.Time  `json:"due"`
	Rule     string     `json:"rule"`
	Done     *time.Time `json:"done,omitempty"`
	DaysLeft int        `json:"days_left"`
	Overdue  bool       `json:"overdue"`
}

// Breach is a privacy case's notification clock.
type Breach struct {
	Conclusion string     `json:"conclusion"`
	Discovered time.Time  `json:"discovered"`
	Patients   *Patients  `json:"patients,omitempty"`
	Deadlines  []Deadline `json:"deadlines"`
}

// The clock of 45 CFR 164.404–408, counted from discovery (164.404(a)(2):
// the first day the breach is known, or would have been known with
// reasonable diligence).
const (
	notifyDays   = 60  // individuals (164.404(b)), media (164.406(b)), HHS for 500 or more (164.408(b))
	mediaOver    = 500 // media: more than 500 residents of a State or jurisdiction (164.406(a))
	hhsImmediate = 500 // HHS with the individual notices: 500 or more individuals (164.408(b))
)

// ComputeBreach works out the deadlines of a privacy case at now; p, when
// known, decides whether media and HHS must be told at once.
func ComputeBreach(c Case, p *Patients, now time.Time) Breach {
	b := Breach{Discovered: c.Discovered, Patients: p, Conclusion: "incomplete"}
	if c.Assessment != nil {
		b.Conclusion = c.Assessment.Conclusion()
	}
	breach := c.Assessment.IsBreach()
	due := c.Discovered.AddDate(0, 0, notifyDays)
	add := func(who string, required bool, due time.Time, rule string, done *time.Time) {
		d := Deadline{Who: who, Required: required && breach, Due: due, Rule: rule, Done: done}
		d.DaysLeft = int(due.Sub(now).Hours() / 24)
		d.Overdue = d.Required && done == nil && now.After(due)
		b.Deadlines = append(b.Deadlines, d)
	}
	add("individuals", true, due, "164.404(b): without unreasonable delay, no later than 60 calendar days after discovery", c.Notified.Individuals)
	media, hhsNow := false, false
	mediaRule := "164.406: prominent media outlets serving a State when more than 500 of its residents are involved, within 60 days"
	if p != nil {
		for st, n := range p.ByState {
			if st != "unknown" && n > mediaOver {
				media = true
				mediaRule += fmt.Sprintf(" (%s: %d)", st, n)
			}
		}
		hhsNow = p.Count >= hhsImmediate
	}
	add("media", media, due, mediaRule, c.Notified.Media)
	if hhsNow || p == nil {
		add("hhs", true, due, "164.408(b): 500 or more individuals: HHS at the same time as the individuals, within 60 days", c.Notified.HHS)
	} else {
		// Fewer than 500: the annual log, within 60 days after the end of
		// the calendar year of discovery (164.408(c)).
		y := c.Discovered.Year()
		yearEnd := time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC)
		add("hhs", true, yearEnd.AddDate(0, 0, notifyDays), "164.408(c): fewer than 500 individuals: HHS within 60 days after the end of the calendar year", c.Notified.HHS)
	}
	return b
}

// Patients counts the distinct patients of a case's alerts: the patient
// ids of their events (read from the store by vigil.id) and of the alerts'
// own fields, with the state each lives in.
func (s *Store) Patients(ctx context.Context, c Case) (Patients, error) {
	p := Patients{ByState: map[string]int{}}
	seen := map[string]bool{}
	var ids []string
	var first, last time.Time
	for _, aid := range c.Alerts {
		a, err := s.opt.Alerts.Get(ctx, aid)
		if err != nil {
			continue
		}
		for _, m := range []map[string]string{a.GroupBy, a.Fields} {
			if v := m["healthcare.patient.id"]; v != "" {
				seen[v] = true
			}
		}
		ids = append(ids, a.EventIDs...)
		if a.Count > len(a.EventIDs) && len(a.EventIDs) >= alerts.MaxEventIDs {
			p.Truncated = true
		}
		if first.IsZero() || a.FirstSeen.Before(first) {
			first = a.FirstSeen
		}
		if a.Time.After(last) {
			last = a.Time
		}
	}
	if s.opt.Search != nil && len(ids) > 0 {
		for i := 0; i < len(ids); i += 500 {
			chunk := ids[i:min(i+500, len(ids))]
			quoted := make([]string, len(chunk))
			for j, id := range chunk {
				quoted[j] = strconv.Quote(id)
			}
			q := "vigil.id:in(" + strings.Join(quoted, ",") + ")"
			err := s.opt.Search(ctx, q, first.Add(-24*time.Hour), last.Add(24*time.Hour), 0, func(row []event.Field) error {
				for _, f := range row {
					if f.Name == "healthcare.patient.id" && f.Value != "" {
						seen[f.Value] = true
					}
				}
				return nil
			})
			if err != nil {
				return p, err
			}
		}
	}
	for id := range seen {
		p.IDs = append(p.IDs, id)
		st := ""
		if s.opt.PatientState != nil {
			st, _ = s.opt.PatientState(ctx, id)
		}
		if st == "" {
			st = "unknown"
		}
		p.ByState[strings.ToUpper(st)]++
	}
	sort.Strings(p.IDs)
	p.Count = len(p.IDs)
	return p, nil
}

// Reminders are the days before a deadline at which a reminder alert is
// raised.
var Reminders = []int{0, 1, 3, 7, 14, 30}

// Remind raises reminder alerts for the open privacy cases whose
// notification deadlines come near (30, 14, 7, 3 and 1 days before, and
// on the day), each once.
func (s *Store) Remind(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM cases WHERE kind = 'privacy' AND status != 'closed'`)
	if err != nil {
		return err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	now := s.opt.Now()
	for _, id := range ids {
		c, err := s.Get(ctx, id)
		if err != nil {
			return err
		}
		var p *Patients
		if pp, err := s.Patients(ctx, c); err == nil {
			p = &pp
		}
		b := ComputeBreach(c, p, now)
		for _, d := range b.Deadlines {
			if !d.Required || d.Done != nil {
				continue
			}
			left := d.Due.Sub(now)
			for _, days := range Reminders { // the nearest threshold reached
				if left > time.Duration(days)*24*time.Hour {
					continue
				}
				res, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO case_reminders (case_id, deadline, days) VALUES (?, ?, ?)`, id, d.Who, days)
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n == 0 {
					break // raised already
				}
				level := "high"
				if days <= 3 {
					level = "critical"
				}
				title := fmt.Sprintf("Breach notification due in %d days", int(left.Hours()/24))
				if left < 0 {
					title = "Breach notification overdue"
				}
				_, err = s.opt.Alerts.Add(ctx, []alerts.Alert{{
					Key: fmt.Sprintf("case_deadline/%d/%s/%d", id, d.Who, days), Kind: "case_deadline", RuleID: "vigil.breach_clock",
					RuleTitle: title + " (" + d.Who + ")", Level: level, Tags: []string{"hipaa.164.404", "vigil.case"}, Time: now,
					Fields: map[string]string{"case.id": strconv.FormatInt(id, 10), "case.title": c.Title, "deadline.who": d.Who,
						"deadline.due": d.Due.Format(time.RFC3339), "deadline.rule": d.Rule},
				}})
				if err != nil {
					return err
				}
				s.log(ctx, id, "vigil", "change", fmt.Sprintf("reminder: notification of %s due %s", d.Who, d.Due.Format("2006-01-02")))
				break
			}
		}
	}
	return nil
}
