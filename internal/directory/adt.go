package directory

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vigil-siem/vigil/internal/parse/hl7"
)

// Result says what ApplyADT did. Warnings never contain PHI.
type Result struct {
	Event       string   `json:"event"`
	PatientID   int64    `json:"patient_id,omitempty"`
	EncounterID int64    `json:"encounter_id,omitempty"`
	Created     bool     `json:"created,omitempty"`   // a new patient record
	Changed     bool     `json:"changed,omitempty"`   // anything was written
	Duplicate   bool     `json:"duplicate,omitempty"` // this exact message was applied before
	Merged      int      `json:"merged,omitempty"`    // prior records merged (A40)
	Warnings    []string `json:"warnings,omitempty"`
}

// encounterEvents are the ADT events whose PV1 describes an encounter
// (A28/A31 carry a placeholder PV1, A40 none that matters).
var encounterEvents = map[string]bool{"A01": true, "A02": true, "A03": true, "A04": true, "A05": true, "A08": true, "A11": true, "A13": true}

// ApplyADT records what an ADT message says in the directory, in one
// transaction:
//
//   - every event upserts the patient found by any of its PID-3
//     identifiers (new identifiers are added; a value sent replaces the
//     stored one, an empty value leaves it);
//   - A01/A04 open the encounter (PV1-19) as in-progress, A05 as planned,
//     A02 moves it (PV1-3, prior location PV1-6), A03 finishes it (PV1-45),
//     A08 updates it, A11 cancels it, A13 reopens it; the PV1 doctors and
//     ROL members form the care team, each with the period they served;
//   - A40 merges each MRG-1 prior record into the PID-3 survivor: all the
//     prior record's identifiers and encounters move to the survivor, the
//     prior record is kept with merged_into set, and the merge is recorded.
//
// It is idempotent: a message applied before (same content, kept for
// LedgerRetention) changes nothing and gives Result.Duplicate, and
// applying the same facts twice leaves the same state.
func (s *Store) ApplyADT(ctx context.Context, a *hl7.ADT) (Result, error) {
	return s.ApplyADTFrom(ctx, a, Provenance{})
}

// ApplyADTFrom is ApplyADT recording where the message came from with
// every care-team change, merge and patient update it makes (the message's
// control id, event, sending application and facility fill the fields
// prov leaves empty).
func (s *Store) ApplyADTFrom(ctx context.Context, a *hl7.ADT, prov Provenance) (Result, error) {
	res := Result{}
	if a == nil {
		return res, errors.New("directory: nil ADT")
	}
	res.Event = a.Event
	if _, ok := hl7.ADTEvents[a.Event]; !ok {
		return res, fmt.Errorf("directory: ADT event %q is not supported", a.Event)
	}
	raw, err := json.Marshal(a)
	if err != nil {
		return res, fmt.Errorf("directory: %w", err)
	}
	sum := sha256.Sum256(raw)
	digest := hex.EncodeToString(sum[:])
	prov = prov.withDefaults(a.ControlID, a.Event, a.SendingApp, a.SendingFac)
	by, err := json.Marshal(prov)
	if err != nil {
		return res, fmt.Errorf("directory: %w", err)
	}
	err = s.withTx(ctx, func(tx *sql.Tx) error {
		q := txq{s: s, tx: tx, ctx: ctx}
		seen, err := q.applied(digest)
		if err != nil || seen {
			res.Duplicate = seen
			return err
		}
		now := s.now()
		ap := &applier{ctx: ctx, q: q, now: fmtTime(now), by: string(by), res: &res}
		when := a.EventTime
		if when.IsZero() {
			when = now
		}
		ap.when = fmtTime(when)
		if err := ap.apply(a); err != nil {
			return err
		}
		if _, err := q.exec(`INSERT INTO dir_adt_applied (digest, applied_at) VALUES (?, ?)`, digest, ap.now); err != nil {
			return fmt.Errorf("directory: ledger: %w", err)
		}
		s.applied++
		if s.applied >= 256 {
			s.applied = 0
			cut := fmtTime(now.Add(-s.LedgerRetention))
			if _, err := tx.ExecContext(ctx, `DELETE FROM dir_adt_applied WHERE applied_at < ?`, cut); err != nil {
				return fmt.Errorf("directory: ledger pruning: %w", err)
			}
		}
		return nil
	})
	return res, err
}

type applier struct {
	ctx context.Context
	q   txq
	now string // stamp for created/updated
	by  string // Provenance of the message, JSON
	// opens is true while applying the care team of a message that
	// opened its encounter (an admission, or the first message of it).
	opens bool
	when  string // the event's time
	res   *Result
}

func (ap *applier) warn(format string, args ...any) {
	ap.res.Warnings = append(ap.res.Warnings, fmt.Sprintf(format, args...))
}

func (ap *applier) exec(query string, args ...any) (sql.Result, error) {
	r, err := ap.q.exec(query, args...)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	return r, nil
}

func (ap *applier) apply(a *hl7.ADT) error {
	pid, err := ap.upsertPatient(&a.Patient)
	if err != nil {
		return err
	}
	ap.res.PatientID = pid
	if a.Event == "A40" {
		for i := range a.Merges {
			if err := ap.merge(i, &a.Merges[i], pid, a); err != nil {
				return err
			}
		}
		return nil
	}
	if encounterEvents[a.Event] {
		if a.Encounter == nil {
			ap.warn("%s without PV1: no encounter recorded", a.Event)
			return nil
		}
		return ap.encounter(pid, a)
	}
	return nil
}

// identifierOwner finds the patient record holding an identifier: the
// exact authority and value, else (when one side lacks an authority) the
// only record holding the value without, or with any, authority.
func (ap *applier) identifierOwner(id hl7.Identifier) (int64, error) {
	rows, err := ap.q.query(`SELECT patient_id, authority FROM dir_identifiers WHERE value = ?`, id.ID)
	if err != nil {
		return 0, fmt.Errorf("directory: %w", err)
	}
	defer rows.Close()
	var exact, blank, any int64
	n := 0
	for rows.Next() {
		var p int64
		var auth string
		if err := rows.Scan(&p, &auth); err != nil {
			return 0, fmt.Errorf("directory: %w", err)
		}
		n++
		switch {
		case auth == id.AssigningAuthority:
			exact = p
		case auth == "":
			blank = p
		default:
			any = p
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("directory: %w", err)
	}
	switch {
	case exact != 0:
		return exact, nil
	case blank != 0:
		return blank, nil
	case id.AssigningAuthority == "" && n == 1:
		return any, nil
	}
	return 0, nil
}

// survivorOf follows merged_into links to the live record.
func (ap *applier) survivorOf(p int64) (int64, error) {
	for range 32 {
		var into sql.NullInt64
		if err := ap.q.queryRow(`SELECT merged_into FROM dir_patients WHERE id = ?`, p).Scan(&into); err != nil {
			return 0, fmt.Errorf("directory: %w", err)
		}
		if !into.Valid || into.Int64 == p {
			return p, nil
		}
		p = into.Int64
	}
	return p, nil
}

// patientRow is the stored demographic content of a patient.
type patientRow struct {
	family, given, names, birthDate, sex, addresses, phones, nextOfKin string
	account, deceasedTime, vip, protection, restrictions, search       string
	deceased                                                           bool
}

func jsonList[T any](v []T) string {
	if len(v) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func searchText(names []hl7.Name) string {
	var parts []string
	for _, n := range names {
		for _, s := range []string{n.Family, n.Given, n.Middle} {
			if s != "" {
				parts = append(parts, strings.ToLower(s))
			}
		}
	}
	return strings.Join(parts, " ")
}

// merged returns r with the values the message sends replacing stored
// ones; values the message leaves empty are kept.
func (r patientRow) merged(p *hl7.Patient) patientRow {
	if len(p.Names) > 0 {
		r.family, r.given = p.Names[0].Family, p.Names[0].Given
		r.names = jsonList(p.Names)
		r.search = searchText(p.Names)
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&r.birthDate, p.BirthDate)
	set(&r.sex, p.Sex)
	if len(p.Addresses) > 0 {
		r.addresses = jsonList(p.Addresses)
	}
	if len(p.Phones) > 0 {
		r.phones = jsonList(p.Phones)
	}
	if len(p.NextOfKin) > 0 {
		r.nextOfKin = jsonList(p.NextOfKin)
	}
	if p.AccountNumber != nil {
		r.account = p.AccountNumber.ID
	}
	if p.Deceased {
		r.deceased = true
	}
	set(&r.deceasedTime, fmtTime(p.DeceasedTime))
	set(&r.vip, p.VIP)
	set(&r.protection, p.Protection)
	if len(p.Restrictions) > 0 {
		r.restrictions = jsonList(p.Restrictions)
	}
	return r
}

func emptyPatientRow() patientRow {
	return patientRow{names: "[]", addresses: "[]", phones: "[]", nextOfKin: "[]", restrictions: "[]"}
}

// upsertPatient finds the record of the message's identifiers, creating
// it when none is known, and stores the demographics it sends.
func (ap *applier) upsertPatient(p *hl7.Patient) (int64, error) {
	if len(p.Identifiers) == 0 {
		return 0, errors.New("directory: the message has no patient identifier")
	}
	owners := make([]int64, len(p.Identifiers))
	var chosen int64
	for i, id := range p.Identifiers {
		o, err := ap.identifierOwner(id)
		if err != nil {
			return 0, err
		}
		if o != 0 {
			if o, err = ap.survivorOf(o); err != nil {
				return 0, err
			}
		}
		owners[i] = o
		// The medical record number decides; else the first known id.
		if o != 0 && (chosen == 0 || id.TypeCode == "MR" && !slices.ContainsFunc(p.Identifiers[:i], func(x hl7.Identifier) bool { return x.TypeCode == "MR" })) {
			chosen = o
		}
	}
	if chosen == 0 {
		r := emptyPatientRow().merged(p)
		res, err := ap.exec(`INSERT INTO dir_patients (family, given, names, birth_date, sex, addresses, phones, next_of_kin,
			account_number, deceased, deceased_time, vip, protection, restrictions, search, created_at, updated_at, updated_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.family, r.given, r.names, r.birthDate, r.sex, r.addresses, r.phones, r.nextOfKin,
			r.account, r.deceased, r.deceasedTime, r.vip, r.protection, r.restrictions, r.search, ap.now, ap.now, ap.by)
		if err != nil {
			return 0, err
		}
		if chosen, err = res.LastInsertId(); err != nil {
			return 0, fmt.Errorf("directory: %w", err)
		}
		ap.res.Created, ap.res.Changed = true, true
	} else {
		var old patientRow
		err := ap.q.queryRow(`SELECT family, given, names, birth_date, sex, addresses, phones, next_of_kin,
			account_number, deceased, deceased_time, vip, protection, restrictions, search FROM dir_patients WHERE id = ?`, chosen).Scan(
			&old.family, &old.given, &old.names, &old.birthDate, &old.sex, &old.addresses, &old.phones, &old.nextOfKin,
			&old.account, &old.deceased, &old.deceasedTime, &old.vip, &old.protection, &old.restrictions, &old.search)
		if err != nil {
			return 0, fmt.Errorf("directory: %w", err)
		}
		if r := old.merged(p); r != old {
			if _, err := ap.exec(`UPDATE dir_patients SET family = ?, given = ?, names = ?, birth_date = ?, sex = ?, addresses = ?,
				phones = ?, next_of_kin = ?, account_number = ?, deceased = ?, deceased_time = ?, vip = ?, protection = ?,
				restrictions = ?, search = ?, updated_at = ?, updated_by = ? WHERE id = ?`,
				r.family, r.given, r.names, r.birthDate, r.sex, r.addresses, r.phones, r.nextOfKin, r.account, r.deceased,
				r.deceasedTime, r.vip, r.protection, r.restrictions, r.search, ap.now, ap.by, chosen); err != nil {
				return 0, err
			}
			ap.res.Changed = true
		}
	}
	conflicts := 0
	for i, id := range p.Identifiers {
		switch owners[i] {
		case 0:
			if _, err := ap.exec(`INSERT INTO dir_identifiers (patient_id, value, authority, type_code, facility) VALUES (?, ?, ?, ?, ?)`,
				chosen, id.ID, id.AssigningAuthority, id.TypeCode, id.AssigningFacility); err != nil {
				return 0, err
			}
			ap.res.Changed = true
		case chosen:
			// Complete what an earlier message left out.
			r, err := ap.exec(`UPDATE dir_identifiers SET
				type_code = CASE WHEN type_code = '' THEN ? ELSE type_code END,
				facility = CASE WHEN facility = '' THEN ? ELSE facility END
				WHERE patient_id = ? AND value = ? AND authority = ? AND ((type_code = '' AND ? <> '') OR (facility = '' AND ? <> ''))`,
				id.TypeCode, id.AssigningFacility, chosen, id.ID, id.AssigningAuthority, id.TypeCode, id.AssigningFacility)
			if err != nil {
				return 0, err
			}
			if n, _ := r.RowsAffected(); n > 0 {
				ap.res.Changed = true
			}
		default:
			conflicts++
		}
	}
	if conflicts > 0 {
		ap.warn("%d of the message's patient identifiers belong to another patient record and were left there (send an A40 merge to move them)", conflicts)
	}
	return chosen, nil
}

// merge folds the records holding the MRG-1 identifiers into the survivor
// (the record of the group's PID-3).
func (ap *applier) merge(i int, mg *hl7.Merge, firstSurvivor int64, a *hl7.ADT) error {
	survivor := firstSurvivor
	if i > 0 || !sameIdentifiers(mg.Surviving, a.Patient.Identifiers) {
		if len(mg.Surviving) == 0 {
			return fmt.Errorf("directory: merge group %d (MRG) has no surviving PID-3 identifiers", i+1)
		}
		var err error
		if survivor, err = ap.upsertPatient(&hl7.Patient{Identifiers: mg.Surviving}); err != nil {
			return err
		}
	}
	var priors []int64
	var unknown []Identifier
	for _, id := range mg.Prior {
		o, err := ap.identifierOwner(id)
		if err != nil {
			return err
		}
		if o != 0 {
			if o, err = ap.survivorOf(o); err != nil {
				return err
			}
		}
		switch {
		case o == 0:
			unknown = append(unknown, Identifier{Value: id.ID, Authority: id.AssigningAuthority, TypeCode: id.TypeCode, Facility: id.AssigningFacility})
		case o != survivor && !slices.Contains(priors, o):
			priors = append(priors, o)
		}
	}
	for _, prior := range priors {
		var ids []Identifier
		rows, err := ap.q.query(`SELECT value, authority, type_code, facility FROM dir_identifiers WHERE patient_id = ? ORDER BY id`, prior)
		if err != nil {
			return fmt.Errorf("directory: %w", err)
		}
		for rows.Next() {
			var id Identifier
			if err := rows.Scan(&id.Value, &id.Authority, &id.TypeCode, &id.Facility); err != nil {
				rows.Close()
				return fmt.Errorf("directory: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		steps := []struct {
			q    string
			args []any
		}{
			{`UPDATE dir_identifiers SET patient_id = ?, merged_from = ? WHERE patient_id = ?`, []any{survivor, prior, prior}},
			{`UPDATE dir_encounters SET patient_id = ?, merged_from = ?, updated_at = ? WHERE patient_id = ?`, []any{survivor, prior, ap.now, prior}},
			{`UPDATE dir_links SET patient_id = ? WHERE patient_id = ?`, []any{survivor, prior}},
			{`UPDATE dir_patients SET merged_into = ?, updated_at = ? WHERE id = ?`, []any{survivor, ap.now, prior}},
			{`UPDATE dir_patients SET merged_into = ? WHERE merged_into = ?`, []any{survivor, prior}},
			{`INSERT INTO dir_merges (survivor_id, prior_id, prior_identifiers, control_id, event_time, applied_at, applied_by) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				[]any{survivor, prior, jsonList(ids), a.ControlID, ap.when, ap.now, ap.by}},
		}
		for _, st := range steps {
			if _, err := ap.exec(st.q, st.args...); err != nil {
				return err
			}
		}
		ap.res.Merged++
		ap.res.Changed = true
	}
	if len(unknown) > 0 {
		// The prior record was never seen here: keep its identifiers so
		// that events naming them find the survivor.
		for _, id := range unknown {
			if _, err := ap.exec(`INSERT INTO dir_identifiers (patient_id, value, authority, type_code, facility) VALUES (?, ?, ?, ?, ?)`,
				survivor, id.Value, id.Authority, id.TypeCode, id.Facility); err != nil {
				return err
			}
		}
		if _, err := ap.exec(`INSERT INTO dir_merges (survivor_id, prior_id, prior_identifiers, control_id, event_time, applied_at, applied_by) VALUES (?, NULL, ?, ?, ?, ?, ?)`,
			survivor, jsonList(unknown), a.ControlID, ap.when, ap.now, ap.by); err != nil {
			return err
		}
		ap.res.Changed = true
	}
	return nil
}

func sameIdentifiers(a, b []hl7.Identifier) bool {
	return slices.Equal(a, b)
}

type encounterRow struct {
	patientID                                                      int64
	class, status, location, priorLocation, admissionType, service string
	admitTime, dischargeTime, locationSince                        string
}

// encounter upserts the message's encounter and its care team.
func (ap *applier) encounter(pid int64, a *hl7.ADT) error {
	e := a.Encounter
	var encID int64
	var old encounterRow
	found := false
	scan := func(row scanner) error {
		err := row.Scan(&encID, &old.patientID, &old.class, &old.status, &old.location, &old.priorLocation,
			&old.admissionType, &old.service, &old.admitTime, &old.dischargeTime, &old.locationSince)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("directory: %w", err)
		}
		found = true
		return nil
	}
	const cols = `id, patient_id, class, status, location, prior_location, admission_type, hospital_service, admit_time, discharge_time, location_since`
	vn := e.VisitNumber
	admit := fmtTime(e.AdmitTime)
	switch {
	case vn.ID != "":
		if err := scan(ap.q.queryRow(`SELECT `+cols+` FROM dir_encounters WHERE visit_number = ?
			ORDER BY (visit_authority = ?) DESC, (visit_authority = '') DESC LIMIT 1`, vn.ID, vn.AssigningAuthority)); err != nil {
			return err
		}
	case admit != "":
		if err := scan(ap.q.queryRow(`SELECT `+cols+` FROM dir_encounters WHERE patient_id = ? AND visit_number = '' AND admit_time = ?`, pid, admit)); err != nil {
			return err
		}
	default:
		ap.warn("encounter without visit number (PV1-19) or admit time (PV1-44) not recorded")
		return nil
	}

	r := old
	if !found {
		r = encounterRow{}
	}
	r.patientID = pid
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&r.class, e.Class)
	set(&r.admissionType, e.AdmissionType)
	set(&r.service, e.HospitalService)
	if loc := e.Location.String(); loc != "" {
		if a.Event == "A02" && loc != r.location && r.location != "" {
			r.priorLocation = r.location
			r.locationSince = ap.when
		}
		r.location = loc
	}
	if e.PriorLocation != nil {
		set(&r.priorLocation, e.PriorLocation.String())
	}
	set(&r.admitTime, admit)
	set(&r.dischargeTime, fmtTime(e.DischargeTime))
	switch a.Event {
	case "A01", "A04":
		if r.status != StatusFinished {
			r.status = StatusInProgress
		}
		if r.admitTime == "" {
			r.admitTime = ap.when
		}
	case "A05":
		if r.status == "" {
			r.status = StatusPlanned
		}
	case "A02", "A08":
		if r.status == "" || r.status == StatusPlanned {
			r.status = StatusInProgress
		}
	case "A03":
		r.status = StatusFinished
		if r.dischargeTime == "" {
			r.dischargeTime = ap.when
		}
	case "A11":
		r.status = StatusCancelled
	case "A13":
		r.status = StatusInProgress
		r.dischargeTime = ""
	}
	switch {
	case !found:
		res, err := ap.exec(`INSERT INTO dir_encounters (patient_id, visit_number, visit_authority, class, status, location,
			prior_location, admission_type, hospital_service, admit_time, discharge_time, location_since, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			pid, vn.ID, vn.AssigningAuthority, r.class, r.status, r.location, r.priorLocation, r.admissionType, r.service,
			r.admitTime, r.dischargeTime, r.locationSince, ap.now, ap.now)
		if err != nil {
			return err
		}
		if encID, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("directory: %w", err)
		}
		ap.res.Changed = true
	case r != old:
		if old.patientID != pid {
			ap.warn("encounter moved from another patient record to this one")
		}
		if _, err := ap.exec(`UPDATE dir_encounters SET patient_id = ?, class = ?, status = ?, location = ?, prior_location = ?,
			admission_type = ?, hospital_service = ?, admit_time = ?, discharge_time = ?, location_since = ?, updated_at = ? WHERE id = ?`,
			r.patientID, r.class, r.status, r.location, r.priorLocation, r.admissionType, r.service, r.admitTime,
			r.dischargeTime, r.locationSince, ap.now, encID); err != nil {
			return err
		}
		ap.res.Changed = true
	}
	ap.res.EncounterID = encID

	// The care team from the start of the stay when the message opens it.
	opens := !found || a.Event == "A01" || a.Event == "A04" || a.Event == "A05"
	ap.opens = opens
	begin := ap.when
	if r.admitTime != "" && r.admitTime < begin && opens {
		begin = r.admitTime
	}
	for _, role := range []struct {
		name string
		list []hl7.Provider
	}{{"attending", e.Attending}, {"referring", e.Referring}, {"consulting", e.Consulting}, {"admitting", e.Admitting}} {
		if err := ap.pv1Role(encID, role.name, role.list, begin); err != nil {
			return err
		}
	}
	for i := range e.CareTeam {
		if err := ap.rolMember(encID, &e.CareTeam[i]); err != nil {
			return err
		}
	}
	return nil
}

// pv1Role makes the open memberships of one PV1 role those the message
// lists: members no longer listed end now, new ones begin. A role the
// message leaves empty is left as it is.
func (ap *applier) pv1Role(encID int64, role string, list []hl7.Provider, begin string) error {
	if len(list) == 0 {
		return nil
	}
	want := map[string]hl7.Provider{}
	missingID := 0
	for _, p := range list {
		if p.ID == "" {
			missingID++
			continue
		}
		want[p.ID] = p
	}
	if missingID > 0 {
		ap.warn("%d %s provider(s) without an id (XCN-1) not recorded in the care team", missingID, role)
	}
	rows, err := ap.q.query(`SELECT id, provider_id, begin_time FROM dir_care_team
		WHERE encounter_id = ? AND role = ? AND source = 'pv1' AND end_time = ''`, encID, role)
	if err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	type open struct {
		id           int64
		provider, at string
	}
	var active []open
	for rows.Next() {
		var o open
		if err := rows.Scan(&o.id, &o.provider, &o.at); err != nil {
			rows.Close()
			return fmt.Errorf("directory: %w", err)
		}
		active = append(active, o)
	}
	rows.Close()
	for _, o := range active {
		if _, ok := want[o.provider]; ok {
			delete(want, o.provider)
			continue
		}
		end := max(ap.when, o.at)
		if _, err := ap.exec(`UPDATE dir_care_team SET end_time = ?, ended_at = ?, ended_by = ? WHERE id = ?`, end, ap.now, ap.by, o.id); err != nil {
			return err
		}
		ap.res.Changed = true
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		p := want[id]
		if _, err := ap.exec(`INSERT INTO dir_care_team (encounter_id, provider_id, role, source, family, given, prefix, degree, authority, begin_time,
			added_at, added_by, added_on_open)
			VALUES (?, ?, ?, 'pv1', ?, ?, ?, ?, ?, ?, ?, ?, ?)`, encID, p.ID, role, p.Family, p.Given, p.Prefix, p.Degree, p.AssigningAuthority, begin,
			ap.now, ap.by, ap.opens); err != nil {
			return err
		}
		ap.res.Changed = true
	}
	return nil
}

// rolMember applies one ROL care-team member (ROL-2 action code AD add,
// UP update, UC unchanged, DE delete).
func (ap *applier) rolMember(encID int64, p *hl7.Provider) error {
	if p.ID == "" {
		ap.warn("ROL member without an id (ROL-4 XCN-1) not recorded in the care team")
		return nil
	}
	role := p.Role
	if role == "" {
		role = "care-team"
	}
	begin, end := fmtTime(p.Begin), fmtTime(p.End)
	var id int64
	var curEnd string
	q := `SELECT id, end_time FROM dir_care_team WHERE encounter_id = ? AND provider_id = ? AND role = ? AND source = 'rol'`
	var row scanner
	if begin != "" {
		row = ap.q.queryRow(q+` AND begin_time = ?`, encID, p.ID, role, begin)
	} else {
		row = ap.q.queryRow(q+` AND end_time = '' ORDER BY id DESC LIMIT 1`, encID, p.ID, role)
	}
	err := row.Scan(&id, &curEnd)
	found := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("directory: %w", err)
	}
	if strings.EqualFold(p.RoleAction, "DE") {
		if !found || curEnd != "" {
			return nil
		}
		if end == "" {
			end = ap.when
		}
		if _, err := ap.exec(`UPDATE dir_care_team SET end_time = ?, ended_at = ?, ended_by = ? WHERE id = ?`, end, ap.now, ap.by, id); err != nil {
			return err
		}
		ap.res.Changed = true
		return nil
	}
	if found {
		if end != "" && end != curEnd {
			if _, err := ap.exec(`UPDATE dir_care_team SET end_time = ?, ended_at = ?, ended_by = ? WHERE id = ?`, end, ap.now, ap.by, id); err != nil {
				return err
			}
			ap.res.Changed = true
		}
		return nil
	}
	if begin == "" {
		begin = ap.when
	}
	if _, err := ap.exec(`INSERT INTO dir_care_team (encounter_id, provider_id, role, source, family, given, prefix, degree, authority, begin_time, end_time,
		added_at, added_by, added_on_open)
		VALUES (?, ?, ?, 'rol', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, encID, p.ID, role, p.Family, p.Given, p.Prefix, p.Degree, p.AssigningAuthority, begin, end,
		ap.now, ap.by, ap.opens); err != nil {
		return err
	}
	ap.res.Changed = true
	return nil
}

// withDefaults fills what the caller left empty in a message's provenance
// from the message's own header.
func (p Provenance) withDefaults(controlID, event, app, facility string) Provenance {
	for _, f := range []struct {
		dst *string
		v   string
	}{{&p.ControlID, controlID}, {&p.Event, event}, {&p.Application, app}, {&p.Facility, facility}} {
		if *f.dst == "" {
			*f.dst = f.v
		}
	}
	return p
}

// applied says whether the message with this digest is in the ledger of
// applied messages (ADT and clinical alike): a retransmission.
func (q txq) applied(digest string) (bool, error) {
	var one int
	err := q.queryRow(`SELECT 1 FROM dir_adt_applied WHERE digest = ?`, digest).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("directory: ledger: %w", err)
	}
	return true, nil
}
