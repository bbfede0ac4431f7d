package access

import (
	"fmt"
	"strings"

	"github.com/vigil-siem/vigil/internal/event"
)

// Masked replaces a PHI value shown to a principal without the PHI
// permission.
const Masked = "[masked]"

// DefaultPHIFields are the fields masked for principals without the PHI
// permission unless the configuration (phi.fields) names others. Event
// fields use their flat names; directory records are masked as
// "patient.<json key>" and "encounter.<json key>". A name also covers
// every field below it ("patient.addresses" masks street, city, …), and a
// trailing "*" matches any suffix.
var DefaultPHIFields = []string{
	// Events: the raw record (HL7, FHIR, EHR rows carry names and
	// identifiers), patient and visit identifiers, free text that may
	// name a patient.
	"event.original",
	"healthcare.patient.id", "healthcare.patient.ids", "healthcare.patient.name*", "healthcare.patient.birth_date",
	"healthcare.patient.address*", "healthcare.patient.phone*", "healthcare.patient.email",
	"healthcare.merge.prior_ids", "healthcare.encounter.id", "healthcare.audit.object.ids", "healthcare.audit.query",
	"healthcare.resource.references", "healthcare.ehr.comments", "healthcare.ehr.ccda_doc_id",
	"healthcare.study.uid", "healthcare.study.uids",
	// Directory records.
	"patient.name", "patient.names", "patient.birth_date", "patient.addresses", "patient.phones",
	"patient.next_of_kin", "patient.account_number", "patient.identifiers.value", "patient.merges.prior_identifiers.value",
	"patient.deceased_time",
	"encounter.visit_number",
}

// Masker masks PHI fields for principals without the PHI permission.
// The zero value masks nothing; build one with NewMasker.
type Masker struct {
	exact    map[string]bool
	prefixes []string // from "name*": any suffix
}

// NewMasker returns a masker for field names or patterns (a trailing "*"
// matches any suffix). An empty list gives DefaultPHIFields.
func NewMasker(fields []string) (*Masker, error) {
	if len(fields) == 0 {
		fields = DefaultPHIFields
	}
	m := &Masker{exact: map[string]bool{}}
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" || f == "*" || strings.Count(f, "*") > 1 || (strings.Contains(f, "*") && !strings.HasSuffix(f, "*")) {
			return nil, fmt.Errorf("PHI field %q: want a field name, optionally ending in *", f)
		}
		if p, ok := strings.CutSuffix(f, "*"); ok {
			m.prefixes = append(m.prefixes, p)
		} else {
			m.exact[f] = true
		}
	}
	return m, nil
}

// IsPHI reports whether a field (or a field below it) is masked: its
// name, or one of its dotted parents, is listed.
func (m *Masker) IsPHI(name string) bool {
	if m == nil {
		return false
	}
	for _, p := range m.prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	for {
		if m.exact[name] {
			return true
		}
		i := strings.LastIndexByte(name, '.')
		if i < 0 {
			return false
		}
		name = name[:i]
	}
}

// Sees reports whether p sees PHI unmasked.
func Sees(p *Principal) bool { return p.Can(PHI) }

// Fields masks, in place, the PHI values of an event's flat fields for a
// principal without the PHI permission, and reports whether it masked
// any.
func (m *Masker) Fields(p *Principal, fields []event.Field) bool {
	if Sees(p) || m == nil {
		return false
	}
	masked := false
	for i := range fields {
		if fields[i].Value != "" && m.IsPHI(fields[i].Name) {
			fields[i].Value = Masked
			masked = true
		}
	}
	return masked
}

// Map masks, in place, a flat map of field names to values (alert fields,
// correlation group-by values) for a principal without PHI.
func (m *Masker) Map(p *Principal, fields map[string]string) bool {
	if Sees(p) || m == nil {
		return false
	}
	masked := false
	for k, v := range fields {
		if v != "" && m.IsPHI(k) {
			fields[k] = Masked
			masked = true
		}
	}
	return masked
}

// JSON masks, in place, a decoded JSON value (maps, slices, scalars) whose
// fields are named prefix.<key>[.<key>…] (arrays add no name), for a
// principal without PHI. It returns the masked value (a masked root is
// replaced) and whether it masked anything.
func (m *Masker) JSON(p *Principal, prefix string, v any) (any, bool) {
	if Sees(p) || m == nil {
		return v, false
	}
	return m.json(prefix, v)
}

func (m *Masker) json(path string, v any) (any, bool) {
	if path != "" && m.IsPHI(path) {
		if isEmpty(v) {
			return v, false
		}
		return Masked, true
	}
	masked := false
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			name := k
			if path != "" {
				name = path + "." + k
			}
			nv, did := m.json(name, c)
			x[k] = nv
			masked = masked || did
		}
	case []any:
		for i, c := range x {
			nv, did := m.json(path, c)
			x[i] = nv
			masked = masked || did
		}
	}
	return v, masked
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}
