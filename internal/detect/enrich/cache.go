package enrich

import (
	"container/list"
	"sync"
	"time"
)

// lru is a bounded least-recently-used cache whose entries expire. It is
// safe for concurrent use; lookups that miss are done by the caller
// outside the lock (two callers missing the same key may both look it up,
// which is harmless).
type lru[V any] struct {
	mu  sync.Mutex
	max int
	m   map[string]*list.Element
	l   list.List // front: most recently used
}

type lruEntry[V any] struct {
	key     string
	val     V
	expires time.Time
	stored  time.Time
}

func newLRU[V any](max int) *lru[V] {
	if max < 1 {
		max = 1
	}
	return &lru[V]{max: max, m: make(map[string]*list.Element, min(max, 4096))}
}

// get returns the value for key unless absent or expired at now, and
// when it was stored.
func (c *lru[V]) get(key string, now time.Time) (v V, stored time.Time, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[key]
	if !ok {
		return v, stored, false
	}
	e := el.Value.(*lruEntry[V])
	if !now.Before(e.expires) {
		c.l.Remove(el)
		delete(c.m, key)
		return v, stored, false
	}
	c.l.MoveToFront(el)
	return e.val, e.stored, true
}

// put stores the value for key until now+ttl, evicting the least recently
// used entry when full.
func (c *lru[V]) put(key string, v V, now time.Time, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[key]; ok {
		e := el.Value.(*lruEntry[V])
		e.val, e.expires, e.stored = v, now.Add(ttl), now
		c.l.MoveToFront(el)
		return
	}
	for len(c.m) >= c.max {
		old := c.l.Back()
		c.l.Remove(old)
		delete(c.m, old.Value.(*lruEntry[V]).key)
	}
	c.m[key] = c.l.PushFront(&lruEntry[V]{key: key, val: v, expires: now.Add(ttl), stored: now})
}

// remove drops the entry for key.
func (c *lru[V]) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[key]; ok {
		c.l.Remove(el)
		delete(c.m, key)
	}
}

// clear drops every entry.
func (c *lru[V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
	c.l.Init()
}

func (c *lru[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
