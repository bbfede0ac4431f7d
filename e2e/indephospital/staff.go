package indephospital

import (
	"fmt"
	"time"
)

// dept is an HR department: its name in the roster, the Epic login
// department its users sign in to (another naming, as in real exports),
// what its people do (kind), their titles and headcount at 450 staff.
type dept struct {
	name, epic, kind string
	titles           []string
	n                int
	unit, service    string // nursing units: the ADT point of care and service
	allHours         bool
}

var depts = []*dept{
	{name: "3 North Medical", epic: "SBR 3N MED SURG", kind: "rn", titles: []string{"Registered Nurse II", "Registered Nurse III", "Charge Nurse"}, n: 20, unit: "3N", service: "MED", allHours: true},
	{name: "4 South Surgical", epic: "SBR 4S SURGICAL", kind: "rn", titles: []string{"Registered Nurse II", "Charge Nurse"}, n: 18, unit: "4S", service: "SUR", allHours: true},
	{name: "5 East Cardiac Telemetry", epic: "SBR 5E TELE", kind: "rn", titles: []string{"Registered Nurse II", "Telemetry Tech"}, n: 18, unit: "5E", service: "CAR", allHours: true},
	{name: "2 West Critical Care", epic: "SBR 2W ICU", kind: "rn", titles: []string{"Critical Care RN", "Charge Nurse"}, n: 20, unit: "2W", service: "ICU", allHours: true},
	{name: "6 North Oncology", epic: "SBR 6N ONC", kind: "rn", titles: []string{"Oncology RN"}, n: 14, unit: "6N", service: "ONC", allHours: true},
	{name: "Birthing Center", epic: "SBR L&D MOTHER BABY", kind: "rn", titles: []string{"Perinatal RN"}, n: 14, unit: "LD", service: "OBS", allHours: true},
	{name: "Nursing Resource Pool", epic: "SBR NURSING FLOAT", kind: "float", titles: []string{"Float Pool RN"}, n: 14, allHours: true},
	{name: "Unit Support", epic: "SBR UNIT CLERKS", kind: "huc", titles: []string{"Health Unit Coordinator"}, n: 10, allHours: true},
	{name: "Hospital Medicine", epic: "SBR HOSPITALIST", kind: "hosp", titles: []string{"Hospitalist"}, n: 14, allHours: true},
	{name: "GME Internal Medicine", epic: "SBR IM RESIDENCY", kind: "resident", titles: []string{"PGY-1 Resident", "PGY-2 Resident", "PGY-3 Resident"}, n: 16, allHours: true},
	{name: "Medical Education", epic: "SBR STUDENTS", kind: "student", titles: []string{"Medical Student (MS3)"}, n: 8},
	{name: "Surgical Services", epic: "SBR SURGERY", kind: "surgeon", titles: []string{"Attending Surgeon"}, n: 10},
	{name: "Women's Health", epic: "SBR OB GYN", kind: "ob", titles: []string{"OB/GYN Physician"}, n: 5, allHours: true},
	{name: "Heart & Vascular Institute", epic: "SBR CARDIOLOGY", kind: "consult", titles: []string{"Cardiologist"}, n: 6},
	{name: "Specialty Consult Services", epic: "SBR ID NEPHRO PULM", kind: "consult", titles: []string{"Infectious Disease Physician", "Nephrologist", "Pulmonologist"}, n: 7},
	{name: "Emergency Services", epic: "SBR EMERGENCY DEPT", kind: "edmd", titles: []string{"Emergency Physician", "Physician Assistant"}, n: 12, allHours: true},
	{name: "Emergency Nursing", epic: "SBR EMERGENCY DEPT", kind: "edrn", titles: []string{"Emergency RN", "ED Technician"}, n: 36, allHours: true},
	{name: "Patient Access Services", epic: "SBR REGISTRATION", kind: "reg", titles: []string{"Patient Registrar", "Admitting Representative"}, n: 12, allHours: true},
	{name: "Department of Pharmacy", epic: "SBR INPATIENT PHARMACY", kind: "pharm", titles: []string{"Clinical Pharmacist", "Pharmacy Technician"}, n: 18, allHours: true},
	{name: "Diagnostic Imaging", epic: "SBR RADIOLOGY", kind: "radtech", titles: []string{"Radiologic Technologist", "CT Technologist"}, n: 14, allHours: true},
	{name: "Radiology Associates", epic: "SBR RADIOLOGY READING", kind: "radiologist", titles: []string{"Radiologist"}, n: 5, allHours: true},
	{name: "Laboratory Medicine", epic: "SBR LAB", kind: "lab", titles: []string{"Medical Laboratory Scientist", "Phlebotomist"}, n: 20, allHours: true},
	{name: "Patient Transport", epic: "SBR TRANSPORT", kind: "transport", titles: []string{"Patient Transporter"}, n: 10, allHours: true},
	{name: "Cardiopulmonary Services", epic: "SBR RESPIRATORY", kind: "rt", titles: []string{"Respiratory Therapist"}, n: 8, allHours: true},
	{name: "Rehabilitation Services", epic: "SBR REHAB", kind: "pt", titles: []string{"Physical Therapist", "Occupational Therapist"}, n: 7},
	{name: "Care Coordination", epic: "SBR CASE MGMT", kind: "cm", titles: []string{"RN Case Manager", "Social Worker"}, n: 8},
	{name: "Revenue Cycle - Patient Financial Services", epic: "SBR PFS", kind: "billing", titles: []string{"Patient Account Representative", "Billing Specialist"}, n: 12},
	{name: "Health Information Management", epic: "SBR HIM", kind: "him", titles: []string{"HIM Analyst", "Release of Information Specialist"}, n: 8},
	{name: "Coding & Documentation Integrity", epic: "SBR CODING", kind: "coder", titles: []string{"Inpatient Coder", "CDI Specialist"}, n: 8},
	{name: "Ambulatory Care Center", epic: "SBR AMB PRIMARY CARE", kind: "clinic", titles: []string{"Family Physician", "Nurse Practitioner"}, n: 10},
	{name: "Ambulatory Clinical Support", epic: "SBR AMB PRIMARY CARE", kind: "ma", titles: []string{"Medical Assistant"}, n: 10},
	{name: "Information Services", epic: "SBR IS", kind: "is", titles: []string{"Application Analyst"}, n: 6},
}

var (
	surnames = []string{"Abernathy", "Okafor", "Lindqvist", "Moreau", "Nakamura", "Castellanos", "Whitfield", "Adeyemi", "Brennan", "Kowalczyk",
		"Delacroix", "Haverford", "Ivanova", "Jaramillo", "Kettering", "Larkspur", "Mbeki", "Novak", "O'Donnell", "Pellegrino", "Quintero",
		"Rasmussen", "Szabo", "Thorne", "Umarov", "Valdivia", "Wexler", "Yamashita", "Zielinski", "Achterberg", "Bellweather", "Cardenas",
		"Dubois", "Eriksen", "Fairbanks", "Gallagher", "Hollister", "Iqbal", "Jorgensen", "Kaminski", "Lachance", "Montague", "Nguyen",
		"Oyelaran", "Prescott", "Ruiz-Ortega", "Stavros", "Trevino", "Underhill", "Vance", "Winslow", "Yilmaz", "Zamora", "Ashby", "Boateng",
		"Chaudhry", "Devereaux", "Esposito", "Fitzwilliam", "Gutierrez", "Hargreaves", "Ishikawa", "Janssen", "Kirkpatrick", "Lombardi",
		"Mwangi", "Northcott", "Ortiz", "Papadopoulos", "Ramanathan", "Sokolov", "Tanaka", "Van der Berg", "Whitaker", "Xu", "Youngblood",
		"Zhou", "Babcock", "Cromwell", "Dasgupta", "Engstrom", "Fonseca", "Greenleaf", "Holloway", "Ibarra", "Jacobsen", "Kwan", "Lindgren",
		"Mendoza", "Nilsson", "Olawale", "Pham", "Radcliffe", "Salazar", "Tolliver", "Ulrich", "Varga", "Weatherby", "Yoder", "Zubiri"}
	givenF = []string{"Amara", "Beatriz", "Chloe", "Dagny", "Esperanza", "Fiona", "Gwen", "Hana", "Imogen", "Jolene", "Keiko", "Leonor", "Marisol",
		"Nadia", "Oksana", "Priya", "Rosalind", "Saoirse", "Tamsin", "Ursula", "Valentina", "Wren", "Ximena", "Yara", "Zofia", "Adaeze", "Bronwyn"}
	givenM = []string{"Anselm", "Bartholomew", "Cormac", "Dmitri", "Emeka", "Fergus", "Gideon", "Hamish", "Ignatius", "Joaquin", "Kenji", "Leander",
		"Matthias", "Nikolai", "Oluwaseun", "Percival", "Quentin", "Rafferty", "Soren", "Tobias", "Umberto", "Vikram", "Wendell", "Yusuf", "Zoltan"}
	streetA = []string{"Alder", "Birchwood", "Cedar Hollow", "Dunmore", "Elmhurst", "Foxglove", "Granite", "Heron", "Ironwood", "Juniper", "Kestrel",
		"Laurel", "Millbrook", "Northfield", "Orchard", "Pinecrest", "Quarry", "Ridgeview", "Sassafras", "Tidewater", "Upland", "Valley Forge",
		"Willow Bend", "Yarmouth", "Zephyr", "Anchor", "Bayberry", "Chestnut", "Driftwood", "Eastgate", "Fieldstone", "Glenwood", "Harbor",
		"Indian Pond", "Jasper", "Kingfisher", "Lighthouse", "Mariner", "Nantucket", "Old Mill", "Plover", "Riverbend", "Saltmarsh", "Tamarack"}
	streetB = []string{"Street", "Road", "Lane", "Avenue", "Drive", "Court", "Way"}
	zips    = []string{"02719", "02720", "02740", "02745"}
)

func (g *gen) newPerson(family string, household int) person {
	p := person{family: family, household: household, sex: "F"}
	if g.chance(0.5) {
		p.sex = "M"
		p.given = givenM[g.pick(len(givenM))]
	} else {
		p.given = givenF[g.pick(len(givenF))]
	}
	p.dob = fmt.Sprintf("%04d%02d%02d", 1935+g.pick(85), 1+g.pick(12), 1+g.pick(28))
	return p
}

// people makes the patients' households: 1-5 people with a family name,
// an address and a home phone.
func (g *gen) people() {
	nStreets := len(streetA) * len(streetB)
	hh := 0
	for len(g.patients) < g.c.Patients {
		fam := surnames[g.pick(len(surnames))]
		s := g.pick(nStreets)
		num, zip := 1+g.pick(480), zips[s%len(zips)]
		phone := fmt.Sprintf("508-%03d-%04d", 200+g.pick(700), g.pick(10000))
		size := 1 + g.pick(3) + g.pick(3)/2
		first := len(g.patients)
		for i := 0; i < size && len(g.patients) < g.c.Patients; i++ {
			p := g.newPerson(fam, hh)
			p.num, p.street, p.zip, p.phone = num, streetA[s/len(streetB)]+" "+streetB[s%len(streetB)], zip, phone
			nk := -1
			if i > 0 {
				nk = first
			} else if size > 1 {
				nk = first + 1
			}
			g.patients = append(g.patients, patient{mrn: fmt.Sprintf("%d", 40010000+len(g.patients)*7), p: p, worker: -1, nk: nk})
		}
		hh++
	}
	n := len(g.patients)
	for i := range g.patients {
		if nk := g.patients[i].nk; nk >= n {
			g.patients[i].nk = -1
		}
		g.patients[i].vip = g.chance(0.01)
		g.patients[i].prot = g.chance(0.012)
	}
}

// staffing hires the roster. A third of the staff live with patients of
// the registry (their family), one in twelve is a patient themselves, the
// rest live elsewhere in town (on the same streets).
func (g *gen) staffing() {
	g.byKind = map[string][]int{}
	total := 0
	for _, d := range depts {
		total += d.n
	}
	scale := float64(g.c.Staff) / float64(total)
	for _, d := range depts {
		n := max(1, int(float64(d.n)*scale+0.5))
		for i := range n {
			w := worker{d: d, role: d.titles[i%len(d.titles)], patient: -1, night: d.allHours && g.chance(0.35), offset: g.pick(7)}
			idx := len(g.workers)
			w.emp = fmt.Sprintf("E%06d", 310000+idx*13)
			si := g.pick(len(g.patients))
			src := &g.patients[si]
			switch {
			case g.chance(0.33): // lives with family members who are patients
				w.p = g.newPerson(src.p.family, src.p.household)
				w.p.num, w.p.street, w.p.zip, w.p.phone = src.p.num, src.p.street, src.p.zip, src.p.phone
				if g.chance(0.5) {
					src.nkWorker = idx + 1
				}
			case g.chance(0.12): // is a patient
				w.p = src.p
				w.patient = si
			default:
				w.p = g.newPerson(surnames[g.pick(len(surnames))], -1-idx)
				w.p.num, w.p.street, w.p.zip = 500+g.pick(400), src.p.street, src.p.zip
				w.p.phone = fmt.Sprintf("774-%03d-%04d", 200+g.pick(700), g.pick(10000))
			}
			w.login = lower(w.p.given[:1] + squash(w.p.family))
			for n := 2; g.logins[w.login]; n++ {
				w.login = fmt.Sprintf("%s%s%d", lower(w.p.given[:1]), lower(squash(w.p.family)), n)
			}
			g.logins[w.login] = true
			if d.kind == "hosp" || d.kind == "surgeon" || d.kind == "ob" || d.kind == "consult" || d.kind == "edmd" ||
				d.kind == "clinic" || d.kind == "radiologist" || d.kind == "resident" {
				w.npi = fmt.Sprintf("1%09d", 234500000+idx*17)
			}
			if g.chance(0.03) {
				w.term = g.c.Start.AddDate(0, 0, 5+g.pick(max(1, g.c.Days-10)))
			}
			g.workers = append(g.workers, w)
			if w.patient >= 0 {
				g.patients[w.patient].worker = idx
			}
			k := d.kind
			if k == "rn" {
				k = "rn:" + d.unit
			}
			g.byKind[k] = append(g.byKind[k], idx)
		}
	}
	// every hospitalist leads a team of one or two residents and may
	// have a student
	res := g.byKind["resident"]
	for i, h := range g.byKind["hosp"] {
		for j := 0; j < 2 && len(res) > 0; j++ {
			g.workers[h].residents = append(g.workers[h].residents, res[(2*i+j)%len(res)])
		}
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func squash(s string) string {
	var b []byte
	for _, c := range []byte(s) {
		if c != ' ' && c != '\'' && c != '-' {
			b = append(b, c)
		}
	}
	return string(b)
}

func (g *gen) day(t time.Time) time.Time { return t.Truncate(24 * time.Hour) }
