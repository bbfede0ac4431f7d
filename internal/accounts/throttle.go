package accounts

import (
	"strings"
	"sync"
	"time"
)

// ThrottleConfig tunes sign-in throttling. After Free failures for a user
// name (or a client address) each further attempt must wait twice as long
// as the previous one (1 s, 2 s, 4 s … up to MaxDelay); after Lockout
// consecutive failures the name (address) is locked for LockoutFor. A
// success clears the user name's count, not the address's. Failures are
// forgotten after Forget without any.
type ThrottleConfig struct {
	UserFree, UserLockout int
	AddrFree, AddrLockout int
	LockoutFor, MaxDelay  time.Duration
	Forget                time.Duration
	// MaxEntries bounds the memory kept (default 100,000 names and
	// addresses).
	MaxEntries int
}

func (c *ThrottleConfig) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.UserFree, 3)
	def(&c.UserLockout, 10)
	def(&c.AddrFree, 10)
	def(&c.AddrLockout, 50)
	def(&c.MaxEntries, 100_000)
	if c.LockoutFor <= 0 {
		c.LockoutFor = 15 * time.Minute
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = 5 * time.Minute
	}
	if c.Forget <= 0 {
		c.Forget = time.Hour
	}
}

type throttleEntry struct {
	failures int
	last     time.Time
	until    time.Time
	locked   bool
}

type throttle struct {
	cfg ThrottleConfig
	mu  sync.Mutex
	m   map[string]*throttleEntry
}

func newThrottle(cfg ThrottleConfig) *throttle {
	cfg.defaults()
	return &throttle{cfg: cfg, m: map[string]*throttleEntry{}}
}

func userKey(name string) string { return "u:" + strings.ToLower(name) }
func addrKey(addr string) string { return "a:" + addr }

// wait returns how long the user name and the address must still wait
// before another attempt (0: go ahead), and whether a lockout is why.
func (t *throttle) wait(name, addr string, now time.Time) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var d time.Duration
	locked := false
	for _, k := range []string{userKey(name), addrKey(addr)} {
		e := t.m[k]
		if e == nil || now.Sub(e.last) > t.cfg.Forget && !now.Before(e.until) {
			continue
		}
		if w := e.until.Sub(now); w > d {
			d, locked = w, e.locked
		}
	}
	return d, locked
}

// fail counts a failed attempt.
func (t *throttle) fail(name, addr string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bump(userKey(name), now, t.cfg.UserFree, t.cfg.UserLockout)
	t.bump(addrKey(addr), now, t.cfg.AddrFree, t.cfg.AddrLockout)
}

func (t *throttle) bump(k string, now time.Time, free, lockout int) {
	e := t.m[k]
	if e == nil {
		if len(t.m) >= t.cfg.MaxEntries {
			t.evict(now)
		}
		e = &throttleEntry{}
		t.m[k] = e
	} else if now.Sub(e.last) > t.cfg.Forget && !now.Before(e.until) {
		*e = throttleEntry{}
	}
	e.failures++
	e.last = now
	switch {
	case e.failures >= lockout:
		e.until, e.locked = now.Add(t.cfg.LockoutFor), true
	case e.failures > free:
		d := time.Second << min(e.failures-free-1, 30)
		e.until = now.Add(min(d, t.cfg.MaxDelay))
	}
}

// succeed clears the user name's failures.
func (t *throttle) succeed(name string) {
	t.mu.Lock()
	delete(t.m, userKey(name))
	t.mu.Unlock()
}

// unlock clears a user name's lockout (an administrator's decision).
func (t *throttle) unlock(name string) { t.succeed(name) }

// evict drops forgotten entries, and if that frees too little, a tenth
// of the entries that are not locked out.
func (t *throttle) evict(now time.Time) {
	for k, e := range t.m {
		if now.Sub(e.last) > t.cfg.Forget && !now.Before(e.until) {
			delete(t.m, k)
		}
	}
	if len(t.m) < t.cfg.MaxEntries {
		return
	}
	n := len(t.m) / 10
	for k, e := range t.m {
		if n <= 0 {
			break
		}
		if !e.locked {
			delete(t.m, k)
			n--
		}
	}
}
