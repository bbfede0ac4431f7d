package privacy

import (
	"strings"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/enrich"
)

// recentAccesses remembers who opened each patient's record lately, by
// department: the corroboration of a sensitive access a template would
// explain (Config.Corroboration). It keeps at most maxRecentPerPatient
// accesses per patient (the latest) and two generations of up to
// maxRecentPatients patients each: when the newer fills, the older is
// dropped. It is safe for concurrent use.
type recentAccesses struct {
	mu       sync.Mutex
	cur, old map[string][]recentAccess
}

type recentAccess struct {
	dept, user uint32 // hash32 of the lower-case names
	at         int64  // Unix seconds
}

const (
	maxRecentPerPatient = 64
	maxRecentPatients   = 1 << 17
)

func newRecentAccesses() *recentAccesses {
	return &recentAccesses{cur: map[string][]recentAccess{}, old: map[string][]recentAccess{}}
}

// add records accesses.
func (r *recentAccesses) add(accs []enrich.Access) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range accs {
		a := &accs[i]
		if a.Patient == "" || a.Department == "" || a.Terminated {
			continue
		}
		p := strings.ToLower(a.Patient)
		l, ok := r.cur[p]
		if !ok {
			if len(r.cur) >= maxRecentPatients {
				r.old, r.cur = r.cur, make(map[string][]recentAccess, len(r.cur))
			}
			l = r.old[p]
			if len(l) > 0 {
				l = append([]recentAccess(nil), l...)
			}
		}
		ra := recentAccess{dept: hash32(strings.ToLower(a.Department)), user: hash32(strings.ToLower(a.User)), at: a.At.Unix()}
		if len(l) >= maxRecentPerPatient {
			// Drop the earliest.
			j := 0
			for k := range l {
				if l[k].at < l[j].at {
					j = k
				}
			}
			l[j] = ra
		} else {
			l = append(l, ra)
		}
		r.cur[p] = l
	}
}

// colleague reports whether another user of the access's department
// opened the patient's record within w before or (unless onlyBefore)
// after it.
func (r *recentAccesses) colleague(a *enrich.Access, w time.Duration, onlyBefore bool) bool {
	if a.Patient == "" || a.Department == "" {
		return false
	}
	p := strings.ToLower(a.Patient)
	dept, user, at, win := hash32(strings.ToLower(a.Department)), hash32(strings.ToLower(a.User)), a.At.Unix(), int64(w/time.Second)
	after := win
	if onlyBefore {
		after = 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.cur[p]
	if !ok {
		l = r.old[p]
	}
	for _, x := range l {
		if x.dept == dept && x.user != user && x.at >= at-win && x.at <= at+after {
			return true
		}
	}
	return false
}

// sensitiveAccess reports whether an access is of the kind a template
// explains only with corroboration: a VIP or confidential record, a
// co-worker's, a neighbour's, a deceased patient's (after the death),
// or a break-glass access.
func sensitiveAccess(a *enrich.Access) bool {
	dead := a.Deceased && (a.DeceasedAt.IsZero() || !a.At.Before(a.DeceasedAt))
	return a.Confidential || a.Rel.Coworker || a.Rel.Neighbour || dead || a.BreakGlass
}

// corroboration measures, per template, how often the accesses it
// explains (not sensitive ones) come with a colleague's: a department
// whose routine comes in pairs or crowds — the lab's draw and result,
// the radiographer's exam and the radiologist's read, the ED's tracking
// board — has a colleague's access to nearly every patient it opens, so
// a lone access of its user to a VIP is out of its routine; a department
// that opens each patient once, alone — transport, billing, coding, a
// dietitian's assessment — has none, and asking for one would flag its
// every access to a sensitive record. Only a colleague's access before
// is known when an access is explained; the share corroborated before
// is doubled to estimate the share corroborated within the window
// either side (exact for pairs, an upper estimate for crowds).
type corroboration struct {
	mu sync.Mutex
	by map[int64]*corrStat
}

type corrStat struct{ n, before float64 }

// minCorroborationEvidence is how many accesses a template must have
// explained before its corroboration rate is trusted.
const minCorroborationEvidence = 30

func (c *corroboration) add(template int64, before bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.by == nil {
		c.by = map[int64]*corrStat{}
	}
	s := c.by[template]
	if s == nil {
		s = &corrStat{}
		c.by[template] = s
	}
	s.n++
	if before {
		s.before++
	}
}

// rate returns the estimated share of a template's accesses a
// colleague's access corroborates, and whether there is evidence enough.
func (c *corroboration) rate(template int64) (float64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.by[template]
	if s == nil || s.n < minCorroborationEvidence {
		return 0, false
	}
	return min(1, 2*s.before/s.n), true
}

// corroborated reports whether something ties the user or their
// department to the patient within w of the access, beyond a template:
// a colleague of the department on the care team (team_dept), the user
// on a care team of the patient, another user of the department opening
// the record.
func (e *Engine) corroborated(a *enrich.Access, feats []string, w time.Duration) bool {
	return containsSorted(feats, FeatTeamDept) || relatedWithin(a, w, w) || e.recent.colleague(a, w, false)
}
