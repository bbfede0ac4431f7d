package atna

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-siem/vigil/internal/event"
)

// Options control MapEvent.
type Options struct {
	// KeepOriginal stores the XML in event.original (it may hold PHI:
	// patient names and identifiers).
	KeepOriginal bool
	// MaxQueryBytes bounds a decoded ParticipantObjectQuery kept in
	// healthcare.audit.query (default 4096; longer ones are not kept).
	MaxQueryBytes int
}

// DICOM PS3.16 CID 400 audit event ids.
var eventIDNames = map[string]string{
	"110100": "Application Activity", "110101": "Audit Log Used", "110102": "Begin Transferring DICOM Instances",
	"110103": "DICOM Instances Accessed", "110104": "DICOM Instances Transferred", "110105": "DICOM Study Deleted",
	"110106": "Export", "110107": "Import", "110108": "Network Entry", "110109": "Order Record",
	"110110": "Patient Record", "110111": "Procedure Record", "110112": "Query", "110113": "Security Alert",
	"110114": "User Authentication",
}

// ECS event.category for each event id.
var eventCategory = map[string]string{
	"110100": "process", "110101": "database", "110102": "file", "110103": "file", "110104": "file",
	"110105": "file", "110106": "file", "110107": "file", "110108": "network", "110109": "database",
	"110110": "database", "110111": "database", "110112": "database", "110113": "configuration",
	"110114": "authentication",
}

// DICOM CID 401/402/403/404 event type codes with a meaning for ECS.
var eventTypeNames = map[string]string{
	"110120": "Application Start", "110121": "Application Stop", "110122": "Login", "110123": "Logout",
	"110124": "Attach", "110125": "Detach", "110126": "Node Authentication", "110127": "Emergency Override Started",
	"110128": "Network Configuration", "110129": "Security Configuration", "110130": "Hardware Configuration",
	"110131": "Software Configuration", "110132": "Use of Restricted Function", "110133": "Audit Recording Stopped",
	"110134": "Audit Recording Started", "110135": "Object Security Attributes Changed",
	"110136": "Security Roles Changed", "110137": "User security Attributes Changed",
	"110138": "Emergency Override Stopped", "110139": "Remote Service Operation Started",
	"110140": "Remote Service Operation Stopped", "110141": "Local Service Operation Started",
	"110142": "Local Service Operation Stopped",
}

// RFC 3881 / DICOM ParticipantObjectDataLifeCycle names.
var lifeCycleNames = map[string]string{
	"1": "origination", "2": "import", "3": "amendment", "4": "verification", "5": "translation",
	"6": "access", "7": "de-identification", "8": "aggregation", "9": "report", "10": "export",
	"11": "disclosure", "12": "receipt-of-disclosure", "13": "archiving", "14": "logical-deletion",
	"15": "permanent-erasure",
}

// RFC 3881 AuditSourceTypeCode names.
var sourceTypeNames = map[string]string{
	"1": "End-user display device, diagnostic display", "2": "Data acquisition device or instrument",
	"3": "Web server process", "4": "Application server process", "5": "Database server process",
	"6": "Security server", "7": "ISO level 1-3 network component", "8": "ISO level 4-6 operating software",
	"9": "External source, other or unknown type",
}

// Break-glass purposes of use (HL7 v3 ActReason).
var breakGlassPurposes = map[string]bool{"BTG": true, "ETREAT": true}

func kebab(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }), "-")
}

func jsonArray(v []string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func outcomeECS(code string) string {
	switch code {
	case "0":
		return "success"
	case "4", "8", "12":
		return "failure"
	}
	return "unknown"
}

// ECS event.type for EventActionCode.
var actionType = map[string]string{"C": "creation", "R": "access", "U": "change", "D": "deletion", "E": "info"}

func display(c Code, names map[string]string) string {
	if c.Display != "" {
		return c.Display
	}
	return names[c.Code]
}

// MapEvent appends the fields of m to e and sets e.Time (when the
// message has a valid EventDateTime). Fields already on e (for example
// the syslog header fields) are kept. Field names are documented in
// docs/healthcare.md.
func MapEvent(e *event.Event, m *Message, raw []byte, opt Options) {
	if opt.MaxQueryBytes <= 0 {
		opt.MaxQueryBytes = 4096
	}
	set := func(name, v string) {
		if v != "" {
			e.Set(name, v)
		}
	}
	if !m.Time.IsZero() {
		e.Time = m.Time.UTC()
	}
	e.Set("event.kind", "event")
	e.Set("event.module", "atna")
	e.Set("event.dataset", "atna.audit")
	set("event.code", m.EventID.Code)
	set("event.category", category(m))
	set("event.outcome", outcomeECS(m.Outcome))
	var typ Code
	if len(m.EventTypes) > 0 {
		typ = m.EventTypes[0]
	}
	action := kebab(display(typ, eventTypeNames))
	if action == "" {
		action = kebab(display(m.EventID, eventIDNames))
	}
	if action == "" {
		action = m.EventID.Code
	}
	set("event.action", action)
	et := actionType[m.Action]
	tcode := typ.Code
	if tcode == "" {
		tcode = m.EventID.Code // an event type sent as the EventID
	}
	switch tcode {
	case "110122", "110120", "110124", "110127", "110139", "110141":
		et = "start"
	case "110123", "110121", "110125", "110138", "110140", "110142":
		et = "end"
	}
	set("event.type", et)

	set("healthcare.audit.event.code", m.EventID.Code)
	set("healthcare.audit.event.system", m.EventID.System)
	set("healthcare.audit.event.display", display(m.EventID, eventIDNames))
	if !typ.IsZero() {
		set("healthcare.audit.subtype.code", typ.Code)
		set("healthcare.audit.subtype.system", typ.System)
		set("healthcare.audit.subtype.display", display(typ, eventTypeNames))
	}
	set("healthcare.audit.action", m.Action)
	set("healthcare.audit.outcome.code", m.Outcome)
	set("healthcare.audit.outcome.description", m.OutcomeDescription)

	breakGlass := ""
	if typ.Code == "110127" {
		breakGlass = "event_type"
	}
	var purposes []string
	for _, p := range m.PurposesOfUse {
		purposes = append(purposes, p.Code)
		if breakGlassPurposes[strings.ToUpper(p.Code)] && breakGlass == "" {
			breakGlass = "purpose_of_use"
		}
	}
	if len(purposes) > 0 {
		e.Set("healthcare.audit.purpose_of_use", jsonArray(purposes))
	}
	if breakGlass != "" {
		e.Set("healthcare.break_glass", "true")
		e.Set("healthcare.break_glass_reason", breakGlass)
	}

	// Participants: the requestor is the user; the Source Role ID
	// participant (or the requestor) gives source.*, Destination Role ID
	// gives destination.*.
	var user, src, dst, media *Participant
	for i := range m.Participants {
		p := &m.Participants[i]
		if p.UserIsRequestor && (user == nil || isProcess(user) && !isProcess(p) || isURL(user.UserID) && !isURL(p.UserID)) {
			user = p
		}
		switch {
		case p.HasRole("110153") && src == nil:
			src = p
		case (p.HasRole("110154") || p.HasRole("110155") || !p.MediaType.IsZero()) && media == nil:
			media = p
		case p.HasRole("110152") && dst == nil:
			dst = p
		}
	}
	if user != nil {
		if isURL(user.UserID) {
			// A DICOMweb request logged with the request URL as its
			// user id: the URL is what was asked, not who asked.
			set("url.original", user.UserID)
			set("user.name", user.AlternativeUserID)
		} else {
			set("user.name", user.UserID)
		}
		set("user.full_name", user.UserName)
		set("healthcare.audit.user.alt_id", user.AlternativeUserID)
		var roles []string
		for _, r := range user.Roles {
			if !isTransferRole(r.Code) {
				roles = append(roles, firstNonEmpty(r.Display, r.Code))
			}
		}
		if len(roles) > 0 {
			e.Set("user.roles", jsonArray(roles))
		}
		if src == nil {
			src = user
		}
	}
	var allRoles []string
	for _, p := range m.Participants {
		for _, r := range p.Roles {
			allRoles = append(allRoles, r.Code)
		}
	}
	if len(allRoles) > 0 {
		e.Set("healthcare.audit.agent.roles", jsonArray(allRoles))
	}
	address := func(prefix string, p *Participant) {
		if p == nil {
			return
		}
		if isURL(p.UserID) {
			set("url.original", p.UserID)
			set(prefix+".user.name", p.AlternativeUserID)
		} else {
			set(prefix+".user.name", p.UserID)
		}
		switch p.NetworkAccessType {
		case "2":
			set(prefix+".ip", p.NetworkAccessPoint)
		case "1":
			set(prefix+".domain", p.NetworkAccessPoint)
		}
		set(prefix+".address", p.NetworkAccessPoint)
	}
	address("source", src)
	if dst != src {
		// Also when the destination is the requestor (a workstation
		// retrieving studies): it is still where the data went.
		address("destination", dst)
	}
	if len(m.Participants) > 0 {
		e.Set("healthcare.audit.participants", participantsJSON(m.Participants))
	}
	if media != nil {
		set("healthcare.audit.media.id", media.UserID)
		set("healthcare.audit.media.type", firstNonEmpty(media.MediaType.Display, media.MediaType.Code))
		if media.HasRole("110154") {
			set("healthcare.audit.media.direction", "destination")
		} else if media.HasRole("110155") {
			set("healthcare.audit.media.direction", "source")
		}
	}

	if len(m.Sources) > 0 {
		s := m.Sources[0]
		set("observer.name", s.ID)
		set("healthcare.audit.source.id", s.ID)
		set("healthcare.audit.source.site", s.SiteID)
		if len(s.Types) > 0 {
			set("observer.type", firstNonEmpty(s.Types[0].Display, sourceTypeNames[s.Types[0].Code], s.Types[0].Code))
		}
	}

	var patients, studies, lifecycles, objectIDs []string
	var queries []string
	authority := ""
	for _, o := range m.Objects {
		switch {
		case o.TypeCode == "1" && o.Role == "1", o.IDType.Code == "2" && o.Role != "" && o.Role != "3", o.Role == "1":
			id, auth := patientID(o.ID)
			if id != "" && !contains(patients, id) {
				patients = append(patients, id)
				if len(patients) == 1 {
					authority = auth
				}
			}
		case o.IDType.Code == "110180":
			studies = append(studies, o.ID)
		default:
			objectIDs = append(objectIDs, o.ID)
		}
		studies = append(studies, o.Studies...)
		if n := lifeCycleNames[o.LifeCycle]; n != "" && !contains(lifecycles, n) {
			lifecycles = append(lifecycles, n)
		}
		if q := safeDecode(o.Query, opt.MaxQueryBytes); q != "" {
			queries = append(queries, q)
		}
	}
	if len(patients) > 0 {
		e.Set("healthcare.patient.id", patients[0])
		e.Set("healthcare.patient.ids", jsonArray(patients))
		set("healthcare.patient.id_authority", authority)
	}
	if len(m.Objects) > 0 {
		e.Set("healthcare.audit.objects", objectsJSON(m.Objects))
	}
	if len(studies) > 0 {
		e.Set("healthcare.study.uid", studies[0])
		e.Set("healthcare.study.uids", jsonArray(studies))
	}
	if len(objectIDs) > 0 {
		e.Set("healthcare.audit.object.ids", jsonArray(objectIDs))
	}
	if len(lifecycles) > 0 {
		e.Set("healthcare.audit.data_lifecycle", jsonArray(lifecycles))
	}
	if len(queries) > 0 {
		e.Set("healthcare.audit.query", queries[0])
	}

	// A summary without patient data.
	var b strings.Builder
	b.WriteString("ATNA ")
	b.WriteString(firstNonEmpty(display(m.EventID, eventIDNames), m.EventID.Code))
	if !typ.IsZero() {
		b.WriteString(" / " + firstNonEmpty(display(typ, eventTypeNames), typ.Code))
	}
	if m.Action != "" {
		b.WriteString(" action " + m.Action)
	}
	b.WriteString(" outcome " + outcomeECS(m.Outcome))
	if user != nil {
		b.WriteString(" by " + user.UserID)
	}
	e.Set(event.FieldMessage, b.String())
	if opt.KeepOriginal && raw != nil {
		e.Set(event.FieldOriginal, string(raw))
	}
}

// isProcess reports whether the participant is an application rather
// than a person: it has an application or transfer role and no name.
func isProcess(p *Participant) bool {
	if p.UserName != "" {
		return false
	}
	for _, r := range p.Roles {
		if r.Code == "110150" || r.Code == "110151" || isTransferRole(r.Code) {
			return true
		}
	}
	return false
}

func isTransferRole(c string) bool {
	return c == "110152" || c == "110153" || c == "110154" || c == "110155"
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

func contains(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

// safeDecode decodes a base64 query when the result is printable UTF-8
// text of at most max bytes; DICOM queries are binary datasets and are not
// decoded.
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
	return string(b)
}

// AppendEvent parses the audit message in msg (for example the MSG part
// of a syslog message) and adds its fields to e. On failure it returns
// the error and leaves the caller to record msg with vigil.parse_error;
// a message that is well-formed but breaks the schema is still mapped
// and its error returned.
func AppendEvent(e *event.Event, msg []byte, lim Limits, opt Options) error {
	m, err := Parse(msg, lim)
	if m != nil {
		MapEvent(e, m, msg, opt)
	}
	return err
}

// category is the ECS event.category: by EventID, and authentication for
// a login or logout whether it is coded as the event type (DICOM: EventID
// 110114 User Authentication, EventTypeCode 110122 Login) or, as some
// senders do, as the EventID itself.
func category(m *Message) string {
	if isLogin(m.EventID.Code) {
		return "authentication"
	}
	for _, t := range m.EventTypes {
		if isLogin(t.Code) {
			return "authentication"
		}
	}
	return eventCategory[m.EventID.Code]
}

func isLogin(code string) bool { return code == "110122" || code == "110123" }

func isURL(s string) bool {
	i := strings.Index(s, "://")
	return i > 0 && i < 10
}

// patientID splits an HL7 CX identifier "ID^check^scheme^AUTHORITY^type"
// (the form IHE profiles give ParticipantObjectID) into the id and the
// assigning authority's namespace (its first subcomponent, before '&').
// Placeholders for "no patient" ("<none>", as dcm4chee writes) give "".
func patientID(cx string) (id, authority string) {
	parts := strings.Split(cx, "^")
	id = strings.TrimSpace(parts[0])
	if len(parts) >= 4 {
		authority, _, _ = strings.Cut(parts[3], "&")
		if authority == "" {
			// "^^^&1.2.3&ISO": a universal id without a namespace.
			sub := strings.Split(parts[3], "&")
			if len(sub) > 1 {
				authority = sub[1]
			}
		}
	}
	if isPlaceholder(id) {
		return "", ""
	}
	return id, authority
}

func isPlaceholder(id string) bool {
	switch strings.ToLower(id) {
	case "", "<none>", "none", "<unknown>", "unknown", "-", "n/a", "null":
		return true
	}
	return false
}

type codeJSON struct {
	Code    string `json:"code,omitempty"`
	System  string `json:"system,omitempty"`
	Display string `json:"display,omitempty"`
}

func codeOf(c Code) *codeJSON {
	if c.IsZero() {
		return nil
	}
	return &codeJSON{c.Code, c.System, c.Display}
}

type participantJSON struct {
	UserID             string     `json:"user_id,omitempty"`
	AlternativeUserID  string     `json:"alt_user_id,omitempty"`
	UserName           string     `json:"user_name,omitempty"`
	Requestor          bool       `json:"requestor"`
	Roles              []codeJSON `json:"roles,omitempty"`
	NetworkAccessPoint string     `json:"network_access_point,omitempty"`
	NetworkAccessType  string     `json:"network_access_type,omitempty"`
	MediaType          *codeJSON  `json:"media_type,omitempty"`
}

// participantsJSON is every ActiveParticipant, in document order, as a
// JSON array: user id, alternative user id, name, requestor flag, roles,
// network access point and its type, media type.
func participantsJSON(ps []Participant) string {
	out := make([]participantJSON, 0, len(ps))
	for _, p := range ps {
		j := participantJSON{UserID: p.UserID, AlternativeUserID: p.AlternativeUserID, UserName: p.UserName,
			Requestor: p.UserIsRequestor, NetworkAccessPoint: p.NetworkAccessPoint, NetworkAccessType: p.NetworkAccessType,
			MediaType: codeOf(p.MediaType)}
		for _, r := range p.Roles {
			j.Roles = append(j.Roles, codeJSON{r.Code, r.System, r.Display})
		}
		out = append(out, j)
	}
	b, _ := json.Marshal(out)
	return string(b)
}

type objectJSON struct {
	ID          string    `json:"id,omitempty"`
	Authority   string    `json:"authority,omitempty"`
	TypeCode    string    `json:"type_code,omitempty"`
	Role        string    `json:"role,omitempty"`
	IDType      *codeJSON `json:"id_type,omitempty"`
	LifeCycle   string    `json:"lifecycle,omitempty"`
	Sensitivity string    `json:"sensitivity,omitempty"`
	Name        string    `json:"name,omitempty"`
}

// objectsJSON is every ParticipantObject with its type, role, id type and
// issuer (the assigning authority of a patient id). Names of patient
// objects are left out (PHI beyond the identifier).
func objectsJSON(os []Object) string {
	out := make([]objectJSON, 0, len(os))
	for _, o := range os {
		j := objectJSON{ID: o.ID, TypeCode: o.TypeCode, Role: o.Role, IDType: codeOf(o.IDType),
			LifeCycle: o.LifeCycle, Sensitivity: o.Sensitivity}
		patient := o.Role == "1" || (o.TypeCode == "1" && o.Role == "")
		if patient {
			id, auth := patientID(o.ID)
			j.ID, j.Authority = id, auth
		} else {
			j.Name = o.Name
		}
		out = append(out, j)
	}
	b, _ := json.Marshal(out)
	return string(b)
}
