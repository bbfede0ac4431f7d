package firewall

import (
	"strings"

	"github.com/vigil-siem/vigil/internal/event"
)

// ParseFilterlog maps a pfSense / OPNsense filterlog record (the
// program "filterlog"; pfSense documentation "Filter Log Format") to ECS:
//
//	rule,subrule,anchor,tracker,interface,reason,action,direction,ipversion,
//	  IPv4: tos,ecn,ttl,id,offset,flags,protoid,prototext,length,src,dst,
//	  IPv6: class,flowlabel,hoplimit,prototext,protoid,length,src,dst,
//	  TCP: sport,dport,datalength,flags,seq,ack,window,urg,options
//	  UDP: sport,dport,datalength
//	  ICMP: type[,…]   CARP: type,ttl,vhid,version,advbase,advskew
func ParseFilterlog(e *event.Event, msg string, opt Options) error {
	f := strings.Split(strings.TrimSpace(msg), ",")
	if len(f) < 9 {
		return &Error{Filterlog, -1, "", "want at least 9 comma-separated fields, got " + itoa(len(f))}
	}
	if len(f) > 64 {
		return &Error{Filterlog, -1, "", "more than 64 fields"}
	}
	o := fields{f: make([]event.Field, 0, fieldsHint)}
	o.common("pfsense", "pfsense.log", "", "pf")
	o.set("pfsense.rule_number", f[0])
	o.set("pfsense.sub_rule_number", f[1])
	o.set("pfsense.anchor", f[2])
	o.set("rule.id", f[3])
	action, dir := f[6], f[7]
	switch action {
	case "pass":
		o.verdict(action, true)
		o.set("event.type", "connection")
	case "block", "reject":
		o.verdict(action, false)
	default:
		return &Error{Filterlog, -1, "action", "want pass, block or reject, got " + quoteShort(action)}
	}
	o.set("event.reason", f[5])
	switch dir {
	case "in":
		o.set("network.direction", "ingress")
		o.set("observer.ingress.interface.name", f[4])
	case "out":
		o.set("network.direction", "egress")
		o.set("observer.egress.interface.name", f[4])
	default:
		return &Error{Filterlog, -1, "direction", "want in or out, got " + quoteShort(dir)}
	}
	var proto string
	var rest []string
	switch f[8] {
	case "4":
		if len(f) < 20 {
			return &Error{Filterlog, -1, "ipv4", "want 11 IPv4 fields after the version"}
		}
		o.set("network.type", "ipv4")
		o.set("pfsense.ttl", f[11])
		o.set("pfsense.ip_flags", f[14])
		proto = f[16]
		o.transport(f[15])
		o.transport(proto)
		o.count("network.bytes", f[17])
		if !o.ip("source.ip", f[18]) || !o.ip("destination.ip", f[19]) {
			return &Error{Filterlog, -1, "address", "unreadable IPv4 source or destination"}
		}
		rest = f[20:]
	case "6":
		if len(f) < 17 {
			return &Error{Filterlog, -1, "ipv6", "want 8 IPv6 fields after the version"}
		}
		o.set("network.type", "ipv6")
		o.set("pfsense.hop_limit", f[11])
		proto = f[12]
		o.transport(f[13])
		o.transport(proto)
		o.count("network.bytes", f[14])
		if !o.ip("source.ip", f[15]) || !o.ip("destination.ip", f[16]) {
			return &Error{Filterlog, -1, "address", "unreadable IPv6 source or destination"}
		}
		rest = f[17:]
	default:
		return &Error{Filterlog, -1, "ip version", "want 4 or 6, got " + quoteShort(f[8])}
	}
	at := func(i int) string {
		if i < len(rest) {
			return rest[i]
		}
		return ""
	}
	switch strings.ToLower(proto) {
	case "tcp":
		o.port("source.port", at(0))
		o.port("destination.port", at(1))
		o.set("pfsense.tcp_flags", at(3))
	case "udp":
		o.port("source.port", at(0))
		o.port("destination.port", at(1))
	case "icmp", "ipv6-icmp", "icmpv6":
		o.set("pfsense.icmp_type", at(0))
	case "carp":
		o.set("pfsense.carp_vhid", at(2))
	}
	o.apply(e)
	return nil
}

func quoteShort(s string) string {
	if len(s) > 32 {
		s = s[:32] + "…"
	}
	return "\"" + s + "\""
}
