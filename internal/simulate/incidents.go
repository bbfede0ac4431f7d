package simulate

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// Incident types, as written in the ground truth.
const (
	IncSnoopFamily        = "snoop_family"
	IncSnoopCoworker      = "snoop_coworker"
	IncSnoopVIP           = "snoop_vip"
	IncAfterTermination   = "access_after_termination"
	IncBulkAccess         = "bulk_access"
	IncBreakGlassMisuse   = "break_glass_misuse"
	IncPasswordSpray      = "password_spray"
	IncSSHBruteForce      = "ssh_brute_force"
	IncDICOMExportUnknown = "dicom_export_unknown_destination"
	IncDICOMExportMedia   = "dicom_export_media"
	IncOutsideHours       = "outside_usual_hours"
	IncClinicalLoginBurst = "clinical_login_burst"
	IncAuditLogUsed       = "audit_log_used"
	IncSecurityAlert      = "atna_security_alert"
	IncSelfAccess         = "self_access"
	IncDeceasedAccess     = "deceased_access"
	IncNeighbourAccess    = "neighbour_access"
	IncRepeatOffender     = "repeat_offender"
)

// ruleWinLogonTerminated is the Windows counterpart of the termination
// rules, which needs the vigil pipeline to leave healthcare.* fields of
// Windows rules unprefixed (docs/healthcare-detection.md); it may fire.
const ruleWinLogonTerminated = "b7aeb1d5-e860-4a32-8fd2-f1f36fa26a10"

// incident adds an incident's intents and its ground-truth record; the
// time window is that of its events.
func (p *planner) incident(inc Incident, intents ...Intent) {
	idx := len(p.plan.Incidents)
	for i := range intents {
		in := intents[i]
		if !p.within(in.T) {
			p.plan.Skipped = append(p.plan.Skipped, inc.Type+": does not fit the simulated period")
			return
		}
	}
	for i := range intents {
		in := intents[i]
		in.Incident = idx
		if in.W != nil {
			p.actors[in.W] = true
		}
		if in.P != nil {
			p.targets[in.P] = true
		}
		added := p.add(in)
		if in.Kind == KindEHR || in.Kind == KindFHIR {
			inc.AccessIDs = append(inc.AccessIDs, fmt.Sprintf("A%d-%d", p.opt.Seed, added.Seq))
		}
		if inc.Start.IsZero() || in.T.Before(inc.Start) {
			inc.Start = in.T
		}
		if in.T.After(inc.End) {
			inc.End = in.T
		}
	}
	p.plan.Incidents = append(p.plan.Incidents, inc)
}

func (p *planner) skip(typ, why string) { p.plan.Skipped = append(p.plan.Skipped, typ+": "+why) }

// incidents places the injected incidents: most in the first working
// hours of the period, the outside-hours one when the user's baseline
// can judge it.
func (p *planner) incidents() {
	s := p.opt.Start
	p.passwordSpray(s.Add(75 * time.Minute))
	p.sshBruteForce(s.Add(100 * time.Minute))
	p.securityAlert(s.Add(2 * time.Hour))
	snooper := p.snoopFamily(s.Add(90 * time.Minute))
	p.snoopCoworker(s.Add(110 * time.Minute))
	p.snoopVIP(s.Add(130 * time.Minute))
	p.afterTermination(s.Add(150 * time.Minute))
	p.breakGlass(s.Add(170 * time.Minute))
	p.dicomExport(s.Add(190*time.Minute), false)
	p.dicomExport(s.Add(250*time.Minute), true)
	p.bulkAccess(s.Add(4 * time.Hour))
	p.loginBurst(s.Add(5 * time.Hour))
	if snooper != nil {
		p.auditLogUsed(snooper.w, snooper.t.Add(50*time.Minute))
	}
	p.selfAccess(s.Add(200 * time.Minute))
	p.deceasedAccess(s.Add(220 * time.Minute))
	p.neighbourAccess(s.Add(240 * time.Minute))
	p.repeatOffender(s.Add(6 * time.Hour))
	p.outsideHours()
	// More rounds of the privacy incidents, spread over the period, each
	// by other members of staff on other patients.
	if p.opt.Rounds > 1 {
		gap := (p.opt.Span - 8*time.Hour) / time.Duration(p.opt.Rounds)
		for r := 1; r < p.opt.Rounds; r++ {
			at := s.Add(time.Duration(r) * gap)
			p.snoopFamily(at.Add(90 * time.Minute))
			p.snoopCoworker(at.Add(110 * time.Minute))
			p.snoopVIP(at.Add(130 * time.Minute))
			p.breakGlass(at.Add(170 * time.Minute))
			p.bulkAccess(at.Add(4 * time.Hour))
			p.selfAccess(at.Add(200 * time.Minute))
			p.deceasedAccess(at.Add(220 * time.Minute))
			p.neighbourAccess(at.Add(240 * time.Minute))
			p.repeatOffender(at.Add(6 * time.Hour))
		}
	}
}

// busyActors are the workers the incidents so far used: each incident
// takes its own, so that no alert of one is taken for another's.
func (p *planner) busyActors() map[*Worker]bool { return p.actors }

// selfAccess: a member of staff who is a patient opens their own record.
func (p *planner) selfAccess(from time.Time) {
	busy := p.busyActors()
	var cands []*Worker
	for _, w := range p.h.Workers {
		if w.Patient >= 0 && !busy[w] && !p.off[w] && !p.targets[p.h.Patients[w.Patient]] {
			cands = append(cands, w)
		}
	}
	w, t := p.earliest(cands, from)
	if w == nil {
		p.skip(IncSelfAccess, "no member of staff who is a patient on shift")
		return
	}
	pt := p.h.Patients[w.Patient]
	p.incident(Incident{Type: IncSelfAccess, Rules: []string{RuleSelfAccess}, User: w.Login, Patient: pt.MRN,
		Description: "a member of staff opens their own record"},
		Intent{T: t, Kind: KindEHR, W: w, P: pt, Action: "RESULTS REVIEWED", Host: w.Workstation, IP: w.WSIP, OK: true},
		Intent{T: t.Add(3 * time.Minute), Kind: KindEHR, W: w, P: pt, Action: "NOTE VIEWED", Host: w.Workstation, IP: w.WSIP, OK: true})
}

// deceasedAccess: a member of staff opens the record of a patient who
// died before the period (a VIP, curiosity about a death in the news).
func (p *planner) deceasedAccess(from time.Time) {
	var pt *Patient
	for _, x := range p.h.Patients {
		if x.Deceased && !p.targets[x] && (pt == nil || x.VIP && !pt.VIP) {
			pt = x
		}
	}
	if pt == nil {
		p.skip(IncDeceasedAccess, "no deceased patient")
		return
	}
	busy := p.busyActors()
	var cands []*Worker
	for _, w := range p.h.Workers {
		if (w.Kind == Nurse || w.Kind == Registrar || w.Kind == LabTech) && !busy[w] && len(w.Relatives) == 0 && w.Patient < 0 {
			cands = append(cands, w)
		}
	}
	w, t := p.earliest(cands, from)
	if w == nil {
		p.skip(IncDeceasedAccess, "nobody on shift")
		return
	}
	p.incident(Incident{Type: IncDeceasedAccess, Rules: []string{RuleDeceasedAccess}, Also: []string{RuleSnoopVIP}, User: w.Login, Patient: pt.MRN,
		Description: "a member of staff opens the record of a patient who died"},
		Intent{T: t, Kind: KindEHR, W: w, P: pt, Action: "CHART REVIEW", Host: w.Workstation, IP: w.WSIP, OK: true},
		Intent{T: t.Add(2 * time.Minute), Kind: KindFHIR, W: w, P: pt, Action: "DocumentReference", IP: w.WSIP, OK: true})
}

// neighbourAccess: a member of staff opens the record of someone living
// on their street.
func (p *planner) neighbourAccess(from time.Time) {
	busy := p.busyActors()
	var cands []*Worker
	for _, w := range p.h.Workers {
		if len(w.Neighbours) > 0 && !busy[w] && !p.off[w] && w.Patient < 0 && len(w.Relatives) == 0 && !p.targets[p.h.Patients[w.Neighbours[0]]] {
			cands = append(cands, w)
		}
	}
	w, t := p.earliest(cands, from)
	if w == nil {
		p.skip(IncNeighbourAccess, "no member of staff with a neighbour in the patient index on shift")
		return
	}
	pt := p.h.Patients[w.Neighbours[0]]
	p.incident(Incident{Type: IncNeighbourAccess, Rules: []string{RuleNeighbourAccess}, User: w.Login, Patient: pt.MRN,
		Description: "a member of staff opens the record of a neighbour"},
		Intent{T: t, Kind: KindEHR, W: w, P: pt, Action: "DEMOGRAPHICS VIEWED", Host: w.Workstation, IP: w.WSIP, OK: true})
}

// repeatOffender: one member of staff looks up three people they have no
// business with over a few hours — a VIP, a co-worker, a neighbour of a
// colleague — and is escalated.
func (p *planner) repeatOffender(from time.Time) {
	busy := p.busyActors()
	// Records the directory knows to be sensitive: members of staff
	// (matched from the roster), then VIPs with a stay (the ADT flags
	// them).
	var targets []*Patient
	for _, x := range p.h.Patients {
		if len(targets) < 3 && !x.Deceased && x.StaffOf >= 0 && !busy[p.h.Workers[x.StaffOf]] && !p.targets[x] {
			targets = append(targets, x)
		}
	}
	for _, e := range p.plan.Encounters {
		if len(targets) < 3 && e.P.VIP && e.Admit.Before(from.Add(-time.Hour)) && (e.Discharge.IsZero() || e.Discharge.After(from.Add(3*time.Hour))) &&
			!slices.Contains(targets, e.P) && !p.targets[e.P] {
			targets = append(targets, e.P)
		}
	}
	for _, x := range p.h.Patients {
		if len(targets) < 3 && x.Deceased && !p.targets[x] && !slices.Contains(targets, x) {
			targets = append(targets, x)
		}
	}
	var cands []*Worker
	for _, w := range p.h.Workers {
		if (w.Kind != Registrar && w.Kind != Billing && w.Kind != Nurse) || w.Shift == nightShift || busy[w] || p.off[w] ||
			w.Patient >= 0 || len(w.Relatives) > 0 || len(w.Neighbours) > 0 {
			continue
		}
		related := false
		for _, x := range targets {
			related = related || x.StaffOf == w.Index
		}
		if !related {
			cands = append(cands, w)
		}
	}
	w, t := p.earliest(cands, from)
	if w == nil || len(targets) < 3 {
		p.skip(IncRepeatOffender, "no three unrelated sensitive records, or nobody on shift")
		return
	}
	var ins []Intent
	for i, x := range targets {
		ins = append(ins, Intent{T: t.Add(time.Duration(i) * 40 * time.Minute), Kind: KindEHR, W: w, P: x, Action: "CHART REVIEW",
			Host: w.Workstation, IP: w.WSIP, OK: true})
	}
	p.incident(Incident{Type: IncRepeatOffender, Rules: []string{RuleRepeatOffender}, Also: []string{RuleSnoopVIP, RuleSnoopCoworker, RuleDeceasedAccess},
		User: w.Login, Description: "one member of staff opens three sensitive records without reason within two hours"}, ins...)
}

type actorAt struct {
	w *Worker
	t time.Time
}

// earliest returns, among ws, the worker who can act first at or after
// from (on shift with margin).
func (p *planner) earliest(ws []*Worker, from time.Time) (*Worker, time.Time) {
	var best *Worker
	var bt time.Time
	for _, w := range ws {
		if p.off[w] {
			continue
		}
		if t, ok := p.shiftTime(w, from); ok && (best == nil || t.Before(bt)) {
			best, bt = w, t
		}
	}
	return best, bt
}

func (p *planner) snoopFamily(from time.Time) *actorAt {
	var cands []*Worker
	for _, w := range p.h.Workers {
		if len(w.Relatives) > 0 && !p.actors[w] && !p.targets[p.h.Patients[w.Relatives[0]]] {
			cands = append(cands, w)
		}
	}
	w, t := p.earliest(cands, from)
	if w == nil {
		p.skip(IncSnoopFamily, "no member of staff with a relative on shift")
		return nil
	}
	rel := p.h.Patients[w.Relatives[0]]
	var ins []Intent
	for i, a := range []string{"CHART REVIEW", "RESULTS REVIEWED", "NOTE VIEWED"} {
		ins = append(ins, Intent{T: t.Add(time.Duration(i) * 3 * time.Minute), Kind: KindEHR, W: w, P: rel, Action: a, Host: w.Workstation, IP: w.WSIP, OK: true})
	}
	p.incident(Incident{Type: IncSnoopFamily, Rules: []string{RuleSnoopFamily}, User: w.Login, Patient: rel.MRN,
		Description: "a member of staff opens the record of a family member they do not treat"}, ins...)
	return &actorAt{w, t}
}

func (p *planner) snoopCoworker(from time.Time) {
	for _, s := range p.h.Workers {
		if s.Patient < 0 || p.off[s] || p.targets[p.h.Patients[s.Patient]] {
			continue
		}
		var cands []*Worker
		for _, w := range s.Dept.Staff {
			if w != s && len(w.Relatives) == 0 && !p.actors[w] {
				cands = append(cands, w)
			}
		}
		w, t := p.earliest(cands, from)
		if w == nil {
			continue
		}
		pt := p.h.Patients[s.Patient]
		p.incident(Incident{Type: IncSnoopCoworker, Rules: []string{RuleSnoopCoworker}, User: w.Login, Patient: pt.MRN,
			Description: "a member of staff looks up a colleague's record through a FHIR app"},
			Intent{T: t, Kind: KindFHIR, W: w, P: pt, Action: "Patient", IP: w.WSIP, OK: true},
			Intent{T: t.Add(2 * time.Minute), Kind: KindFHIR, W: w, P: pt, Action: "Condition", IP: w.WSIP, OK: true})
		return
	}
	p.skip(IncSnoopCoworker, "no member of staff who is a patient")
}

func (p *planner) snoopVIP(from time.Time) {
	var vip *Encounter
	for _, e := range p.plan.Encounters {
		if e.P.VIP && !p.targets[e.P] && (e.Admit.Before(p.opt.Start) || e.Admit.Before(from.Add(-time.Hour))) {
			vip = e
			break
		}
	}
	if vip == nil {
		p.skip(IncSnoopVIP, "no VIP known to the directory")
		return
	}
	var cands []*Worker
	others := p.h.OfKind(Registrar)
	for _, d := range p.h.DeptsOf(DeptWard) {
		if d != vip.Dept {
			others = append(others, d.Nurses...)
		}
	}
	for _, w := range others {
		if !vip.onTeam(w) && len(w.Relatives) == 0 && !p.actors[w] && w.Dept != vip.Dept {
			cands = append(cands, w)
		}
	}
	w, t := p.earliest(cands, from)
	if w == nil {
		p.skip(IncSnoopVIP, "nobody on shift")
		return
	}
	p.incident(Incident{Type: IncSnoopVIP, Rules: []string{RuleSnoopVIP}, User: w.Login, Patient: vip.P.MRN,
		Description: "a member of staff opens a VIP's record without being on the care team"},
		Intent{T: t, Kind: KindEHR, W: w, P: vip.P, Action: "CHART REVIEW", Host: w.Workstation, IP: w.WSIP, OK: true},
		Intent{T: t.Add(90 * time.Second), Kind: KindEHR, W: w, P: vip.P, Action: "DEMOGRAPHICS VIEWED", Host: w.Workstation, IP: w.WSIP, OK: true})
}

func (p *planner) plainCensus(t time.Time, not *Worker, n int, also ...func(*Encounter) bool) []*Encounter {
	var out []*Encounter
	seen := map[*Encounter]bool{}
	for tries := 0; len(out) < n && tries < 200; tries++ {
		e := p.activeEncounter(t, not, func(e *Encounter) bool {
			for _, f := range also {
				if !f(e) {
					return false
				}
			}
			return !e.P.Sensitive() && e.Class == "I"
		})
		if e != nil && !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

func (p *planner) afterTermination(from time.Time) {
	if len(p.plan.Terminated) == 0 {
		return
	}
	w := p.plan.Terminated[0]
	t, ok := p.shiftTime(w, from)
	if !ok {
		p.skip(IncAfterTermination, "no time in the period")
		return
	}
	home := "198.51.100.45"
	ins := []Intent{
		{T: t, Kind: KindSSH, W: w, Host: remoteGWHost, IP: home, OK: true, Reason: "password"},
		{T: t.Add(time.Minute), Kind: KindWinLogon, W: w, Host: citrixHost, IP: remoteGWIP, OK: true, Reason: "10"},
	}
	for i, e := range p.plainCensus(t, w, 3) {
		ins = append(ins, Intent{T: t.Add(time.Duration(3+4*i) * time.Minute), Kind: KindEHR, W: w, P: e.P, Enc: e, Action: "CHART REVIEW",
			Host: "CITRIX-01", IP: remoteGWIP, OK: true})
	}
	p.incident(Incident{Type: IncAfterTermination, Rules: []string{RuleAccessAfterTerm, RuleLinuxLoginTerminated},
		Also: []string{ruleWinLogonTerminated}, User: w.Login,
		Description: "a nurse who left yesterday signs in through the remote-access gateway and opens patient records"}, ins...)
}

func (p *planner) breakGlass(from time.Time) {
	wards := p.h.DeptsOf(DeptWard)
	if len(wards) < 2 {
		p.skip(IncBreakGlassMisuse, "one ward only")
		return
	}
	var nurses []*Worker
	for _, n := range wards[len(wards)-1].Nurses {
		if !p.actors[n] {
			nurses = append(nurses, n)
		}
	}
	w, t := p.earliest(nurses, from)
	if w == nil {
		p.skip(IncBreakGlassMisuse, "nobody on shift")
		return
	}
	es := p.plainCensus(t, w, 1, func(e *Encounter) bool { return e.Dept != w.Dept && !p.targets[e.P] })
	if len(es) == 0 {
		p.skip(IncBreakGlassMisuse, "no patient in")
		return
	}
	e := es[0]
	p.incident(Incident{Type: IncBreakGlassMisuse, Rules: []string{RuleBreakGlass}, User: w.Login, Patient: e.P.MRN,
		Description: "a nurse from another unit breaks the glass on a patient she does not treat"},
		Intent{T: t, Kind: KindEHR, W: w, P: e.P, Enc: e, Action: "CHART REVIEW", Host: w.Workstation, IP: w.WSIP, OK: true, Flag: true,
			Reason: "Emergency - patient deteriorating"},
		Intent{T: t.Add(2 * time.Minute), Kind: KindFHIR, W: w, P: e.P, Enc: e, Action: "Observation", IP: w.WSIP, OK: true, Flag: true})
}

func (p *planner) dicomExport(from time.Time, media bool) {
	w, t := p.earliest(p.h.OfKind(RadTech), from)
	if w == nil {
		p.skip(IncDICOMExportUnknown, "no technologist on shift")
		return
	}
	es := p.plainCensus(t, w, 1)
	if len(es) == 0 {
		p.skip(IncDICOMExportUnknown, "no patient in")
		return
	}
	e := es[0]
	if media {
		p.incident(Incident{Type: IncDICOMExportMedia, Rules: []string{RuleDICOMMedia}, User: w.Login, Patient: e.P.MRN,
			Description: "a technologist burns a study to a DVD"},
			Intent{T: t, Kind: KindATNA, Trigger: "110106", W: w, P: e.P, IP: w.WSIP, Media: "DVD", OK: true})
		return
	}
	p.incident(Incident{Type: IncDICOMExportUnknown, Rules: []string{RuleDICOMUnknownDest}, User: w.Login, Patient: e.P.MRN,
		Host: "198.51.100.23", Description: "a technologist sends a study to an address outside the network"},
		Intent{T: t, Kind: KindATNA, Trigger: "110106", W: w, P: e.P, IP: w.WSIP, Dst: "198.51.100.23", DstAE: "EXT_SHARE", OK: true})
}

func (p *planner) bulkAccess(from time.Time) {
	var bills []*Worker
	for _, b := range p.h.OfKind(Billing) {
		if !p.actors[b] {
			bills = append(bills, b)
		}
	}
	w, t := p.earliest(bills, from)
	if w == nil {
		p.skip(IncBulkAccess, "no billing specialist on shift")
		return
	}
	var targets []*Patient
	for _, i := range p.rng.Perm(len(p.h.Patients)) {
		if pt := p.h.Patients[i]; !pt.Sensitive() {
			targets = append(targets, pt)
		}
		if len(targets) == 45 {
			break
		}
	}
	var ins []Intent
	for i, pt := range targets {
		ins = append(ins, Intent{T: t.Add(time.Duration(i) * 35 * time.Second), Kind: KindEHR, W: w, P: pt, Action: "PATIENT DEMOGRAPHICS VIEWED",
			Host: w.Workstation, IP: w.WSIP, OK: true})
	}
	p.incident(Incident{Type: IncBulkAccess, Rules: []string{RuleBulkAccess}, User: w.Login,
		Description: fmt.Sprintf("a billing specialist opens %d patients' records in %d minutes", len(targets), len(targets)*35/60)}, ins...)
}

func (p *planner) loginBurst(from time.Time) {
	w, t := p.earliest(p.h.OfKind(Radiologist), from)
	if w == nil {
		p.skip(IncClinicalLoginBurst, "no radiologist on shift")
		return
	}
	var ins []Intent
	for i := 0; i < 6; i++ {
		ins = append(ins, Intent{T: t.Add(time.Duration(i) * 80 * time.Second), Kind: KindATNA, Trigger: "110114", W: w, IP: "10.30.4.99", OK: false})
	}
	p.incident(Incident{Type: IncClinicalLoginBurst, Rules: []string{RuleClinicalLoginBurst}, User: w.Login, SourceIP: "10.30.4.99",
		Description: "six failed PACS logins for a radiologist's account from one workstation"}, ins...)
}

func (p *planner) passwordSpray(t time.Time) {
	ip := "203.0.113.66"
	users := []string{"admin", "scanner", "test"}
	for _, i := range p.rng.Perm(len(p.h.Workers)) {
		if len(users) == 12 {
			break
		}
		users = append(users, p.h.Workers[i].Login)
	}
	var ins []Intent
	for i, u := range users {
		ins = append(ins, Intent{T: t.Add(time.Duration(i) * 90 * time.Second), Kind: KindWinLogon, User: u, Host: citrixHost, IP: ip, OK: false, Reason: "3"})
	}
	p.incident(Incident{Type: IncPasswordSpray, Rules: []string{RulePasswordSpraying}, Also: []string{RuleWinLogonBurst}, SourceIP: ip, Host: citrixHost,
		Description: "one password tried against twelve accounts on the Citrix server from the Internet"}, ins...)
}

func (p *planner) sshBruteForce(t time.Time) {
	ip := "198.51.100.77"
	var ins []Intent
	for i := 0; i < 24; i++ {
		u := "root"
		if i%3 == 2 {
			u = "admin"
		}
		ins = append(ins, Intent{T: t.Add(time.Duration(i) * 10 * time.Second), Kind: KindSSH, User: u, Host: "ehr-db-01", IP: ip, OK: false, Reason: "password"})
	}
	p.incident(Incident{Type: IncSSHBruteForce, Rules: []string{RuleSSHBruteForce}, SourceIP: ip, Host: "ehr-db-01",
		Description: "24 SSH password guesses for root and admin against the EHR database server"}, ins...)
}

func (p *planner) securityAlert(t time.Time) {
	ip := "203.0.113.200"
	p.incident(Incident{Type: IncSecurityAlert, Rules: []string{RuleATNASecurityAlert}, SourceIP: ip,
		Description: "the PACS refuses a node that fails TLS authentication"},
		Intent{T: t, Kind: KindATNA, Trigger: "110113", User: "UNKNOWN_NODE", IP: ip, OK: false, Action: "110126"})
}

func (p *planner) auditLogUsed(w *Worker, from time.Time) {
	t, ok := p.shiftTime(w, from)
	if !ok {
		p.skip(IncAuditLogUsed, "no time in the period")
		return
	}
	p.incident(Incident{Type: IncAuditLogUsed, Rules: []string{RuleAuditLogUsed}, User: w.Login,
		Description: "the member of staff who looked up a relative then reads the access audit trail"},
		Intent{T: t, Kind: KindATNA, Trigger: "110101", W: w, IP: w.WSIP, OK: true})
}

// outsideHours picks a day-shift nurse whose baseline is warm and has
// her open two of her patients' records late at night.
func (p *planner) outsideHours() {
	type stat struct {
		first time.Time
		times []time.Time
		encs  []*Encounter
	}
	st := map[*Worker]*stat{}
	var order []*Worker
	for i := range p.plan.Intents {
		in := &p.plan.Intents[i]
		if in.Incident >= 0 || in.W == nil || in.P == nil || (in.Kind != KindEHR && in.Kind != KindFHIR && in.Kind != KindATNA) {
			continue
		}
		s := st[in.W]
		if s == nil {
			s = &stat{first: in.T}
			st[in.W] = s
			order = append(order, in.W)
		}
		if in.T.Before(s.first) {
			s.first = in.T
		}
		s.times = append(s.times, in.T)
		if in.Enc != nil && !in.P.Sensitive() && in.Enc.onTeam(in.W) {
			s.encs = append(s.encs, in.Enc)
		}
	}
	sort.Slice(order, func(i, j int) bool { return order[i].Index < order[j].Index })
	minSpan := p.opt.Baseline.MinSpan + time.Hour
	minEvents := int(p.opt.Baseline.MinEvents) + 10
	var best *Worker
	var bt time.Time
	for _, w := range order {
		if w.Kind != Nurse || w.Shift != dayShift || p.off[w] {
			continue
		}
		s := st[w]
		if len(s.encs) == 0 {
			continue
		}
		for t := s.first.Add(minSpan).Truncate(10 * time.Minute); t.Before(p.end.Add(-30 * time.Minute)); t = t.Add(10 * time.Minute) {
			h := p.hour(t)
			if h != 22 && h != 23 && h != 0 && h != 1 && h != 2 {
				continue
			}
			n := 0
			for _, x := range s.times {
				if x.Before(t) {
					n++
				}
			}
			if n >= minEvents {
				if best == nil || t.Before(bt) {
					best, bt = w, t
				}
				break
			}
		}
	}
	if best == nil {
		p.skip(IncOutsideHours, "no nurse's baseline is warm before the period ends (simulate a longer period)")
		return
	}
	s := st[best]
	e1 := s.encs[len(s.encs)-1]
	p.incident(Incident{Type: IncOutsideHours, Rules: []string{RuleOutsideHours}, User: best.Login, Patient: e1.P.MRN,
		Description: "a day-shift nurse opens records from the remote-access server late at night"},
		Intent{T: bt, Kind: KindEHR, W: best, P: e1.P, Enc: e1, Action: "CHART REVIEW", Host: "CITRIX-01", IP: remoteGWIP, OK: true},
		Intent{T: bt.Add(12 * time.Minute), Kind: KindEHR, W: best, P: e1.P, Enc: e1, Action: "NOTE VIEWED", Host: "CITRIX-01", IP: remoteGWIP, OK: true})
}
