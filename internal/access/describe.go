package access

// RoleDescriptions say in a sentence what each role is for (the roles page
// of the console and GET /api/v1/roles show them).
var RoleDescriptions = map[string]string{
	RoleAdmin:          "Everything, including users, API tokens and the configuration.",
	RoleAnalyst:        "Security analyst: search, alerts, cases and response actions; PHI masked, with the audited reveal of one event or patient.",
	RolePrivacyOfficer: "EHR access analytics, patient and user access reports, cases and the audit trail, with PHI unmasked.",
	RoleAuditor:        "Read-only: reports, the audit trail, alerts and cases, rules, sources and the configuration; PHI masked.",
	RoleIngest:         "Senders (Beats, HEC, OTLP, FHIR, syslog relays): send events only.",
	RoleMetrics:        "Prometheus scrapes: /metrics only.",
}

// PermissionDescriptions say in a few words what each permission allows.
var PermissionDescriptions = map[Permission]string{
	Ingest:          "Send events (HTTP ingest, _bulk, HEC, OTLP, FHIR AuditEvent)",
	EventsSearch:    "Search stored events, count hits, list fields",
	EventsExport:    "Export search results as CSV or NDJSON",
	AlertsRead:      "Read alerts, their history and exceptions",
	AlertsWrite:     "Triage alerts: status, assignee, notes, exceptions",
	CasesRead:       "Read cases and their evidence",
	CasesWrite:      "Open and work cases",
	DirectoryRead:   "Read the patient and workforce directories",
	DirectoryWrite:  "Import the workforce roster",
	PrivacyRead:     "Read EHR access analytics and access reports",
	PrivacyWrite:    "Change privacy analytics: rules, reviews",
	PHI:             "See protected health information unmasked everywhere",
	PHIReveal:       "Unmask one event or patient with a stated reason (audited)",
	ReportsRead:     "Read generated reports",
	ReportsWrite:    "Generate and sign off reports",
	AuditRead:       "Read and export the audit trail, verify its chain",
	RulesRead:       "List rules and read their YAML",
	RulesWrite:      "Turn rules off and on, reload them",
	SourcesRead:     "Read sources and their health",
	NotifyAdmin:     "Manage notification channels",
	ResponseRun:     "Run response actions",
	ResponseApprove: "Approve disruptive response actions",
	UsersAdmin:      "Manage users, roles and API tokens",
	ConfigRead:      "Read the configuration in effect (secrets redacted)",
	ConfigWrite:     "Change the configuration, run backups",
	MetricsRead:     "Scrape /metrics",
	SystemRead:      "Read system status",
}
