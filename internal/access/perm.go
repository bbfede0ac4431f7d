// Package access is Vigil's vocabulary of identity and authorisation:
// permissions, the roles that grant them, the Principal making a request
// and the route table entry (Route) through which every HTTP endpoint
// declares the one permission it needs. It also masks protected health
// information (PHI) for principals that may not see it.
//
// The HTTP server mounts every Route through one middleware (internal/web)
// that authenticates the caller (API token or browser session), refuses
// anonymous callers with 401 and callers without the route's permission
// with 403, and puts the Principal and the client address in the request
// context, where handlers read them with PrincipalFrom and ClientAddrFrom.
// Feature packages expose `Routes() []access.Route`; they never check
// credentials themselves.
package access

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Permission names one thing a caller may do, as "resource:verb".
type Permission string

// The permissions. docs/access.md has the matrix of which role holds
// which; add a permission here (and to a role below) in a small commit of
// its own when a feature needs one that is missing.
const (
	// Ingest: send events (HTTP ingest, Elasticsearch _bulk, Splunk HEC,
	// OTLP, FHIR AuditEvent POST).
	Ingest Permission = "ingest"
	// EventsSearch: search stored events, count hits, list fields.
	EventsSearch Permission = "events:search"
	// EventsExport: export search results in bulk (CSV, NDJSON).
	EventsExport  Permission = "events:export"
	AlertsRead    Permission = "alerts:read"
	AlertsWrite   Permission = "alerts:write"
	CasesRead     Permission = "cases:read"
	CasesWrite    Permission = "cases:write"
	DirectoryRead Permission = "directory:read"
	// DirectoryWrite: import the workforce roster.
	DirectoryWrite Permission = "directory:write"
	PrivacyRead    Permission = "privacy:read"
	PrivacyWrite   Permission = "privacy:write"
	// PHI: see protected health information unmasked everywhere.
	PHI Permission = "phi"
	// PHIReveal: unmask one event or one patient at a time, stating a
	// reason that is audited (break-glass for analysts).
	PHIReveal       Permission = "phi:reveal"
	ReportsRead     Permission = "reports:read"
	ReportsWrite    Permission = "reports:write"
	AuditRead       Permission = "audit:read"
	RulesRead       Permission = "rules:read"
	RulesWrite      Permission = "rules:write"
	SourcesRead     Permission = "sources:read"
	NotifyAdmin     Permission = "notify:admin"
	ResponseRun     Permission = "response:run"
	ResponseApprove Permission = "response:approve"
	// UsersAdmin: manage users, roles and API tokens.
	UsersAdmin  Permission = "users:admin"
	ConfigRead  Permission = "config:read"
	ConfigWrite Permission = "config:write"
	// MetricsRead: scrape /metrics (the only permission of the metrics role).
	MetricsRead Permission = "metrics:read"
	// SystemRead: system status and profiles (/debug/pprof).
	SystemRead Permission = "system:read"
)

// Pseudo-permissions of routes that need no particular permission. They
// are never granted; the middleware handles them.
const (
	// Public routes answer anyone: health probes, the login endpoint.
	Public Permission = "public"
	// Authenticated routes answer any signed-in caller, also one whose
	// session is restricted to changing a one-time password or enrolling
	// a second factor: who am I, logout, change password, TOTP enrolment.
	Authenticated Permission = "authenticated"
)

// All lists every grantable permission, in a stable order.
var All = []Permission{
	Ingest, EventsSearch, EventsExport, AlertsRead, AlertsWrite, CasesRead, CasesWrite,
	DirectoryRead, DirectoryWrite, PrivacyRead, PrivacyWrite, PHI, PHIReveal, ReportsRead, ReportsWrite,
	AuditRead, RulesRead, RulesWrite, SourcesRead, NotifyAdmin, ResponseRun, ResponseApprove,
	UsersAdmin, ConfigRead, ConfigWrite, MetricsRead, SystemRead,
}

// Valid reports whether p is a grantable permission.
func (p Permission) Valid() bool { return slices.Contains(All, p) }

// The roles.
const (
	RoleAdmin          = "admin"
	RoleAnalyst        = "analyst"
	RolePrivacyOfficer = "privacy-officer"
	RoleAuditor        = "auditor"
	RoleIngest         = "ingest"
	RoleMetrics        = "metrics"
)

// Roles maps each role to the permissions it grants. A user or token may
// hold several roles; it has the union of their permissions.
var Roles = map[string][]Permission{
	// Everything, including user, token and configuration management.
	RoleAdmin: All,
	// Security analyst: search, alerts, cases, response; PHI masked, with
	// the audited reveal of one event or patient.
	RoleAnalyst: {EventsSearch, EventsExport, AlertsRead, AlertsWrite, CasesRead, CasesWrite,
		DirectoryRead, PHIReveal, ReportsRead, RulesRead, SourcesRead, ResponseRun, SystemRead},
	// Privacy officer: EHR access analytics, patient and user access
	// reports, PHI unmasked, cases, and the trail of who looked at what.
	RolePrivacyOfficer: {EventsSearch, EventsExport, AlertsRead, AlertsWrite, CasesRead, CasesWrite,
		DirectoryRead, DirectoryWrite, PrivacyRead, PrivacyWrite, PHI, PHIReveal, ReportsRead, ReportsWrite,
		AuditRead, SourcesRead},
	// Auditor: read-only; reports, the audit trail, alerts and cases,
	// rules, sources and configuration. PHI masked, no reveal.
	RoleAuditor: {AlertsRead, CasesRead, ReportsRead, AuditRead, RulesRead, SourcesRead, ConfigRead, SystemRead},
	// Senders: ingest only.
	RoleIngest: {Ingest},
	// Prometheus scrapes: /metrics only.
	RoleMetrics: {MetricsRead},
}

// RoleNames lists the roles, sorted.
func RoleNames() []string {
	names := make([]string, 0, len(Roles))
	for r := range Roles {
		names = append(names, r)
	}
	sort.Strings(names)
	return names
}

// ParseRoles reads a comma-separated list of roles, refusing unknown ones
// and empty lists. The result is sorted and without duplicates.
func ParseRoles(s string) ([]string, error) {
	return CheckRoles(strings.Split(s, ","))
}

// CheckRoles validates a list of roles; the result is sorted and without
// duplicates or empty names.
func CheckRoles(roles []string) ([]string, error) {
	var out []string
	for _, r := range roles {
		r = strings.ToLower(strings.TrimSpace(r))
		if r == "" {
			continue
		}
		if _, ok := Roles[r]; !ok {
			return nil, fmt.Errorf("unknown role %q: want one of %s", r, strings.Join(RoleNames(), ", "))
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no role given: want one or more of %s", strings.Join(RoleNames(), ", "))
	}
	sort.Strings(out)
	return out, nil
}

// PermissionsOf returns the union of the permissions of roles, in the
// order of All. Unknown roles grant nothing.
func PermissionsOf(roles []string) []Permission {
	set := map[Permission]bool{}
	for _, r := range roles {
		for _, p := range Roles[r] {
			set[p] = true
		}
	}
	var out []Permission
	for _, p := range All {
		if set[p] {
			out = append(out, p)
		}
	}
	return out
}
