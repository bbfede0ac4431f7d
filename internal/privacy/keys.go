package privacy

import (
	"strings"
	"sync"
)

// groupNames are the group keys of the users of one department in one
// role, built once: every access needs them (to learn, to match templates,
// to tell whether a department is still learning) and building them
// lower-cases and concatenates strings, several allocations per access.
// The slices are shared: read them, never append to them.
type groupNames struct {
	dept, job string
	// match are the keys templates are matched on: department, job, role.
	match []string
	// learn are the keys of Mining.GroupBy, in its order.
	learn []string
}

// groupCache holds the groupNames of the departments and roles seen.
type groupCache struct {
	by []string // Mining.GroupBy
	mu sync.Mutex
	m  map[[2]string]*groupNames
}

// maxGroupNames bounds the cache (departments × roles of a hospital are
// a few hundred; a flood of made-up names only empties it).
const maxGroupNames = 4096

func (c *groupCache) get(dept, role string) *groupNames {
	k := [2]string{dept, role}
	c.mu.Lock()
	g := c.m[k]
	c.mu.Unlock()
	if g != nil {
		return g
	}
	g = &groupNames{}
	var dk, rk string
	if dept != "" {
		dk = GroupKey("department", dept)
		g.dept = dk
		g.match = append(g.match, dk)
	}
	if dept != "" && role != "" {
		g.job = JobKey(dept, role)
		g.match = append(g.match, g.job)
	}
	if role != "" {
		rk = GroupKey("role", role)
		g.match = append(g.match, rk)
	}
	for _, kind := range c.by {
		switch {
		case kind == "department" && dk != "":
			g.learn = append(g.learn, dk)
		case kind == "role" && rk != "":
			g.learn = append(g.learn, rk)
		case kind == "job" && g.job != "":
			g.learn = append(g.learn, g.job)
		}
	}
	g.match, g.learn = clip(g.match), clip(g.learn)
	// The key's strings may point into a decoded batch: keep copies.
	k = [2]string{strings.Clone(dept), strings.Clone(role)}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxGroupNames {
		c.m = map[[2]string]*groupNames{}
	}
	c.m[k] = g
	c.mu.Unlock()
	return g
}

func clip(s []string) []string { return s[:len(s):len(s)] }
