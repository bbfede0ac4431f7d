package weblog

import (
	"net/netip"
	"strings"

	"github.com/vigil-siem/vigil/internal/event"
)

// ParseAccess parses an access log line in the Common Log Format or one
// of its extensions:
//
//	%h %l %u %t "%r" %>s %b                                   (common)
//	%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"   (combined; nginx "combined")
//	%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"   (vhost_combined)
//
// Whatever follows the user agent (nginx formats often append
// "$http_x_forwarded_for", a request time) is kept in weblog.extra.
// Quoted values keep Apache's \xhh escapes as written; \" and \\ are
// decoded.
func ParseAccess(e *event.Event, s string, opt Options) error {
	module := opt.Module
	if module == "" {
		module = Unknown
	}
	if len(s) > MaxLine {
		return &Error{module, MaxLine, "line longer than 64 KiB"}
	}
	s = strings.TrimRight(s, " \r\n")
	lb := strings.IndexByte(s, '[')
	if lb < 0 {
		return &Error{module, 0, "no [time] in the line"}
	}
	words := strings.Fields(s[:lb])
	var vhost string
	switch len(words) {
	case 3:
	case 4:
		vhost, words = words[0], words[1:]
	default:
		return &Error{module, 0, "want HOST IDENT USER [TIME] before the request"}
	}
	rb := strings.IndexByte(s[lb:], ']')
	if rb < 0 {
		return &Error{module, lb, "unterminated [time]"}
	}
	rb += lb
	t, ok := clfTime(s[lb+1 : rb])
	if !ok {
		return &Error{module, lb + 1, "want a time like 10/Oct/2000:13:55:36 -0700"}
	}
	i := rb + 1
	request, i, err := quoted(s, i, module)
	if err != nil {
		return err
	}
	// Status and size.
	status, i := word(s, i)
	if len(status) != 3 || status[0] < '1' || status[0] > '5' || !allDigits(status) {
		return &Error{module, i - len(status), "want a 3-digit status after the request"}
	}
	size, i := word(s, i)
	if size != "-" && !allDigits(size) {
		return &Error{module, i - len(size), "want the response size (digits or -) after the status"}
	}
	var referrer, agent string
	hasReferrer := false
	if j := skip(s, i); j < len(s) && s[j] == '"' {
		if referrer, i, err = quoted(s, i, module); err != nil {
			return err
		}
		hasReferrer = true
		if j := skip(s, i); j < len(s) && s[j] == '"' {
			if agent, i, err = quoted(s, i, module); err != nil {
				return err
			}
		}
	}
	extra := strings.TrimSpace(s[i:])

	e.Time = t
	e.Set("event.kind", "event")
	e.Set("event.category", "web")
	e.Set("event.type", "access")
	e.Set("event.module", module)
	e.Set("event.dataset", module+".access")
	if vhost != "" {
		host, port, ok := strings.Cut(vhost, ":")
		e.Set("destination.domain", host)
		if ok && allDigits(port) && len(port) <= 5 {
			e.Set("destination.port", port)
		}
	}
	setAddress(e, "source", words[0])
	if u := words[2]; u != "-" {
		e.Set("user.name", u)
	}
	setRequest(e, request)
	e.Set("http.response.status_code", status)
	if status[0] >= '4' {
		e.Set("event.outcome", "failure")
	} else {
		e.Set("event.outcome", "success")
	}
	if size != "-" {
		e.Set("http.response.body.bytes", size)
	}
	if hasReferrer && referrer != "-" && referrer != "" {
		e.Set("http.request.referrer", referrer)
	}
	if agent != "-" && agent != "" {
		e.Set("user_agent.original", agent)
	}
	if extra != "" {
		e.Set("weblog.extra", extra)
	}
	return nil
}

// setAddress records a client or server address: .ip for an IP address,
// .domain for a name, and .address as written.
func setAddress(e *event.Event, prefix, a string) {
	if a == "" || a == "-" {
		return
	}
	e.Set(prefix+".address", a)
	if ip, err := netip.ParseAddr(a); err == nil {
		e.Set(prefix+".ip", ip.String())
	} else {
		e.Set(prefix+".domain", a)
	}
}

// setRequest splits "METHOD URI PROTOCOL".
func setRequest(e *event.Event, r string) {
	if r == "" || r == "-" {
		return
	}
	method, rest, ok := strings.Cut(r, " ")
	if !ok || !isToken(method) {
		e.Set("weblog.request_line", r)
		return
	}
	uri, proto, _ := strings.Cut(rest, " ")
	if uri == "" || strings.Contains(proto, " ") {
		e.Set("weblog.request_line", r)
		return
	}
	e.Set("http.request.method", method)
	e.Set("url.original", uri)
	path, query, hasQuery := strings.Cut(uri, "?")
	if strings.HasPrefix(path, "/") {
		e.Set("url.path", path)
	} else if strings.Contains(path, "://") {
		// A proxy request: absolute URI.
		if k := strings.Index(path, "://"); k > 0 {
			rest := path[k+3:]
			host, p, _ := strings.Cut(rest, "/")
			e.Set("url.scheme", path[:k])
			e.Set("url.domain", host)
			e.Set("url.path", "/"+p)
		}
	}
	if hasQuery && query != "" {
		e.Set("url.query", query)
	}
	if v, ok := strings.CutPrefix(proto, "HTTP/"); ok && v != "" {
		e.Set("http.version", v)
	}
}

// isToken reports whether s is an HTTP method token (RFC 9110 tchar).
func isToken(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// quoted reads a double-quoted value after optional spaces at s[i:],
// decoding \" and \\ (Apache's and nginx's escapes for them).
func quoted(s string, i int, module string) (string, int, error) {
	i = skip(s, i)
	if i >= len(s) || s[i] != '"' {
		return "", i, &Error{module, i, "want a quoted value"}
	}
	var b strings.Builder
	j := i + 1
	start := j
	escaped := false
	for ; j < len(s); j++ {
		c := s[j]
		if c == '\\' && j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\') {
			if !escaped {
				b.Grow(j - start + 16)
				escaped = true
			}
			b.WriteString(s[start:j])
			b.WriteByte(s[j+1])
			j++
			start = j + 1
			continue
		}
		if c == '"' {
			if !escaped {
				return s[i+1 : j], j + 1, nil
			}
			b.WriteString(s[start:j])
			return b.String(), j + 1, nil
		}
	}
	return "", i, &Error{module, i, "unterminated quoted value"}
}

// word reads the next space-delimited word after optional spaces.
func word(s string, i int) (string, int) {
	i = skip(s, i)
	j := i
	for j < len(s) && s[j] != ' ' {
		j++
	}
	return s[i:j], j
}

func skip(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

func allDigits(s string) bool {
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
