// Package firewall maps the syslog dialects of the firewalls and VPN
// concentrators hospitals run to Elastic Common Schema network fields:
//
//   - Fortinet FortiGate (FortiOS key=value logs: traffic, utm, event/vpn),
//   - Palo Alto Networks PAN-OS (CSV: TRAFFIC, THREAT, SYSTEM, CONFIG,
//     GLOBALPROTECT),
//   - Cisco ASA / FTD (%ASA-n-nnnnnn messages: connections built and torn
//     down, denies, access lists, AAA and VPN logins),
//   - pfSense and OPNsense (filterlog CSV).
//
// Each parser takes the syslog MSG (and, for the ASA, the message id the
// syslog parser found) and sets source.*, destination.*, network.*,
// event.action/outcome/category/type, rule.*, observer.*, user.name and the
// event time when the record carries one, plus the vendor's own fields
// under fortinet.*, panw.*, cisco.asa.*, pfsense.*. Parsers are pure,
// never panic and leave the event unchanged on error; errors name the
// byte offset or field.
package firewall

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

// Dialect names a firewall log format.
type Dialect string

// Dialects.
const (
	None      Dialect = ""
	Fortinet  Dialect = "fortinet"
	PANOS     Dialect = "panos"
	ASA       Dialect = "asa"
	Filterlog Dialect = "filterlog"
)

// MaxRecord bounds one record (64 KiB).
const MaxRecord = 64 << 10

// Options configure the parsers.
type Options struct {
	// Location is the zone of device times that carry none (PAN-OS,
	// FortiOS without tz); UTC when nil.
	Location *time.Location
}

func (o Options) loc() *time.Location {
	if o.Location != nil {
		return o.Location
	}
	return time.UTC
}

// Error is a parse error.
type Error struct {
	Dialect Dialect
	Offset  int    // byte offset in the record, or -1
	Field   string // the field concerned, when known
	Msg     string
}

func (e *Error) Error() string {
	s := string(e.Dialect) + ": "
	if e.Field != "" {
		s += e.Field + ": "
	}
	s += e.Msg
	if e.Offset >= 0 {
		s += " at byte " + strconv.Itoa(e.Offset)
	}
	return s
}

// Detect tells the dialect of a syslog message from its program name
// (TAG), message id (the Cisco %FAC-SEV-MNEMONIC, as the syslog parser
// reports it in log.syslog.msgid) and text. It does not allocate.
func Detect(program, msgid, msg string) Dialect {
	switch {
	case strings.HasPrefix(msgid, "ASA-") || strings.HasPrefix(msgid, "FTD-"):
		return ASA
	case program == "filterlog":
		return Filterlog
	case isPANOS(msg):
		return PANOS
	case isFortinet(msg):
		return Fortinet
	}
	return None
}

// Parse parses msg in the given dialect into e.
func Parse(e *event.Event, d Dialect, msgid, msg string, opt Options) error {
	if len(msg) > MaxRecord {
		return &Error{d, MaxRecord, "", "record longer than 64 KiB"}
	}
	switch d {
	case Fortinet:
		return ParseFortinet(e, msg, opt)
	case PANOS:
		return ParsePANOS(e, msg, opt)
	case ASA:
		return ParseASA(e, msgid, msg, opt)
	case Filterlog:
		return ParseFilterlog(e, msg, opt)
	}
	return &Error{d, -1, "", "unknown dialect"}
}

// fields collects output before it is written, so that a parser that
// fails leaves the event unchanged.
type fields struct {
	f    []event.Field
	time time.Time
}

// fieldsHint is room for a busy record's fields (a PAN-OS TRAFFIC record
// fills about 40): growing the slice field by field cost more than the
// parsing.
const fieldsHint = 48

func (o *fields) set(name, v string) {
	if v == "" {
		return
	}
	for i := range o.f {
		if o.f[i].Name == name {
			o.f[i].Value = v
			return
		}
	}
	o.f = append(o.f, event.Field{Name: name, Value: v})
}

func (o *fields) apply(e *event.Event) {
	for _, f := range o.f {
		e.Set(f.Name, f.Value)
	}
	if !o.time.IsZero() {
		e.Time = o.time
	}
}

// ip sets name to a valid IP address (without zone or brackets).
func (o *fields) ip(name, v string) bool {
	a, err := netip.ParseAddr(strings.Trim(v, "[]"))
	if err != nil {
		return false
	}
	o.set(name, a.Unmap().String())
	return true
}

// port sets name to a valid port number.
func (o *fields) port(name, v string) {
	if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 65535 && len(v) <= 5 {
		o.set(name, strconv.Itoa(n))
	}
}

// count sets name to a non-negative decimal number.
func (o *fields) count(name, v string) {
	if v != "" && isDigits(v) && len(v) <= 20 {
		o.set(name, strings.TrimLeft(v, "0")+zeroIf(v))
	}
}

func zeroIf(v string) string {
	if strings.TrimLeft(v, "0") == "" {
		return "0"
	}
	return ""
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ianaNames are the transports ECS names by IANA protocol number.
var ianaNames = map[string]string{"1": "icmp", "2": "igmp", "6": "tcp", "17": "udp", "41": "ipv6", "47": "gre",
	"50": "esp", "51": "ah", "58": "ipv6-icmp", "89": "ospf", "112": "vrrp", "132": "sctp"}

// transport sets network.transport (lower case) and network.iana_number
// from a protocol given as a name or a number.
func (o *fields) transport(v string) {
	if v == "" {
		return
	}
	if isDigits(v) {
		o.set("network.iana_number", v)
		if n := ianaNames[v]; n != "" {
			o.set("network.transport", n)
		}
		return
	}
	v = strings.ToLower(v)
	o.set("network.transport", v)
	for num, n := range ianaNames {
		if n == v {
			o.set("network.iana_number", num)
		}
	}
}

// common sets what every firewall event has.
func (o *fields) common(module, dataset, vendor, product string) {
	o.set("event.kind", "event")
	o.set("event.module", module)
	o.set("event.dataset", dataset)
	o.set("observer.vendor", vendor)
	o.set("observer.product", product)
	o.set("observer.type", "firewall")
}

// verdict sets event.action, event.outcome and event.type for a traffic
// decision: allowed (true) or denied.
func (o *fields) verdict(action string, allowed bool) {
	o.set("event.category", "network")
	o.set("event.action", action)
	if allowed {
		o.set("event.type", "allowed")
		o.set("event.outcome", "success")
	} else {
		o.set("event.type", "denied")
		o.set("event.outcome", "failure")
	}
}

// localTime reads "2006/01/02 15:04:05" or "2006-01-02 15:04:05" in loc.
func localTime(s string, loc *time.Location) (time.Time, bool) {
	if len(s) != 19 || (s[4] != '/' && s[4] != '-') || s[7] != s[4] || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	n := func(a, b int) int {
		v, err := strconv.Atoi(s[a:b])
		if err != nil {
			return -1
		}
		return v
	}
	y, mo, d, h, mi, se := n(0, 4), n(5, 7), n(8, 10), n(11, 13), n(14, 16), n(17, 19)
	if y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, se, 0, loc)
	return t, t.Day() == d
}
