package hl7

import (
	"fmt"
	"strings"
	"time"
)

// ClinicalTypes are the order, pharmacy, result and scheduling message
// types ExtractClinical understands, with the kind of link each one makes
// between people and a patient.
var ClinicalTypes = map[string]string{
	"ORM": KindOrder,      // general order (v2.3–2.4): ORC + OBR/RXO …
	"OMG": KindOrder,      // general clinical order (v2.5+)
	"OML": KindOrder,      // laboratory order
	"OMI": KindOrder,      // imaging order
	"OMP": KindMedication, // pharmacy/treatment order
	"RDE": KindMedication, // pharmacy/treatment encoded order (RXE: verified by a pharmacist)
	"RDS": KindMedication, // pharmacy dispense
	"RAS": KindMedication, // pharmacy administration
	"ORU": KindResult,     // unsolicited observation result (OBR + OBX)
	"SIU": KindAppointment,
}

// Kinds of clinical links.
const (
	KindOrder       = "order"
	KindMedication  = "medication"
	KindResult      = "result"
	KindAppointment = "appointment"
)

// Bounds of ExtractClinical: a message naming more is cut (the rest is
// still stored as the event; the directory keeps a bounded number).
const (
	MaxClinicalItems  = 64 // order groups (ORC, OBR …) or appointments (SCH) per message
	MaxClinicalPeople = 32 // people per item
)

// Roles of the people of a clinical item (Provider.Role).
const (
	RoleOrdering     = "ordering"     // ORC-12, OBR-16
	RoleEntering     = "entering"     // ORC-10
	RoleVerifying    = "verifying"    // ORC-11
	RoleInterpreter  = "interpreter"  // OBR-32, OBR-33 (principal and assistant result interpreter)
	RoleTechnician   = "technician"   // OBR-34
	RoleObserver     = "observer"     // OBX-16 responsible observer
	RolePharmacist   = "pharmacist"   // RXE-14 pharmacist/treatment supplier's verifier
	RoleResource     = "resource"     // AIP-3 personnel resource of an appointment
	RoleContact      = "contact"      // SCH-12 placer contact, SCH-16 filler contact
	RoleScheduler    = "scheduler"    // SCH-20 entered by
	RoleTranscribing = "transcribing" // OBR-35
)

// Clinical is what an order, pharmacy, result or scheduling message says
// links people (and the departments that fill it) to a patient.
type Clinical struct {
	Kind         string         `json:"kind"` // KindOrder …
	Type         string         `json:"type"` // MSH-9.1: ORM, OMG, RDE, ORU, SIU …
	Event        string         `json:"event,omitempty"`
	ControlID    string         `json:"control_id"`
	SendingApp   string         `json:"sending_application,omitempty"`
	SendingFac   string         `json:"sending_facility,omitempty"`
	MessageTime  time.Time      `json:"message_time,omitzero"` // MSH-7
	Patient      []Identifier   `json:"patient"`               // PID-3 (PID-2 for v2.3 senders)
	Visit        Identifier     `json:"visit,omitzero"`        // PV1-19
	PatientClass string         `json:"patient_class,omitempty"`
	Items        []ClinicalItem `json:"items"`
}

// ClinicalItem is one order (ORC with its OBR/RXO/RXE), one result (OBR
// with its OBX) or one appointment (SCH with its AIS/AIP/AIL).
type ClinicalItem struct {
	Control string `json:"control,omitempty"` // ORC-1: NW new, CA cancel, DC discontinue, SC status …
	Placer  string `json:"placer,omitempty"`  // ORC-2/OBR-2, SCH-1 (EI-1)
	Filler  string `json:"filler,omitempty"`  // ORC-3/OBR-3, SCH-2 (EI-1)
	Status  string `json:"status,omitempty"`  // ORC-5, OBR-25, SCH-25
	Service string `json:"service,omitempty"` // OBR-4, RXO-1, RXE-2, AIS-3, SCH-7: the text (CE-2), else the code
	// Section is who fills the item as the sender names it: OBR-24
	// diagnostic service section (RAD, LAB, CT …), RX for pharmacy
	// messages without one, the first AIL-3 point of care of an
	// appointment. The directory relates it to the departments of the
	// people it sees filling such items.
	Section   string     `json:"section,omitempty"`
	Time      time.Time  `json:"time,omitzero"` // ORC-9, OBR-22, OBR-7, AIS-4/AIP-6/AIL-6, SCH-11.4; else MSH-7
	People    []Provider `json:"people,omitempty"`
	Locations []string   `json:"locations,omitempty"` // ORC-13.1 enterer's location, AIL-3.1
}

// ExtractClinical reads an order, pharmacy, result or scheduling message.
// Times without an offset are read in loc (UTC when nil). It returns a
// *ParseError naming segment and field when the type is not one of
// ClinicalTypes, the PID or its identifier is missing, there is no order
// (ORC/OBR/RX*) or appointment (SCH) segment, or a time is malformed.
func ExtractClinical(m *Message, loc *time.Location) (*Clinical, error) {
	kind, ok := ClinicalTypes[m.Type]
	if !ok {
		return nil, &ParseError{Segment: "MSH", SegIndex: 1, Field: 9, Msg: fmt.Sprintf("message type %q is not an order, result or scheduling message", m.Type), Code: ErrUnsupportedType}
	}
	c := &Clinical{Kind: kind, Type: m.Type, Event: m.Trigger, ControlID: m.ControlID}
	msh := m.Segment("MSH")
	c.SendingApp, c.SendingFac = msh.Get(3, 1, 1, 1), msh.Get(4, 1, 1, 1)
	var err error
	tm := func(s *Segment, field, comp int) time.Time {
		v := s.Get(field, 1, comp, 1)
		if v == "" || err != nil {
			return time.Time{}
		}
		t, e := ParseTime(v, loc)
		if e != nil {
			err = &ParseError{Segment: s.Name, SegIndex: segIndex(m, s), Field: field, Offset: s.Offset, Msg: e.Error(), Code: ErrDataType}
		}
		return t
	}
	c.MessageTime = tm(msh, 7, 1)

	pid := m.Segment("PID")
	if pid == nil {
		return nil, &ParseError{Segment: "PID", Msg: m.Type + " message has no PID segment", Code: ErrSegmentSequence}
	}
	c.Patient = cxList(pid, 3)
	if len(c.Patient) == 0 {
		c.Patient = cxList(pid, 2)
	}
	if len(c.Patient) == 0 {
		return nil, &ParseError{Segment: "PID", SegIndex: segIndex(m, pid), Field: 3, Offset: pid.Offset, Msg: "patient identifier list (PID-3) is empty", Code: ErrRequiredField}
	}
	if pv1 := m.Segment("PV1"); pv1 != nil {
		if v := cxList(pv1, 19); len(v) > 0 {
			c.Visit = v[0]
		}
		c.PatientClass = pv1.Get(2, 1, 1, 1)
	}

	// Items: an ORC or SCH always opens one; OBR, RX* and OBX fill the
	// open one, and an OBR or RX* detail opens a new one when the open
	// one already has its detail (ORU repeats OBR without ORC).
	cur := -1
	detail := false
	open := func() bool {
		if len(c.Items) >= MaxClinicalItems {
			cur = -1
			return false
		}
		c.Items = append(c.Items, ClinicalItem{})
		cur, detail = len(c.Items)-1, false
		return true
	}
	person := func(it *ClinicalItem, p Provider, role string) {
		if (p.ID == "" && p.Family == "") || len(it.People) >= MaxClinicalPeople {
			return
		}
		p.Role = role
		for _, q := range it.People {
			if q.ID == p.ID && q.Family == p.Family && q.Role == role {
				return
			}
		}
		it.People = append(it.People, p)
	}
	xcns := func(it *ClinicalItem, s *Segment, field int, role string) {
		for _, r := range s.Reps(field) {
			person(it, xcn(s, r), role)
		}
	}
	// ndl reads an NDL field (OBR-32..35): its first component is a CNN
	// whose subcomponents are id, family and given name.
	ndl := func(it *ClinicalItem, s *Segment, field int, role string) {
		for _, r := range s.Reps(field) {
			person(it, Provider{ID: s.Sub(r, 1, 1), Family: s.Sub(r, 1, 2), Given: s.Sub(r, 1, 3)}, role)
		}
	}
	setTime := func(it *ClinicalItem, t time.Time) {
		if it.Time.IsZero() && !t.IsZero() {
			it.Time = t
		}
	}
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	ceText := func(s *Segment, field int) string {
		if v := s.Get(field, 1, 2, 1); v != "" {
			return v
		}
		return s.Get(field, 1, 1, 1)
	}
	for i := range m.Segments {
		s := &m.Segments[i]
		switch s.Name {
		case "ORC", "SCH":
			if !open() {
				continue
			}
		case "OBR", "RXO", "RXE", "RXD", "RXA":
			if (cur < 0 || detail) && !open() {
				continue
			}
		case "OBX", "AIS", "AIG", "AIL", "AIP":
			if cur < 0 && !open() {
				continue
			}
		default:
			continue
		}
		it := &c.Items[cur]
		switch s.Name {
		case "ORC":
			it.Control = s.Get(1, 1, 1, 1)
			it.Placer, it.Filler = s.Get(2, 1, 1, 1), s.Get(3, 1, 1, 1)
			it.Status = s.Get(5, 1, 1, 1)
			setTime(it, tm(s, 9, 1))
			xcns(it, s, 10, RoleEntering)
			xcns(it, s, 11, RoleVerifying)
			xcns(it, s, 12, RoleOrdering)
			if l := s.Get(13, 1, 1, 1); l != "" {
				it.Locations = append(it.Locations, l)
			}
		case "OBR":
			detail = true
			set(&it.Placer, s.Get(2, 1, 1, 1))
			set(&it.Filler, s.Get(3, 1, 1, 1))
			set(&it.Service, ceText(s, 4))
			xcns(it, s, 16, RoleOrdering)
			set(&it.Section, s.Get(24, 1, 1, 1))
			set(&it.Status, s.Get(25, 1, 1, 1))
			t22, t7 := tm(s, 22, 1), tm(s, 7, 1)
			if c.Kind == KindResult {
				setTime(it, t22)
			}
			setTime(it, t7)
			ndl(it, s, 32, RoleInterpreter)
			ndl(it, s, 33, RoleInterpreter)
			ndl(it, s, 34, RoleTechnician)
			ndl(it, s, 35, RoleTranscribing)
		case "RXO", "RXE", "RXD", "RXA":
			detail = true
			f := map[string]int{"RXO": 1, "RXE": 2, "RXD": 2, "RXA": 5}[s.Name]
			set(&it.Service, ceText(s, f))
			if s.Name == "RXE" {
				xcns(it, s, 14, RolePharmacist)
			}
		case "OBX":
			xcns(it, s, 16, RoleObserver)
			setTime(it, tm(s, 14, 1))
		case "SCH":
			it.Placer, it.Filler = s.Get(1, 1, 1, 1), s.Get(2, 1, 1, 1)
			it.Status = s.Get(25, 1, 1, 1)
			it.Service = ceText(s, 7)
			if it.Service == "" {
				it.Service = ceText(s, 8)
			}
			setTime(it, tm(s, 11, 4))
			xcns(it, s, 12, RoleContact)
			xcns(it, s, 16, RoleContact)
			xcns(it, s, 20, RoleScheduler)
		case "AIS":
			set(&it.Service, ceText(s, 3))
			setTime(it, tm(s, 4, 1))
		case "AIP":
			setTime(it, tm(s, 6, 1))
			role := RoleResource
			for _, r := range s.Reps(3) {
				person(it, xcn(s, r), role)
			}
		case "AIL":
			setTime(it, tm(s, 6, 1))
			if l := pl(s, s.Field(3)).PointOfCare; l != "" {
				it.Locations = append(it.Locations, l)
				set(&it.Section, l)
			}
		case "AIG":
			setTime(it, tm(s, 8, 1))
		}
	}
	if err != nil {
		return nil, err
	}
	if len(c.Items) == 0 {
		want := "order segment (ORC, OBR or RX*)"
		if kind == KindAppointment {
			want = "schedule segment (SCH)"
		}
		return nil, &ParseError{Segment: "MSH", SegIndex: 1, Field: 9, Msg: m.Type + " message has no " + want, Code: ErrSegmentSequence}
	}
	for i := range c.Items {
		it := &c.Items[i]
		if it.Section == "" && kind == KindMedication {
			it.Section = "RX" // pharmacy fills every pharmacy message
		}
		if it.Time.IsZero() {
			it.Time = c.MessageTime
		}
		it.Section = strings.TrimSpace(it.Section)
	}
	return c, nil
}

// ClampFuture takes every time of c that is more than skew after now as
// now (a planned appointment may be in the future: its times are left
// alone). It returns the names of the fields it changed.
func (c *Clinical) ClampFuture(now time.Time, skew time.Duration) []string {
	if c.Kind == KindAppointment {
		return nil
	}
	var changed []string
	limit := now.Add(skew)
	if c.MessageTime.After(limit) {
		c.MessageTime = now
		changed = append(changed, "MSH-7")
	}
	for i := range c.Items {
		if c.Items[i].Time.After(limit) {
			c.Items[i].Time = now
			if len(changed) == 0 || changed[len(changed)-1] != "item time" {
				changed = append(changed, "item time")
			}
		}
	}
	return changed
}
