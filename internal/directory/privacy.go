package directory

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Bulk reads for privacy analytics: who works in which department (to
// relate a care team to the departments of its members), and the stays
// of a period (to learn how often patients are in a given state, the
// base rate of an explanation template).

// StaffDepartments returns every worker's department under each id a care
// team or an access log may name them by: provider id, EHR user id and
// employee id, in lower case. Workers without a department are left out.
func (s *Store) StaffDepartments(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT provider_id, ehr_user_id, employee_id, department FROM dir_workforce WHERE department <> ''`)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var ids [3]string
		var dept string
		if err := rows.Scan(&ids[0], &ids[1], &ids[2], &dept); err != nil {
			return nil, fmt.Errorf("directory: %w", err)
		}
		for _, id := range ids {
			if id != "" {
				out[strings.ToLower(id)] = dept
			}
		}
	}
	return out, rows.Err()
}

// EncounterSpan is a stay as privacy analytics need it: when, what kind,
// where, and who was on its care team.
type EncounterSpan struct {
	PatientID               int64
	Class, Status           string
	Location, PriorLocation string // PV1-3 and PV1-6 as stored: point^room^bed^facility
	Service                 string // hospital service (PV1-10)
	Admit, Discharge        time.Time
	LocationSince           time.Time // the last transfer: before it, PriorLocation
	CareTeam                []string  // provider ids
}

// EncounterSpans calls fn for every stay that is not cancelled and
// overlaps [from, to) (a stay without admission time counts from its
// creation, one without discharge as still open), in no particular order.
// The care team of each is read with it.
func (s *Store) EncounterSpans(ctx context.Context, from, to time.Time, fn func(*EncounterSpan) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT e.id, e.patient_id, e.class, e.status, e.location, e.prior_location, e.hospital_service,
		CASE WHEN e.admit_time <> '' THEN e.admit_time ELSE e.created_at END, e.discharge_time, e.location_since,
		COALESCE((SELECT group_concat(c.provider_id, char(31)) FROM dir_care_team c WHERE c.encounter_id = e.id), '')
		FROM dir_encounters e
		WHERE e.status <> ? AND (e.discharge_time = '' OR e.discharge_time >= ?)
		AND (CASE WHEN e.admit_time <> '' THEN e.admit_time ELSE e.created_at END) < ?`,
		StatusCancelled, fmtTime(from), fmtTime(to))
	if err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	defer rows.Close()
	var sp EncounterSpan
	for rows.Next() {
		var id int64
		var admit, discharge, since, team string
		if err := rows.Scan(&id, &sp.PatientID, &sp.Class, &sp.Status, &sp.Location, &sp.PriorLocation, &sp.Service, &admit, &discharge, &since, &team); err != nil {
			return fmt.Errorf("directory: %w", err)
		}
		sp.Admit, sp.Discharge, sp.LocationSince = parseTime(admit), parseTime(discharge), parseTime(since)
		sp.CareTeam = sp.CareTeam[:0]
		if team != "" {
			sp.CareTeam = append(sp.CareTeam, strings.Split(team, "\x1f")...)
		}
		if err := fn(&sp); err != nil {
			return err
		}
	}
	return rows.Err()
}

// PatientCount is the number of patient records (merged ones excluded).
func (s *Store) PatientCount(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM dir_patients WHERE merged_into IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("directory: %w", err)
	}
	return n, nil
}

// WorkforceNames maps the departments and roles of the roster, in lower
// case, to their spelling in the roster (the most frequent one when
// several differ only in case): privacy groups are keyed in lower case,
// and people read the directory's names.
func (s *Store) WorkforceNames(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, count(*) AS n FROM (SELECT department AS name FROM dir_workforce WHERE department <> ''
		UNION ALL SELECT role FROM dir_workforce WHERE role <> '') GROUP BY name ORDER BY n`)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			return nil, fmt.Errorf("directory: %w", err)
		}
		out[strings.ToLower(strings.TrimSpace(name))] = strings.TrimSpace(name) // the most frequent comes last
	}
	return out, rows.Err()
}
