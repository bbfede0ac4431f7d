package hl7

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

// EventOptions control MapEvent.
type EventOptions struct {
	// KeepOriginal stores the raw message in event.original. The raw
	// message holds PHI; it is kept only when the caller asks.
	KeepOriginal bool
	// Location is used for times without an offset (UTC when nil).
	Location *time.Location
	// Now is the time used when the message carries none (time.Now when
	// zero).
	Now time.Time
}

// MapEvent appends the fields of m to e and sets e.Time. It never puts
// the message body into "message" (only a summary without patient data)
// and adds the raw text as event.original only with opt.KeepOriginal.
// Field names are documented in docs/healthcare.md.
func MapEvent(e *event.Event, m *Message, opt EventOptions) {
	msh := m.Segment("MSH")
	e.Set("event.kind", "event")
	e.Set("event.module", "hl7")
	typ := strings.ToLower(m.Type)
	e.Set("event.dataset", "hl7."+typ)
	action := typ
	if m.Trigger != "" {
		action += "-" + strings.ToLower(m.Trigger)
		e.Set("event.code", m.Trigger)
	}
	e.Set("event.action", action)

	set := func(name, v string) {
		if v != "" {
			e.Set(name, v)
		}
	}
	set("healthcare.hl7.message_type", m.Type)
	set("healthcare.hl7.trigger_event", m.Trigger)
	set("healthcare.hl7.message_structure", m.Structure)
	set("healthcare.hl7.control_id", m.ControlID)
	set("healthcare.hl7.version", m.Version)
	set("healthcare.hl7.processing_id", m.Processing)
	set("healthcare.hl7.sending_application", msh.Get(3, 1, 1, 1))
	set("healthcare.hl7.sending_facility", msh.Get(4, 1, 1, 1))
	set("healthcare.hl7.receiving_application", msh.Get(5, 1, 1, 1))
	set("healthcare.hl7.receiving_facility", msh.Get(6, 1, 1, 1))
	set("healthcare.hl7.security", msh.Get(8, 1, 1, 1))

	// Time: EVN-6 (event occurred), EVN-2 (recorded), MSH-7, Now.
	var ts time.Time
	pick := func(s *Segment, field int) {
		if !ts.IsZero() || s == nil {
			return
		}
		if v := s.Get(field, 1, 1, 1); v != "" {
			if t, err := ParseTime(v, opt.Location); err == nil {
				ts = t
			}
		}
	}
	evn := m.Segment("EVN")
	pick(evn, 6)
	pick(evn, 2)
	if v := msh.Get(7, 1, 1, 1); v != "" {
		if t, err := ParseTime(v, opt.Location); err == nil {
			e.Set("healthcare.hl7.message_time", t.UTC().Format(time.RFC3339Nano))
		}
	}
	pick(msh, 7)
	if ts.IsZero() {
		ts = opt.Now
		if ts.IsZero() {
			ts = time.Now()
		}
	}
	e.Time = ts.UTC()

	if evn != nil {
		set("healthcare.hl7.event_reason", evn.Get(4, 1, 1, 1))
		if evn.Field(5) != "" {
			op := xcn(evn, evn.Reps(5)[0])
			set("user.id", op.ID)
			set("user.full_name", strings.TrimSpace(op.Given+" "+op.Family))
		}
	}
	if pid := m.Segment("PID"); pid != nil {
		ids := cxList(pid, 3)
		if len(ids) == 0 {
			ids = cxList(pid, 2)
		}
		// National identifiers (SS social security, and the like) stay
		// out of events; the directory (ExtractADT) still has them.
		ids = slices.DeleteFunc(ids, func(id Identifier) bool { return sensitiveIDTypes[id.TypeCode] })
		if len(ids) > 0 {
			set("healthcare.patient.id", ids[0].ID)
			set("healthcare.patient.id_authority", ids[0].AssigningAuthority)
			set("healthcare.patient.id_type", ids[0].TypeCode)
			list := make([]string, len(ids))
			for i, id := range ids {
				list[i] = id.ID
			}
			e.Set("healthcare.patient.ids", jsonArray(list))
		}
		if pid.Get(30, 1, 1, 1) == "Y" || pid.Get(29, 1, 1, 1) != "" {
			e.Set("healthcare.patient.deceased", "true")
		}
	}
	if pd1 := m.Segment("PD1"); pd1 != nil {
		set("healthcare.patient.protection", pd1.Get(12, 1, 1, 1))
	}
	if pv1 := m.Segment("PV1"); pv1 != nil {
		if v := cxList(pv1, 19); len(v) > 0 {
			set("healthcare.encounter.id", v[0].ID)
		}
		set("healthcare.encounter.class", pv1.Get(2, 1, 1, 1))
		set("healthcare.encounter.location", pl(pv1, pv1.Field(3)).String())
		set("healthcare.patient.vip", pv1.Get(16, 1, 1, 1))
		var team []string
		for _, f := range []int{7, 8, 9, 17} {
			for _, r := range pv1.Reps(f) {
				if id := pv1.Sub(r, 1, 1); id != "" && !slices.Contains(team, id) {
					team = append(team, id)
				}
			}
		}
		if len(team) > 0 {
			e.Set("healthcare.encounter.care_team_ids", jsonArray(team))
		}
	}
	var prior []string
	for _, mrg := range m.All("MRG") {
		for _, id := range cxList(mrg, 1) {
			prior = append(prior, id.ID)
		}
	}
	if len(prior) > 0 {
		e.Set("healthcare.merge.prior_ids", jsonArray(prior))
	}

	var b strings.Builder
	b.WriteString("HL7 ")
	b.WriteString(m.Type)
	if m.Trigger != "" {
		b.WriteString("^" + m.Trigger)
	}
	b.WriteString(" control id ")
	b.WriteString(m.ControlID)
	if app := msh.Get(3, 1, 1, 1); app != "" {
		b.WriteString(" from " + app)
		if fac := msh.Get(4, 1, 1, 1); fac != "" {
			b.WriteString("/" + fac)
		}
	}
	if app := msh.Get(5, 1, 1, 1); app != "" {
		b.WriteString(" to " + app)
		if fac := msh.Get(6, 1, 1, 1); fac != "" {
			b.WriteString("/" + fac)
		}
	}
	e.Set(event.FieldMessage, b.String())
	if opt.KeepOriginal {
		e.Set(event.FieldOriginal, m.Raw)
	}
}

func jsonArray(v []string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// sensitiveIDTypes are identifier type codes (HL7 table 0203) that are
// never copied into events: social security, national person, driver's
// licence and passport numbers.
var sensitiveIDTypes = map[string]bool{"SS": true, "DL": true, "PPN": true, "NNxxx": true}
