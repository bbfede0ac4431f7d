package windows

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/vigil-siem/vigil/internal/event"
)

// fromEvtx reads the flattened evtx_dump JSON form.
func (n *Normalizer) fromEvtx(e *event.Event) {
	r := &n.r
	for _, f := range e.Fields {
		name, v := f.Name, f.Value
		if !strings.HasPrefix(name, "Event.") {
			r.extra = append(r.extra, f)
			continue
		}
		rest := name[len("Event."):]
		if strings.Contains(rest, "_attributes") {
			// evtx_dump --separate-json-attributes: "Provider_attributes.Name".
			rest = strings.ReplaceAll(rest, "_attributes", ".#attributes")
		}
		switch {
		case strings.HasPrefix(rest, "System."):
			if !r.system(rest[len("System."):], v) {
				r.extra = append(r.extra, f)
			}
		case strings.HasPrefix(rest, "EventData."):
			k := rest[len("EventData."):]
			switch {
			case strings.HasPrefix(k, "#attributes."):
			case k == "Data" || k == "Data.#text" || k == "#text":
				r.unnamedData(v)
			default:
				r.addData(k, v)
			}
		case rest == "EventData":
			r.unnamedData(v)
		case strings.HasPrefix(rest, "UserData."):
			r.userDataItem(rest[len("UserData."):], v)
		case strings.HasPrefix(rest, "RenderingInfo."):
			r.rendering(rest[len("RenderingInfo."):], v)
		case strings.HasPrefix(rest, "#attributes."):
		default:
			r.extra = append(r.extra, f)
		}
	}
}

// system reads one field of the System element, named as evtx_dump JSON
// flattens it. It reports false for fields it does not know.
func (r *rec) system(k, v string) bool {
	switch k {
	case "Provider.#attributes.Name":
		r.provider = v
	case "Provider.#attributes.Guid":
		r.providerGUID = v
	case "Provider.#attributes.EventSourceName":
		r.eventSource = v
	case "EventID", "EventID.#text":
		r.eventID = v
	case "EventID.#attributes.Qualifiers":
		r.qualifiers = v
	case "Version":
		r.version = v
	case "Level":
		r.level = v
	case "Task":
		r.task = v
	case "Opcode":
		r.opcode = v
	case "Keywords":
		r.keywords = v
	case "TimeCreated.#attributes.SystemTime":
		r.systemTime = v
	case "EventRecordID":
		r.recordID = v
	case "Correlation.#attributes.ActivityID":
		r.activityID = v
	case "Correlation.#attributes.RelatedActivityID":
		r.relatedActivityID = v
	case "Execution.#attributes.ProcessID":
		r.pid = v
	case "Execution.#attributes.ThreadID":
		r.tid = v
	case "Channel":
		r.channel = v
	case "Computer":
		r.computer = v
	case "Security.#attributes.UserID":
		r.userID = v
	default:
		return false
	}
	return true
}

// unnamedData adds Data elements without a Name: one value, or a JSON array
// of values as evtx_dump writes repeated elements.
func (r *rec) unnamedData(v string) {
	if strings.HasPrefix(v, "[") {
		var items []any
		if err := json.Unmarshal([]byte(v), &items); err == nil {
			for _, it := range items {
				switch x := it.(type) {
				case string:
					r.addData("", x)
				case nil:
					r.addData("", "")
				default:
					b, _ := json.Marshal(x)
					r.addData("", string(b))
				}
			}
			return
		}
	}
	r.addData("", v)
}

// userDataItem reads UserData.<Element>.<Name>[.<Sub>…].
func (r *rec) userDataItem(k, v string) {
	i := strings.IndexByte(k, '.')
	if i < 0 {
		r.userData = append(r.userData, kv{k, v})
		return
	}
	r.userDataName = k[:i]
	sub := k[i+1:]
	if strings.HasPrefix(sub, "#attributes.") {
		return
	}
	sub = strings.TrimSuffix(sub, ".#text")
	r.userData = append(r.userData, kv{sub, v})
}

// rendering reads RenderingInfo.<Name>.
func (r *rec) rendering(k, v string) {
	switch k {
	case "Message":
		r.message = v
	case "Level":
		r.levelName = v
	case "Task":
		r.taskName = v
	case "Opcode":
		r.opcodeName = v
	case "Keywords.Keyword", "Keywords":
		r.setKeywordNames(v)
	}
}

// setKeywordNames takes keyword names as one name or a JSON array text.
func (r *rec) setKeywordNames(v string) {
	if strings.HasPrefix(v, "[") {
		var names []string
		if json.Unmarshal([]byte(v), &names) == nil {
			r.keywordNames = append(r.keywordNames, names...)
			return
		}
	}
	if v != "" {
		r.keywordNames = append(r.keywordNames, v)
	}
}

// Flat (NXLog im_msvistalog, Security-Datasets) field names that are not
// event data.
var flatSystem = map[string]bool{
	"EventID": true, "Channel": true, "SourceName": true, "ProviderName": true, "ProviderGuid": true,
	"Hostname": true, "Computer": true, "RecordNumber": true, "EventRecordID": true, "EventTime": true,
	"TimeCreated": true, "Version": true, "Task": true, "OpcodeValue": true, "Opcode": true,
	"Category": true, "Keywords": true, "Level": true, "EventType": true, "Severity": true,
	"SeverityValue": true, "ProcessID": true, "ExecutionProcessID": true, "ThreadID": true,
	"ExecutionThreadID": true, "UserID": true, "AccountName": true, "Domain": true,
	"AccountType": true, "ActivityID": true, "RelatedActivityID": true, "Message": true,
	"Qualifiers": true, "EventReceivedTime": true, "SourceModuleName": true, "SourceModuleType": true,
}

// Shipper metadata that flat documents carry besides the record (Logstash,
// NXLog output modules); kept as they are.
var flatMeta = map[string]bool{"host": true, "port": true, "tags": true, "type": true, "beat": true, "fields": true, "message": true}

// fromFlat reads the flat JSON form.
func (n *Normalizer) fromFlat(e *event.Event) {
	r := &n.r
	// The event's own data names win over NXLog's user fields of the same
	// name (System 7045 has an AccountName in its event data).
	prov := e.Value("ProviderName")
	if prov == "" {
		prov = e.Value("SourceName")
	}
	sp := specFor(prov, e.Value("Channel"), e.Value("EventID"))
	auditLevel := false
	defer func() {
		// Audit events have level 0 (LogAlways), which Windows shows as
		// Information; NXLog sends only the audit EventType for them.
		if auditLevel && r.level == "" && r.levelName == "" {
			r.levelName = "Information"
		}
	}()
	for _, f := range e.Fields {
		name, v := f.Name, f.Value
		if !flatSystem[name] || (sp != nil && sp.hasData(name)) || !flatSystemValue(name, v) {
			if flatMeta[name] || strings.ContainsAny(name, ".@") {
				r.extra = append(r.extra, f)
			} else {
				r.addData(name, v)
			}
			continue
		}
		switch name {
		case "EventID":
			r.eventID = v
		case "Channel":
			r.channel = v
		case "SourceName", "ProviderName":
			if r.provider == "" || name == "ProviderName" {
				r.provider = v
			}
		case "ProviderGuid":
			r.providerGUID = v
		case "Hostname", "Computer":
			r.computer = v
		case "RecordNumber", "EventRecordID":
			r.recordID = v
		case "EventTime", "TimeCreated":
			r.systemTime = v
		case "Version":
			r.version = v
		case "Task":
			r.task = v
		case "OpcodeValue":
			r.opcode = v
		case "Opcode":
			if isUint(v) {
				r.opcode = v
			} else {
				r.opcodeName = v
			}
		case "Category":
			r.taskName = v
		case "Keywords":
			if strings.HasPrefix(v, "[") {
				r.setKeywordNames(v)
			} else {
				r.keywords = v
			}
		case "Level":
			if isUint(v) {
				r.level = v
			} else {
				r.levelName = v
			}
		case "EventType":
			switch v {
			case "AUDIT_SUCCESS":
				r.keywordNames = append(r.keywordNames, "Audit Success")
				auditLevel = true
			case "AUDIT_FAILURE":
				r.keywordNames = append(r.keywordNames, "Audit Failure")
				auditLevel = true
			case "CRITICAL":
				r.levelName = "Critical"
			case "ERROR":
				r.levelName = "Error"
			case "WARNING":
				r.levelName = "Warning"
			case "INFO":
				r.levelName = "Information"
			case "VERBOSE":
				r.levelName = "Verbose"
			}
		case "Severity", "SeverityValue":
			// NXLog's own severity scale, derived from the level.
		case "ProcessID", "ExecutionProcessID":
			r.pid = v
		case "ThreadID", "ExecutionThreadID":
			r.tid = v
		case "UserID":
			r.userID = v
		case "AccountName":
			r.userName = v
		case "Domain":
			r.userDomain = v
		case "AccountType":
			r.userType = v
		case "ActivityID":
			r.activityID = v
		case "RelatedActivityID":
			r.relatedActivityID = v
		case "Message":
			r.message = v
		case "Qualifiers":
			r.qualifiers = v
		case "EventReceivedTime":
			r.extra = append(r.extra, event.Field{Name: "event.created", Value: v})
		case "SourceModuleName":
			r.extra = append(r.extra, event.Field{Name: "nxlog.source_module_name", Value: v})
		case "SourceModuleType":
			r.extra = append(r.extra, event.Field{Name: "nxlog.source_module_type", Value: v})
		}
	}
}

// flatSystemValue reports whether v fits the system field name: event data
// of the same name (Sysmon's EventType "SetValue", a Version string) that
// NXLog put at the top level is event data.
func flatSystemValue(name, v string) bool {
	switch name {
	case "Version", "Task", "OpcodeValue", "RecordNumber", "EventRecordID", "EventID", "ProcessID", "ThreadID", "ExecutionProcessID", "ExecutionThreadID":
		return isUint(v)
	case "EventType":
		switch v {
		case "AUDIT_SUCCESS", "AUDIT_FAILURE", "CRITICAL", "ERROR", "WARNING", "INFO", "VERBOSE":
			return true
		}
		return false
	}
	return true
}

// fromECS reads Winlogbeat 7/8 and Elastic Agent documents, and the
// Winlogbeat 6 layout (event_id, log_name, event_data.*).
func (n *Normalizer) fromECS(e *event.Event) {
	r := &n.r
	var code, provider, host string
	for _, f := range e.Fields {
		name, v := f.Name, f.Value
		switch {
		case strings.HasPrefix(name, "winlog.event_data."):
			r.addData(name[len("winlog.event_data."):], v)
			continue
		case strings.HasPrefix(name, "event_data."):
			r.addData(name[len("event_data."):], v)
			continue
		case strings.HasPrefix(name, "winlog.user_data.") || strings.HasPrefix(name, "user_data."):
			k := name[strings.Index(name, "user_data.")+len("user_data."):]
			if k == "xml_name" {
				r.userDataName = v
			} else {
				r.userData = append(r.userData, kv{k, v})
			}
			continue
		}
		switch name {
		case "winlog.channel", "log_name":
			r.channel = v
		case "winlog.event_id", "event_id":
			r.eventID = v
		case "winlog.provider_name", "source_name":
			r.provider = v
		case "winlog.provider_guid", "provider_guid":
			r.providerGUID = v
		case "winlog.event_source_name":
			r.eventSource = v
		case "winlog.computer_name", "computer_name":
			r.computer = v
		case "winlog.record_id", "record_number":
			r.recordID = v
		case "winlog.version", "version":
			r.version = v
		case "winlog.process.pid", "process_id":
			r.pid = v
		case "winlog.process.thread.id", "thread_id":
			r.tid = v
		case "winlog.user.identifier", "user.identifier":
			r.userID = v
		case "winlog.user.name":
			r.userName = v
		case "winlog.user.domain":
			r.userDomain = v
		case "winlog.user.type":
			r.userType = v
		case "winlog.activity_id", "activity_id":
			r.activityID = v
		case "winlog.related_activity_id":
			r.relatedActivityID = v
		case "winlog.time_created":
			r.systemTime = v
		case "winlog.level":
			if isUint(v) {
				r.level = v
			} else {
				r.levelName = v
			}
		case "winlog.task", "task":
			if isUint(v) {
				r.task = v
			} else {
				r.taskName = v
			}
		case "winlog.opcode", "opcode":
			if isUint(v) {
				r.opcode = v
			} else {
				r.opcodeName = v
			}
		case "winlog.keywords", "keywords":
			if strings.HasPrefix(v, "[") {
				r.keywordsJSON = v
				r.setKeywordNames(v)
			} else if strings.HasPrefix(v, "0x") {
				r.keywords = v
			} else {
				r.setKeywordNames(v)
			}
		case "log.level", "level":
			r.levelName = v
		case "message":
			r.message = v
		case "event.code":
			code = v
		case "event.provider":
			provider = v
		case "host.name", "host.hostname":
			if host == "" || name == "host.name" {
				host = v
			}
			if name == "host.name" {
				r.hostGiven = true
			}
			r.extra = append(r.extra, f)
		default:
			r.extra = append(r.extra, f)
		}
	}
	if r.eventID == "" {
		r.eventID = code
	}
	if r.provider == "" {
		r.provider = provider
	}
	if r.computer == "" {
		r.computer = host
	}
	r.fromECS = true
}

func isUint(s string) bool {
	if s == "" {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}
