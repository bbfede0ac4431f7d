package firewall

import (
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

// panTypes are the log types PAN-OS writes in its syslog CSV (field 4).
var panTypes = map[string]bool{"TRAFFIC": true, "THREAT": true, "SYSTEM": true, "CONFIG": true, "GLOBALPROTECT": true,
	"HIPMATCH": true, "USERID": true, "AUTH": true, "CORRELATION": true, "DECRYPTION": true, "TUNNEL": true, "GTP": true, "SCTP": true, "IPTAG": true}

// isPANOS: "FUTURE_USE,yyyy/mm/dd hh:mm:ss,SERIAL,TYPE,…".
func isPANOS(msg string) bool {
	c := strings.IndexByte(msg, ',')
	if c < 0 || c > 8 || len(msg) < c+22 {
		return false
	}
	if _, ok := localTime(msg[c+1:c+20], time.UTC); !ok || msg[c+20] != ',' {
		return false
	}
	rest := msg[c+21:]
	c2 := strings.IndexByte(rest, ',')
	if c2 < 0 || c2 > 32 {
		return false
	}
	rest = rest[c2+1:]
	c3 := strings.IndexByte(rest, ',')
	return c3 > 0 && panTypes[rest[:c3]]
}

// splitCSV splits a PAN-OS CSV record: fields holding commas are in
// double quotes, a quote inside doubled.
func splitCSV(s string, max int) ([]string, *Error) {
	out := make([]string, 0, 64)
	i := 0
	for {
		if len(out) >= max {
			return nil, &Error{PANOS, i, "", "more than 256 fields"}
		}
		if i < len(s) && s[i] == '"' {
			var b strings.Builder
			j := i + 1
			for {
				k := strings.IndexByte(s[j:], '"')
				if k < 0 {
					return nil, &Error{PANOS, i, "", "unterminated quoted field"}
				}
				b.WriteString(s[j : j+k])
				j += k + 1
				if j < len(s) && s[j] == '"' {
					b.WriteByte('"')
					j++
					continue
				}
				break
			}
			out = append(out, b.String())
			if j < len(s) && s[j] != ',' {
				return nil, &Error{PANOS, j, "", "text after a quoted field"}
			}
			if j >= len(s) {
				return out, nil
			}
			i = j + 1
			continue
		}
		k := strings.IndexByte(s[i:], ',')
		if k < 0 {
			return append(out, s[i:]), nil
		}
		out = append(out, s[i:i+k])
		i += k + 1
	}
}

// Field positions of the PAN-OS syslog formats (PAN-OS Administrator's
// Guide, "Syslog Field Descriptions"; the same from PAN-OS 8 to 11, later
// versions only append).
const (
	panReceiveTime = 1
	panSerial      = 2
	panType        = 3
	panSubtype     = 4
	panGenTime     = 6
	// TRAFFIC and THREAT
	panSrc, panDst, panNatSrc, panNatDst             = 7, 8, 9, 10
	panRule, panSrcUser, panDstUser, panApp, panVsys = 11, 12, 13, 14, 15
	panFromZone, panToZone, panInIf, panOutIf        = 16, 17, 18, 19
	panSessionID, panRepeat                          = 22, 23
	panSport, panDport, panNatSport, panNatDport     = 24, 25, 26, 27
	panProto, panAction                              = 29, 30
	// TRAFFIC
	panBytes, panBytesSent, panBytesRecv, panPackets = 31, 32, 33, 34
	panElapsed, panCategory                          = 36, 37
	panSrcLoc, panDstLoc                             = 41, 42
	panPktsSent, panPktsRecv, panEndReason           = 44, 45, 46
	panTrafficDevName                                = 52
	// THREAT
	panURL, panThreatID, panThreatCat, panSeverity, panDirection = 31, 32, 33, 34, 35
	panThreatSrcLoc, panThreatDstLoc                             = 38, 39
	panContentType, panFileDigest, panUserAgent, panFileType     = 41, 43, 46, 47
	panXFF, panReferer                                           = 48, 49
	panThreatDevName                                             = 59
	// SYSTEM
	panSysVsys, panSysEventID, panSysObject, panSysModule = 7, 8, 9, 12
	panSysSeverity, panSysDescription, panSysDevName      = 13, 14, 22
	// CONFIG
	panCfgHost, panCfgVsys, panCfgCommand, panCfgAdmin = 7, 8, 9, 10
	panCfgClient, panCfgResult, panCfgPath             = 11, 12, 13
)

// ParsePANOS maps a PAN-OS syslog CSV record (TRAFFIC, THREAT, SYSTEM,
// CONFIG; other types get the header fields) to ECS. Times are the
// device's local time, read in opt.Location.
func ParsePANOS(e *event.Event, msg string, opt Options) error {
	f, perr := splitCSV(strings.TrimRight(msg, "\r\n"), 256)
	if perr != nil {
		return perr
	}
	if len(f) < 7 || !panTypes[f[panType]] {
		return &Error{PANOS, -1, "type", "not a PAN-OS record"}
	}
	get := func(i int) string {
		if i < len(f) {
			return strings.TrimSpace(f[i])
		}
		return ""
	}
	o := fields{f: make([]event.Field, 0, fieldsHint)}
	typ := f[panType]
	o.common("panw", "panw.panos", "Palo Alto Networks", "PAN-OS")
	t, ok := localTime(get(panGenTime), opt.loc())
	if !ok {
		if t, ok = localTime(get(panReceiveTime), opt.loc()); !ok {
			return &Error{PANOS, -1, "generated time", "unreadable " + get(panGenTime)}
		}
	}
	o.time = t
	o.set("observer.serial_number", get(panSerial))
	o.set("panw.panos.type", typ)
	o.set("panw.panos.subtype", get(panSubtype))
	switch typ {
	case "TRAFFIC", "THREAT":
		if len(f) <= panAction {
			return &Error{PANOS, -1, "action", typ + " record with " + itoa(len(f)) + " fields, want at least 31"}
		}
		o.ip("source.ip", get(panSrc))
		o.ip("destination.ip", get(panDst))
		natIP := func(name, v string) {
			if v != "0.0.0.0" && v != "::" {
				o.ip(name, v)
			}
		}
		natIP("source.nat.ip", get(panNatSrc))
		natIP("destination.nat.ip", get(panNatDst))
		o.set("rule.name", get(panRule))
		o.set("source.user.name", get(panSrcUser))
		o.set("user.name", get(panSrcUser))
		o.set("destination.user.name", get(panDstUser))
		o.set("network.application", get(panApp))
		o.set("panw.panos.vsys", get(panVsys))
		o.set("observer.ingress.zone", get(panFromZone))
		o.set("observer.egress.zone", get(panToZone))
		o.set("observer.ingress.interface.name", get(panInIf))
		o.set("observer.egress.interface.name", get(panOutIf))
		o.set("panw.panos.session_id", get(panSessionID))
		o.port("source.port", get(panSport))
		o.port("destination.port", get(panDport))
		if p := get(panNatSport); p != "0" {
			o.port("source.nat.port", p)
		}
		if p := get(panNatDport); p != "0" {
			o.port("destination.nat.port", p)
		}
		o.transport(get(panProto))
		action := get(panAction)
		allowed := action == "allow" || action == "alert"
		o.verdict(action, allowed)
		if typ == "TRAFFIC" {
			o.set("event.type", map[bool]string{true: "connection", false: "denied"}[allowed])
			if get(panSubtype) == "end" && allowed {
				o.set("event.type", "end")
			} else if get(panSubtype) == "start" && allowed {
				o.set("event.type", "start")
			}
			o.count("network.bytes", get(panBytes))
			o.count("source.bytes", get(panBytesSent))
			o.count("destination.bytes", get(panBytesRecv))
			o.count("network.packets", get(panPackets))
			o.count("source.packets", get(panPktsSent))
			o.count("destination.packets", get(panPktsRecv))
			if el := get(panElapsed); isDigits(el) && len(el) <= 10 {
				n, _ := strconv.ParseInt(el, 10, 64)
				o.set("event.duration", strconv.FormatInt(n*int64(time.Second), 10))
			}
			o.set("panw.panos.url_category", get(panCategory))
			o.set("source.geo.name", get(panSrcLoc))
			o.set("destination.geo.name", get(panDstLoc))
			o.set("event.reason", get(panEndReason))
			o.set("observer.name", get(panTrafficDevName))
		} else {
			sub := get(panSubtype)
			cat := "intrusion_detection"
			switch sub {
			case "virus", "wildfire", "wildfire-virus", "spyware":
				cat = "malware"
			case "url":
				cat = "web"
			case "file", "data":
				cat = "file"
			}
			o.set("event.category", cat)
			if u := get(panURL); u != "" {
				if sub == "url" {
					o.set("url.original", u)
				} else {
					o.set("file.name", u)
				}
			}
			threat := get(panThreatID)
			name, id := threat, ""
			if k := strings.LastIndexByte(threat, '('); k >= 0 && strings.HasSuffix(threat, ")") {
				name, id = strings.TrimSpace(threat[:k]), threat[k+1:len(threat)-1]
			}
			o.set("panw.panos.threat.name", name)
			o.set("panw.panos.threat.id", id)
			o.set("panw.panos.url_category", get(panThreatCat))
			sev := get(panSeverity)
			o.set("log.level", sev)
			if n := map[string]string{"informational": "1", "low": "2", "medium": "3", "high": "4", "critical": "5"}[sev]; n != "" {
				o.set("event.severity", n)
			}
			o.set("network.direction", map[string]string{"client-to-server": "outbound", "server-to-client": "inbound"}[get(panDirection)])
			o.set("source.geo.name", get(panThreatSrcLoc))
			o.set("destination.geo.name", get(panThreatDstLoc))
			o.set("http.response.mime_type", get(panContentType))
			o.set("file.hash.sha256", get(panFileDigest))
			o.set("user_agent.original", get(panUserAgent))
			o.set("file.type", get(panFileType))
			o.set("http.request.referrer", get(panReferer))
			o.set("panw.panos.x_forwarded_for", get(panXFF))
			o.set("observer.name", get(panThreatDevName))
		}
	case "SYSTEM":
		o.set("panw.panos.vsys", get(panSysVsys))
		o.set("event.code", get(panSysEventID))
		o.set("panw.panos.object", get(panSysObject))
		o.set("panw.panos.module", get(panSysModule))
		o.set("log.level", get(panSysSeverity))
		desc := get(panSysDescription)
		o.set("message", desc)
		o.set("observer.name", get(panSysDevName))
		id := get(panSysEventID)
		auth := strings.Contains(id, "auth") || strings.Contains(id, "login") || strings.Contains(id, "logout") || get(panSubtype) == "auth"
		if auth {
			o.set("event.category", "authentication")
		} else {
			o.set("event.category", "host")
		}
		o.set("event.action", id)
		ld := strings.ToLower(desc)
		switch {
		case strings.Contains(id, "fail") || strings.Contains(ld, "failed"):
			o.set("event.outcome", "failure")
		case strings.Contains(id, "success") || strings.Contains(ld, "succeeded") || strings.Contains(ld, "success"):
			o.set("event.outcome", "success")
		}
		o.set("event.type", "info")
		// "User 'alice' … From: 192.0.2.7." (auth-success / auth-fail).
		if u := between(desc, "User '", "'"); u != "" {
			o.set("user.name", u)
		} else if u := between(desc, "user '", "'"); u != "" {
			o.set("user.name", u)
		}
		if _, from, ok := strings.Cut(desc, "From: "); ok {
			ip, _, _ := strings.Cut(from, " ")
			o.ip("source.ip", strings.TrimSuffix(ip, "."))
		}
	case "CONFIG":
		o.ip("source.ip", get(panCfgHost))
		o.set("panw.panos.vsys", get(panCfgVsys))
		o.set("event.action", get(panCfgCommand))
		o.set("user.name", get(panCfgAdmin))
		o.set("panw.panos.client", get(panCfgClient))
		res := get(panCfgResult)
		o.set("event.outcome", map[string]string{"Succeeded": "success", "Failed": "failure", "Unauthorized": "failure"}[res])
		o.set("panw.panos.config_path", get(panCfgPath))
		o.set("event.category", "configuration")
		o.set("event.type", "change")
	default:
		o.set("event.category", "network")
	}
	o.apply(e)
	return nil
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	j := strings.Index(s, end)
	if j <= 0 || j > 256 {
		return ""
	}
	return s[:j]
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
