// Package windows normalises Windows event log records to one set of
// fields, whichever way they arrive:
//
//   - Winlogbeat 6/7/8 and Elastic Agent documents (winlog.*, event.*),
//   - evtx_dump JSON (Event.System.*, Event.EventData.*, Event.UserData.*),
//     with or without --separate-json-attributes,
//   - flat JSON as NXLog im_msvistalog and the Security-Datasets (OTRF)
//     send it (EventID, Channel, SourceName, … with the event data at the
//     top level),
//   - rendered event XML (<Event xmlns="…/win/2004/08/events/event">), with
//     or without RenderingInfo.
//
// The three JSON forms arrive already flattened by internal/parse/jsonflat
// and are normalised in place by Normalize; XML is parsed by ParseXML. The
// output is the Winlogbeat shape: winlog.channel, winlog.event_id,
// winlog.provider_name, winlog.provider_guid, winlog.computer_name,
// winlog.record_id, winlog.level, winlog.task, winlog.opcode,
// winlog.keywords, winlog.version, winlog.process.pid,
// winlog.process.thread.id, winlog.user.identifier,
// winlog.event_data.<Name>, winlog.user_data.<Name>, and ECS event.code,
// event.provider, event.module="windows", event.kind="event", host.name,
// log.level, plus, for the common Security, Sysmon, PowerShell and System
// events, event.category/type/action/outcome, process.*, user.*, source.*,
// destination.*, file.*, registry.*, dns.question.name (see mapping.go and
// docs/windows.md). The event time is the record's SystemTime.
//
// The fields of the original form are replaced by the normalised ones;
// fields that do not belong to the Windows record (agent.*, tags, …) are
// kept as they are.
package windows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

// Form is the shape a Windows event arrived in.
type Form int

// The forms Detect recognises.
const (
	FormUnknown  Form = iota
	FormECS           // Winlogbeat / Elastic Agent: winlog.*, event.*
	FormEvtxJSON      // evtx_dump JSON: Event.System.*, Event.EventData.*
	FormFlat          // NXLog / Security-Datasets: EventID, Channel, … at top level
	FormXML           // rendered event XML (ParseXML)
)

func (f Form) String() string {
	switch f {
	case FormECS:
		return "ecs"
	case FormEvtxJSON:
		return "evtx_json"
	case FormFlat:
		return "flat"
	case FormXML:
		return "xml"
	}
	return "unknown"
}

// ErrNotWindows is returned (wrapped) by Normalize for events that are in
// none of the Windows forms.
var ErrNotWindows = errors.New("not a Windows event")

// Detect reports which form the flattened event is in, or FormUnknown.
func Detect(e *event.Event) Form {
	var flatID, flatCtx, wlb6 bool
	for i := range e.Fields {
		n := e.Fields[i].Name
		switch {
		case strings.HasPrefix(n, "Event.System.") || strings.HasPrefix(n, "Event.EventData") || strings.HasPrefix(n, "Event.UserData."):
			return FormEvtxJSON
		case n == "winlog.event_id" || n == "winlog.channel" || n == "winlog.provider_name":
			return FormECS
		case n == "EventID":
			flatID = true
		case n == "Channel" || n == "SourceName" || n == "ProviderName" || n == "ProviderGuid" || n == "Hostname":
			flatCtx = true
		case n == "log_name" || n == "source_name":
			wlb6 = true
		}
	}
	switch {
	case flatID && flatCtx:
		return FormFlat
	case wlb6 && e.Has("event_id"):
		return FormECS
	}
	return FormUnknown
}

// Normalizer normalises events, caching the field names it builds
// ("winlog.event_data.Image", …) so that steady-state normalisation does not
// allocate them. It is not safe for concurrent use: use one per goroutine.
type Normalizer struct {
	// Location is the zone of times that carry none (NXLog's EventTime);
	// UTC when nil. A zoneless time is used only when the event has no
	// time yet (e.Time zero): a zoned @timestamp wins.
	Location *time.Location
	names    map[string]map[string]string
	r        rec
	out      []event.Field
	xml      xmlScanner
}

func (n *Normalizer) location() *time.Location {
	if n.Location != nil {
		return n.Location
	}
	return time.UTC
}

// NewNormalizer returns a Normalizer.
func NewNormalizer() *Normalizer {
	return &Normalizer{names: make(map[string]map[string]string, 4)}
}

// Normalize is NewNormalizer().Normalize(e).
func Normalize(e *event.Event) error { return NewNormalizer().Normalize(e) }

// Normalize detects the form of e (flattened JSON) and rewrites its fields
// in place into the normalised Windows fields. It returns an error wrapping
// ErrNotWindows for events in no Windows form, and an error naming the
// field for a record without an event id; e is unchanged on error.
func (n *Normalizer) Normalize(e *event.Event) error {
	return n.NormalizeForm(e, Detect(e))
}

// NormalizeForm is Normalize for an event whose form the caller knows.
func (n *Normalizer) NormalizeForm(e *event.Event, f Form) error {
	n.r.reset()
	r := &n.r
	switch f {
	case FormEvtxJSON:
		n.fromEvtx(e)
	case FormECS:
		n.fromECS(e)
	case FormFlat:
		n.fromFlat(e)
	default:
		return fmt.Errorf("windows: %w: no winlog.*, Event.System.* or EventID/Channel fields", ErrNotWindows)
	}
	if r.eventID == "" {
		return fmt.Errorf("windows: %s event without an event id (%s)", f, idFieldOf(f))
	}
	n.emit(e)
	return nil
}

func idFieldOf(f Form) string {
	switch f {
	case FormEvtxJSON:
		return "Event.System.EventID"
	case FormECS:
		return "winlog.event_id or event.code"
	case FormFlat:
		return "EventID"
	case FormXML:
		return "Event/System/EventID"
	}
	return "?"
}

// kv is one event data or user data item.
type kv struct{ name, value string }

// rec is a Windows record in a form-independent shape.
type rec struct {
	channel, eventID, qualifiers, version            string
	provider, providerGUID, eventSource, computer    string
	recordID, level, task, opcode, keywords          string // raw (numeric) values
	levelName, taskName, opcodeName                  string // rendered values
	keywordNames                                     []string
	keywordsJSON                                     string // rendered names as given (JSON array text)
	pid, tid, userID, userName, userDomain, userType string
	activityID, relatedActivityID                    string
	systemTime                                       string
	message                                          string
	data                                             []kv
	userData                                         []kv
	userDataName                                     string
	extra                                            []event.Field // fields that are not part of the record
	hostGiven, fromECS                               bool
	unnamed                                          int
}

func (r *rec) reset() {
	data, ud, extra, kw := r.data[:0], r.userData[:0], r.extra[:0], r.keywordNames[:0]
	*r = rec{data: data, userData: ud, extra: extra, keywordNames: kw}
}

// addData appends an event data item; an empty name gets the Winlogbeat name
// param<N>.
func (r *rec) addData(name, value string) {
	if name == "" {
		r.unnamed++
		name = fmt.Sprintf("param%d", r.unnamed)
	}
	r.data = append(r.data, kv{name, value})
}

func (r *rec) dataValue(name string) (string, bool) {
	for _, d := range r.data {
		if d.name == name {
			return d.value, true
		}
	}
	return "", false
}

func (r *rec) userDataValue(name string) (string, bool) {
	for _, d := range r.userData {
		if d.name == name {
			return d.value, true
		}
	}
	return "", false
}

// name returns prefix+s, cached per prefix so that the lookup of a known
// name does not allocate.
func (n *Normalizer) name(prefix, s string) string {
	m := n.names[prefix]
	if m == nil {
		m = make(map[string]string, 64)
		n.names[prefix] = m
	}
	if v, ok := m[s]; ok {
		return v
	}
	if len(m) >= 4096 {
		clear(m)
	}
	v := prefix + s
	m[s] = v
	return v
}
