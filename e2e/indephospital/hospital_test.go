package indephospital

import (
	"bytes"
	"strings"
	"testing"
)

// TestGenerate checks the generator's contract: the same seed gives the
// same files, every incident type is injected with its access ids, and
// the files have the shapes the importers read.
func TestGenerate(t *testing.T) {
	a, b := Generate(Scaled(5, 8)), Generate(Scaled(5, 8))
	if !bytes.Equal(a.AccessLog, b.AccessLog) || !bytes.Equal(a.ADT, b.ADT) || !bytes.Equal(a.Roster, b.Roster) {
		t.Fatal("the same seed gave different files")
	}
	n := map[string]int{}
	for _, in := range a.Incidents {
		if len(in.AccessIDs) == 0 {
			t.Errorf("incident %d (%s) has no access", in.ID, in.Type)
		}
		n[in.Type]++
	}
	for _, typ := range IncidentTypes {
		if n[typ] == 0 {
			t.Errorf("no %s incident", typ)
		}
	}
	rows := strings.Count(string(a.AccessLog), "\n") - 1
	ids := len(a.Legit)
	for _, in := range a.Incidents {
		ids += len(in.AccessIDs)
	}
	if rows != ids {
		t.Errorf("%d access rows, %d in the truth", rows, ids)
	}
	if !strings.HasPrefix(string(a.ADT), "MSH|^~\\&|") || !strings.Contains(string(a.ADT), "ADT^A03") {
		t.Errorf("ADT feed: %.200q", a.ADT)
	}
	t.Logf("%d staff, %d stays, %d messages, %d accesses, incidents %v", a.Staff, a.Stays, a.Messages, rows, n)
}
