package privacy

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"
)

// Mining explanation templates (after Fabbri & LeFevre, "Explaining
// accesses to electronic medical records using diagnosis information",
// JAMIA 2013): most accesses to patient records have a reason that the
// data itself shows. Accesses no direct relationship explains (the user is
// not on the patient's care team) are sampled per group of users (their
// department); a template "users of group G open the records of patients
// with feature F" is chosen when the group's accesses are to such patients
// far more often than chance (lift over the base rate of F among all
// patients), by several users, often enough to be routine. Templates are
// chosen greedily, the most specific first (coverage gained per unit of
// base rate), so that a broad template is taken only when narrow ones do
// not already explain the work; a template therefore explains a snooping
// access only as often as the target happens to be in that state by chance.

// MiningConfig tunes the miner.
type MiningConfig struct {
	// GroupBy lists the groups of users templates are learnt for:
	// "department", "job" (department and role: the physicians of a
	// department apart from its nurses), "role". Default department and
	// job: an access is explained by a template of either.
	GroupBy []string `yaml:"group_by" json:"group_by"`
	// SampleSize is how many residual accesses are kept per group
	// (default 2048).
	SampleSize int `yaml:"sample_size" json:"sample_size"`
	// HalfLife: older accesses weigh less, by half every HalfLife of event
	// time (default 30 days).
	HalfLife Duration `yaml:"half_life" json:"half_life"`
	// A template is chosen when the accesses it explains (beyond the
	// templates chosen before it) number at least MinSupport (default 10)
	// and MinShare of the group's residual accesses (default 1%), come
	// from at least MinUsers distinct users (default 2), and are at least
	// MinLift times more frequent than chance (default 3).
	MinSupport float64 `yaml:"min_support" json:"min_support"`
	MinShare   float64 `yaml:"min_share" json:"min_share"`
	MinUsers   int     `yaml:"min_users" json:"min_users"`
	MinLift    float64 `yaml:"min_lift" json:"min_lift"`
	// MaxBase: a feature that more than this share of all patients has at
	// a random time (default 0.2) explains too much to be a template: a
	// snooping access would be explained as often.
	MaxBase float64 `yaml:"max_base" json:"max_base"`
	// A group that opens nearly every patient in a state — billing after
	// each discharge, coding each chart, the ED each ED visit — has a
	// template for it even when the state is common (many patients
	// recently discharged) and the lift therefore low: when its accesses
	// to such patients number at least MinPerStay per stay that put a
	// patient in the state (default 0.25: coding lags discharges by days,
	// so a week's discharges are not all coded yet), a template needs only half
	// MinLift and a base rate up to RoutineMaxBase (default 0.5). Its
	// accesses to a VIP in that state are then no sign of snooping: it
	// would have opened the record whoever the patient was.
	MinPerStay     float64 `yaml:"min_per_stay" json:"min_per_stay"`
	RoutineMaxBase float64 `yaml:"routine_max_base" json:"routine_max_base"`
	// AutoAccept makes chosen templates explain accesses at once
	// (status active); when false they wait for approval (proposed).
	// Default true.
	AutoAccept *bool `yaml:"auto_accept" json:"auto_accept"`
	// Every is how often templates are mined again while accesses arrive
	// (default 1 minute); EveryAccesses mines again after that many new
	// accesses (default 2000), so that an import is explained with what
	// its own first rows taught.
	Every         Duration `yaml:"every" json:"every"`
	EveryAccesses int      `yaml:"every_accesses" json:"every_accesses"`
}

func (c *MiningConfig) defaults() {
	if len(c.GroupBy) == 0 {
		c.GroupBy = []string{"department", "job"}
	}
	if c.SampleSize <= 0 {
		c.SampleSize = 2048
	}
	if c.HalfLife <= 0 {
		c.HalfLife = Duration(30 * 24 * time.Hour)
	}
	if c.MinSupport <= 0 {
		c.MinSupport = 10
	}
	if c.MinShare <= 0 {
		c.MinShare = 0.01
	}
	if c.MinUsers <= 0 {
		c.MinUsers = 2
	}
	if c.MinLift <= 0 {
		c.MinLift = 3
	}
	if c.MaxBase <= 0 {
		c.MaxBase = 0.2
	}
	if c.MinPerStay <= 0 {
		c.MinPerStay = 0.25
	}
	if c.RoutineMaxBase <= 0 {
		c.RoutineMaxBase = 0.5
	}
	if c.AutoAccept == nil {
		t := true
		c.AutoAccept = &t
	}
	if c.Every <= 0 {
		c.Every = Duration(time.Minute)
	}
	if c.EveryAccesses <= 0 {
		c.EveryAccesses = 2000
	}
}

func (c *MiningConfig) check() error {
	for _, g := range c.GroupBy {
		if g != "department" && g != "role" && g != "job" {
			return fmt.Errorf("mining.group_by: %q: want department, job or role", g)
		}
	}
	if c.MinShare >= 1 {
		return fmt.Errorf("mining.min_share: %v: want a share below 1 (e.g. 0.01)", c.MinShare)
	}
	if c.MaxBase > 1 {
		return fmt.Errorf("mining.max_base: %v: want a share up to 1 (e.g. 0.2)", c.MaxBase)
	}
	if c.RoutineMaxBase > 1 {
		return fmt.Errorf("mining.routine_max_base: %v: want a share up to 1 (e.g. 0.5)", c.RoutineMaxBase)
	}
	return nil
}

// observation is one access as the miner learns from it.
type observation struct {
	groups   []string // group keys of the user
	feats    []string // sorted
	user     string
	patient  string
	at       time.Time
	residual bool          // no direct relationship explains it
	lag      time.Duration // since the patient's latest discharge (-1: none; dischargeLag)
}

// item is one sampled access.
type item struct {
	feats   []uint16
	user    uint32
	patient uint32 // hash
	at      int64  // event time, Unix seconds: older items weigh less
	lag     int32  // minutes since the patient's latest discharge (-1: none)
}

func lagMinutes(d time.Duration) int32 {
	if d < 0 {
		return -1
	}
	return int32(d / time.Minute)
}

type mgroup struct {
	total, residual float64 // decayed counts
	seen            float64 // decayed count of residual accesses offered to the sample
	last            time.Time
	sample          []item
	rng             *rand.Rand
	// users is how many distinct users the group had (all accesses, up
	// to 2: one-person groups are told apart).
	users    int
	userSeen uint32
	// observed counts the accesses ever observed.
	observed int
}

// miner keeps, per group, decayed counts and a sample of residual
// accesses. It is safe for concurrent use.
type miner struct {
	mu        sync.Mutex
	cfg       MiningConfig
	feats     map[string]uint16
	featNames []string
	users     map[string]uint32
	userNames []string
	groups    map[string]*mgroup
	first     time.Time // earliest and latest event time observed
	latest    time.Time
	observed  uint64 // since the last mining
	total     uint64
	// candidates are, per group, the features the last mining found more
	// often than chance in the group's unexplained accesses but not yet
	// often enough for a template: a pattern still being learnt.
	candidates map[string]map[string]bool
}

func newMiner(cfg MiningConfig) *miner {
	cfg.defaults()
	return &miner{cfg: cfg, feats: map[string]uint16{}, users: map[string]uint32{}, groups: map[string]*mgroup{}}
}

const maxFeatures = math.MaxUint16

func (m *miner) featID(f string) (uint16, bool) {
	if id, ok := m.feats[f]; ok {
		return id, true
	}
	if len(m.featNames) >= maxFeatures {
		return 0, false
	}
	id := uint16(len(m.featNames))
	m.feats[f] = id
	m.featNames = append(m.featNames, f)
	return id, true
}

// maxUsers bounds the user names kept (beyond it, users share ids: only
// distinct-user counts lose precision).
const maxUsers = 1 << 20

func (m *miner) userID(u string) uint32 {
	u = strings.ToLower(u)
	if id, ok := m.users[u]; ok {
		return id
	}
	if len(m.userNames) >= maxUsers {
		return uint32(hash32(u) % maxUsers)
	}
	id := uint32(len(m.userNames))
	m.users[u] = id
	m.userNames = append(m.userNames, u)
	return id
}

func hash32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

func (m *miner) group(key string) *mgroup {
	g := m.groups[key]
	if g == nil {
		h := fnv.New64a()
		h.Write([]byte(key))
		g = &mgroup{rng: rand.New(rand.NewPCG(h.Sum64(), 0x6d696e65))}
		m.groups[key] = g
	}
	return g
}

// observe learns from accesses.
func (m *miner) observe(obs []observation) {
	m.mu.Lock()
	defer m.mu.Unlock()
	half := time.Duration(m.cfg.HalfLife)
	for i := range obs {
		o := &obs[i]
		m.observed++
		m.total++
		if m.first.IsZero() || o.at.Before(m.first) {
			m.first = o.at
		}
		if o.at.After(m.latest) {
			m.latest = o.at
		}
		var it item
		built := false
		for _, gk := range o.groups {
			g := m.group(gk)
			if o.at.After(g.last) {
				if !g.last.IsZero() {
					f := math.Exp2(-float64(o.at.Sub(g.last)) / float64(half))
					g.total *= f
					g.residual *= f
					g.seen *= f
				}
				g.last = o.at
			}
			g.total++
			g.observed++
			if g.users < 2 {
				u := m.userID(o.user) + 1
				switch {
				case g.users == 0:
					g.users, g.userSeen = 1, u
				case g.userSeen != u:
					g.users = 2
				}
			}
			if !o.residual {
				continue
			}
			g.residual++
			if !built {
				it = item{user: m.userID(o.user), patient: hash32(o.patient), at: o.at.Unix(), lag: lagMinutes(o.lag)}
				for _, f := range o.feats {
					if id, ok := m.featID(f); ok {
						it.feats = append(it.feats, id)
					}
				}
				built = true
			}
			g.seen++
			if len(g.sample) < m.cfg.SampleSize {
				g.sample = append(g.sample, it)
				continue
			}
			if j := g.rng.Float64() * g.seen; j < float64(m.cfg.SampleSize) {
				g.sample[int(j)] = it
			}
		}
	}
}

// observedIn returns how many accesses of a group the miner observed.
func (m *miner) observedIn(group string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if g := m.groups[group]; g != nil {
		return g.observed
	}
	return 0
}

// pending returns the accesses observed since the last mining.
func (m *miner) pending() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.observed
}

// counts returns the accesses observed since the last mining and in all.
func (m *miner) counts() (pending, total uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.observed, m.total
}

// horizon is the event time the observations span.
func (m *miner) horizon() (time.Time, time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.first, m.latest
}

// selection is one template mining chose (or re-measured).
type selection struct {
	group, feature string
	stats          Stats
}

// mine chooses templates in every group. decided says, per group key and
// feature, what the privacy officer decided: StatusApproved templates are
// taken first, StatusRejected ones never.
func (m *miner) mine(base *baseRates, decided map[string]map[string]string) []selection {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.observed = 0
	keys := make([]string, 0, len(m.groups))
	for k := range m.groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []selection
	m.candidates = map[string]map[string]bool{}
	for _, gk := range keys {
		out = append(out, m.mineGroup(gk, m.groups[gk], base, decided[gk])...)
	}
	return out
}

// minCandidate is how many sampled accesses no template explains make a
// feature a candidate; candidateMaxBase the most patients it may fit: a
// unit, a service, a short window — not "in hospital", which would hold a
// snooper's every access to an inpatient.
const (
	minCandidate     = 3
	candidateMaxBase = 0.05
)

// promising reports whether one of feats is a candidate of one of the
// groups: an access to such a patient may be explained by a template the
// next minings choose.
func (m *miner) promising(groups, feats []string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, g := range groups {
		if c := m.candidates[g]; c != nil {
			for _, f := range feats {
				if c[f] {
					return true
				}
			}
		}
	}
	return false
}

func (m *miner) mineGroup(gk string, g *mgroup, base *baseRates, decided map[string]string) []selection {
	n := len(g.sample)
	if n == 0 {
		return nil
	}
	dept := ""
	switch kind, name, _ := strings.Cut(gk, ":"); kind {
	case "department":
		dept = name
	case "job":
		dept, _, _ = strings.Cut(name, "|")
	}
	// Items weigh by their age (the half-life), items per feature.
	half := time.Duration(m.cfg.HalfLife).Seconds()
	last := g.last.Unix()
	weight := make([]float64, n)
	total := 0.0
	byFeat := map[uint16][]int32{}
	for i := range g.sample {
		it := &g.sample[i]
		weight[i] = math.Exp2(-float64(max(0, last-it.at)) / half)
		total += weight[i]
		for _, f := range it.feats {
			byFeat[f] = append(byFeat[f], int32(i))
		}
	}
	// A group of one user (a one-person department) can have templates,
	// on three times the evidence.
	minUsers, minSupport, minLift := m.cfg.MinUsers, m.cfg.MinSupport, m.cfg.MinLift
	groupUsers := map[uint32]bool{}
	for i := range g.sample {
		groupUsers[g.sample[i].user] = true
	}
	if len(groupUsers) < minUsers && g.users <= 1 {
		minUsers, minSupport, minLift = 1, 3*minSupport, 2*minLift
	}
	covered := make([]bool, n)
	var out []selection
	chosen := map[uint16]bool{}
	measure := func(f uint16, gain float64) Stats {
		items := byFeat[f]
		users, patients := map[uint32]bool{}, map[uint32]bool{}
		w := 0.0
		for _, i := range items {
			users[g.sample[i].user] = true
			patients[g.sample[i].patient] = true
			w += weight[i]
		}
		conf := w / total
		b := base.of(m.featNames[f], dept)
		st := Stats{Support: conf * g.residual, Users: len(users), Patients: len(patients), Confidence: conf,
			Gain: gain / total, Base: b, Lift: conf / math.Max(b, 1e-6), GroupAccesses: g.residual, Sample: n}
		if stays := base.staysOf(m.featNames[f], dept); stays > 0 {
			st.PerStay = st.Support / stays
		}
		return st
	}
	take := func(f uint16, st Stats) {
		chosen[f] = true
		for _, i := range byFeat[f] {
			covered[i] = true
		}
		st.Rank = len(out) + 1
		out = append(out, selection{group: gk, feature: m.featNames[f], stats: st})
	}
	// The privacy officer's approvals come first.
	var approved []uint16
	for f := range byFeat {
		if decided[m.featNames[f]] == StatusApproved {
			approved = append(approved, f)
		}
	}
	sort.Slice(approved, func(i, j int) bool { return m.featNames[approved[i]] < m.featNames[approved[j]] })
	for _, f := range approved {
		gain := 0.0
		for _, i := range byFeat[f] {
			if !covered[i] {
				gain += weight[i]
			}
		}
		take(f, measure(f, gain))
	}
	for {
		var best uint16
		var bestScore, bestGain float64
		var bestStats Stats
		found := false
		for f, items := range byFeat {
			if chosen[f] || decided[m.featNames[f]] == StatusRejected {
				continue
			}
			gain := 0.0
			gainUsers := map[uint32]float64{}
			for _, i := range items {
				if !covered[i] && weight[i] > 1e-3 {
					gain += weight[i]
					gainUsers[g.sample[i].user] += weight[i]
				}
			}
			share := gain / total
			if gain == 0 || share < m.cfg.MinShare || share*g.residual < minSupport || len(gainUsers) < minUsers {
				continue
			}
			// Routine means several users: without its biggest user the
			// template still holds half the minimum support (a user and a
			// couple of stray accesses of another are not a routine).
			if minUsers > 1 {
				top := 0.0
				for _, w := range gainUsers {
					top = max(top, w)
				}
				if (gain-top)/total*g.residual < minSupport/2 {
					continue
				}
			}
			st := measure(f, gain)
			// (The routine's evidence is its accesses per stay: a coding
			// department of one coder has it as much as one of five.)
			if !st.specific(minLift, m.cfg.MaxBase) && !st.routine(m.cfg.MinLift, m.cfg.MinPerStay, m.cfg.RoutineMaxBase) {
				continue
			}
			// Coverage gained per unit of base rate: the most specific
			// explanation of the most accesses; on a tie, the one that
			// covers more (fewer templates), then the name.
			score := share / math.Max(st.Base, 1e-4)
			better := !found || score > bestScore*(1+1e-9) ||
				(score >= bestScore*(1-1e-9) && (gain > bestGain || gain == bestGain && m.featNames[f] < m.featNames[best]))
			if better {
				best, bestScore, bestGain, bestStats, found = f, score, gain, st, true
			}
		}
		if !found {
			break
		}
		take(best, bestStats)
	}
	if sel, ok := m.lagTemplate(gk, g, weight, total, covered, base, decided, minUsers, minSupport, minLift); ok {
		sel.stats.Rank = len(out) + 1
		out = append(out, sel)
	}
	// What is more frequent than chance (at the routine's lift and base
	// rate) but lacks the support, share or users of a template yet.
	for f, items := range byFeat {
		if chosen[f] || decided[m.featNames[f]] == StatusRejected {
			continue
		}
		uncovered := 0
		for _, i := range items {
			if !covered[i] {
				uncovered++
			}
		}
		if uncovered < minCandidate {
			continue
		}
		if st := measure(f, 0); st.Lift >= minLift/2 && st.Base <= candidateMaxBase {
			if m.candidates[gk] == nil {
				m.candidates[gk] = map[string]bool{}
			}
			m.candidates[gk][m.featNames[f]] = true
		}
	}
	return out
}

// lagTemplate learns the window of lags after a discharge in which the
// group's accesses that no template chosen so far explains fall: from the
// 5th to the 95th percentile of their lags (age-weighted), rounded to
// whole hours or days. The window is a template, like a feature, when it
// has the support, share and users of one, its accesses are to at least
// MinSupport distinct patients (support counted per stay, not per access:
// one account opened ten times is no routine), and the group's accesses
// fall in it far more often than chance (specific), or — the work of
// the revenue cycle, a common state — they mostly do (half of the
// group's residual accesses or more) at half the lift. A department whose
// accesses are spread over the month after discharges has a wide window
// nearly every patient is in: no lift, no template. It marks the items
// it covers.
func (m *miner) lagTemplate(gk string, g *mgroup, weight []float64, total float64, covered []bool, base *baseRates,
	decided map[string]string, minUsers int, minSupport, minLift float64) (selection, bool) {
	type lagged struct {
		lag int32
		w   float64
	}
	var ls []lagged
	sum := 0.0
	for i := range g.sample {
		it := &g.sample[i]
		if covered[i] || it.lag < 0 || weight[i] <= 1e-3 {
			continue
		}
		ls = append(ls, lagged{it.lag, weight[i]})
		sum += weight[i]
	}
	if total <= 0 || sum/total*g.residual < minSupport {
		return selection{}, false
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i].lag < ls[j].lag })
	quantile := func(q float64) time.Duration {
		acc := 0.0
		for _, l := range ls {
			acc += l.w
			if acc >= q*sum {
				return time.Duration(l.lag) * time.Minute
			}
		}
		return time.Duration(ls[len(ls)-1].lag) * time.Minute
	}
	lo, hi := lagWindow(quantile(0.05), quantile(0.95))
	name := lagFeature(lo, hi)
	if decided[name] == StatusRejected {
		return selection{}, false
	}
	loM, hiM := int32(lo/time.Minute), int32(hi/time.Minute)
	in := func(it *item) bool { return it.lag >= loM && it.lag <= hiM }
	var all, gain float64
	users, patients := map[uint32]bool{}, map[uint32]bool{}
	gainUsers := map[uint32]float64{}
	for i := range g.sample {
		it := &g.sample[i]
		if it.lag < 0 || !in(it) {
			continue
		}
		all += weight[i]
		users[it.user] = true
		if !covered[i] && weight[i] > 1e-3 {
			gain += weight[i]
			gainUsers[it.user] += weight[i]
			patients[it.patient] = true
		}
	}
	share := gain / total
	if share < m.cfg.MinShare || share*g.residual < minSupport || len(gainUsers) < minUsers || float64(len(patients)) < minSupport {
		return selection{}, false
	}
	if minUsers > 1 {
		top := 0.0
		for _, w := range gainUsers {
			top = max(top, w)
		}
		if (gain-top)/total*g.residual < minSupport/2 {
			return selection{}, false
		}
	}
	conf := all / total
	b := base.lagRate(lo, hi)
	st := Stats{Support: conf * g.residual, Users: len(users), Patients: len(patients), Confidence: conf, Gain: share,
		Base: b, Lift: conf / math.Max(b, 1e-6), GroupAccesses: g.residual, Sample: len(g.sample)}
	if stays := base.lagStays(lo, hi); stays > 0 {
		st.PerStay = st.Support / stays
	}
	if !st.specific(minLift, m.cfg.MaxBase) && !(st.Lift >= m.cfg.MinLift/2 && conf >= 0.5) {
		return selection{}, false
	}
	for i := range g.sample {
		if it := &g.sample[i]; it.lag >= 0 && in(it) {
			covered[i] = true
		}
	}
	return selection{group: gk, feature: name, stats: st}, true
}

// specific: the group's accesses are to patients in the state far more
// often than chance, and few patients are in it.
func (st *Stats) specific(minLift, maxBase float64) bool {
	return st.Lift >= minLift && st.Base <= maxBase
}

// routine: the group opens (nearly) every patient who is in the state, more
// often than chance, though many patients are in it.
func (st *Stats) routine(minLift, minPerStay, maxBase float64) bool {
	return st.PerStay >= minPerStay && st.Lift >= minLift/2 && st.Base <= maxBase
}

// minerState is the miner as saved to disk (version 1).
type minerState struct {
	Version  int                   `json:"version"`
	HalfLife Duration              `json:"half_life"`
	First    time.Time             `json:"first"`
	Latest   time.Time             `json:"latest"`
	Total    uint64                `json:"total"`
	Features []string              `json:"features"`
	Users    []string              `json:"users"`
	Groups   map[string]groupState `json:"groups"`
	Sets     [][]uint16            `json:"sets"` // distinct feature sets, referenced by items
}

type groupState struct {
	Observed int         `json:"observed"`
	Total    float64     `json:"total"`
	Residual float64     `json:"residual"`
	Seen     float64     `json:"seen"`
	Last     time.Time   `json:"last"`
	Items    [][3]uint32 `json:"items"` // set index, user, patient hash
	Times    []int64     `json:"times"` // event time of each item (Unix seconds)
	// Lags: minutes since the patient's latest discharge of each item
	// (-1: none); absent in a state written before they were kept.
	Lags []int32 `json:"lags,omitempty"`
}

func (m *miner) state() minerState {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := minerState{Version: 1, HalfLife: m.cfg.HalfLife, First: m.first, Latest: m.latest, Total: m.total,
		Features: append([]string(nil), m.featNames...), Users: append([]string(nil), m.userNames...), Groups: map[string]groupState{}}
	sets := map[string]uint32{}
	for k, g := range m.groups {
		gs := groupState{Observed: g.observed, Total: g.total, Residual: g.residual, Seen: g.seen, Last: g.last}
		for _, it := range g.sample {
			key := fmt.Sprint(it.feats)
			idx, ok := sets[key]
			if !ok {
				idx = uint32(len(st.Sets))
				sets[key] = idx
				st.Sets = append(st.Sets, it.feats)
			}
			gs.Items = append(gs.Items, [3]uint32{idx, it.user, it.patient})
			gs.Times = append(gs.Times, it.at)
			gs.Lags = append(gs.Lags, it.lag)
		}
		st.Groups[k] = gs
	}
	return st
}

// restore replaces the miner's memory with a saved state. A state of
// another version is refused.
func (m *miner) restore(st minerState) error {
	if st.Version != 1 {
		return fmt.Errorf("miner state version %d: want 1", st.Version)
	}
	if len(st.Features) > maxFeatures {
		return fmt.Errorf("miner state: %d features", len(st.Features))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.first, m.latest, m.total = st.First, st.Latest, st.Total
	m.featNames, m.feats = nil, map[string]uint16{}
	for _, f := range st.Features {
		m.featID(f)
	}
	m.userNames, m.users = nil, map[string]uint32{}
	for _, u := range st.Users {
		m.userID(u)
	}
	m.groups = map[string]*mgroup{}
	for k, gs := range st.Groups {
		g := m.group(k)
		g.total, g.residual, g.seen, g.last, g.observed = gs.Total, gs.Residual, gs.Seen, gs.Last, gs.Observed
		if len(gs.Times) != len(gs.Items) {
			return fmt.Errorf("miner state: group %s has %d items and %d times", k, len(gs.Items), len(gs.Times))
		}
		for j, it := range gs.Items {
			if int(it[0]) >= len(st.Sets) || int(it[1]) >= len(m.userNames) {
				return fmt.Errorf("miner state: group %s refers to an unknown feature set or user", k)
			}
			feats := st.Sets[it[0]]
			for _, f := range feats {
				if int(f) >= len(m.featNames) {
					return fmt.Errorf("miner state: unknown feature %d", f)
				}
			}
			lag := int32(-1)
			if len(gs.Lags) == len(gs.Items) {
				lag = gs.Lags[j]
			}
			if len(g.sample) < m.cfg.SampleSize {
				g.sample = append(g.sample, item{feats: feats, user: it[1], patient: it[2], at: gs.Times[j], lag: lag})
			}
		}
	}
	return nil
}
