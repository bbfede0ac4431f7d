// Package fhir reads FHIR AuditEvent resources (R4 and R5, JSON
// application/fhir+json), single or in batch/transaction Bundles, checks
// them against the elements the specification requires, and maps them to
// Vigil events: ECS fields plus healthcare.*, following the IHE Basic
// Audit Log Patterns (BALP) where they say how an element is used.
//
// Errors are FHIR OperationOutcome issues that name the element at fault
// as a FHIRPath expression (AuditEvent.agent[0].who), ready to be returned
// to the client. The package also builds the CapabilityStatement served at
// GET /fhir/metadata and batch/transaction response Bundles.
//
// It is pure (no I/O, no global state), bounds resource size and bundle
// entries (Limits) and never panics.
package fhir

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Limits bound a request. Zero values take the defaults.
type Limits struct {
	MaxResourceBytes int // one AuditEvent; default 256 KiB
	MaxRequestBytes  int // whole body (Bundle); default 8 MiB
	MaxBundleEntries int // default 1000
}

func (l Limits) withDefaults() Limits {
	if l.MaxResourceBytes <= 0 {
		l.MaxResourceBytes = 256 << 10
	}
	if l.MaxRequestBytes <= 0 {
		l.MaxRequestBytes = 8 << 20
	}
	if l.MaxBundleEntries <= 0 {
		l.MaxBundleEntries = 1000
	}
	return l
}

// Entry is one AuditEvent of a request: the parsed resource, or the
// error that makes it invalid.
type Entry struct {
	Index   int             // position in Bundle.entry; 0 for a single resource
	Raw     json.RawMessage // the resource's JSON as sent
	Event   *AuditEvent     // nil when Err is set
	Err     *ValidationError
	FullURL string // Bundle.entry.fullUrl
}

// Request is a parsed POST body: one AuditEvent, or a Bundle of them.
type Request struct {
	ResourceType string // "AuditEvent" or "Bundle"
	BundleType   string // "batch" or "transaction" for a Bundle
	Entries      []Entry
}

// Valid reports whether every entry parsed. A transaction must be
// refused as a whole unless Valid; a batch accepts the valid entries.
func (r *Request) Valid() bool {
	for _, e := range r.Entries {
		if e.Err != nil {
			return false
		}
	}
	return true
}

// Issues returns the issues of every invalid entry, with expressions
// prefixed by the entry's position in the Bundle.
func (r *Request) Issues() []Issue {
	var out []Issue
	for _, e := range r.Entries {
		if e.Err != nil {
			out = append(out, e.Err.Issues...)
		}
	}
	return out
}

// ParseRequest parses the body of POST /fhir/AuditEvent (one AuditEvent)
// or POST /fhir (a batch or transaction Bundle whose entries are
// AuditEvents). It returns a *ValidationError when the body as a whole is
// unusable (not JSON, wrong resource type, too large, too many entries,
// a Bundle type other than batch/transaction); problems of single
// entries are reported in Entry.Err.
func ParseRequest(body []byte, lim Limits) (*Request, error) {
	lim = lim.withDefaults()
	if len(body) > lim.MaxRequestBytes {
		e := invalid("too-long", "", "request of %d bytes exceeds the limit of %d", len(body), lim.MaxRequestBytes)
		e.TooLarge = true
		return nil, e
	}
	var head struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Entry        []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
			Request  *struct {
				Method string `json:"method"`
				URL    string `json:"url"`
			} `json:"request"`
		} `json:"entry"`
	}
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	// Peek at resourceType without decoding a whole Bundle twice.
	var rt struct {
		ResourceType json.RawMessage `json:"resourceType"`
	}
	if err := json.Unmarshal(body, &rt); err != nil {
		return nil, jsonError(body, err, "Resource")
	}
	var kind string
	if err := json.Unmarshal(rt.ResourceType, &kind); err != nil || kind == "" {
		return nil, invalid("required", "Resource.resourceType", "resourceType is missing or not a string")
	}
	switch kind {
	case "AuditEvent":
		e := Entry{Raw: body}
		e.Event, e.Err = parseAuditEvent(body, lim, "AuditEvent")
		return &Request{ResourceType: kind, Entries: []Entry{e}}, nil
	case "Bundle":
	default:
		return nil, invalid("not-supported", "Resource.resourceType", "resource type %q is not accepted here; send an AuditEvent or a batch/transaction Bundle of AuditEvents", kind)
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return nil, jsonError(body, err, "Bundle")
	}
	if head.Type != "batch" && head.Type != "transaction" {
		return nil, invalid("not-supported", "Bundle.type", "Bundle type %q is not accepted; use batch or transaction", head.Type)
	}
	if len(head.Entry) > lim.MaxBundleEntries {
		e := invalid("too-long", "Bundle.entry", "Bundle has %d entries, more than the limit of %d", len(head.Entry), lim.MaxBundleEntries)
		e.TooLarge = true
		return nil, e
	}
	r := &Request{ResourceType: kind, BundleType: head.Type}
	for i, he := range head.Entry {
		prefix := fmt.Sprintf("Bundle.entry[%d].resource", i)
		e := Entry{Index: i, Raw: he.Resource, FullURL: he.FullURL}
		switch {
		case len(he.Resource) == 0:
			e.Err = invalid("required", prefix, "entry has no resource")
		case he.Request != nil && he.Request.Method != "" && he.Request.Method != "POST":
			e.Err = invalid("not-supported", fmt.Sprintf("Bundle.entry[%d].request.method", i), "method %q is not supported; AuditEvents are created with POST", he.Request.Method)
		default:
			var t struct {
				ResourceType string `json:"resourceType"`
			}
			_ = json.Unmarshal(he.Resource, &t)
			if t.ResourceType != "AuditEvent" {
				e.Err = invalid("not-supported", prefix+".resourceType", "resource type %q is not accepted; only AuditEvent", t.ResourceType)
				break
			}
			e.Event, e.Err = parseAuditEvent(he.Resource, lim, prefix)
		}
		r.Entries = append(r.Entries, e)
	}
	return r, nil
}

// ParseAuditEvent parses and checks one AuditEvent resource.
func ParseAuditEvent(data []byte, lim Limits) (*AuditEvent, error) {
	ae, verr := parseAuditEvent(data, lim.withDefaults(), "AuditEvent")
	if verr != nil {
		return nil, verr
	}
	return ae, nil
}

func parseAuditEvent(data []byte, lim Limits, root string) (*AuditEvent, *ValidationError) {
	if len(data) > lim.MaxResourceBytes {
		e := invalid("too-long", root, "resource of %d bytes exceeds the limit of %d", len(data), lim.MaxResourceBytes)
		e.TooLarge = true
		return nil, e
	}
	ae := &AuditEvent{}
	if err := json.Unmarshal(data, ae); err != nil {
		return nil, jsonError(data, err, root)
	}
	if issues := validate(ae, root); len(issues) > 0 {
		return nil, &ValidationError{Issues: issues}
	}
	return ae, nil
}

// Value sets of the elements Vigil checks.
var (
	actions      = map[string]bool{"C": true, "R": true, "U": true, "D": true, "E": true}
	outcomes     = map[string]bool{"0": true, "4": true, "8": true, "12": true}
	networkTypes = map[string]bool{"1": true, "2": true, "3": true, "4": true, "5": true}
	severities   = map[string]bool{"emergency": true, "alert": true, "critical": true, "error": true, "warning": true, "notice": true, "informational": true, "debug": true}
)

// validate decides the version and checks cardinalities and value sets
// of the R4 or R5 AuditEvent definition.
func validate(ae *AuditEvent, root string) []Issue {
	var issues []Issue
	add := func(code, expr, format string, args ...any) {
		issues = append(issues, issue(code, root+expr, format, args...))
	}
	if ae.ResourceType != "AuditEvent" {
		add("invalid", ".resourceType", "resourceType is %q, want AuditEvent", ae.ResourceType)
	}
	r5 := ae.Code != nil || len(ae.Category) > 0 || ae.OccurredDateTime != "" || ae.OccurredPeriod != nil ||
		(ae.Outcome != nil && ae.Outcome.R5) || len(ae.Authorization) > 0 || ae.Patient != nil || ae.Severity != ""
	r4 := ae.Type != nil || len(ae.Subtype) > 0 || ae.Period != nil || ae.OutcomeDesc != "" || len(ae.PurposeOfEvent) > 0 ||
		(ae.Outcome != nil && !ae.Outcome.R5)
	switch {
	case r4 && r5:
		add("structure", "", "mixes R4 elements (type, subtype, period, outcome code, outcomeDesc, purposeOfEvent) with R5 elements (category, code, occurred[x], outcome.code, authorization, patient, severity)")
	case r5:
		ae.Version = "R5"
	default:
		ae.Version = "R4"
	}
	if ae.Version == "R4" {
		if ae.Type == nil || len(ae.Type.Codings) == 0 || ae.Type.Codings[0].Code == "" {
			add("required", ".type", "AuditEvent.type (1..1) is missing or has no code")
		}
		if ae.Outcome != nil && !outcomes[ae.Outcome.Code] {
			add("value", ".outcome", "outcome %q is not one of 0, 4, 8, 12", ae.Outcome.Code)
		}
	} else if ae.Version == "R5" {
		if ae.Code == nil || len(ae.Code.Codings) == 0 && ae.Code.Text == "" {
			add("required", ".code", "AuditEvent.code (1..1) is missing")
		}
		if ae.Outcome != nil && ae.Outcome.Coding.Code == "" {
			add("required", ".outcome.code", "outcome.code (1..1) is missing")
		}
		if ae.Severity != "" && !severities[ae.Severity] {
			add("value", ".severity", "severity %q is not a valid audit-event-severity code", ae.Severity)
		}
		if ae.OccurredDateTime != "" {
			if _, err := parseDateTime(ae.OccurredDateTime); err != nil {
				add("value", ".occurredDateTime", "%v", err)
			}
		}
	}
	if ae.Action != "" && !actions[ae.Action] {
		add("value", ".action", "action %q is not one of C, R, U, D, E", ae.Action)
	}
	if ae.Recorded == "" {
		add("required", ".recorded", "recorded (1..1) is missing")
	} else if _, err := time.Parse(time.RFC3339Nano, ae.Recorded); err != nil {
		add("value", ".recorded", "recorded %q is not an instant (2006-01-02T15:04:05Z, with seconds and time zone)", ae.Recorded)
	}
	for _, p := range []struct {
		name string
		p    *Period
	}{{".period", ae.Period}, {".occurredPeriod", ae.OccurredPeriod}} {
		if p.p == nil {
			continue
		}
		for _, v := range []struct{ n, s string }{{".start", p.p.Start}, {".end", p.p.End}} {
			if v.s != "" {
				if _, err := parseDateTime(v.s); err != nil {
					add("value", p.name+v.n, "%v", err)
				}
			}
		}
	}
	if len(ae.Agent) == 0 {
		add("required", ".agent", "at least one agent (1..*) is required")
	}
	for i := range ae.Agent {
		a := &ae.Agent[i]
		at := fmt.Sprintf(".agent[%d]", i)
		if ae.Version == "R4" && a.Requestor == nil {
			add("required", at+".requestor", "requestor (1..1) is missing")
		}
		if ae.Version == "R5" && a.Who == nil {
			add("required", at+".who", "who (1..1) is missing")
		} else if a.Who != nil && a.Who.empty() {
			add("invalid", at+".who", "reference has no reference, identifier or display")
		}
		if a.Network != nil && a.Network.Type != "" && !networkTypes[a.Network.Type] {
			add("value", at+".network.type", "network type %q is not one of 1 (machine name), 2 (IP address), 3 (telephone), 4 (email), 5 (URI)", a.Network.Type)
		}
	}
	if ae.Source == nil {
		add("required", ".source", "source (1..1) is missing")
	} else if ae.Source.Observer == nil {
		add("required", ".source.observer", "source.observer (1..1) is missing")
	} else if ae.Source.Observer.empty() {
		add("invalid", ".source.observer", "reference has no reference, identifier or display")
	}
	for i := range ae.Entity {
		en := &ae.Entity[i]
		at := fmt.Sprintf(".entity[%d]", i)
		if en.Query != "" {
			if _, err := base64.StdEncoding.DecodeString(en.Query); err != nil {
				add("value", at+".query", "query is not base64: %v", err)
			}
		}
		if en.What != nil && en.What.empty() {
			add("invalid", at+".what", "reference has no reference, identifier or display")
		}
		for j, d := range en.Detail {
			if d.ValueBase64Binary != "" {
				if _, err := base64.StdEncoding.DecodeString(d.ValueBase64Binary); err != nil {
					add("value", fmt.Sprintf("%s.detail[%d].valueBase64Binary", at, j), "not base64: %v", err)
				}
			}
		}
	}
	return issues
}

// parseDateTime reads a FHIR dateTime: YYYY, YYYY-MM, YYYY-MM-DD or a
// full date and time with time zone.
func parseDateTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a FHIR dateTime (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+zz:zz)", s)
}

// refID splits "Patient/123" (or a full URL ending so, or with
// /_history/n) into type and id.
func refID(ref string) (typ, id string) {
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	parts := strings.Split(ref, "/")
	if len(parts) >= 2 {
		return parts[len(parts)-2], parts[len(parts)-1]
	}
	return "", ref
}
