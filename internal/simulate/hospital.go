package simulate

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// The synthetic hospital: departments, a workforce with roles, shifts,
// managers and workstations, and patients, some of them VIPs, relatives,
// neighbours of staff or staff themselves. Everything is drawn from a
// seeded random source; every name, address and number is made up.
//
// A hospital is built from a profile: its departments with their names,
// codes and staffing, and its job titles. Two profiles with different
// names and proportions exist ("general" and "community"), so that
// whatever learns from the simulated data can be shown not to depend on
// one set of names.

// Kind is what a worker does, which decides their shift and the work the
// simulator gives them.
type Kind int

// Kinds of worker.
const (
	Physician Kind = iota
	Nurse
	Radiologist
	RadTech
	Pharmacist
	LabTech
	Registrar
	Billing
	HIM
	IT
	Privacy
	Transport
	CaseManager
	Dietitian
	Student
	numKinds
)

// Clinical reports whether the worker's kind serves on care teams.
func (k Kind) Clinical() bool { return k == Physician || k == Nurse }

// Shift is a daily working window in local hours [Start, End); End below
// Start wraps past midnight.
type Shift struct{ Start, End int }

// On reports whether local hour h is inside the shift.
func (s Shift) On(h int) bool {
	if s.Start < s.End {
		return h >= s.Start && h < s.End
	}
	return h >= s.Start || h < s.End
}

var (
	dayShift    = Shift{7, 19}
	nightShift  = Shift{19, 7}
	officeHours = Shift{8, 17}
)

// DeptKind is what a department does in the simulation.
type DeptKind int

// Kinds of department.
const (
	DeptEmergency DeptKind = iota
	DeptWard               // inpatient unit
	DeptICU                // intensive care unit (patients are transferred to it)
	DeptClinic             // outpatient clinic
	DeptFloat              // nurses who cover the wards
	DeptImaging
	DeptLab
	DeptPharmacy
	DeptRegistration
	DeptBilling
	DeptHIM
	DeptIT
	DeptCompliance
	DeptTransport
	DeptCaseManagement
	DeptNutrition
)

// DeptSpec is a department of a profile with its staffing at the base
// size (scaled to the workforce asked for).
type DeptSpec struct {
	Kind       DeptKind
	Code, Name string
	// Unit is the HL7 point of care (PV1-3.1) of wards, the emergency
	// department and clinics; Service the hospital service (PV1-10).
	Unit, Service string
	Beds          int
	// Consults: the department's physicians are called to consult on
	// the patients of other wards.
	Consults bool
	Staff    map[Kind]int
}

// Profile is a kind of hospital.
type Profile struct {
	Name  string
	Depts []DeptSpec
	// Roles are the job titles of the roster and the access log.
	Roles map[Kind]string
	// Facility is the HL7 facility and assigning authority.
	Facility string
}

// Profiles are the hospitals the simulator can build.
var Profiles = map[string]*Profile{
	"general": {
		Name: "general", Facility: "RGH",
		Roles: map[Kind]string{Physician: "Physician", Nurse: "Registered Nurse", Radiologist: "Radiologist", RadTech: "Radiologic Technologist",
			Pharmacist: "Pharmacist", LabTech: "Laboratory Technologist", Registrar: "Patient Registrar", Billing: "Billing Specialist",
			HIM: "Health Information Technician", IT: "Systems Administrator", Privacy: "Privacy Officer", Transport: "Patient Transporter",
			CaseManager: "Case Manager", Dietitian: "Clinical Dietitian", Student: "Medical Student"},
		Depts: []DeptSpec{
			{Kind: DeptEmergency, Code: "ED", Name: "Emergency Department", Unit: "ED", Service: "EM", Staff: map[Kind]int{Physician: 4, Nurse: 12, Registrar: 2}},
			{Kind: DeptWard, Code: "MED", Name: "Internal Medicine", Unit: "4W", Service: "MED", Beds: 24, Staff: map[Kind]int{Physician: 6, Nurse: 16, Student: 2}},
			{Kind: DeptWard, Code: "SURG", Name: "Surgery", Unit: "3E", Service: "SUR", Beds: 16, Staff: map[Kind]int{Physician: 4, Nurse: 10}},
			{Kind: DeptWard, Code: "CARD", Name: "Cardiology", Unit: "CCU", Service: "CAR", Beds: 10, Consults: true, Staff: map[Kind]int{Physician: 3, Nurse: 8}},
			{Kind: DeptWard, Code: "PEDS", Name: "Pediatrics", Unit: "PEDS", Service: "PED", Beds: 10, Staff: map[Kind]int{Physician: 3, Nurse: 8}},
			{Kind: DeptICU, Code: "ICU", Name: "Intensive Care", Unit: "ICU", Service: "ICU", Beds: 8, Staff: map[Kind]int{Physician: 2, Nurse: 10}},
			{Kind: DeptClinic, Code: "CLIN", Name: "Outpatient Clinic", Unit: "OPC", Service: "OP", Staff: map[Kind]int{Physician: 2, Nurse: 3}},
			{Kind: DeptFloat, Code: "FLOAT", Name: "Nursing Float Pool", Staff: map[Kind]int{Nurse: 4}},
			{Kind: DeptImaging, Code: "RAD", Name: "Radiology", Staff: map[Kind]int{Radiologist: 3, RadTech: 6}},
			{Kind: DeptLab, Code: "LAB", Name: "Laboratory", Staff: map[Kind]int{LabTech: 5}},
			{Kind: DeptPharmacy, Code: "PHARM", Name: "Pharmacy", Staff: map[Kind]int{Pharmacist: 4}},
			{Kind: DeptRegistration, Code: "REG", Name: "Patient Access", Staff: map[Kind]int{Registrar: 5}},
			{Kind: DeptBilling, Code: "BILL", Name: "Patient Financial Services", Staff: map[Kind]int{Billing: 5}},
			{Kind: DeptHIM, Code: "HIM", Name: "Health Information Management", Staff: map[Kind]int{HIM: 3}},
			{Kind: DeptTransport, Code: "TRANS", Name: "Patient Transport", Staff: map[Kind]int{Transport: 4}},
			{Kind: DeptCaseManagement, Code: "CM", Name: "Case Management", Staff: map[Kind]int{CaseManager: 3}},
			{Kind: DeptNutrition, Code: "NUTR", Name: "Clinical Nutrition", Staff: map[Kind]int{Dietitian: 2}},
			{Kind: DeptIT, Code: "IT", Name: "Information Technology", Staff: map[Kind]int{IT: 4}},
			{Kind: DeptCompliance, Code: "COMP", Name: "Compliance", Staff: map[Kind]int{Privacy: 1}},
		},
	},
	// A community hospital with other names, codes and proportions: more
	// emergency and medical-surgical work, a bigger revenue cycle, one
	// combined ancillary workforce per service.
	"community": {
		Name: "community", Facility: "SVC",
		Roles: map[Kind]string{Physician: "MD", Nurse: "RN", Radiologist: "Diagnostic Radiologist", RadTech: "CT/MRI Technologist",
			Pharmacist: "PharmD", LabTech: "Medical Lab Scientist", Registrar: "Admitting Clerk", Billing: "Revenue Cycle Analyst",
			HIM: "Coder", IT: "IT Analyst", Privacy: "Compliance Analyst", Transport: "Transport Aide", CaseManager: "Social Worker",
			Dietitian: "Nutritionist", Student: "Nursing Student"},
		Depts: []DeptSpec{
			{Kind: DeptEmergency, Code: "EMER", Name: "Emergency Medicine", Unit: "EMER", Service: "ERM", Staff: map[Kind]int{Physician: 6, Nurse: 16, Registrar: 3}},
			{Kind: DeptWard, Code: "MS", Name: "Medical-Surgical", Unit: "MS2", Service: "MSU", Beds: 36, Staff: map[Kind]int{Physician: 7, Nurse: 22, Student: 3}},
			{Kind: DeptWard, Code: "TELE", Name: "Telemetry", Unit: "TEL5", Service: "TEL", Beds: 14, Consults: true, Staff: map[Kind]int{Physician: 2, Nurse: 9}},
			{Kind: DeptWard, Code: "WCH", Name: "Women and Children", Unit: "WC1", Service: "OBS", Beds: 12, Staff: map[Kind]int{Physician: 3, Nurse: 9}},
			{Kind: DeptICU, Code: "CCU", Name: "Critical Care", Unit: "CRIT", Service: "CCM", Beds: 6, Staff: map[Kind]int{Physician: 2, Nurse: 8}},
			{Kind: DeptClinic, Code: "FMC", Name: "Family Medicine Clinic", Unit: "FMC", Service: "FAM", Staff: map[Kind]int{Physician: 3, Nurse: 4}},
			{Kind: DeptFloat, Code: "RES", Name: "Resource Nursing", Staff: map[Kind]int{Nurse: 6}},
			{Kind: DeptImaging, Code: "IMG", Name: "Imaging Services", Staff: map[Kind]int{Radiologist: 2, RadTech: 5}},
			{Kind: DeptLab, Code: "CLS", Name: "Clinical Laboratory", Staff: map[Kind]int{LabTech: 6}},
			{Kind: DeptPharmacy, Code: "RX", Name: "Rx Services", Staff: map[Kind]int{Pharmacist: 3}},
			{Kind: DeptRegistration, Code: "ADM", Name: "Admitting", Staff: map[Kind]int{Registrar: 4}},
			{Kind: DeptBilling, Code: "REV", Name: "Revenue Cycle", Staff: map[Kind]int{Billing: 8}},
			{Kind: DeptHIM, Code: "MR", Name: "Medical Records", Staff: map[Kind]int{HIM: 5}},
			{Kind: DeptTransport, Code: "PT", Name: "Patient Transportation", Staff: map[Kind]int{Transport: 3}},
			{Kind: DeptCaseManagement, Code: "CC", Name: "Care Coordination", Staff: map[Kind]int{CaseManager: 4}},
			{Kind: DeptNutrition, Code: "FNS", Name: "Food and Nutrition", Staff: map[Kind]int{Dietitian: 1}},
			{Kind: DeptIT, Code: "IS", Name: "Information Services", Staff: map[Kind]int{IT: 3}},
			{Kind: DeptCompliance, Code: "CMP", Name: "Corporate Compliance", Staff: map[Kind]int{Privacy: 2}},
		},
	},
}

// ProfileNames lists the profiles.
func ProfileNames() []string {
	var out []string
	for k := range Profiles {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// baseBeds is a profile's inpatient beds at the base staffing.
func (p *Profile) baseBeds() int {
	n := 0
	for _, d := range p.Depts {
		n += d.Beds
	}
	return n
}

func (p *Profile) baseStaff() int {
	n := 0
	for _, d := range p.Depts {
		for _, c := range d.Staff {
			n += c
		}
	}
	return n
}

// Dept is a department; inpatient departments have a unit (HL7 point of
// care) with beds.
type Dept struct {
	Kind       DeptKind
	Code, Name string
	Unit       string // point of care; "" for departments without patients
	Service    string
	Beds       int
	Consults   bool
	WSNet      string // workstation subnet, e.g. 10.10.4
	Physicians []*Worker
	Nurses     []*Worker
	Staff      []*Worker
}

// Inpatient reports whether patients stay in the department.
func (d *Dept) Inpatient() bool { return d.Kind == DeptWard || d.Kind == DeptICU }

// Worker is one member of staff.
type Worker struct {
	Index                         int
	EmployeeID, Login, ProviderID string
	Family, Given                 string
	Street, City, State, Zip      string
	Phone, Email                  string
	Dept                          *Dept
	Kind                          Kind
	Title                         string
	ManagerID                     string
	HireDate, TerminationDate     string
	Shift                         Shift
	Workstation, WSIP             string
	// Patient is the worker's own patient record (-1: none); Relatives
	// the patient records of family members; Neighbours those of people
	// living on the same street.
	Patient    int
	Relatives  []int
	Neighbours []int
}

// Role is the job title in the roster.
func (w *Worker) Role() string { return w.Title }

// FullName is "Given Family".
func (w *Worker) FullName() string { return w.Given + " " + w.Family }

// Patient is one person in the patient index.
type Patient struct {
	Index                           int
	MRN                             string
	Family, Given, Middle           string
	Birth                           string // YYYYMMDD
	Sex                             string
	Street, Other, City, State, Zip string
	Phone                           string
	NOK                             *NextOfKin
	VIP, Protected                  bool
	// Deceased: the patient died before the simulated period (their
	// registration says so).
	Deceased     bool
	DeceasedDate string // YYYYMMDD
	StaffOf      int    // worker index when the patient is a member of staff, else -1
	RelativeOf   int    // worker index when the patient is family of a member of staff, else -1
	NeighbourOf  int    // worker index when the patient lives on a staff member's street, else -1
}

// NextOfKin is an NK1 contact.
type NextOfKin struct {
	Family, Given, Relation, RelationText string
	Street, City, State, Zip, Phone       string
}

// Sensitive reports whether the record is one snooping targets: VIPs,
// protected records, staff, their families and neighbours, the dead.
func (p *Patient) Sensitive() bool {
	return p.VIP || p.Protected || p.StaffOf >= 0 || p.RelativeOf >= 0 || p.NeighbourOf >= 0 || p.Deceased
}

// Hospital is the whole synthetic organisation.
type Hospital struct {
	Profile  *Profile
	Depts    []*Dept
	Workers  []*Worker
	Patients []*Patient
	ByLogin  map[string]*Worker
}

var familyNames = strings.Fields(`Abbott Acosta Adler Ahmed Alvarez Andersen Archer Arnold Bailey Baker Banerjee Barnes Bauer
Becker Bennett Bishop Blake Boyd Bradley Brennan Brooks Burke Byrne Caldwell Campbell Carlson Carter Castillo Chandler Chen
Choi Clarke Coleman Collins Conway Cooper Cortez Crawford Cruz Dalton Daniels Dawson Delgado Dixon Doyle Duarte Dunn Eaton
Ellis Emerson Farrell Fischer Fleming Flores Foster Franklin Fraser Fuller Garcia Gardner Gibson Gill Gonzalez Graham Grant
Gray Griffin Gupta Hale Hamilton Hansen Harper Hayes Henderson Herrera Hoffman Holland Howard Hughes Ibarra Ingram Jacobs
Jansen Jensen Jimenez Kaplan Keller Kennedy Khan Kim Klein Knight Kowalski Lambert Larsen Lawson Lee Lindqvist Lopez Lucero
Lynch Maddox Mahoney Marsh Martens Mason Mendez Meyer Miller Moreno Morgan Murphy Nakamura Nash Navarro Nguyen Novak Nunez
Obrien Okafor Olsen Ortega Osei Owens Park Patel Pearson Perez Peters Phelps Porter Quinn Ramirez Reyes Richter Rios
Robinson Romero Rossi Russo Salazar Sanders Santos Schmidt Schneider Shah Silva Singh Sokolov Sorensen Stewart Suarez
Sullivan Tanaka Thornton Torres Tran Turner Vargas Vasquez Vaughn Vogel Wagner Walsh Ward Watts Weber Wells Whitaker Wolfe
Yamamoto Young Zamora Zhang Ziegler`)

var givenFemale = strings.Fields(`Ada Alice Amara Anna Beatriz Carmen Chloe Clara Daria Elena Emma Eva Fatima Grace Hana Helena
Ines Irene Julia Keiko Laila Lena Lucia Maya Mei Mira Nadia Nora Olivia Paula Priya Rosa Ruth Sara Sofia Tara Vera Yara Zoe`)

var givenMale = strings.Fields(`Aaron Adam Ahmed Arjun Ben Carlos Daniel David Diego Elias Emil Felix Gabriel Hugo Ian Ivan
Jamal Jonas Kenji Leo Liam Lucas Marco Mateo Milan Noah Omar Oscar Pablo Rafael Ravi Samuel Simon Theo Tomas Victor Yusuf`)

var streets = strings.Fields(`Oak Maple Cedar Elm Pine Birch Willow Aspen Chestnut Hickory Juniper Laurel Magnolia Poplar
Spruce Sycamore Walnut Alder Beech Cherry Cypress Hawthorn Linden Locust Mulberry Olive Redwood Sequoia Tamarack Yew
Acacia Bluebell Clover Dogwood Fernwood Foxglove Heather Holly Ivy Jasmine Lilac Marigold Orchard Primrose Rosewood
Sagebrush Thistle Violet Wisteria Yarrow Zinnia Briar Copper Falcon Granite Harbor Meadow Ridge Summit Valley`)

var streetKinds = []string{"Street", "Avenue", "Road", "Lane", "Drive", "Court", "Place", "Boulevard"}

var cities = []struct{ name, zip string }{
	{"Riverton", "627"}, {"Lakeside", "628"}, {"Millbrook", "629"}, {"Fairview", "626"}, {"Oakdale", "625"},
}

// NewHospital draws a hospital of the general profile with about staff
// workers and patients patients from the seed.
func NewHospital(seed uint64, staff, patients int) *Hospital {
	return NewHospitalOf(Profiles["general"], seed, staff, patients)
}

// NewHospitalOf draws a hospital of a profile with about staff workers
// and patients patients from the seed.
func NewHospitalOf(prof *Profile, seed uint64, staff, patients int) *Hospital {
	rng := rand.New(rand.NewPCG(seed, 0x686f7370))
	scale := float64(staff) / float64(prof.baseStaff())
	h := &Hospital{Profile: prof, ByLogin: map[string]*Worker{}}
	pick := func(l []string) string { return l[rng.IntN(len(l))] }
	streetName := func() string { return pick(streets) + " " + pick(streetKinds) }
	address := func() (street, city, state, zip string) {
		c := cities[rng.IntN(len(cities))]
		return fmt.Sprintf("%d %s", 10+rng.IntN(4980), streetName()), c.name, "IL", fmt.Sprintf("%s%02d", c.zip, rng.IntN(100))
	}
	phone := func() string { return fmt.Sprintf("(217) 555-%04d", rng.IntN(10000)) }
	usedPhones := map[string]bool{}
	uniquePhone := func() string {
		for {
			p := phone()
			if !usedPhones[p] {
				usedPhones[p] = true
				return p
			}
		}
	}
	logins := map[string]int{}
	net := 10
	for _, ds := range prof.Depts {
		d := &Dept{Kind: ds.Kind, Code: ds.Code, Name: ds.Name, Unit: ds.Unit, Service: ds.Service, Consults: ds.Consults,
			WSNet: fmt.Sprintf("10.10.%d", net)}
		if ds.Beds > 0 {
			d.Beds = max(2, int(float64(ds.Beds)*scale+0.5))
		}
		net++
		h.Depts = append(h.Depts, d)
		for k := Kind(0); k < numKinds; k++ {
			n := ds.Staff[k]
			if n == 0 {
				continue
			}
			n = max(1, int(float64(n)*scale+0.5))
			if k == Nurse && ds.Kind != DeptClinic || (k == Physician && ds.Kind == DeptEmergency) {
				n = max(n, 2) // a day and a night
			}
			for i := 0; i < n; i++ {
				w := &Worker{Index: len(h.Workers), Dept: d, Kind: k, Title: prof.Roles[k], Patient: -1}
				w.EmployeeID = fmt.Sprintf("E%05d", 10001+w.Index)
				if rng.IntN(2) == 0 {
					w.Given = pick(givenFemale)
				} else {
					w.Given = pick(givenMale)
				}
				w.Family = pick(familyNames)
				base := strings.ToLower(w.Given[:1] + w.Family)
				logins[base]++
				w.Login = base
				if logins[base] > 1 {
					w.Login = fmt.Sprintf("%s%d", base, logins[base])
				}
				switch k {
				case Physician, Nurse, Radiologist, RadTech, Pharmacist, LabTech, Registrar, Dietitian:
					w.ProviderID = fmt.Sprintf("%010d", 1000000000+int64(rng.IntN(900000000)))
				}
				w.Street, w.City, w.State, w.Zip = address()
				w.Phone = uniquePhone()
				w.Email = w.Login + "@" + strings.ToLower(prof.Facility) + ".example"
				w.HireDate = fmt.Sprintf("%d-%02d-%02d", 2008+rng.IntN(16), 1+rng.IntN(12), 1+rng.IntN(28))
				switch {
				case k == Nurse && ds.Kind != DeptClinic, k == Physician && ds.Kind == DeptEmergency:
					w.Shift = dayShift
					if i%2 == 1 {
						w.Shift = nightShift
					}
				case k == Registrar || k == LabTech || k == Transport:
					w.Shift = dayShift
					if i%3 == 2 {
						w.Shift = nightShift
					}
				case k == Physician, k == RadTech, k == Radiologist, k == Pharmacist, k == Student:
					w.Shift = dayShift
				case ds.Kind == DeptClinic:
					w.Shift = officeHours
				default:
					w.Shift = officeHours
				}
				host := d.Code
				if d.Unit != "" {
					host = d.Unit
				}
				w.Workstation = fmt.Sprintf("WS-%s-%02d", host, 1+i%8)
				w.WSIP = fmt.Sprintf("%s.%d", d.WSNet, 11+i%8)
				d.Staff = append(d.Staff, w)
				switch k {
				case Physician:
					d.Physicians = append(d.Physicians, w)
				case Nurse:
					d.Nurses = append(d.Nurses, w)
				}
				h.Workers = append(h.Workers, w)
				h.ByLogin[w.Login] = w
			}
		}
	}
	// Managers: the first member of each department reports to the
	// director (the first worker), the others to the first member.
	director := h.Workers[0].EmployeeID
	for _, d := range h.Depts {
		for i, w := range d.Staff {
			if i == 0 {
				if w.EmployeeID != director {
					w.ManagerID = director
				}
				continue
			}
			w.ManagerID = d.Staff[0].EmployeeID
		}
	}

	// Patients.
	newPatient := func() *Patient {
		p := &Patient{Index: len(h.Patients), StaffOf: -1, RelativeOf: -1, NeighbourOf: -1}
		p.MRN = fmt.Sprintf("MRN%07d", 2000000+p.Index*7+rng.IntN(7))
		if rng.IntN(2) == 0 {
			p.Sex, p.Given = "F", pick(givenFemale)
		} else {
			p.Sex, p.Given = "M", pick(givenMale)
		}
		p.Family = pick(familyNames)
		if rng.IntN(3) == 0 {
			p.Middle = string(rune('A' + rng.IntN(26)))
		}
		p.Birth = fmt.Sprintf("%d%02d%02d", 1935+rng.IntN(88), 1+rng.IntN(12), 1+rng.IntN(28))
		p.Street, p.City, p.State, p.Zip = address()
		p.Phone = uniquePhone()
		h.Patients = append(h.Patients, p)
		return p
	}
	for i := 0; i < patients; i++ {
		p := newPatient()
		// Most adults list a spouse at home, some a parent or child elsewhere.
		switch rng.IntN(4) {
		case 0, 1:
			g := pick(givenFemale)
			if p.Sex == "F" {
				g = pick(givenMale)
			}
			p.NOK = &NextOfKin{Family: p.Family, Given: g, Relation: "SPO", RelationText: "Spouse", Street: p.Street, City: p.City, State: p.State,
				Zip: p.Zip, Phone: p.Phone}
		case 2:
			s, c, st, z := address()
			p.NOK = &NextOfKin{Family: p.Family, Given: pick(givenFemale), Relation: "CHD", RelationText: "Child", Street: s, City: c, State: st,
				Zip: z, Phone: uniquePhone()}
		}
	}
	// VIPs and protected records.
	nVIP := max(3, patients/100)
	for i := 0; i < nVIP; i++ {
		h.Patients[rng.IntN(len(h.Patients))].VIP = true
	}
	for i := 0; i < max(2, patients/200); i++ {
		h.Patients[rng.IntN(len(h.Patients))].Protected = true
	}
	// Patients who died before the period (one of them a VIP).
	for i := 0; i < max(3, patients/150); i++ {
		p := h.Patients[rng.IntN(len(h.Patients))]
		p.Deceased = true
		p.DeceasedDate = fmt.Sprintf("2026%02d%02d", 1+rng.IntN(9), 1+rng.IntN(28))
		if i == 0 {
			p.VIP = true
		}
	}
	// Staff who are patients: the same person (name, birth date, address,
	// phone).
	for i := 0; i < max(3, len(h.Workers)/30); i++ {
		w := h.Workers[1+rng.IntN(len(h.Workers)-1)]
		if w.Patient >= 0 {
			continue
		}
		p := newPatient()
		p.Family, p.Given, p.Middle = w.Family, w.Given, ""
		p.Street, p.City, p.State, p.Zip, p.Phone = w.Street, w.City, w.State, w.Zip, w.Phone
		p.StaffOf, w.Patient = w.Index, p.Index
		p.NOK = nil
	}
	// Relatives of staff: a spouse at the same address with the worker as
	// next of kin, or a parent elsewhere listing the worker.
	for i := 0; i < max(4, len(h.Workers)/20); i++ {
		w := h.Workers[1+rng.IntN(len(h.Workers)-1)]
		p := newPatient()
		p.RelativeOf = w.Index
		w.Relatives = append(w.Relatives, p.Index)
		p.Family = w.Family
		for p.Given == w.Given {
			p.Given = pick(givenFemale)
		}
		if rng.IntN(3) > 0 {
			p.Street, p.City, p.State, p.Zip = w.Street, w.City, w.State, w.Zip
			p.NOK = &NextOfKin{Family: w.Family, Given: w.Given, Relation: "SPO", RelationText: "Spouse", Street: w.Street, City: w.City,
				State: w.State, Zip: w.Zip, Phone: w.Phone}
		} else {
			p.Birth = fmt.Sprintf("%d%02d%02d", 1935+rng.IntN(20), 1+rng.IntN(12), 1+rng.IntN(28))
			p.NOK = &NextOfKin{Family: w.Family, Given: w.Given, Relation: "CHD", RelationText: "Child", Street: w.Street, City: w.City,
				State: w.State, Zip: w.Zip, Phone: w.Phone}
		}
	}
	// Neighbours of staff: people on the worker's street, at another
	// number, not related.
	for i := 0; i < max(3, len(h.Workers)/30); i++ {
		w := h.Workers[1+rng.IntN(len(h.Workers)-1)]
		num, street, _ := strings.Cut(w.Street, " ")
		p := newPatient()
		for p.Family == w.Family {
			p.Family = pick(familyNames)
		}
		n := 10 + rng.IntN(4980)
		for fmt.Sprint(n) == num {
			n = 10 + rng.IntN(4980)
		}
		p.Street, p.City, p.State, p.Zip = fmt.Sprintf("%d %s", n, street), w.City, w.State, w.Zip
		p.NeighbourOf = w.Index
		w.Neighbours = append(w.Neighbours, p.Index)
	}
	return h
}

// Clinical returns the physicians and nurses.
func (h *Hospital) Clinical() []*Worker {
	var out []*Worker
	for _, w := range h.Workers {
		if w.Kind.Clinical() {
			out = append(out, w)
		}
	}
	return out
}

// DeptsOf returns the departments of a kind.
func (h *Hospital) DeptsOf(k DeptKind) []*Dept {
	var out []*Dept
	for _, d := range h.Depts {
		if d.Kind == k {
			out = append(out, d)
		}
	}
	return out
}

// First returns the first department of a kind (nil when none).
func (h *Hospital) First(k DeptKind) *Dept {
	if ds := h.DeptsOf(k); len(ds) > 0 {
		return ds[0]
	}
	return nil
}

// Wards returns the inpatient units (wards and intensive care).
func (h *Hospital) Wards() []*Dept {
	var out []*Dept
	for _, d := range h.Depts {
		if d.Inpatient() {
			out = append(out, d)
		}
	}
	return out
}

// OfKind returns the workers of a kind.
func (h *Hospital) OfKind(k Kind) []*Worker {
	var out []*Worker
	for _, w := range h.Workers {
		if w.Kind == k {
			out = append(out, w)
		}
	}
	return out
}
