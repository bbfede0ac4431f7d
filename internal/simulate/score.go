package simulate

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// AlertRef is what scoring needs of an alert.
type AlertRef struct {
	RuleID, Title string
	Time          time.Time
	Fields        map[string]string // key fields of the matching event
	GroupBy       map[string]string // correlation group-by values
}

func (a *AlertRef) value(name string) string {
	if v := a.GroupBy[name]; v != "" {
		return v
	}
	return a.Fields[name]
}

// Score compares alerts with the ground truth.
type Score struct {
	Incidents int
	// Detected lists, per incident type, the expected rules that fired;
	// Missed the expected rules that did not ("type: rule id").
	Detected []string
	Missed   []string
	// Related counts alerts explained by an incident (expected or "also"
	// rules); FalsePositives are alerts no incident explains.
	Related        int
	FalsePositives []AlertRef
}

// Slack is how far outside an incident's window its alerts may fall
// (a correlation may fire again on the incident's last events).
const Slack = 30 * time.Minute

// ReadTruth reads a ground-truth file.
func ReadTruth(r io.Reader) ([]TruthRecord, error) {
	var out []TruthRecord
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var t TruthRecord
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil {
			return nil, fmt.Errorf("ground truth line %d: %w", line, err)
		}
		out = append(out, t)
	}
	return out, sc.Err()
}

// explains reports whether an incident accounts for an alert of one of
// rules: the rule, the time window, and the user, source address or
// patient when both sides name one.
func (t *TruthRecord) explains(a *AlertRef, rules []string) bool {
	found := false
	for _, r := range rules {
		if r == a.RuleID {
			found = true
		}
	}
	if !found || a.Time.Before(t.Start.Add(-Slack)) || a.Time.After(t.End.Add(Slack)) {
		return false
	}
	if u := a.value("user.name"); t.User != "" && u != "" && !strings.EqualFold(u, t.User) {
		return false
	}
	if ip := a.value("source.ip"); t.SourceIP != "" && ip != "" && ip != t.SourceIP {
		return false
	}
	return true
}

// Compare scores alerts against the ground truth.
func Compare(truth []TruthRecord, alerts []AlertRef) Score {
	s := Score{Incidents: len(truth)}
	for i := range truth {
		t := &truth[i]
		for _, r := range t.Rules {
			hit := false
			for j := range alerts {
				if t.explains(&alerts[j], []string{r}) {
					hit = true
					break
				}
			}
			if hit {
				s.Detected = append(s.Detected, t.Incident+": "+r)
			} else {
				s.Missed = append(s.Missed, t.Incident+": "+r)
			}
		}
	}
	for j := range alerts {
		a := &alerts[j]
		explained := false
		for i := range truth {
			if truth[i].explains(a, append(append([]string{}, truth[i].Rules...), truth[i].Also...)) {
				explained = true
				break
			}
		}
		if explained {
			s.Related++
		} else {
			s.FalsePositives = append(s.FalsePositives, *a)
		}
	}
	return s
}

// Summary is a few lines for a person (no PHI: rule titles and counts).
func (s *Score) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d incidents, %d expected detections made, %d missed, %d alerts explained by incidents, %d false positives\n",
		s.Incidents, len(s.Detected), len(s.Missed), s.Related, len(s.FalsePositives))
	for _, m := range s.Missed {
		fmt.Fprintf(&b, "  missed %s\n", m)
	}
	byRule := map[string]int{}
	for _, a := range s.FalsePositives {
		byRule[a.Title+" ("+a.RuleID+")"]++
	}
	var keys []string
	for k := range byRule {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  false positive: %d × %s\n", byRule[k], k)
	}
	return b.String()
}
