package indephospital

import (
	"fmt"
	"slices"
	"time"
)

var units = []struct{ unit, service string }{{"3N", "MED"}, {"4S", "SUR"}, {"5E", "CAR"}, {"2W", "ICU"}, {"6N", "ONC"}, {"LD", "OBS"}}

// encounters registers ED, outpatient and inpatient visits across the
// period and writes their ADT messages and the legitimate work on them.
func (g *gen) encounters() {
	span := g.end.Sub(g.c.Start)
	times := make([]time.Time, g.c.Encounters)
	for i := range times {
		times[i] = g.c.Start.Add(time.Duration(g.r.Int63n(int64(span))))
	}
	slices.SortFunc(times, time.Time.Compare) // in time order: readmissions and deaths follow earlier stays
	for _, t := range times {
		switch x := g.r.Float64(); {
		case x < 0.38:
			g.edVisit(g.arrival(t, 0))
		case x < 0.78:
			g.clinicVisit(g.arrival(t, 1))
		default:
			p := g.patientFor(t, true)
			if p >= 0 {
				g.inpatient(p, g.arrival(t, 2), -1, "")
			}
		}
	}
}

// arrival shapes a time: ED mostly by day, clinics on weekdays 8-16,
// elective admissions in the morning.
func (g *gen) arrival(t time.Time, kind int) time.Time {
	d := g.day(t)
	switch kind {
	case 0:
		if g.chance(0.7) {
			return d.Add(time.Duration(9*60+g.pick(12*60)) * time.Minute)
		}
		return t
	case 1:
		for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			d = d.AddDate(0, 0, 1)
		}
		return d.Add(time.Duration(8*60+g.pick(8*60)) * time.Minute)
	}
	return d.Add(time.Duration(6*60+g.pick(5*60)) * time.Minute)
}

// patientFor picks a patient not in a stay at t; inpatients are sometimes
// readmissions of someone discharged in the last month.
func (g *gen) patientFor(t time.Time, inpatient bool) int {
	for range 20 {
		p := g.pick(len(g.patients))
		if inpatient && g.chance(0.12) && len(g.stays) > 0 {
			s := &g.stays[len(g.stays)-1-g.pick(min(len(g.stays), 200))]
			if s.class == "I" && s.disch.Before(t) && t.Sub(s.disch) < 30*24*time.Hour {
				p = s.pat
			}
		}
		pt := &g.patients[p]
		if !pt.died.IsZero() || pt.busyUntil.After(t.Add(-2*time.Hour)) {
			continue
		}
		return p
	}
	return -1
}

func (g *gen) newStay(p int, class string, t time.Time) *stay {
	g.stays = append(g.stays, stay{csn: fmt.Sprintf("%d", 7200000000+len(g.stays)*3), class: class, pat: p, admit: t, consult: -1, admitting: -1})
	return &g.stays[len(g.stays)-1]
}

func (g *gen) edVisit(t time.Time) {
	p := g.patientFor(t, false)
	md := g.staffAt("edmd", t)
	if p < 0 || md < 0 {
		return
	}
	s := g.newStay(p, "E", t)
	s.unit, s.service, s.attending = "ED", "EMR", md
	g.adtPair[[2]int{md, p}] = true
	s.disch = t.Add(time.Duration(90+g.pick(300)) * time.Minute)
	admit := g.chance(0.2)
	g.patients[p].busyUntil = s.disch
	g.adt("A04", s, t)
	g.add(t, g.staffAt("reg", t), p, s.csn, "Registration Activity")
	g.add(t.Add(5*time.Minute), g.staffAt("edrn", t), p, s.csn, "ED Track Board Patient Select")
	for i := 0; i < 2+g.pick(3); i++ {
		g.add(g.between(t.Add(10*time.Minute), s.disch), md, p, s.csn, "Chart Review Activity")
	}
	// the tracking board: other ED staff on duty open the patient
	for i := 0; i < 2+g.pick(4); i++ {
		k := "edrn"
		if g.chance(0.3) {
			k = "edmd"
		}
		at := g.between(t, s.disch)
		g.add(at, g.staffAt(k, at), p, s.csn, "ED Track Board Patient Select")
	}
	g.ancillary(s, t, s.disch, 0.5, 0.4, 0.2)
	if admit {
		g.adt("A03", s, s.disch)
		g.inpatient(p, s.disch, md, s.csn)
		return
	}
	g.adt("A03", s, s.disch)
	g.revenue(s, s.disch, 0.6, 0.3, 0.2)
}

func (g *gen) clinicVisit(t time.Time) {
	p := g.patientFor(t, false)
	doc := g.staffAt("clinic", t)
	if p < 0 || doc < 0 {
		return
	}
	s := g.newStay(p, "O", t)
	s.unit, s.service, s.attending = "AMB", "FAM", doc
	g.adtPair[[2]int{doc, p}] = true
	s.disch = t.Add(time.Duration(30+g.pick(60)) * time.Minute)
	g.patients[p].busyUntil = s.disch
	g.adt("A04", s, t)
	if g.chance(0.3) { // reviewed the day before the visit
		g.add(t.Add(-time.Duration(14+g.pick(6))*time.Hour), doc, p, s.csn, "Pre-Charting")
	}
	g.add(t, g.staffAt("ma", t), p, s.csn, "Rooming Activity")
	for i := 0; i < 1+g.pick(3); i++ {
		g.add(g.between(t, s.disch), doc, p, s.csn, "Chart Review Activity")
	}
	g.ancillary(s, t, s.disch.Add(2*time.Hour), 0.3, 0.1, 0)
	g.adt("A03", s, s.disch)
	g.revenue(s, s.disch, 0.7, 0.1, 0.1)
}

// inpatient admits p at t (from the ED when edmd >= 0).
func (g *gen) inpatient(p int, t time.Time, edmd int, edcsn string) {
	u := units[g.pick(len(units))]
	if edmd < 0 && g.chance(0.4) {
		u = units[1] // elective surgery
	}
	s := g.newStay(p, "I", t)
	s.unit, s.service, s.admitting = u.unit, u.service, edmd
	switch u.service {
	case "SUR":
		s.attending = g.staffAt("surgeon", t)
	case "OBS":
		s.attending = g.staffAt("ob", t)
	default:
		s.attending = g.staffAt("hosp", t)
	}
	if s.attending < 0 {
		return
	}
	if s.admitting < 0 {
		s.admitting = s.attending
	}
	los := time.Duration(12+g.pick(48)+g.pick(48)+g.pick(96)) * time.Hour
	s.disch = t.Add(los)
	g.adtPair[[2]int{s.attending, p}] = true
	g.adtPair[[2]int{s.admitting, p}] = true
	dies := g.chance(0.02) || (u.unit == "2W" || u.unit == "6N") && g.chance(0.05)
	if u.unit == "2W" && los > 48*time.Hour && !dies { // step down to telemetry
		s.fromUnit, s.transferAt = "2W", t.Add(time.Duration(24+g.pick(int(los.Hours())-30))*time.Hour)
	}
	if g.chance(0.3) {
		s.consult = g.staffAt("consult", t)
		s.consultAt = t.Add(time.Duration(2+g.pick(30)) * time.Hour)
		s.consultADT = g.chance(0.6)
		if s.consultADT {
			g.adtPair[[2]int{s.consult, p}] = true
		}
		if !s.consultAt.Before(s.disch) {
			s.consult = -1
		}
	}
	pt := &g.patients[p]
	pt.busyUntil = s.disch
	if dies {
		pt.died = s.disch
	}
	if edmd < 0 && u.service == "SUR" && g.chance(0.7) { // pre-admission testing
		pre := t.AddDate(0, 0, -(2 + g.pick(6)))
		g.adtMsg("A05", s, pre, false)
		g.add(pre, g.staffAt("reg", pre), p, s.csn, "Pre-Registration")
		g.add(pre.Add(time.Hour), s.attending, p, s.csn, "Chart Review Activity")
	}
	g.adt("A01", s, t)
	g.add(t.Add(10*time.Minute), g.staffAt("huc", t), p, s.csn, "Bed Assignment")
	if s.consult >= 0 && s.consultADT {
		g.adtMsg("A08", s, s.consultAt, true)
	}
	if !s.transferAt.IsZero() {
		g.adtMsg("A02", s, s.transferAt, s.consult >= 0 && s.consultADT && s.consultAt.Before(s.transferAt))
	}
	// each day of the stay
	for d := t; d.Before(s.disch); d = d.Add(24 * time.Hour) {
		end := d.Add(24 * time.Hour)
		if end.After(s.disch) {
			end = s.disch
		}
		unit := s.unit
		if !s.transferAt.IsZero() && d.Before(s.transferAt) {
			unit = s.fromUnit
		}
		g.add(g.timeFor(s.attending, g.between(d, end)), s.attending, p, s.csn, "Progress Note Edited")
		g.add(g.timeFor(s.attending, g.between(d, end)), s.attending, p, s.csn, "Results Review")
		for _, r := range g.workers[s.attending].residents {
			for range 1 + g.pick(2) {
				g.add(g.timeFor(r, g.between(d, end)), r, p, s.csn, "Chart Review Activity")
			}
		}
		if g.chance(0.4) {
			at := g.biz(g.between(d, end))
			g.add(at, g.staffAt("student", at), p, s.csn, "Chart Review Activity")
		}
		// nursing every shift; a float nurse covers one shift in eight
		for sh := d; sh.Before(end); sh = sh.Add(12 * time.Hour) {
			k := "rn:" + unit
			if g.chance(0.125) {
				k = "float"
			}
			n := g.staffAt(k, sh)
			for range 1 + g.pick(3) {
				if g.add(g.between(sh, sh.Add(12*time.Hour)), n, p, s.csn, "MAR Administration") && k == "float" {
					g.acc[len(g.acc)-1].loginDep = deptOfUnit(unit).epic
				}
			}
		}
		g.ancillary(s, d, end, 0.6, 0.2, 0.6)
		if g.chance(0.4) && (unit == "2W" || unit == "5E" || unit == "3N") {
			at := g.between(d, end)
			g.add(at, g.staffAt("rt", at), p, s.csn, "Flowsheet Edit")
		}
		if d.After(t.Add(24*time.Hour)) && g.chance(0.35) {
			at := g.biz(g.between(d, end))
			g.add(at, g.staffAt("pt", at), p, s.csn, "Therapy Note")
		}
		if g.chance(0.3) || d.Equal(t) {
			at := g.biz(g.between(d, end))
			g.add(at, g.staffAt("cm", at), p, s.csn, "Discharge Planning")
		}
	}
	if s.consult >= 0 {
		for i := range 1 + g.pick(4) {
			g.add(s.consultAt.Add(time.Duration(i*20+g.pick(600))*time.Minute), s.consult, p, s.csn, "Consult Note")
		}
	}
	g.add(s.disch.Add(-time.Hour), g.staffAt("huc", s.disch), p, s.csn, "Discharge Activity")
	g.adt("A03", s, s.disch)
	// after discharge: discharge summary, then coding, HIM and billing
	g.add(g.timeFor(s.attending, s.disch.Add(time.Duration(2+g.pick(40))*time.Hour)), s.attending, p, s.csn, "Discharge Summary Signed")
	g.revenue(s, s.disch, 1, 0.9, 0.8)
	_ = edcsn
}

// ancillary adds pharmacy, lab and imaging work between a and b, each
// with its probability.
func (g *gen) ancillary(s *stay, a, b time.Time, pLab, pImg, pPharm float64) {
	if g.chance(pPharm) {
		at := g.between(a, b)
		g.add(at, g.staffAt("pharm", at), s.pat, s.csn, "Order Verification")
		if g.chance(0.5) {
			g.add(at.Add(time.Duration(g.pick(120))*time.Minute), g.staffAt("pharm", at), s.pat, s.csn, "MAR Review")
		}
	}
	if g.chance(pLab) {
		draw := g.between(a, b)
		if s.class == "I" {
			draw = g.day(a).Add(time.Duration(4*60+g.pick(120)) * time.Minute)
		}
		g.add(draw, g.staffAt("lab", draw), s.pat, s.csn, "Specimen Collection")
		res := draw.Add(time.Duration(40+g.pick(200)) * time.Minute)
		g.add(res, g.staffAt("lab", res), s.pat, s.csn, "Result Entry")
	}
	if g.chance(pImg) {
		exam := g.between(a, b)
		if s.class == "I" {
			g.add(exam.Add(-20*time.Minute), g.staffAt("transport", exam), s.pat, s.csn, "Transport Request")
		}
		g.add(exam, g.staffAt("radtech", exam), s.pat, s.csn, "Imaging Exam Begin")
		read := exam.Add(time.Duration(20+g.pick(480)) * time.Minute)
		g.add(read, g.staffAt("radiologist", read), s.pat, s.csn, "Imaging Report Signed")
	}
}

// revenue adds billing, coding and HIM work days after discharge.
func (g *gen) revenue(s *stay, disch time.Time, pBill, pCode, pHIM float64) {
	if g.chance(pCode) {
		at := g.biz(disch.Add(time.Duration(18+g.pick(96)) * time.Hour))
		c := g.staffAt("coder", at)
		g.add(at, c, s.pat, s.csn, "Coding Summary")
		g.add(at.Add(time.Duration(5+g.pick(30))*time.Minute), c, s.pat, s.csn, "Chart Review Activity")
	}
	if g.chance(pBill) {
		at := g.biz(disch.Add(time.Duration(48+g.pick(240)) * time.Hour))
		g.add(at, g.staffAt("billing", at), s.pat, s.csn, "Account Maintenance")
	}
	if g.chance(pHIM) {
		at := g.biz(disch.Add(time.Duration(24+g.pick(300)) * time.Hour))
		g.add(at, g.staffAt("him", at), s.pat, s.csn, "Chart Deficiency Review")
	}
}

func deptOfUnit(u string) *dept {
	for _, d := range depts {
		if d.unit == u {
			return d
		}
	}
	return depts[0]
}
