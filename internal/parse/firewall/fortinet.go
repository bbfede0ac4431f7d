package firewall

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/kv"
)

// isFortinet: FortiOS logs are key=value pairs with a logid and the
// device's name or id (or date) near the start.
func isFortinet(msg string) bool {
	head := msg[:min(len(msg), 400)]
	return strings.Contains(head, "logid=") && (strings.HasPrefix(msg, "date=") || strings.HasPrefix(msg, "logver=") ||
		strings.Contains(head, "devid=") || strings.Contains(head, "devname="))
}

var kvPool = sync.Pool{New: func() any { return kv.NewParser(kv.Options{NoPrefix: true, Duplicates: kv.DuplicateLast}) }}

// notApplicable are FortiOS's placeholders for an absent value.
func notApplicable(v string) bool {
	return v == "" || v == "N/A" || v == "n/a" || v == "none" || v == "Reserved" || v == "undefined"
}

// ParseFortinet maps a FortiOS log (FortiOS Log Reference: traffic, utm
// and event logs, 6.x/7.x) to ECS. Every pair is kept under fortinet.<key>.
func ParseFortinet(e *event.Event, msg string, opt Options) error {
	p := kvPool.Get().(*kv.Parser)
	pairs, _, err := p.Pairs([]byte(msg))
	o := fields{f: make([]event.Field, 0, fieldsHint)}
	if err == nil {
		err = fortinetFields(&o, pairs, opt)
	}
	kvPool.Put(p)
	if err != nil {
		if ke, ok := err.(*kv.Error); ok {
			return &Error{Fortinet, ke.Offset, ke.Key, ke.Msg}
		}
		return err
	}
	o.apply(e)
	return nil
}

func fortinetFields(o *fields, pairs []kv.Pair, opt Options) error {
	v := make(map[string]string, len(pairs))
	for _, p := range pairs {
		v[p.Key] = p.Value
	}
	if v["logid"] == "" {
		return &Error{Fortinet, -1, "logid", "missing"}
	}
	typ, sub := v["type"], v["subtype"]
	o.common("fortinet", "fortinet.firewall", "Fortinet", "FortiGate")
	// Time: eventtime (epoch, s/µs/ns by magnitude) is exact; else date
	// and time, in tz when given.
	if t, ok := fortinetEventTime(v["eventtime"]); ok {
		o.time = t
	} else if t, ok := localTime(v["date"]+" "+v["time"], fortinetZone(v["tz"], opt.loc())); ok {
		o.time = t
	} else if v["date"] != "" || v["time"] != "" {
		return &Error{Fortinet, -1, "date", "unreadable date and time " + strconv.Quote(v["date"]+" "+v["time"])}
	}
	o.set("event.code", v["logid"])
	o.set("observer.name", v["devname"])
	o.set("observer.serial_number", v["devid"])
	o.set("log.level", v["level"])
	o.set("message", firstOf(v["msg"], v["logdesc"]))
	for _, s := range []string{"srcip", "remip"} {
		if o.ip("source.ip", v[s]) {
			break
		}
	}
	o.port("source.port", firstOf(v["srcport"], v["remport"]))
	o.ip("destination.ip", firstOf(v["dstip"], v["locip"]))
	o.port("destination.port", firstOf(v["dstport"], v["locport"]))
	o.set("source.mac", v["srcmac"])
	o.set("destination.mac", v["dstmac"])
	if c := v["srccountry"]; !notApplicable(c) {
		o.set("source.geo.country_name", c)
	}
	if c := v["dstcountry"]; !notApplicable(c) {
		o.set("destination.geo.country_name", c)
	}
	o.ip("source.nat.ip", v["transip"])
	o.port("source.nat.port", v["transport"])
	o.ip("destination.nat.ip", v["tranip"])
	o.port("destination.nat.port", v["tranport"])
	o.set("observer.ingress.interface.name", v["srcintf"])
	o.set("observer.egress.interface.name", firstOf(v["dstintf"], v["outintf"]))
	o.transport(v["proto"])
	if s := v["service"]; s != "" {
		o.set("network.protocol", strings.ToLower(s))
	}
	o.set("network.application", v["app"])
	o.count("source.bytes", v["sentbyte"])
	o.count("destination.bytes", v["rcvdbyte"])
	o.count("source.packets", v["sentpkt"])
	o.count("destination.packets", v["rcvdpkt"])
	if d := v["duration"]; isDigits(d) && len(d) <= 12 {
		n, _ := strconv.ParseInt(d, 10, 64)
		o.set("event.duration", strconv.FormatInt(n*int64(time.Second), 10))
	}
	o.set("rule.id", v["policyid"])
	o.set("rule.name", v["policyname"])
	o.set("rule.uuid", v["poluuid"])
	for _, k := range []string{"user", "xauthuser", "srcuser", "unauthuser"} {
		if u := v[k]; !notApplicable(u) {
			o.set("user.name", u)
			break
		}
	}
	if g := v["group"]; !notApplicable(g) {
		o.set("user.group.name", g)
	}
	o.set("url.original", v["url"])
	o.set("url.domain", v["hostname"])
	action := v["action"]
	switch typ {
	case "traffic":
		switch action {
		case "accept", "close", "timeout", "server-rst", "client-rst", "start", "ip-conn":
			o.verdict(action, true)
		case "":
			o.set("event.category", "network")
		default: // deny, dns, blocked, ...
			o.verdict(action, false)
		}
		if o.get("event.type") == "" {
			o.set("event.type", "connection")
		}
	case "utm":
		cat := map[string]string{"virus": "malware", "ips": "intrusion_detection", "anomaly": "intrusion_detection",
			"webfilter": "web", "app-ctrl": "network", "dlp": "file", "emailfilter": "email", "dns": "network"}[sub]
		if cat == "" {
			cat = "network"
		}
		o.set("event.category", cat)
		o.set("event.action", action)
		switch action {
		case "blocked", "dropped", "reset", "deny", "block":
			o.set("event.type", "denied")
			o.set("event.outcome", "failure")
		case "passthrough", "pass", "allowed", "monitored", "detected":
			o.set("event.type", "allowed")
			o.set("event.outcome", "success")
		default:
			o.set("event.type", "info")
		}
	default: // event: system, vpn, user, ...
		o.set("event.action", action)
		login := strings.Contains(action, "login") || strings.Contains(action, "logout") || strings.Contains(action, "auth") ||
			strings.Contains(strings.ToLower(v["logdesc"]), "login") || sub == "user"
		if login {
			o.set("event.category", "authentication")
		} else if sub == "vpn" {
			o.set("event.category", "network")
		} else {
			o.set("event.category", "configuration")
		}
		switch {
		case v["status"] == "success" || strings.HasSuffix(action, "-success") || action == "tunnel-up":
			o.set("event.outcome", "success")
		case v["status"] == "failure" || v["status"] == "failed" || strings.Contains(action, "fail") ||
			strings.Contains(v["status"], "error") || strings.Contains(v["status"], "fail"):
			o.set("event.outcome", "failure")
		}
		switch {
		case strings.Contains(action, "logout") || action == "tunnel-down":
			o.set("event.type", "end")
		case strings.Contains(action, "login") || action == "tunnel-up":
			o.set("event.type", "start")
		default:
			o.set("event.type", "info")
		}
		o.set("event.reason", firstOf(v["reason"]))
	}
	for _, p := range pairs {
		if p.Key != "" && len(p.Key) <= 64 && !strings.ContainsAny(p.Key, ". ") {
			o.set("fortinet."+p.Key, p.Value)
		}
	}
	return nil
}

func (o *fields) get(name string) string {
	for _, f := range o.f {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

func firstOf(v ...string) string {
	for _, s := range v {
		if !notApplicable(s) {
			return s
		}
	}
	return ""
}

// fortinetEventTime reads eventtime: seconds, microseconds or nanoseconds
// since the epoch, told apart by magnitude.
func fortinetEventTime(s string) (time.Time, bool) {
	if !isDigits(s) || len(s) > 19 {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	switch {
	case n < 1e11:
		return time.Unix(n, 0).UTC(), true
	case n < 1e14:
		return time.UnixMilli(n).UTC(), true
	case n < 1e17:
		return time.UnixMicro(n).UTC(), true
	}
	return time.Unix(0, n).UTC(), true
}

// fortinetZone reads tz="-0700" / "+0530"; loc otherwise.
func fortinetZone(tz string, loc *time.Location) *time.Location {
	if len(tz) == 5 && (tz[0] == '+' || tz[0] == '-') && isDigits(tz[1:]) {
		h, _ := strconv.Atoi(tz[1:3])
		m, _ := strconv.Atoi(tz[3:5])
		off := h*3600 + m*60
		if tz[0] == '-' {
			off = -off
		}
		return time.FixedZone(tz, off)
	}
	return loc
}
