// Package normalize brings parsed events to Vigil's schema (Elastic Common
// Schema names plus the healthcare.* extension, see docs/schema.md).
//
// The parsers already write ECS names; this package adds what needs
// knowledge of the sender: Syslog extracts the authentication facts of
// Linux messages (package linuxauth), JSON makes a few cheap repairs to
// events received as JSON and extracts the same facts when a shipper sent
// a raw Linux log line. Both are pure functions of the event.
package normalize

import (
	"strings"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/normalize/linuxauth"
)

// Syslog normalizes an event made by the syslog parser: it adds the
// authentication facts of sshd, sudo, su and PAM messages. It reports
// whether the message was recognised as one.
func Syslog(e *event.Event) bool {
	var process, message string
	var haveProc, haveMsg bool
	for i := range e.Fields {
		switch f := &e.Fields[i]; f.Name {
		case "process.name":
			process, haveProc = f.Value, true
		case event.FieldMessage:
			message, haveMsg = f.Value, true
		case "event.action", event.FieldParseError:
			return false
		}
	}
	if !haveMsg || message == "" {
		return false
	}
	if !haveProc && !strings.HasPrefix(message, "pam_") {
		return false
	}
	return linuxauth.Extract(e, process, message)
}

// JSON normalizes an event received as JSON, leaving it mostly as sent:
//   - host.name is taken from host.hostname when absent;
//   - log.level is lower-cased;
//   - an event with process.name and message but no event.action gets the
//     Linux authentication facts of its message (journald and file
//     shippers send sshd, sudo and PAM lines this way);
//   - an event without process.name whose message is a whole syslog line
//     (a file shipper reading /var/log/auth.log as it is) gets the line's
//     process.name and process.pid, and its authentication facts.
//
// @timestamp is the caller's business.
func JSON(e *event.Event) {
	var hostName, hostHostname, process, message, action bool
	var hostnameV, processV, messageV string
	levelAt := -1
	for i := range e.Fields {
		f := &e.Fields[i]
		switch f.Name {
		case "host.name":
			hostName = true
		case "host.hostname":
			hostHostname, hostnameV = true, f.Value
		case "log.level":
			levelAt = i
		case "process.name":
			process, processV = true, f.Value
		case event.FieldMessage:
			message, messageV = true, f.Value
		case "event.action":
			action = true
		}
	}
	if !hostName && hostHostname && hostnameV != "" {
		e.Add("host.name", hostnameV)
	}
	if levelAt >= 0 {
		if v := e.Fields[levelAt].Value; hasUpper(v) {
			e.Fields[levelAt].Value = strings.ToLower(v)
		}
	}
	if action || !message {
		return
	}
	if !process {
		if prog, pid, text, ok := syslogLine(messageV); ok {
			e.Add("process.name", prog)
			if pid != "" {
				e.Add("process.pid", pid)
			}
			linuxauth.ExtractInto(e, prog, text, nil)
			return
		}
	}
	if process || strings.HasPrefix(messageV, "pam_") {
		linuxauth.ExtractInto(e, processV, messageV, nil)
	}
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return true
		}
	}
	return false
}
