package indephospital

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
	"time"
)

var abbrev = strings.NewReplacer(" Street", " St", " Road", " Rd", " Lane", " Ln", " Avenue", " Ave", " Drive", " Dr", " Court", " Ct")

func hl7Time(t time.Time) string { return t.UTC().Format("20060102150405") }

func (g *gen) xcn(w int) string {
	if w < 0 || g.workers[w].npi == "" {
		return ""
	}
	wk := &g.workers[w]
	return wk.npi + "^" + wk.p.family + "^" + wk.p.given
}

// adt writes an ADT message of stay s at t with its consultant when the
// consult is in the feed and already happened.
func (g *gen) adt(event string, s *stay, t time.Time) {
	g.adtMsg(event, s, t, s.consult >= 0 && s.consultADT && !t.Before(s.consultAt))
}

func (g *gen) adtMsg(event string, s *stay, t time.Time, consult bool) {
	pt := &g.patients[s.pat]
	p := &pt.p
	g.ctl++
	structure := map[string]string{"A01": "ADT_A01", "A04": "ADT_A01", "A08": "ADT_A01", "A05": "ADT_A05", "A28": "ADT_A05", "A02": "ADT_A02", "A03": "ADT_A03"}[event]
	segs := []string{
		fmt.Sprintf("MSH|^~\\&|EPICCARE|SBRMC|VIGIL|SECOPS|%s||ADT^%s^%s|SBR%08d|P|2.5.1", hl7Time(t), event, structure, g.ctl),
		fmt.Sprintf("EVN|%s|%s", event, hl7Time(t)),
	}
	addr := fmt.Sprintf("%d %s", p.num, p.street)
	if g.ctl%2 == 0 {
		addr = abbrev.Replace(addr)
	}
	phone := "(" + p.phone[:3] + ")" + p.phone[4:]
	pid := make([]string, 31)
	pid[0], pid[1], pid[3] = "PID", "1", pt.mrn+"^^^SBR^MR"
	pid[5], pid[7], pid[8] = p.family+"^"+p.given, p.dob, p.sex
	pid[11], pid[13], pid[18] = addr+"^^Fairhaven^MA^"+p.zip, phone, "A"+s.csn
	if event == "A03" && !pt.died.IsZero() && !pt.died.After(t) {
		pid[29], pid[30] = hl7Time(pt.died), "Y"
	}
	segs = append(segs, strings.Join(pid, "|"))
	if pt.prot {
		segs = append(segs, "PD1|||||||||||Y")
	}
	if pt.nk >= 0 && pt.nk != s.pat {
		k := &g.patients[pt.nk].p
		segs = append(segs, fmt.Sprintf("NK1|1|%s^%s|FAM^Family member|%d %s^^Fairhaven^MA^%s|(%s)%s", k.family, k.given, k.num, k.street, k.zip, k.phone[:3], k.phone[4:]))
	}
	if pt.nkWorker > 0 {
		w := &g.workers[pt.nkWorker-1].p
		segs = append(segs, fmt.Sprintf("NK1|2|%s^%s|FAM^Family member||%s", w.family, w.given, w.phone))
	}
	if event == "A28" { // the master patient index: no visit
		g.msgs = append(g.msgs, msg{t: t, text: strings.Join(append(segs, "PV1|1|N"), "\r") + "\r"})
		return
	}
	pv1 := make([]string, 46)
	pv1[0], pv1[1], pv1[2] = "PV1", "1", s.class
	unit := s.unit
	if !s.transferAt.IsZero() && t.Before(s.transferAt) {
		unit = s.fromUnit
	}
	if event == "A02" {
		unit = s.unit
		pv1[6] = s.fromUnit + "^^^SBRMC"
	}
	pv1[3] = unit + "^" + fmt.Sprint(100+g.pick(30)) + "^A^SBRMC"
	pv1[7], pv1[10], pv1[19] = g.xcn(s.attending), s.service, s.csn
	if s.class == "I" {
		pv1[17] = g.xcn(s.admitting)
	}
	if consult {
		pv1[9] = g.xcn(s.consult)
	}
	if pt.vip {
		pv1[16] = "VIP"
	}
	pv1[44] = hl7Time(s.admit)
	if event == "A03" {
		pv1[45] = hl7Time(t)
	}
	segs = append(segs, strings.Join(pv1, "|"))
	g.msgs = append(g.msgs, msg{t: t, text: strings.Join(segs, "\r") + "\r"})
}

// write sorts everything into time order and renders the three files.
func (g *gen) write() *Hospital {
	h := &Hospital{Legit: map[string]string{}, Stays: len(g.stays), Staff: len(g.workers), Messages: len(g.msgs)}
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.Write([]string{"Employee ID", "Epic Login", "NPI", "Last Name", "First Name", "Home Address", "City", "State", "Zip", "Home Phone", "Dept", "Job Title", "Hire Date", "Term Date"})
	for _, w := range g.workers {
		term := ""
		if !w.term.IsZero() {
			term = w.term.Format("01/02/2006")
		}
		cw.Write([]string{w.emp, w.login, w.npi, w.p.family, w.p.given, fmt.Sprintf("%d %s", w.p.num, w.p.street), "Fairhaven", "MA", w.p.zip,
			w.p.phone, w.d.name, w.role, g.c.Start.AddDate(-1-g.pick(15), 0, -g.pick(300)).Format("01/02/2006"), term})
	}
	cw.Flush()
	h.Roster = append([]byte(nil), b.Bytes()...)

	slices.SortStableFunc(g.msgs, func(a, b msg) int { return a.t.Compare(b.t) })
	b.Reset()
	for _, m := range g.msgs {
		b.WriteString(m.text)
		b.WriteString("\n\n")
	}
	h.ADT = append([]byte(nil), b.Bytes()...)

	slices.SortStableFunc(g.acc, func(a, b access) int { return a.t.Compare(b.t) })
	b.Reset()
	cw = csv.NewWriter(&b)
	cw.Write([]string{"ACCESS_LOG_ID", "ACCESS_INSTANT", "USER_ID", "USER_NAME", "PAT_MRN_ID", "PAT_ENC_CSN_ID", "METRIC_NAME",
		"WORKSTATION_ID", "LOGIN_DEP_NAME", "BTG_FLAG", "BTG_REASON"})
	for i, a := range g.acc {
		id := fmt.Sprint(5100000000 + i*7)
		w, p := &g.workers[a.w], &g.patients[a.p]
		if a.inc >= 0 {
			g.inc[a.inc].AccessIDs = append(g.inc[a.inc].AccessIDs, id)
		} else {
			h.Legit[id] = w.d.name
		}
		btg, reason := "N", ""
		if a.btg || p.prot && !g.adtPair[[2]int{a.w, a.p}] {
			btg, reason = "Y", a.reason
			if reason == "" {
				reason = "Direct patient care"
			}
		}
		cw.Write([]string{id, a.t.Format("01/02/2006 15:04:05"), strings.ToUpper(w.login), w.p.family + ", " + w.p.given, p.mrn, a.csn,
			a.action, fmt.Sprintf("SBR-%s-%03d", strings.Fields(w.d.epic)[1], a.w%40), a.loginDep, btg, reason})
	}
	cw.Flush()
	h.AccessLog = b.Bytes()
	h.Incidents = g.inc
	return h
}
