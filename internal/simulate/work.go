package simulate

import (
	"fmt"
	"time"
)

// The legitimate work around the patients, beyond their care team: what
// makes a real access log hard to audit. None of these people is on the
// care team the ADT feed carries, yet every access is routine:
//
//   - registration at arrival, transport at admission, transfer and
//     discharge, insurance verification within a day;
//   - pharmacists verifying medication orders at admission and daily;
//     laboratory staff with the morning draw and emergency tests;
//     imaging (a technologist performs, a radiologist reads);
//   - case management and dietitians on inpatients;
//   - a consultant from another department, named in the ADT or not;
//   - billing and coding (health information management) in the days
//     after discharge, and the odd release-of-information request on a
//     past patient;
//   - the emergency department's staff on its tracking board;
//   - ward nurses at shift change and covering colleagues on their unit,
//     float nurses sent to a ward for a shift, students following their
//     physician;
//   - a physician breaking the glass on an emergency arrival before the
//     registration reaches the ADT feed.
//
// Every patient is treated alike, VIPs, staff and their families
// included: their records are opened by the same services.

// services plans the work of the departments around one encounter.
func (p *planner) services(e *Encounter) {
	end := e.Discharge
	if end.IsZero() {
		end = p.end
	}
	arrival := e.Admit
	inPeriod := arrival.After(p.opt.Start)
	// Registration at arrival (the emergency department's own clerks
	// there), and insurance verification within a day.
	if inPeriod {
		regs := p.kindIn(Registrar, e.Dept)
		if len(regs) == 0 || e.Dept.Kind != DeptEmergency {
			regs = p.kindOf(Registrar, DeptRegistration)
		}
		p.service(regs, e, p.jitter(arrival.Add(3*time.Minute), 15*time.Minute), "REGISTRATION ACTIVITY")
		if e.Class == "I" || p.chance(0.3) {
			p.serviceOffice(p.kindOf(Billing, DeptBilling), e, arrival, 24*time.Hour, "INSURANCE VERIFICATION")
		}
	}
	// Transport: to the ward and to intensive care once the bed is
	// assigned, out around the discharge.
	if e.Class != "O" {
		for i, t := range []time.Time{arrival, e.TransferAt, e.Discharge} {
			if t.IsZero() || !t.After(p.opt.Start) || !p.chance(0.6) {
				continue
			}
			d := time.Duration(5+p.rng.IntN(40)) * time.Minute
			if i == 2 {
				d = time.Duration(p.rng.IntN(60)-45) * time.Minute
			}
			p.service(p.h.OfKind(Transport), e, t.Add(d), "PATIENT TRANSPORT REQUEST")
		}
	}
	// Pharmacy: admission medication verification, then daily for
	// inpatients; half of the emergency visits.
	if e.Class == "I" || e.Class == "E" && p.chance(0.5) {
		if inPeriod {
			p.service(p.h.OfKind(Pharmacist), e, arrival.Add(time.Duration(30+p.rng.IntN(150))*time.Minute), "MEDICATION ORDER VERIFIED")
		}
		if e.Class == "I" {
			p.daily(e, end, p.h.OfKind(Pharmacist), 7, 12, 1.3, "MEDICATION ORDER VERIFIED")
		}
	}
	// Laboratory: the morning draw of inpatients, emergency tests.
	switch e.Class {
	case "I":
		p.daily(e, end, p.h.OfKind(LabTech), 5, 3, 1.1, "LAB RESULT RELEASED")
	case "E":
		if inPeriod && p.chance(0.7) {
			p.service(p.h.OfKind(LabTech), e, arrival.Add(time.Duration(20+p.rng.IntN(60))*time.Minute), "LAB RESULT RELEASED")
		}
	}
	// Case management and nutrition for inpatients.
	if e.Class == "I" {
		p.daily(e, end, p.h.OfKind(CaseManager), 9, 8, 0.7, "CASE MANAGEMENT NOTE")
		if p.chance(0.6) {
			p.service(p.h.OfKind(Dietitian), e, p.jitter(later(arrival, p.opt.Start).Add(6*time.Hour), 36*time.Hour), "NUTRITION ASSESSMENT")
		}
	}
	// A consultant the ADT does not name opens the record a few times.
	if e.Consult != nil && !e.ConsultNamed {
		for i := 0; i < 1+p.rng.IntN(3); i++ {
			p.service([]*Worker{e.Consult}, e, p.jitter(later(arrival, p.opt.Start).Add(2*time.Hour), 48*time.Hour), "CONSULT NOTE")
		}
	}
	// Imaging: performed, then read.
	if e.imaging {
		p.imaging(e, end)
	}
	// After discharge: billing within a few days, coding within a week or
	// two, in office hours.
	if !e.Discharge.IsZero() {
		for i := 0; i < 1+p.rng.IntN(2); i++ {
			p.serviceOffice(p.kindOf(Billing, DeptBilling), e, e.Discharge.Add(time.Duration(p.rng.IntN(5*24))*time.Hour), 24*time.Hour, "ACCOUNT CHARGES REVIEWED")
		}
		if e.Class != "O" || p.chance(0.3) {
			for i := 0; i < 1+p.rng.IntN(3); i++ {
				p.serviceOffice(p.h.OfKind(HIM), e, e.Discharge.Add(time.Duration(12+p.rng.IntN(10*24))*time.Hour), 24*time.Hour, "CHART CODING")
			}
		}
	}
	// Break-glass on an emergency arrival before its registration reaches
	// the ADT feed: the physician is its attending a few minutes later.
	if e.Dept.Kind == DeptEmergency && inPeriod && e.Attending != nil && p.chance(0.06) {
		at := arrival.Add(-time.Duration(2+p.rng.IntN(6)) * time.Minute)
		if p.within(at) {
			p.add(Intent{T: at, Kind: KindEHR, W: e.Attending, P: e.P, Enc: e, Action: "CHART REVIEW", Host: e.Attending.Workstation,
				IP: e.Attending.WSIP, OK: true, Flag: true, Reason: "Emergency - trauma arrival", Incident: -1})
		}
	}
}

// kindOf returns the workers of a kind in the departments of a kind.
func (p *planner) kindOf(k Kind, dk DeptKind) []*Worker {
	var out []*Worker
	for _, d := range p.h.DeptsOf(dk) {
		for _, w := range d.Staff {
			if w.Kind == k {
				out = append(out, w)
			}
		}
	}
	return out
}

// kindIn returns the workers of a kind in a department.
func (p *planner) kindIn(k Kind, d *Dept) []*Worker {
	var out []*Worker
	for _, w := range d.Staff {
		if w.Kind == k {
			out = append(out, w)
		}
	}
	return out
}

// service plans one access by one of ws on shift at t, when the
// encounter's patient can be opened then (the period, before a discharge
// long past is fine: records outlive stays).
func (p *planner) service(ws []*Worker, e *Encounter, t time.Time, action string) {
	if !p.within(t) || t.Before(e.Admit.Add(-time.Hour)) {
		return
	}
	// Staff hand their own record and their family's to a colleague.
	var ok []*Worker
	for _, w := range p.onShiftAt(ws, t) {
		if !p.conflicted(w, e.P) {
			ok = append(ok, w)
		}
	}
	if w := p.pickOne(ok); w != nil {
		p.ehr(w, e, t, action, -1)
	}
}

// conflicted reports whether a worker is the patient or family of them:
// records a member of staff leaves to colleagues.
func (p *planner) conflicted(w *Worker, pt *Patient) bool {
	return pt.StaffOf == w.Index || pt.RelativeOf == w.Index
}

// serviceOffice plans one access by one of ws at or after t, moved into
// the office hours of that day or the next working day, spread over
// spread.
func (p *planner) serviceOffice(ws []*Worker, e *Encounter, t time.Time, spread time.Duration, action string) {
	t = p.jitter(t, spread)
	for i := 0; i < 7 && !officeHours.On(p.hour(t)); i++ {
		d := t.In(p.opt.Location)
		next := time.Date(d.Year(), d.Month(), d.Day(), officeHours.Start, 0, 0, 0, p.opt.Location)
		if !next.After(t) {
			next = next.AddDate(0, 0, 1)
		}
		t = next.Add(time.Duration(p.rng.IntN(8*60)) * time.Minute)
	}
	p.service(ws, e, t, action)
}

// daily plans accesses each day of a stay around a local hour (spread
// over hours), rate times a day on average.
func (p *planner) daily(e *Encounter, end time.Time, ws []*Worker, hour, spread int, rate float64, action string) {
	from := later(e.Admit, p.opt.Start).In(p.opt.Location)
	for d := time.Date(from.Year(), from.Month(), from.Day(), hour, 0, 0, 0, p.opt.Location); d.Before(end); d = d.AddDate(0, 0, 1) {
		for i := p.poisson(rate); i > 0; i-- {
			t := p.jitter(d, time.Duration(spread)*time.Hour)
			if t.After(e.Admit.Add(time.Hour)) && t.Before(end) {
				p.service(ws, e, t, action)
			}
		}
	}
}

// imaging plans a study: the modality sends it to the PACS, a
// technologist opens the record, a radiologist reads it and signs the
// report, sometimes sends it on to a reading workstation.
func (p *planner) imaging(e *Encounter, end time.Time) {
	start := later(e.Admit, p.opt.Start)
	t := p.jitter(start.Add(time.Hour), 6*time.Hour)
	if !p.within(t) || t.After(end) {
		return
	}
	tech := p.pickOne(p.onShiftAt(p.h.OfKind(RadTech), t))
	if tech == nil {
		return
	}
	mod := fmt.Sprintf("10.30.2.%d", 21+p.rng.IntN(4))
	p.add(Intent{T: t, Kind: KindATNA, Trigger: "110104", W: tech, P: e.P, IP: mod, Dst: pacsIP, DstAE: pacsAE, OK: true, Incident: -1})
	p.ehr(tech, e, t.Add(-time.Duration(2+p.rng.IntN(10))*time.Minute), "IMAGING EXAM BEGUN", -1)
	rt := t.Add(time.Duration(30+p.rng.IntN(180)) * time.Minute)
	if !p.within(rt) {
		return
	}
	if rad := p.pickOne(p.onShiftAt(p.h.OfKind(Radiologist), rt)); rad != nil {
		p.add(Intent{T: rt, Kind: KindATNA, Trigger: "110103", W: rad, P: e.P, IP: rad.WSIP, OK: true, Incident: -1})
		p.ehr(rad, e, rt.Add(4*time.Minute), "RESULT NOTE SIGNED", -1)
		if p.rng.IntN(5) == 0 {
			p.add(Intent{T: rt.Add(time.Minute), Kind: KindATNA, Trigger: "110102", W: rad, P: e.P, IP: pacsIP,
				Dst: fmt.Sprintf("10.30.3.%d", 31+p.rng.IntN(5)), DstAE: "READ_WS", OK: true, Incident: -1})
		}
	}
}

// routine plans the work that follows the departments rather than single
// encounters: the emergency department's tracking board, ward nurses at
// shift change and covering for colleagues, float nurses on the ward they
// are sent to, students after their physician, release of information.
func (p *planner) routine() {
	for _, w := range p.h.Workers {
		if p.off[w] {
			continue
		}
		d := w.Dept
		switch {
		case d.Kind == DeptEmergency:
			p.perHour(w, 0.9, func(t time.Time) {
				if e := p.activeAt(t, func(e *Encounter) bool { return e.Dept == d && !e.onTeam(w) && !p.conflicted(w, e.P) }); e != nil {
					p.ehr(w, e, t, "ED TRACKING BOARD VIEWED", -1)
				}
			})
		case w.Kind == Nurse && d.Inpatient():
			p.wardNurse(w)
		case w.Kind == Nurse && d.Kind == DeptFloat:
			p.floatNurse(w)
		case w.Kind == HIM:
			// Release of information: a request about any patient.
			p.perHour(w, 0.04, func(t time.Time) {
				pt := p.h.Patients[p.rng.IntN(len(p.h.Patients))]
				if p.conflicted(w, pt) {
					return
				}
				p.add(Intent{T: t, Kind: KindEHR, W: w, P: pt, Action: "RELEASE OF INFORMATION", Host: w.Workstation, IP: w.WSIP, OK: true, Incident: -1})
			})
		}
	}
	p.students()
}

// perHour calls f at times drawn over every hour of the worker's shifts,
// rate times an hour on average.
func (p *planner) perHour(w *Worker, rate float64, f func(time.Time)) {
	for t := p.opt.Start.Truncate(time.Hour); t.Before(p.end); t = t.Add(time.Hour) {
		if !w.Shift.On(p.hour(t)) {
			continue
		}
		for i := p.poisson(rate * p.opt.Activity); i > 0; i-- {
			at := p.jitter(t, time.Hour)
			if p.within(at) && w.Shift.On(p.hour(at)) {
				f(at)
			}
		}
	}
}

// wardNurse plans a ward nurse's handovers at the start and end of each
// shift and the odd look at a colleague's patient on the unit.
func (p *planner) wardNurse(w *Worker) {
	unit := func(e *Encounter, t time.Time) bool {
		return e.unitAt(t) == w.Dept && !e.onTeam(w) && !p.conflicted(w, e.P)
	}
	for t := p.opt.Start.Truncate(time.Hour); t.Before(p.end); t = t.Add(time.Hour) {
		h := p.hour(t)
		edge := h == w.Shift.Start || (h+1)%24 == w.Shift.End
		if !w.Shift.On(h) {
			continue
		}
		n := p.poisson(0.25 * p.opt.Activity)
		if edge {
			n += 1 + p.rng.IntN(3)
		}
		for ; n > 0; n-- {
			at := p.jitter(t, time.Hour)
			if !p.within(at) {
				continue
			}
			if e := p.activeAt(at, func(e *Encounter) bool { return unit(e, at) }); e != nil {
				p.access(w, e, at, -1)
			}
		}
	}
}

// floatNurse plans a float nurse's shifts: each on a ward drawn for the
// shift, on its patients.
func (p *planner) floatNurse(w *Worker) {
	wards := p.h.Wards()
	if len(wards) == 0 {
		return
	}
	var ward *Dept
	for t := p.opt.Start.Truncate(time.Hour); t.Before(p.end); t = t.Add(time.Hour) {
		h := p.hour(t)
		if h == w.Shift.Start || ward == nil {
			ward = wards[p.rng.IntN(len(wards))]
		}
		if !w.Shift.On(h) {
			continue
		}
		for i := p.poisson(1.2 * p.opt.Activity); i > 0; i-- {
			at := p.jitter(t, time.Hour)
			if !p.within(at) {
				continue
			}
			if e := p.activeAt(at, func(e *Encounter) bool { return e.unitAt(at) == ward && !p.conflicted(w, e.P) }); e != nil {
				p.access(w, e, at, -1)
			}
		}
	}
}

// students open the records their department's physicians open, soon
// after them.
func (p *planner) students() {
	n := len(p.plan.Intents)
	for i := 0; i < n; i++ {
		in := p.plan.Intents[i]
		if in.W == nil || in.W.Kind != Physician || in.Enc == nil || in.Incident >= 0 || (in.Kind != KindEHR && in.Kind != KindFHIR) {
			continue
		}
		var studs []*Worker
		for _, s := range p.onShiftAt(p.kindIn(Student, in.W.Dept), in.T) {
			if !p.conflicted(s, in.Enc.P) {
				studs = append(studs, s)
			}
		}
		if len(studs) == 0 || !p.chance(0.35) {
			continue
		}
		p.access(studs[p.rng.IntN(len(studs))], in.Enc, in.T.Add(time.Duration(2+p.rng.IntN(28))*time.Minute), -1)
	}
}

// later returns the later of two times.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
