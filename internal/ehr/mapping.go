// Package ehr imports EHR access logs — who opened which patient's chart,
// when, from where, and whether they broke the glass — from CSV or TSV
// exports into Vigil events (ECS plus healthcare.*, event.module "ehr").
//
// A Mapping (a YAML or JSON file, or a preset for an Epic-style access
// log, OpenEMR's log table or Altera TouchWorks' PatientAccessLog) says
// which column holds which field. Reader streams a file row by row with
// bounded memory, reporting problems by line number and never stopping at
// a bad row. The CLI (`vigil ehr import`, cmd/vigil/internal/ehrcli) sends files to a server, resumably;
// Watcher imports new files and appended lines of a directory
// continuously.
package ehr

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// Mapping says how to read one kind of access log.
type Mapping struct {
	// Name identifies the mapping (the preset name, or the file's).
	Name string `yaml:"name" json:"name"`
	// Vendor and Product describe the EHR (observer.vendor,
	// observer.product).
	Vendor  string `yaml:"vendor,omitempty" json:"vendor,omitempty"`
	Product string `yaml:"product,omitempty" json:"product,omitempty"`
	// Dataset is event.dataset (default "ehr.access").
	Dataset string `yaml:"dataset,omitempty" json:"dataset,omitempty"`
	// Delimiter is ",", ";", "|", "tab" or "auto" (default): a .tsv file
	// is tab-separated, otherwise the character most frequent in the
	// header line among , ; tab | is used.
	Delimiter string `yaml:"delimiter,omitempty" json:"delimiter,omitempty"`
	// BackslashEscapes unescapes \t \n \r \\ \0 in tab-separated files
	// (the form of mysql --batch output).
	BackslashEscapes bool `yaml:"backslash_escapes,omitempty" json:"backslash_escapes,omitempty"`
	// HeaderNames names the columns of files without a header line; when
	// empty, the first line is the header.
	HeaderNames []string `yaml:"header_names,omitempty" json:"header_names,omitempty"`
	// Timezone of times without an offset (IANA name, default UTC).
	Timezone string `yaml:"timezone,omitempty" json:"timezone,omitempty"`
	// TimeFormats are Go layouts tried before the built-in ones.
	TimeFormats []string `yaml:"time_formats,omitempty" json:"time_formats,omitempty"`
	// TimeFields are further fields read as times (like @timestamp,
	// event.start, event.end and event.created) and written in RFC 3339.
	TimeFields []string `yaml:"time_fields,omitempty" json:"time_fields,omitempty"`
	// DurationUnit of event.duration columns: s (default), ms, us, ns, min.
	DurationUnit string `yaml:"duration_unit,omitempty" json:"duration_unit,omitempty"`
	// NullValues are cell values meaning "no value" (default NULL and \N).
	NullValues []string `yaml:"null_values,omitempty" json:"null_values,omitempty"`
	// Columns maps event fields to the column header(s) that may hold
	// them; the first header present in the file is used. Headers are
	// compared ignoring case, spaces and punctuation.
	Columns map[string]Headers `yaml:"columns" json:"columns"`
	// Values translate cell values per field before use (e.g. BreakType
	// "BG" → "true"); keys compared ignoring case.
	Values map[string]map[string]string `yaml:"values,omitempty" json:"values,omitempty"`
	// Set adds constant fields to every event.
	Set map[string]string `yaml:"set,omitempty" json:"set,omitempty"`
	// Required fields must have a column (default @timestamp and
	// user.name).
	Required []string `yaml:"required,omitempty" json:"required,omitempty"`
	// KeepUnmapped adds the other columns as healthcare.ehr.<header in
	// snake case>.
	KeepUnmapped bool `yaml:"keep_unmapped,omitempty" json:"keep_unmapped,omitempty"`

	loc *time.Location
}

// Headers is a header name or a list of alternatives.
type Headers []string

// UnmarshalYAML accepts a string or a list of strings.
func (h *Headers) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*h = Headers{n.Value}
		return nil
	case yaml.SequenceNode:
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		*h = l
		return nil
	}
	return fmt.Errorf("line %d: want a column header or a list of them", n.Line)
}

// Fields with special handling.
const (
	FieldTimestamp  = "@timestamp"
	FieldBreakGlass = "healthcare.break_glass"
	// FieldBreakGlassJustification holds the reason the user gave when
	// breaking the glass (free text or a reason code, as the EHR logs it).
	FieldBreakGlassJustification = "healthcare.break_glass_justification"
)

// timeFields are parsed as times and written in RFC 3339.
var timeFields = map[string]bool{FieldTimestamp: true, "event.start": true, "event.end": true, "event.created": true}

// ParseMapping reads a mapping written in YAML or JSON and checks it.
func ParseMapping(data []byte, name string) (*Mapping, error) {
	var m Mapping
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("mapping %s: %w", name, err)
	}
	if m.Name == "" {
		m.Name = name
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	return &m, nil
}

// LoadMapping reads a mapping file (YAML or JSON).
func LoadMapping(path string) (*Mapping, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	return ParseMapping(data, path)
}

// Check validates the mapping and prepares it for use.
func (m *Mapping) Check() error {
	if len(m.Columns) == 0 {
		return fmt.Errorf("mapping %s: no columns: map at least @timestamp and user.name to column headers", m.Name)
	}
	for f, h := range m.Columns {
		if !validField(f) {
			return fmt.Errorf("mapping %s: %q is not a field name: use dotted lower-case names such as user.name or healthcare.patient.id", m.Name, f)
		}
		if len(h) == 0 {
			return fmt.Errorf("mapping %s: field %s has no column header", m.Name, f)
		}
	}
	for f := range m.Set {
		if !validField(f) || f == FieldTimestamp {
			return fmt.Errorf("mapping %s: set: %q is not a field name", m.Name, f)
		}
	}
	for _, f := range m.requiredFields() {
		if _, ok := m.Columns[f]; !ok {
			return fmt.Errorf("mapping %s: required field %s has no column", m.Name, f)
		}
	}
	if _, err := m.delimiterFor(""); err != nil && m.Delimiter != "auto" {
		return err
	}
	if _, err := durationUnit(m.DurationUnit); err != nil {
		return fmt.Errorf("mapping %s: %w", m.Name, err)
	}
	m.loc = time.UTC
	if m.Timezone != "" {
		loc, err := time.LoadLocation(m.Timezone)
		if err != nil {
			return fmt.Errorf("mapping %s: timezone: %w", m.Name, err)
		}
		m.loc = loc
	}
	return nil
}

func (m *Mapping) requiredFields() []string {
	if m.Required != nil {
		return m.Required
	}
	return []string{FieldTimestamp, "user.name"}
}

func validField(f string) bool {
	if f == FieldTimestamp {
		return true
	}
	if f == "" || f[0] == '.' || f[len(f)-1] == '.' || strings.Contains(f, "..") {
		return false
	}
	for _, r := range f {
		if !(r == '.' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// delimiterFor returns the delimiter for a file, 0 when it is to be
// detected from the header line.
func (m *Mapping) delimiterFor(path string) (byte, error) {
	switch strings.ToLower(m.Delimiter) {
	case "", "auto":
		if strings.HasSuffix(strings.ToLower(path), ".tsv") {
			return '\t', nil
		}
		return 0, nil
	case ",", "comma":
		return ',', nil
	case ";", "semicolon":
		return ';', nil
	case "|", "pipe":
		return '|', nil
	case "\t", "tab", `\t`:
		return '\t', nil
	}
	return 0, fmt.Errorf("mapping %s: delimiter %q: want , ; | tab or auto", m.Name, m.Delimiter)
}

func durationUnit(s string) (time.Duration, error) {
	switch strings.ToLower(s) {
	case "", "s", "sec", "seconds":
		return time.Second, nil
	case "ms", "milliseconds":
		return time.Millisecond, nil
	case "us", "microseconds":
		return time.Microsecond, nil
	case "ns", "nanoseconds":
		return time.Nanosecond, nil
	case "min", "minutes":
		return time.Minute, nil
	}
	return 0, fmt.Errorf("duration_unit %q: want s, ms, us, ns or min", s)
}

// MarshalYAML-friendly copy for printing presets.
func (m *Mapping) YAML() ([]byte, error) {
	type plain Mapping
	return yaml.Marshal((*plain)(m))
}

func normHeader(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimPrefix(s, "\ufeff")) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func snakeHeader(s string) string {
	var b strings.Builder
	prevUnderscore, prevLower := true, false
	for _, r := range strings.TrimPrefix(s, "\ufeff") {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			// camelCase → camel_case, but keep runs of capitals
			// (TERMINAL → terminal, HostName → host_name).
			if unicode.IsUpper(r) && prevLower && !prevUnderscore {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			prevUnderscore, prevLower = false, unicode.IsLower(r)
		default:
			if !prevUnderscore {
				b.WriteByte('_')
				prevUnderscore = true
			}
			prevLower = false
		}
	}
	return strings.Trim(b.String(), "_")
}

// Presets are the built-in mappings, by name.
var presets = map[string]*Mapping{
	// An Epic-style access log: the columns of a Clarity ACCESS_LOG
	// extract or a Hyperspace access-log report. Epic's exports are
	// configured per organisation; the header names below are the usual
	// ones and alternatives, adjust with a mapping file when yours differ.
	"epic": {
		Name: "epic", Vendor: "Epic Systems", Product: "Epic",
		Columns: map[string]Headers{
			FieldTimestamp: {"ACCESS_INSTANT", "ACCESS_TIME", "Access Instant", "Access Time", "Access Date/Time", "Date/Time", "Timestamp"},
			// The export's own id of the access (the access log line), which
			// privacy alerts and reports name.
			"event.id":                        {"ACCESS_LOG_ID", "ACCESS_ID", "ACCESS_EVENT_ID", "AUDIT_ID", "AUDIT_LOG_ID", "LOG_ID", "EVENT_ID", "Access ID", "Audit ID"},
			"user.name":                       {"USER_ID", "User ID", "EMP_ID", "User Login", "User"},
			"user.full_name":                  {"USER_NAME", "User Name", "EMP_NAME"},
			"healthcare.patient.id":           {"PAT_MRN_ID", "MRN", "Patient MRN", "PAT_ID", "Patient ID"},
			"healthcare.encounter.id":         {"PAT_ENC_CSN_ID", "CSN", "Encounter CSN", "Contact Serial Number"},
			"event.action":                    {"METRIC_NAME", "ACCESS_ACTION", "Action", "Access Action", "Metric"},
			"event.code":                      {"METRIC_ID", "Metric ID"},
			"host.name":                       {"WORKSTATION_ID", "WORKSTATION", "Workstation", "Workstation ID"},
			"source.ip":                       {"IP_ADDRESS", "IP Address", "Client IP"},
			"healthcare.workforce.department": {"DEPARTMENT_NAME", "LOGIN_DEP_NAME", "Login Department", "DEPARTMENT", "Department"},
			"healthcare.workforce.role":       {"USER_ROLE", "Role", "User Role"},
			// Break-the-glass columns under the names Epic reports and
			// site-built extracts give them (compared without case, spaces
			// or punctuation: break_glass = BREAK GLASS = BreakGlass).
			FieldBreakGlass: {"BTG_FLAG", "BREAK_THE_GLASS_YN", "Break the Glass", "BTG", "BREAK_GLASS", "BREAK_GLASS_YN",
				"BREAK_GLASS_FLAG", "BTG_YN", "IS_BREAK_GLASS", "EMERGENCY_ACCESS", "EMERGENCY_ACCESS_YN"},
			FieldBreakGlassJustification: {"BTG_REASON", "BREAK_THE_GLASS_REASON", "BTG Reason", "Break the Glass Reason", "BTG_COMMENT",
				"BREAK_GLASS_REASON", "BREAK_GLASS_JUSTIFICATION", "BREAK_GLASS_COMMENT", "BTG_JUSTIFICATION", "EMERGENCY_ACCESS_REASON"},
		},
		Required: []string{FieldTimestamp, "user.name", "healthcare.patient.id"},
	},
	// OpenEMR's `log` table (id, date, event, category, user, groupname,
	// comments, user_notes, patient_id, success, checksum, crt_user,
	// log_from, menu_item_id, ccda_doc_id) exported with its column names,
	// e.g. mysql --batch (tab-separated, backslash escapes, NULL) or a CSV
	// export.
	"openemr": {
		Name: "openemr", Vendor: "OpenEMR", Product: "OpenEMR", BackslashEscapes: true,
		Columns: map[string]Headers{
			FieldTimestamp:                {"date"},
			"event.action":                {"event"},
			"healthcare.ehr.category":     {"category"},
			"user.name":                   {"user"},
			"user.group.name":             {"groupname"},
			"healthcare.patient.id":       {"patient_id"},
			"event.outcome":               {"success"},
			"event.sequence":              {"id"},
			"healthcare.ehr.comments":     {"comments"},
			"healthcare.ehr.log_from":     {"log_from"},
			"healthcare.ehr.crt_user":     {"crt_user"},
			"healthcare.ehr.menu_item_id": {"menu_item_id"},
			"healthcare.ehr.ccda_doc_id":  {"ccda_doc_id"},
		},
		// patient_id 0 means no patient.
		Values:   map[string]map[string]string{"healthcare.patient.id": {"0": ""}},
		Required: []string{FieldTimestamp, "user.name", "event.action"},
	},
	// Altera (formerly Allscripts) TouchWorks EHR PatientAccessLog, as
	// its EHI export defines it: UserID, HostName, PatientID, OpenDTTM,
	// CloseDTTM, ExposureTime, BreakGlassStartDTTM, BreakGlassExposure,
	// BreakGlassReason, DeviceUsed, BreakType (N, BG, PO). UserID and
	// PatientID are TouchWorks internal ids (IDX_User.ID, Person.ID);
	// ExposureTime is taken to be seconds.
	"touchworks": {
		Name: "touchworks", Vendor: "Altera Digital Health", Product: "TouchWorks EHR",
		Columns: map[string]Headers{
			FieldTimestamp:                        {"OpenDTTM"},
			"event.start":                         {"OpenDTTM"},
			"event.end":                           {"CloseDTTM"},
			"event.duration":                      {"ExposureTime"},
			"user.name":                           {"UserID"},
			"healthcare.patient.id":               {"PatientID"},
			"observer.hostname":                   {"HostName"},
			FieldBreakGlass:                       {"BreakType"},
			FieldBreakGlassJustification:          {"BreakGlassReason"},
			"healthcare.ehr.break_glass_start":    {"BreakGlassStartDTTM"},
			"healthcare.ehr.break_glass_exposure": {"BreakGlassExposure"},
			"healthcare.ehr.device":               {"DeviceUsed"},
		},
		Values: map[string]map[string]string{
			FieldBreakGlass:         {"BG": "true", "N": "false", "PO": "false"},
			"healthcare.ehr.device": {"W": "web"},
		},
		Set:        map[string]string{"event.action": "chart-open"},
		TimeFields: []string{"healthcare.ehr.break_glass_start"},
		Required:   []string{FieldTimestamp, "user.name", "healthcare.patient.id"},
	},
}

// PresetNames lists the built-in mappings.
func PresetNames() []string {
	var n []string
	for k := range presets {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}

// Preset returns a copy of a built-in mapping, checked.
func Preset(name string) (*Mapping, error) {
	p, ok := presets[name]
	if !ok {
		return nil, fmt.Errorf("unknown EHR preset %q: have %s", name, strings.Join(PresetNames(), ", "))
	}
	m := *p
	if err := m.Check(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Resolve picks the mapping from a mapping file (wins) or a preset name.
func Resolve(preset, mappingFile string) (*Mapping, error) {
	switch {
	case mappingFile != "":
		return LoadMapping(mappingFile)
	case preset != "":
		return Preset(preset)
	}
	return nil, errors.New("give an EHR preset (" + strings.Join(PresetNames(), ", ") + ") or a mapping file")
}
