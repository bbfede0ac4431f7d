package simulate

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// The synthetic hospital: departments, a workforce with roles, shifts,
// managers and workstations, and patients, some of them VIPs, relatives
// of staff or staff themselves. Everything is drawn from a seeded random
// source; every name, address and number is made up.

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
)

var kindRole = map[Kind]string{
	Physician: "Physician", Nurse: "Registered Nurse", Radiologist: "Radiologist", RadTech: "Radiologic Technologist",
	Pharmacist: "Pharmacist", LabTech: "Laboratory Technologist", Registrar: "Patient Registrar", Billing: "Billing Specialist",
	HIM: "Health Information Technician", IT: "Systems Administrator", Privacy: "Privacy Officer",
}

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

// Dept is a department; inpatient departments have a unit (HL7 point of
// care) with beds.
type Dept struct {
	Code, Name string
	Unit       string // point of care; "" for non-clinical departments
	Inpatient  bool
	Beds       int
	WSNet      string // workstation subnet, e.g. 10.10.4
	Physicians []*Worker
	Nurses     []*Worker
	Staff      []*Worker
}

// Worker is one member of staff.
type Worker struct {
	Index                         int
	EmployeeID, Login, ProviderID string
	Family, Given                 string
	Street, City, State, Zip      string
	Phone, Email                  string
	Dept                          *Dept
	Kind                          Kind
	ManagerID                     string
	HireDate, TerminationDate     string
	Shift                         Shift
	Workstation, WSIP             string
	// Patient is the worker's own patient record (-1: none); Relatives
	// the patient records of family members.
	Patient   int
	Relatives []int
}

// Role is the job title in the roster.
func (w *Worker) Role() string { return kindRole[w.Kind] }

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
	StaffOf                         int // worker index when the patient is a member of staff, else -1
	RelativeOf                      int // worker index when the patient is family of a member of staff, else -1
}

// NextOfKin is an NK1 contact.
type NextOfKin struct {
	Family, Given, Relation, RelationText string
	Street, City, State, Zip, Phone       string
}

// Sensitive reports whether only the care team may touch the record in
// the benign background: VIPs, protected records, staff and their
// families.
func (p *Patient) Sensitive() bool {
	return p.VIP || p.Protected || p.StaffOf >= 0 || p.RelativeOf >= 0
}

// Hospital is the whole synthetic organisation.
type Hospital struct {
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
Spruce Sycamore Walnut Alder Beech Cherry Cypress Hawthorn Linden Locust Mulberry Olive Redwood Sequoia Tamarack Yew`)

var streetKinds = []string{"Street", "Avenue", "Road", "Lane", "Drive", "Court", "Place", "Boulevard"}

var cities = []struct{ name, zip string }{
	{"Riverton", "627"}, {"Lakeside", "628"}, {"Millbrook", "629"}, {"Fairview", "626"}, {"Oakdale", "625"},
}

// deptSpecs lists the departments with their relative staffing (scaled to
// the workforce size asked for).
var deptSpecs = []struct {
	code, name, unit string
	inpatient        bool
	beds             int
	staff            map[Kind]int
}{
	{"ED", "Emergency Department", "ED", false, 0, map[Kind]int{Physician: 4, Nurse: 12}},
	{"MED", "Internal Medicine", "4W", true, 24, map[Kind]int{Physician: 6, Nurse: 16}},
	{"SURG", "Surgery", "3E", true, 16, map[Kind]int{Physician: 4, Nurse: 10}},
	{"CARD", "Cardiology", "CCU", true, 10, map[Kind]int{Physician: 3, Nurse: 8}},
	{"PEDS", "Pediatrics", "PEDS", true, 10, map[Kind]int{Physician: 3, Nurse: 8}},
	{"ICU", "Intensive Care", "ICU", true, 8, map[Kind]int{Physician: 2, Nurse: 10}},
	{"RAD", "Radiology", "", false, 0, map[Kind]int{Radiologist: 3, RadTech: 6}},
	{"LAB", "Laboratory", "", false, 0, map[Kind]int{LabTech: 5}},
	{"PHARM", "Pharmacy", "", false, 0, map[Kind]int{Pharmacist: 4}},
	{"REG", "Patient Access", "", false, 0, map[Kind]int{Registrar: 6}},
	{"BILL", "Patient Financial Services", "", false, 0, map[Kind]int{Billing: 5}},
	{"HIM", "Health Information Management", "", false, 0, map[Kind]int{HIM: 3}},
	{"IT", "Information Technology", "", false, 0, map[Kind]int{IT: 4}},
	{"COMP", "Compliance", "", false, 0, map[Kind]int{Privacy: 1}},
}

// NewHospital draws a hospital of about staff workers and patients
// patients from the seed.
func NewHospital(seed uint64, staff, patients int) *Hospital {
	rng := rand.New(rand.NewPCG(seed, 0x686f7370))
	base := 0
	for _, ds := range deptSpecs {
		for _, n := range ds.staff {
			base += n
		}
	}
	scale := float64(staff) / float64(base)
	h := &Hospital{ByLogin: map[string]*Worker{}}
	pick := func(l []string) string { return l[rng.IntN(len(l))] }
	address := func() (street, city, state, zip string) {
		c := cities[rng.IntN(len(cities))]
		return fmt.Sprintf("%d %s %s", 10+rng.IntN(4980), pick(streets), pick(streetKinds)), c.name, "IL", fmt.Sprintf("%s%02d", c.zip, rng.IntN(100))
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
	for _, ds := range deptSpecs {
		d := &Dept{Code: ds.code, Name: ds.name, Unit: ds.unit, Inpatient: ds.inpatient, Beds: max(2, int(float64(ds.beds)*scale+0.5)),
			WSNet: fmt.Sprintf("10.10.%d", net)}
		net++
		h.Depts = append(h.Depts, d)
		for _, k := range []Kind{Physician, Nurse, Radiologist, RadTech, Pharmacist, LabTech, Registrar, Billing, HIM, IT, Privacy} {
			n := ds.staff[k]
			if n == 0 {
				continue
			}
			n = max(1, int(float64(n)*scale+0.5))
			if k == Nurse || (k == Physician && ds.code == "ED") {
				n = max(n, 2) // a day and a night
			}
			for i := 0; i < n; i++ {
				w := &Worker{Index: len(h.Workers), Dept: d, Kind: k, Patient: -1}
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
				if k != IT && k != Privacy && k != Billing && k != HIM {
					w.ProviderID = fmt.Sprintf("%010d", 1000000000+int64(rng.IntN(900000000)))
				}
				w.Street, w.City, w.State, w.Zip = address()
				w.Phone = uniquePhone()
				w.Email = w.Login + "@riverton-general.example"
				w.HireDate = fmt.Sprintf("%d-%02d-%02d", 2008+rng.IntN(16), 1+rng.IntN(12), 1+rng.IntN(28))
				switch {
				case k == Nurse:
					w.Shift = dayShift
					if i%2 == 1 {
						w.Shift = nightShift
					}
				case k == Physician && ds.code == "ED":
					w.Shift = dayShift
					if i%2 == 1 {
						w.Shift = nightShift
					}
				case k == Physician, k == RadTech, k == Radiologist, k == Pharmacist, k == LabTech, k == Registrar:
					w.Shift = dayShift
					if (k == Registrar || k == LabTech) && i%3 == 2 {
						w.Shift = nightShift
					}
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
		p := &Patient{Index: len(h.Patients), StaffOf: -1, RelativeOf: -1}
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

// Dept returns the department with a code.
func (h *Hospital) Dept(code string) *Dept {
	for _, d := range h.Depts {
		if d.Code == code {
			return d
		}
	}
	return nil
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
