package fhir

import (
	"strings"
	"testing"
	"time"
)

func TestEventsFromFile(t *testing.T) {
	nd := r4min + "\n\n" + r5min + "\n" + `{"resourceType":"AuditEvent"}` + "\n"
	evs, errs := Events([]byte(nd), Limits{}, Options{KeepOriginal: true}, time.Unix(0, 0))
	if len(evs) != 3 || len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "line 4: ") {
		t.Fatalf("got %d events, errors %v", len(evs), errs)
	}
	if evs[2].Value("event.original") != `{"resourceType":"AuditEvent"}` || evs[1].Value("healthcare.fhir.version") != "R5" {
		t.Errorf("got %v", evs[2].Fields)
	}
	evs, errs = Events([]byte(r4min), Limits{}, Options{}, time.Unix(0, 0))
	if len(evs) != 1 || len(errs) != 0 {
		t.Fatalf("single resource: got %d events, errors %v", len(evs), errs)
	}
}
