package windows

import (
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

// emit replaces e's fields with the normalised record followed by the
// fields that were not part of it.
func (n *Normalizer) emit(e *event.Event) {
	r := &n.r
	sp := specFor(r.provider, r.channel, r.eventID)
	if r.fromECS && sp != nil {
		n.restoreData(sp)
	}
	out := n.out[:0]
	add := func(name, v string) {
		if v != "" {
			out = append(out, event.Field{Name: name, Value: v})
		}
	}
	add("winlog.channel", r.channel)
	add("winlog.event_id", r.eventID)
	add("winlog.provider_name", r.provider)
	add("winlog.provider_guid", braceGUID(r.providerGUID))
	add("winlog.event_source_name", r.eventSource)
	add("winlog.computer_name", r.computer)
	add("winlog.record_id", r.recordID)
	add("winlog.level", r.level)
	add("winlog.task", r.taskText(sp))
	add("winlog.opcode", r.opcodeText())
	kw := r.keywordsText()
	add("winlog.keywords", kw)
	add("winlog.version", r.version)
	add("winlog.qualifiers", r.qualifiers)
	add("winlog.process.pid", r.pid)
	add("winlog.process.thread.id", r.tid)
	add("winlog.user.identifier", r.userID)
	add("winlog.user.name", r.userName)
	add("winlog.user.domain", r.userDomain)
	add("winlog.user.type", r.userType)
	add("winlog.activity_id", braceGUID(r.activityID))
	add("winlog.related_activity_id", braceGUID(r.relatedActivityID))
	uniqueNames(r.data)
	for i := range r.data {
		d := &r.data[i]
		d.value = braceDataGUID(d.value)
		add(n.name("winlog.event_data.", d.name), d.value)
	}
	if len(r.userData) > 0 || r.userDataName != "" {
		add("winlog.user_data.xml_name", r.userDataName)
		uniqueNames(r.userData)
		for _, d := range r.userData {
			if d.name != "xml_name" {
				add(n.name("winlog.user_data.", d.name), d.value)
			}
		}
	}
	add("event.code", r.eventID)
	add("event.provider", r.provider)
	add("event.kind", "event")
	add("event.module", "windows")
	add("log.level", r.logLevel())
	if !r.hostGiven {
		add("host.name", r.computer)
	}
	add("message", r.message)
	switch t, zoned, ok := ParseSystemTime(r.systemTime, n.location()); {
	case !ok:
		add("winlog.time_created", r.systemTime) // kept when unreadable
	case zoned || e.Time.IsZero():
		e.Time = t
	default:
		// A zoneless time (NXLog's EventTime, local to the Windows host)
		// does not replace a zoned one the document already gave
		// (@timestamp, set by the caller): it is read in the source's
		// configured zone only when there is none.
	}
	if sp != nil {
		out = sp.enrich(r, kw, out)
	}
	// Fields that were not part of the record, unless set above.
	nNorm := len(out)
	for _, f := range r.extra {
		dup := false
		for i := 0; i < nNorm; i++ {
			if out[i].Name == f.Name {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, f)
		}
	}
	e.Fields = append(e.Fields[:0], out...)
	clear(out)
	n.out = out[:0]
}

// restoreData puts back the event data that Winlogbeat 7's modules moved
// into ECS fields (winlog.event_data.Image → process.executable, …), so
// that rules written for the event data match every form.
func (n *Normalizer) restoreData(sp *spec) {
	r := &n.r
	for _, m := range sp.maps {
		if m.ud || (m.c != cCopy && m.c != cNoDash && m.c != cUser) {
			continue
		}
		if _, ok := r.dataValue(m.src); ok {
			continue
		}
		if m.c == cUser {
			name, dom := extraValue(r.extra, m.dst+".name"), extraValue(r.extra, m.dst+".domain")
			if name != "" && dom != "" {
				r.data = append(r.data, kv{m.src, dom + `\` + name})
			}
			continue
		}
		if v := extraValue(r.extra, m.dst); v != "" {
			r.data = append(r.data, kv{m.src, v})
		}
	}
}

func extraValue(fs []event.Field, name string) string {
	for _, f := range fs {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// braceGUID writes a GUID the way Winlogbeat does: upper case in braces.
func braceGUID(g string) string {
	if g == "" {
		return ""
	}
	if len(g) == 36 && g[0] != '{' {
		return "{" + strings.ToUpper(g) + "}"
	}
	if len(g) == 38 && g[0] == '{' {
		for i := 1; i < 37; i++ {
			if c := g[i]; c >= 'a' && c <= 'f' {
				return strings.ToUpper(g)
			}
		}
	}
	return g
}

// uniqueNames renames repeated data names (two <Data Name="X">) to X_2,
// X_3, … so that no value is lost and field names stay unique.
func uniqueNames(items []kv) {
	for i := 1; i < len(items); i++ {
		for j := 0; j < i; j++ {
			if items[j].name == items[i].name {
				base := items[i].name
				for k := 2; ; k++ {
					cand := base + "_" + strconv.Itoa(k)
					if !hasName(items[:i], cand) {
						items[i].name = cand
						break
					}
				}
				break
			}
		}
	}
}

func hasName(items []kv, name string) bool {
	for _, it := range items {
		if it.name == name {
			return true
		}
	}
	return false
}

// braceDataGUID puts a bare GUID value ("5AA13A44-0C90-68FC-BF1D-000000004002",
// as evtx_dump prints GUID-typed data) in braces as Windows renders it. The
// case is kept: Windows itself renders some providers' GUIDs in lower case.
func braceDataGUID(v string) string {
	if len(v) != 36 || v[8] != '-' || v[13] != '-' || v[18] != '-' || v[23] != '-' {
		return v
	}
	for i := 0; i < 36; i++ {
		c := v[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return v
		}
	}
	return "{" + v + "}"
}

// logLevel is the lower-case level name, rendered or derived from the
// numeric level (0, LogAlways, is shown as "information" as Windows does).
func (r *rec) logLevel() string {
	if r.levelName != "" {
		return strings.ToLower(r.levelName)
	}
	switch r.level {
	case "0", "4":
		return "information"
	case "1":
		return "critical"
	case "2":
		return "error"
	case "3":
		return "warning"
	case "5":
		return "verbose"
	}
	return ""
}

// Standard opcodes of winmeta.xml, rendered as Windows renders them.
var opcodeNames = map[string]string{
	"0": "Info", "1": "Start", "2": "Stop", "3": "DCStart", "4": "DCStop",
	"5": "Extension", "6": "Reply", "7": "Resume", "8": "Suspend", "9": "Send", "240": "Receive",
}

func (r *rec) opcodeText() string {
	if r.opcodeName != "" {
		return r.opcodeName
	}
	if s, ok := opcodeNames[r.opcode]; ok {
		return s
	}
	return r.opcode
}

func (r *rec) taskText(sp *spec) string {
	if r.taskName != "" {
		return r.taskName
	}
	if s, ok := securityTasks[r.task]; ok && (r.channel == "Security" || isSecurityProvider(r.provider, r.channel)) {
		return s
	}
	if sp != nil && sp.task != "" && sp.class == classSysmon {
		return sp.task // Sysmon's task number is its event id
	}
	return r.task
}

// Standard keyword bits of winmeta.xml. Bits 56-63 select channels and are
// not shown as keywords by Windows.
var keywordBits = []struct {
	bit  uint64
	name string
}{
	{0x0001000000000000, "Response Time"},
	{0x0002000000000000, "WDI Context"},
	{0x0004000000000000, "WDI Diag"},
	{0x0008000000000000, "SQM"},
	{0x0010000000000000, "Audit Failure"},
	{0x0020000000000000, "Audit Success"},
	{0x0040000000000000, "Correlation Hint"},
	{0x0080000000000000, "Classic"},
}

// keywordsText is winlog.keywords: the rendered names as a JSON array text,
// from the source when it rendered them, else from the standard bits of the
// mask (hex as in XML, or NXLog's signed decimal).
func (r *rec) keywordsText() string {
	if r.keywordsJSON != "" {
		return r.keywordsJSON
	}
	names := r.keywordNames
	if len(names) == 0 && r.keywords != "" {
		mask, ok := parseMask(r.keywords)
		if !ok {
			return r.keywords
		}
		for _, k := range keywordBits {
			if mask&k.bit != 0 {
				names = append(names, k.name)
			}
		}
		r.keywordNames = names
	}
	if len(names) == 0 {
		return ""
	}
	b := []byte{'['}
	for i, s := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendJSONString(b, s)
	}
	return string(append(b, ']'))
}

func parseMask(s string) (uint64, bool) {
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		v, err := strconv.ParseUint(s[2:], 16, 64)
		return v, err == nil
	}
	if strings.HasPrefix(s, "-") {
		v, err := strconv.ParseInt(s, 10, 64)
		return uint64(v), err == nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

// ParseSystemTime reads SystemTime (RFC 3339 with up to 9 fraction
// digits; zoned) and NXLog's EventTime ("2006-01-02 15:04:05", local time
// without a zone, read in loc); zoned reports which it was.
func ParseSystemTime(s string, loc *time.Location) (t time.Time, zoned, ok bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true, true
	}
	if t, err := time.Parse("2006-01-02 15:04:05.999999999Z07:00", s); err == nil {
		return t.UTC(), true, true
	}
	for _, l := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t.UTC(), false, true
		}
	}
	return time.Time{}, false, false
}
