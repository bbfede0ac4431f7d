package directory

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/parse/hl7"
)

// Clinical links: what order (ORM, OMG …), pharmacy (RDE …), result (ORU)
// and scheduling (SIU) messages say of who works on a patient. Each item
// of such a message becomes a link: its kind, the filling section as the
// sender names it (OBR-24, pharmacy, the appointment's location), when,
// and the people named in it with their role. Privacy analytics explain
// an access by a link that names the user, or whose section the user's
// department fills.
//
// Which departments fill a section is learnt, not configured: every
// person named in a filling role (technician, interpreter, responsible
// observer, pharmacist, appointment resource) is counted for the item's
// section, and SectionDepartments maps each section to the roster
// departments of the people seen filling it.
//
// Links are kept LinkRetention after their time and at most LinkMax in
// all; retransmissions are recognised by the ADT ledger's digests.

// Link is one clinical item linking people to a patient.
type Link struct {
	Kind        string       `json:"kind"`         // order, medication, result, appointment
	MessageType string       `json:"message_type"` // ORM, OMG, RDE, ORU, SIU …
	Section     string       `json:"section,omitempty"`
	Service     string       `json:"service,omitempty"`
	At          time.Time    `json:"at"`
	People      []LinkPerson `json:"people,omitempty"`
}

// LinkPerson is someone named in a link, by the id the message uses.
type LinkPerson struct {
	ID   string `json:"id"`
	Role string `json:"role"`
}

// fillingRoles are the roles of people who fill an item for its section.
var fillingRoles = map[string]bool{hl7.RoleTechnician: true, hl7.RoleInterpreter: true, hl7.RoleObserver: true,
	hl7.RolePharmacist: true, hl7.RoleResource: true, hl7.RoleTranscribing: true}

// ClinicalResult says what ApplyClinical did.
type ClinicalResult struct {
	PatientID int64 `json:"patient_id,omitempty"`
	Created   bool  `json:"created,omitempty"` // a patient record was created for the message's identifiers
	Links     int   `json:"links"`
	Duplicate bool  `json:"duplicate,omitempty"`
}

// ApplyClinical records the links of an order, pharmacy, result or
// scheduling message for the patient of its PID-3 identifiers (a record
// with the identifiers alone is created when none is known: the ADT feed
// fills it in). Idempotent like ApplyADT.
func (s *Store) ApplyClinical(ctx context.Context, c *hl7.Clinical, prov Provenance) (ClinicalResult, error) {
	var res ClinicalResult
	if c == nil {
		return res, errors.New("directory: nil clinical message")
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return res, fmt.Errorf("directory: %w", err)
	}
	sum := sha256.Sum256(append([]byte("clinical\n"), raw...))
	digest := hex.EncodeToString(sum[:])
	prov = prov.withDefaults(c.ControlID, c.Type+"^"+c.Event, c.SendingApp, c.SendingFac)
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
		var ares Result
		ap := &applier{ctx: ctx, q: q, now: fmtTime(now), by: string(by), res: &ares, when: fmtTime(c.MessageTime)}
		pid, err := ap.upsertPatient(&hl7.Patient{Identifiers: c.Patient})
		if err != nil {
			return err
		}
		res.PatientID, res.Created = pid, ares.Created
		for i := range c.Items {
			it := &c.Items[i]
			at := it.Time
			if at.IsZero() {
				at = now
			}
			people := make([]LinkPerson, 0, len(it.People))
			for _, p := range it.People {
				if p.ID == "" {
					continue // a name alone cannot be matched to a user
				}
				people = append(people, LinkPerson{ID: p.ID, Role: p.Role})
				if fillingRoles[p.Role] && it.Section != "" {
					if _, err := ap.exec(`INSERT INTO dir_section_staff (section, provider_id, n, last_at) VALUES (?, ?, 1, ?)
						ON CONFLICT (section, provider_id) DO UPDATE SET n = n + 1, last_at = max(last_at, excluded.last_at)`,
						it.Section, strings.ToLower(p.ID), fmtTime(at)); err != nil {
						return err
					}
				}
			}
			pj, _ := json.Marshal(people)
			if _, err := ap.exec(`INSERT INTO dir_links (patient_id, kind, message_type, section, service, at, people, control_id, added_by, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, pid, c.Kind, c.Type, it.Section, it.Service, fmtTime(at), string(pj), c.ControlID, ap.by, ap.now); err != nil {
				return err
			}
			res.Links++
		}
		if _, err := q.exec(`INSERT INTO dir_adt_applied (digest, applied_at) VALUES (?, ?)`, digest, ap.now); err != nil {
			return fmt.Errorf("directory: ledger: %w", err)
		}
		s.linked++
		if s.linked >= 256 {
			s.linked = 0
			return s.pruneLinks(ctx, tx, now)
		}
		return nil
	})
	return res, err
}

// pruneLinks drops the links older than LinkRetention and the oldest
// beyond LinkMax.
func (s *Store) pruneLinks(ctx context.Context, tx *sql.Tx, now time.Time) error {
	cut := fmtTime(now.Add(-s.LinkRetention))
	if _, err := tx.ExecContext(ctx, `DELETE FROM dir_links WHERE at < ?`, cut); err != nil {
		return fmt.Errorf("directory: link pruning: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM dir_section_staff WHERE last_at < ?`, cut); err != nil {
		return fmt.Errorf("directory: link pruning: %w", err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM dir_links`).Scan(&n); err != nil {
		return fmt.Errorf("directory: link pruning: %w", err)
	}
	if s.LinkMax > 0 && n > s.LinkMax {
		if _, err := tx.ExecContext(ctx, `DELETE FROM dir_links WHERE id IN (SELECT id FROM dir_links ORDER BY at, id LIMIT ?)`, n-s.LinkMax); err != nil {
			return fmt.Errorf("directory: link pruning: %w", err)
		}
	}
	return nil
}

// PruneLinks applies the links' retention now (it also runs every 256
// clinical messages).
func (s *Store) PruneLinks(ctx context.Context) error {
	return s.withTx(ctx, func(tx *sql.Tx) error { return s.pruneLinks(ctx, tx, s.now()) })
}

// Links returns the clinical links of a patient record (and of the
// records merged into it), the most recent first, at most limit (default
// and maximum 500).
func (s *Store) Links(ctx context.Context, patientID int64, limit int) ([]Link, error) {
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	rows, err := s.query(ctx, `SELECT kind, message_type, section, service, at, people FROM dir_links
		WHERE patient_id = ? ORDER BY at DESC, id DESC LIMIT ?`, patientID, limit)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	defer rows.Close()
	var out []Link
	for rows.Next() {
		var l Link
		var at, people string
		if err := rows.Scan(&l.Kind, &l.MessageType, &l.Section, &l.Service, &at, &people); err != nil {
			return nil, fmt.Errorf("directory: %w", err)
		}
		l.At = parseTime(at)
		if err := json.Unmarshal([]byte(people), &l.People); err != nil {
			return nil, fmt.Errorf("directory: link people: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// SectionDepartments maps each section (as messages name it, lower case)
// to the roster departments of the people seen filling it, most frequent
// first, each with at least a tenth of the section's fillings: the
// departments an order of that section is for.
func (s *Store) SectionDepartments(ctx context.Context) (map[string][]string, error) {
	staff, err := s.StaffDepartments(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT section, provider_id, n FROM dir_section_staff`)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	defer rows.Close()
	counts := map[string]map[string]int{}
	for rows.Next() {
		var sec, id string
		var n int
		if err := rows.Scan(&sec, &id, &n); err != nil {
			return nil, fmt.Errorf("directory: %w", err)
		}
		d := staff[id]
		if d == "" {
			continue
		}
		sec = strings.ToLower(sec)
		if counts[sec] == nil {
			counts[sec] = map[string]int{}
		}
		counts[sec][d] += n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	out := make(map[string][]string, len(counts))
	for sec, m := range counts {
		total := 0
		for _, n := range m {
			total += n
		}
		ds := make([]string, 0, len(m))
		for d, n := range m {
			// A department seen only now and then (a ward nurse named on
			// a bedside test) does not fill the section.
			if n*10 >= total {
				ds = append(ds, d)
			}
		}
		sort.Slice(ds, func(i, j int) bool {
			if m[ds[i]] != m[ds[j]] {
				return m[ds[i]] > m[ds[j]]
			}
			return ds[i] < ds[j]
		})
		out[sec] = ds
	}
	return out, nil
}
