package fhir

import (
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-siem/vigil/internal/event"
)

// Options control MapEvent.
type Options struct {
	// KeepOriginal stores the resource JSON in event.original (it may
	// hold PHI).
	KeepOriginal bool
	// MaxQueryBytes bounds a decoded entity.query kept in
	// healthcare.audit.query (default 4096).
	MaxQueryBytes int
}

// Code systems named by the mapping.
const (
	sysDCM        = "http://dicom.nema.org/resources/ontology/DCM"
	sysRestful    = "http://hl7.org/fhir/restful-interaction"
	sysObjectRole = "http://terminology.hl7.org/CodeSystem/object-role"
)

var eventCategory = map[string]string{
	"rest": "api", "110100": "process", "110101": "database", "110102": "file", "110103": "file",
	"110104": "file", "110105": "file", "110106": "file", "110107": "file", "110108": "network",
	"110109": "database", "110110": "database", "110111": "database", "110112": "database",
	"110113": "configuration", "110114": "authentication",
}

var actionType = map[string]string{"C": "creation", "R": "access", "U": "change", "D": "deletion", "E": "info"}

var lifeCycleNames = map[string]string{
	"1": "origination", "2": "import", "3": "amendment", "4": "verification", "5": "translation",
	"6": "access", "7": "de-identification", "8": "aggregation", "9": "report", "10": "export",
	"11": "disclosure", "12": "receipt-of-disclosure", "13": "archiving", "14": "logical-deletion",
	"15": "permanent-erasure",
}

var sourceTypeNames = map[string]string{
	"1": "User Device", "2": "Data Interface", "3": "Web Server", "4": "Application Server",
	"5": "Database Server", "6": "Security Server", "7": "Network Device", "8": "Network Router", "9": "Other",
}

// User agent types of BALP (UserAgentTypesVS) and the v3 codes it lists.
var userAgentTypes = map[string]bool{
	"IRCP": true, "AGNT": true, "PAT": true, "AUT": true, "INF": true, "CST": true, "PROV": false,
	"UserSamlAgent": true, "UserOauthAgent": true, "110151": false,
}

func kebab(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }), "-")
}

func jsonArray(v []string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func appendUnique(l []string, v string) []string {
	if v == "" {
		return l
	}
	for _, x := range l {
		if x == v {
			return l
		}
	}
	return append(l, v)
}

func isBreakGlassCode(c Coding) bool {
	return c.Code == "BTG" || c.Code == "ETREAT" || c.Code == "110127" && (c.System == sysDCM || c.System == "DCM" || c.System == "")
}

// agentKind classifies an agent for the mapping.
func isDevice(a *Agent) bool {
	return a.Type.Has("", "110153") || a.Type.Has("", "110152") || a.Type.Has("", "110150") ||
		a.Who != nil && strings.HasPrefix(a.Who.Reference, "Device/")
}

func isUser(a *Agent) bool {
	if a.Type != nil {
		for _, c := range a.Type.Codings {
			if userAgentTypes[c.Code] {
				return true
			}
		}
	}
	if a.Who != nil {
		for _, p := range []string{"Practitioner/", "PractitionerRole/", "Patient/", "RelatedPerson/"} {
			if strings.HasPrefix(a.Who.Reference, p) {
				return true
			}
		}
	}
	return false
}

// MapEvent appends the fields of ae to e and sets e.Time. raw is the
// resource JSON (for event.original when opt.KeepOriginal). Field names
// are documented in docs/healthcare.md.
func MapEvent(e *event.Event, ae *AuditEvent, raw []byte, opt Options) {
	if opt.MaxQueryBytes <= 0 {
		opt.MaxQueryBytes = 4096
	}
	set := func(name, v string) {
		if v != "" {
			e.Set(name, v)
		}
	}
	e.Set("event.kind", "event")
	e.Set("event.module", "fhir")
	e.Set("event.dataset", "fhir.auditevent")
	set("event.id", ae.ID)
	set("healthcare.fhir.version", ae.Version)
	if ae.Meta != nil && len(ae.Meta.Profile) > 0 {
		e.Set("healthcare.fhir.profiles", jsonArray(ae.Meta.Profile))
	}

	// Event type and subtype: R4 type/subtype, R5 category/code.
	var typ, sub Coding
	if ae.Version == "R5" {
		if len(ae.Category) > 0 {
			typ = ae.Category[0].First()
		}
		sub = ae.Code.First()
		if typ == (Coding{}) {
			typ, sub = sub, Coding{}
		}
	} else {
		typ = ae.Type.First()
		if len(ae.Subtype) > 0 {
			sub = ae.Subtype[0].First()
		}
	}
	set("healthcare.audit.event.code", typ.Code)
	set("healthcare.audit.event.system", typ.System)
	set("healthcare.audit.event.display", typ.Display)
	set("healthcare.audit.subtype.code", sub.Code)
	set("healthcare.audit.subtype.system", sub.System)
	set("healthcare.audit.subtype.display", sub.Display)
	set("event.code", firstNonEmpty(sub.Code, typ.Code))
	set("event.category", eventCategory[typ.Code])
	action := ""
	switch {
	case sub.System == sysRestful || sub.Code != "" && !isNumeric(sub.Code):
		action = sub.Code
	case sub.Display != "":
		action = kebab(sub.Display)
	case typ.Code == "rest" || typ.Code != "" && !isNumeric(typ.Code):
		action = typ.Code
	case typ.Display != "":
		action = kebab(typ.Display)
	default:
		action = firstNonEmpty(sub.Code, typ.Code)
	}
	set("event.action", action)
	et := actionType[ae.Action]
	switch sub.Code {
	case "110122", "110120", "110127":
		et = "start"
	case "110123", "110121", "110138":
		et = "end"
	}
	set("event.type", et)
	set("healthcare.audit.action", ae.Action)

	// Outcome.
	outcome := "0"
	desc := ae.OutcomeDesc
	if ae.Outcome != nil {
		outcome = ae.Outcome.Code
		for _, d := range ae.Outcome.Detail {
			if desc == "" {
				f := d.First()
				desc = firstNonEmpty(d.Text, f.Display, f.Code)
			}
		}
	} else {
		outcome = ""
	}
	switch outcome {
	case "0":
		e.Set("event.outcome", "success")
	case "4", "8", "12":
		e.Set("event.outcome", "failure")
	default:
		e.Set("event.outcome", "unknown")
	}
	set("healthcare.audit.outcome.code", outcome)
	set("healthcare.audit.outcome.description", desc)
	if ae.Severity != "" {
		set("log.level", ae.Severity)
		set("healthcare.audit.severity", ae.Severity)
	}

	// Time: when it happened (occurred[x]/period), else when recorded.
	recorded, _ := time.Parse(time.RFC3339Nano, ae.Recorded)
	if !recorded.IsZero() {
		e.Set("event.created", recorded.UTC().Format(time.RFC3339Nano))
	}
	when := recorded
	var period *Period
	if ae.Period != nil {
		period = ae.Period
	} else if ae.OccurredPeriod != nil {
		period = ae.OccurredPeriod
	}
	if t, err := parseDateTime(ae.OccurredDateTime); err == nil && ae.OccurredDateTime != "" {
		when = t
	}
	if period != nil {
		if t, err := parseDateTime(period.Start); err == nil && period.Start != "" {
			when = t
			e.Set("event.start", t.UTC().Format(time.RFC3339Nano))
		}
		if t, err := parseDateTime(period.End); err == nil && period.End != "" {
			e.Set("event.end", t.UTC().Format(time.RFC3339Nano))
		}
	}
	e.Time = when.UTC()

	// Purpose of use and break-glass.
	breakGlass := ""
	var purposes []string
	addPurpose := func(cs []Concept) {
		for i := range cs {
			for _, c := range cs[i].Codings {
				purposes = appendUnique(purposes, c.Code)
				if isBreakGlassCode(c) && breakGlass == "" {
					breakGlass = "purpose_of_use"
				}
			}
		}
	}
	addPurpose(ae.PurposeOfEvent)
	addPurpose(ae.Authorization)
	for i := range ae.Agent {
		addPurpose(ae.Agent[i].PurposeOfUse)
		addPurpose(ae.Agent[i].Authorization)
	}
	if len(purposes) > 0 {
		e.Set("healthcare.audit.purpose_of_use", jsonArray(purposes))
	}
	if breakGlass == "" && ae.Meta != nil {
		for i := range ae.Meta.Security {
			for _, c := range ae.Meta.Security[i].Codings {
				if isBreakGlassCode(c) {
					breakGlass = "security_label"
				}
			}
		}
	}
	if breakGlass == "" {
		for i := range ae.Entity {
			for j := range ae.Entity[i].SecurityLabel {
				for _, c := range ae.Entity[i].SecurityLabel[j].Codings {
					if isBreakGlassCode(c) {
						breakGlass = "security_label"
					}
				}
			}
		}
	}
	if breakGlass == "" {
		for i := range ae.Agent {
			for _, p := range ae.Agent[i].Policy {
				lp := strings.ToLower(p)
				if strings.Contains(lp, "break-glass") || strings.Contains(lp, "breakglass") || strings.Contains(lp, "break_glass") || strings.Contains(lp, "btg") {
					breakGlass = "policy"
				}
			}
		}
	}
	if breakGlass == "" && (isBreakGlassCode(typ) || isBreakGlassCode(sub)) {
		breakGlass = "event_type"
	}
	if breakGlass != "" {
		e.Set("healthcare.break_glass", "true")
		e.Set("healthcare.break_glass_reason", breakGlass)
	}

	// Agents.
	var user, src, dst *Agent
	for i := range ae.Agent {
		a := &ae.Agent[i]
		switch {
		case a.Type.Has("", "110153") && src == nil:
			src = a
		case a.Type.Has("", "110152") && dst == nil:
			dst = a
		}
		req := a.Requestor != nil && *a.Requestor
		switch {
		case user == nil && (isUser(a) || req && !isDevice(a)):
			user = a
		case user != nil && !isUser(user) && isUser(a):
			user = a
		}
	}
	if user == nil {
		for i := range ae.Agent {
			if a := &ae.Agent[i]; a.Requestor != nil && *a.Requestor {
				user = a
				break
			}
		}
	}
	var roles, types []string
	for i := range ae.Agent {
		for _, r := range ae.Agent[i].Role {
			f := r.First()
			roles = appendUnique(roles, firstNonEmpty(f.Code, f.Display))
		}
		if ae.Agent[i].Type != nil {
			types = appendUnique(types, ae.Agent[i].Type.First().Code)
		}
	}
	if len(roles) > 0 {
		e.Set("healthcare.audit.agent.roles", jsonArray(roles))
	}
	if len(types) > 0 {
		e.Set("healthcare.audit.agent.types", jsonArray(types))
	}
	userName := ""
	if user != nil {
		var name, id, full string
		if user.Who != nil {
			if user.Who.Identifier != nil {
				name = user.Who.Identifier.Value
				set("healthcare.audit.user.id_system", user.Who.Identifier.System)
			}
			id = user.Who.Reference
			full = user.Who.Display
		}
		name = firstNonEmpty(name, user.AltID, full)
		full = firstNonEmpty(user.Name, full)
		userName = name
		set("user.name", name)
		set("user.id", id)
		set("user.full_name", full)
		var ur []string
		for _, r := range user.Role {
			f := r.First()
			ur = appendUnique(ur, firstNonEmpty(f.Display, f.Code))
		}
		if len(ur) > 0 {
			e.Set("user.roles", jsonArray(ur))
		}
		if len(user.Policy) > 0 {
			e.Set("healthcare.audit.user.policies", jsonArray(user.Policy))
		}
		if src == nil && agentAddress(user) != "" {
			src = user
		}
	}
	address := func(prefix string, a *Agent) {
		if a == nil {
			return
		}
		addr := agentAddress(a)
		if addr == "" {
			if a.Who != nil {
				set(prefix+".domain", a.Who.Display)
			}
			return
		}
		set(prefix+".address", addr)
		typ := ""
		if a.Network != nil {
			typ = a.Network.Type
		}
		if ip, err := netip.ParseAddr(addr); err == nil && (typ == "" || typ == "2") {
			e.Set(prefix+".ip", ip.String())
		} else if typ == "1" || typ == "" && !strings.Contains(addr, "/") && !strings.Contains(addr, ":") && !strings.Contains(addr, "@") {
			e.Set(prefix+".domain", addr)
		}
	}
	address("source", src)
	if dst != user {
		address("destination", dst)
	}

	// Source (the observer that recorded the event).
	if s := ae.Source; s != nil {
		if o := s.Observer; o != nil {
			name := o.Display
			if name == "" && o.Identifier != nil {
				name = o.Identifier.Value
			}
			set("observer.name", firstNonEmpty(name, o.Reference))
			set("healthcare.audit.source.observer", o.Reference)
		}
		if s.Site != nil {
			site := s.Site.String
			if s.Site.Ref != nil {
				site = firstNonEmpty(s.Site.Ref.Display, s.Site.Ref.Reference)
				if site == "" && s.Site.Ref.Identifier != nil {
					site = s.Site.Ref.Identifier.Value
				}
			}
			set("healthcare.audit.source.site", site)
			set("observer.hostname", site)
		}
		if len(s.Type) > 0 {
			f := s.Type[0].First()
			set("observer.type", firstNonEmpty(f.Display, sourceTypeNames[f.Code], f.Code))
		}
	}

	// Entities.
	var patients, refs, lifecycles []string
	var resType, resID, query string
	if ae.Patient != nil {
		patients = appendUnique(patients, patientID(ae.Patient))
	}
	for i := range ae.Entity {
		en := &ae.Entity[i]
		role := en.Role.First()
		var rt, rid string
		if en.What != nil {
			rt, rid = refID(en.What.Reference)
			if en.What.Type != "" {
				rt = en.What.Type
			}
		}
		switch {
		case rt == "Patient" || role.Code == "1" && (role.System == sysObjectRole || role.System == ""):
			patients = appendUnique(patients, patientID(en.What))
		case role.Code == "24" || en.Query != "":
			q := safeDecode(en.Query, opt.MaxQueryBytes)
			if q == "" {
				q = en.Description
			}
			if query == "" {
				query = q
			}
		case en.Type.Has("", "XrequestId"):
			if en.What != nil && en.What.Identifier != nil {
				set("http.request.id", en.What.Identifier.Value)
			}
		default:
			if en.What != nil {
				refs = appendUnique(refs, firstNonEmpty(en.What.Reference, en.What.Display))
				if resType == "" && rt != "" {
					resType, resID = rt, rid
				}
			}
		}
		if en.Lifecycle != nil {
			f := en.Lifecycle.First()
			lifecycles = appendUnique(lifecycles, firstNonEmpty(lifeCycleNames[f.Code], f.Display, f.Code))
		}
	}
	if len(patients) > 0 {
		e.Set("healthcare.patient.id", patients[0])
		e.Set("healthcare.patient.ids", jsonArray(patients))
	}
	set("healthcare.resource.type", resType)
	set("healthcare.resource.id", resID)
	if len(refs) > 0 {
		e.Set("healthcare.resource.references", jsonArray(refs))
	}
	if len(lifecycles) > 0 {
		e.Set("healthcare.audit.data_lifecycle", jsonArray(lifecycles))
	}
	if ae.Encounter != nil {
		_, id := refID(ae.Encounter.Reference)
		set("healthcare.encounter.id", id)
	}
	if query != "" {
		e.Set("healthcare.audit.query", query)
		mapQuery(e, query)
	}

	var b strings.Builder
	b.WriteString("FHIR AuditEvent ")
	b.WriteString(firstNonEmpty(typ.Code, typ.Display))
	if s := firstNonEmpty(sub.Code, sub.Display); s != "" {
		b.WriteString("/" + s)
	}
	if ae.Action != "" {
		b.WriteString(" action " + ae.Action)
	}
	b.WriteString(" outcome " + e.Value("event.outcome"))
	if userName != "" {
		b.WriteString(" by " + userName)
	}
	e.Set(event.FieldMessage, b.String())
	if opt.KeepOriginal && raw != nil {
		e.Set(event.FieldOriginal, string(raw))
	}
}

// mapQuery reads "METHOD url [HTTP/x]" from the first line of a decoded
// REST query (the BALP pattern) into http.request.method and url.*.
func mapQuery(e *event.Event, q string) {
	line, _, _ := strings.Cut(q, "\n")
	method, rest, ok := strings.Cut(strings.TrimSpace(line), " ")
	switch method {
	case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD":
	default:
		return
	}
	if !ok || rest == "" {
		return
	}
	u, _, _ := strings.Cut(rest, " ")
	e.Set("http.request.method", method)
	e.Set("url.original", u)
	path, qs, _ := strings.Cut(u, "?")
	if i := strings.Index(path, "://"); i >= 0 {
		path = path[i+3:]
		if j := strings.IndexByte(path, '/'); j >= 0 {
			e.Set("url.domain", path[:j])
			path = path[j:]
		}
	}
	e.Set("url.path", path)
	if qs != "" {
		e.Set("url.query", qs)
	}
}

func agentAddress(a *Agent) string {
	switch {
	case a.Network != nil && a.Network.Address != "":
		return a.Network.Address
	case a.NetworkString != "":
		return a.NetworkString
	case a.NetworkURI != "":
		return a.NetworkURI
	case a.NetworkReference != nil:
		return firstNonEmpty(a.NetworkReference.Display, a.NetworkReference.Reference)
	}
	return ""
}

func patientID(r *Reference) string {
	if r == nil {
		return ""
	}
	if r.Reference != "" {
		_, id := refID(r.Reference)
		return id
	}
	if r.Identifier != nil {
		return r.Identifier.Value
	}
	return ""
}

func isNumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// safeDecode decodes a base64 query when the result is printable UTF-8
// text of at most max bytes.
func safeDecode(s string, max int) string {
	s = strings.TrimSpace(s)
	if s == "" || base64.StdEncoding.DecodedLen(len(s)) > max {
		return ""
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || !utf8.Valid(b) {
		return ""
	}
	for _, r := range string(b) {
		if r != '\n' && r != '\r' && r != '\t' && !unicode.IsPrint(r) {
			return ""
		}
	}
	return strings.TrimRight(string(b), "\r\n")
}
