package fhir

import (
	"bytes"
	"encoding/json"
)

// Coding is a FHIR Coding.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// Concept holds a coded value that is a Coding in R4 and a
// CodeableConcept in R5 (AuditEvent.type vs category, entity.role,
// source.type, securityLabel ...); it accepts either JSON form.
type Concept struct {
	Codings []Coding
	Text    string
}

// UnmarshalJSON accepts a Coding or a CodeableConcept.
func (c *Concept) UnmarshalJSON(b []byte) error {
	var v struct {
		Coding
		Codings []Coding `json:"coding"`
		Text    string   `json:"text"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	c.Codings = v.Codings
	if v.Coding != (Coding{}) {
		c.Codings = append([]Coding{v.Coding}, c.Codings...)
	}
	c.Text = v.Text
	return nil
}

// First returns the first coding (or one made of the text).
func (c *Concept) First() Coding {
	if c == nil {
		return Coding{}
	}
	if len(c.Codings) > 0 {
		f := c.Codings[0]
		if f.Display == "" {
			f.Display = c.Text
		}
		return f
	}
	return Coding{Display: c.Text}
}

// Has reports whether any coding has the code (and the system, when
// system is not empty).
func (c *Concept) Has(system, code string) bool {
	if c == nil {
		return false
	}
	for _, k := range c.Codings {
		if k.Code == code && (system == "" || k.System == system) {
			return true
		}
	}
	return false
}

// Identifier is a FHIR Identifier.
type Identifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

// Reference is a FHIR Reference.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Type       string      `json:"type,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

func (r *Reference) empty() bool {
	return r == nil || r.Reference == "" && r.Display == "" && (r.Identifier == nil || r.Identifier.Value == "")
}

// StringOrReference is AuditEvent.source.site: a string in R4, a
// Reference(Location) in R5.
type StringOrReference struct {
	String string
	Ref    *Reference
}

// UnmarshalJSON accepts a string or a Reference object.
func (s *StringOrReference) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &s.String)
	}
	s.Ref = &Reference{}
	return json.Unmarshal(b, s.Ref)
}

// StringOrConcept is AuditEvent.entity.detail.type: a string in R4, a
// CodeableConcept in R5.
type StringOrConcept struct {
	String  string
	Concept *Concept
}

// UnmarshalJSON accepts a string or a CodeableConcept.
func (s *StringOrConcept) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &s.String)
	}
	s.Concept = &Concept{}
	return json.Unmarshal(b, s.Concept)
}

// Text returns the string, or the concept's code or text.
func (s StringOrConcept) Text() string {
	if s.Concept != nil {
		f := s.Concept.First()
		if f.Code != "" {
			return f.Code
		}
		return f.Display
	}
	return s.String
}

// Outcome is AuditEvent.outcome: a code ("0", "4", "8", "12") in R4, a
// BackboneElement {code: Coding, detail: CodeableConcept[]} in R5.
type Outcome struct {
	Code   string
	R5     bool
	Coding Coding
	Detail []Concept
}

// UnmarshalJSON accepts both forms.
func (o *Outcome) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &o.Code)
	}
	var v struct {
		Code   Coding    `json:"code"`
		Detail []Concept `json:"detail"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	o.R5, o.Coding, o.Detail, o.Code = true, v.Code, v.Detail, v.Code.Code
	return nil
}

// Period is a FHIR Period.
type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// Meta is the part of Resource.meta Vigil reads.
type Meta struct {
	Profile  []string  `json:"profile,omitempty"`
	Security []Concept `json:"security,omitempty"`
}

// Network is R4 AuditEvent.agent.network.
type Network struct {
	Address string `json:"address,omitempty"`
	Type    string `json:"type,omitempty"` // 1 machine name, 2 IP address, 3 telephone, 4 email, 5 URI
}

// Agent is AuditEvent.agent (R4 and R5 elements).
type Agent struct {
	Type      *Concept   `json:"type,omitempty"`
	Role      []Concept  `json:"role,omitempty"`
	Who       *Reference `json:"who,omitempty"`
	AltID     string     `json:"altId,omitempty"` // R4
	Name      string     `json:"name,omitempty"`  // R4
	Requestor *bool      `json:"requestor,omitempty"`
	Location  *Reference `json:"location,omitempty"`
	Policy    []string   `json:"policy,omitempty"`
	Media     *Coding    `json:"media,omitempty"`   // R4
	Network   *Network   `json:"network,omitempty"` // R4
	// R5 network[x]
	NetworkString    string     `json:"networkString,omitempty"`
	NetworkURI       string     `json:"networkUri,omitempty"`
	NetworkReference *Reference `json:"networkReference,omitempty"`
	PurposeOfUse     []Concept  `json:"purposeOfUse,omitempty"`  // R4
	Authorization    []Concept  `json:"authorization,omitempty"` // R5
}

// Source is AuditEvent.source.
type Source struct {
	Site     *StringOrReference `json:"site,omitempty"`
	Observer *Reference         `json:"observer,omitempty"`
	Type     []Concept          `json:"type,omitempty"`
}

// Detail is AuditEvent.entity.detail.
type Detail struct {
	Type              StringOrConcept `json:"type"`
	ValueString       string          `json:"valueString,omitempty"`
	ValueBase64Binary string          `json:"valueBase64Binary,omitempty"`
}

// Entity is AuditEvent.entity (R4 and R5 elements).
type Entity struct {
	What          *Reference `json:"what,omitempty"`
	Type          *Concept   `json:"type,omitempty"` // R4
	Role          *Concept   `json:"role,omitempty"`
	Lifecycle     *Concept   `json:"lifecycle,omitempty"` // R4
	SecurityLabel []Concept  `json:"securityLabel,omitempty"`
	Name          string     `json:"name,omitempty"` // R4
	Description   string     `json:"description,omitempty"`
	Query         string     `json:"query,omitempty"`
	Detail        []Detail   `json:"detail,omitempty"`
}

// AuditEvent is an AuditEvent resource of FHIR R4 or R5: the union of
// both versions' elements. Version tells which one the resource follows.
type AuditEvent struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id,omitempty"`
	Meta         *Meta  `json:"meta,omitempty"`

	// R4
	Type           *Concept  `json:"type,omitempty"`
	Subtype        []Concept `json:"subtype,omitempty"`
	Period         *Period   `json:"period,omitempty"`
	OutcomeDesc    string    `json:"outcomeDesc,omitempty"`
	PurposeOfEvent []Concept `json:"purposeOfEvent,omitempty"`

	// R5
	Category         []Concept  `json:"category,omitempty"`
	Code             *Concept   `json:"code,omitempty"`
	Severity         string     `json:"severity,omitempty"`
	OccurredDateTime string     `json:"occurredDateTime,omitempty"`
	OccurredPeriod   *Period    `json:"occurredPeriod,omitempty"`
	Authorization    []Concept  `json:"authorization,omitempty"`
	Patient          *Reference `json:"patient,omitempty"`
	Encounter        *Reference `json:"encounter,omitempty"`

	// Both
	Action   string   `json:"action,omitempty"`
	Recorded string   `json:"recorded,omitempty"`
	Outcome  *Outcome `json:"outcome,omitempty"`
	Agent    []Agent  `json:"agent,omitempty"`
	Source   *Source  `json:"source,omitempty"`
	Entity   []Entity `json:"entity,omitempty"`

	// Version is "R4" or "R5", decided from the elements present.
	Version string `json:"-"`
}
