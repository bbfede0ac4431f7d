package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
)

const xmlR4 = `<?xml version="1.0" encoding="UTF-8"?>
<AuditEvent xmlns="http://hl7.org/fhir">
  <id value="ex-auditBasicReadOServer"/>
  <meta>
    <profile value="https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead"/>
    <security><system value="http://terminology.hl7.org/CodeSystem/v3-ActReason"/><code value="HTEST"/></security>
  </meta>
  <text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>narrative</p></div></text>
  <type><system value="http://terminology.hl7.org/CodeSystem/audit-event-type"/><code value="rest"/><display value="Restful Operation"/></type>
  <subtype><system value="http://hl7.org/fhir/restful-interaction"/><code value="read"/><display value="read"/></subtype>
  <action value="R"/>
  <recorded value="2020-04-29T09:49:00.000Z"/>
  <outcome value="0"/>
  <agent>
    <type><coding><system value="http://terminology.hl7.org/CodeSystem/v3-ParticipationType"/><code value="IRCP"/><display value="information recipient"/></coding></type>
    <role><coding><system value="http://terminology.hl7.org/CodeSystem/v3-RoleCode"/><code value="PHYS"/><display value="physician"/></coding></role>
    <who><identifier><system value="https://idp.genhosp.org"/><value value="dr.house"/></identifier><display value="Gregory House"/></who>
    <requestor value="true"/>
    <purposeOfUse><coding><system value="http://terminology.hl7.org/CodeSystem/v3-ActReason"/><code value="TREAT"/><display value="treatment"/></coding></purposeOfUse>
  </agent>
  <agent>
    <type><coding><system value="http://dicom.nema.org/resources/ontology/DCM"/><code value="110153"/><display value="Source Role ID"/></coding></type>
    <who><display value="myMachine.example.org"/></who>
    <requestor value="false"/>
    <network><address value="2001:0db8:85a3:0000:0000:8a2e:0370:7334"/><type value="2"/></network>
  </agent>
  <agent>
    <type><coding><system value="http://dicom.nema.org/resources/ontology/DCM"/><code value="110152"/><display value="Destination Role ID"/></coding></type>
    <who><reference value="Device/ex-device"/></who>
    <requestor value="false"/>
    <network><address value="http://server.example.com/fhir"/><type value="5"/></network>
  </agent>
  <source>
    <site value="server.example.com"/>
    <observer><reference value="Device/ex-device"/><display value="FHIR server"/></observer>
    <type><system value="http://terminology.hl7.org/CodeSystem/security-source-type"/><code value="4"/><display value="Application Server"/></type>
  </source>
  <entity>
    <what><identifier><value value="f5c9a7a0-1b2c-4d5e-8f90-123456789abc"/></identifier></what>
    <type><system value="https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"/><code value="XrequestId"/></type>
  </entity>
  <entity>
    <what><reference value="Observation/obs-123/_history/2"/></what>
    <type><system value="http://terminology.hl7.org/CodeSystem/audit-entity-type"/><code value="2"/><display value="System Object"/></type>
    <role><system value="http://terminology.hl7.org/CodeSystem/object-role"/><code value="4"/><display value="Domain Resource"/></role>
  </entity>
  <entity>
    <what><reference value="Patient/ex-patient"/></what>
    <type><system value="http://terminology.hl7.org/CodeSystem/audit-entity-type"/><code value="1"/><display value="Person"/></type>
    <role><system value="http://terminology.hl7.org/CodeSystem/object-role"/><code value="1"/><display value="Patient"/></role>
  </entity>
</AuditEvent>
`

// The XML form of r4_balp_patient_read.json maps to the same event.
func TestXMLSameAsJSON(t *testing.T) {
	js, _ := os.ReadFile("testdata/r4_balp_patient_read.json")
	fromJSON, err := ParseRequestAuto(js, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	fromXML, err := ParseRequestAuto([]byte(xmlR4), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if fromXML.Entries[0].Err != nil {
		t.Fatalf("xml entry: %v", fromXML.Entries[0].Err)
	}
	render := func(r *Request) string {
		var e event.Event
		MapEvent(&e, r.Entries[0].Event, nil, Options{})
		e.SortFields()
		return string(event.AppendJSON(nil, &e))
	}
	if a, b := render(fromXML), render(fromJSON); a != b {
		t.Errorf("xml gives\n%s\njson gives\n%s", a, b)
	}
}

func TestXMLBundleAndErrors(t *testing.T) {
	bundle := `<Bundle xmlns="http://hl7.org/fhir"><type value="batch"/><entry><resource>` +
		strings.TrimPrefix(xmlR4, `<?xml version="1.0" encoding="UTF-8"?>`+"\n") +
		`</resource><request><method value="POST"/><url value="AuditEvent"/></request></entry>` +
		`<entry><resource><AuditEvent><type><code value="rest"/></type><recorded value="2024-01-01T00:00:00Z"/><agent><who><display value="u"/></who></agent><source><observer><display value="o"/></observer></source></AuditEvent></resource></entry></Bundle>`
	req, err := ParseRequestAuto([]byte(bundle), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Entries) != 2 || req.Entries[0].Err != nil || req.Entries[1].Err == nil ||
		req.Entries[1].Err.Issues[0].Expression[0] != "Bundle.entry[1].resource.agent[0].requestor" {
		t.Fatalf("got %+v", req.Entries)
	}
	f := func(name, in, want string) {
		t.Helper()
		_, err := ParseRequestAuto([]byte(in), Limits{})
		var ve *ValidationError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), want) || !json.Valid(ve.Outcome()) {
			t.Errorf("%s: got %v, want error containing %q", name, err, want)
		}
	}
	f("broken xml", "<AuditEvent xmlns=\"http://hl7.org/fhir\">\n<id value=\"x\"></AuditEvent>", "invalid XML")
	f("other namespace", `<AuditEvent xmlns="urn:other"/>`, "not in the FHIR namespace")
	f("deep", "<AuditEvent>"+strings.Repeat("<a>", 80)+strings.Repeat("</a>", 80)+"</AuditEvent>", "deeper than")
	if !IsXML([]byte("\xef\xbb\xbf  <x/>")) || IsXML([]byte(`{"a":1}`)) {
		t.Error("IsXML is wrong")
	}
	out, err := XMLToJSON([]byte(`<AuditEvent xmlns="http://hl7.org/fhir"><extension url="http://x"><valueString value="v"/></extension><agent><requestor value="true"/></agent></AuditEvent>`), Limits{})
	if err != nil || !bytes.Equal(out, []byte(`{"resourceType":"AuditEvent","extension":[{"url":"http://x","valueString":"v"}],"agent":[{"requestor":true}]}`)) {
		t.Errorf("got %s, %v", out, err)
	}
}

func FuzzXMLToJSON(f *testing.F) {
	f.Add([]byte(xmlR4))
	f.Add([]byte(`<Bundle><entry><resource><AuditEvent/></resource></entry></Bundle>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := XMLToJSON(data, Limits{})
		if err == nil && !json.Valid(out) {
			t.Fatalf("invalid JSON %s from %q", out, data)
		}
		_, _ = ParseRequestAuto(data, Limits{MaxBundleEntries: 20})
	})
}
