package alerts

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// SLA holds the targets, per level, for acknowledging an alert (taking
// it into progress or assigning it) and for closing it, counted from when
// it was raised. A level without a target has none.
type SLA struct {
	Acknowledge map[string]time.Duration
	Close       map[string]time.Duration
}

// DefaultSLA is what a small hospital SOC commits to: critical alerts
// looked at within 15 minutes and closed within 4 hours, down to low ones
// within a day and a week.
func DefaultSLA() SLA {
	return SLA{
		Acknowledge: map[string]time.Duration{"critical": 15 * time.Minute, "high": time.Hour, "medium": 4 * time.Hour, "low": 24 * time.Hour},
		Close:       map[string]time.Duration{"critical": 4 * time.Hour, "high": 24 * time.Hour, "medium": 72 * time.Hour, "low": 7 * 24 * time.Hour},
	}
}

// ParseSLATargets reads "critical=15m,high=1h" (durations as
// time.ParseDuration, plus d for days).
func ParseSLATargets(items []string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for _, it := range items {
		l, d, ok := strings.Cut(strings.TrimSpace(it), "=")
		if !ok || LevelRank(strings.TrimSpace(l)) < 0 {
			return nil, fmt.Errorf("invalid SLA target %q: want LEVEL=DURATION with a level of %s", it, strings.Join(Levels, ", "))
		}
		d = strings.TrimSpace(d)
		var dur time.Duration
		var err error
		if n, ok := strings.CutSuffix(d, "d"); ok {
			var days int
			if _, err = fmt.Sscanf(n, "%d", &days); err == nil {
				dur = time.Duration(days) * 24 * time.Hour
			}
		} else {
			dur, err = time.ParseDuration(d)
		}
		if err != nil || dur <= 0 {
			return nil, fmt.Errorf("invalid SLA target %q: want a positive duration such as 15m, 4h or 7d", it)
		}
		out[strings.TrimSpace(l)] = dur
	}
	return out, nil
}

// FormatSLATargets writes targets back as "critical=15m0s,…", most severe
// first.
func FormatSLATargets(m map[string]time.Duration) []string {
	var out []string
	for l, d := range m {
		out = append(out, l+"="+d.String())
	}
	sort.Slice(out, func(i, j int) bool {
		li, _, _ := strings.Cut(out[i], "=")
		lj, _, _ := strings.Cut(out[j], "=")
		return LevelRank(li) > LevelRank(lj)
	})
	return out
}

// SLAState is where an alert stands against its targets.
type SLAState struct {
	AcknowledgeBy *time.Time `json:"acknowledge_by,omitempty"`
	CloseBy       *time.Time `json:"close_by,omitempty"`
	// AcknowledgedIn and ClosedIn are the measured times, in seconds.
	AcknowledgedIn *float64 `json:"acknowledged_in_seconds,omitempty"`
	ClosedIn       *float64 `json:"closed_in_seconds,omitempty"`
	// Breached: the target passed before the alert was acknowledged or
	// closed (or it still is not, and the target has passed).
	AcknowledgeBreached bool `json:"acknowledge_breached"`
	CloseBreached       bool `json:"close_breached"`
}

// State measures an alert against the targets at time now.
func (s SLA) State(a Alert, now time.Time) *SLAState {
	st := &SLAState{}
	if a.AcknowledgedAt != nil {
		v := a.AcknowledgedAt.Sub(a.Created).Seconds()
		st.AcknowledgedIn = &v
	}
	if a.ClosedAt != nil {
		v := a.ClosedAt.Sub(a.Created).Seconds()
		st.ClosedIn = &v
	}
	if d, ok := s.Acknowledge[a.Level]; ok {
		by := a.Created.Add(d)
		st.AcknowledgeBy = &by
		done := now
		if a.AcknowledgedAt != nil {
			done = *a.AcknowledgedAt
		}
		st.AcknowledgeBreached = done.After(by)
	}
	if d, ok := s.Close[a.Level]; ok {
		by := a.Created.Add(d)
		st.CloseBy = &by
		done := now
		if a.ClosedAt != nil {
			done = *a.ClosedAt
		}
		st.CloseBreached = done.After(by)
	}
	return st
}
