// Package linuxauth recognises the authentication messages Linux systems
// log through syslog — sshd, sudo, su, pam_unix and its siblings,
// unix_chkpwd — and adds the facts they state to an event as Elastic Common
// Schema fields: event.category "authentication", event.action,
// event.outcome, event.type, event.reason, user.name, source.ip,
// source.port, service.name and a few system.auth.* details.
//
// The event.action values and fields are a contract with the detection
// rules; docs/schema.md lists them. Recognition is by the process name and
// message prefix first, then plain string scanning: no regular
// expressions.
package linuxauth

import (
	"net/netip"
	"strings"

	"github.com/vigil-siem/vigil/internal/event"
)

// Actions (event.action values).
const (
	ActionSSHLogin       = "ssh_login"
	ActionSSHInvalidUser = "ssh_invalid_user"
	ActionSSHDisconnect  = "ssh_disconnect"
	ActionSSHLoginDenied = "ssh_login_denied"
	ActionSudo           = "sudo"
	ActionSu             = "su"
	ActionPAMAuth        = "pam_auth"
	ActionSessionOpen    = "session_open"
	ActionSessionClose   = "session_close"
)

// Reasons (event.reason values).
const (
	ReasonAccountLocked     = "account_locked"
	ReasonAccountExpired    = "account_expired"
	ReasonAccountDisabled   = "account_disabled"
	ReasonPasswordExpired   = "password_expired"
	ReasonNotAllowed        = "not_allowed"
	ReasonInvalidShell      = "invalid_shell"
	ReasonUserUnknown       = "user_unknown"
	ReasonIncorrectPassword = "incorrect_password"
	ReasonPasswordRequired  = "password_required"
)

// Extract adds the authentication facts stated by message, logged by the
// process named process, to e. It reports whether it recognised the
// message; when it did not, e is unchanged.
//
// Fields are appended without checking for existing ones of the same
// name: call it on events that do not carry these fields yet (the syslog
// parser's output), or use ExtractInto.
func Extract(e *event.Event, process, message string) bool {
	if message == "" {
		return false
	}
	// rsyslog's "message repeated N times: [ MSG]".
	repeat := ""
	if strings.HasPrefix(message, "message repeated ") {
		n, inner, ok := cutRepeated(message)
		if !ok {
			return false
		}
		repeat, message = n, inner
		if message == "" {
			return false
		}
	}
	var ok bool
	prog, module, old := oldPAM(process)
	switch {
	case strings.HasPrefix(message, "pam_"):
		ok = pam(e, message)
	case old:
		// Linux-PAM before 0.99 (RHEL/CentOS 4 and 5, many appliances) named
		// the module in the program: "sshd(pam_unix)[4242]: authentication
		// failure; …", "crond(pam_unix)[1]: session opened for user root by
		// (uid=0)"; the message has no "pam_unix(service:type): " prefix.
		ok = pamText(e, module, prog, message)
	case strings.HasPrefix(process, "sshd"): // sshd, sshd-session, sshd-auth (OpenSSH >= 9.8)
		ok = sshd(e, message)
	case process == "sudo":
		ok = sudo(e, message)
	case process == "su":
		ok = su(e, message)
	case process == "unix_chkpwd":
		ok = chkpwd(e, message)
	}
	if ok && repeat != "" {
		e.Add("log.syslog.repeat_count", repeat)
	}
	return ok
}

// ExtractInto is Extract for events that may already hold some of the
// fields it writes (events received as JSON): existing values are
// replaced, not duplicated. scratch is reused between calls to avoid
// allocating; pass nil if you have none.
func ExtractInto(e *event.Event, process, message string, scratch *event.Event) bool {
	if scratch == nil {
		scratch = &event.Event{}
	}
	scratch.Reset()
	if !Extract(scratch, process, message) {
		return false
	}
	for _, f := range scratch.Fields {
		e.Set(f.Name, f.Value)
	}
	return true
}

// cutRepeated splits "message repeated 3 times: [ MSG]".
func cutRepeated(m string) (n, inner string, ok bool) {
	rest := m[len("message repeated "):]
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i == 0 {
		return "", "", false
	}
	n, rest = rest[:i], rest[i:]
	rest, ok = strings.CutPrefix(rest, " times: [")
	if !ok {
		return "", "", false
	}
	rest = strings.TrimPrefix(rest, " ")
	rest = strings.TrimSuffix(rest, "]")
	return n, rest, true
}

// begin appends the fields every recognised message has.
func begin(e *event.Event, action, outcome, typ string) {
	e.Add("event.category", "authentication")
	e.Add("event.action", action)
	e.Add("event.outcome", outcome)
	e.Add("event.type", typ)
}

func addIf(e *event.Event, name, value string) {
	if value != "" {
		e.Add(name, value)
	}
}

// addSource records a remote address: source.ip when it is an IP
// address; a host name (PAM's rhost=, sshd with UseDNS) in source.domain
// and in source.address, ECS's field for an address as it was logged.
// Correlations grouped by source.ip fall back to source.address, so remote
// hosts known only by name stay apart. (ECS would copy an IP address to
// source.address too; it would say nothing more and is not stored twice.)
func addSource(e *event.Event, host, port string) {
	if host == "" || host == "UNKNOWN" {
		return
	}
	if a, err := netip.ParseAddr(host); err == nil && a.IsValid() {
		e.Add("source.ip", host)
	} else if isHostName(host) {
		e.Add("source.address", host)
		e.Add("source.domain", host)
	} else {
		return
	}
	if isPort(port) {
		e.Add("source.port", port)
	}
}

func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

func isPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// addrPort reads "HOST[ port PORT]" at the start of s and returns the rest.
func addrPort(s string) (host, port, rest string) {
	i := strings.IndexByte(s, ' ')
	if i < 0 {
		return trimColon(s), "", ""
	}
	host, rest = s[:i], s[i:]
	if r, ok := strings.CutPrefix(rest, " port "); ok {
		j := 0
		for j < len(r) && r[j] >= '0' && r[j] <= '9' {
			j++
		}
		port, rest = r[:j], r[j:]
	}
	return trimColon(host), port, rest
}

// trimColon drops the colon of "1.2.3.4:" (old "Received disconnect from
// 1.2.3.4: 11: ..."); an IPv6 address never ends with one.
func trimColon(h string) string {
	if strings.HasSuffix(h, ":") && !strings.HasSuffix(h, "::") {
		return h[:len(h)-1]
	}
	return h
}

// lastAddrPort finds the last "HOST port PORT" in s, where HOST is the word
// before " port ", and returns what precedes HOST and what follows PORT.
// Searching from the end keeps attacker-chosen user names (which may hold
// spaces and the word "port") from being taken as the address.
func lastAddrPort(s string) (before, host, port, after string, ok bool) {
	end := len(s)
	for {
		k := strings.LastIndex(s[:end], " port ")
		if k < 0 {
			return "", "", "", "", false
		}
		j := k + len(" port ")
		p := j
		for p < len(s) && s[p] >= '0' && s[p] <= '9' {
			p++
		}
		h := strings.LastIndexByte(s[:k], ' ') + 1
		if p > j && h < k {
			return s[:max(h-1, 0)], s[h:k], s[j:p], s[p:], true
		}
		end = k
	}
}

// sshd handles the messages of OpenSSH's server.
func sshd(e *event.Event, m string) bool {
	// OpenSSH logs some of these at error level through error(), which
	// prefixes "error: " ("error: Received disconnect from … [preauth]").
	if r, ok := strings.CutPrefix(m, "error: "); ok {
		if strings.HasPrefix(r, "maximum authentication attempts exceeded") || strings.HasPrefix(r, "PAM: ") {
			// Summaries of failures logged one by one (see docs/schema.md).
			return false
		}
		m = r
	}
	if m == "" {
		return false
	}
	switch m[0] {
	case 'A':
		if rest, ok := strings.CutPrefix(m, "Accepted "); ok {
			return sshLogin(e, rest, "success")
		}
		if rest, ok := strings.CutPrefix(m, "Account "); ok {
			// auth-shadow.c, without PAM: "Account bob has expired".
			if user, ok := strings.CutSuffix(rest, " has expired"); ok {
				begin(e, ActionSSHLoginDenied, "failure", "denied")
				e.Add("event.reason", ReasonAccountExpired)
				addIf(e, "user.name", user)
				return true
			}
		}
	case 'F':
		if rest, ok := strings.CutPrefix(m, "Failed "); ok {
			return sshLogin(e, rest, "failure")
		}
	case 'I':
		if rest, ok := strings.CutPrefix(m, "Invalid user "); ok {
			// "Invalid user NAME from HOST[ port PORT]"
			// The name is the attacker's choice: search from the end.
			// An empty one leaves rest starting with " from ".
			k := strings.LastIndex(rest, " from ")
			if k < 0 {
				return false
			}
			begin(e, ActionSSHInvalidUser, "failure", "info")
			addIf(e, "user.name", rest[:k])
			host, port, _ := addrPort(rest[k+len(" from "):])
			addSource(e, host, port)
			return true
		}
	case 'C':
		if rest, ok := strings.CutPrefix(m, "Connection closed by "); ok {
			return sshDisconnect(e, rest)
		}
		if rest, ok := strings.CutPrefix(m, "Connection reset by "); ok {
			return sshDisconnect(e, rest)
		}
	case 'D':
		if rest, ok := strings.CutPrefix(m, "Disconnected from "); ok {
			return sshDisconnect(e, rest)
		}
		if rest, ok := strings.CutPrefix(m, "Disconnecting "); ok {
			// "Disconnecting invalid user x 1.2.3.4 port 22: Too many authentication failures [preauth]"
			return sshDisconnect(e, rest)
		}
	case 'R':
		if rest, ok := strings.CutPrefix(m, "Received disconnect from "); ok {
			// "1.2.3.4 port 22:11: Bye Bye [preauth]", old "1.2.3.4: 11: Bye Bye"
			begin(e, ActionSSHDisconnect, "unknown", "end")
			host, port, _ := addrPort(rest)
			addSource(e, host, port)
			return true
		}
		if rest, ok := strings.CutPrefix(m, "ROOT LOGIN REFUSED FROM "); ok {
			begin(e, ActionSSHLoginDenied, "failure", "denied")
			e.Add("event.reason", ReasonNotAllowed)
			e.Add("user.name", "root")
			host, port, _ := addrPort(rest)
			addSource(e, host, port)
			return true
		}
	case 'U':
		if rest, ok := strings.CutPrefix(m, "User "); ok {
			return sshNotAllowed(e, rest)
		}
	}
	return false
}

// sshLogin handles "METHOD for [invalid user ]USER from HOST port PORT ssh2[: SIGNATURE]".
func sshLogin(e *event.Event, rest, outcome string) bool {
	sp := strings.IndexByte(rest, ' ')
	if sp <= 0 {
		return false
	}
	method := rest[:sp]
	rest, ok := strings.CutPrefix(rest[sp:], " for ")
	if !ok {
		return false
	}
	action := ActionSSHLogin
	invalid := false
	if r, ok := strings.CutPrefix(rest, "invalid user "); ok && outcome == "failure" {
		action, invalid, rest = ActionSSHInvalidUser, true, r
	} else if r, ok := strings.CutPrefix(rest, "illegal user "); ok && outcome == "failure" {
		action, invalid, rest = ActionSSHInvalidUser, true, r
	}
	// A valid user's name has no spaces; an invalid one may have any.
	var k int
	if invalid {
		k = strings.LastIndex(rest, " from ")
	} else {
		k = strings.Index(rest, " from ")
	}
	if k < 0 {
		return false
	}
	user := rest[:k]
	host, port, tail := addrPort(rest[k+len(" from "):])
	typ := "start"
	if outcome != "success" {
		typ = "info"
	}
	begin(e, action, outcome, typ)
	e.Add("system.auth.ssh.method", method)
	addIf(e, "user.name", user)
	addSource(e, host, port)
	if sig, ok := strings.CutPrefix(tail, " ssh2: "); ok {
		addIf(e, "system.auth.ssh.signature", sig)
	}
	return true
}

// sshDisconnect handles "[authenticating |invalid ]user USER] HOST port PORT[...]".
func sshDisconnect(e *event.Event, rest string) bool {
	before, host, port, _, ok := lastAddrPort(rest)
	if !ok {
		// Old form without port: "Connection closed by 1.2.3.4".
		host, _, _ = addrPort(rest)
		if _, err := netip.ParseAddr(host); err != nil {
			return false
		}
		before = ""
	}
	user := ""
	switch {
	case before == "":
	case strings.HasPrefix(before, "authenticating user "):
		user = before[len("authenticating user "):]
	case strings.HasPrefix(before, "invalid user "):
		user = before[len("invalid user "):]
	case strings.HasPrefix(before, "user "):
		user = before[len("user "):]
	default:
		return false
	}
	begin(e, ActionSSHDisconnect, "unknown", "end")
	addIf(e, "user.name", user)
	addSource(e, host, port)
	return true
}

// sshNotAllowed handles "User USER [from HOST ]not allowed because REASON"
// and "User USER password has expired (...)".
func sshNotAllowed(e *event.Event, rest string) bool {
	if user, _, ok := strings.Cut(rest, " password has expired"); ok && !strings.Contains(user, " ") {
		begin(e, ActionSSHLoginDenied, "failure", "denied")
		e.Add("event.reason", ReasonPasswordExpired)
		e.Add("user.name", user)
		return true
	}
	k := strings.LastIndex(rest, " not allowed because ")
	if k < 0 {
		return false
	}
	who, why := rest[:k], rest[k+len(" not allowed because "):]
	user, host := who, ""
	if j := strings.LastIndex(who, " from "); j >= 0 {
		user, host = who[:j], who[j+len(" from "):]
	}
	reason := ReasonNotAllowed
	switch {
	case why == "account is locked":
		reason = ReasonAccountLocked
	case why == "account has expired":
		reason = ReasonAccountExpired
	case strings.HasPrefix(why, "shell "):
		reason = ReasonInvalidShell
	}
	begin(e, ActionSSHLoginDenied, "failure", "denied")
	e.Add("event.reason", reason)
	addIf(e, "user.name", user)
	addSource(e, host, "")
	return true
}

// sudo handles "USER : [ERROR ; ]TTY=t ; PWD=p ; USER=u ; [KEY=v ; ]COMMAND=c".
func sudo(e *event.Event, m string) bool {
	m = strings.TrimLeft(m, " ")
	k := strings.Index(m, " : ")
	if k <= 0 || strings.IndexByte(m[:k], ' ') >= 0 {
		return false
	}
	user, rest := m[:k], m[k+3:]
	var errText, tty, pwd, target, command string
	for rest != "" {
		if c, ok := strings.CutPrefix(rest, "COMMAND="); ok {
			command = c
			break
		}
		seg, r, _ := strings.Cut(rest, " ; ")
		rest = r
		switch {
		case strings.HasPrefix(seg, "TTY="):
			tty = seg[4:]
		case strings.HasPrefix(seg, "PWD="):
			pwd = seg[4:]
		case strings.HasPrefix(seg, "USER="):
			target = seg[5:]
		case isKeyValue(seg):
			// GROUP=, TSID=, ENV=, CHROOT=, ...
		default:
			if errText == "" {
				errText = seg
			}
		}
	}
	if command == "" && target == "" {
		return false
	}
	outcome, typ, reason := "success", "start", ""
	switch {
	case errText == "":
	case strings.Contains(errText, "incorrect password attempt"):
		outcome, typ, reason = "failure", "info", ReasonIncorrectPassword
	case strings.Contains(errText, "NOT in sudoers"), strings.Contains(errText, "not allowed"),
		strings.Contains(errText, "NOT allowed"):
		outcome, typ, reason = "failure", "denied", ReasonNotAllowed
	case strings.Contains(errText, "password is required"):
		outcome, typ, reason = "failure", "info", ReasonPasswordRequired
	default:
		outcome, typ = "failure", "info"
	}
	begin(e, ActionSudo, outcome, typ)
	addIf(e, "event.reason", reason)
	e.Add("user.name", user)
	addIf(e, "user.effective.name", target)
	addIf(e, "process.command_line", command)
	addIf(e, "system.auth.sudo.tty", tty)
	addIf(e, "system.auth.sudo.pwd", pwd)
	addIf(e, "system.auth.sudo.error", errText)
	return true
}

// isKeyValue reports whether seg is "KEY=value" with KEY a single word.
func isKeyValue(seg string) bool {
	k := strings.IndexByte(seg, '=')
	return k > 0 && strings.IndexByte(seg[:k], ' ') < 0
}

// su handles util-linux "(to root) bob on pts/0", "FAILED SU (to root) bob
// on pts/0" and shadow's "Successful su for root by bob", "FAILED su for
// root by bob".
func su(e *event.Event, m string) bool {
	outcome, typ := "success", "start"
	rest := m
	if r, ok := strings.CutPrefix(m, "FAILED SU "); ok {
		outcome, typ, rest = "failure", "info", r
	}
	if r, ok := strings.CutPrefix(rest, "(to "); ok {
		k := strings.IndexByte(r, ')')
		if k < 0 {
			return false
		}
		target, r := r[:k], strings.TrimPrefix(r[k+1:], " ")
		user, tty, _ := strings.Cut(r, " on ")
		begin(e, ActionSu, outcome, typ)
		addIf(e, "user.name", user)
		addIf(e, "user.effective.name", target)
		addIf(e, "system.auth.su.tty", tty)
		return true
	}
	if r, ok := strings.CutPrefix(m, "Successful su for "); ok {
		target, user, ok := strings.Cut(r, " by ")
		if !ok {
			return false
		}
		begin(e, ActionSu, "success", "start")
		addIf(e, "user.name", user)
		addIf(e, "user.effective.name", target)
		return true
	}
	if r, ok := strings.CutPrefix(m, "FAILED su for "); ok {
		target, user, ok := strings.Cut(r, " by ")
		if !ok {
			return false
		}
		begin(e, ActionSu, "failure", "info")
		addIf(e, "user.name", user)
		addIf(e, "user.effective.name", target)
		return true
	}
	return false
}

// oldPAM splits a program name of the form "PROGRAM(pam_MODULE)".
func oldPAM(process string) (prog, module string, ok bool) {
	open := strings.Index(process, "(pam_")
	if open <= 0 || !strings.HasSuffix(process, ")") {
		return "", "", false
	}
	return process[:open], process[open+1 : len(process)-1], true
}

// pamText handles the text of a PAM message whose management group is
// not stated (the old "PROGRAM(pam_MODULE)" form): authentication,
// account and session messages are told apart by their wording.
func pamText(e *event.Event, module, service, text string) bool {
	return pamAuth(e, module, service, text) || pamAccount(e, module, service, text) || pamSession(e, module, service, text)
}

// pam handles "pam_MODULE(SERVICE:TYPE): TEXT".
func pam(e *event.Event, m string) bool {
	open := strings.IndexByte(m, '(')
	colon := strings.IndexByte(m, ':')
	closeAt := strings.Index(m, "): ")
	if open < 0 || colon < open || closeAt < colon {
		return false
	}
	module, service, kind, text := m[:open], m[open+1:colon], m[colon+1:closeAt], m[closeAt+3:]
	switch kind {
	case "auth":
		return pamAuth(e, module, service, text)
	case "account":
		return pamAccount(e, module, service, text)
	case "session":
		return pamSession(e, module, service, text)
	}
	return false
}

func pamAuth(e *event.Event, module, service, text string) bool {
	switch {
	case strings.HasPrefix(text, "authentication failure;"):
		begin(e, ActionPAMAuth, "failure", "info")
		pamCommon(e, module, service)
		pamKV(e, text[len("authentication failure;"):])
		return true
	case strings.HasPrefix(text, "authentication success;"): // pam_sss
		begin(e, ActionPAMAuth, "success", "info")
		pamCommon(e, module, service)
		pamKV(e, text[len("authentication success;"):])
		return true
	case text == "check pass; user unknown":
		begin(e, ActionPAMAuth, "failure", "info")
		e.Add("event.reason", ReasonUserUnknown)
		pamCommon(e, module, service)
		return true
	case strings.HasPrefix(text, "auth could not identify password for ["):
		user := strings.TrimSuffix(text[len("auth could not identify password for ["):], "]")
		begin(e, ActionPAMAuth, "failure", "info")
		pamCommon(e, module, service)
		addIf(e, "user.name", user)
		return true
	case strings.HasPrefix(text, "Consecutive login failures for user "): // pam_faillock
		user, _, _ := strings.Cut(text[len("Consecutive login failures for user "):], " ")
		begin(e, ActionPAMAuth, "failure", "denied")
		e.Add("event.reason", ReasonAccountLocked)
		pamCommon(e, module, service)
		addIf(e, "user.name", user)
		return true
	}
	return false
}

func pamAccount(e *event.Event, module, service, text string) bool {
	switch {
	case strings.HasPrefix(text, "account ") && strings.Contains(text, " has expired"):
		// "account bob has expired (account expired)"
		user := text[len("account "):strings.Index(text, " has expired")]
		begin(e, ActionPAMAuth, "failure", "denied")
		e.Add("event.reason", ReasonAccountExpired)
		pamCommon(e, module, service)
		addIf(e, "user.name", user)
		return true
	case strings.HasPrefix(text, "expired password for user "):
		// "expired password for user bob (password aged)"
		user, _, _ := strings.Cut(text[len("expired password for user "):], " ")
		begin(e, ActionPAMAuth, "failure", "denied")
		e.Add("event.reason", ReasonPasswordExpired)
		pamCommon(e, module, service)
		addIf(e, "user.name", user)
		return true
	}
	return false
}

func pamSession(e *event.Event, module, service, text string) bool {
	opened := false
	var rest string
	if r, ok := strings.CutPrefix(text, "session opened for user "); ok {
		opened, rest = true, r
	} else if r, ok := strings.CutPrefix(text, "session closed for user "); ok {
		rest = r
	} else {
		return false
	}
	// "bob(uid=1000) by (uid=0)" or "bob by (uid=0)" or "bob"
	target, by, _ := strings.Cut(rest, " by ")
	target, uid := splitUID(target)
	byUser, _ := splitUID(by)
	if opened && (service == "su" || service == "su-l") {
		begin(e, ActionSu, "success", "start")
		pamCommon(e, module, service)
		addIf(e, "user.name", byUser)
		addIf(e, "user.effective.name", target)
		addIf(e, "user.effective.id", uid)
		return true
	}
	if opened {
		begin(e, ActionSessionOpen, "success", "start")
	} else {
		begin(e, ActionSessionClose, "success", "end")
	}
	pamCommon(e, module, service)
	addIf(e, "user.name", target)
	addIf(e, "user.id", uid)
	return true
}

// splitUID splits "bob(uid=1000)" into "bob", "1000".
func splitUID(s string) (name, uid string) {
	k := strings.Index(s, "(uid=")
	if k < 0 {
		return s, ""
	}
	return s[:k], strings.TrimSuffix(s[k+len("(uid="):], ")")
}

func pamCommon(e *event.Event, module, service string) {
	addIf(e, "service.name", service)
	e.Add("system.auth.pam.module", module)
}

// pamKV reads " logname=X uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=bob".
func pamKV(e *event.Event, s string) {
	for s != "" {
		s = strings.TrimLeft(s, " ")
		var kv string
		kv, s, _ = strings.Cut(s, " ")
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			continue
		}
		switch k {
		case "user":
			e.Add("user.name", v)
		case "rhost":
			addSource(e, v, "")
		case "tty":
			e.Add("system.auth.pam.tty", v)
		case "ruser":
			e.Add("system.auth.pam.ruser", v)
		case "logname":
			e.Add("system.auth.pam.logname", v)
		}
	}
}

// chkpwd handles unix_chkpwd's "password check failed for user (bob)" and
// "account bob has expired (account expired)".
func chkpwd(e *event.Event, m string) bool {
	if r, ok := strings.CutPrefix(m, "password check failed for user ("); ok {
		begin(e, ActionPAMAuth, "failure", "info")
		addIf(e, "user.name", strings.TrimSuffix(r, ")"))
		e.Add("system.auth.pam.module", "unix_chkpwd")
		return true
	}
	if strings.HasPrefix(m, "account ") && strings.Contains(m, " has expired") {
		return pamAccount(e, "unix_chkpwd", "", m)
	}
	return false
}
