package directory

import (
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/parse/hl7"
)

// Identifier is one patient identifier (PID-3 repetition, MRG-1).
type Identifier struct {
	Value     string `json:"value"`
	Authority string `json:"authority,omitempty"` // assigning authority (CX-4)
	TypeCode  string `json:"type_code,omitempty"` // MR, PI, AN, SS …
	Facility  string `json:"facility,omitempty"`
	// MergedFrom is the patient record the identifier belonged to before
	// an A40 merge moved it here.
	MergedFrom int64 `json:"merged_from,omitempty"`
}

// Patient is one patient record.
type Patient struct {
	ID int64 `json:"id"`
	// MergedInto is set when an A40 merge folded this record into another
	// one (the survivor); the record is kept for history.
	MergedInto    int64           `json:"merged_into,omitempty"`
	Name          string          `json:"name"` // display name "FAMILY, Given"
	Names         []hl7.Name      `json:"names"`
	BirthDate     string          `json:"birth_date,omitempty"`
	Sex           string          `json:"sex,omitempty"`
	Addresses     []hl7.Address   `json:"addresses"`
	Phones        []hl7.Phone     `json:"phones"`
	NextOfKin     []hl7.NextOfKin `json:"next_of_kin"`
	AccountNumber string          `json:"account_number,omitempty"`
	Deceased      bool            `json:"deceased"`
	DeceasedTime  time.Time       `json:"deceased_time,omitzero"`
	// VIP is the VIP indicator (PV1-16) as sent; Protection the
	// protection indicator (PD1-12); Restrictions the access restriction
	// values (ARV-3).
	VIP          string       `json:"vip,omitempty"`
	Protection   string       `json:"protection,omitempty"`
	Restrictions []string     `json:"restrictions"`
	Identifiers  []Identifier `json:"identifiers"`
	Encounters   []Encounter  `json:"encounters,omitempty"`
	Merges       []Merge      `json:"merges,omitempty"`
	CreatedAt    time.Time    `json:"created_at"`
	UpdatedAt    time.Time    `json:"updated_at"`
	// UpdatedBy is the message that last changed the record's
	// demographics or flags.
	UpdatedBy *Provenance `json:"updated_by,omitempty"`
}

// Confidential reports whether the record carries a VIP, protection or
// access restriction flag.
func (p *Patient) Confidential() bool {
	return (p.VIP != "" && !strings.EqualFold(p.VIP, "N")) || strings.EqualFold(p.Protection, "Y") || len(p.Restrictions) > 0
}

// Encounter statuses (FHIR Encounter.status vocabulary).
const (
	StatusPlanned    = "planned"     // A05 pre-admit
	StatusInProgress = "in-progress" // A01, A04, A02, A08, A13
	StatusFinished   = "finished"    // A03
	StatusCancelled  = "cancelled"   // A11
)

// Encounter is one visit or stay.
type Encounter struct {
	ID              int64     `json:"id"`
	PatientID       int64     `json:"patient_id"`
	MergedFrom      int64     `json:"merged_from,omitempty"`
	VisitNumber     string    `json:"visit_number,omitempty"`
	VisitAuthority  string    `json:"visit_authority,omitempty"`
	Class           string    `json:"class,omitempty"`
	Status          string    `json:"status"`
	Location        string    `json:"location,omitempty"`
	PriorLocation   string    `json:"prior_location,omitempty"`
	AdmissionType   string    `json:"admission_type,omitempty"`
	HospitalService string    `json:"hospital_service,omitempty"`
	AdmitTime       time.Time `json:"admit_time,omitzero"`
	DischargeTime   time.Time `json:"discharge_time,omitzero"`
	// LocationSince is when the location last changed (a transfer's
	// event time): before it the patient was at PriorLocation.
	LocationSince time.Time        `json:"location_since,omitzero"`
	CareTeam      []CareTeamMember `json:"care_team"`
	CreatedAt     time.Time        `json:"created_at"`
	UpdatedAt     time.Time        `json:"updated_at"`
}

// CareTeamMember is a provider's membership of an encounter's care team
// for a period (End zero: still serving).
type CareTeamMember struct {
	ProviderID string `json:"provider_id"`
	// Role is attending, referring, consulting or admitting for the PV1
	// doctors, or the ROL-3 role code (AT, PP, CP …) for ROL members.
	Role      string    `json:"role"`
	Source    string    `json:"source"` // pv1 or rol
	Family    string    `json:"family,omitempty"`
	Given     string    `json:"given,omitempty"`
	Prefix    string    `json:"prefix,omitempty"`
	Degree    string    `json:"degree,omitempty"`
	Authority string    `json:"authority,omitempty"`
	Begin     time.Time `json:"begin,omitzero"`
	End       time.Time `json:"end,omitzero"`
	// Added says which message put the member on the team, from whom,
	// and when Vigil recorded it (its own clock); AddedWithEncounter is
	// true when that message opened the encounter (an admission), false
	// when it added the member to an encounter already open. Ended is
	// the same for the end of the membership. Both are nil for
	// memberships recorded before provenance was kept.
	Added              *Change `json:"added,omitempty"`
	AddedWithEncounter bool    `json:"added_with_encounter"`
	Ended              *Change `json:"ended,omitempty"`
}

// Provenance says where a directory change came from: the HL7 message
// (control id MSH-10, trigger event, sending application MSH-3 and
// facility MSH-4) and the connection it came on (address, client
// certificate subject under mutual TLS).
type Provenance struct {
	ControlID   string `json:"control_id,omitempty"`
	Event       string `json:"event,omitempty"`
	Application string `json:"sending_application,omitempty"`
	Facility    string `json:"sending_facility,omitempty"`
	Remote      string `json:"remote,omitempty"`
	TLSSubject  string `json:"tls_subject,omitempty"`
}

// Change is one recorded change: when Vigil recorded it, and where it
// came from.
type Change struct {
	At time.Time `json:"at"`
	Provenance
}

// Merge is one A40 merge of a prior patient record into a survivor.
type Merge struct {
	SurvivorID       int64        `json:"survivor_id"`
	PriorID          int64        `json:"prior_id,omitempty"` // 0: the prior identifiers were not known here
	PriorIdentifiers []Identifier `json:"prior_identifiers"`
	ControlID        string       `json:"control_id,omitempty"`
	EventTime        time.Time    `json:"event_time,omitzero"`
	AppliedAt        time.Time    `json:"applied_at"`
	AppliedBy        *Provenance  `json:"applied_by,omitempty"`
}

// Worker is one member of the workforce.
type Worker struct {
	ID         int64  `json:"id"`
	EmployeeID string `json:"employee_id"`
	// EHRUserID is the login the EHR records in its audit trail (the
	// user.name of EHR events).
	EHRUserID string `json:"ehr_user_id,omitempty"`
	// ProviderID is the id HL7 messages use for the person as a provider
	// (XCN-1, often the NPI), linking care teams to the workforce.
	ProviderID      string    `json:"provider_id,omitempty"`
	FullName        string    `json:"full_name,omitempty"`
	FamilyName      string    `json:"family_name,omitempty"`
	GivenName       string    `json:"given_name,omitempty"`
	Address         string    `json:"address,omitempty"`
	City            string    `json:"city,omitempty"`
	State           string    `json:"state,omitempty"`
	PostalCode      string    `json:"postal_code,omitempty"`
	Country         string    `json:"country,omitempty"`
	Email           string    `json:"email,omitempty"`
	Phone           string    `json:"phone,omitempty"`
	Department      string    `json:"department,omitempty"`
	Role            string    `json:"role,omitempty"`
	ManagerID       string    `json:"manager_id,omitempty"` // employee id of the manager
	HireDate        string    `json:"hire_date,omitempty"`  // YYYY-MM-DD
	TerminationDate string    `json:"termination_date,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// TerminatedAt reports whether the worker's termination date lies before
// t: the termination date is the last day worked, so activity from the
// following midnight (in loc, UTC when nil) on is after termination.
func (w *Worker) TerminatedAt(t time.Time, loc *time.Location) bool {
	if w.TerminationDate == "" {
		return false
	}
	if loc == nil {
		loc = time.UTC
	}
	d, err := time.ParseInLocation("2006-01-02", w.TerminationDate, loc)
	if err != nil {
		return false
	}
	return !t.Before(d.AddDate(0, 0, 1))
}

func displayName(n []hl7.Name) string {
	if len(n) == 0 {
		return ""
	}
	s := n[0].Family
	if n[0].Given != "" {
		if s != "" {
			s += ", "
		}
		s += n[0].Given
	}
	return s
}
