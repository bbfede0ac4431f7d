package privacy

import (
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/detect/enrich"
	"github.com/vigil-siem/vigil/internal/event"
)

// Privacy rules run on accesses the explanation leaves unexplained (and on
// break-glass uses and bursts of them), after the enrichment and the
// explanation, and raise alerts of kind "privacy" naming the access id
// (event.id of the export), the user, the patient and why the access is
// suspicious. Their settings (enabled, level, exclusions, thresholds) come
// from the privacy configuration; no rule has to be copied to change them.

// RuleInfo describes a privacy rule.
type RuleInfo struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"` // its key in the configuration
	Title       string   `json:"title"`
	Level       string   `json:"level"`
	Tags        []string `json:"tags"`
	Description string   `json:"description"`
	Enabled     bool     `json:"enabled"`
	Settings    any      `json:"settings"`
}

// Rule ids.
const (
	RuleFamily     = "7c1e4b2a-3f5d-4e8a-9b61-2d4f8a7c0e11"
	RuleCoworker   = "0d9a6c3e-5b7f-4a21-8e34-6f1c2b9d7a52"
	RuleVIP        = "a4f2e8c1-9d3b-4c67-b5a0-1e7d3f6c8b93"
	RuleSelf       = "5e8b1d4f-2a6c-4f93-8d07-9c3e5a1b7f24"
	RuleDeceased   = "b2c7f9e4-6d1a-4e58-a3b9-8f0d2c6e4a15"
	RuleNeighbour  = "3a9d5f1c-8e2b-4d76-9c40-7b1e6f3a2d86"
	RuleBreakGlass = "e6f3a8d2-1c9b-4b57-8e06-4d2a9f7c1b38"
	RuleBulk       = "9b4e2c7a-5f8d-4a13-b6c9-2e7f1d5a8c49"
	RuleRepeat     = "c8d1f6b3-4e2a-4c95-a7f8-3b9e6d0c2f51"
)

var privacyTags = []string{"attack.collection", "attack.t1213", "hipaa.164.502.b", "hipaa.164.308.a.1.ii.d", "hipaa.164.312.b"}

// ruleDefs are the rules with their default level.
var ruleDefs = []RuleInfo{
	{ID: RuleFamily, Name: "family", Title: "Unexplained Access to a Family Member's Record", Level: "high",
		Description: "The user opened the record of a member of their household (the patient lists them as next of kin, or shares their family name and their address or phone number) without being on the patient's care team."},
	{ID: RuleCoworker, Name: "coworker", Title: "Unexplained Access to a Co-Worker's Record", Level: "medium",
		Description: "The patient is a member of staff and nothing explains the access (no care team, no template of the user's department fits the patient's state)."},
	{ID: RuleVIP, Name: "vip", Title: "Unexplained Access to a VIP or Confidential Record", Level: "high",
		Description: "The patient is flagged VIP, protected or restricted and nothing explains the access."},
	{ID: RuleSelf, Name: "self", Title: "Access to the User's Own Record", Level: "medium",
		Description: "A member of staff opened their own record (matched by name and address or phone), explained or not: no department pattern or care team makes that legitimate."},
	{ID: RuleDeceased, Name: "deceased", Title: "Unexplained Access to a Deceased Patient's Record", Level: "medium",
		Description: "The patient has died (after the time of death when known) and nothing explains the access."},
	{ID: RuleNeighbour, Name: "neighbour", Title: "Unexplained Access to a Neighbour's Record", Level: "medium",
		Description: "The patient lives on the user's street (another address) and nothing explains the access."},
	{ID: RuleBreakGlass, Name: "break_glass", Title: "Break-Glass Access Without a Treatment Relationship", Level: "high",
		Description: "The user broke the glass on a record nothing explains, and was on no care team of the patient from the rule's before window before the access to its after window after it."},
	{ID: RuleBulk, Name: "bulk", Title: "Burst of Unexplained Record Accesses", Level: "high",
		Description: "One user opened the records of more patients without explanation within the window than the minimum, than their own past windows and than their department's users do; one alert per burst, its size updated as it grows."},
	{ID: RuleRepeat, Name: "repeat_offender", Title: "Repeat Privacy Offender", Level: "critical",
		Description: "A user raised privacy alerts on several patients (or bursts) within the window: escalated."},
}

// RuleList lists the privacy rules with their default settings.
func RuleList() []RuleInfo { return NewRules(nil, RulesOptions{}).Info() }

// Rules evaluates the privacy rules. It is safe for concurrent use.
type Rules struct {
	cfg *Config
	// reexamine reads the access again, with the directory as it is now
	// (enrich.Enricher.Reexamine); nil: break-glass accesses are judged
	// on what the event says.
	reexamine func(ctx context.Context, ev *event.Event, acc *enrich.Access) bool
	// engine explains an access again with the templates of now (nil:
	// the explanation the event carries is final).
	engine   *Engine
	suppress func(ruleID, ruleName string, tags []string, ev *event.Event) bool
	later    func(ev *event.Event, x Explanation)
	now      func() time.Time
	// recheck holds unexplained accesses until the templates were mined
	// again after them.
	recheck []held

	mu      sync.Mutex
	bulk    map[string]*userBulk
	peers   map[string]*histogram // department -> window counts of its users
	pending pendingHeap
	ids     map[string][]string // rule|user|patient -> access ids, for grouped alerts
	idOrder []string
	repeat  map[string]*userRepeat
	// watermark of live access events: the latest event time and when it
	// was seen.
	latest, latestAt time.Time
	// newest is the latest event time of an imported access; arrived
	// when (wall clock) the last access came.
	newest, arrived time.Time
}

// RulesOptions configure Rules.
type RulesOptions struct {
	Reexamine func(ctx context.Context, ev *event.Event, acc *enrich.Access) bool
	// Engine, when set, explains every unexplained access again before
	// the rules judge it (see RulesConfig.Hold): an access a cold start
	// left unexplained, and that templates mined later explain, raises
	// nothing.
	Engine *Engine
	// Suppress, when set, keeps a rule's alert on an access out (a tuning
	// exception applies to it).
	Suppress func(ruleID, ruleName string, tags []string, ev *event.Event) bool
	// Later, when set, is told of every held access that the templates
	// mined since explain.
	Later func(ev *event.Event, x Explanation)
	Now   func() time.Time
}

// held is an unexplained access waiting to be explained again.
type held struct {
	ev      event.Event
	version int64
	since   time.Time
	// until: a template fits but nothing corroborated the access yet; it
	// waits for the stream to pass this time (the access's time plus the
	// corroboration window).
	until time.Time
}

// maxHeld bounds the accesses held; beyond it they are judged at once.
const maxHeld = 200_000

// NewRules prepares the rules with their settings.
func NewRules(cfg *Config, opt RulesOptions) *Rules {
	if cfg == nil {
		cfg, _ = ParseConfig(nil, "(defaults)")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Rules{cfg: cfg, reexamine: opt.Reexamine, engine: opt.Engine, suppress: opt.Suppress, later: opt.Later, now: opt.Now, bulk: map[string]*userBulk{},
		peers: map[string]*histogram{}, ids: map[string][]string{}, repeat: map[string]*userRepeat{}}
}

func (r *Rules) settings(name string) *RuleSettings { return r.cfg.Rules.all()[name] }

// Info lists the rules with their settings.
func (r *Rules) Info() []RuleInfo {
	out := make([]RuleInfo, len(ruleDefs))
	for i, d := range ruleDefs {
		s := r.settings(d.Name)
		d.Tags, d.Enabled = privacyTags, s.on()
		if s.Level != "" {
			d.Level = s.Level
		}
		switch d.Name {
		case "break_glass":
			d.Settings = r.cfg.Rules.BreakGlass
		case "bulk":
			d.Settings = r.cfg.Rules.Bulk
		case "repeat_offender":
			d.Settings = r.cfg.Rules.Repeat
		default:
			d.Settings = s
		}
		out[i] = d
	}
	return out
}

func ruleDef(id string) RuleInfo {
	for _, d := range ruleDefs {
		if d.ID == id {
			return d
		}
	}
	panic("BUG: unknown privacy rule " + id)
}

// accessView is what the rules read of an access event, in one pass.
type accessView struct {
	user, patient, accessID, vigilID, dept, role     string
	explained, explanation, detail, module           string
	self, family, nok, sameAddr, samePhone, coworker bool
	coworkerDept, neighbour, confidential, deceased  bool
	breakGlass, imported, pending                    bool
	flags, deceasedTime, justification, action       string
	sourceIP, host, types                            string
}

// sensitive reports whether a rule on the record itself (family,
// co-worker, VIP, deceased, neighbour) would judge the access.
func (v *accessView) sensitive() bool {
	return v.family || v.coworker || v.confidential || v.deceased || v.neighbour
}

func (v *accessView) read(ev *event.Event) {
	for i := range ev.Fields {
		f := &ev.Fields[i]
		switch f.Name {
		case "user.name":
			v.user = f.Value
		case "healthcare.patient.id":
			v.patient = f.Value
		case "event.id":
			v.accessID = f.Value
		case event.FieldID:
			v.vigilID = f.Value
		case "event.module":
			v.module = f.Value
		case enrich.FieldWorkforceDepartment:
			v.dept = f.Value
		case enrich.FieldWorkforceRole:
			v.role = f.Value
		case FieldExplained:
			v.explained = f.Value
		case FieldExplanation:
			v.explanation = f.Value
		case FieldExplanationDetail:
			v.detail = f.Value
		case FieldCorroboration:
			v.pending = f.Value == "pending"
		case enrich.FieldRelSelf:
			v.self = f.Value == "true"
		case enrich.FieldRelFamily:
			v.family = f.Value == "true"
		case enrich.FieldRelNextOfKin:
			v.nok = f.Value == "true"
		case enrich.FieldRelSameAddress:
			v.sameAddr = f.Value == "true"
		case enrich.FieldRelSamePhone:
			v.samePhone = f.Value == "true"
		case enrich.FieldRelCoworker:
			v.coworker = f.Value == "true"
		case enrich.FieldRelCoworkerDept:
			v.coworkerDept = f.Value == "true"
		case enrich.FieldRelNeighbour:
			v.neighbour = f.Value == "true"
		case enrich.FieldRelTypes:
			v.types = f.Value
		case enrich.FieldPatientConfidential:
			v.confidential = f.Value == "true"
		case enrich.FieldPatientFlags:
			v.flags = f.Value
		case enrich.FieldPatientDeceased:
			v.deceased = f.Value == "true"
		case enrich.FieldPatientDeceasedTime:
			v.deceasedTime = f.Value
		case "healthcare.break_glass":
			v.breakGlass = f.Value == "true"
		case "healthcare.break_glass_justification":
			v.justification = f.Value
		case event.FieldImport:
			v.imported = f.Value == "true"
		case "event.action":
			v.action = f.Value
		case "source.ip":
			v.sourceIP = f.Value
		case "host.name":
			v.host = f.Value
		}
	}
}

// excluded reports whether a rule is off for this access.
func (r *Rules) excluded(name string, v *accessView) bool {
	s := r.settings(name)
	return !s.on() || s.Exclude.matches(v.user, v.dept, v.role) || r.cfg.Exclude.matches(v.user, v.dept, v.role)
}

// Observe evaluates the rules on one event and returns the alerts it
// raises now (break-glass accesses may be judged later, by Tick).
func (r *Rules) Observe(ctx context.Context, ev *event.Event) []alerts.Alert {
	var v accessView
	v.read(ev)
	if v.explained == "" || v.user == "" || v.patient == "" {
		return nil // not an access the explanation looked at
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !v.imported && ev.Time.After(r.latest) {
		r.latest, r.latestAt = ev.Time, r.now()
	}
	if v.imported && ev.Time.After(r.newest) {
		r.newest = ev.Time
	}
	r.arrived = r.now()
	// Opening one's own record is judged at once, explained or not: what
	// explains access to patients like this one (a department's pattern,
	// even the care team) does not make it legitimate — staff read their
	// own record through the patient portal — and a template mined later
	// must not withdraw it.
	var out []alerts.Alert
	if v.self && !r.excluded("self", &v) && !r.suppressed(RuleSelf, ev) {
		why := "opened their own record"
		if v.explained != "false" {
			why += " (explained as " + v.explanation + ")"
		}
		out = r.escalate([]alerts.Alert{r.accessAlert(RuleSelf, ev, &v, why)})
	}
	if v.explained != "false" && !(v.pending && r.engine != nil) {
		return out
	}
	if r.engine != nil && len(r.recheck) < maxHeld {
		h := held{ev: ev.Clone(), version: r.engine.Version(), since: r.now()}
		if v.pending {
			// Explained by a template if corroborated: judged once the
			// window after it has passed.
			h.until = ev.Time.Add(time.Duration(r.cfg.Corroboration.Window))
		}
		r.recheck = append(r.recheck, h)
		return out
	}
	if v.pending {
		return out
	}
	return append(out, r.judge(ctx, ev, &v)...)
}

// judge evaluates the rules on an access that stays unexplained.
func (r *Rules) judge(ctx context.Context, ev *event.Event, v0 *accessView) []alerts.Alert {
	v := *v0
	var out []alerts.Alert
	fire := func(id, why string) {
		if r.excluded(ruleDef(id).Name, &v) || r.suppressed(id, ev) {
			return
		}
		out = append(out, r.accessAlert(id, ev, &v, why))
	}
	// (self was judged by Observe)
	if v.family {
		var how []string
		if v.nok {
			how = append(how, "the patient lists them as next of kin")
		}
		if v.sameAddr {
			how = append(how, "same family name and address")
		} else if v.samePhone {
			how = append(how, "same family name and phone number")
		}
		fire(RuleFamily, "opened a family member's record ("+strings.Join(how, "; ")+") without being on the care team")
	}
	if v.coworker && !v.self {
		d := "opened a co-worker's record"
		if v.coworkerDept {
			d += " (same department)"
		}
		fire(RuleCoworker, d+" with nothing to explain it")
	}
	if v.confidential && !v.self {
		fire(RuleVIP, "opened a VIP or confidential record (flags "+v.flags+") with nothing to explain it")
	}
	if v.deceased {
		died := true
		if t, err := time.Parse(time.RFC3339, v.deceasedTime); err == nil && ev.Time.Before(t) {
			died = false
		}
		if died {
			d := "opened a deceased patient's record"
			if v.deceasedTime != "" {
				d += " (died " + v.deceasedTime + ")"
			}
			fire(RuleDeceased, d+" with nothing to explain it")
		}
	}
	if v.neighbour && !v.family && !v.self {
		fire(RuleNeighbour, "opened the record of a neighbour (same street) with nothing to explain it")
	}
	if v.breakGlass && !r.excluded("break_glass", &v) && !r.suppressed(RuleBreakGlass, ev) {
		if a, ok := r.breakGlass(ctx, ev, &v); ok {
			out = append(out, a)
		}
	}
	if !r.excluded("bulk", &v) && !r.suppressed(RuleBulk, ev) {
		out = append(out, r.observeBulk(ev, &v)...)
	}
	return r.escalate(out)
}

// suppressed reports whether a tuning exception keeps the rule's alert on
// this access out.
func (r *Rules) suppressed(id string, ev *event.Event) bool {
	return r.suppress != nil && r.suppress(id, ruleDef(id).Name, privacyTags, ev)
}

// accessAlert builds the alert of one access. Alerts of one rule on one
// user and patient are grouped by the alert store; each carries every
// access id seen so far for them (the latest fields win in a group).
func (r *Rules) accessAlert(id string, ev *event.Event, v *accessView, why string) alerts.Alert {
	d := ruleDef(id)
	level := d.Level
	if s := r.settings(d.Name); s.Level != "" {
		level = s.Level
	}
	k := id + "|" + strings.ToLower(v.user) + "|" + v.patient
	ids := r.accessIDs(k, v.accessID, v.vigilID)
	fields := map[string]string{
		"user.name": v.user, "healthcare.patient.id": v.patient, "privacy.reason": why,
		FieldExplained: v.explained, FieldExplanation: v.explanation, FieldExplanationDetail: v.detail,
	}
	set := func(k, val string) {
		if val != "" {
			fields[k] = val
		}
	}
	set("event.id", v.accessID)
	set("privacy.access_ids", jsonList(ids))
	set(enrich.FieldWorkforceDepartment, v.dept)
	set(enrich.FieldWorkforceRole, v.role)
	set(enrich.FieldRelTypes, v.types)
	set(enrich.FieldPatientFlags, v.flags)
	set("event.action", v.action)
	set("event.module", v.module)
	set("source.ip", v.sourceIP)
	set("host.name", v.host)
	if v.breakGlass {
		set("healthcare.break_glass", "true")
		set("healthcare.break_glass_justification", v.justification)
	}
	return alerts.Alert{
		Key: "privacy/" + id + "/" + v.vigilID + accessKeySuffix(v), Kind: "privacy", RuleID: id, RuleTitle: d.Title, Level: level,
		Tags: privacyTags, Time: ev.Time, EventIDs: nonEmpty(v.vigilID), Fields: fields,
		GroupKey: alerts.GroupKey(id, [2]string{"user.name", strings.ToLower(v.user)}, [2]string{"healthcare.patient.id", v.patient}),
	}
}

// accessKeySuffix makes the key of an alert on an event without a vigil
// id (tests, offline evaluation) unique by the access.
func accessKeySuffix(v *accessView) string {
	if v.vigilID != "" {
		return ""
	}
	return v.accessID + "/" + v.user + "/" + v.patient
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func jsonList(l []string) string {
	if len(l) == 0 {
		return ""
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// maxAccessIDs bounds the access ids kept per user, patient and rule;
// maxIDKeys the pairs remembered.
const (
	maxAccessIDs = 100
	maxIDKeys    = 50_000
)

// accessIDs remembers the access ids (the export's event.id, else the
// event's vigil.id) of a rule on a user and patient, and returns them.
func (r *Rules) accessIDs(key, accessID, vigilID string) []string {
	id := accessID
	if id == "" {
		id = vigilID
	}
	l, ok := r.ids[key]
	if !ok {
		if len(r.idOrder) >= maxIDKeys {
			delete(r.ids, r.idOrder[0])
			r.idOrder = r.idOrder[1:]
		}
		r.idOrder = append(r.idOrder, key)
	}
	if id != "" && len(l) < maxAccessIDs && !containsString(l, id) {
		l = append(l, id)
	}
	r.ids[key] = l
	return l
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// ---- break-glass

type pendingBG struct {
	due time.Time
	ev  event.Event
}

type pendingHeap []pendingBG

func (h pendingHeap) Len() int           { return len(h) }
func (h pendingHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h pendingHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *pendingHeap) Push(x any)        { *h = append(*h, x.(pendingBG)) }
func (h *pendingHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// maxPending bounds the break-glass accesses waiting for their after
// window; beyond it they are judged at once.
const maxPending = 100_000

// breakGlass judges an unexplained break-glass access: no alert when the
// user was, or became, on a care team of the patient within the rule's
// windows. A live access is judged once its after window has passed (the
// admission may come after the emergency); an imported one at once, the
// directory holding the history already.
func (r *Rules) breakGlass(ctx context.Context, ev *event.Event, v *accessView) (alerts.Alert, bool) {
	bg := &r.cfg.Rules.BreakGlass
	if r.related(ctx, ev) {
		return alerts.Alert{}, false
	}
	due := ev.Time.Add(time.Duration(bg.After))
	if !v.imported && due.After(r.watermark()) && len(r.pending) < maxPending {
		heap.Push(&r.pending, pendingBG{due: due, ev: ev.Clone()})
		return alerts.Alert{}, false
	}
	return r.breakGlassAlert(ev, v), true
}

func (r *Rules) breakGlassAlert(ev *event.Event, v *accessView) alerts.Alert {
	bg := &r.cfg.Rules.BreakGlass
	why := fmt.Sprintf("broke the glass on a record nothing explains, and was on no care team of the patient from %s before to %s after",
		fmtDuration(time.Duration(bg.Before)), fmtDuration(time.Duration(bg.After)))
	if v.justification != "" {
		why += "; reason given: " + v.justification
	}
	return r.accessAlert(RuleBreakGlass, ev, v, why)
}

// related reports whether the user was on a care team of the patient
// within the break-glass windows, as the directory says now.
func (r *Rules) related(ctx context.Context, ev *event.Event) bool {
	if r.reexamine == nil {
		return false
	}
	c := ev.Clone()
	var acc enrich.Access
	if !r.reexamine(ctx, &c, &acc) {
		return false
	}
	bg := &r.cfg.Rules.BreakGlass
	return relatedWithin(&acc, time.Duration(bg.Before), time.Duration(bg.After))
}

// watermark is how far the live stream of accesses has come: the latest
// event time, advanced by the wall-clock time since it was seen.
func (r *Rules) watermark() time.Time {
	if r.latest.IsZero() {
		return time.Time{}
	}
	return r.latest.Add(r.now().Sub(r.latestAt))
}

// Tick raises what became due: unexplained accesses the templates mined
// since do not explain either, break-glass accesses whose after window
// passed without a treatment relationship, and the grown size of bursts.
func (r *Rules) Tick(ctx context.Context) []alerts.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.rechecked(ctx, false)
	wm := r.watermark()
	for len(r.pending) > 0 && !r.pending[0].due.After(wm) {
		p := heap.Pop(&r.pending).(pendingBG)
		if r.related(ctx, &p.ev) {
			continue
		}
		var v accessView
		v.read(&p.ev)
		out = append(out, r.breakGlassAlert(&p.ev, &v))
	}
	out = append(out, r.bulkUpdates(wm)...)
	return r.escalate(out)
}

// rechecked explains the held accesses again, once templates were mined
// after them and the user's department has been learnt enough (or the
// access waited the hold's longest; all of them with force), and judges
// those that stay unexplained.
func (r *Rules) rechecked(ctx context.Context, force bool) []alerts.Alert {
	if len(r.recheck) == 0 {
		return nil
	}
	hold := &r.cfg.Rules.Hold
	window := time.Duration(r.cfg.Corroboration.Window)
	version, now, wm := r.engine.Version(), r.now(), r.watermark()
	var out []alerts.Alert
	keep := r.recheck[:0]
	for i := range r.recheck {
		h := &r.recheck[i]
		maxWait := time.Duration(hold.MaxWait)
		imported := h.ev.Value(event.FieldImport) == "true"
		// How far the stream went past the access: the live watermark
		// for a live access, the import's newest row for an imported one
		// (the live stream says nothing of how much of an import was
		// learnt).
		mark := wm
		if imported {
			mark = r.newest
		}
		waited := force || now.Sub(h.since) >= maxWait || !mark.IsZero() && mark.Sub(h.ev.Time) >= maxWait
		ended := imported && now.Sub(r.arrived) >= time.Duration(hold.Quiet)
		if !h.until.IsZero() {
			if !force && !ended && (mark.IsZero() || mark.Before(h.until)) && now.Sub(h.since) < max(maxWait, window) {
				keep = append(keep, *h)
				continue
			}
			waited = true
		}
		if !force && !waited {
			mined := h.version < version
			// An import ended (no access came since) and the templates
			// were mined after its rows: a department that has not been
			// learnt by now will not be before more accesses come.
			if mined && ended {
				waited = true
			}
			warm := r.engine.Warm(h.ev.Value(enrich.FieldWorkforceDepartment), h.ev.Value(enrich.FieldWorkforceRole), hold.MinAccesses)
			if !waited && !(mined && warm) {
				keep = append(keep, *h)
				continue
			}
		}
		c := h.ev.Clone()
		var acc enrich.Access
		var v accessView
		if r.reexamine != nil && r.reexamine(ctx, &c, &acc) {
			x := r.engine.Reexplain(&acc)
			x.Annotate(&h.ev)
			if x.Explained {
				if r.later != nil {
					r.later(&h.ev, x)
				}
				continue
			}
			// A sensitive access a template fits, that nothing
			// corroborated yet, waits for the stream to pass the
			// corroboration window after it (the lab's result after its
			// draw), or for the end of the import.
			if !force && h.until.IsZero() && !ended && strings.HasPrefix(x.Detail, detailUncorroborated) &&
				(mark.IsZero() || mark.Sub(h.ev.Time) < window) && now.Sub(h.since) < max(maxWait, window) {
				h.until = h.ev.Time.Add(window)
				keep = append(keep, *h)
				continue
			}
			// A sensitive record in a state the user's department is
			// still learning to open waits for the minings to come, up to
			// the hold's longest: a department's rarer routine is learnt
			// from a few more shifts, a snooping access is judged then.
			v.read(&h.ev)
			if !waited && v.sensitive() && r.engine.Promising(&acc) {
				h.version = version
				keep = append(keep, *h)
				continue
			}
		}
		v = accessView{}
		v.read(&h.ev)
		out = append(out, r.judge(ctx, &h.ev, &v)...)
	}
	clear(r.recheck[len(keep):])
	r.recheck = keep
	return out
}

// Pending is how many accesses wait: to be explained again, or for their
// break-glass after window.
func (r *Rules) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending) + len(r.recheck)
}

// Flush judges every waiting break-glass access and closes every burst
// (at the end of an offline evaluation).
func (r *Rules) Flush(ctx context.Context) []alerts.Alert {
	r.mu.Lock()
	out := r.rechecked(ctx, true)
	r.latest, r.latestAt = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), r.now()
	r.mu.Unlock()
	return append(out, r.Tick(ctx)...)
}

func fmtDuration(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return strings.TrimSuffix(strings.TrimSuffix(d.String(), "0s"), "0m")
}

// ---- bulk

// userBulk follows one user's unexplained accesses.
type userBulk struct {
	dept   string
	recent []bulkHit // unexplained accesses within the window, oldest first
	// bucket counts the distinct patients of the current window-long
	// bucket, for the baselines.
	bucket      time.Time
	bucketPats  map[string]bool
	bucketBurst bool
	// max is the most distinct patients in one completed bucket (decayed
	// by half every 30 days): the user's own baseline.
	maxAt time.Time
	maxN  float64
	burst *burst
	last  time.Time
}

type bulkHit struct {
	t                          time.Time
	patient, vigilID, accessID string
}

type burst struct {
	key          string
	first, last  time.Time
	patients     map[string]bool
	ids, access  []string
	threshold    float64
	user, dept   string
	role         string
	dirty, ended bool
}

// maxBulkUsers bounds the users followed; maxRecent the accesses kept per
// user.
const (
	maxBulkUsers = 100_000
	maxRecent    = 20_000
)

func (r *Rules) observeBulk(ev *event.Event, v *accessView) []alerts.Alert {
	cfg := &r.cfg.Rules.Bulk
	win := time.Duration(cfg.Window)
	key := strings.ToLower(v.user)
	u := r.bulk[key]
	if u == nil {
		if len(r.bulk) >= maxBulkUsers {
			r.evictBulk()
		}
		u = &userBulk{bucketPats: map[string]bool{}}
		r.bulk[key] = u
	}
	u.dept = strings.ToLower(v.dept)
	t := ev.Time
	u.last = t
	// Baselines: window-long buckets of distinct patients.
	b := t.Truncate(win)
	if !b.Equal(u.bucket) {
		r.closeBucket(u)
		u.bucket = b
	}
	u.bucketPats[v.patient] = true
	if u.burst != nil && u.burst.ended {
		u.burst = nil
	}
	// The burst in progress grows while accesses keep coming within the
	// window of each other.
	if u.burst != nil {
		if t.Sub(u.burst.last) > win {
			u.burst.ended = true
			u.burst = nil
		} else {
			bu := u.burst
			if t.After(bu.last) {
				bu.last = t
			}
			if !bu.patients[v.patient] {
				bu.patients[v.patient] = true
				bu.dirty = true
			}
			if len(bu.ids) < alerts.MaxEventIDs && v.vigilID != "" {
				bu.ids = append(bu.ids, v.vigilID)
			}
			if len(bu.access) < maxAccessIDs && v.accessID != "" {
				bu.access = append(bu.access, v.accessID)
			}
			u.bucketBurst = true
			return nil
		}
	}
	// Sliding window of distinct patients.
	u.recent = append(u.recent, bulkHit{t: t, patient: v.patient, vigilID: v.vigilID, accessID: v.accessID})
	if len(u.recent) > 1 && t.Before(u.recent[len(u.recent)-2].t) {
		sort.SliceStable(u.recent, func(i, j int) bool { return u.recent[i].t.Before(u.recent[j].t) })
	}
	latest := u.recent[len(u.recent)-1].t
	cut := 0
	for cut < len(u.recent) && latest.Sub(u.recent[cut].t) > win {
		cut++
	}
	if cut > 0 || len(u.recent) > maxRecent {
		cut = max(cut, len(u.recent)-maxRecent)
		u.recent = append(u.recent[:0], u.recent[cut:]...)
	}
	pats := map[string]bool{}
	for _, h := range u.recent {
		pats[h.patient] = true
	}
	threshold := r.bulkThreshold(u)
	if float64(len(pats)) <= threshold {
		return nil
	}
	bu := &burst{first: u.recent[0].t, last: latest, patients: pats, threshold: threshold, user: v.user, dept: v.dept, role: v.role}
	bu.key = "privacy/" + RuleBulk + "/" + key + "/" + strconv.FormatInt(bu.first.UnixNano(), 10)
	for _, h := range u.recent {
		if h.vigilID != "" && len(bu.ids) < alerts.MaxEventIDs {
			bu.ids = append(bu.ids, h.vigilID)
		}
		if h.accessID != "" && len(bu.access) < maxAccessIDs {
			bu.access = append(bu.access, h.accessID)
		}
	}
	u.burst, u.bucketBurst = bu, true
	u.recent = u.recent[:0]
	return []alerts.Alert{r.bulkAlert(bu, false)}
}

// bulkThreshold is the most distinct unexplained patients a user may open
// within the window: the minimum, the user's own past maximum times the
// user factor, their department's 99th percentile times the peer factor.
func (r *Rules) bulkThreshold(u *userBulk) float64 {
	cfg := &r.cfg.Rules.Bulk
	t := float64(cfg.MinPatients)
	t = math.Max(t, cfg.UserFactor*u.decayedMax())
	if h := r.peers[u.dept]; h != nil {
		t = math.Max(t, cfg.PeerFactor*h.quantile(0.99))
	}
	return t
}

func (u *userBulk) decayedMax() float64 {
	if u.maxN == 0 {
		return 0
	}
	age := u.last.Sub(u.maxAt)
	return u.maxN * math.Exp2(-float64(age)/float64(30*24*time.Hour))
}

// closeBucket records the distinct patients of the user's finished bucket
// in their baseline and their department's (not a bucket with a burst).
func (r *Rules) closeBucket(u *userBulk) {
	n := float64(len(u.bucketPats))
	if n > 0 && !u.bucketBurst {
		if n >= u.decayedMax() {
			u.maxN, u.maxAt = n, u.bucket
		}
		h := r.peers[u.dept]
		if h == nil {
			h = &histogram{}
			r.peers[u.dept] = h
		}
		h.add(int(n))
	}
	clear(u.bucketPats)
	u.bucketBurst = false
}

func (r *Rules) evictBulk() {
	var oldest string
	var ot time.Time
	for k, u := range r.bulk {
		if oldest == "" || u.last.Before(ot) {
			oldest, ot = k, u.last
		}
	}
	delete(r.bulk, oldest)
}

func (r *Rules) bulkAlert(bu *burst, update bool) alerts.Alert {
	d := ruleDef(RuleBulk)
	level := d.Level
	if s := r.settings("bulk"); s.Level != "" {
		level = s.Level
	}
	n := len(bu.patients)
	why := fmt.Sprintf("opened %d patients' records without explanation within %s of each other (threshold %g)", n,
		fmtDuration(time.Duration(r.cfg.Rules.Bulk.Window)), bu.threshold)
	fields := map[string]string{"user.name": bu.user, "privacy.reason": why, "privacy.patients": strconv.Itoa(n),
		"privacy.threshold": strconv.FormatFloat(bu.threshold, 'f', -1, 64), "privacy.first": bu.first.UTC().Format(time.RFC3339)}
	if bu.dept != "" {
		fields[enrich.FieldWorkforceDepartment] = bu.dept
	}
	if bu.role != "" {
		fields[enrich.FieldWorkforceRole] = bu.role
	}
	if len(bu.access) > 0 {
		fields["privacy.access_ids"] = jsonList(bu.access)
		fields["event.id"] = bu.access[len(bu.access)-1]
	}
	return alerts.Alert{Key: bu.key, Kind: "privacy", RuleID: RuleBulk, RuleTitle: d.Title, Level: level, Tags: privacyTags,
		Time: bu.last, FirstSeen: bu.first, Count: n, Value: float64(n), EventIDs: append([]string(nil), bu.ids...), Fields: fields,
		GroupBy: map[string]string{"user.name": bu.user}, Update: update}
}

// bulkUpdates raises the new size of bursts that grew, and ends bursts
// the watermark has left behind.
func (r *Rules) bulkUpdates(wm time.Time) []alerts.Alert {
	var out []alerts.Alert
	win := time.Duration(r.cfg.Rules.Bulk.Window)
	for _, u := range r.bulk {
		bu := u.burst
		if bu == nil {
			continue
		}
		if bu.dirty {
			bu.dirty = false
			out = append(out, r.bulkAlert(bu, true))
		}
		if !wm.IsZero() && wm.Sub(bu.last) > win {
			bu.ended = true
		}
	}
	return out
}

// histogram counts small integers (distinct patients per window).
type histogram struct {
	counts [257]float64 // 0..255, and 256+ in the last
	n      float64
}

func (h *histogram) add(v int) {
	h.counts[min(max(v, 0), 256)]++
	h.n++
}

func (h *histogram) quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	need := q * h.n
	acc := 0.0
	for v, c := range h.counts {
		acc += c
		if acc >= need {
			return float64(v)
		}
	}
	return 256
}

// ---- repeat offenders

type userRepeat struct {
	hits  []repeatHit
	key   string // the escalation in progress
	first time.Time
	count int
}

type repeatHit struct {
	t   time.Time
	key string // rule and patient, or burst
}

// escalate records privacy alerts per user and adds a repeat-offender
// alert (or its update) when a user reaches the threshold.
func (r *Rules) escalate(as []alerts.Alert) []alerts.Alert {
	cfg := &r.cfg.Rules.Repeat
	if !cfg.on() || len(as) == 0 {
		return as
	}
	out := as
	for _, a := range as {
		if a.RuleID == RuleRepeat {
			continue
		}
		user := a.Fields["user.name"]
		if user == "" || r.cfg.Exclude.matches(user, a.Fields[enrich.FieldWorkforceDepartment], a.Fields[enrich.FieldWorkforceRole]) ||
			cfg.Exclude.matches(user, a.Fields[enrich.FieldWorkforceDepartment], a.Fields[enrich.FieldWorkforceRole]) {
			continue
		}
		hk := a.RuleID + "|" + a.Fields["healthcare.patient.id"]
		if a.RuleID == RuleBulk {
			hk = a.Key
		}
		if x := r.recordOffence(user, hk, a.Time, a.Fields[enrich.FieldWorkforceDepartment]); x != nil {
			out = append(out, *x)
		}
	}
	return out
}

// RestoreOffences replays earlier privacy alerts (from the alert store)
// into the repeat-offender counts, without raising anything.
func (r *Rules) RestoreOffences(as []alerts.Alert) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sort.Slice(as, func(i, j int) bool { return as[i].FirstSeen.Before(as[j].FirstSeen) })
	for _, a := range as {
		if a.Kind != "privacy" || a.RuleID == RuleRepeat || a.Disposition == "false_positive" {
			continue
		}
		user := a.Fields["user.name"]
		if user == "" {
			continue
		}
		hk := a.RuleID + "|" + a.Fields["healthcare.patient.id"]
		if a.RuleID == RuleBulk {
			hk = a.Key
		}
		u := r.userRepeat(user)
		r.addHit(u, hk, a.FirstSeen)
	}
}

func (r *Rules) userRepeat(user string) *userRepeat {
	k := strings.ToLower(user)
	u := r.repeat[k]
	if u == nil {
		if len(r.repeat) >= maxBulkUsers {
			for k := range r.repeat { // any: the map is bounded, not ordered
				delete(r.repeat, k)
				break
			}
		}
		u = &userRepeat{}
		r.repeat[k] = u
	}
	return u
}

func (r *Rules) addHit(u *userRepeat, key string, t time.Time) bool {
	win := time.Duration(r.cfg.Rules.Repeat.Window)
	keep := u.hits[:0]
	for _, h := range u.hits {
		if t.Sub(h.t) <= win {
			keep = append(keep, h)
		}
	}
	u.hits = keep
	for _, h := range u.hits {
		if h.key == key {
			return false
		}
	}
	u.hits = append(u.hits, repeatHit{t: t, key: key})
	return true
}

func (r *Rules) recordOffence(user, key string, t time.Time, dept string) *alerts.Alert {
	cfg := &r.cfg.Rules.Repeat
	u := r.userRepeat(user)
	if !r.addHit(u, key, t) {
		return nil
	}
	if len(u.hits) < cfg.MinAlerts {
		return nil
	}
	update := true
	if u.key == "" || t.Sub(u.first) > time.Duration(cfg.Window) {
		u.first = u.hits[0].t
		h := fnv.New32a()
		h.Write([]byte(strings.ToLower(user)))
		u.key = fmt.Sprintf("privacy/%s/%08x/%d", RuleRepeat, h.Sum32(), u.first.UnixNano())
		update = false
	}
	u.count = len(u.hits)
	d := ruleDef(RuleRepeat)
	level := d.Level
	if cfg.Level != "" {
		level = cfg.Level
	}
	why := fmt.Sprintf("%d privacy alerts on distinct patients or bursts within %s", u.count, fmtDuration(time.Duration(cfg.Window)))
	fields := map[string]string{"user.name": user, "privacy.reason": why, "privacy.alerts": strconv.Itoa(u.count)}
	if dept != "" {
		fields[enrich.FieldWorkforceDepartment] = dept
	}
	return &alerts.Alert{Key: u.key, Kind: "privacy", RuleID: RuleRepeat, RuleTitle: d.Title, Level: level, Tags: privacyTags,
		Time: t, FirstSeen: u.first, Count: u.count, Value: float64(u.count), Fields: fields,
		GroupBy: map[string]string{"user.name": user}, Update: update}
}

// ---- state across restarts

// rulesState is what the rules keep across restarts (version 1): the
// accesses waiting to be judged, the users' and departments' bulk
// baselines, and the stream's watermark. Repeat offences come back from
// the alert store (RestoreOffences).
type rulesState struct {
	Version  int                  `json:"version"`
	Held     []byte               `json:"held,omitempty"` // event batch
	HeldMeta []heldMeta           `json:"held_meta,omitempty"`
	Pending  []byte               `json:"pending,omitempty"` // event batch
	Due      []time.Time          `json:"due,omitempty"`
	Users    map[string]bulkState `json:"users,omitempty"`
	Peers    map[string][]float64 `json:"peers,omitempty"`
	Latest   time.Time            `json:"latest,omitzero"`
}

type heldMeta struct {
	Version int64     `json:"version"`
	Since   time.Time `json:"since"`
}

type bulkState struct {
	Dept  string    `json:"dept,omitempty"`
	MaxN  float64   `json:"max"`
	MaxAt time.Time `json:"max_at"`
}

// Snapshot writes the rules' state (JSON), for the detector's checkpoint.
func (r *Rules) Snapshot() ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := rulesState{Version: 1, Users: map[string]bulkState{}, Peers: map[string][]float64{}, Latest: r.latest}
	var evs []event.Event
	for _, h := range r.recheck {
		evs = append(evs, h.ev)
		st.HeldMeta = append(st.HeldMeta, heldMeta{Version: h.version, Since: h.since})
	}
	if len(evs) > 0 {
		st.Held = event.AppendBatch(nil, evs)
	}
	evs = evs[:0]
	for _, p := range r.pending {
		evs = append(evs, p.ev)
		st.Due = append(st.Due, p.due)
	}
	if len(evs) > 0 {
		st.Pending = event.AppendBatch(nil, evs)
	}
	for k, u := range r.bulk {
		if u.maxN > 0 {
			st.Users[k] = bulkState{Dept: u.dept, MaxN: u.maxN, MaxAt: u.maxAt}
		}
	}
	for k, h := range r.peers {
		st.Peers[k] = h.counts[:]
	}
	return json.Marshal(st)
}

// decodeHeld decodes a batch of held events; Snapshot writes none when
// nothing is held, and an absent batch is no events (the event codec
// refuses an empty batch as corrupt).
func decodeHeld(data []byte) ([]event.Event, error) {
	if len(data) == 0 {
		return nil, nil
	}
	return event.DecodeBatch(nil, data)
}

// Restore reads a state Snapshot wrote. A state it cannot read is an
// error, and changes nothing.
func (r *Rules) Restore(data []byte) error {
	var st rulesState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("privacy rules state: %w", err)
	}
	if st.Version != 1 {
		return fmt.Errorf("privacy rules state version %d: want 1", st.Version)
	}
	heldEvs, err := decodeHeld(st.Held)
	if err != nil || len(heldEvs) != len(st.HeldMeta) {
		return fmt.Errorf("privacy rules state: held accesses unreadable (%v)", err)
	}
	pend, err := decodeHeld(st.Pending)
	if err != nil || len(pend) != len(st.Due) {
		return fmt.Errorf("privacy rules state: break-glass accesses unreadable (%v)", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recheck = r.recheck[:0]
	for i, ev := range heldEvs {
		r.recheck = append(r.recheck, held{ev: ev, version: st.HeldMeta[i].Version, since: st.HeldMeta[i].Since})
	}
	r.pending = r.pending[:0]
	for i, ev := range pend {
		heap.Push(&r.pending, pendingBG{due: st.Due[i], ev: ev})
	}
	for k, b := range st.Users {
		u := &userBulk{dept: b.Dept, maxN: b.MaxN, maxAt: b.MaxAt, bucketPats: map[string]bool{}, last: b.MaxAt}
		r.bulk[k] = u
	}
	for k, c := range st.Peers {
		h := &histogram{}
		copy(h.counts[:], c)
		for _, x := range h.counts {
			h.n += x
		}
		r.peers[k] = h
	}
	if st.Latest.After(r.latest) {
		r.latest, r.latestAt = st.Latest, r.now()
	}
	return nil
}
