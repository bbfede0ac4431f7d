package notify

import (
	"fmt"
	"strings"
	"time"
)

// Schedule is when a channel takes alerts: entries separated by ";", each
// days and/or a time range in the channel's time zone, e.g.
// "mon-fri 08:00-18:00", "18:00-08:00" (every night), "sat,sun" (all
// day), "mon-fri 18:00-08:00; sat-sun". A range that ends before it
// starts runs overnight into the next day. A nil Schedule is always
// active.
type Schedule struct {
	entries []schedEntry
	loc     *time.Location
	text    string
}

type schedEntry struct {
	days       [7]bool
	start, end int // minutes of the day; start == end: all day
}

var dayNames = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// ParseSchedule reads a schedule ("" is always active).
func ParseSchedule(s string, loc *time.Location) (*Schedule, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" || s == "always" {
		return nil, nil
	}
	if loc == nil {
		loc = time.Local
	}
	sch := &Schedule{loc: loc, text: s}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		e := schedEntry{}
		fields := strings.Fields(part)
		var days, hours string
		switch len(fields) {
		case 1:
			if strings.Contains(fields[0], ":") {
				hours = fields[0]
			} else {
				days = fields[0]
			}
		case 2:
			days, hours = fields[0], fields[1]
		default:
			return nil, fmt.Errorf("%q: want [DAYS] [HH:MM-HH:MM], e.g. mon-fri 08:00-18:00", part)
		}
		if days == "" || days == "daily" {
			for i := range e.days {
				e.days[i] = true
			}
		} else if err := parseDays(days, &e.days); err != nil {
			return nil, fmt.Errorf("%q: %w", part, err)
		}
		if hours != "" {
			a, b, ok := strings.Cut(hours, "-")
			var err1, err2 error
			e.start, err1 = parseClock(a)
			e.end, err2 = parseClock(b)
			if !ok || err1 != nil || err2 != nil {
				return nil, fmt.Errorf("%q: want a time range HH:MM-HH:MM", part)
			}
		}
		sch.entries = append(sch.entries, e)
	}
	if len(sch.entries) == 0 {
		return nil, nil
	}
	return sch, nil
}

func parseDays(s string, days *[7]bool) error {
	for _, item := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(item, "-")
		da, ok1 := dayNames[a]
		db, ok2 := dayNames[b]
		if !ok1 || (isRange && !ok2) {
			return fmt.Errorf("unknown day in %q: want mon, tue, wed, thu, fri, sat, sun, ranges like mon-fri, or daily", item)
		}
		if !isRange {
			days[da] = true
			continue
		}
		for d := da; ; d = (d + 1) % 7 {
			days[d] = true
			if d == db {
				break
			}
		}
	}
	return nil
}

func parseClock(s string) (int, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		if strings.TrimSpace(s) == "24:00" {
			return 24 * 60, nil
		}
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}

// Active reports whether the schedule takes an alert at t.
func (s *Schedule) Active(t time.Time) bool {
	if s == nil {
		return true
	}
	lt := t.In(s.loc)
	m := lt.Hour()*60 + lt.Minute()
	day := lt.Weekday()
	prev := (day + 6) % 7
	for _, e := range s.entries {
		switch {
		case e.start == e.end:
			if e.days[day] {
				return true
			}
		case e.start < e.end:
			if e.days[day] && m >= e.start && m < e.end {
				return true
			}
		default: // overnight: from start on a listed day to end the next
			if (e.days[day] && m >= e.start) || (e.days[prev] && m < e.end) {
				return true
			}
		}
	}
	return false
}

// String is the schedule as written.
func (s *Schedule) String() string {
	if s == nil {
		return "always"
	}
	return s.text
}
