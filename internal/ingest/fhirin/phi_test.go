package fhirin

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/event"
)

func TestNoPHIInLogs(t *testing.T) {
	e := setup(t, bus.Config{MaxBytes: 64 << 10, MaxBatchBytes: 16 << 10})
	e.h.KeepOriginal = true
	phi := []string{"PHI-PATIENT-77", "DOE, JOHN", "999-88-7777", "1961-06-15X", "TOPSECRETNOTE"}
	withPHI := strings.Replace(auditEvent("dr.house", "PHI-PATIENT-77"), `"role":`,
		`"display":"DOE, JOHN","detail":[{"type":"note","valueString":"TOPSECRETNOTE SSN 999-88-7777"}],"role":`, 1)
	badTime := strings.Replace(withPHI, "2024-03-12T08:49:00Z", "1961-06-15X", 1)
	badRef := strings.Replace(withPHI, `"Patient/PHI-PATIENT-77"`, `42`, 1)
	reqs := []struct {
		path, body string
	}{
		{"/fhir/AuditEvent", withPHI},
		{"/fhir/AuditEvent", badTime},
		{"/fhir/AuditEvent", badRef},
		{"/fhir/AuditEvent", `{"resourceType":"AuditEvent", "DOE, JOHN": TOPSECRETNOTE}`},
		{"/fhir", bundle("batch", withPHI, badTime)},
		{"/fhir", bundle("transaction", withPHI, badTime)},
		{"/fhir", bundle("transaction", withPHI, withPHI)},
	}
	for _, r := range reqs {
		e.do("POST", r.path, "application/fhir+json", []byte(r.body))
	}
	// Fill the bus so that failures are logged too.
	for range 100 {
		if r := e.do("POST", "/fhir/AuditEvent", "application/fhir+json", []byte(withPHI)); r.status == 503 {
			break
		}
	}
	msgs, _ := e.cons.Fetch(t.Context(), 1, time.Second)
	var stored strings.Builder
	for _, m := range msgs {
		evs, _ := event.DecodeBatch(nil, m.Data)
		for i := range evs {
			stored.Write(event.AppendJSON(nil, &evs[i]))
		}
	}
	if !strings.Contains(stored.String(), "PHI-PATIENT-77") {
		t.Fatal("the stored events do not hold the test's PHI: the test proves nothing")
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "AuditEvent.recorded") || !strings.Contains(logs, "bus refused") {
		t.Fatalf("log capture incomplete:\n%s", logs)
	}
	for _, s := range phi {
		if strings.Contains(logs, s) {
			t.Errorf("log holds PHI %q:\n%s", s, logs)
		}
	}
}
