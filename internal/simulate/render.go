package simulate

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rendering of intents to what each source sends: HL7 v2 ADT messages,
// FHIR AuditEvent resources, Epic-style access-log rows, DICOM/IHE ATNA
// audit messages and Linux authentication lines in RFC 5424 syslog
// messages, Winlogbeat JSON. Values that vary (ports, record numbers,
// process ids) derive from the intent's sequence number, so the output
// depends on the seed and the start time only.

const (
	hl7Time    = "20060102150405-0700"
	idpSystem  = "https://idp.riverton-general.example"
	siteName   = "riverton-general"
	ehrColumns = "ACCESS_ID,ACCESS_INSTANT,USER_ID,USER_NAME,PAT_MRN_ID,PAT_ENC_CSN_ID,METRIC_NAME,WORKSTATION_ID,IP_ADDRESS,DEPARTMENT_NAME,USER_ROLE,BTG_FLAG,BTG_REASON"
)

type renderer struct {
	loc  *time.Location
	seed uint64
	fac  string // HL7 facility and assigning authority (default RGH)
}

func (r *renderer) facility() string {
	if r.fac == "" {
		return "RGH"
	}
	return r.fac
}

// accessID is the id the access log and the FHIR server give an access.
func (r *renderer) accessID(in *Intent) string { return fmt.Sprintf("A%d-%d", r.seed, in.Seq) }

func (r *renderer) local(t time.Time) time.Time { return t.In(r.loc) }

// ---- HL7 v2

func phoneXTN(phone string) string {
	d := strings.Map(func(c rune) rune {
		if c >= '0' && c <= '9' {
			return c
		}
		return -1
	}, phone)
	if len(d) < 10 {
		return "^PRN^PH^^^^" + d
	}
	return "^PRN^PH^^1^" + d[:3] + "^" + d[3:]
}

func xcn(w *Worker, facility string) string {
	if w == nil || w.ProviderID == "" {
		return ""
	}
	degree := "MD"
	if w.Kind == Nurse {
		degree = "RN"
	}
	prefix := ""
	if w.Kind == Physician || w.Kind == Radiologist {
		prefix = "DR"
	}
	return fmt.Sprintf("%s^%s^%s^^^%s^%s^^%s", w.ProviderID, strings.ToUpper(w.Family), strings.ToUpper(w.Given), prefix, degree, facility)
}

func (r *renderer) hl7ts(t time.Time) string { return r.local(t).Format(hl7Time) }

// adt renders an ADT message.
func (r *renderer) adt(in *Intent) []byte {
	structure := map[string]string{"A01": "ADT_A01", "A04": "ADT_A01", "A02": "ADT_A02", "A03": "ADT_A03", "A28": "ADT_A05"}[in.Trigger]
	ts := r.hl7ts(in.T)
	p := in.P
	facility := r.facility()
	segs := []string{
		fmt.Sprintf("MSH|^~\\&|EPIC|%s|VIGIL|%s|%s||ADT^%s^%s|SIM%d-%d|P|2.5.1", facility, facility, ts, in.Trigger, structure, r.seed, in.Seq),
		fmt.Sprintf("EVN|%s|%s|||INTERFACE^EPIC^ADT|%s", in.Trigger, ts, ts),
		fmt.Sprintf("PID|1||%s^^^%s^MR||%s^%s^%s||%s|%s|||%s^%s^%s^%s^%s^USA^H||%s", p.MRN, facility,
			strings.ToUpper(p.Family), strings.ToUpper(p.Given), p.Middle, p.Birth, p.Sex,
			strings.ToUpper(p.Street), strings.ToUpper(p.Other), strings.ToUpper(p.City), p.State, p.Zip, phoneXTN(p.Phone)),
	}
	if p.Deceased {
		// PID-29 date of death, PID-30 death indicator.
		segs[2] += strings.Repeat("|", 16) + p.DeceasedDate + "|Y"
	}
	if p.Protected {
		segs = append(segs, "PD1||||||||||||Y")
	}
	if k := p.NOK; k != nil {
		segs = append(segs, fmt.Sprintf("NK1|1|%s^%s|%s^%s^HL70063|%s^^%s^%s^%s^USA|%s", strings.ToUpper(k.Family), strings.ToUpper(k.Given),
			k.Relation, k.RelationText, strings.ToUpper(k.Street), strings.ToUpper(k.City), k.State, k.Zip, phoneXTN(k.Phone)))
	}
	e := in.Enc
	if e == nil {
		segs = append(segs, "PV1|1|N")
		return []byte(strings.Join(segs, "\r"))
	}
	f := make([]string, 46)
	f[0], f[1], f[2] = "PV1", "1", e.Class
	f[3], f[4], f[10], f[18] = e.Bed, "E", e.Dept.Service, e.Class+"P"
	switch e.Class {
	case "I":
		f[4] = "U"
	case "O":
		f[4] = "R"
	}
	f[7], f[17] = xcn(e.Attending, facility), xcn(e.Attending, facility)
	if e.ConsultNamed {
		f[9] = xcn(e.Consult, facility)
	}
	if in.Trigger == "A02" || (in.Trigger == "A03" && !e.TransferAt.IsZero()) {
		f[3] = fmt.Sprintf("%s^%d^A^%s", e.ICUDept.Unit, 1+in.Seq%8, facility)
		f[6] = e.Bed
		f[7] = xcn(e.ICUAttending, facility)
		f[10] = e.ICUDept.Service
	}
	if p.VIP {
		f[16] = "VIP"
	}
	f[19] = e.Visit + "^^^" + facility + "^VN"
	f[44] = r.hl7ts(e.Admit)
	if in.Trigger == "A03" {
		f[45] = r.hl7ts(e.Discharge)
	}
	segs = append(segs, strings.TrimRight(strings.Join(f, "|"), "|"))
	for i, c := range in.Rol {
		if c.w == nil {
			continue
		}
		seg := fmt.Sprintf("ROL|%d|%s|RN^Registered Nurse^HL70443|%s|%s", i+1, c.action, xcn(c.w, facility), r.hl7ts(c.begin))
		if !c.end.IsZero() {
			seg += "|" + r.hl7ts(c.end)
		}
		segs = append(segs, seg)
	}
	return []byte(strings.Join(segs, "\r"))
}

// ---- EHR access log (Epic-style CSV rows)

func csvCell(s string) string {
	if strings.ContainsAny(s, ",\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// ehrRow renders an access-log row under ehrColumns.
func (r *renderer) ehrRow(in *Intent) string {
	w := in.W
	csn := ""
	if in.Enc != nil {
		csn = in.Enc.Visit
	}
	btg, reason := "N", ""
	if in.Flag {
		btg, reason = "Y", in.Reason
	}
	cells := []string{r.accessID(in), r.local(in.T).Format(time.RFC3339), w.Login, strings.ToUpper(w.Family + ", " + w.Given), in.P.MRN, csn, in.Action,
		in.Host, in.IP, w.Dept.Name, w.Role(), btg, reason}
	for i, c := range cells {
		cells[i] = csvCell(c)
	}
	return strings.Join(cells, ",")
}

// ---- FHIR AuditEvent

type coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

type concept struct {
	Coding []coding `json:"coding"`
}

type ref struct {
	Reference  string `json:"reference,omitempty"`
	Display    string `json:"display,omitempty"`
	Identifier *struct {
		System string `json:"system,omitempty"`
		Value  string `json:"value"`
	} `json:"identifier,omitempty"`
}

type agent struct {
	Type      *concept  `json:"type,omitempty"`
	Who       ref       `json:"who"`
	Requestor bool      `json:"requestor"`
	Role      []concept `json:"role,omitempty"`
	Network   *struct {
		Address string `json:"address"`
		Type    string `json:"type"`
	} `json:"network,omitempty"`
}

type entity struct {
	What ref    `json:"what"`
	Type coding `json:"type"`
	Role coding `json:"role"`
}

type auditEvent struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Meta         struct {
		Profile []string `json:"profile"`
	} `json:"meta"`
	Type           coding    `json:"type"`
	Subtype        []coding  `json:"subtype"`
	Action         string    `json:"action"`
	Recorded       string    `json:"recorded"`
	Outcome        string    `json:"outcome"`
	PurposeOfEvent []concept `json:"purposeOfEvent"`
	Agent          []agent   `json:"agent"`
	Source         struct {
		Site     string   `json:"site"`
		Observer ref      `json:"observer"`
		Type     []coding `json:"type"`
	} `json:"source"`
	Entity []entity `json:"entity"`
}

// fhir renders an AuditEvent of a clinical app reading a resource of the
// patient (the BALP PatientRead pattern).
func (r *renderer) fhir(in *Intent) []byte {
	w := in.W
	ae := auditEvent{ResourceType: "AuditEvent", ID: r.accessID(in), Action: "R", Outcome: "0",
		Recorded: r.local(in.T).Format(time.RFC3339)}
	ae.Meta.Profile = []string{"https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead"}
	ae.Type = coding{System: "http://terminology.hl7.org/CodeSystem/audit-event-type", Code: "rest", Display: "Restful Operation"}
	ae.Subtype = []coding{{System: "http://hl7.org/fhir/restful-interaction", Code: "read", Display: "read"}}
	purpose := "TREAT"
	if in.Flag {
		purpose = "ETREAT"
	}
	ae.PurposeOfEvent = []concept{{Coding: []coding{{System: "http://terminology.hl7.org/CodeSystem/v3-ActReason", Code: purpose}}}}
	role := coding{System: "http://terminology.hl7.org/CodeSystem/v3-RoleCode", Code: "PHYS", Display: "physician"}
	if w.Kind == Nurse {
		role = coding{System: "http://terminology.hl7.org/CodeSystem/v3-RoleCode", Code: "NURS", Display: "nurse"}
	}
	user := agent{Type: &concept{Coding: []coding{{System: "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", Code: "IRCP",
		Display: "information recipient"}}}, Requestor: true, Role: []concept{{Coding: []coding{role}}}}
	user.Who.Display = w.FullName()
	user.Who.Identifier = &struct {
		System string `json:"system,omitempty"`
		Value  string `json:"value"`
	}{idpSystem, w.Login}
	src := agent{Type: &concept{Coding: []coding{{System: "http://dicom.nema.org/resources/ontology/DCM", Code: "110153", Display: "Source Role ID"}}},
		Who: ref{Display: w.Workstation}}
	src.Network = &struct {
		Address string `json:"address"`
		Type    string `json:"type"`
	}{in.IP, "2"}
	ae.Agent = []agent{user, src}
	ae.Source.Site = siteName
	ae.Source.Observer = ref{Display: "Riverton FHIR API"}
	ae.Source.Type = []coding{{System: "http://terminology.hl7.org/CodeSystem/security-source-type", Code: "4", Display: "Application Server"}}
	resID := fmt.Sprintf("%s-%d", strings.ToLower(in.Action[:3]), in.Seq)
	if in.Action == "Patient" {
		resID = in.P.MRN
	}
	ae.Entity = []entity{
		{What: ref{Reference: in.Action + "/" + resID}, Type: coding{System: "http://terminology.hl7.org/CodeSystem/audit-entity-type", Code: "2"},
			Role: coding{System: "http://terminology.hl7.org/CodeSystem/object-role", Code: "4"}},
		{What: ref{Reference: "Patient/" + in.P.MRN}, Type: coding{System: "http://terminology.hl7.org/CodeSystem/audit-entity-type", Code: "1"},
			Role: coding{System: "http://terminology.hl7.org/CodeSystem/object-role", Code: "1"}},
	}
	data, err := json.Marshal(&ae)
	if err != nil {
		panic("BUG: AuditEvent does not marshal: " + err.Error())
	}
	return data
}

// ---- DICOM / IHE ATNA audit messages

func xmlEsc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

func code(elem, c, system, display string) string {
	return fmt.Sprintf(`<%s csd-code="%s" codeSystemName="%s" originalText="%s"/>`, elem, c, system, xmlEsc(display))
}

func studyUID(p *Patient, seq int) string {
	digits := strings.TrimLeft(strings.TrimPrefix(p.MRN, "MRN"), "0")
	return fmt.Sprintf("1.2.840.113619.2.55.3.%s.%d", digits, seq)
}

func patientObject(p *Patient, facility, lifecycle string) string {
	lc := ""
	if lifecycle != "" {
		lc = ` ParticipantObjectDataLifeCycle="` + lifecycle + `"`
	}
	return fmt.Sprintf(`<ParticipantObjectIdentification ParticipantObjectID="%s^^^&amp;%s&amp;L" ParticipantObjectTypeCode="1" ParticipantObjectTypeCodeRole="1"%s>`,
		p.MRN, facility, lc) + code("ParticipantObjectIDTypeCode", "2", "RFC-3881", "Patient Number") + `</ParticipantObjectIdentification>`
}

func studyObject(p *Patient, seq int, lifecycle string) string {
	lc := ""
	if lifecycle != "" {
		lc = ` ParticipantObjectDataLifeCycle="` + lifecycle + `"`
	}
	return fmt.Sprintf(`<ParticipantObjectIdentification ParticipantObjectID="%s" ParticipantObjectTypeCode="2" ParticipantObjectTypeCodeRole="3"%s>`,
		studyUID(p, seq), lc) + code("ParticipantObjectIDTypeCode", "110180", "DCM", "Study Instance UID") + `</ParticipantObjectIdentification>`
}

func participant(user, name string, requestor bool, nap string, roleCode, roleDisplay string) string {
	napAttr := ""
	if nap != "" {
		t := "2"
		if strings.ContainsAny(nap, "abcdefghijklmnopqrstuvwxyz") {
			t = "1"
		}
		napAttr = fmt.Sprintf(` NetworkAccessPointID="%s" NetworkAccessPointTypeCode="%s"`, xmlEsc(nap), t)
	}
	nameAttr := ""
	if name != "" {
		nameAttr = ` UserName="` + xmlEsc(name) + `"`
	}
	s := fmt.Sprintf(`<ActiveParticipant UserID="%s"%s UserIsRequestor="%t"%s>`, xmlEsc(user), nameAttr, requestor, napAttr)
	if roleCode != "" {
		system := "DCM"
		if !strings.HasPrefix(roleCode, "110") {
			system = "99RGH"
		}
		s += code("RoleIDCode", roleCode, system, roleDisplay)
	}
	return s + `</ActiveParticipant>`
}

var atnaEvents = map[string]struct{ display, action string }{
	"110101": {"Audit Log Used", "R"}, "110102": {"Begin Transferring DICOM Instances", "E"}, "110103": {"DICOM Instances Accessed", "R"},
	"110104": {"DICOM Instances Transferred", "C"}, "110106": {"Export", "R"}, "110113": {"Security Alert", "E"},
	"110114": {"User Authentication", "E"},
}

// atna renders the audit message of an ATNA intent.
func (r *renderer) atna(in *Intent) []byte {
	ev := atnaEvents[in.Trigger]
	outcome := "0"
	if !in.OK {
		outcome = "4"
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><AuditMessage>`)
	fmt.Fprintf(&b, `<EventIdentification EventActionCode="%s" EventDateTime="%s" EventOutcomeIndicator="%s">`, ev.action,
		r.local(in.T).Format("2006-01-02T15:04:05.000-07:00"), outcome)
	b.WriteString(code("EventID", in.Trigger, "DCM", ev.display))
	switch in.Trigger {
	case "110114":
		b.WriteString(code("EventTypeCode", "110122", "DCM", "Login"))
	case "110113":
		b.WriteString(code("EventTypeCode", in.Action, "DCM", "Node Authentication"))
	}
	b.WriteString(`</EventIdentification>`)
	userName, role, roleDisplay := "", "", ""
	if in.W != nil {
		userName, role, roleDisplay = in.W.FullName(), "ROLE-"+strings.ToUpper(in.W.Dept.Code), in.W.Role()
	}
	actor := in.actor()
	switch in.Trigger {
	case "110104":
		b.WriteString(participant(actor, userName, true, "", role, roleDisplay))
		b.WriteString(participant("MOD_CT1", "", false, in.IP, "110153", "Source Role ID"))
		b.WriteString(participant(in.DstAE, "", false, in.Dst, "110152", "Destination Role ID"))
	case "110102":
		b.WriteString(participant(pacsAE, "", false, pacsIP, "110153", "Source Role ID"))
		b.WriteString(participant(in.DstAE, "", false, in.Dst, "110152", "Destination Role ID"))
		b.WriteString(participant(actor, userName, true, "", role, roleDisplay))
	case "110106":
		b.WriteString(participant(actor, userName, true, in.IP, role, roleDisplay))
		if in.Media != "" {
			fmt.Fprintf(&b, `<ActiveParticipant UserID="DISC-%d" UserIsRequestor="false">`, in.Seq)
			b.WriteString(code("RoleIDCode", "110154", "DCM", "Destination Media"))
			b.WriteString(`<MediaIdentifier>` + code("MediaType", "110033", "DCM", in.Media) + `</MediaIdentifier></ActiveParticipant>`)
		} else {
			b.WriteString(participant(in.DstAE, "", false, in.Dst, "110152", "Destination Role ID"))
		}
	case "110113":
		b.WriteString(participant(actor, "", true, in.IP, "110153", "Source Role ID"))
		b.WriteString(participant(pacsAE, "", false, pacsIP, "110152", "Destination Role ID"))
	default:
		b.WriteString(participant(actor, userName, true, in.IP, role, roleDisplay))
	}
	fmt.Fprintf(&b, `<AuditSourceIdentification AuditEnterpriseSiteID="%s" AuditSourceID="%s">`, r.facility(), pacsAE)
	b.WriteString(code("AuditSourceTypeCode", "4", "DCM", "Application Server Process") + `</AuditSourceIdentification>`)
	switch in.Trigger {
	case "110102", "110103", "110104":
		b.WriteString(studyObject(in.P, in.Seq, ""))
		b.WriteString(patientObject(in.P, r.facility(), ""))
	case "110106":
		b.WriteString(studyObject(in.P, in.Seq, "10"))
		b.WriteString(patientObject(in.P, r.facility(), "10"))
	case "110101":
		b.WriteString(`<ParticipantObjectIdentification ParticipantObjectID="https://audit.riverton-general.example/access-log" ParticipantObjectTypeCode="2" ParticipantObjectTypeCodeRole="13">`)
		b.WriteString(code("ParticipantObjectIDTypeCode", "12", "RFC-3881", "URI") + `</ParticipantObjectIdentification>`)
	case "110113":
		fmt.Fprintf(&b, `<ParticipantObjectIdentification ParticipantObjectID="%s" ParticipantObjectTypeCode="2" ParticipantObjectTypeCodeRole="13">`, in.IP)
		b.WriteString(code("ParticipantObjectIDTypeCode", "12", "RFC-3881", "URI"))
		b.WriteString(`<ParticipantObjectDetail type="Alert Description" value="VExTIGhhbmRzaGFrZSBmYWlsZWQ="/></ParticipantObjectIdentification>`)
	}
	b.WriteString(`</AuditMessage>`)
	return []byte(b.String())
}

// ---- syslog (RFC 5424)

// syslog5424 frames a message body as an RFC 5424 syslog message.
func (r *renderer) syslog5424(pri int, t time.Time, host, app string, pid int, msgid, msg string) []byte {
	procid := "-"
	if pid > 0 {
		procid = strconv.Itoa(pid)
	}
	return fmt.Appendf(nil, "<%d>1 %s %s %s %s %s - %s", pri, r.local(t).Format("2006-01-02T15:04:05.000000-07:00"), host, app, procid, msgid, msg)
}

// sshd renders an sshd line.
func (r *renderer) sshd(in *Intent) []byte {
	port := 40000 + in.Seq%20000
	user := in.actor()
	var msg string
	switch {
	case in.OK && in.Reason == "publickey":
		msg = fmt.Sprintf("Accepted publickey for %s from %s port %d ssh2: ED25519 SHA256:%s", user, in.IP, port, fakeFingerprint(user))
	case in.OK:
		msg = fmt.Sprintf("Accepted password for %s from %s port %d ssh2", user, in.IP, port)
	case in.W == nil && user != "root":
		msg = fmt.Sprintf("Failed password for invalid user %s from %s port %d ssh2", user, in.IP, port)
	default:
		msg = fmt.Sprintf("Failed password for %s from %s port %d ssh2", user, in.IP, port)
	}
	return r.syslog5424(86, in.T, in.Host, "sshd", 2000+in.Seq%30000, "-", msg)
}

func fakeFingerprint(user string) string {
	h := uint64(1469598103934665603)
	for i := 0; i < len(user); i++ {
		h = (h ^ uint64(user[i])) * 1099511628211
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var b [43]byte
	for i := range b {
		h = h*6364136223846793005 + 1442695040888963407
		b[i] = alphabet[h>>58]
	}
	return string(b[:])
}

// sudo renders a sudo line.
func (r *renderer) sudo(in *Intent) []byte {
	msg := fmt.Sprintf("%s : TTY=pts/%d ; PWD=/home/%s ; USER=root ; COMMAND=%s", in.actor(), in.Seq%5, in.actor(), in.Reason)
	return r.syslog5424(85, in.T, in.Host, "sudo", 0, "-", msg)
}

// atnaSyslog wraps an ATNA message in a syslog message (RFC 5425 style:
// the XML is the MSG part).
func (r *renderer) atnaSyslog(in *Intent) []byte {
	return r.syslog5424(85, in.T, "pacs01.riverton.local", "PACS01", 0, "IHE+RFC-3881", string(r.atna(in)))
}

// ---- Windows (Winlogbeat JSON)

// winlogon renders a 4624 or 4625 Security event as Winlogbeat sends it.
func (r *renderer) winlogon(in *Intent) []byte {
	host := in.Host
	if !strings.Contains(host, ".") {
		host += ".riverton.local"
	}
	short := strings.ToUpper(host[:strings.IndexByte(host, '.')])
	id, msg, outcome, keyword := "4624", "An account was successfully logged on.", "success", "Audit Success"
	if !in.OK {
		id, msg, outcome, keyword = "4625", "An account failed to log on.", "failure", "Audit Failure"
	}
	data := map[string]string{
		"SubjectUserSid": "S-1-5-18", "SubjectUserName": short + "$", "SubjectDomainName": domain, "SubjectLogonId": "0x3e7",
		"TargetUserName": in.actor(), "TargetDomainName": domain, "LogonType": in.Reason, "LogonProcessName": "User32 ",
		"AuthenticationPackageName": "Negotiate", "WorkstationName": short, "IpAddress": in.IP, "IpPort": strconv.Itoa(49152 + in.Seq%16000),
		"ProcessName": `C:\Windows\System32\svchost.exe`, "ProcessId": "0x1cc",
	}
	if in.OK {
		data["TargetLogonId"] = fmt.Sprintf("0x%x", 0x100000+in.Seq)
		if in.W != nil {
			data["TargetUserSid"] = fmt.Sprintf("S-1-5-21-3623811015-3361044348-30300820-%d", 1100+in.W.Index)
		}
	} else {
		data["Status"], data["SubStatus"], data["FailureReason"] = "0xc000006d", "0xc000006a", "%%2313"
		if in.W == nil {
			data["SubStatus"] = "0xc0000064"
		}
		data["TargetUserSid"] = "S-1-0-0"
	}
	doc := map[string]any{
		"@timestamp": in.T.UTC().Format("2006-01-02T15:04:05.000Z"),
		"agent":      map[string]string{"type": "winlogbeat", "version": "8.15.0", "name": short},
		"host":       map[string]string{"name": host},
		"message":    msg,
		"event":      map[string]string{"code": id, "kind": "event", "provider": "Microsoft-Windows-Security-Auditing", "outcome": outcome, "action": "Logon"},
		"winlog": map[string]any{
			"api": "wineventlog", "channel": "Security", "computer_name": host, "event_id": id,
			"provider_name": "Microsoft-Windows-Security-Auditing", "provider_guid": "{54849625-5478-4994-A5BA-3E3B0328C30D}",
			"record_id": strconv.Itoa(100000 + in.Seq), "task": "Logon", "opcode": "Info", "keywords": []string{keyword},
			"event_data": data,
		},
	}
	out, err := json.Marshal(doc)
	if err != nil {
		panic("BUG: Windows event does not marshal: " + err.Error())
	}
	return out
}
