package enrich

import (
	"container/list"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"sync"
	"time"
)

// BaselineConfig tunes the per-user baseline of access hours.
//
// Each user has 24 hour-of-day counters (in the enricher's time zone),
// decayed exponentially with HalfLife so that a change of shift is
// learnt in a few weeks. An access at hour h is outside the user's usual
// hours when the counters of the hours within Window of h (h-3 … h+3 by
// default) together hold less than Threshold of the user's total — judged
// before the access itself is counted, so an unusual access never makes
// itself usual. Nothing is judged until the user is warmed up: at least
// MinEvents accesses counted and at least MinSpan between the first access
// seen and the current one (a whole day by default, so that every hour of
// the day has been watched once: a user first seen in the middle of a
// shift is not judged on the hours before it).
type BaselineConfig struct {
	MinEvents float64       // default 30
	MinSpan   time.Duration // default 24h
	Window    int           // hours either side, default 3
	Threshold float64       // default 0.01
	HalfLife  time.Duration // default 30 days
	MaxUsers  int           // default 50,000 (least recently active evicted)
}

// DefaultBaselineConfig returns the values zero fields take.
func DefaultBaselineConfig() BaselineConfig {
	var c BaselineConfig
	c.defaults()
	return c
}

func (c *BaselineConfig) defaults() {
	if c.MinEvents <= 0 {
		c.MinEvents = 30
	}
	if c.MinSpan <= 0 {
		c.MinSpan = 24 * time.Hour
	}
	if c.Window <= 0 {
		c.Window = 3
	}
	c.Window = min(c.Window, 11)
	if c.Threshold <= 0 {
		c.Threshold = 0.01
	}
	if c.HalfLife <= 0 {
		c.HalfLife = 30 * 24 * time.Hour
	}
	if c.MaxUsers <= 0 {
		c.MaxUsers = 50_000
	}
}

// baseline holds the profiles. Memory: about 300 bytes per user.
type baseline struct {
	mu      sync.Mutex
	cfg     BaselineConfig
	loc     *time.Location
	users   map[string]*list.Element
	lru     list.List // front: most recently updated
	dirty   bool
	evicted uint64
}

type profile struct {
	User  string      `json:"u"`
	Hours [24]float64 `json:"h"`
	Total float64     `json:"t"`
	First int64       `json:"f"` // unix seconds, event time of the first access seen
	Last  int64       `json:"l"` // unix seconds, newest event time counted
}

func newBaseline(cfg BaselineConfig, loc *time.Location) *baseline {
	cfg.defaults()
	return &baseline{cfg: cfg, loc: loc, users: map[string]*list.Element{}}
}

// Verdicts of observe.
const (
	hoursLearning = iota // not warmed up: no judgement
	hoursUsual
	hoursOutside
)

// observe judges an access by user at t, then counts it.
func (b *baseline) observe(user string, t time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	var p *profile
	if el, ok := b.users[user]; ok {
		p = el.Value.(*profile)
		b.lru.MoveToFront(el)
	} else {
		for len(b.users) >= b.cfg.MaxUsers {
			old := b.lru.Back()
			b.lru.Remove(old)
			delete(b.users, old.Value.(*profile).User)
			b.evicted++
		}
		p = &profile{User: user, First: t.Unix(), Last: t.Unix()}
		b.users[user] = b.lru.PushFront(p)
	}
	sec := t.Unix()
	if sec > p.Last {
		f := math.Exp2(-float64(sec-p.Last) / b.cfg.HalfLife.Seconds())
		for i := range p.Hours {
			p.Hours[i] *= f
		}
		p.Total *= f
		p.Last = sec
	}
	if sec < p.First {
		p.First = sec
	}
	h := t.In(b.loc).Hour()
	verdict := hoursLearning
	if p.Total >= b.cfg.MinEvents && sec-p.First >= int64(b.cfg.MinSpan/time.Second) {
		near := 0.0
		for d := -b.cfg.Window; d <= b.cfg.Window; d++ {
			near += p.Hours[(h+d+24)%24]
		}
		share := near / p.Total
		verdict = hoursUsual
		if share < b.cfg.Threshold {
			verdict = hoursOutside
		}
	}
	p.Hours[h]++
	p.Total++
	b.dirty = true
	return verdict
}

func (b *baseline) size() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.users)
}

// snapshot is the persisted form.
type snapshot struct {
	Version  int       `json:"version"`
	Location string    `json:"location"`
	Users    []profile `json:"users"`
}

// write writes the profiles as JSON, most recently active last (so that
// reading them back in order restores the LRU order), and clears the
// changed flag.
func (b *baseline) write(w io.Writer) error {
	b.mu.Lock()
	s := snapshot{Version: 1, Location: b.loc.String(), Users: make([]profile, 0, len(b.users))}
	for el := b.lru.Back(); el != nil; el = el.Prev() {
		s.Users = append(s.Users, *el.Value.(*profile))
	}
	b.dirty = false
	b.mu.Unlock()
	return json.NewEncoder(w).Encode(&s)
}

// read replaces the profiles with those of a snapshot. Profiles with
// unusable values are skipped and counted.
func (b *baseline) read(r io.Reader) (skipped int, err error) {
	var s snapshot
	dec := json.NewDecoder(io.LimitReader(r, 1<<30))
	if err := dec.Decode(&s); err != nil {
		return 0, fmt.Errorf("baseline state: %w", err)
	}
	if s.Version != 1 {
		return 0, fmt.Errorf("baseline state: version %d not supported (want 1)", s.Version)
	}
	if s.Location != "" && s.Location != b.loc.String() {
		return 0, errors.New("baseline state: learnt in time zone " + s.Location + ", configured " + b.loc.String() + ": starting afresh")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.users = map[string]*list.Element{}
	b.lru.Init()
	// Keep the most recent MaxUsers.
	if over := len(s.Users) - b.cfg.MaxUsers; over > 0 {
		s.Users = s.Users[over:]
	}
	for i := range s.Users {
		p := s.Users[i]
		if !p.valid() {
			skipped++
			continue
		}
		if el, ok := b.users[p.User]; ok {
			b.lru.Remove(el)
		}
		b.users[p.User] = b.lru.PushFront(&p)
	}
	return skipped, nil
}

func (p *profile) valid() bool {
	if p.User == "" || p.First > p.Last || p.Total < 0 || math.IsNaN(p.Total) || math.IsInf(p.Total, 0) {
		return false
	}
	sum := 0.0
	for _, h := range p.Hours {
		if h < 0 || math.IsNaN(h) || math.IsInf(h, 0) {
			return false
		}
		sum += h
	}
	return math.Abs(sum-p.Total) <= 1e-6*math.Max(1, p.Total)
}

// userNames returns the profiled user names, sorted (for tests).
func (b *baseline) userNames() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]string, 0, len(b.users))
	for u := range b.users {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}
