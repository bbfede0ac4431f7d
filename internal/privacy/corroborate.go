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

// tied reports whether the record was opened within w before or after
// the access by another user of the access's department, or by the same
// user at another sitting (at least sessionGap away): the user's own
// sustained involvement — a resident seeing their patient morning and
// evening — as opposed to one look.
func (r *recentAccesses) tied(patient, dept, user string, t time.Time, w time.Duration) bool {
	if patient == "" || dept == "" {
		return false
	}
	p := strings.ToLower(patient)
	dh, uh, at, win, gap := hash32(strings.ToLower(dept)), hash32(strings.ToLower(user)), t.Unix(), int64(w/time.Second), int64(sessionGap/time.Second)
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.cur[p]
	if !ok {
		l = r.old[p]
	}
	for _, x := range l {
		if x.dept != dh || x.at < at-win || x.at > at+win {
			continue
		}
		if x.user != uh || x.at <= at-gap || x.at >= at+gap {
			return true
		}
	}
	return false
}

// sessionGap: the same user's accesses this far apart are two sittings.
const sessionGap = 2 * time.Hour

// sensitiveAccess reports whether an access is of the kind a template
// explains only with corroboration: a VIP or confidential record, a
// co-worker's, a neighbour's, a deceased patient's (after the death),
// or a break-glass access.
func sensitiveAccess(a *enrich.Access) bool {
	dead := a.Deceased && (a.DeceasedAt.IsZero() || !a.At.Before(a.DeceasedAt))
	return a.Confidential || a.Rel.Coworker || a.Rel.Neighbour || dead || a.BreakGlass
}

// corroboration measures, per template, how often the accesses it
// explains (not sensitive ones) have the tie corroboration asks for: a
// department whose routine comes in pairs or crowds — the lab's draw and
// result, the radiographer's exam and the radiologist's read, the ED's
// tracking board, a resident seeing their patients twice a day — has it
// on nearly every patient it opens, so a lone look of its user at a VIP
// is out of its routine; a department that opens each patient once,
// alone — transport, billing, coding, a dietitian's assessment — has
// none, and asking for one would flag its every access to a sensitive
// record. An access is measured once the stream passed the window after
// it (both sides known).
type corroboration struct {
	mu      sync.Mutex
	by      map[int64]*corrStat
	pending []corrPending // waiting for the window after them, in arrival order
	newest  time.Time
}

type corrStat struct{ n, tied float64 }

type corrPending struct {
	template            int64
	patient, dept, user string
	at                  time.Time
}

const (
	// minCorroborationEvidence is how many measured accesses make a
	// template's rate trusted.
	minCorroborationEvidence = 30
	// maxCorrPending bounds the accesses waiting to be measured.
	maxCorrPending = 50_000
)

// add queues an access a template explained, to be measured once the
// stream passed the window after it.
func (c *corroboration) add(template int64, a *enrich.Access) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a.At.After(c.newest) {
		c.newest = a.At
	}
	if len(c.pending) >= maxCorrPending {
		return
	}
	c.pending = append(c.pending, corrPending{template: template, patient: a.Patient, dept: a.Department, user: a.User, at: a.At})
}

// measure measures the queued accesses the stream has passed the window
// after.
func (c *corroboration) measure(r *recentAccesses, w time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.by == nil {
		c.by = map[int64]*corrStat{}
	}
	keep := c.pending[:0]
	for _, p := range c.pending {
		if c.newest.Sub(p.at) < w {
			keep = append(keep, p)
			continue
		}
		s := c.by[p.template]
		if s == nil {
			s = &corrStat{}
			c.by[p.template] = s
		}
		s.n++
		if r.tied(p.patient, p.dept, p.user, p.at, w) {
			s.tied++
		}
	}
	clear(c.pending[len(keep):])
	c.pending = keep
}

// rate returns the share of a template's measured accesses that had the
// tie, and whether there is evidence enough.
func (c *corroboration) rate(template int64) (float64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.by[template]
	if s == nil || s.n < minCorroborationEvidence {
		return 0, false
	}
	return s.tied / s.n, true
}

// corroborated reports whether something ties the user or their
// department to the patient within w of the access, beyond a template:
// a colleague of the department on the care team (team_dept), the user
// on a care team of the patient or named by an order, another user of
// the department opening the record, the user opening it at another
// sitting.
func (e *Engine) corroborated(a *enrich.Access, feats []string, w time.Duration) bool {
	return containsSorted(feats, FeatTeamDept) || relatedWithin(a, w, w) || e.recent.tied(a.Patient, a.Department, a.User, a.At, w)
}
