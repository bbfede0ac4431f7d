package cef

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// fullNames maps the short extension keys of the ArcSight CEF extension
// dictionary to their full names. Unmapped keys are stored under
// cef.extensions.<full name> so that the short and the full spelling of a
// key end up in the same field.
var fullNames = map[string]string{
	"act": "deviceAction", "app": "applicationProtocol", "c6a1": "deviceCustomIPv6Address1",
	"c6a1Label": "deviceCustomIPv6Address1Label", "c6a2": "deviceCustomIPv6Address2",
	"c6a2Label": "deviceCustomIPv6Address2Label", "c6a3": "deviceCustomIPv6Address3",
	"c6a3Label": "deviceCustomIPv6Address3Label", "c6a4": "deviceCustomIPv6Address4",
	"c6a4Label": "deviceCustomIPv6Address4Label", "cat": "deviceEventCategory",
	"cfp1": "deviceCustomFloatingPoint1", "cfp1Label": "deviceCustomFloatingPoint1Label",
	"cfp2": "deviceCustomFloatingPoint2", "cfp2Label": "deviceCustomFloatingPoint2Label",
	"cfp3": "deviceCustomFloatingPoint3", "cfp3Label": "deviceCustomFloatingPoint3Label",
	"cfp4": "deviceCustomFloatingPoint4", "cfp4Label": "deviceCustomFloatingPoint4Label",
	"cn1": "deviceCustomNumber1", "cn1Label": "deviceCustomNumber1Label",
	"cn2": "deviceCustomNumber2", "cn2Label": "deviceCustomNumber2Label",
	"cn3": "deviceCustomNumber3", "cn3Label": "deviceCustomNumber3Label",
	"cnt": "baseEventCount",
	"cs1": "deviceCustomString1", "cs1Label": "deviceCustomString1Label",
	"cs2": "deviceCustomString2", "cs2Label": "deviceCustomString2Label",
	"cs3": "deviceCustomString3", "cs3Label": "deviceCustomString3Label",
	"cs4": "deviceCustomString4", "cs4Label": "deviceCustomString4Label",
	"cs5": "deviceCustomString5", "cs5Label": "deviceCustomString5Label",
	"cs6": "deviceCustomString6", "cs6Label": "deviceCustomString6Label",
	"destinationDnsDomain": "destinationDnsDomain", "dhost": "destinationHostName",
	"dlat": "destinationGeoLatitude", "dlong": "destinationGeoLongitude",
	"dmac": "destinationMacAddress", "dntdom": "destinationNtDomain", "dpid": "destinationProcessId",
	"dpriv": "destinationUserPrivileges", "dproc": "destinationProcessName", "dpt": "destinationPort",
	"dst": "destinationAddress", "dtz": "deviceTimeZone", "duid": "destinationUserId",
	"duser": "destinationUserName", "dvc": "deviceAddress", "dvchost": "deviceHostName",
	"dvcmac": "deviceMacAddress", "dvcpid": "deviceProcessId", "end": "endTime",
	"fname": "fileName", "filename": "fileName", "fsize": "fileSize", "in": "bytesIn", "msg": "message",
	"out": "bytesOut", "outcome": "eventOutcome", "proto": "transportProtocol",
	"request": "requestUrl", "rt": "deviceReceiptTime", "shost": "sourceHostName",
	"slat": "sourceGeoLatitude", "slong": "sourceGeoLongitude", "smac": "sourceMacAddress",
	"sntdom": "sourceNtDomain", "spid": "sourceProcessId", "spriv": "sourceUserPrivileges",
	"sproc": "sourceProcessName", "spt": "sourcePort", "src": "sourceAddress",
	"start": "startTime", "suid": "sourceUserId", "suser": "sourceUserName",
	"agt": "agentAddress", "ahost": "agentHostName", "aid": "agentId", "amac": "agentMacAddress",
	"art": "agentReceiptTime", "at": "agentType", "atz": "agentTimeZone", "av": "agentVersion",
	"catdt": "categoryDeviceType", "type": "type",
}

type kind uint8

const (
	kString kind = iota
	kLower       // text, lowercased (protocol names)
	kIP
	kPort
	kInt
	kTime
	kOutcome
	kDirection
)

// target is where a dictionary key goes.
type target struct {
	field string // ECS field; "@timestamp" sets the event time
	kind  kind
	full  string // full key name, for the fallback field when conversion fails
}

// ecs maps full key names to Elastic Common Schema fields. Keys not listed
// here are kept under cef.extensions.<full name>. deviceEventCategory (cat)
// is deliberately not mapped to event.category: ECS allows only a fixed list
// of categories there, which rules depend on.
var ecs = map[string]target{
	"deviceAction":                 {field: "event.action"},
	"applicationProtocol":          {field: "network.protocol", kind: kLower},
	"bytesIn":                      {field: "source.bytes", kind: kInt},
	"bytesOut":                     {field: "destination.bytes", kind: kInt},
	"destinationAddress":           {field: "destination.ip", kind: kIP},
	"destinationHostName":          {field: "destination.domain"},
	"destinationMacAddress":        {field: "destination.mac"},
	"destinationNtDomain":          {field: "destination.user.domain"},
	"destinationPort":              {field: "destination.port", kind: kPort},
	"destinationProcessId":         {field: "destination.process.pid", kind: kInt},
	"destinationProcessName":       {field: "destination.process.name"},
	"destinationTranslatedAddress": {field: "destination.nat.ip", kind: kIP},
	"destinationTranslatedPort":    {field: "destination.nat.port", kind: kPort},
	"destinationUserId":            {field: "destination.user.id"},
	"destinationUserName":          {field: "destination.user.name"},
	"deviceAddress":                {field: "observer.ip", kind: kIP},
	"deviceHostName":               {field: "observer.hostname"},
	"deviceMacAddress":             {field: "observer.mac"},
	"deviceExternalId":             {field: "observer.name"},
	"deviceInboundInterface":       {field: "observer.ingress.interface.name"},
	"deviceOutboundInterface":      {field: "observer.egress.interface.name"},
	"deviceDirection":              {field: "network.direction", kind: kDirection},
	"deviceTimeZone":               {field: "event.timezone"},
	"deviceReceiptTime":            {field: "@timestamp", kind: kTime},
	"agentReceiptTime":             {field: "event.created", kind: kTime},
	"startTime":                    {field: "event.start", kind: kTime},
	"endTime":                      {field: "event.end", kind: kTime},
	"eventOutcome":                 {field: "event.outcome", kind: kOutcome},
	"externalId":                   {field: "event.id"},
	"reason":                       {field: "event.reason"},
	"fileName":                     {field: "file.name"},
	"filePath":                     {field: "file.path"},
	"fileSize":                     {field: "file.size", kind: kInt},
	"fileId":                       {field: "file.inode"},
	"fileCreateTime":               {field: "file.created", kind: kTime},
	"fileModificationTime":         {field: "file.mtime", kind: kTime},
	"message":                      {field: "message"},
	"transportProtocol":            {field: "network.transport", kind: kLower},
	"requestUrl":                   {field: "url.original"},
	"requestMethod":                {field: "http.request.method"},
	"requestClientApplication":     {field: "user_agent.original"},
	"requestContext":               {field: "http.request.referrer"},
	"sourceAddress":                {field: "source.ip", kind: kIP},
	"sourceHostName":               {field: "source.domain"},
	"sourceMacAddress":             {field: "source.mac"},
	"sourceNtDomain":               {field: "source.user.domain"},
	"sourcePort":                   {field: "source.port", kind: kPort},
	"sourceProcessId":              {field: "source.process.pid", kind: kInt},
	"sourceProcessName":            {field: "source.process.name"},
	"sourceTranslatedAddress":      {field: "source.nat.ip", kind: kIP},
	"sourceTranslatedPort":         {field: "source.nat.port", kind: kPort},
	"sourceUserId":                 {field: "source.user.id"},
	"sourceUserName":               {field: "source.user.name"},
}

// keys maps every accepted spelling (short and full) to its target.
var keys = func() map[string]target {
	m := make(map[string]target, 2*len(ecs))
	for full, t := range ecs {
		t.full = full
		m[full] = t
	}
	for short, full := range fullNames {
		if t, ok := m[full]; ok {
			m[short] = t
		}
	}
	return m
}()

// convert validates and normalises a value for its kind.
func convert(k kind, v string, loc *time.Location, now func() time.Time) (string, bool) {
	switch k {
	case kString:
		return v, true
	case kLower:
		return strings.ToLower(v), v != ""
	case kIP:
		a, err := netip.ParseAddr(strings.TrimSpace(v))
		if err != nil {
			return "", false
		}
		return a.String(), true
	case kPort:
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 16)
		if err != nil {
			return "", false
		}
		return strconv.FormatUint(n, 10), true
	case kInt:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return "", false
		}
		return strconv.FormatInt(n, 10), true
	case kTime:
		t, err := parseTime(v, loc, now)
		if err != nil {
			return "", false
		}
		return t.UTC().Format(time.RFC3339Nano), true
	case kOutcome:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "success", "succeeded", "successful", "allowed", "ok":
			return "success", true
		case "failure", "failed", "fail", "denied", "blocked":
			return "failure", true
		case "unknown":
			return "unknown", true
		}
		return "", false
	case kDirection:
		switch strings.TrimSpace(v) {
		case "0":
			return "inbound", true
		case "1":
			return "outbound", true
		}
		return "", false
	}
	return "", false
}
