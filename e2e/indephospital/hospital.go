// Package indephospital generates a hospital's month of records — an HR
// roster, the ADT feed as HL7 v2 messages and an Epic-style access log —
// with injected inappropriate accesses and their ground truth, to measure
// Vigil's privacy analytics on data that does not come from Vigil's own
// simulator (internal/simulate). It was written from the input formats
// only (docs/healthcare-sources.md, docs/healthcare.md, the Epic preset),
// without the simulator's hospital model, and makes its own choices:
// other department and role names, Epic login departments that differ
// from the HR ones, nurses who are never on an ADT care team, residents
// and students, float nurses, night shifts, ED tracking-board work,
// consults missing from ADT, ancillary and revenue-cycle work days after
// discharge, break-the-glass on every access to a protected record,
// readmissions, staff who are patients, households, VIPs and deaths.
package indephospital

import (
	"math/rand"
	"time"
)

// Config sizes the hospital. Full() is the size the issue measured.
type Config struct {
	Seed       int64
	Patients   int
	Staff      int
	Encounters int // ED, outpatient and inpatient registrations (an ED visit that admits adds one)
	Days       int
	Start      time.Time
	Incidents  float64 // multiplier of the incident counts of Full()
}

// Full is the hospital: 6,000 patients, 450 staff, ~6,800
// encounters, ~126,000 accesses over four weeks.
func Full(seed int64) Config {
	return Config{Seed: seed, Patients: 6000, Staff: 450, Encounters: 6300, Days: 28,
		Start: time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC), Incidents: 1}
}

// Scaled is Full divided by div (at least one of every role remains).
func Scaled(seed int64, div int) Config {
	c := Full(seed)
	c.Patients /= div
	c.Staff /= div
	c.Encounters /= div
	c.Incidents /= float64(div)
	return c
}

// Incident types, as the truth names them.
const (
	Family      = "family"
	Coworker    = "coworker"
	VIP         = "vip"
	Self        = "self"
	Deceased    = "deceased"
	Terminated  = "after_termination"
	Neighbour   = "neighbour"
	BreakGlass  = "break_glass"
	Bulk        = "bulk"
	IncidentTot = 9
)

// IncidentTypes in the order reports list them.
var IncidentTypes = []string{Family, Coworker, VIP, Self, Deceased, Terminated, Neighbour, BreakGlass, Bulk}

// fullIncidents is how many incidents of each type Full() injects.
var fullIncidents = map[string]int{Family: 30, Coworker: 30, VIP: 25, Self: 8, Deceased: 10, Terminated: 10,
	Neighbour: 20, BreakGlass: 12, Bulk: 6}

// Incident is one injected inappropriate access (or burst of them).
type Incident struct {
	ID        int
	Type      string
	User      string // EHR login
	Employee  string // employee id
	Patient   string // MRN (empty for bulk and after-termination with several patients)
	Patients  []string
	AccessIDs []string
	Time      time.Time
	Note      string // the circumstance, e.g. "target in a stay on 3N"
}

// Hospital is what Generate writes.
type Hospital struct {
	Roster    []byte // HR roster CSV (default workforce preset headers)
	ADT       []byte // HL7 v2 messages, one after the other, blank line between
	AccessLog []byte // Epic-style access log CSV
	Incidents []Incident
	// Legit maps the access id of every legitimate access to the worker's
	// HR department (the truth of the explained share).
	Legit    map[string]string
	Messages int
	Stays    int
	Staff    int
}

// Truth maps every incident access id to its incident.
func (h *Hospital) Truth() map[string]*Incident {
	m := map[string]*Incident{}
	for i := range h.Incidents {
		for _, id := range h.Incidents[i].AccessIDs {
			m[id] = &h.Incidents[i]
		}
	}
	return m
}

// Generate builds the hospital of c; the same config gives the same bytes.
func Generate(c Config) *Hospital {
	g := &gen{c: c, r: rand.New(rand.NewSource(c.Seed)), end: c.Start.AddDate(0, 0, c.Days),
		adtPair: map[[2]int]bool{}, logins: map[string]bool{}}
	g.people()
	g.staffing()
	// the master patient index first, as a hospital loads it before the
	// month's ADT history: without it Vigil knows only patients with a
	// visit in the month
	for i := range g.patients {
		g.adtMsg("A28", &stay{pat: i}, c.Start.Add(-24*time.Hour+time.Duration(i)*time.Second), false)
	}
	g.encounters()
	g.incidents()
	return g.write()
}

type person struct {
	family, given, sex, dob string
	num                     int
	street, zip, phone      string
	household               int
}

type worker struct {
	emp, login, npi string
	d               *dept
	role            string
	p               person
	night           bool
	offset          int
	term            time.Time // last day worked (zero: employed)
	patient         int       // index of their own patient record, -1
	residents       []int     // a hospitalist's team
}

type patient struct {
	mrn       string
	p         person
	vip, prot bool
	worker    int // -1
	died      time.Time
	busyUntil time.Time
	nk        int // index of next-of-kin patient, -1
	nkWorker  int // 1 + index of a worker named next of kin, 0
}

type stay struct {
	csn, class, unit, service string
	pat                       int
	admit, disch              time.Time
	attending, admitting      int
	consult                   int // -1
	consultAt                 time.Time
	consultADT                bool
	transferAt                time.Time
	fromUnit                  string
}

type access struct {
	t        time.Time
	w, p     int
	csn      string
	action   string
	loginDep string
	btg      bool
	reason   string
	inc      int // -1: legitimate
}

type gen struct {
	c        Config
	r        *rand.Rand
	end      time.Time
	patients []patient
	workers  []worker
	byKind   map[string][]int
	stays    []stay
	msgs     []msg
	acc      []access
	inc      []Incident
	ctl      int
	adtPair  map[[2]int]bool // worker, patient: on an ADT care team
	logins   map[string]bool
}

type msg struct {
	t    time.Time
	text string
}

func (g *gen) pick(n int) int { return g.r.Intn(n) }
func (g *gen) chance(p float64) bool {
	return g.r.Float64() < p
}
func (g *gen) between(a, b time.Time) time.Time {
	if !b.After(a) {
		return a
	}
	return a.Add(time.Duration(g.r.Int63n(int64(b.Sub(a)))))
}

// onDuty says whether worker w works at t: 12-hour shifts (07-19, 19-07)
// four days in seven for the 24/7 departments, weekdays 08-17 for the others.
func (g *gen) onDuty(w int, t time.Time) bool {
	wk := &g.workers[w]
	if !wk.term.IsZero() && t.After(wk.term.Add(24*time.Hour)) {
		return false
	}
	h := t.Hour()
	if !wk.d.allHours {
		wd := t.Weekday()
		return wd != time.Saturday && wd != time.Sunday && h >= 8 && h < 17
	}
	day := int(t.Sub(g.c.Start).Hours()/24) + 100
	if wk.night && h < 7 {
		day-- // the night shift began the evening before
	}
	if (day+wk.offset)%7 >= 4 {
		return false
	}
	if wk.night {
		return h >= 19 || h < 7
	}
	return h >= 7 && h < 19
}

// staffAt picks a worker of kind on duty at t (any who still works there
// when nobody is on duty), -1 when the kind has nobody.
func (g *gen) staffAt(kind string, t time.Time) int {
	l := g.byKind[kind]
	if len(l) == 0 {
		return -1
	}
	for range 12 {
		if w := l[g.pick(len(l))]; g.onDuty(w, t) {
			return w
		}
	}
	for range 12 {
		w := l[g.pick(len(l))]
		if wk := &g.workers[w]; wk.term.IsZero() || t.Before(wk.term.Add(24*time.Hour)) {
			return w
		}
	}
	return -1
}

// add records a legitimate access (dropped after the export's end).
func (g *gen) add(t time.Time, w, p int, csn, action string) bool {
	if w < 0 || t.Before(g.c.Start) || !t.Before(g.end) {
		return false
	}
	wk := &g.workers[w]
	if !wk.term.IsZero() && t.After(wk.term.Add(24*time.Hour)) || wk.p.household == g.patients[p].p.household {
		return false // gone; or their own or their family's record: a colleague does it
	}
	g.acc = append(g.acc, access{t: t, w: w, p: p, csn: csn, action: action, loginDep: wk.d.epic, inc: -1})
	return true
}

// biz moves t into office hours (weekdays 08-17).
func (g *gen) biz(t time.Time) time.Time {
	for t.Weekday() == time.Saturday || t.Weekday() == time.Sunday || t.Hour() < 8 || t.Hour() >= 17 {
		t = t.Add(time.Hour)
	}
	return t
}

// timeFor moves t into w's shift when w is not on duty then (the work is
// done when they are).
func (g *gen) timeFor(w int, t time.Time) time.Time {
	for i := 0; i < 48 && w >= 0 && !g.onDuty(w, t); i++ {
		t = t.Add(time.Hour)
	}
	return t
}
