package normalize

import "strings"

// syslogLine splits a line as syslog daemons write it to files, the form in
// which file shippers (Filebeat without Elasticsearch's ingest pipelines,
// the OpenTelemetry Collector's filelog receiver, Fluent Bit's tail, Vector's
// file source) send /var/log/auth.log or /var/log/secure:
//
//	Nov 28 10:00:01 web01 sshd[1234]: Failed password for ...
//	2026-11-28T10:00:01.123456+01:00 web01 sudo: alice : TTY=pts/0 ; ...
//
// optionally after a <PRI>. It returns the program, its pid (may be empty)
// and the text after the tag, and false for anything else.
func syslogLine(s string) (prog, pid, msg string, ok bool) {
	if len(s) > 0 && s[0] == '<' {
		i := 1
		for i < len(s) && i <= 4 && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 1 || i >= len(s) || s[i] != '>' {
			return "", "", "", false
		}
		s = s[i+1:]
	}
	switch {
	case isBSDStamp(s):
		s = s[15:]
	case isISOStamp(s):
		s = s[strings.IndexByte(s, ' '):]
	default:
		return "", "", "", false
	}
	// One space, the host, one space.
	if len(s) < 2 || s[0] != ' ' {
		return "", "", "", false
	}
	s = s[1:]
	sp := strings.IndexByte(s, ' ')
	if sp <= 0 {
		return "", "", "", false
	}
	s = s[sp+1:]
	// The tag: PROG or PROG[PID], then ": ".
	end := strings.Index(s, ": ")
	if end <= 0 || end > 64 {
		return "", "", "", false
	}
	tag := s[:end]
	if lb := strings.IndexByte(tag, '['); lb >= 0 {
		if lb == 0 || tag[len(tag)-1] != ']' {
			return "", "", "", false
		}
		prog, pid = tag[:lb], tag[lb+1:len(tag)-1]
		if pid == "" || strings.Trim(pid, "0123456789") != "" {
			return "", "", "", false
		}
	} else {
		prog = tag
	}
	for i := 0; i < len(prog); i++ {
		c := prog[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '/' || c == '(' || c == ')') {
			return "", "", "", false
		}
	}
	return prog, pid, s[end+2:], true
}

// isBSDStamp reports whether s starts with an RFC 3164 time stamp
// ("Nov 28 10:00:01" or "Nov  8 10:00:01") and a space.
func isBSDStamp(s string) bool {
	if len(s) < 16 || s[15] != ' ' || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':' {
		return false
	}
	switch s[:3] {
	case "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec":
	default:
		return false
	}
	return (s[4] == ' ' || isDigit(s[4])) && isDigit(s[5]) && isDigit(s[7]) && isDigit(s[8]) &&
		isDigit(s[10]) && isDigit(s[11]) && isDigit(s[13]) && isDigit(s[14])
}

// isISOStamp reports whether s starts with an RFC 3339 time stamp
// ("2026-11-28T10:00:01[.frac](Z|±hh:mm)") followed by a space.
func isISOStamp(s string) bool {
	sp := strings.IndexByte(s, ' ')
	if sp < 20 || sp > 40 {
		return false
	}
	return isDigit(s[0]) && isDigit(s[1]) && isDigit(s[2]) && isDigit(s[3]) && s[4] == '-' &&
		isDigit(s[5]) && isDigit(s[6]) && s[7] == '-' && isDigit(s[8]) && isDigit(s[9]) &&
		(s[10] == 'T' || s[10] == 't') && s[13] == ':' && s[16] == ':'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
