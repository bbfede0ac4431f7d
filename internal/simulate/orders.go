package simulate

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// The ancillary feeds (PlanOptions.Orders): the order, pharmacy, result
// and scheduling messages a hospital's interface engine sends besides
// ADT. The physician orders a study or a test some hours before the
// department fills it (ORM^O01 with the filling section in OBR-24);
// radiology and the laboratory send the result with the technologist,
// radiologist or laboratory scientist who produced it (ORU^R01, OBR-32/34,
// OBX-16); pharmacy sends the verified order with its pharmacist
// (RDE^O11, RXE-14); the clinic schedules its visits (SIU^S12 with the
// physician as resource). Not every piece of ancillary work has a message
// (a verbal order, a feed that is down): orderShare of it does.
//
// The messages hang off the accesses the background work plans, and
// their randomness comes from a generator of their own, so a seed plans
// the same hospital, work and incidents with and without the feeds.

// KindClinical is an order, pharmacy, result or scheduling message over
// MLLP (Intent.Trigger: ORM^O01, ORU^R01, RDE^O11, SIU^S12; Action: the
// filling section; Reason: the service; By: the ordering physician; W
// and W2: the people who fill it).

// clinicalSeq numbers the clinical messages apart from the other intents.
const clinicalSeq = 1 << 40

// orderShare is the share of ancillary work that has a message.
const orderShare = 0.9

// hl7Kind reports whether an intent is sent as an HL7 message over MLLP.
func hl7Kind(k IntentKind) bool { return k == KindADT || k == KindClinical }

// feeds plans the messages of an access of the background work, when the
// plan has the ancillary feeds.
func (p *planner) feeds(in Intent) {
	if !p.opt.Orders || in.Kind != KindEHR || in.Incident >= 0 || in.Enc == nil || in.W == nil {
		return
	}
	e, w, t := in.Enc, in.W, in.T
	by := e.Attending
	minutes := func(lo, hi int) time.Duration { return time.Duration(lo+p.orng.IntN(hi-lo+1)) * time.Minute }
	msg := func(at time.Time, trigger, section, service string, by, w, w2 *Worker) {
		if p.orng.Float64() < orderShare && p.within(at) && !(w != nil && w.Patient >= 0 && w.Patient == e.P.Index) {
			// Numbered apart, so that the other intents keep their
			// numbers (and access ids) with and without the feeds.
			p.cseq++
			p.plan.Intents = append(p.plan.Intents, Intent{T: at, Seq: clinicalSeq + p.cseq, Kind: KindClinical, Trigger: trigger, P: e.P, Enc: e,
				Action: section, Reason: service, By: by, W: w, W2: w2, Incident: -1})
		}
	}
	switch in.Action {
	case "MEDICATION ORDER VERIFIED":
		msg(t.Add(minutes(1, 10)), "RDE^O11", "", pick(p.orng, medications), by, w, nil)
	case "LAB RESULT RELEASED":
		test := pick(p.orng, labTests)
		msg(t.Add(-minutes(60, 240)), "ORM^O01", sectionLab, test, by, nil, nil)
		msg(t.Add(minutes(0, 5)), "ORU^R01", sectionLab, test, by, w, nil)
	case "IMAGING EXAM BEGUN":
		p.study, p.tech = pick(p.orng, studies), w
		msg(t.Add(-minutes(60, 300)), "ORM^O01", sectionRad, p.study, by, nil, nil)
	case "RESULT NOTE SIGNED":
		// The radiologist's report, with the technologist who performed
		// the study.
		if w.Kind == Radiologist && p.tech != nil {
			msg(t.Add(minutes(1, 20)), "ORU^R01", sectionRad, p.study, by, w, p.tech)
			p.tech = nil
		}
	case "REGISTRATION ACTIVITY":
		if e.Dept.Kind == DeptClinic && e.Attending != nil {
			msg(e.Admit.Add(-time.Duration(1+p.orng.IntN(14))*24*time.Hour), "SIU^S12", e.Dept.Unit, "Clinic visit", nil, e.Attending, nil)
		}
	}
}

// Sections as the ancillary systems name them (OBR-24, HL7 table 0074):
// the directory learns which departments fill them from the results.
const (
	sectionLab = "LAB"
	sectionRad = "RAD"
)

var (
	medications = []string{"Ceftriaxone 1 g IV", "Enoxaparin 40 mg SC", "Metoprolol 25 mg PO", "Pantoprazole 40 mg IV", "Acetaminophen 1 g PO"}
	labTests    = []string{"CBC", "Basic metabolic panel", "Troponin I", "Lactate", "Blood culture"}
	studies     = []string{"Chest X-ray 2 views", "CT head without contrast", "CT abdomen with contrast", "Ultrasound abdomen", "MRI lumbar spine"}
)

func pick(r *rand.Rand, l []string) string { return l[r.IntN(len(l))] }

// providerID is how a message names a worker: the provider id, else the
// EHR login (pharmacists and technologists without one).
func providerID(w *Worker) string {
	if w.ProviderID != "" {
		return w.ProviderID
	}
	return w.Login
}

func xcnOf(w *Worker) string {
	if w == nil {
		return ""
	}
	return fmt.Sprintf("%s^%s^%s", providerID(w), strings.ToUpper(w.Family), strings.ToUpper(w.Given))
}

// ndlOf renders a worker as an NDL (OBR-32/34): id&family&given.
func ndlOf(w *Worker) string {
	if w == nil {
		return ""
	}
	return fmt.Sprintf("%s&%s&%s", providerID(w), strings.ToUpper(w.Family), strings.ToUpper(w.Given))
}

// clinical renders an order, pharmacy, result or scheduling message.
func (r *renderer) clinical(in *Intent) []byte {
	ts := r.hl7ts(in.T)
	p, e := in.P, in.Enc
	facility := r.facility()
	typ, trigger, _ := strings.Cut(in.Trigger, "^")
	app := map[string]string{"ORM": "EPIC", "ORU": "RIS", "RDE": "PHARMACY", "SIU": "CADENCE"}[typ]
	if typ == "ORU" && in.Action == sectionLab {
		app = "LIS"
	}
	order := fmt.Sprintf("%s%d-%d", typ, r.seed, in.Seq)
	segs := []string{
		fmt.Sprintf("MSH|^~\\&|%s|%s|VIGIL|%s|%s||%s^%s^%s_%s|SIM%d-%d|P|2.5.1", app, facility, facility, ts, typ, trigger, typ, trigger, r.seed, in.Seq),
	}
	pid := fmt.Sprintf("PID|1||%s^^^%s^MR||%s^%s", p.MRN, facility, strings.ToUpper(p.Family), strings.ToUpper(p.Given))
	pv1 := ""
	if e != nil {
		pv1 = fmt.Sprintf("PV1|1|%s|%s||||%s||||||||||||%s^^^%s^VN", e.Class, e.Bed, xcnOf(e.Attending), e.Visit, facility)
	}
	f := func(n int, vals map[int]string) string { // a segment with fields 1..n
		parts := make([]string, n+1)
		for i, v := range vals {
			parts[i] = v
		}
		return strings.TrimRight(strings.Join(parts, "|"), "|")
	}
	switch typ {
	case "ORM":
		segs = append(segs, pid, pv1,
			f(12, map[int]string{0: "ORC", 1: "NW", 2: order, 5: "SC", 9: ts, 12: xcnOf(in.By)}),
			f(24, map[int]string{0: "OBR", 1: "1", 2: order, 4: "^" + in.Reason, 7: ts, 16: xcnOf(in.By), 24: in.Action}))
	case "ORU":
		obr := map[int]string{0: "OBR", 1: "1", 2: order, 4: "^" + in.Reason, 7: ts, 16: xcnOf(in.By), 22: ts, 24: in.Action, 25: "F"}
		obx := map[int]string{0: "OBX", 1: "1", 2: "TX", 3: "^" + in.Reason, 5: "see report", 11: "F", 14: ts}
		if in.Action == sectionRad {
			obr[32], obr[34] = ndlOf(in.W), ndlOf(in.W2)
		} else {
			obx[16] = xcnOf(in.W)
		}
		segs = append(segs, pid, pv1, f(34, obr), f(16, obx))
	case "RDE":
		segs = append(segs, pid, pv1,
			f(12, map[int]string{0: "ORC", 1: "RE", 2: order, 5: "IP", 9: ts, 12: xcnOf(in.By)}),
			f(14, map[int]string{0: "RXE", 1: "^^^^^^Q24H", 2: "^" + in.Reason, 3: "1", 5: "dose", 14: xcnOf(in.W)}))
	case "SIU":
		start := r.hl7ts(e.Admit)
		segs = append(segs,
			f(25, map[int]string{0: "SCH", 1: order, 2: order, 7: "^" + in.Reason, 11: "^^30^" + start, 25: "Booked"}),
			pid, pv1, "RGS|1",
			f(6, map[int]string{0: "AIP", 1: "1", 3: xcnOf(in.W), 4: "ATT", 6: start}),
			f(6, map[int]string{0: "AIL", 1: "1", 3: in.Action + "^^^" + facility, 6: start}))
	}
	return []byte(strings.Join(segs, "\r"))
}
