package weblog

import (
	"net/netip"
	"strings"

	"github.com/vigil-siem/vigil/internal/event"
)

// apacheLevels are LogLevel's names (mod_core), trace1 to trace8 included.
var apacheLevels = map[string]bool{"emerg": true, "alert": true, "crit": true, "error": true, "warn": true,
	"notice": true, "info": true, "debug": true, "trace1": true, "trace2": true, "trace3": true, "trace4": true,
	"trace5": true, "trace6": true, "trace7": true, "trace8": true}

// ParseApacheError parses an Apache error log line in the default formats:
//
//	[Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 35708:tid 4328636416] [client 72.15.99.187:5342] AH00128: File does not exist: /x, referer: http://e/
//	[Wed Oct 11 14:32:52 2000] [error] [client 127.0.0.1] client denied by server configuration: /export/home/live/ap/htdocs/test
//
// The time carries no zone and is read in opt.Location.
func ParseApacheError(e *event.Event, s string, opt Options) error {
	if len(s) > MaxLine {
		return &Error{Apache, MaxLine, "line longer than 64 KiB"}
	}
	s = strings.TrimRight(s, " \r\n")
	if !strings.HasPrefix(s, "[") {
		return &Error{Apache, 0, "want [time] at the start of the line"}
	}
	rb := strings.IndexByte(s, ']')
	if rb < 0 {
		return &Error{Apache, 0, "unterminated [time]"}
	}
	t, ok := apacheErrorTime(s[1:rb], loc(opt))
	if !ok {
		return &Error{Apache, 1, "want a time like Fri Sep 09 10:42:29.902022 2011"}
	}
	var module, level, pid, tid, client string
	i := rb + 1
	// Bracketed groups: [module:level] [pid P:tid T] [client A:P]; the
	// message starts at the first group of another kind.
	for n := 0; ; n++ {
		j := skip(s, i)
		k := -1
		if j < len(s) && s[j] == '[' {
			k = strings.IndexByte(s[j:], ']')
		}
		if k < 0 {
			i = j
			break
		}
		g := s[j+1 : j+k]
		known := true
		switch {
		case n == 0 && isApacheLevel(g):
			if m, l, ok := strings.Cut(g, ":"); ok {
				module, level = m, l
			} else {
				level = g
			}
		case strings.HasPrefix(g, "pid ") && allDigits(strings.SplitN(g[4:], ":", 2)[0]):
			pid, tid, _ = strings.Cut(g[4:], ":tid ")
		case strings.HasPrefix(g, "client "):
			client = g[7:]
		case strings.HasPrefix(g, "remote "):
			// The backend a proxy talked to: not the client.
		default:
			known = false
		}
		if !known {
			i = j
			break
		}
		i = j + k + 1
	}
	if level == "" {
		return &Error{Apache, rb + 1, "want [level] or [module:level] after the time"}
	}
	msg := s[skip(s, i):]
	e.Time = t
	e.Set("event.kind", "event")
	e.Set("event.category", "web")
	e.Set("event.type", "error")
	e.Set("event.module", Apache)
	e.Set("event.dataset", "apache.error")
	e.Set("log.level", level)
	if module != "" {
		e.Set("apache.error.module", module)
	}
	if pid != "" {
		e.Set("process.pid", pid)
	}
	if allDigits(tid) {
		e.Set("process.thread.id", tid)
	}
	if client != "" {
		host, port := splitHostPort(client)
		setAddress(e, "source", host)
		if port != "" {
			e.Set("source.port", port)
		}
	}
	if len(msg) > 9 && strings.HasPrefix(msg, "AH") && allDigits(msg[2:7]) && msg[7] == ':' && msg[8] == ' ' {
		e.Set("error.code", msg[:7])
	}
	if k := strings.LastIndex(msg, ", referer: "); k >= 0 {
		e.Set("http.request.referrer", msg[k+len(", referer: "):])
		msg = msg[:k]
	}
	e.Set(event.FieldMessage, msg)
	return nil
}

func isApacheLevel(g string) bool {
	if m, l, ok := strings.Cut(g, ":"); ok {
		return m != "" && !strings.ContainsAny(m, " ") && apacheLevels[l]
	}
	return apacheLevels[g]
}

// splitHostPort splits "1.2.3.4:5678", "::1:5678" or a bare address.
func splitHostPort(a string) (host, port string) {
	if _, err := netip.ParseAddr(a); err == nil {
		return a, ""
	}
	if k := strings.LastIndexByte(a, ':'); k > 0 && allDigits(a[k+1:]) && len(a)-k-1 <= 5 {
		return strings.Trim(a[:k], "[]"), a[k+1:]
	}
	return a, ""
}

// nginxLevels are error_log's levels.
var nginxLevels = map[string]bool{"debug": true, "info": true, "notice": true, "warn": true, "error": true, "crit": true, "alert": true, "emerg": true}

// ParseNginxError parses an nginx error log line:
//
//	2016/09/01 10:23:45 [error] 1234#5678: *9 open() "/usr/share/nginx/html/favicon.ico" failed (2: No such file or directory), client: 192.0.2.1, server: localhost, request: "GET /favicon.ico HTTP/1.1", host: "localhost"
//
// The context nginx appends (client, server, request, upstream, host,
// referrer) becomes ECS fields; the time is read in opt.Location.
func ParseNginxError(e *event.Event, s string, opt Options) error {
	if len(s) > MaxLine {
		return &Error{Nginx, MaxLine, "line longer than 64 KiB"}
	}
	s = strings.TrimRight(s, " \r\n")
	if len(s) < 22 {
		return &Error{Nginx, 0, "too short for an nginx error line"}
	}
	t, ok := nginxTime(s[:19], loc(opt))
	if !ok {
		return &Error{Nginx, 0, "want a time like 2016/09/01 10:23:45"}
	}
	if s[19] != ' ' || s[20] != '[' {
		return &Error{Nginx, 19, "want [level] after the time"}
	}
	rb := strings.IndexByte(s[21:], ']')
	if rb < 0 || !nginxLevels[s[21:21+rb]] {
		return &Error{Nginx, 21, "want a level (debug, info, notice, warn, error, crit, alert, emerg)"}
	}
	level := s[21 : 21+rb]
	i := skip(s, 22+rb)
	// PID#TID:
	var pid, tid string
	if j := strings.Index(s[i:], ": "); j > 0 {
		if p, th, ok := strings.Cut(s[i:i+j], "#"); ok && allDigits(p) && allDigits(th) {
			pid, tid = p, th
			i += j + 2
		}
	}
	if pid == "" {
		return &Error{Nginx, i, "want PID#TID: after the level"}
	}
	var conn string
	if i < len(s) && s[i] == '*' {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j > i+1 {
			conn = s[i+1 : j]
			i = skip(s, j)
		}
	}
	msg := s[i:]
	ctx := ""
	if k := strings.Index(msg, ", client: "); k >= 0 {
		msg, ctx = msg[:k], msg[k+2:]
	}
	e.Time = t
	e.Set("event.kind", "event")
	e.Set("event.category", "web")
	e.Set("event.type", "error")
	e.Set("event.module", Nginx)
	e.Set("event.dataset", "nginx.error")
	e.Set("log.level", level)
	e.Set("process.pid", pid)
	e.Set("process.thread.id", tid)
	if conn != "" {
		e.Set("nginx.error.connection_id", conn)
	}
	for ctx != "" {
		var key, val string
		key, ctx, _ = strings.Cut(ctx, ": ")
		if strings.HasPrefix(ctx, "\"") {
			v, next, err := quoted(ctx, 0, Nginx)
			if err != nil {
				val, ctx = ctx, ""
			} else {
				val, ctx = v, strings.TrimPrefix(ctx[next:], ", ")
			}
		} else {
			val, ctx, _ = strings.Cut(ctx, ", ")
		}
		switch key {
		case "client":
			setAddress(e, "source", val)
		case "server":
			if val != "" && val != "_" {
				e.Set("destination.domain", val)
			}
		case "request":
			setRequest(e, val)
		case "host":
			e.Set("url.domain", val)
		case "referrer":
			e.Set("http.request.referrer", val)
		case "upstream":
			e.Set("nginx.error.upstream", val)
		default:
			if key != "" && len(key) <= 32 && !strings.ContainsAny(key, " .") {
				e.Set("nginx.error."+key, val)
			}
		}
	}
	e.Set(event.FieldMessage, msg)
	return nil
}
