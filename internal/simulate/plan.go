package simulate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/enrich"
	"github.com/vigil-siem/vigil/internal/privacy"
)

// IntentKind says what an intent renders to.
type IntentKind uint8

// Intent kinds.
const (
	KindADT      IntentKind = iota // HL7 ADT over MLLP
	KindEHR                        // EHR access-log row (Epic-style), sent as an event over HTTP
	KindFHIR                       // FHIR AuditEvent (R4, BALP-like)
	KindATNA                       // DICOM/IHE ATNA audit message over syslog
	KindWinLogon                   // Windows Security 4624/4625, Winlogbeat JSON over HTTP
	KindSSH                        // sshd line over syslog
	KindSudo                       // sudo line over syslog
	KindClinical                   // HL7 order, pharmacy, result or scheduling message over MLLP (orders.go)
)

// Intent is one event to produce: who does what to whom, when. Intents
// are planned for the whole simulated period and rendered to bytes as
// they become due.
type Intent struct {
	T        time.Time
	Seq      int
	Kind     IntentKind
	Incident int // index in Plan.Incidents, or -1
	W        *Worker
	User     string // when the actor is not a worker (attackers, services)
	P        *Patient
	Enc      *Encounter
	Trigger  string // ADT trigger; ATNA event code
	Action   string // EHR metric; FHIR resource type; ATNA subtype
	Host, IP string
	Dst      string // ATNA destination address
	DstAE    string // ATNA destination AE title
	Media    string // ATNA export media type
	OK       bool   // outcome success
	Flag     bool   // break-glass (EHR), emergency purpose of use (FHIR)
	Reason   string // break-glass justification; sudo command; logon type
	Rol      []rolChange
	By, W2   *Worker // clinical messages: the ordering physician; a second person filling it
}

// rolChange is a ROL segment of an ADT message.
type rolChange struct {
	action string // AD, DE
	w      *Worker
	begin  time.Time
	end    time.Time
}

// actor is the user name an intent is logged under.
func (in *Intent) actor() string {
	if in.W != nil {
		return in.W.Login
	}
	return in.User
}

// Encounter is a visit or stay.
type Encounter struct {
	Visit            string
	P                *Patient
	Dept             *Dept
	Class            string // I inpatient, E emergency
	Bed              string
	Admit, Discharge time.Time // Discharge zero: still in at the end
	Attending        *Worker
	// Consult is a physician of another department called to consult;
	// ConsultNamed says whether the ADT names them (PV1-9) or only the
	// consult order knows them.
	Consult      *Worker
	ConsultNamed bool
	Nurses       []*Worker
	// Transfer to intensive care, when it happens.
	TransferAt   time.Time
	ICUAttending *Worker
	ICUDept      *Dept
	ICUNurses    []*Worker
	imaging      bool
}

// Incident is one injected incident, with what is expected of Vigil.
type Incident struct {
	Type        string
	Rules       []string // rule ids that must fire
	Also        []string // rule ids that may fire on the same activity
	User        string
	Patient     string
	SourceIP    string
	Host        string
	Start, End  time.Time
	Description string
	// AccessIDs are the ids of the incident's record accesses (the
	// access log's ACCESS_ID, the AuditEvent id).
	AccessIDs []string
}

// PlanOptions shape a simulated period.
type PlanOptions struct {
	Seed     uint64
	Start    time.Time
	Span     time.Duration
	Location *time.Location
	// Profile is the kind of hospital (Profiles; default general).
	Profile string
	// Beds sizes the hospital by its inpatient beds: staff and patients,
	// when not given, grow with it (a 300-bed hospital has about 6,000
	// patients a year and 900 people using the EHR).
	Beds      int
	Staff     int     // default 140 (or from Beds)
	Patients  int     // default 600 (or from Beds)
	Activity  float64 // background volume multiplier (default 1)
	Incidents bool    // inject incidents (default true through Config)
	// Orders sends the ancillary feeds: order, pharmacy, result and
	// scheduling messages for the ancillary work (orders.go).
	Orders bool
	// Rounds injects the privacy incidents this many times over the
	// period (default 1), by other staff on other patients each time.
	Rounds int
	// Baseline is the enricher's usual-hours warm-up, to place the
	// outside-hours incident where Vigil can judge it.
	Baseline enrich.BaselineConfig
}

// Plan is everything that happens in the simulated period.
type Plan struct {
	Opt        PlanOptions
	H          *Hospital
	Encounters []*Encounter
	Intents    []Intent // in time order
	Incidents  []Incident
	Terminated []*Worker
	Skipped    []string // incidents that did not fit the period, and why
}

// Rule ids of Vigil's built-in rules (rules/linux, rules/healthcare) and
// of its privacy rules (internal/privacy), named in the ground truth.
const (
	RuleAccessAfterTerm      = "ba448759-1157-497a-a869-83fdb46a8c87"
	RuleLinuxLoginTerminated = "88a2ffac-c4cb-46c0-b973-b7ee45edb803"
	RuleOutsideHours         = "8b7762fa-6278-4aaf-8487-2a9084517fa0"
	RuleDICOMMedia           = "b9a96963-5736-4d96-93e8-fe3a8cb15004"
	RuleDICOMUnknownDest     = "f597e6a0-04b2-459d-a3d1-d5cff0f23869"
	RuleATNASecurityAlert    = "e75eba54-84f8-40e2-b01d-41420e70341f"
	RuleAuditLogUsed         = "14f56052-21fe-4bbc-b718-9fdfa76f28fc"
	RuleClinicalLoginBurst   = "eb4b68d7-ff89-465f-b8d0-836a956f0486"
	RuleWinLogonBurst        = "ee0daa6a-148a-495e-b24a-751a1c83bc77"
	RulePasswordSpraying     = "7bdd3c23-634e-4ced-a00b-ed8709e38738"
	RuleSSHBruteForce        = "a3f75c2e-91d4-4b68-bc0e-7d2a4e6f8b53"
	RuleSuccessAfterFailures = "4d9e2a61-c7b3-45f8-9a0d-3e6f1b8c5d27"

	RuleSnoopFamily     = privacy.RuleFamily
	RuleSnoopCoworker   = privacy.RuleCoworker
	RuleSnoopVIP        = privacy.RuleVIP
	RuleSelfAccess      = privacy.RuleSelf
	RuleDeceasedAccess  = privacy.RuleDeceased
	RuleNeighbourAccess = privacy.RuleNeighbour
	RuleBreakGlass      = privacy.RuleBreakGlass
	RuleBulkAccess      = privacy.RuleBulk
	RuleRepeatOffender  = privacy.RuleRepeat
)

// Hosts and addresses of the simulated network.
const (
	pacsIP       = "10.30.1.10"
	pacsAE       = "PACS01"
	citrixHost   = "CITRIX-01.riverton.local"
	citrixIP     = "10.20.1.5"
	remoteGWHost = "remote-gw01"
	remoteGWIP   = "10.20.1.9"
	domain       = "RIVERTON"
)

var linuxServers = []string{"ehr-db-01", "pacs-app-01", "fhir-api-01", "mirth-01"}

type planner struct {
	opt  PlanOptions
	h    *Hospital
	rng  *rand.Rand
	orng *rand.Rand // the ancillary feeds' own (orders.go)
	cseq int        // clinical messages planned
	// study and tech: the imaging study in progress, for its result.
	study string
	tech  *Worker
	plan  *Plan
	end   time.Time
	seq   int
	visit int
	busy  map[*Patient]bool // patients with an encounter in progress at planning time
	// off are workers with no background activity (the terminated).
	off map[*Worker]bool
	// actors and targets are the workers and patients incidents used.
	actors  map[*Worker]bool
	targets map[*Patient]bool
	// byHour indexes the encounters in progress in each hour of the period.
	byHour [][]*Encounter
}

// NewPlan plans the simulated period: the census at the start, new
// visits, care teams and the work of every department around them,
// logons, and the incidents.
func NewPlan(opt PlanOptions) *Plan {
	prof := Profiles[opt.Profile]
	if prof == nil {
		prof = Profiles["general"]
		opt.Profile = prof.Name
	}
	if opt.Beds > 0 {
		if opt.Staff <= 0 {
			opt.Staff = prof.baseStaff() * opt.Beds / prof.baseBeds()
		}
		if opt.Patients <= 0 {
			opt.Patients = 20 * opt.Beds
		}
	}
	if opt.Staff <= 0 {
		opt.Staff = 140
	}
	if opt.Patients <= 0 {
		opt.Patients = 600
	}
	if opt.Activity <= 0 {
		opt.Activity = 1
	}
	if opt.Location == nil {
		opt.Location = time.Local
	}
	if opt.Baseline.MinEvents <= 0 || opt.Baseline.MinSpan <= 0 {
		opt.Baseline = enrich.DefaultBaselineConfig()
	}
	h := NewHospitalOf(prof, opt.Seed, opt.Staff, opt.Patients)
	p := &planner{opt: opt, h: h, rng: rand.New(rand.NewPCG(opt.Seed, 0x706c616e)),
		orng: rand.New(rand.NewPCG(opt.Seed, 0x6f726473)), end: opt.Start.Add(opt.Span),
		busy: map[*Patient]bool{}, off: map[*Worker]bool{}, actors: map[*Worker]bool{}, targets: map[*Patient]bool{}}
	p.plan = &Plan{Opt: opt, H: h}
	// One member of staff left the day before the period starts; their
	// account was never disabled.
	if opt.Incidents {
		p.terminate()
	}
	p.registerAll()
	p.census()
	p.arrivals()
	p.index()
	for _, e := range p.plan.Encounters {
		p.encounterWork(e)
		p.services(e)
	}
	p.routine()
	p.logons()
	p.linuxAdmins()
	if opt.Incidents {
		p.incidents()
	}
	sort.SliceStable(p.plan.Intents, func(i, j int) bool {
		a, b := &p.plan.Intents[i], &p.plan.Intents[j]
		if !a.T.Equal(b.T) {
			return a.T.Before(b.T)
		}
		return a.Seq < b.Seq
	})
	return p.plan
}

func (p *planner) add(in Intent) *Intent {
	// Staff are patients too, and the background work (a unit's nurses,
	// the ED board, ancillary departments) may pick a member of staff's
	// own stay; in a hospital someone else treats them, and opening one's
	// own record is an incident (selfAccess), never background.
	if in.Incident < 0 && in.W != nil && in.P != nil && in.W.Patient >= 0 && in.W.Patient == in.P.Index {
		return &in
	}
	p.seq++
	in.Seq = p.seq
	p.plan.Intents = append(p.plan.Intents, in)
	return &p.plan.Intents[len(p.plan.Intents)-1]
}

func (p *planner) within(t time.Time) bool { return !t.Before(p.opt.Start) && t.Before(p.end) }

func (p *planner) hour(t time.Time) int { return t.In(p.opt.Location).Hour() }

// poisson draws a Poisson count with mean l.
func (p *planner) poisson(l float64) int {
	if l <= 0 {
		return 0
	}
	n, limit, prod := 0, math.Exp(-l), p.rng.Float64()
	for prod > limit {
		n++
		prod *= p.rng.Float64()
	}
	return n
}

func (p *planner) jitter(t time.Time, d time.Duration) time.Time {
	return t.Add(time.Duration(p.rng.Int64N(int64(d))))
}

func (p *planner) chance(x float64) bool { return p.rng.Float64() < x }

func (p *planner) terminate() {
	for _, w := range p.h.Workers[1:] {
		if w.Kind == Nurse && w.Dept.Kind == DeptWard && w.Shift == dayShift && w.Patient < 0 && len(w.Relatives) == 0 && len(w.Neighbours) == 0 {
			d := p.opt.Start.In(p.opt.Location).AddDate(0, 0, -1)
			w.TerminationDate = d.Format("2006-01-02")
			p.off[w] = true
			p.plan.Terminated = append(p.plan.Terminated, w)
			return
		}
	}
}

// registerAll sends every patient to the master patient index (A28) in
// the first minutes.
func (p *planner) registerAll() {
	for i, pt := range p.h.Patients {
		t := p.opt.Start.Add(time.Duration(i) * 100 * time.Millisecond)
		p.add(Intent{T: t, Kind: KindADT, Trigger: "A28", P: pt, Incident: -1})
	}
}

func (p *planner) pickFree(filter func(*Patient) bool) *Patient {
	for tries := 0; tries < 1000; tries++ {
		pt := p.h.Patients[p.rng.IntN(len(p.h.Patients))]
		if !p.busy[pt] && !pt.Deceased && (filter == nil || filter(pt)) {
			return pt
		}
	}
	return nil
}

func (p *planner) onShiftAt(ws []*Worker, t time.Time) []*Worker {
	var out []*Worker
	for _, w := range ws {
		if !p.off[w] && w.Shift.On(p.hour(t)) {
			out = append(out, w)
		}
	}
	return out
}

func (p *planner) pickOne(ws []*Worker) *Worker {
	var ok []*Worker
	for _, w := range ws {
		if !p.off[w] {
			ok = append(ok, w)
		}
	}
	if len(ok) == 0 {
		return nil
	}
	return ok[p.rng.IntN(len(ok))]
}

func (p *planner) nursesFor(d *Dept) []*Worker {
	var day, night []*Worker
	for _, n := range d.Nurses {
		if p.off[n] {
			continue
		}
		if n.Shift == nightShift {
			night = append(night, n)
		} else {
			day = append(day, n)
		}
	}
	var out []*Worker
	if len(day) > 0 {
		out = append(out, day[p.rng.IntN(len(day))])
	}
	if len(night) > 0 {
		out = append(out, night[p.rng.IntN(len(night))])
	}
	return out
}

func (p *planner) newEncounter(pt *Patient, d *Dept, class string, admit time.Time, los time.Duration) *Encounter {
	p.visit++
	// Visit numbers carry the period's start date: another run against the
	// same server makes new stays instead of rewriting these.
	e := &Encounter{Visit: fmt.Sprintf("V%s%05d", p.opt.Start.In(p.opt.Location).Format("060102"), p.visit), P: pt, Dept: d, Class: class, Admit: admit,
		Bed: fmt.Sprintf("%s^%d^%c^%s", d.Unit, 100+p.rng.IntN(60), 'A'+rune(p.rng.IntN(2)), p.h.Profile.Facility)}
	if dis := admit.Add(los); dis.Before(p.end) {
		e.Discharge = dis
	}
	e.Attending = p.pickOne(d.Physicians)
	switch class {
	case "E", "O":
		if on := p.onShiftAt(d.Physicians, admit); len(on) > 0 {
			e.Attending = on[p.rng.IntN(len(on))]
		}
		if on := p.onShiftAt(d.Nurses, admit); len(on) > 0 {
			e.Nurses = []*Worker{on[p.rng.IntN(len(on))]}
		}
	default:
		e.Nurses = p.nursesFor(d)
		// A consult by another department's physician on a fifth of the
		// stays; the ADT names the consultant half of the time.
		if p.chance(0.2) {
			var cands []*Worker
			for _, cd := range p.h.Depts {
				if cd.Consults && cd != d {
					cands = append(cands, cd.Physicians...)
				}
			}
			if c := p.pickOne(cands); c != nil {
				e.Consult, e.ConsultNamed = c, p.chance(0.5)
			}
		}
		// A transfer to intensive care for some stays that last.
		if icu := p.h.First(DeptICU); icu != nil && d.Kind != DeptICU && p.chance(0.1) {
			end := e.Discharge
			if end.IsZero() {
				end = p.end
			}
			if at := admit.Add(los / 3); at.After(p.opt.Start.Add(2*time.Hour)) && at.Before(end) {
				e.TransferAt, e.ICUAttending, e.ICUDept, e.ICUNurses = at, p.pickOne(icu.Physicians), icu, p.nursesFor(icu)
			}
		}
	}
	switch class {
	case "E":
		e.imaging = p.chance(0.35)
	case "O":
		e.imaging = p.chance(0.1)
	default:
		e.imaging = p.chance(0.25)
	}
	p.busy[pt] = true
	p.plan.Encounters = append(p.plan.Encounters, e)
	return e
}

// census admits patients before the start: their A01 is sent at the
// start, dated from their admission.
func (p *planner) census() {
	// Two VIPs and a protected record are in, on the first ward.
	var special []*Patient
	vips := 0
	for _, pt := range p.h.Patients {
		if pt.Deceased {
			continue
		}
		if (pt.VIP && vips < 2) || (pt.Protected && !pt.VIP && len(special) < 3) {
			if pt.VIP {
				vips++
			}
			special = append(special, pt)
		}
	}
	wards := p.h.Wards()
	for i, d := range wards {
		n := int(float64(d.Beds)*0.7 + 0.5)
		for j := 0; j < n; j++ {
			var pt *Patient
			if len(special) > 0 && i == 0 {
				pt, special = special[0], special[1:]
			} else {
				pt = p.pickFree(nil)
			}
			if pt == nil {
				continue
			}
			admit := p.opt.Start.Add(-time.Duration(2+p.rng.IntN(96)) * time.Hour)
			los := time.Duration(48+p.rng.IntN(120))*time.Hour + p.opt.Start.Sub(admit)/2
			p.newEncounter(pt, d, "I", admit, los)
		}
	}
}

// arrivals plans new admissions, emergency and clinic visits over the
// period.
func (p *planner) arrivals() {
	hours := int(p.opt.Span / time.Hour)
	ed := p.h.First(DeptEmergency)
	edRate := 1.7 * float64(p.opt.Staff) / 140
	if beds := p.opt.Beds; beds > 0 {
		edRate = 1.7 * float64(beds) / 68
	}
	for hr := 0; hr < hours; hr++ {
		t0 := p.opt.Start.Add(time.Duration(hr) * time.Hour)
		lh := p.hour(t0)
		peak := 1.0
		if lh < 7 || lh >= 22 {
			peak = 0.4
		}
		// Emergency visits: about 40 a day per 68 beds.
		for i := p.poisson(edRate * peak); ed != nil && i > 0; i-- {
			pt := p.pickFree(nil)
			if pt == nil {
				break
			}
			p.newEncounter(pt, ed, "E", p.jitter(t0, time.Hour), time.Duration(2*60+p.rng.IntN(240))*time.Minute)
		}
		// Admissions to the wards: a bed turns over every 4.5 days.
		for _, d := range p.h.DeptsOf(DeptWard) {
			if p.chance(float64(d.Beds) * 0.7 / 4.5 / 24 * peak) {
				if pt := p.pickFree(nil); pt != nil {
					p.newEncounter(pt, d, "I", p.jitter(t0, time.Hour), time.Duration(36+p.rng.IntN(120))*time.Hour)
				}
			}
		}
		// Clinic visits in office hours on weekdays.
		wd := t0.In(p.opt.Location).Weekday()
		if officeHours.On(lh) && wd != time.Saturday && wd != time.Sunday {
			for _, d := range p.h.DeptsOf(DeptClinic) {
				for i := p.poisson(1.5 * float64(len(d.Physicians))); i > 0; i-- {
					if pt := p.pickFree(nil); pt != nil {
						p.newEncounter(pt, d, "O", p.jitter(t0, time.Hour), time.Duration(20+p.rng.IntN(40))*time.Minute)
					}
				}
			}
		}
	}
}

// index lists, for every hour of the period, the encounters in progress
// in it (with the first ten minutes after their ADT message passed).
func (p *planner) index() {
	hours := int(p.opt.Span/time.Hour) + 1
	p.byHour = make([][]*Encounter, hours)
	for _, e := range p.plan.Encounters {
		from := max(0, int(e.Admit.Sub(p.opt.Start)/time.Hour))
		to := hours - 1
		if !e.Discharge.IsZero() {
			to = min(to, int(e.Discharge.Sub(p.opt.Start)/time.Hour))
		}
		for h := from; h <= to; h++ {
			p.byHour[h] = append(p.byHour[h], e)
		}
	}
}

// activeAt picks an encounter in progress at t (its ADT message sent)
// satisfying f.
func (p *planner) activeAt(t time.Time, f func(*Encounter) bool) *Encounter {
	cands := p.activeList(t, f)
	if len(cands) == 0 {
		return nil
	}
	return cands[p.rng.IntN(len(cands))]
}

func (p *planner) activeList(t time.Time, f func(*Encounter) bool) []*Encounter {
	h := int(t.Sub(p.opt.Start) / time.Hour)
	if h < 0 || h >= len(p.byHour) {
		return nil
	}
	var cands []*Encounter
	for _, e := range p.byHour[h] {
		if !e.inProgress(t, p.opt.Start) {
			continue
		}
		if f == nil || f(e) {
			cands = append(cands, e)
		}
	}
	return cands
}

// inProgress: admitted (its ADT message sent ten minutes ago) and not
// discharged at t.
func (e *Encounter) inProgress(t, start time.Time) bool {
	if e.Admit.Add(10*time.Minute).After(t) || e.Admit.Before(start) && t.Before(start.Add(10*time.Minute)) {
		return false
	}
	return e.Discharge.IsZero() || e.Discharge.After(t)
}

// unitAt is the department caring for the encounter at t.
func (e *Encounter) unitAt(t time.Time) *Dept {
	if !e.TransferAt.IsZero() && !t.Before(e.TransferAt) && e.ICUDept != nil {
		return e.ICUDept
	}
	return e.Dept
}

// teamMember is a care-team member's part in an encounter: from when to
// when, how many accesses an hour on shift, day hours only (attendings).
type teamMember struct {
	w        *Worker
	from, to time.Time
	rate     float64
	dayOnly  bool
}

// encounterWork plans an encounter's ADT messages and the accesses of its
// care team.
func (p *planner) encounterWork(e *Encounter) {
	start := e.Admit
	if start.Before(p.opt.Start) {
		start = p.opt.Start.Add(time.Duration(len(p.h.Patients))*100*time.Millisecond + time.Duration(p.rng.IntN(60))*time.Second)
	}
	trigger := "A01"
	if e.Class != "I" {
		trigger = "A04"
	}
	var rol []rolChange
	for _, n := range e.Nurses {
		rol = append(rol, rolChange{action: "AD", w: n, begin: e.Admit})
	}
	p.add(Intent{T: start, Kind: KindADT, Trigger: trigger, P: e.P, Enc: e, Rol: rol, Incident: -1})
	end := e.Discharge
	if end.IsZero() {
		end = p.end
	}
	var team []teamMember
	attendingTo := end
	nursesTo := end
	if !e.TransferAt.IsZero() {
		attendingTo, nursesTo = e.TransferAt, e.TransferAt
		var rol []rolChange
		for _, n := range e.Nurses {
			rol = append(rol, rolChange{action: "DE", w: n, begin: e.Admit, end: e.TransferAt})
		}
		for _, n := range e.ICUNurses {
			rol = append(rol, rolChange{action: "AD", w: n, begin: e.TransferAt})
		}
		p.add(Intent{T: e.TransferAt, Kind: KindADT, Trigger: "A02", P: e.P, Enc: e, Rol: rol, Incident: -1})
		if e.ICUAttending != nil {
			team = append(team, teamMember{e.ICUAttending, e.TransferAt, end, 0.4, true})
		}
		for _, n := range e.ICUNurses {
			team = append(team, teamMember{n, e.TransferAt, end, 1.1, false})
		}
	}
	if !e.Discharge.IsZero() {
		p.add(Intent{T: e.Discharge, Kind: KindADT, Trigger: "A03", P: e.P, Enc: e, Incident: -1})
	}
	physRate, nurseRate := 0.35, 1.0
	switch e.Class {
	case "E":
		physRate, nurseRate = 1.2, 2.0
	case "O":
		physRate, nurseRate = 2.0, 2.0
	}
	if e.Attending != nil {
		team = append(team, teamMember{e.Attending, e.Admit, attendingTo, physRate, e.Class == "I"})
	}
	if e.Consult != nil && e.ConsultNamed {
		team = append(team, teamMember{e.Consult, e.Admit, attendingTo, 0.12, true})
	}
	for _, n := range e.Nurses {
		team = append(team, teamMember{n, e.Admit, nursesTo, nurseRate, false})
	}
	for _, m := range team {
		if m.w == nil || p.off[m.w] {
			continue
		}
		from := m.from
		if from.Before(start) {
			from = start
		}
		// Accesses begin a few minutes after the ADT message.
		from = from.Add(5 * time.Minute)
		for t := from.Truncate(time.Hour); t.Before(m.to); t = t.Add(time.Hour) {
			if !m.w.Shift.On(p.hour(t)) || (m.dayOnly && !dayShift.On(p.hour(t))) {
				continue
			}
			for i := p.poisson(m.rate * p.opt.Activity); i > 0; i-- {
				at := p.jitter(t, time.Hour)
				if at.Before(from) || !at.Before(m.to) || !p.within(at) || !m.w.Shift.On(p.hour(at)) {
					continue
				}
				p.access(m.w, e, at, -1)
			}
		}
	}
}

var nurseActions = []string{"FLOWSHEET VIEWED", "MAR ADMINISTRATION DOCUMENTED", "CHART REVIEW", "NOTE VIEWED", "VITALS ENTERED"}
var physicianActions = []string{"CHART REVIEW", "PROGRESS NOTE SIGNED", "ORDER ENTERED", "RESULTS REVIEWED", "NOTE VIEWED"}
var fhirResources = []string{"Observation", "MedicationRequest", "Patient", "Condition", "DocumentReference"}

// access plans one access by a care-team member: an EHR row mostly, a
// FHIR AuditEvent from a clinical app sometimes.
func (p *planner) access(w *Worker, e *Encounter, at time.Time, incident int) {
	if !p.within(at) {
		return
	}
	if p.rng.IntN(10) < 3 {
		p.add(Intent{T: at, Kind: KindFHIR, W: w, P: e.P, Enc: e, Action: fhirResources[p.rng.IntN(len(fhirResources))], IP: w.WSIP,
			OK: true, Incident: incident})
		return
	}
	acts := physicianActions
	if w.Kind == Nurse || w.Kind == Student {
		acts = nurseActions
	}
	p.ehr(w, e, at, acts[p.rng.IntN(len(acts))], incident)
}

func (p *planner) ehr(w *Worker, e *Encounter, at time.Time, action string, incident int) *Intent {
	if !p.within(at) {
		return nil
	}
	n := len(p.plan.Intents)
	in := p.add(Intent{T: at, Kind: KindEHR, W: w, P: e.P, Enc: e, Action: action, Host: w.Workstation, IP: w.WSIP, OK: true, Incident: incident})
	if len(p.plan.Intents) == n {
		return in // not planned (one's own record)
	}
	p.feeds(*in)
	return &p.plan.Intents[n] // feeds may have grown the slice
}

// logons plans Windows logons at the start of every shift, screen
// unlocks during it, and the odd mistyped password.
func (p *planner) logons() {
	for _, w := range p.h.Workers {
		if p.off[w] {
			continue
		}
		for t := p.opt.Start.Truncate(time.Hour); t.Before(p.end); t = t.Add(time.Hour) {
			lh := p.hour(t)
			if lh != w.Shift.Start {
				continue
			}
			at := p.jitter(t, 20*time.Minute)
			if !p.within(at) {
				continue
			}
			if p.rng.IntN(30) == 0 {
				p.add(Intent{T: at.Add(-40 * time.Second), Kind: KindWinLogon, W: w, Host: w.Workstation, IP: w.WSIP, OK: false, Reason: "2", Incident: -1})
			}
			p.add(Intent{T: at, Kind: KindWinLogon, W: w, Host: w.Workstation, IP: w.WSIP, OK: true, Reason: "2", Incident: -1})
			for i := 0; i < 2+p.rng.IntN(2); i++ {
				u := at.Add(time.Duration(1+p.rng.IntN(10)) * time.Hour)
				if p.within(u) && w.Shift.On(p.hour(u)) {
					p.add(Intent{T: u, Kind: KindWinLogon, W: w, Host: w.Workstation, IP: w.WSIP, OK: true, Reason: "7", Incident: -1})
				}
			}
			// Radiology signs in to the PACS too.
			if w.Kind == Radiologist || w.Kind == RadTech {
				p.add(Intent{T: at.Add(2 * time.Minute), Kind: KindATNA, Trigger: "110114", W: w, IP: w.WSIP, OK: true, Incident: -1})
			}
		}
	}
}

var sudoCommands = []string{"/usr/bin/systemctl status postgresql", "/usr/bin/journalctl -u mirth --since today", "/usr/bin/df -h",
	"/usr/bin/systemctl restart nginx", "/usr/bin/apt list --upgradable"}

// linuxAdmins plans the IT team's SSH sessions to the servers.
func (p *planner) linuxAdmins() {
	for _, w := range p.h.OfKind(IT) {
		if p.off[w] {
			continue
		}
		for t := p.opt.Start.Truncate(time.Hour); t.Before(p.end); t = t.Add(time.Hour) {
			if !w.Shift.On(p.hour(t)) || p.rng.IntN(3) != 0 {
				continue
			}
			at := p.jitter(t, time.Hour)
			if !p.within(at) {
				continue
			}
			host := linuxServers[p.rng.IntN(len(linuxServers))]
			method := "publickey"
			if p.rng.IntN(5) == 0 {
				method = "password"
				if p.rng.IntN(8) == 0 {
					p.add(Intent{T: at.Add(-15 * time.Second), Kind: KindSSH, W: w, Host: host, IP: w.WSIP, OK: false, Reason: "password", Incident: -1})
				}
			}
			p.add(Intent{T: at, Kind: KindSSH, W: w, Host: host, IP: w.WSIP, OK: true, Reason: method, Incident: -1})
			if p.rng.IntN(2) == 0 {
				p.add(Intent{T: at.Add(time.Duration(1+p.rng.IntN(10)) * time.Minute), Kind: KindSudo, W: w, Host: host,
					Reason: sudoCommands[p.rng.IntN(len(sudoCommands))], OK: true, Incident: -1})
			}
		}
	}
}

// shiftTime returns the first time at or after from when w has been on
// shift for at least 30 minutes and has an hour left, within the period.
func (p *planner) shiftTime(w *Worker, from time.Time) (time.Time, bool) {
	for t := from; t.Before(p.end.Add(-time.Hour)); t = t.Add(10 * time.Minute) {
		if w.Shift.On(p.hour(t)) && w.Shift.On(p.hour(t.Add(-30*time.Minute))) && w.Shift.On(p.hour(t.Add(time.Hour))) {
			return t, true
		}
	}
	return time.Time{}, false
}

// activeEncounter returns an inpatient encounter in progress at t, whose
// care team does not include w, satisfying f.
func (p *planner) activeEncounter(t time.Time, w *Worker, f func(*Encounter) bool) *Encounter {
	var cands []*Encounter
	for _, e := range p.plan.Encounters {
		if e.Admit.After(t.Add(-time.Hour)) || (!e.Discharge.IsZero() && e.Discharge.Before(t.Add(time.Hour))) {
			continue
		}
		if e.onTeam(w) || (f != nil && !f(e)) {
			continue
		}
		cands = append(cands, e)
	}
	if len(cands) == 0 {
		return nil
	}
	return cands[p.rng.IntN(len(cands))]
}

func (e *Encounter) onTeam(w *Worker) bool {
	if e.Attending == w || (e.Consult == w && e.ConsultNamed) || e.ICUAttending == w {
		return true
	}
	for _, n := range append(append([]*Worker{}, e.Nurses...), e.ICUNurses...) {
		if n == w {
			return true
		}
	}
	return false
}
