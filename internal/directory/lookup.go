package directory

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrAmbiguous is returned when an identifier without authority is held
// by several patient records under different assigning authorities.
var ErrAmbiguous = errors.New("identifier is held by several patient records: give it as authority|value")

// ParseIdentifier splits "authority|value" (the FHIR token form); a
// string without "|" is a value of any authority.
func ParseIdentifier(s string) (value, authority string, anyAuthority bool) {
	if a, v, ok := strings.Cut(s, "|"); ok {
		return v, a, false
	}
	return s, "", true
}

// patientsByIdentifier returns the live records holding the identifier.
func (s *Store) patientsByIdentifier(ctx context.Context, value, authority string, anyAuthority bool) ([]int64, error) {
	q := `SELECT DISTINCT COALESCE(p.merged_into, p.id) FROM dir_identifiers i JOIN dir_patients p ON p.id = i.patient_id WHERE i.value = ?`
	args := []any{value}
	if !anyAuthority {
		q += ` AND i.authority = ?`
		args = append(args, authority)
	}
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("directory: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// PatientByIdentifier returns the patient holding an identifier (after
// merges, the survivor), with identifiers but without encounters.
// authority "" with anyAuthority matches the value under any authority.
func (s *Store) PatientByIdentifier(ctx context.Context, value, authority string, anyAuthority bool) (*Patient, error) {
	ids, err := s.patientsByIdentifier(ctx, value, authority, anyAuthority)
	if err != nil {
		return nil, err
	}
	switch len(ids) {
	case 0:
		return nil, ErrNotFound
	case 1:
		return s.patient(ctx, ids[0], false)
	}
	return nil, ErrAmbiguous
}

// Patient returns the full record: identifiers, encounters with their
// care team, and the merges it took part in.
func (s *Store) Patient(ctx context.Context, id int64) (*Patient, error) {
	return s.patient(ctx, id, true)
}

const patientCols = `id, COALESCE(merged_into, 0), names, birth_date, sex, addresses, phones, next_of_kin, account_number,
	deceased, deceased_time, vip, protection, restrictions, created_at, updated_at, updated_by`

type scanner interface{ Scan(...any) error }

func scanPatient(row scanner) (*Patient, error) {
	var p Patient
	var names, addresses, phones, nok, restrictions, deceasedTime, created, updated, updatedBy string
	if err := row.Scan(&p.ID, &p.MergedInto, &names, &p.BirthDate, &p.Sex, &addresses, &phones, &nok, &p.AccountNumber,
		&p.Deceased, &deceasedTime, &p.VIP, &p.Protection, &restrictions, &created, &updated, &updatedBy); err != nil {
		return nil, err
	}
	p.UpdatedBy = provenance(updatedBy)
	for _, f := range []struct {
		src string
		dst any
	}{{names, &p.Names}, {addresses, &p.Addresses}, {phones, &p.Phones}, {nok, &p.NextOfKin}, {restrictions, &p.Restrictions}} {
		if err := json.Unmarshal([]byte(f.src), f.dst); err != nil {
			return nil, fmt.Errorf("directory: patient %d: stored list unreadable: %w", p.ID, err)
		}
	}
	p.Name = displayName(p.Names)
	p.DeceasedTime = parseTime(deceasedTime)
	p.CreatedAt, p.UpdatedAt = parseTime(created), parseTime(updated)
	return &p, nil
}

func (s *Store) patient(ctx context.Context, id int64, full bool) (*Patient, error) {
	rows, err := s.query(ctx, `SELECT `+patientCols+` FROM dir_patients WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	var p *Patient
	if rows.Next() {
		p, err = scanPatient(rows)
	} else if err = rows.Err(); err == nil {
		err = sql.ErrNoRows
	}
	rows.Close()
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	if p.Identifiers, err = s.identifiers(ctx, p.ID); err != nil {
		return nil, err
	}
	if !full {
		return p, nil
	}
	if p.Encounters, err = s.Encounters(ctx, EncounterQuery{PatientID: p.ID, Limit: 1000}); err != nil {
		return nil, err
	}
	rows, err = s.db.QueryContext(ctx, `SELECT survivor_id, COALESCE(prior_id, 0), prior_identifiers, control_id, event_time, applied_at, applied_by
		FROM dir_merges WHERE survivor_id = ? OR prior_id = ? ORDER BY id`, p.ID, p.ID)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m Merge
		var ids, ev, at, by string
		if err := rows.Scan(&m.SurvivorID, &m.PriorID, &ids, &m.ControlID, &ev, &at, &by); err != nil {
			return nil, fmt.Errorf("directory: %w", err)
		}
		m.AppliedBy = provenance(by)
		_ = json.Unmarshal([]byte(ids), &m.PriorIdentifiers)
		m.EventTime, m.AppliedAt = parseTime(ev), parseTime(at)
		p.Merges = append(p.Merges, m)
	}
	return p, rows.Err()
}

func (s *Store) identifiers(ctx context.Context, patientID int64) ([]Identifier, error) {
	rows, err := s.query(ctx, `SELECT value, authority, type_code, facility, COALESCE(merged_from, 0)
		FROM dir_identifiers WHERE patient_id = ? ORDER BY id`, patientID)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	defer rows.Close()
	out := []Identifier{}
	for rows.Next() {
		var id Identifier
		if err := rows.Scan(&id.Value, &id.Authority, &id.TypeCode, &id.Facility, &id.MergedFrom); err != nil {
			return nil, fmt.Errorf("directory: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// PatientQuery selects patients.
type PatientQuery struct {
	// Q matches names (case-insensitive substring of family, given or
	// middle name) or an identifier value exactly.
	Q string
	// Identifier matches an identifier exactly: "value" or
	// "authority|value".
	Identifier string
	// IncludeMerged lists records merged into others too.
	IncludeMerged bool
	Limit         int // default 50, at most 1000
}

// SearchPatients returns matching patients with their identifiers
// (without encounters), most recently updated first.
func (s *Store) SearchPatients(ctx context.Context, q PatientQuery) ([]Patient, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	var where []string
	var args []any
	if !q.IncludeMerged {
		where = append(where, `merged_into IS NULL`)
	}
	if q.Q != "" {
		where = append(where, `(search LIKE ? ESCAPE '\' OR id IN (SELECT patient_id FROM dir_identifiers WHERE value = ?))`)
		args = append(args, "%"+escapeLike(strings.ToLower(q.Q))+"%", q.Q)
	}
	if q.Identifier != "" {
		v, a, anyA := ParseIdentifier(q.Identifier)
		if anyA {
			where = append(where, `id IN (SELECT patient_id FROM dir_identifiers WHERE value = ?)`)
			args = append(args, v)
		} else {
			where = append(where, `id IN (SELECT patient_id FROM dir_identifiers WHERE value = ? AND authority = ?)`)
			args = append(args, v, a)
		}
	}
	query := `SELECT ` + patientCols + ` FROM dir_patients`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY updated_at DESC, id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	out := []Patient{}
	for rows.Next() {
		p, err := scanPatient(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("directory: %w", err)
		}
		out = append(out, *p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	for i := range out {
		if out[i].Identifiers, err = s.identifiers(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// EncounterQuery selects encounters.
type EncounterQuery struct {
	PatientID int64
	// Identifier selects the patient by identifier ("value" or
	// "authority|value").
	Identifier string
	// Provider selects encounters whose care team has (had) this
	// provider id, or the provider id of the worker with this EHR user id
	// or employee id.
	Provider string
	Status   string
	Limit    int // default 100, at most 1000
}

// Encounters returns matching encounters with their care team, latest
// admission first.
func (s *Store) Encounters(ctx context.Context, q EncounterQuery) ([]Encounter, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	var where []string
	var args []any
	if q.PatientID != 0 {
		where = append(where, `patient_id = ?`)
		args = append(args, q.PatientID)
	}
	if q.Identifier != "" {
		v, a, anyA := ParseIdentifier(q.Identifier)
		ids, err := s.patientsByIdentifier(ctx, v, a, anyA)
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			return []Encounter{}, nil
		}
		where = append(where, `patient_id IN (`+placeholders(len(ids))+`)`)
		for _, id := range ids {
			args = append(args, id)
		}
	}
	if q.Provider != "" {
		provs, err := s.providerIDs(ctx, q.Provider)
		if err != nil {
			return nil, err
		}
		where = append(where, `id IN (SELECT encounter_id FROM dir_care_team WHERE provider_id IN (`+placeholders(len(provs))+`))`)
		for _, p := range provs {
			args = append(args, p)
		}
	}
	if q.Status != "" {
		where = append(where, `status = ?`)
		args = append(args, q.Status)
	}
	query := `SELECT id, patient_id, COALESCE(merged_from, 0), visit_number, visit_authority, class, status, location, prior_location,
		admission_type, hospital_service, admit_time, discharge_time, created_at, updated_at, location_since FROM dir_encounters`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY admit_time DESC, id DESC LIMIT ?`
	args = append(args, limit)
	run := s.db.QueryContext
	if q.Identifier == "" && q.Provider == "" {
		run = s.query // no IN list: one of a few texts
	}
	rows, err := run(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	out := []Encounter{}
	index := map[int64]int{}
	for rows.Next() {
		var e Encounter
		var admit, discharge, created, updated, since string
		if err := rows.Scan(&e.ID, &e.PatientID, &e.MergedFrom, &e.VisitNumber, &e.VisitAuthority, &e.Class, &e.Status, &e.Location,
			&e.PriorLocation, &e.AdmissionType, &e.HospitalService, &admit, &discharge, &created, &updated, &since); err != nil {
			rows.Close()
			return nil, fmt.Errorf("directory: %w", err)
		}
		e.AdmitTime, e.DischargeTime, e.LocationSince = parseTime(admit), parseTime(discharge), parseTime(since)
		e.CreatedAt, e.UpdatedAt = parseTime(created), parseTime(updated)
		e.CareTeam = []CareTeamMember{}
		index[e.ID] = len(out)
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	cargs := make([]any, 0, len(out))
	for _, e := range out {
		cargs = append(cargs, e.ID)
	}
	run = s.db.QueryContext
	if len(cargs) <= 8 {
		run = s.query // a patient's few stays: eight texts at most
	}
	crow, err := run(ctx, `SELECT encounter_id, provider_id, role, source, family, given, prefix, degree, authority, begin_time, end_time,
		added_at, added_by, added_on_open, ended_at, ended_by
		FROM dir_care_team WHERE encounter_id IN (`+placeholders(len(cargs))+`) ORDER BY id`, cargs...)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	defer crow.Close()
	for crow.Next() {
		var encID int64
		var m CareTeamMember
		var begin, end, addedAt, addedBy, endedAt, endedBy string
		if err := crow.Scan(&encID, &m.ProviderID, &m.Role, &m.Source, &m.Family, &m.Given, &m.Prefix, &m.Degree, &m.Authority, &begin, &end,
			&addedAt, &addedBy, &m.AddedWithEncounter, &endedAt, &endedBy); err != nil {
			return nil, fmt.Errorf("directory: %w", err)
		}
		m.Begin, m.End = parseTime(begin), parseTime(end)
		m.Added, m.Ended = change(addedAt, addedBy), change(endedAt, endedBy)
		e := &out[index[encID]]
		e.CareTeam = append(e.CareTeam, m)
	}
	return out, crow.Err()
}

// provenance reads a stored Provenance; nil when none was recorded.
func provenance(js string) *Provenance {
	var p Provenance
	if js == "" || json.Unmarshal([]byte(js), &p) != nil || p == (Provenance{}) {
		return nil
	}
	return &p
}

// change reads a stored change; nil when none was recorded.
func change(at, by string) *Change {
	t := parseTime(at)
	if t.IsZero() {
		return nil
	}
	c := &Change{At: t}
	if p := provenance(by); p != nil {
		c.Provenance = *p
	}
	return c
}

func placeholders(n int) string {
	if n <= 0 {
		return "NULL"
	}
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// providerIDs returns the ids a user may appear under in care teams: the
// id itself, and the provider, employee and EHR user ids of workers known
// by it.
func (s *Store) providerIDs(ctx context.Context, user string) ([]string, error) {
	out := []string{user}
	rows, err := s.db.QueryContext(ctx, `SELECT provider_id, employee_id, ehr_user_id FROM dir_workforce
		WHERE ehr_user_id = ? OR employee_id = ? OR provider_id = ?`, user, user, user)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ids [3]string
		if err := rows.Scan(&ids[0], &ids[1], &ids[2]); err != nil {
			return nil, fmt.Errorf("directory: %w", err)
		}
		for _, id := range ids {
			if id != "" && !containsString(out, id) {
				out = append(out, id)
			}
		}
	}
	return out, rows.Err()
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// OnCareTeam reports whether user served on the care team of an
// encounter of the patient at time at (any time when at is zero).
//
// user is a provider id as HL7 messages send it (XCN-1), or the EHR user
// id, employee id or provider id of a worker in the workforce directory
// (whose provider id is then used). patient is an identifier, "value" or
// "authority|value"; merged records count as the survivor.
//
// A membership runs from its begin (else the encounter's admission) to
// its end (else the encounter's discharge; else it is open) plus grace.
// Cancelled encounters (A11) do not count.
func (s *Store) OnCareTeam(ctx context.Context, user, patient string, at time.Time, grace time.Duration) (bool, error) {
	if user == "" || patient == "" {
		return false, nil
	}
	v, a, anyA := ParseIdentifier(patient)
	pids, err := s.patientsByIdentifier(ctx, v, a, anyA)
	if err != nil || len(pids) == 0 {
		return false, err
	}
	provs, err := s.providerIDs(ctx, user)
	if err != nil {
		return false, err
	}
	args := make([]any, 0, len(pids)+len(provs))
	for _, p := range pids {
		args = append(args, p)
	}
	for _, p := range provs {
		args = append(args, p)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT c.begin_time, c.end_time, e.admit_time, e.discharge_time
		FROM dir_care_team c JOIN dir_encounters e ON e.id = c.encounter_id
		WHERE e.patient_id IN (`+placeholders(len(pids))+`) AND e.status <> 'cancelled'
		AND c.provider_id IN (`+placeholders(len(provs))+`)`, args...)
	if err != nil {
		return false, fmt.Errorf("directory: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var begin, end, admit, discharge string
		if err := rows.Scan(&begin, &end, &admit, &discharge); err != nil {
			return false, fmt.Errorf("directory: %w", err)
		}
		if at.IsZero() {
			return true, nil
		}
		b := parseTime(begin)
		if b.IsZero() {
			b = parseTime(admit)
		}
		if !b.IsZero() && at.Before(b) {
			continue
		}
		e := parseTime(end)
		if e.IsZero() {
			e = parseTime(discharge)
		}
		if !e.IsZero() && at.After(e.Add(grace)) {
			continue
		}
		return true, nil
	}
	return false, rows.Err()
}
