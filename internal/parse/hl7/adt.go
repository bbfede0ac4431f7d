package hl7

import (
	"fmt"
	"strings"
	"time"
)

// ADTEvents are the ADT trigger events ExtractADT understands, with what
// each one means for a patient directory.
var ADTEvents = map[string]string{
	"A01": "admit/visit notification: upsert patient, open inpatient encounter",
	"A02": "transfer: upsert patient, move encounter to PV1-3 (prior location PV1-6)",
	"A03": "discharge/end visit: upsert patient, close encounter (PV1-45)",
	"A04": "register a patient: upsert patient, open outpatient encounter",
	"A05": "pre-admit: upsert patient, encounter in pre-admitted state",
	"A08": "update patient information: upsert patient and encounter",
	"A11": "cancel admit/visit: cancel the encounter",
	"A13": "cancel discharge: reopen the encounter",
	"A28": "add person information: upsert patient, no encounter",
	"A31": "update person information: upsert patient, no encounter",
	"A40": "merge patient - patient identifier list: MRG-1 identifiers merge into PID-3",
}

// Identifier is an HL7 CX identifier (PID-3, PV1-19, MRG-1).
type Identifier struct {
	ID                 string `json:"id"`
	AssigningAuthority string `json:"assigning_authority,omitempty"` // CX-4.1 namespace (or CX-4.2 universal id)
	TypeCode           string `json:"type_code,omitempty"`           // CX-5, e.g. MR, PI, AN, VN, SS
	AssigningFacility  string `json:"assigning_facility,omitempty"`  // CX-6.1
}

// Name is an HL7 XPN person name.
type Name struct {
	Family string `json:"family,omitempty"`
	Given  string `json:"given,omitempty"`
	Middle string `json:"middle,omitempty"`
	Suffix string `json:"suffix,omitempty"`
	Prefix string `json:"prefix,omitempty"`
	Degree string `json:"degree,omitempty"`
	Type   string `json:"type,omitempty"` // XPN-7 name type code, e.g. L legal
}

// Address is an HL7 XAD address.
type Address struct {
	Street     string `json:"street,omitempty"`
	Other      string `json:"other,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Country    string `json:"country,omitempty"`
	Type       string `json:"type,omitempty"` // XAD-7, e.g. H home
}

// Phone is an HL7 XTN telecommunication number.
type Phone struct {
	Number    string `json:"number,omitempty"`
	Use       string `json:"use,omitempty"`       // XTN-2, e.g. PRN, WPN
	Equipment string `json:"equipment,omitempty"` // XTN-3, e.g. PH, CP, Internet
	Email     string `json:"email,omitempty"`     // XTN-4
}

// NextOfKin is one NK1 segment.
type NextOfKin struct {
	Name         Name     `json:"name"`
	Relationship string   `json:"relationship,omitempty"` // NK1-3.1 code (table 0063), e.g. SPO, MTH
	RelationText string   `json:"relationship_text,omitempty"`
	Address      *Address `json:"address,omitempty"`
	Phones       []Phone  `json:"phones,omitempty"`
	ContactRole  string   `json:"contact_role,omitempty"` // NK1-7.1
}

// Patient is the person content of an ADT message (PID, PD1, NK1, ARV).
type Patient struct {
	Identifiers   []Identifier `json:"identifiers"`          // PID-3, every repetition
	Names         []Name       `json:"names,omitempty"`      // PID-5
	BirthDate     string       `json:"birth_date,omitempty"` // PID-7 as sent (DTM)
	Sex           string       `json:"sex,omitempty"`        // PID-8
	Addresses     []Address    `json:"addresses,omitempty"`  // PID-11
	Phones        []Phone      `json:"phones,omitempty"`     // PID-13 home, then PID-14 business
	AccountNumber *Identifier  `json:"account_number,omitempty"`
	NextOfKin     []NextOfKin  `json:"next_of_kin,omitempty"`
	Deceased      bool         `json:"deceased,omitempty"`     // PID-30 = Y, or PID-29 present
	DeceasedTime  time.Time    `json:"deceased_time,omitzero"` // PID-29
	// VIP is PV1-16 (VIP indicator, user-defined table 0099) when sent.
	VIP string `json:"vip,omitempty"`
	// Protection is PD1-12 (protection indicator, Y/N): the patient asked
	// that their information be protected.
	Protection string `json:"protection,omitempty"`
	// Restrictions are ARV access restriction values (ARV-3.1, v2.6+),
	// e.g. "VIP", "EMP", "PSY", with their reason ARV-4.
	Restrictions []string `json:"restrictions,omitempty"`
}

// Provider is an HL7 XCN person (attending, referring, ROL person ...).
type Provider struct {
	ID                 string `json:"id,omitempty"`
	Family             string `json:"family,omitempty"`
	Given              string `json:"given,omitempty"`
	Middle             string `json:"middle,omitempty"`
	Prefix             string `json:"prefix,omitempty"`
	Degree             string `json:"degree,omitempty"`
	AssigningAuthority string `json:"assigning_authority,omitempty"` // XCN-9.1
	// Role is set for ROL care-team members: ROL-3.1 (e.g. AT, RP, CP,
	// PP); for the PV1 doctors it is "attending", "referring",
	// "consulting" or "admitting".
	Role       string    `json:"role,omitempty"`
	RoleAction string    `json:"role_action,omitempty"` // ROL-2: AD add, DE delete, UP update, UC unchanged
	Begin      time.Time `json:"begin,omitzero"`        // ROL-5
	End        time.Time `json:"end,omitzero"`          // ROL-6
}

// Location is an HL7 PL person location (PV1-3, PV1-6).
type Location struct {
	PointOfCare string `json:"point_of_care,omitempty"`
	Room        string `json:"room,omitempty"`
	Bed         string `json:"bed,omitempty"`
	Facility    string `json:"facility,omitempty"`
	Building    string `json:"building,omitempty"`
	Floor       string `json:"floor,omitempty"`
}

// String renders the location as point^room^bed^facility without
// trailing empty parts.
func (l Location) String() string {
	s := strings.Join([]string{l.PointOfCare, l.Room, l.Bed, l.Facility}, "^")
	return strings.TrimRight(s, "^")
}

// Encounter is the visit content of an ADT message (PV1, PV2, ROL).
type Encounter struct {
	VisitNumber     Identifier `json:"visit_number"`               // PV1-19
	Class           string     `json:"class,omitempty"`            // PV1-2, e.g. I, O, E
	Location        Location   `json:"location"`                   // PV1-3
	PriorLocation   *Location  `json:"prior_location,omitempty"`   // PV1-6
	AdmissionType   string     `json:"admission_type,omitempty"`   // PV1-4
	HospitalService string     `json:"hospital_service,omitempty"` // PV1-10
	Attending       []Provider `json:"attending,omitempty"`        // PV1-7
	Referring       []Provider `json:"referring,omitempty"`        // PV1-8
	Consulting      []Provider `json:"consulting,omitempty"`       // PV1-9
	Admitting       []Provider `json:"admitting,omitempty"`        // PV1-17
	CareTeam        []Provider `json:"care_team,omitempty"`        // ROL segments
	AdmitTime       time.Time  `json:"admit_time,omitzero"`        // PV1-44
	DischargeTime   time.Time  `json:"discharge_time,omitzero"`    // PV1-45
}

// Merge is one PID/MRG pair of a merge message (A40): the identifiers
// in Prior (MRG-1) are merged into the surviving patient.
type Merge struct {
	Surviving    []Identifier `json:"surviving"`               // PID-3 of the group
	Prior        []Identifier `json:"prior"`                   // MRG-1
	PriorAccount string       `json:"prior_account,omitempty"` // MRG-3.1
	PriorVisit   string       `json:"prior_visit,omitempty"`   // MRG-5.1
	PriorName    *Name        `json:"prior_name,omitempty"`    // MRG-7
}

// ADT is what an ADT message says about a patient and their encounter.
type ADT struct {
	Event        string     `json:"event"`      // trigger event, e.g. A01
	ControlID    string     `json:"control_id"` // MSH-10
	SendingApp   string     `json:"sending_application,omitempty"`
	SendingFac   string     `json:"sending_facility,omitempty"`
	RecordedTime time.Time  `json:"recorded_time,omitzero"` // EVN-2, else MSH-7
	EventTime    time.Time  `json:"event_time,omitzero"`    // EVN-6 (event occurred), else RecordedTime
	Operator     *Provider  `json:"operator,omitempty"`     // EVN-5
	Patient      Patient    `json:"patient"`
	Encounter    *Encounter `json:"encounter,omitempty"` // nil without PV1
	Merges       []Merge    `json:"merges,omitempty"`    // A40 (and other merge events)
}

// ExtractADT reads the ADT content of m. Times without an offset are read
// in loc (UTC when nil). It returns a *ParseError naming the segment and
// field when the message is not an ADT, lacks a PID with an identifier,
// or carries a malformed time.
func ExtractADT(m *Message, loc *time.Location) (*ADT, error) {
	if m.Type != "ADT" {
		return nil, &ParseError{Segment: "MSH", SegIndex: 1, Field: 9, Msg: fmt.Sprintf("message type %q is not ADT", m.Type), Code: ErrUnsupportedType}
	}
	a := &ADT{Event: m.Trigger, ControlID: m.ControlID}
	msh := m.Segment("MSH")
	a.SendingApp = msh.Get(3, 1, 1, 1)
	a.SendingFac = msh.Get(4, 1, 1, 1)
	evn := m.Segment("EVN")
	if a.Event == "" && evn != nil {
		a.Event = evn.Get(1, 1, 1, 1) // v2.3 senders may put the trigger in EVN-1
	}
	if _, ok := ADTEvents[a.Event]; !ok {
		return nil, &ParseError{Segment: "MSH", SegIndex: 1, Field: 9, Msg: fmt.Sprintf("ADT event %q is not supported", a.Event), Code: ErrUnsupportedEvent}
	}
	var err error
	tm := func(s *Segment, field int) time.Time {
		v := s.Get(field, 1, 1, 1)
		if v == "" || err != nil {
			return time.Time{}
		}
		t, e := ParseTime(v, loc)
		if e != nil {
			err = &ParseError{Segment: s.Name, SegIndex: segIndex(m, s), Field: field, Offset: s.Offset, Msg: e.Error(), Code: ErrDataType}
		}
		return t
	}
	a.RecordedTime = tm(msh, 7)
	if evn != nil {
		if t := tm(evn, 2); !t.IsZero() {
			a.RecordedTime = t
		}
		a.EventTime = tm(evn, 6)
		if evn.Field(5) != "" {
			p := xcn(evn, evn.Reps(5)[0])
			a.Operator = &p
		}
	}
	if a.EventTime.IsZero() {
		a.EventTime = a.RecordedTime
	}

	pids := m.All("PID")
	if len(pids) == 0 {
		return nil, &ParseError{Segment: "PID", Msg: "ADT message has no PID segment", Code: ErrSegmentSequence}
	}
	pid := pids[0]
	a.Patient.Identifiers = cxList(pid, 3)
	if len(a.Patient.Identifiers) == 0 {
		// v2.3 senders may only fill PID-2 (external id).
		a.Patient.Identifiers = cxList(pid, 2)
	}
	if len(a.Patient.Identifiers) == 0 {
		return nil, &ParseError{Segment: "PID", SegIndex: segIndex(m, pid), Field: 3, Offset: pid.Offset, Msg: "patient identifier list (PID-3) is empty", Code: ErrRequiredField}
	}
	for _, r := range pid.Reps(5) {
		if n := xpn(pid, r); n != (Name{}) {
			a.Patient.Names = append(a.Patient.Names, n)
		}
	}
	a.Patient.BirthDate = pid.Get(7, 1, 1, 1)
	if a.Patient.BirthDate != "" {
		if _, e := ParseTime(a.Patient.BirthDate, loc); e != nil && err == nil {
			err = &ParseError{Segment: "PID", SegIndex: segIndex(m, pid), Field: 7, Offset: pid.Offset, Msg: e.Error(), Code: ErrDataType}
		}
	}
	a.Patient.Sex = pid.Get(8, 1, 1, 1)
	for _, r := range pid.Reps(11) {
		if ad := xad(pid, r); ad != (Address{}) {
			a.Patient.Addresses = append(a.Patient.Addresses, ad)
		}
	}
	for _, f := range []int{13, 14} {
		for _, r := range pid.Reps(f) {
			if p := xtn(pid, r); p != (Phone{}) {
				if p.Use == "" && f == 14 {
					p.Use = "WPN"
				}
				a.Patient.Phones = append(a.Patient.Phones, p)
			}
		}
	}
	if acct := cxList(pid, 18); len(acct) > 0 {
		a.Patient.AccountNumber = &acct[0]
	}
	a.Patient.DeceasedTime = tm(pid, 29)
	a.Patient.Deceased = pid.Get(30, 1, 1, 1) == "Y" || !a.Patient.DeceasedTime.IsZero()
	if pd1 := m.Segment("PD1"); pd1 != nil {
		a.Patient.Protection = pd1.Get(12, 1, 1, 1)
	}
	for _, arv := range m.All("ARV") {
		if v := arv.Get(3, 1, 1, 1); v != "" {
			a.Patient.Restrictions = append(a.Patient.Restrictions, v)
		}
	}
	for _, nk := range m.All("NK1") {
		k := NextOfKin{Relationship: nk.Get(3, 1, 1, 1), RelationText: nk.Get(3, 1, 2, 1), ContactRole: nk.Get(7, 1, 1, 1)}
		if r := nk.Reps(2); len(r) > 0 {
			k.Name = xpn(nk, r[0])
		}
		if r := nk.Reps(4); len(r) > 0 {
			if ad := xad(nk, r[0]); ad != (Address{}) {
				k.Address = &ad
			}
		}
		for _, f := range []int{5, 6} {
			for _, r := range nk.Reps(f) {
				if p := xtn(nk, r); p != (Phone{}) {
					k.Phones = append(k.Phones, p)
				}
			}
		}
		a.Patient.NextOfKin = append(a.Patient.NextOfKin, k)
	}

	if pv1 := m.Segment("PV1"); pv1 != nil {
		e := &Encounter{
			Class:           pv1.Get(2, 1, 1, 1),
			Location:        pl(pv1, pv1.Field(3)),
			AdmissionType:   pv1.Get(4, 1, 1, 1),
			HospitalService: pv1.Get(10, 1, 1, 1),
		}
		if v := cxList(pv1, 19); len(v) > 0 {
			e.VisitNumber = v[0]
		}
		if pv1.Field(6) != "" {
			p := pl(pv1, pv1.Field(6))
			e.PriorLocation = &p
		}
		for _, doc := range []struct {
			field int
			role  string
			dst   *[]Provider
		}{{7, "attending", &e.Attending}, {8, "referring", &e.Referring}, {9, "consulting", &e.Consulting}, {17, "admitting", &e.Admitting}} {
			for _, r := range pv1.Reps(doc.field) {
				if p := xcn(pv1, r); p.ID != "" || p.Family != "" {
					p.Role = doc.role
					*doc.dst = append(*doc.dst, p)
				}
			}
		}
		a.Patient.VIP = pv1.Get(16, 1, 1, 1)
		e.AdmitTime = tm(pv1, 44)
		e.DischargeTime = tm(pv1, 45)
		for _, rol := range m.All("ROL") {
			for _, r := range rol.Reps(4) {
				p := xcn(rol, r)
				p.Role = rol.Get(3, 1, 1, 1)
				p.RoleAction = rol.Get(2, 1, 1, 1)
				p.Begin = tm(rol, 5)
				p.End = tm(rol, 6)
				e.CareTeam = append(e.CareTeam, p)
			}
		}
		a.Encounter = e
	}

	// Merge groups: each MRG belongs to the PID before it.
	var cur *Segment
	for i := range m.Segments {
		s := &m.Segments[i]
		switch s.Name {
		case "PID":
			cur = s
		case "MRG":
			mg := Merge{Prior: cxList(s, 1), PriorAccount: s.Get(3, 1, 1, 1), PriorVisit: s.Get(5, 1, 1, 1)}
			if cur != nil {
				mg.Surviving = cxList(cur, 3)
			}
			if r := s.Reps(7); len(r) > 0 {
				n := xpn(s, r[0])
				mg.PriorName = &n
			}
			if len(mg.Prior) == 0 {
				return nil, &ParseError{Segment: "MRG", SegIndex: i + 1, Field: 1, Offset: s.Offset, Msg: "prior patient identifier list (MRG-1) is empty", Code: ErrRequiredField}
			}
			a.Merges = append(a.Merges, mg)
		}
	}
	if a.Event == "A40" && len(a.Merges) == 0 {
		return nil, &ParseError{Segment: "MRG", Msg: "A40 merge message has no MRG segment", Code: ErrSegmentSequence}
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

func segIndex(m *Message, s *Segment) int {
	for i := range m.Segments {
		if &m.Segments[i] == s {
			return i + 1
		}
	}
	return 0
}

func cxList(s *Segment, field int) []Identifier {
	var out []Identifier
	for _, r := range s.Reps(field) {
		id := Identifier{
			ID:                 s.Sub(r, 1, 1),
			AssigningAuthority: s.Sub(r, 4, 1),
			TypeCode:           s.Sub(r, 5, 1),
			AssigningFacility:  s.Sub(r, 6, 1),
		}
		if id.AssigningAuthority == "" {
			id.AssigningAuthority = s.Sub(r, 4, 2)
		}
		if id.ID != "" {
			out = append(out, id)
		}
	}
	return out
}

func xpn(s *Segment, r string) Name {
	return Name{
		Family: s.Sub(r, 1, 1), Given: s.Sub(r, 2, 1), Middle: s.Sub(r, 3, 1),
		Suffix: s.Sub(r, 4, 1), Prefix: s.Sub(r, 5, 1), Degree: s.Sub(r, 6, 1), Type: s.Sub(r, 7, 1),
	}
}

func xad(s *Segment, r string) Address {
	return Address{
		Street: s.Sub(r, 1, 1), Other: s.Sub(r, 2, 1), City: s.Sub(r, 3, 1), State: s.Sub(r, 4, 1),
		PostalCode: s.Sub(r, 5, 1), Country: s.Sub(r, 6, 1), Type: s.Sub(r, 7, 1),
	}
}

func xtn(s *Segment, r string) Phone {
	p := Phone{Number: s.Sub(r, 1, 1), Use: s.Sub(r, 2, 1), Equipment: s.Sub(r, 3, 1), Email: s.Sub(r, 4, 1)}
	if p.Number == "" {
		// v2.5+: the number is in parts (country, area, local, extension).
		parts := []string{s.Sub(r, 5, 1), s.Sub(r, 6, 1), s.Sub(r, 7, 1)}
		n := strings.TrimSpace(strings.Join(parts, " "))
		if ext := s.Sub(r, 8, 1); ext != "" {
			n += " x" + ext
		}
		p.Number = strings.TrimSpace(n)
	}
	return p
}

func xcn(s *Segment, r string) Provider {
	return Provider{
		ID: s.Sub(r, 1, 1), Family: s.Sub(r, 2, 1), Given: s.Sub(r, 3, 1), Middle: s.Sub(r, 4, 1),
		Prefix: s.Sub(r, 6, 1), Degree: s.Sub(r, 7, 1), AssigningAuthority: s.Sub(r, 9, 1),
	}
}

func pl(s *Segment, f string) Location {
	r := nth(f, s.d.Repetition, 1)
	return Location{
		PointOfCare: s.Sub(r, 1, 1), Room: s.Sub(r, 2, 1), Bed: s.Sub(r, 3, 1),
		Facility: s.Sub(r, 4, 1), Building: s.Sub(r, 7, 1), Floor: s.Sub(r, 8, 1),
	}
}

// ClampFuture takes every time of a that can only be in the past — when
// the event happened or was recorded, a discharge, a death, the end of a
// care-team role — and is more than skew after now as now: a sender's
// clock must not, say, keep a care-team membership open for years. Times
// that may be planned (admission, the start of a role) are left, since a
// future start grants nothing. It returns the names of the fields it
// changed (no values).
func (a *ADT) ClampFuture(now time.Time, skew time.Duration) []string {
	var changed []string
	limit := now.Add(skew)
	clamp := func(name string, t *time.Time) {
		if t.After(limit) {
			*t = now
			changed = append(changed, name)
		}
	}
	clamp("EVN-2/MSH-7", &a.RecordedTime)
	clamp("EVN-6", &a.EventTime)
	clamp("PID-29", &a.Patient.DeceasedTime)
	if e := a.Encounter; e != nil {
		clamp("PV1-45", &e.DischargeTime)
		for i := range e.CareTeam {
			clamp("ROL-6", &e.CareTeam[i].End)
		}
	}
	return changed
}
