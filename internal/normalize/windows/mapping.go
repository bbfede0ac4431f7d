package windows

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/vigil-siem/vigil/internal/event"
)

// The ECS mapping of common events, after Winlogbeat's security, sysmon and
// powershell modules. Event data is never removed: rules match
// winlog.event_data.* while dashboards use the ECS fields.

type class uint8

const (
	classNone class = iota
	classSecurity
	classSysmon
	classPowerShell
	classSystem
)

func classOf(provider, channel string) class {
	switch provider {
	case "Microsoft-Windows-Security-Auditing", "Microsoft-Windows-Eventlog":
		return classSecurity
	case "Microsoft-Windows-Sysmon":
		return classSysmon
	case "Microsoft-Windows-PowerShell":
		return classPowerShell
	case "Service Control Manager":
		return classSystem
	case "":
		switch channel {
		case "Security":
			return classSecurity
		case "Microsoft-Windows-Sysmon/Operational":
			return classSysmon
		case "Microsoft-Windows-PowerShell/Operational":
			return classPowerShell
		case "System":
			return classSystem
		}
	}
	return classNone
}

func isSecurityProvider(provider, channel string) bool {
	return provider == "Microsoft-Windows-Security-Auditing" || (provider == "" && channel == "Security")
}

// specFor returns the mapping of an event, or nil.
func specFor(provider, channel, id string) *spec {
	switch classOf(provider, channel) {
	case classSecurity:
		return securitySpecs[id]
	case classSysmon:
		return sysmonSpecs[id]
	case classPowerShell:
		return powershellSpecs[id]
	case classSystem:
		return systemSpecs[id]
	}
	return nil
}

type conv uint8

const (
	cCopy      conv = iota
	cNoDash         // copy unless "-"
	cHexInt         // "0x1f4" or "500" → "500"
	cBase           // file name of a Windows path
	cIP             // IP address; "-" skipped, ::ffff: prefix removed
	cPort           // port; "-" and "0" skipped
	cUser           // "DOMAIN\name" → <dst>.domain, <dst>.name
	cLogonType      // 3 → "Network"
	cLower          // lower case
	cDirection      // Sysmon Initiated: true → egress, false → ingress
	cHashes         // "SHA1=…,MD5=…" → <dst>.hash.sha1, …, <dst>.pe.imphash
	cRegKey         // registry path of a key → registry.path, hive, key
	cRegValue       // registry path of a value → registry.path, hive, key, value
	cStrings        // one value → JSON array text
)

// fm maps one event data (or user data, ud) item to an ECS field.
type fm struct {
	src string
	dst string
	c   conv
	ud  bool
}

type spec struct {
	class                 class
	category, typ, action string
	outcome               string // "" → from the Audit Success / Failure keywords
	task                  string // Sysmon task name, shown when the record has only the number
	maps                  []fm
}

func (s *spec) hasData(name string) bool {
	for _, m := range s.maps {
		if m.src == name && !m.ud {
			return true
		}
	}
	return false
}

// enrich appends the ECS fields of the event.
func (s *spec) enrich(r *rec, keywords string, out []event.Field) []event.Field {
	add := func(name, v string) {
		if v != "" {
			out = append(out, event.Field{Name: name, Value: v})
		}
	}
	add("event.category", s.category)
	add("event.type", s.typ)
	add("event.action", s.action)
	outcome := s.outcome
	if outcome == "" {
		switch {
		case strings.Contains(keywords, "Audit Failure"):
			outcome = "failure"
		case strings.Contains(keywords, "Audit Success"):
			outcome = "success"
		}
	}
	add("event.outcome", outcome)
	for _, m := range s.maps {
		var v string
		var ok bool
		if m.ud {
			v, ok = r.userDataValue(m.src)
		} else {
			v, ok = r.dataValue(m.src)
		}
		if !ok || v == "" || m.dst == "" {
			continue
		}
		switch m.c {
		case cCopy:
			add(m.dst, v)
		case cNoDash:
			if v != "-" {
				add(m.dst, v)
			}
		case cHexInt:
			add(m.dst, hexInt(v))
		case cBase:
			if v != "-" {
				add(m.dst, baseName(v))
			}
		case cIP:
			add(m.dst, ipOf(v))
		case cPort:
			if p, err := strconv.ParseUint(v, 10, 16); err == nil && p != 0 {
				add(m.dst, v)
			}
		case cUser:
			if v == "-" {
				continue
			}
			if i := strings.LastIndexByte(v, '\\'); i >= 0 {
				add(m.dst+".domain", v[:i])
				add(m.dst+".name", v[i+1:])
			} else {
				add(m.dst+".name", v)
			}
		case cLogonType:
			add(m.dst, logonTypes[v])
		case cLower:
			add(m.dst, strings.ToLower(v))
		case cDirection:
			switch v {
			case "true":
				add(m.dst, "egress")
			case "false":
				add(m.dst, "ingress")
			}
		case cHashes:
			for _, h := range strings.Split(v, ",") {
				k, val, found := strings.Cut(h, "=")
				if !found || val == "" {
					continue
				}
				k = strings.ToLower(strings.TrimSpace(k))
				if k == "imphash" {
					add(m.dst+".pe.imphash", strings.ToLower(val))
				} else if k == "md5" || k == "sha1" || k == "sha256" || k == "sha384" || k == "sha512" {
					add(m.dst+".hash."+k, strings.ToLower(val))
				}
			}
		case cRegKey, cRegValue:
			out = registry(out, v, m.c == cRegValue)
		case cStrings:
			b := event.AppendJSONString([]byte{'['}, v)
			add(m.dst, string(append(b, ']')))
		}
	}
	return out
}

func hexInt(v string) string {
	var n uint64
	var err error
	if strings.HasPrefix(v, "0x") || strings.HasPrefix(v, "0X") {
		n, err = strconv.ParseUint(v[2:], 16, 64)
	} else {
		n, err = strconv.ParseUint(v, 10, 64)
	}
	if err != nil {
		return ""
	}
	return strconv.FormatUint(n, 10)
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	return p
}

func ipOf(v string) string {
	v = strings.TrimPrefix(v, "::ffff:")
	a, err := netip.ParseAddr(v)
	if err != nil {
		return ""
	}
	return a.String()
}

var logonTypes = map[string]string{
	"2": "Interactive", "3": "Network", "4": "Batch", "5": "Service", "7": "Unlock",
	"8": "NetworkCleartext", "9": "NewCredentials", "10": "RemoteInteractive", "11": "CachedInteractive",
}

var hives = map[string]string{
	"HKEY_LOCAL_MACHINE": "HKLM", "HKLM": "HKLM", "HKEY_USERS": "HKU", "HKU": "HKU",
	"HKEY_CURRENT_USER": "HKCU", "HKCU": "HKCU", "HKEY_CLASSES_ROOT": "HKCR", "HKCR": "HKCR",
	"HKEY_CURRENT_CONFIG": "HKCC", "HKCC": "HKCC",
}

// registry splits a Sysmon registry path ("HKLM\SOFTWARE\Run\Name") into the
// ECS registry fields.
func registry(out []event.Field, path string, isValue bool) []event.Field {
	add := func(name, v string) {
		if v != "" {
			out = append(out, event.Field{Name: name, Value: v})
		}
	}
	add("registry.path", path)
	first, rest, _ := strings.Cut(path, `\`)
	hive, ok := hives[strings.ToUpper(first)]
	if !ok {
		return out
	}
	add("registry.hive", hive)
	if isValue {
		if i := strings.LastIndexByte(rest, '\\'); i >= 0 {
			add("registry.key", rest[:i])
			add("registry.value", rest[i+1:])
		} else {
			add("registry.value", rest)
		}
		return out
	}
	add("registry.key", rest)
	return out
}

// Security task categories (audit subcategories) by number, as Windows
// renders them.
var securityTasks = map[string]string{
	"104":   "Log clear",
	"12288": "Security State Change", "12289": "Security System Extension", "12290": "System Integrity",
	"12291": "IPsec Driver", "12292": "Other System Events",
	"12544": "Logon", "12545": "Logoff", "12546": "Account Lockout", "12547": "IPsec Main Mode",
	"12548": "Special Logon", "12549": "IPsec Quick Mode", "12550": "IPsec Extended Mode",
	"12551": "Other Logon/Logoff Events", "12552": "Network Policy Server", "12553": "User / Device Claims",
	"12554": "Group Membership",
	"12800": "File System", "12801": "Registry", "12802": "Kernel Object", "12803": "SAM",
	"12804": "Other Object Access Events", "12805": "Certification Services", "12806": "Application Generated",
	"12807": "Handle Manipulation", "12808": "File Share", "12809": "Filtering Platform Packet Drop",
	"12810": "Filtering Platform Connection", "12811": "Detailed File Share", "12812": "Removable Storage",
	"12813": "Central Policy Staging",
	"13056": "Sensitive Privilege Use", "13057": "Non Sensitive Privilege Use", "13058": "Other Privilege Use Events",
	"13312": "Process Creation", "13313": "Process Termination", "13314": "DPAPI Activity", "13315": "RPC Events",
	"13316": "Plug and Play Events", "13317": "Token Right Adjusted Events",
	"13568": "Audit Policy Change", "13569": "Authentication Policy Change", "13570": "Authorization Policy Change",
	"13571": "MPSSVC Rule-Level Policy Change", "13572": "Filtering Platform Policy Change",
	"13573": "Other Policy Change Events",
	"13824": "User Account Management", "13825": "Computer Account Management",
	"13826": "Security Group Management", "13827": "Distribution Group Management",
	"13828": "Application Group Management", "13829": "Other Account Management Events",
	"14080": "Directory Service Access", "14081": "Directory Service Changes",
	"14082": "Directory Service Replication", "14083": "Detailed Directory Service Replication",
	"14336": "Credential Validation", "14337": "Kerberos Service Ticket Operations",
	"14338": "Other Account Logon Events", "14339": "Kerberos Authentication Service",
}

// Subject (the account that acted) and target account fields of Security
// events.
var (
	subjectUser = []fm{
		{src: "SubjectUserName", dst: "user.name", c: cNoDash},
		{src: "SubjectDomainName", dst: "user.domain", c: cNoDash},
		{src: "SubjectUserSid", dst: "user.id", c: cNoDash},
	}
	targetAsUser = []fm{
		{src: "TargetUserName", dst: "user.name", c: cNoDash},
		{src: "TargetDomainName", dst: "user.domain", c: cNoDash},
		{src: "TargetUserSid", dst: "user.id", c: cNoDash},
	}
	targetUser = []fm{
		{src: "TargetUserName", dst: "user.target.name", c: cNoDash},
		{src: "TargetDomainName", dst: "user.target.domain", c: cNoDash},
		{src: "TargetSid", dst: "user.target.id", c: cNoDash},
	}
	logonSource = []fm{
		{src: "IpAddress", dst: "source.ip", c: cIP},
		{src: "IpPort", dst: "source.port", c: cPort},
		{src: "WorkstationName", dst: "source.domain", c: cNoDash},
		{src: "ProcessId", dst: "process.pid", c: cHexInt},
		{src: "ProcessName", dst: "process.executable", c: cNoDash},
		{src: "ProcessName", dst: "process.name", c: cBase},
		{src: "LogonType", dst: "winlog.logon.type", c: cLogonType},
		{src: "TargetLogonId", dst: "winlog.logon.id", c: cNoDash},
	}
)

func join(parts ...[]fm) []fm {
	var out []fm
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func sec(category, typ, action string, maps ...[]fm) *spec {
	return &spec{class: classSecurity, category: category, typ: typ, action: action, maps: join(maps...)}
}

var securitySpecs = map[string]*spec{
	"4624": sec("authentication", "start", "logged-in", targetAsUser, logonSource),
	"4625": func() *spec {
		s := sec("authentication", "start", "logon-failed", targetAsUser, logonSource,
			[]fm{{src: "FailureReason", dst: "event.reason", c: cNoDash}})
		s.outcome = "failure"
		return s
	}(),
	"4634": sec("authentication", "end", "logged-out", targetAsUser, []fm{
		{src: "TargetLogonId", dst: "winlog.logon.id", c: cNoDash},
		{src: "LogonType", dst: "winlog.logon.type", c: cLogonType},
	}),
	"4648": sec("authentication", "start", "logged-in-explicit", subjectUser, []fm{
		{src: "TargetUserName", dst: "user.effective.name", c: cNoDash},
		{src: "TargetDomainName", dst: "user.effective.domain", c: cNoDash},
		{src: "TargetServerName", dst: "destination.domain", c: cNoDash},
		{src: "IpAddress", dst: "source.ip", c: cIP},
		{src: "IpPort", dst: "source.port", c: cPort},
		{src: "ProcessId", dst: "process.pid", c: cHexInt},
		{src: "ProcessName", dst: "process.executable", c: cNoDash},
		{src: "ProcessName", dst: "process.name", c: cBase},
	}),
	"4672": sec("iam", "admin", "logged-in-special", subjectUser, []fm{
		{src: "SubjectLogonId", dst: "winlog.logon.id", c: cNoDash},
	}),
	"4688": sec("process", "start", "created-process", subjectUser, []fm{
		{src: "NewProcessId", dst: "process.pid", c: cHexInt},
		{src: "NewProcessName", dst: "process.executable", c: cNoDash},
		{src: "NewProcessName", dst: "process.name", c: cBase},
		{src: "CommandLine", dst: "process.command_line", c: cCopy},
		{src: "ProcessId", dst: "process.parent.pid", c: cHexInt},
		{src: "ParentProcessName", dst: "process.parent.executable", c: cNoDash},
		{src: "ParentProcessName", dst: "process.parent.name", c: cBase},
	}),
	"4720": sec("iam", "creation", "added-user-account", subjectUser, targetUser),
	"4722": sec("iam", "change", "enabled-user-account", subjectUser, targetUser),
	"4724": sec("iam", "change", "reset-password", subjectUser, targetUser),
	"4725": sec("iam", "change", "disabled-user-account", subjectUser, targetUser),
	"4726": sec("iam", "deletion", "deleted-user-account", subjectUser, targetUser),
	"4728": sec("iam", "change", "added-member-to-group", subjectUser, []fm{
		{src: "TargetUserName", dst: "group.name", c: cNoDash},
		{src: "TargetDomainName", dst: "group.domain", c: cNoDash},
		{src: "TargetSid", dst: "group.id", c: cNoDash},
		{src: "MemberName", dst: "user.target.name", c: cNoDash},
		{src: "MemberSid", dst: "user.target.id", c: cNoDash},
	}),
	"4732": sec("iam", "change", "added-member-to-group", subjectUser, []fm{
		{src: "TargetUserName", dst: "group.name", c: cNoDash},
		{src: "TargetDomainName", dst: "group.domain", c: cNoDash},
		{src: "TargetSid", dst: "group.id", c: cNoDash},
		{src: "MemberName", dst: "user.target.name", c: cNoDash},
		{src: "MemberSid", dst: "user.target.id", c: cNoDash},
	}),
	"4740": sec("iam", "change", "locked-out-user-account", subjectUser, []fm{
		{src: "TargetUserName", dst: "user.target.name", c: cNoDash},
		{src: "TargetSid", dst: "user.target.id", c: cNoDash},
		{src: "TargetDomainName", dst: "source.domain", c: cNoDash}, // the caller computer
	}),
	"4767": sec("iam", "change", "unlocked-user-account", subjectUser, targetUser),
	"1102": sec("iam", "admin", "audit-log-cleared", []fm{
		{src: "SubjectUserName", dst: "user.name", c: cNoDash, ud: true},
		{src: "SubjectDomainName", dst: "user.domain", c: cNoDash, ud: true},
		{src: "SubjectUserSid", dst: "user.id", c: cNoDash, ud: true},
	}),
}

// Fields common to Sysmon events about a process.
var sysmonProcess = []fm{
	{src: "ProcessGuid", dst: "process.entity_id", c: cCopy},
	{src: "ProcessId", dst: "process.pid", c: cCopy},
	{src: "Image", dst: "process.executable", c: cCopy},
	{src: "Image", dst: "process.name", c: cBase},
	{src: "User", dst: "user", c: cUser},
	{src: "RuleName", dst: "rule.name", c: cNoDash},
}

// Sysmon events 8 and 10 name the acting process Source*.
var sysmonSourceProcess = []fm{
	{src: "SourceProcessGuid", dst: "process.entity_id", c: cCopy},
	{src: "SourceProcessGUID", dst: "process.entity_id", c: cCopy},
	{src: "SourceProcessId", dst: "process.pid", c: cCopy},
	{src: "SourceImage", dst: "process.executable", c: cCopy},
	{src: "SourceImage", dst: "process.name", c: cBase},
	{src: "SourceUser", dst: "user", c: cUser},
	{src: "RuleName", dst: "rule.name", c: cNoDash},
}

func sysmon(task, category, typ string, maps ...[]fm) *spec {
	return &spec{class: classSysmon, category: category, typ: typ, action: task, task: task, maps: join(maps...)}
}

var sysmonSpecs = map[string]*spec{
	"1": sysmon("Process Create (rule: ProcessCreate)", "process", "start", sysmonProcess, []fm{
		{src: "CommandLine", dst: "process.command_line", c: cCopy},
		{src: "CurrentDirectory", dst: "process.working_directory", c: cCopy},
		{src: "OriginalFileName", dst: "process.pe.original_file_name", c: cNoDash},
		{src: "Hashes", dst: "process", c: cHashes},
		{src: "ParentProcessGuid", dst: "process.parent.entity_id", c: cCopy},
		{src: "ParentProcessId", dst: "process.parent.pid", c: cCopy},
		{src: "ParentImage", dst: "process.parent.executable", c: cNoDash},
		{src: "ParentImage", dst: "process.parent.name", c: cBase},
		{src: "ParentCommandLine", dst: "process.parent.command_line", c: cNoDash},
	}),
	"3": sysmon("Network connection detected (rule: NetworkConnect)", "network", "connection", sysmonProcess, []fm{
		{src: "Protocol", dst: "network.transport", c: cLower},
		{src: "Initiated", dst: "network.direction", c: cDirection},
		{src: "SourceIp", dst: "source.ip", c: cIP},
		{src: "SourceHostname", dst: "source.domain", c: cNoDash},
		{src: "SourcePort", dst: "source.port", c: cPort},
		{src: "DestinationIp", dst: "destination.ip", c: cIP},
		{src: "DestinationHostname", dst: "destination.domain", c: cNoDash},
		{src: "DestinationPort", dst: "destination.port", c: cPort},
		{src: "DestinationPortName", dst: "network.protocol", c: cNoDash},
	}),
	"5": sysmon("Process terminated (rule: ProcessTerminate)", "process", "end", sysmonProcess),
	"7": sysmon("Image loaded (rule: ImageLoad)", "process", "change", sysmonProcess, []fm{
		{src: "ImageLoaded", dst: "file.path", c: cCopy},
		{src: "ImageLoaded", dst: "file.name", c: cBase},
		{src: "OriginalFileName", dst: "file.pe.original_file_name", c: cNoDash},
		{src: "Signature", dst: "file.code_signature.subject_name", c: cNoDash},
		{src: "SignatureStatus", dst: "file.code_signature.status", c: cNoDash},
		{src: "Hashes", dst: "file", c: cHashes},
	}),
	"8": sysmon("CreateRemoteThread detected (rule: CreateRemoteThread)", "process", "change", sysmonSourceProcess),
	"10": sysmon("Process accessed (rule: ProcessAccess)", "process", "access", sysmonSourceProcess, []fm{
		{src: "SourceThreadId", dst: "process.thread.id", c: cCopy},
	}),
	"11": sysmon("File created (rule: FileCreate)", "file", "creation", sysmonProcess, []fm{
		{src: "TargetFilename", dst: "file.path", c: cCopy},
		{src: "TargetFilename", dst: "file.name", c: cBase},
	}),
	"12": sysmon("Registry object added or deleted (rule: RegistryEvent)", "registry", "change", sysmonProcess, []fm{
		{src: "TargetObject", dst: "registry", c: cRegKey},
	}),
	"13": sysmon("Registry value set (rule: RegistryEvent)", "registry", "change", sysmonProcess, []fm{
		{src: "TargetObject", dst: "registry", c: cRegValue},
		{src: "Details", dst: "registry.data.strings", c: cStrings},
	}),
	"22": sysmon("Dns query (rule: DnsQuery)", "network", "protocol", sysmonProcess, []fm{
		{src: "QueryName", dst: "dns.question.name", c: cCopy},
	}),
	"23": sysmon("File Delete archived (rule: FileDelete)", "file", "deletion", sysmonProcess, []fm{
		{src: "TargetFilename", dst: "file.path", c: cCopy},
		{src: "TargetFilename", dst: "file.name", c: cBase},
	}),
}

var powershellSpecs = map[string]*spec{
	"4103": {class: classPowerShell, category: "process", typ: "info", action: "Executing Pipeline", maps: []fm{
		{src: "Payload", dst: "powershell.payload", c: cCopy},
	}},
	"4104": {class: classPowerShell, category: "process", typ: "info", action: "Execute a Remote Command", maps: []fm{
		{src: "ScriptBlockText", dst: "powershell.file.script_block_text", c: cCopy},
		{src: "ScriptBlockId", dst: "powershell.file.script_block_id", c: cCopy},
		{src: "Path", dst: "file.path", c: cCopy},
	}},
}

var systemSpecs = map[string]*spec{
	"7045": {class: classSystem, category: "configuration", typ: "creation", action: "service-installed", maps: []fm{
		{src: "ServiceName", dst: "service.name", c: cCopy},
		{src: "ImagePath", dst: "file.path", c: cCopy},
		{src: "ServiceType", dst: "service.type", c: cCopy},
		{src: "AccountName"}, // event data (the service account), not NXLog's user
	}},
}
