// Package weblog parses the logs web servers write: access logs in the
// NCSA Common and Combined formats that Apache (mod_log_config "common",
// "combined", "vhost_combined") and nginx (log_format "combined") share,
// Apache's error log (2.2 and 2.4 ErrorLogFormat defaults) and nginx's
// error log. Each parser takes one line — a file line or the MSG of a
// syslog message — and writes Elastic Common Schema fields (source.*,
// user.name, http.*, url.*, user_agent.original, log.level, process.*) and
// the event time into an event.Event.
//
// The parsers are pure, never panic, bound their input and return errors
// that name the byte offset; on error the event is left unchanged.
package weblog

import (
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

// MaxLine bounds the line a parser reads (64 KiB).
const MaxLine = 64 << 10

// Kind is the kind of line Detect recognises.
type Kind int

// Kinds of web server lines.
const (
	KindNone        Kind = iota
	KindAccess           // Common / Combined access log (Apache or nginx)
	KindApacheError      // Apache error log
	KindNginxError       // nginx error log
)

func (k Kind) String() string {
	switch k {
	case KindAccess:
		return "access"
	case KindApacheError:
		return "apache-error"
	case KindNginxError:
		return "nginx-error"
	}
	return "none"
}

// Server modules (event.module values).
const (
	Apache  = "apache"
	Nginx   = "nginx"
	Unknown = "weblog" // an access line whose server is not known
)

// Options configure the parsers.
type Options struct {
	// Location is the zone of error-log times, which carry none (UTC when
	// nil). Access-log times always carry their offset.
	Location *time.Location
	// Module is the server that wrote an access line (Apache or Nginx),
	// when the caller knows it (a syslog program name, a format name);
	// empty gives event.module "weblog".
	Module string
}

// Error is a parse error: Format is "apache", "nginx" or "weblog", Offset
// the byte position in the line.
type Error struct {
	Format string
	Offset int
	Msg    string
}

func (e *Error) Error() string {
	return e.Format + ": " + e.Msg + " at byte " + strconv.Itoa(e.Offset)
}

// ModuleOf names the server from a program name as syslog carries it
// ("nginx", "httpd", "apache2", "apache2-access"), or "".
func ModuleOf(program string) string {
	p := strings.ToLower(program)
	switch {
	case strings.HasPrefix(p, "nginx"):
		return Nginx
	case strings.HasPrefix(p, "httpd"), strings.HasPrefix(p, "apache"):
		return Apache
	}
	return ""
}

// Detect tells the kind of a line by its shape, cheaply (no allocation).
func Detect(s string) Kind {
	if len(s) < 20 {
		return KindNone
	}
	switch {
	case s[0] == '[' && isApacheErrorStart(s):
		return KindApacheError
	case s[0] >= '0' && s[0] <= '9' && isNginxErrorStart(s):
		return KindNginxError
	case isAccessStart(s):
		return KindAccess
	}
	return KindNone
}

// Parse detects the kind of line and parses it into e.
func Parse(e *event.Event, s string, opt Options) (Kind, error) {
	k := Detect(s)
	var err error
	switch k {
	case KindAccess:
		err = ParseAccess(e, s, opt)
	case KindApacheError:
		err = ParseApacheError(e, s, opt)
	case KindNginxError:
		err = ParseNginxError(e, s, opt)
	}
	return k, err
}

// isAccessStart: "HOST IDENT USER [dd/Mon/yyyy:" with an optional
// "vhost:port " before it.
func isAccessStart(s string) bool {
	lb := strings.IndexByte(s[:min(len(s), 600)], '[')
	if lb < 5 || lb+21 > len(s) || s[lb-1] != ' ' {
		return false
	}
	if _, ok := clfTime(s[lb+1 : lb+21]); !ok {
		return false
	}
	// Three or four words before the bracket.
	n := strings.Count(s[:lb-1], " ")
	return n == 2 || n == 3
}

func isApacheErrorStart(s string) bool {
	rb := strings.IndexByte(s[:min(len(s), 64)], ']')
	if rb < 0 {
		return false
	}
	_, ok := apacheErrorTime(s[1:rb], time.UTC)
	return ok && rb+2 < len(s) && s[rb+1] == ' ' && s[rb+2] == '['
}

func isNginxErrorStart(s string) bool {
	if len(s) < 22 || s[19] != ' ' || s[20] != '[' {
		return false
	}
	_, ok := nginxTime(s[:19], time.UTC)
	return ok
}

var months = map[string]time.Month{"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6, "Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12}

// num reads s as a decimal number of exactly its length.
func num(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, true
}

// date builds a time, refusing impossible dates and clock values.
func date(y int, mon time.Month, d, h, mi, sec, nsec int, loc *time.Location) (time.Time, bool) {
	if y < 1970 || mon < 1 || mon > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 {
		return time.Time{}, false
	}
	if sec == 60 {
		sec, nsec = 59, 999999999
	}
	t := time.Date(y, mon, d, h, mi, sec, nsec, loc)
	return t, t.Day() == d
}

// clfTime reads the Common Log Format time "10/Oct/2000:13:55:36 -0700".
func clfTime(s string) (time.Time, bool) {
	if len(s) != 26 && len(s) != 20 {
		return time.Time{}, false
	}
	if s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' || s[17] != ':' {
		return time.Time{}, false
	}
	d, ok1 := num(s[0:2])
	mon := months[s[3:6]]
	y, ok2 := num(s[7:11])
	h, ok3 := num(s[12:14])
	mi, ok4 := num(s[15:17])
	sec, ok5 := num(s[18:20])
	if !(ok1 && ok2 && ok3 && ok4 && ok5) {
		return time.Time{}, false
	}
	loc := time.UTC
	if len(s) == 26 {
		if s[20] != ' ' || (s[21] != '+' && s[21] != '-') {
			return time.Time{}, false
		}
		oh, ok1 := num(s[22:24])
		om, ok2 := num(s[24:26])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		off := oh*3600 + om*60
		if s[21] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	t, ok := date(y, mon, d, h, mi, sec, 0, loc)
	return t.UTC(), ok
}

// apacheErrorTime reads "Fri Sep 09 10:42:29.902022 2011" (2.4, with
// microseconds) or "Wed Oct 11 14:32:52 2000" (2.2).
func apacheErrorTime(s string, loc *time.Location) (time.Time, bool) {
	f := strings.Fields(s)
	if len(f) != 5 || len(f[0]) != 3 {
		return time.Time{}, false
	}
	mon := months[f[1]]
	d, ok1 := num(f[2])
	y, ok2 := num(f[4])
	clock, frac, _ := strings.Cut(f[3], ".")
	if len(clock) != 8 || clock[2] != ':' || clock[5] != ':' {
		return time.Time{}, false
	}
	h, ok3 := num(clock[0:2])
	mi, ok4 := num(clock[3:5])
	sec, ok5 := num(clock[6:8])
	nsec := 0
	if frac != "" {
		v, ok := num(frac)
		if !ok {
			return time.Time{}, false
		}
		for i := len(frac); i < 9; i++ {
			v *= 10
		}
		nsec = v
	}
	if !(ok1 && ok2 && ok3 && ok4 && ok5) {
		return time.Time{}, false
	}
	return date(y, mon, d, h, mi, sec, nsec, loc)
}

// nginxTime reads "2016/09/01 10:23:45".
func nginxTime(s string, loc *time.Location) (time.Time, bool) {
	if len(s) != 19 || s[4] != '/' || s[7] != '/' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	y, ok1 := num(s[0:4])
	mon, ok2 := num(s[5:7])
	d, ok3 := num(s[8:10])
	h, ok4 := num(s[11:13])
	mi, ok5 := num(s[14:16])
	sec, ok6 := num(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return time.Time{}, false
	}
	return date(y, time.Month(mon), d, h, mi, sec, 0, loc)
}

func loc(opt Options) *time.Location {
	if opt.Location != nil {
		return opt.Location
	}
	return time.UTC
}
