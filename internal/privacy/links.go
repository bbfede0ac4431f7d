package privacy

import (
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/enrich"
	"github.com/vigil-siem/vigil/internal/directory"
)

// Explanations from the order, pharmacy, result and scheduling feeds
// (ORM/OMG, RDE, ORU, SIU over MLLP; see directory/links.go). A link
// explains an access when it names the user (ordering, entering,
// verifying, performing, interpreting, the appointment's resource …) or
// when the user's department fills the link's section (the department
// the directory saw fill it, or named like it), and the access falls in
// the link's window. Without those feeds no access has links and nothing
// changes.

// Explanation codes of links (healthcare.access.explanation): the link's
// kind.
const (
	ExplainOrder       = "order"
	ExplainResult      = "result"
	ExplainMedication  = "medication"
	ExplainAppointment = "appointment"
)

// linkWindow is when, around a link's time, an access is explained by
// it: From before to To after. The named window is for people the link
// names; the filler window for the departments filling it.
type linkWindow struct{ namedFrom, namedTo, fillFrom, fillTo time.Duration }

const day = 24 * time.Hour

// linkWindows, by kind: an order is looked at before it is placed (the
// clinician reviews the chart) and while it is filled (days for
// imaging); a medication is verified and dispensed within a few days; a
// result is reviewed for a week by those it names, around its time by the
// section that produced it; an appointment is prepared days ahead.
var linkWindows = map[string]linkWindow{
	ExplainOrder:       {namedFrom: 2 * time.Hour, namedTo: 3 * day, fillFrom: time.Hour, fillTo: 2 * day},
	ExplainMedication:  {namedFrom: 2 * time.Hour, namedTo: 3 * day, fillFrom: time.Hour, fillTo: 2 * day},
	ExplainResult:      {namedFrom: 6 * time.Hour, namedTo: 7 * day, fillFrom: 6 * time.Hour, fillTo: day},
	ExplainAppointment: {namedFrom: 3 * day, namedTo: day, fillFrom: day, fillTo: day},
}

// linkExplains returns the direct relationship a link of the patient
// gives the access, or nil. Links naming the user come first, then those
// the user's department fills; among each, the closest in time.
func linkExplains(a *enrich.Access) *Direct {
	if len(a.Links) == 0 {
		return nil
	}
	var best *directory.Link
	var bestRole string
	bestDist := time.Duration(-1)
	named := false
	for i := range a.Links {
		l := &a.Links[i]
		w, ok := linkWindows[l.Kind]
		if !ok {
			continue
		}
		d := a.At.Sub(l.At) // > 0: the access after the link
		dist := d
		if dist < 0 {
			dist = -dist
		}
		if d >= -w.namedFrom && d <= w.namedTo {
			for _, p := range l.People {
				if containsFold(a.UserIDs, p.ID) && (!named || dist < bestDist) {
					best, bestRole, bestDist, named = l, p.Role, dist, true
				}
			}
		}
		if named || a.Department == "" || d < -w.fillFrom || d > w.fillTo {
			continue
		}
		if (bestDist < 0 || dist < bestDist) && fills(a.Department, l.Section, a.Sections) {
			best, bestRole, bestDist = l, "", dist
		}
	}
	if best == nil {
		return nil
	}
	return &Direct{Kind: best.Kind, Detail: linkDetail(best, bestRole, a.Department, a.At), Filler: !named}
}

// fills reports whether a department fills a section: named like it, or
// seen filling it.
func fills(dept, section string, sections map[string][]string) bool {
	if section == "" {
		return false
	}
	if strings.EqualFold(dept, section) {
		return true
	}
	for _, d := range sections[strings.ToLower(section)] {
		if strings.EqualFold(d, dept) {
			return true
		}
	}
	return false
}

// linkDetail says which link explains the access, e.g. "order: ORM to
// Radiology (section RAD: Chest X-ray), 3h before the access" or
// "appointment: SIU with the user as resource (OPC: Follow-up), 1d after
// the access".
func linkDetail(l *directory.Link, role, dept string, at time.Time) string {
	var b strings.Builder
	b.WriteString(l.Kind + ": " + l.MessageType)
	if role != "" {
		b.WriteString(" naming the user as " + role)
	} else {
		b.WriteString(" to " + dept)
	}
	what := l.Section
	if l.Service != "" {
		if what != "" {
			what += ": "
		}
		what += l.Service
	}
	if what != "" {
		b.WriteString(" (" + what + ")")
	}
	d := at.Sub(l.At) // > 0: the link came before the access
	when := "before"
	if d < 0 {
		d, when = -d, "after"
	}
	b.WriteString(", " + roughDuration(d) + " " + when + " the access")
	return b.String()
}

// roughDuration renders a duration in whole minutes, hours or days.
func roughDuration(d time.Duration) string {
	switch {
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "min"
	case d < 2*day:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return strconv.Itoa(int(d/day)) + "d"
}
