package fhir

import (
	"encoding/json"
	"time"
)

// CapabilityOptions describe the server for CapabilityStatement.
type CapabilityOptions struct {
	SoftwareName    string    // default "Vigil"
	SoftwareVersion string    // e.g. the build version
	BaseURL         string    // e.g. https://vigil.example.org/fhir
	Date            time.Time // publication date; default now
	FHIRVersion     string    // default "4.0.1"
}

// BALPProfiles are the IHE BALP AuditEvent profiles the mapping follows;
// the CapabilityStatement lists them as supported profiles.
var BALPProfiles = []string{
	"https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.Create",
	"https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientCreate",
	"https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.Read",
	"https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead",
	"https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.Update",
	"https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientUpdate",
	"https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.Delete",
	"https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientDelete",
	"https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.Query",
	"https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientQuery",
	"https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.SAMLaccessTokenUse.Minimal",
	"https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.SAMLaccessTokenUse.Comprehensive",
	"https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.OAUTHaccessTokenUse.Minimal",
	"https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.OAUTHaccessTokenUse.Comprehensive",
	"https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PrivacyDisclosure.Recipient",
	"https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PrivacyDisclosure.Source",
}

// CapabilityStatement returns the JSON served at GET /fhir/metadata: an
// audit record repository that accepts AuditEvent create and batch /
// transaction Bundles in JSON, authenticated with bearer tokens.
func CapabilityStatement(o CapabilityOptions) []byte {
	if o.SoftwareName == "" {
		o.SoftwareName = "Vigil"
	}
	if o.Date.IsZero() {
		o.Date = time.Now()
	}
	if o.FHIRVersion == "" {
		o.FHIRVersion = "4.0.1"
	}
	type interaction struct {
		Code          string `json:"code"`
		Documentation string `json:"documentation,omitempty"`
	}
	software := map[string]string{"name": o.SoftwareName}
	if o.SoftwareVersion != "" {
		software["version"] = o.SoftwareVersion
	}
	impl := map[string]string{"description": o.SoftwareName + " audit record repository (FHIR AuditEvent intake)"}
	if o.BaseURL != "" {
		impl["url"] = o.BaseURL
	}
	cs := map[string]any{
		"resourceType":   "CapabilityStatement",
		"status":         "active",
		"date":           o.Date.UTC().Format(time.RFC3339),
		"publisher":      o.SoftwareName,
		"kind":           "instance",
		"software":       software,
		"implementation": impl,
		"fhirVersion":    o.FHIRVersion,
		"format":         []string{"application/fhir+json", "json"},
		"rest": []any{map[string]any{
			"mode":          "server",
			"documentation": "Accepts FHIR R4 and R5 AuditEvent resources (IHE BALP content) and batch/transaction Bundles of AuditEvents.",
			"security": map[string]any{
				"description": "Bearer token in the Authorization header (the same tokens as Vigil's HTTP ingest).",
			},
			"resource": []any{map[string]any{
				"type":             "AuditEvent",
				"profile":          "http://hl7.org/fhir/StructureDefinition/AuditEvent",
				"supportedProfile": BALPProfiles,
				"interaction":      []interaction{{Code: "create", Documentation: "POST /fhir/AuditEvent"}},
			}},
			"interaction": []interaction{
				{Code: "batch", Documentation: "POST /fhir with a batch Bundle of AuditEvents"},
				{Code: "transaction", Documentation: "POST /fhir with a transaction Bundle of AuditEvents (all or nothing)"},
			},
		}},
	}
	b, _ := json.Marshal(cs)
	return b
}

// EntryResponse is the outcome of one Bundle entry.
type EntryResponse struct {
	Status   string  // e.g. "201 Created", "400 Bad Request"
	Location string  // e.g. "AuditEvent/123"; empty when not created
	Outcome  []Issue // for failed entries
}

// BundleResponse returns a batch-response or transaction-response
// Bundle (bundleType "batch" or "transaction") with one entry per result,
// in order.
func BundleResponse(bundleType string, results []EntryResponse) []byte {
	type resp struct {
		Status   string          `json:"status"`
		Location string          `json:"location,omitempty"`
		Outcome  json.RawMessage `json:"outcome,omitempty"`
	}
	type entry struct {
		Response resp `json:"response"`
	}
	out := struct {
		ResourceType string  `json:"resourceType"`
		Type         string  `json:"type"`
		Entry        []entry `json:"entry"`
	}{ResourceType: "Bundle", Type: bundleType + "-response", Entry: make([]entry, len(results))}
	for i, r := range results {
		out.Entry[i].Response = resp{Status: r.Status, Location: r.Location}
		if len(r.Outcome) > 0 {
			out.Entry[i].Response.Outcome = OperationOutcome(r.Outcome...)
		}
	}
	b, _ := json.Marshal(out)
	return b
}
