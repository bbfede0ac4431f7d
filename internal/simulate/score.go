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
	Kind          string // privacy, sigma, correlation …
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

// Entity is something both an incident and an alert can name: who acted,
// on whose record, from where.
type Entity uint8

// Entities the scorer matches on.
const (
	EntityUser     Entity = iota + 1 // TruthRecord.User; the alert's user.name (case-insensitive)
	EntityPatient                    // TruthRecord.Patient; the alert's healthcare.patient.id
	EntitySourceIP                   // TruthRecord.SourceIP; the alert's source.ip
)

// entityFields maps each entity to the alert field that names it, how the
// ground truth names it, and how the two compare.
var entityFields = map[Entity]struct {
	name  string
	field string
	truth func(*TruthRecord) string
	same  func(alert, truth string) bool
}{
	EntityUser:     {"user", "user.name", func(t *TruthRecord) string { return t.User }, strings.EqualFold},
	EntityPatient:  {"patient", "healthcare.patient.id", func(t *TruthRecord) string { return t.Patient }, sameString},
	EntitySourceIP: {"source IP", "source.ip", func(t *TruthRecord) string { return t.SourceIP }, sameString},
}

func sameString(a, b string) bool { return a == b }

func (e Entity) String() string { return entityFields[e].name }

// MatchRules say, per incident type, which entities an alert must name
// the same as the incident for the incident to explain it. Each entry is
// a list of alternatives; an alternative is a set of entities that must
// all match. The alert must name each entity of the alternative (an alert
// that names none explains nothing), and the incident must name it too.
//
// Privacy incidents, whose point is who opened whose record, need the
// user and the patient; the others need the actor the incident is about:
// the user, or the address the attack came from. A new incident type adds
// its row here; an incident type without one matches on every entity its
// record names (see matchRule), and TestMatchRulesCoverIncidents fails
// until the row is written.
var MatchRules = map[string][][]Entity{
	IncSnoopFamily:        {{EntityUser, EntityPatient}},
	IncSnoopCoworker:      {{EntityUser, EntityPatient}},
	IncSnoopVIP:           {{EntityUser, EntityPatient}},
	IncSelfAccess:         {{EntityUser, EntityPatient}},
	IncDeceasedAccess:     {{EntityUser, EntityPatient}},
	IncNeighbourAccess:    {{EntityUser, EntityPatient}},
	IncBreakGlassMisuse:   {{EntityUser, EntityPatient}},
	IncOutsideHours:       {{EntityUser, EntityPatient}},
	IncDICOMExportUnknown: {{EntityUser, EntityPatient}},
	IncDICOMExportMedia:   {{EntityUser, EntityPatient}},
	// Many patients' records: the user is the entity.
	IncBulkAccess:       {{EntityUser}},
	IncAfterTermination: {{EntityUser}},
	IncAuditLogUsed:     {{EntityUser}},
	// Several patients' records, one escalation: the user.
	IncRepeatOffender: {{EntityUser}},
	// A burst of failed logins for one account from one workstation: an
	// alert grouped by either names the incident.
	IncClinicalLoginBurst: {{EntityUser}, {EntitySourceIP}},
	IncPasswordSpray:      {{EntitySourceIP}},
	IncSSHBruteForce:      {{EntitySourceIP}},
	IncSecurityAlert:      {{EntitySourceIP}},
}

// matchRule returns the alternatives for t's incident type: its row of
// MatchRules, or else one alternative of every entity the record names.
func (t *TruthRecord) matchRule() [][]Entity {
	if r, ok := MatchRules[t.Incident]; ok {
		return r
	}
	var all []Entity
	for _, e := range []Entity{EntityUser, EntityPatient, EntitySourceIP} {
		if entityFields[e].truth(t) != "" {
			all = append(all, e)
		}
	}
	if len(all) == 0 {
		return nil // names nobody: explains nothing
	}
	return [][]Entity{all}
}

// sameEntities reports whether the alert names every entity of one of the
// incident's alternatives as the incident does.
func (t *TruthRecord) sameEntities(a *AlertRef) bool {
	for _, alt := range t.matchRule() {
		ok := len(alt) > 0
		for _, e := range alt {
			f := entityFields[e]
			want, got := f.truth(t), a.value(f.field)
			if want == "" || got == "" || !f.same(got, want) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// explains reports whether an incident accounts for an alert of one of
// rules: the rule, the time window (Slack either side), and the entities
// of the incident's match rule. Detections and false positives are both
// counted by it.
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
	return t.sameEntities(a)
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
