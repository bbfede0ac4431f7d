package firewall

import (
	"strconv"
	"strings"

	"github.com/vigil-siem/vigil/internal/event"
)

// endpoint is "interface:address/port (mapped-address/mapped-port)" as
// the ASA writes connection ends.
type endpoint struct {
	ifc, ip, port, mip, mport, user string
}

// readEndpoint reads an endpoint at the start of s ("outside:192.0.2.1/443
// (192.0.2.1/443) (LOCAL\alice)") and returns the rest. The interface is
// optional; so are the port, the mapped pair and the user.
func readEndpoint(s string) (ep endpoint, rest string, ok bool) {
	word, rest, _ := strings.Cut(s, " ")
	// interface:ip/port — the interface name may not contain ':', an IPv6
	// address may: cut at the first ':' only when what precedes is no
	// hex-and-colon address.
	if k := strings.IndexByte(word, ':'); k > 0 && !looksIPv6(word) {
		ep.ifc, word = word[:k], word[k+1:]
	}
	ep.ip, ep.port, _ = strings.Cut(word, "/")
	if ep.ip == "" {
		return ep, s, false
	}
	for {
		r := strings.TrimLeft(rest, " ")
		if !strings.HasPrefix(r, "(") {
			break
		}
		k := strings.IndexByte(r, ')')
		if k < 0 {
			break
		}
		inner := r[1:k]
		if a, p, ok := strings.Cut(inner, "/"); ok && ep.mip == "" && (strings.Count(a, ".") == 3 || strings.Contains(a, ":")) {
			ep.mip, ep.mport = a, p
		} else if inner != "" && ep.user == "" {
			ep.user = inner
		}
		rest = r[k+1:]
	}
	return ep, strings.TrimLeft(rest, " "), true
}

func looksIPv6(w string) bool {
	a, _, _ := strings.Cut(w, "/")
	if strings.Count(a, ":") < 2 {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.') {
			return false
		}
	}
	return true
}

func (o *fields) endpoint(prefix string, ep endpoint, ingress bool) {
	o.ip(prefix+".ip", ep.ip)
	o.port(prefix+".port", ep.port)
	if ep.mip != "" && ep.mip != ep.ip {
		o.ip(prefix+".nat.ip", ep.mip)
	}
	if ep.mport != "" && ep.mport != ep.port {
		o.port(prefix+".nat.port", ep.mport)
	}
	if ep.user != "" {
		o.set(prefix+".user.name", ep.user)
	}
	if ep.ifc != "" {
		if ingress {
			o.set("observer.ingress.interface.name", ep.ifc)
		} else {
			o.set("observer.egress.interface.name", ep.ifc)
		}
	}
}

// asaLevels are the names of the ASA's severity digits.
var asaLevels = [8]string{"emergency", "alert", "critical", "error", "warning", "notification", "informational", "debugging"}

// ParseASA maps a Cisco ASA (or FTD) message to ECS. msgid is the tag
// without '%' ("ASA-6-302013"), msg the text after it. Messages the
// parser has no mapping for get the header fields (event.code, log.level)
// and are still ECS events.
func ParseASA(e *event.Event, msgid, msg string, opt Options) error {
	parts := strings.SplitN(msgid, "-", 3)
	if len(parts) != 3 || len(parts[1]) != 1 || parts[1][0] < '0' || parts[1][0] > '7' || !isDigits(parts[2]) {
		return &Error{ASA, -1, "message id", "want ASA-<severity>-<number>, got " + strconv.Quote(msgid)}
	}
	o := fields{f: make([]event.Field, 0, fieldsHint)}
	o.common("cisco", "cisco.asa", "Cisco", parts[0])
	o.set("event.code", parts[2])
	o.set("log.level", asaLevels[parts[1][0]-'0'])
	o.set("event.severity", parts[1])
	msg = strings.TrimSpace(msg)
	if err := asaMessage(&o, parts[2], msg); err != nil {
		return err
	}
	o.apply(e)
	return nil
}

func asaMessage(o *fields, id, m string) error {
	fail := func(what string) error { return &Error{ASA, -1, id, what} }
	switch id {
	case "302013", "302015", "302303": // Built {inbound|outbound} {TCP|UDP} connection N for A to B
		dir, rest, ok := strings.Cut(strings.TrimPrefix(m, "Built "), " ")
		if !ok || !strings.HasPrefix(m, "Built ") {
			return fail("want Built {inbound|outbound} …")
		}
		proto, rest, _ := strings.Cut(rest, " ")
		rest, ok = strings.CutPrefix(rest, "connection ")
		if !ok {
			return fail("want … connection ID for …")
		}
		cid, rest, _ := strings.Cut(rest, " ")
		rest, ok = strings.CutPrefix(rest, "for ")
		if !ok {
			return fail("want for INTERFACE:ADDRESS/PORT")
		}
		a, rest, ok1 := readEndpoint(rest)
		rest, ok2 := strings.CutPrefix(rest, "to ")
		b, _, ok3 := readEndpoint(rest)
		if !ok1 || !ok2 || !ok3 {
			return fail("want for A to B")
		}
		o.transport(proto)
		o.set("cisco.asa.connection_id", cid)
		o.verdict("firewall-rule", true)
		o.set("event.type", "connection")
		o.set("event.action", "connection-built")
		// inbound: the "for" side (the lower-security interface) opened
		// the connection; outbound: the "to" side did.
		if dir == "outbound" {
			a, b = b, a
			o.set("network.direction", "outbound")
		} else {
			o.set("network.direction", "inbound")
		}
		o.endpoint("source", a, true)
		o.endpoint("destination", b, false)
	case "302014", "302016", "302304": // Teardown TCP connection N for A to B duration D bytes N [reason]
		rest, ok := strings.CutPrefix(m, "Teardown ")
		if !ok {
			return fail("want Teardown …")
		}
		proto, rest, _ := strings.Cut(rest, " ")
		rest, ok = strings.CutPrefix(rest, "connection ")
		if !ok {
			return fail("want … connection ID for …")
		}
		cid, rest, _ := strings.Cut(rest, " ")
		rest, _ = strings.CutPrefix(rest, "for ")
		a, rest, ok1 := readEndpoint(rest)
		rest, ok2 := strings.CutPrefix(rest, "to ")
		b, rest, ok3 := readEndpoint(rest)
		if !ok1 || !ok2 || !ok3 {
			return fail("want for A to B")
		}
		o.transport(proto)
		o.set("cisco.asa.connection_id", cid)
		o.verdict("connection-teardown", true)
		o.set("event.type", "end")
		o.endpoint("source", a, true)
		o.endpoint("destination", b, false)
		if d, r, ok := strings.Cut(rest, "duration "); ok && d == "" {
			dur, r2, _ := strings.Cut(r, " ")
			if ns, ok := hmsNanos(dur); ok {
				o.set("event.duration", ns)
			}
			if r3, ok := strings.CutPrefix(r2, "bytes "); ok {
				n, r4, _ := strings.Cut(r3, " ")
				o.count("network.bytes", n)
				if r4 = strings.TrimSpace(r4); r4 != "" {
					o.set("event.reason", strings.TrimSpace(strings.SplitN(r4, " (", 2)[0]))
				}
			}
		}
	case "106023": // Deny PROTO src IFC:IP/PORT dst IFC:IP/PORT [type …] by access-group "ACL" [...]
		rest, ok := strings.CutPrefix(m, "Deny ")
		if !ok {
			return fail("want Deny …")
		}
		proto, rest, _ := strings.Cut(rest, " ")
		rest, ok = strings.CutPrefix(rest, "src ")
		a, rest, ok1 := readEndpoint(rest)
		rest, ok2 := strings.CutPrefix(rest, "dst ")
		b, rest, ok3 := readEndpoint(rest)
		if !ok || !ok1 || !ok2 || !ok3 {
			return fail("want src A dst B")
		}
		o.transport(proto)
		o.verdict("deny", false)
		o.endpoint("source", a, true)
		o.endpoint("destination", b, false)
		if _, acl, ok := strings.Cut(rest, "by access-group "); ok {
			name, _, _ := strings.Cut(strings.TrimPrefix(acl, "\""), "\"")
			o.set("rule.name", name)
		}
	case "106001", "106015": // Inbound TCP connection denied from IP/P to IP/P flags F on interface IFC
		_, rest, ok := strings.Cut(m, " from ")
		if !ok {
			return fail("want … from A to B …")
		}
		a, rest, ok1 := readEndpoint(rest)
		rest, ok2 := strings.CutPrefix(rest, "to ")
		b, rest, ok3 := readEndpoint(rest)
		if !ok1 || !ok2 || !ok3 {
			return fail("want from A to B")
		}
		o.transport("tcp")
		o.verdict("deny", false)
		o.endpoint("source", a, true)
		o.endpoint("destination", b, false)
		if _, ifc, ok := strings.Cut(rest, "on interface "); ok {
			o.set("observer.ingress.interface.name", strings.TrimSuffix(strings.TrimSpace(ifc), "."))
		}
		if _, fl, ok := strings.Cut(rest, "flags "); ok {
			f, _, _ := strings.Cut(fl, " on ")
			o.set("cisco.asa.tcp_flags", f)
		}
	case "106006", "106007": // Deny inbound UDP from IP/P to IP/P on interface IFC
		_, rest, ok := strings.Cut(m, " from ")
		if !ok {
			return fail("want … from A to B …")
		}
		a, rest, ok1 := readEndpoint(rest)
		rest, ok2 := strings.CutPrefix(rest, "to ")
		b, rest, ok3 := readEndpoint(rest)
		if !ok1 || !ok2 || !ok3 {
			return fail("want from A to B")
		}
		o.transport("udp")
		o.verdict("deny", false)
		o.endpoint("source", a, true)
		o.endpoint("destination", b, false)
		if _, ifc, ok := strings.Cut(rest, "on interface "); ok {
			o.set("observer.ingress.interface.name", strings.TrimSuffix(strings.TrimSpace(ifc), "."))
		}
	case "106100": // access-list ACL {permitted|denied|est-allowed} PROTO IFC/IP(P) -> IFC/IP(P) hit-cnt N …
		rest, ok := strings.CutPrefix(m, "access-list ")
		if !ok {
			return fail("want access-list …")
		}
		f := strings.Fields(rest)
		if len(f) < 6 || f[4] != "->" {
			return fail("want access-list ACL ACTION PROTO IFC/ADDR(PORT) -> IFC/ADDR(PORT)")
		}
		acl, action, proto := f[0], f[1], f[2]
		a, ok1 := aclEndpoint(f[3])
		b, ok2 := aclEndpoint(f[5])
		if !ok1 || !ok2 {
			return fail("want IFC/ADDR(PORT)")
		}
		o.transport(proto)
		o.set("rule.name", acl)
		o.verdict(action, action != "denied")
		o.endpoint("source", a, true)
		o.endpoint("destination", b, false)
	case "710003": // {TCP|UDP} access denied by ACL from IP/P to IFC:IP/SERVICE
		proto, _, _ := strings.Cut(m, " ")
		_, rest, ok := strings.Cut(m, " from ")
		a, rest, ok1 := readEndpoint(rest)
		rest, ok2 := strings.CutPrefix(rest, "to ")
		b, _, ok3 := readEndpoint(rest)
		if !ok || !ok1 || !ok2 || !ok3 {
			return fail("want … from A to B")
		}
		o.transport(proto)
		o.verdict("deny", false)
		o.endpoint("source", a, true)
		o.endpoint("destination", b, false)
	case "113004", "113012", "113005", "113015": // AAA user authentication Successful|Rejected : k = v : …
		ok := strings.Contains(m, "Successful")
		o.set("event.category", "authentication")
		o.set("event.action", "aaa-user-authentication")
		o.set("event.type", map[bool]string{true: "start", false: "info"}[ok])
		o.set("event.outcome", map[bool]string{true: "success", false: "failure"}[ok])
		for _, seg := range strings.Split(m, " : ") {
			k, v, found := strings.Cut(seg, " = ")
			if !found {
				continue
			}
			v = strings.TrimSpace(v)
			switch strings.TrimSpace(k) {
			case "user":
				o.set("user.name", strings.TrimSuffix(strings.SplitN(v, ":", 2)[0], " "))
			case "user IP":
				o.ip("source.ip", v)
			case "server":
				o.ip("destination.ip", v)
			case "reason":
				o.set("event.reason", v)
			}
		}
		// 113015 writes "user = bob: user IP = …" without spaces around ':'.
		if _, ipPart, found := strings.Cut(m, "user IP = "); found {
			o.ip("source.ip", strings.TrimSpace(ipPart))
		}
	case "605004", "605005": // Login {denied|permitted} from IP/P to IFC:IP/SERVICE for user "U"
		ok := id == "605005"
		_, rest, found := strings.Cut(m, " from ")
		a, rest, ok1 := readEndpoint(rest)
		rest, ok2 := strings.CutPrefix(rest, "to ")
		b, rest, ok3 := readEndpoint(rest)
		if !found || !ok1 || !ok2 || !ok3 {
			return fail("want Login … from A to B for user …")
		}
		o.set("event.category", "authentication")
		o.set("event.action", "management-login")
		o.set("event.type", map[bool]string{true: "start", false: "denied"}[ok])
		o.set("event.outcome", map[bool]string{true: "success", false: "failure"}[ok])
		o.endpoint("source", a, true)
		o.ip("destination.ip", b.ip)
		o.set("network.protocol", b.port) // the service: ssh, https, telnet
		if _, u, found := strings.Cut(rest, "for user "); found {
			o.set("user.name", strings.Trim(strings.TrimSpace(u), "\""))
		}
	case "611101", "611102": // User authentication {succeeded|failed}: IP address: IP, Uname: U
		ok := id == "611101"
		o.set("event.category", "authentication")
		o.set("event.action", "user-authentication")
		o.set("event.type", map[bool]string{true: "start", false: "info"}[ok])
		o.set("event.outcome", map[bool]string{true: "success", false: "failure"}[ok])
		if _, r, found := strings.Cut(m, "IP address: "); found {
			ip, _, _ := strings.Cut(r, ",")
			o.ip("source.ip", strings.TrimSpace(ip))
		}
		if _, u, found := strings.Cut(m, "Uname: "); found {
			o.set("user.name", strings.TrimSpace(u))
		}
	case "113039", "716001", "716002", "722022", "722037", "722051", "113019":
		// VPN sessions: "Group G User U IP A …" or "Group = G, Username = U, IP = A, …".
		o.set("event.category", "network")
		o.set("event.action", "vpn-session")
		switch id {
		case "113039", "716001", "722022", "722051":
			o.set("event.type", "start")
			o.set("event.outcome", "success")
		default:
			o.set("event.type", "end")
		}
		if g := between(m, "Group <", ">"); g != "" {
			o.set("user.group.name", g)
			o.set("user.name", between(m, "User <", ">"))
			o.ip("source.ip", between(m, "IP <", ">"))
			o.ip("source.nat.ip", between(m, "IPv4 Address <", ">"))
		} else if g := between(m, "Group = ", ","); g != "" {
			o.set("user.group.name", g)
			o.set("user.name", between(m, "Username = ", ","))
			o.ip("source.ip", between(m, "IP = ", ","))
		} else if f := strings.Fields(m); len(f) >= 6 && f[0] == "Group" && f[2] == "User" && f[4] == "IP" {
			o.set("user.group.name", f[1])
			o.set("user.name", f[3])
			o.ip("source.ip", f[5])
		}
		if _, r, ok := strings.Cut(m, "Reason: "); ok {
			o.set("event.reason", strings.TrimSpace(r))
		}
	default:
		o.set("event.category", "network")
	}
	o.set("message", m)
	return nil
}

// aclEndpoint reads "inside/10.0.0.5(51000)".
func aclEndpoint(s string) (endpoint, bool) {
	var ep endpoint
	k := strings.IndexByte(s, '/')
	if k <= 0 {
		return ep, false
	}
	ep.ifc, s = s[:k], s[k+1:]
	ip, port, ok := strings.Cut(s, "(")
	ep.ip = ip
	if ok {
		ep.port = strings.TrimSuffix(port, ")")
	}
	return ep, ep.ip != ""
}

// hmsNanos reads "H:MM:SS" (hours may exceed 24) into nanoseconds.
func hmsNanos(s string) (string, bool) {
	p := strings.Split(s, ":")
	if len(p) != 3 {
		return "", false
	}
	var total int64
	for i, x := range p {
		if !isDigits(x) || len(x) > 6 {
			return "", false
		}
		n, _ := strconv.ParseInt(x, 10, 64)
		if i > 0 && n > 59 {
			return "", false
		}
		total = total*60 + n
	}
	return strconv.FormatInt(total*1e9, 10), true
}
