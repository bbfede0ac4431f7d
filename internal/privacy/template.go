package privacy

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Template statuses.
const (
	// StatusActive: mined, meets the criteria, and explains accesses
	// (mining.auto_accept) until the privacy officer decides otherwise.
	StatusActive = "active"
	// StatusProposed: mined and meeting the criteria, waiting for the
	// privacy officer's approval (auto_accept off); explains nothing yet.
	StatusProposed = "proposed"
	// StatusApproved: approved by the privacy officer; explains accesses
	// whatever later mining finds.
	StatusApproved = "approved"
	// StatusRejected: rejected by the privacy officer; never explains
	// anything, and mining looks for other explanations instead.
	StatusRejected = "rejected"
	// StatusRetired: mined before, no longer meeting the criteria.
	StatusRetired = "retired"
	// StatusConfigured: written by hand in the privacy configuration.
	StatusConfigured = "configured"
)

// Template is an explanation template: users of a group (a department or
// a role) routinely open the records of patients with a feature.
type Template struct {
	ID int64 `json:"id"`
	// Group is "department:<name>" or "role:<name>".
	Group string `json:"group"`
	// Feature is the patients' state (see features.go), or "any"
	// (configured templates only).
	Feature     string `json:"feature"`
	Status      string `json:"status"`
	Source      string `json:"source"` // mined or config
	Name        string `json:"name,omitempty"`
	Description string `json:"description"`
	// GroupLabel is the group in words with the directory's spelling of
	// its department and role ("department Pharmacy in role Pharmacist"),
	// set by the API.
	GroupLabel string `json:"group_label,omitempty"`
	Stats      Stats  `json:"stats"`
	// FirstMined and LastMined: when mining first and last selected it.
	FirstMined time.Time `json:"first_mined,omitzero"`
	LastMined  time.Time `json:"last_mined,omitzero"`
	// DecidedBy, DecidedAt and Reason record the privacy officer's
	// decision.
	DecidedBy string    `json:"decided_by,omitempty"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
	Reason    string    `json:"reason,omitempty"`

	// lagLo and lagHi: the window of a post-discharge template
	// (after_discharge:<lo>-<hi>); lagHi 0 for the others.
	lagLo, lagHi time.Duration
}

// fits reports whether the template's state holds for an access with
// these features (sorted) and this lag since the patient's latest
// discharge (-1: none).
func (t *Template) fits(feats []string, lag time.Duration) bool {
	if t.Feature == "any" {
		return true
	}
	if t.lagHi > 0 {
		return lag >= t.lagLo && lag <= t.lagHi
	}
	return containsSorted(feats, t.Feature)
}

// Stats are what mining measured of a template, over the accesses of its
// group that no direct relationship explains (the residual).
type Stats struct {
	// Support is how many of those accesses it explains (estimated from
	// the group's sample, with older accesses decayed); Users and Patients
	// how many distinct users and patients they involve (in the sample).
	Support  float64 `json:"support"`
	Users    int     `json:"users"`
	Patients int     `json:"patients"`
	// Confidence is the share of the group's residual accesses it
	// explains (alone); Gain the share it added to what the templates
	// chosen before it explain.
	Confidence float64 `json:"confidence"`
	Gain       float64 `json:"gain"`
	// Base is how often a patient is in the feature's state at a random
	// time (from the directory's stays); Lift is Confidence / Base: how
	// much more often than chance the group's accesses are to such
	// patients.
	Base float64 `json:"base"`
	Lift float64 `json:"lift"`
	// PerStay is how many of the group's accesses there were per stay
	// that put a patient in the state during the period mined (weighed by
	// age): about 1 or more when the group opens every such patient
	// (billing after each discharge), far below when it opens a few.
	PerStay float64 `json:"per_stay"`
	// GroupAccesses is the group's residual accesses (estimated), Sample
	// how many of them mining looked at.
	GroupAccesses float64 `json:"group_accesses"`
	Sample        int     `json:"sample"`
	// Rank is the order in which mining chose it within its group.
	Rank int `json:"rank"`
}

// Explains reports whether a template in this status explains accesses.
func (t *Template) Explains() bool {
	switch t.Status {
	case StatusActive, StatusApproved, StatusConfigured:
		return true
	}
	return false
}

// GroupKey names a group: "department:<name>" or "role:<name>", the name
// in lower case.
func GroupKey(kind, name string) string { return kind + ":" + strings.ToLower(strings.TrimSpace(name)) }

// groupLabel is a group key in words.
func groupLabel(g string) string {
	kind, name, _ := strings.Cut(g, ":")
	if kind == "job" {
		d, r, _ := strings.Cut(name, "|")
		return "department " + d + " in role " + r
	}
	return kind + " " + name
}

// LabelWith is the group in words with the names of the directory
// (lower case to spelling, as directory.WorkforceNames gives them).
func LabelWith(group string, names map[string]string) string {
	name := func(s string) string {
		if n := names[s]; n != "" {
			return n
		}
		return s
	}
	kind, rest, _ := strings.Cut(group, ":")
	if kind == "job" {
		d, r, _ := strings.Cut(rest, "|")
		return "department " + name(d) + " in role " + name(r)
	}
	return kind + " " + name(rest)
}

// describe writes a template's description from its group and feature.
func describe(group, feature string) string {
	return fmt.Sprintf("users of %s open the records of %s", groupLabel(group), describeFeature(feature))
}

// active is the set of templates that explain accesses, by group, the
// most specific (lowest base rate) first.
type active struct {
	byGroup map[string][]*Template
	version int64
}

func newActive(ts []Template, version int64) *active {
	a := &active{byGroup: map[string][]*Template{}, version: version}
	for i := range ts {
		t := &ts[i]
		if !t.Explains() {
			continue
		}
		if lo, hi, ok := parseLagFeature(t.Feature); ok {
			t.lagLo, t.lagHi = lo, hi
		}
		a.byGroup[t.Group] = append(a.byGroup[t.Group], t)
	}
	for _, l := range a.byGroup {
		sort.SliceStable(l, func(i, j int) bool {
			if (l[i].Feature == "any") != (l[j].Feature == "any") {
				return l[j].Feature == "any"
			}
			return l[i].Stats.Base < l[j].Stats.Base
		})
	}
	return a
}

// match returns the first template of the groups that fits the features
// (sorted) and the lag since the latest discharge (-1: none), or nil.
func (a *active) match(groups []string, feats []string, lag time.Duration) *Template {
	if a == nil {
		return nil
	}
	var best *Template
	for _, g := range groups {
		for _, t := range a.byGroup[g] {
			if t.fits(feats, lag) {
				if best == nil || better(t, best) {
					best = t
				}
				break
			}
		}
	}
	return best
}

// better prefers configured and approved templates, then the most
// specific.
func better(a, b *Template) bool {
	ra, rb := statusRank(a.Status), statusRank(b.Status)
	if ra != rb {
		return ra > rb
	}
	return a.Stats.Base < b.Stats.Base
}

func statusRank(s string) int {
	switch s {
	case StatusConfigured:
		return 2
	case StatusApproved:
		return 1
	}
	return 0
}

func containsSorted(l []string, s string) bool {
	i := sort.SearchStrings(l, s)
	return i < len(l) && l[i] == s
}
