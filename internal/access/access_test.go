package access

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
)

func TestRoles(t *testing.T) {
	if !slices.Equal(PermissionsOf([]string{RoleAdmin}), All) {
		t.Fatal("admin lacks a permission")
	}
	for role, perms := range Roles {
		for _, p := range perms {
			if !p.Valid() {
				t.Errorf("%s grants unknown %s", role, p)
			}
		}
	}
	// The matrix the issue asks for.
	has := func(role string, p Permission) bool { return slices.Contains(PermissionsOf([]string{role}), p) }
	for _, c := range []struct {
		role string
		perm Permission
		want bool
	}{
		{RoleIngest, Ingest, true}, {RoleIngest, EventsSearch, false}, {RoleIngest, MetricsRead, false},
		{RoleAnalyst, EventsSearch, true}, {RoleAnalyst, AlertsWrite, true}, {RoleAnalyst, CasesWrite, true},
		{RoleAnalyst, PHI, false}, {RoleAnalyst, PHIReveal, true}, {RoleAnalyst, UsersAdmin, false}, {RoleAnalyst, AuditRead, false},
		{RolePrivacyOfficer, PHI, true}, {RolePrivacyOfficer, PrivacyRead, true}, {RolePrivacyOfficer, CasesWrite, true},
		{RolePrivacyOfficer, ReportsRead, true}, {RolePrivacyOfficer, UsersAdmin, false},
		{RoleAuditor, AuditRead, true}, {RoleAuditor, ReportsRead, true}, {RoleAuditor, AlertsRead, true},
		{RoleAuditor, AlertsWrite, false}, {RoleAuditor, PHI, false}, {RoleAuditor, PHIReveal, false}, {RoleAuditor, EventsSearch, false},
		{RoleMetrics, MetricsRead, true}, {RoleMetrics, Ingest, false},
		{RoleAdmin, UsersAdmin, true}, {RoleAdmin, ConfigWrite, true}, {RoleAdmin, PHI, true},
	} {
		if got := has(c.role, c.perm); got != c.want {
			t.Errorf("%s has %s = %v, want %v", c.role, c.perm, got, c.want)
		}
	}
	// Several roles: the union.
	p := NewPrincipal(KindUser, 1, "u", []string{RoleAuditor, RoleIngest})
	if !p.Can(AuditRead) || !p.Can(Ingest) || p.Can(EventsSearch) {
		t.Fatal("union of roles")
	}
	p.Restriction = MustChangePassword
	if p.Can(AuditRead) {
		t.Fatal("a restricted principal can act")
	}
	var nobody *Principal
	if nobody.Can(Ingest) || nobody.String() != "anonymous" {
		t.Fatal("nil principal")
	}
	if _, err := ParseRoles("analyst, auditor,analyst"); err != nil {
		t.Fatal(err)
	}
	if r, _ := ParseRoles("auditor,analyst"); !slices.Equal(r, []string{"analyst", "auditor"}) {
		t.Fatalf("sorted %v", r)
	}
	for _, bad := range []string{"", "root", "analyst,root", " , "} {
		if _, err := ParseRoles(bad); err == nil {
			t.Errorf("ParseRoles(%q) accepted", bad)
		}
	}
}

func TestContext(t *testing.T) {
	ctx := context.Background()
	if PrincipalFrom(ctx) != nil || ClientAddrFrom(ctx) != "" {
		t.Fatal("empty context")
	}
	p := NewPrincipal(KindToken, 3, "filebeat", []string{RoleIngest})
	ctx = WithClientAddr(WithPrincipal(ctx, p), "192.0.2.1")
	if PrincipalFrom(ctx) != p || ClientAddrFrom(ctx) != "192.0.2.1" || p.String() != "token:filebeat" {
		t.Fatal("context values")
	}
}

func TestMasker(t *testing.T) {
	m, err := NewMasker(nil)
	if err != nil {
		t.Fatal(err)
	}
	analyst := NewPrincipal(KindUser, 1, "a", []string{RoleAnalyst})
	officer := NewPrincipal(KindUser, 2, "o", []string{RolePrivacyOfficer})
	for name, want := range map[string]bool{
		"healthcare.patient.id": true, "healthcare.patient.name": true, "healthcare.patient.name.family": true,
		"healthcare.patient.names": true, "event.original": true, "healthcare.patient.vip": false, "user.name": false,
		"patient.addresses": true, "patient.addresses.city": true, "patient.identifiers": false, "patient.identifiers.value": true,
		"patient.sex": false, "message": false,
	} {
		if got := m.IsPHI(name); got != want {
			t.Errorf("IsPHI(%q) = %v, want %v", name, got, want)
		}
	}
	row := []event.Field{{Name: "user.name", Value: "dr.x"}, {Name: "healthcare.patient.id", Value: "MRN1"}, {Name: "event.original", Value: ""}}
	if !m.Fields(analyst, row) || row[1].Value != Masked || row[0].Value != "dr.x" || row[2].Value != "" {
		t.Fatalf("fields %v", row)
	}
	row = []event.Field{{Name: "healthcare.patient.id", Value: "MRN1"}}
	if m.Fields(officer, row) || row[0].Value != "MRN1" {
		t.Fatal("the privacy officer sees PHI")
	}
	mp := map[string]string{"healthcare.patient.id": "MRN1", "host.name": "h"}
	m.Map(analyst, mp)
	if mp["healthcare.patient.id"] != Masked || mp["host.name"] != "h" {
		t.Fatalf("map %v", mp)
	}
	var doc any
	json.Unmarshal([]byte(`{"id":4,"name":"DOE, JOHN","sex":"M","birth_date":"1961-06-15","identifiers":[{"value":"MRN1","type_code":"MR"}],
		"addresses":[{"street":"1 MAIN ST","city":"X"}],"phones":[],"encounters":[{"visit_number":"V9","location":"4WEST"}]}`), &doc)
	out, masked := m.JSON(analyst, "patient", doc)
	b, _ := json.Marshal(out)
	s := string(b)
	for _, phi := range []string{"DOE", "1961", "MRN1", "MAIN ST"} {
		if strings.Contains(s, phi) {
			t.Errorf("masked patient shows %q: %s", phi, s)
		}
	}
	if !masked || !strings.Contains(s, `"sex":"M"`) || !strings.Contains(s, `"type_code":"MR"`) || !strings.Contains(s, `"phones":[]`) || !strings.Contains(s, "4WEST") {
		t.Fatalf("masked patient %s", s)
	}
	if _, err := NewMasker([]string{"a*b"}); err == nil {
		t.Fatal("bad pattern accepted")
	}
	custom, _ := NewMasker([]string{"labs.result*"})
	if !custom.IsPHI("labs.result.value") || custom.IsPHI("healthcare.patient.id") {
		t.Fatal("custom list")
	}
}
