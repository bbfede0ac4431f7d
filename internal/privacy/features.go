package privacy

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/enrich"
)

// Features of an access: the states the patient is in at the time of the
// access, as the directory knows them, and how they relate to the user's
// department. They are the vocabulary of explanation templates: a template
// says "users of department D routinely open the records of patients with
// feature F". Every feature is a positive, bounded fact (in hospital, at
// point of care X, discharged within 7 days, a colleague of the user's
// department on the care team); "no encounter" or "any patient" is never a
// feature, so that no template can explain everything.
//
// Feature names (the part after the colon is the directory's own value,
// never a name Vigil knows in advance):
//
//	enc                 an admission in progress (a stay of a class that admits:
//	                    not an outpatient, preadmit or recurring visit)
//	class:<C>           a stay in progress of class C (PV1-2: I, E, O …)
//	unit:<U>            … at point of care U then (PV1-3.1, or PV1-6.1 before the transfer)
//	service:<S>         … of hospital service S (PV1-10)
//	admitted:<W>        within W after an admission (6h, 24h); not for the
//	                    classes that do not admit (see admits)
//	preadmit:<W>        within W before a stay begins (24h)
//	discharged:<W>      within W after a discharge (2h, 1d, 3d, 7d, 14d, 30d)
//	after_discharge:<lo>-<hi>  the latest discharge was between lo and hi before
//	                    (a window the miner learns per group: see lagFeature)
//	team_dept           a stay in progress (or ended within the care-team grace) whose care team
//	                    includes someone of the user's own department
const (
	FeatEncounter = "enc"
	FeatTeamDept  = "team_dept"
)

// window is one window of a timed feature family.
type window struct {
	name string
	d    time.Duration
}

var (
	admittedWindows   = []window{{"6h", 6 * time.Hour}, {"24h", 24 * time.Hour}}
	preadmitWindows   = []window{{"24h", 24 * time.Hour}}
	dischargedWindows = []window{{"2h", 2 * time.Hour}, {"1d", 24 * time.Hour}, {"3d", 72 * time.Hour}, {"7d", 7 * 24 * time.Hour},
		{"14d", 14 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}}
)

// Direct is a direct relationship between the user and the patient: the
// user is named in the patient's record (care team, consult).
type Direct struct {
	Kind string // care_team, consult, or a link's kind (order, result, medication, appointment)
	Role string // the care-team role, when known
	// Detail names the link that explains the access (links only);
	// Filler: by the user's department filling it, not naming the user.
	Detail string
	Filler bool
	// Later: the user joined the care team shortly after the access.
	Later bool
}

// careTeamLead is how long before joining a care team a user's access is
// explained by it.
const careTeamLead = time.Hour

// features lists the features of an access (sorted, without duplicates)
// and the direct relationship that explains it, if any. grace extends a
// care-team membership past its end, as the enricher does.
func features(a *enrich.Access, grace time.Duration, dst []string) ([]string, *Direct) {
	dst = dst[:0]
	var direct *Direct
	t := a.At
	dept := strings.ToLower(a.Department)
	add := func(f string) {
		if !slices.Contains(dst, f) {
			dst = append(dst, f)
		}
	}
	for i := range a.Encounters {
		e := &a.Encounters[i]
		if e.Admit.IsZero() {
			continue
		}
		for j := range e.Members {
			m := &e.Members[j]
			// On the care team at the time, or joining it within the hour
			// after (an emergency arrival opened before its registration
			// reached the ADT feed).
			if direct == nil && containsFold(a.UserIDs, m.ID) && m.Covers(e, t, careTeamLead, grace) {
				direct = &Direct{Kind: "care_team", Role: memberRole(m.Role)}
				if direct.Role == "consulting" {
					direct.Kind = "consult"
				}
				if !m.Covers(e, t, 0, grace) {
					direct.Later = true
				}
			}
		}
		active := e.Active(t)
		admits := admits(e.Class)
		if active {
			if admits {
				add(FeatEncounter)
			}
			if e.Class != "" {
				add("class:" + e.Class)
			}
			l1, l2 := e.LocationAt(t)
			if l1 != "" {
				add("unit:" + l1)
			}
			if l2 != "" {
				add("unit:" + l2)
			}
			if e.Service != "" {
				add("service:" + e.Service)
			}
		}
		if d := t.Sub(e.Admit); d >= 0 {
			for _, w := range admittedWindows {
				if !admits {
					break
				}
				if d <= w.d {
					add("admitted:" + w.name)
				}
			}
		} else {
			for _, w := range preadmitWindows {
				if -d <= w.d {
					add("preadmit:" + w.name)
				}
			}
		}
		if !e.Discharge.IsZero() {
			if d := t.Sub(e.Discharge); d > 0 {
				for _, w := range dischargedWindows {
					if d <= w.d {
						add("discharged:" + w.name)
					}
				}
			}
		}
		if dept != "" && (active || (!e.Discharge.IsZero() && t.After(e.Discharge) && t.Sub(e.Discharge) <= grace)) {
			for j := range e.Members {
				m := &e.Members[j]
				if m.Department != "" && strings.EqualFold(m.Department, dept) && !containsFold(a.UserIDs, m.ID) && m.Covers(e, t, 0, grace) {
					add(FeatTeamDept)
					break
				}
			}
		}
	}
	if direct == nil {
		direct = linkExplains(a)
	}
	slices.Sort(dst)
	return dst, direct
}

// admits reports whether a stay of this class (PV1-2) is an admission:
// not an outpatient (O), preadmit (P) or recurring (R) visit. A clinic
// visit is no "patient in hospital" or "admitted within 6 h": a unit
// clerk's or a pharmacist's template for admissions must not explain
// opening the record of whoever came to a clinic that day. Its own states
// (class:O, unit:<U>) stay. An emergency visit (E) still counts: leaving
// it out too was measured and lowered the explained share of the
// simulator's short hospitals (89.5 % against 91.7 %, seed 3 over 30 h),
// whose ED work at night is learnt as "admitted within 6 h" before its
// own class:E template. An unknown class is taken as an admission, as
// before the class was known.
func admits(class string) bool {
	switch strings.ToUpper(strings.TrimSpace(class)) {
	case "O", "P", "R":
		return false
	}
	return true
}

// relatedWithin reports whether the user is on a care team of the patient,
// or named in one of its orders, results, medications or appointments,
// at any time from t−before to t+after: the treatment relationship that
// makes a break-glass access expected.
func relatedWithin(a *enrich.Access, before, after time.Duration) bool {
	for i := range a.Encounters {
		e := &a.Encounters[i]
		for j := range e.Members {
			m := &e.Members[j]
			if containsFold(a.UserIDs, m.ID) && m.Covers(e, a.At, after, before) {
				return true
			}
		}
	}
	// An order, result, medication or appointment naming the user.
	for i := range a.Links {
		l := &a.Links[i]
		if d := a.At.Sub(l.At); d >= -after && d <= before {
			for _, p := range l.People {
				if containsFold(a.UserIDs, p.ID) {
					return true
				}
			}
		}
	}
	return false
}

// memberRole reads the care-team role the directory records (attending,
// consulting …, or a ROL code).
func memberRole(r string) string {
	switch strings.ToUpper(r) {
	case "CP", "CONSULTING", "CONSULTANT":
		return "consulting"
	case "AT", "ATTENDING":
		return "attending"
	case "AD", "ADMITTING":
		return "admitting"
	case "RP", "REFERRING":
		return "referring"
	case "PP":
		return "primary care provider"
	}
	return strings.ToLower(r)
}

func containsFold(l []string, s string) bool {
	for _, x := range l {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// family returns the family of a feature: its name up to the colon.
func family(f string) string {
	if i := strings.IndexByte(f, ':'); i >= 0 {
		return f[:i]
	}
	return f
}

// describeFeature says what a feature means, in words.
func describeFeature(f string) string {
	fam, v, _ := strings.Cut(f, ":")
	switch fam {
	case FeatEncounter:
		return "patients in hospital (an admission in progress, not a clinic visit)"
	case "class":
		return "patients in a stay of class " + v
	case "unit":
		return "patients at point of care " + v
	case "service":
		return "patients of hospital service " + v
	case "admitted":
		return "patients admitted within the last " + v
	case "preadmit":
		return "patients to be admitted within " + v
	case "discharged":
		return "patients discharged within the last " + v
	case FeatTeamDept:
		return "patients whose care team includes a colleague of the same department"
	case lagFamily:
		a, b, _ := strings.Cut(v, "-")
		return "patients discharged between " + a + " and " + b + " before"
	case "any":
		return "any patient"
	}
	return f
}

// The work a department does after discharges — billing, coding, HIM's
// chart completion and release of information, follow-up calls — comes
// days after the stay, once per stay, and at a lag of its own: coding
// within a few days, HIM over two weeks. Fixed windows fit some of it;
// a "discharged within 14 days" state holds nearly half of all patients
// in a busy month, far too common to be a template by lift. So the miner
// also learns, per group, the window of lags after a discharge its own
// accesses fall in (lagFeature: "after_discharge:<lo>-<hi>"), and a
// template of it explains an access whose lag since the patient's latest
// discharge is inside the window.

// maxLag is the longest lag after a discharge the miner learns from.
const maxLag = 30 * 24 * time.Hour

// dischargeLag returns how long before the access the patient's latest
// discharge was (within maxLag), or -1.
func dischargeLag(a *enrich.Access) time.Duration {
	lag := time.Duration(-1)
	for i := range a.Encounters {
		e := &a.Encounters[i]
		if e.Discharge.IsZero() || !a.At.After(e.Discharge) {
			continue
		}
		if d := a.At.Sub(e.Discharge); d <= maxLag && (lag < 0 || d < lag) {
			lag = d
		}
	}
	return lag
}

// lagFamily names the learnt post-discharge windows.
const lagFamily = "after_discharge"

// lagFeature names a window of lags after a discharge: whole hours below
// a day, whole days from a day on ("after_discharge:1d-13d",
// "after_discharge:2h-3d").
func lagFeature(lo, hi time.Duration) string {
	return lagFamily + ":" + fmtLag(lo) + "-" + fmtLag(hi)
}

func fmtLag(d time.Duration) string {
	if d%(24*time.Hour) == 0 && d > 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return strconv.Itoa(int(d/time.Hour)) + "h"
}

// parseLagFeature reads a window lagFeature wrote (or a hand-written
// one): ok false when f is not one.
func parseLagFeature(f string) (lo, hi time.Duration, ok bool) {
	fam, v, found := strings.Cut(f, ":")
	if !found || fam != lagFamily {
		return 0, 0, false
	}
	a, b, found := strings.Cut(v, "-")
	if !found {
		return 0, 0, false
	}
	parse := func(s string) (time.Duration, bool) {
		if len(s) < 2 {
			return 0, false
		}
		n, err := strconv.Atoi(s[:len(s)-1])
		if err != nil || n < 0 {
			return 0, false
		}
		switch s[len(s)-1] {
		case 'h':
			return time.Duration(n) * time.Hour, true
		case 'd':
			return time.Duration(n) * 24 * time.Hour, true
		}
		return 0, false
	}
	lo, ok1 := parse(a)
	hi, ok2 := parse(b)
	if !ok1 || !ok2 || hi <= lo || hi > maxLag {
		return 0, 0, false
	}
	return lo, hi, true
}

// lagWindow rounds a window of lags to the steps lagFeature names, lo
// down and hi up (whole hours below a day, whole days above), so that
// minings on a little more data name the same window.
func lagWindow(lo, hi time.Duration) (time.Duration, time.Duration) {
	const day = 24 * time.Hour
	if lo >= day {
		lo = lo / day * day
	} else {
		lo = lo / time.Hour * time.Hour
	}
	if hi > day {
		hi = (hi + day - 1) / day * day
	} else {
		hi = (hi + time.Hour - 1) / time.Hour * time.Hour
	}
	if hi <= lo {
		hi = lo + time.Hour
	}
	return lo, min(hi, maxLag)
}
