// Package fdlimit sizes Vigil's connection limits to the process's file
// descriptor budget: it raises the soft RLIMIT_NOFILE to the hard limit at
// start, keeps a reserve for the store, the bus and the database (which
// must never run out: the store exits when it cannot open a file), and
// shares the rest among the listeners' connection limits.
package fdlimit

import "fmt"

// Limits is the descriptor budget.
type Limits struct {
	Soft, Hard uint64 // RLIMIT_NOFILE after Raise
	// Reserve is kept for everything but connections: the store's parts,
	// the bus's blocks, SQLite, TLS files, the Go runtime.
	Reserve uint64
}

// Connections is how many descriptors the listeners may use together.
func (l Limits) Connections() int {
	if l.Soft <= l.Reserve {
		return 0
	}
	return int(l.Soft - l.Reserve)
}

// reserveFor is the reserve for a soft limit: a quarter of it, at least
// 512 and at most 8192, and never more than half.
func reserveFor(soft uint64) uint64 {
	r := min(max(soft/4, 512), 8192)
	return min(r, soft/2)
}

// Current returns the process's limits (without raising them).
func Current() (Limits, error) {
	soft, hard, err := get()
	if err != nil {
		return Limits{}, fmt.Errorf("read RLIMIT_NOFILE: %w", err)
	}
	return Limits{Soft: soft, Hard: hard, Reserve: reserveFor(soft)}, nil
}

// Raise sets the soft RLIMIT_NOFILE to the hard limit and returns the
// limits in force afterwards.
func Raise() (Limits, error) {
	soft, hard, err := get()
	if err != nil {
		return Limits{}, fmt.Errorf("read RLIMIT_NOFILE: %w", err)
	}
	if soft < hard {
		if err := set(hard, hard); err == nil {
			soft = hard
		} else if soft, hard, err = get(); err != nil {
			return Limits{}, fmt.Errorf("read RLIMIT_NOFILE: %w", err)
		}
	}
	return Limits{Soft: soft, Hard: hard, Reserve: reserveFor(soft)}, nil
}

// Share is one listener's connection limit.
type Share struct {
	Name string
	Max  *int // the configured maximum, lowered in place when needed
}

// Fit lowers the listeners' maxima proportionally so that together they
// stay within the budget (keeping at least 16 each), and reports the
// ones it lowered as "name: configured → fitted".
func (l Limits) Fit(shares ...Share) []string {
	budget := l.Connections()
	total := 0
	for _, s := range shares {
		total += *s.Max
	}
	if total <= budget || total == 0 {
		return nil
	}
	var changed []string
	for _, s := range shares {
		fitted := max(16, *s.Max*budget/total)
		if fitted < *s.Max {
			changed = append(changed, fmt.Sprintf("%s: %d → %d", s.Name, *s.Max, fitted))
			*s.Max = fitted
		}
	}
	return changed
}

// Headroom is how many more descriptors the process may open (soft limit
// minus those open), or -1 when it cannot tell.
func Headroom() int {
	soft, _, err := get()
	if err != nil {
		return -1
	}
	n, err := openCount()
	if err != nil {
		return -1
	}
	return int(soft) - n
}
