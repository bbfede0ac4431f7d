package ingest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/event"
)

// Failure formats: the parser a vigil.parse_error comes from, as a
// bounded set of metric label values.
const (
	FormatSyslog  = "syslog"
	FormatJSON    = "json"
	FormatOther   = "other"
	maxFailureKey = 256 // (source, format, outcome) tracked; more are counted under "other"
)

// Failure outcomes: what became of a record that did not parse.
const (
	// OutcomeKept: stored with vigil.parse_error (syslog, GELF, files, …).
	OutcomeKept = "kept"
	// OutcomeRefused: refused to the sender with the reason and not
	// stored (HTTP ingest's bad JSON or record, HEC, _bulk): the sender
	// holds it, but nobody at Vigil would see it without this count.
	OutcomeRefused = "refused"
)

// failureFormats maps the first word of a vigil.parse_error to its format.
// Parsers begin their errors with the format's name ("rfc3164: …",
// "cef: …"); the aliases gather one family under one name.
var failureFormats = map[string]string{
	"syslog": FormatSyslog, "rfc3164": FormatSyslog, "rfc5424": FormatSyslog,
	"cef": "cef", "leef": "leef", "key=value": "kv", "kv": "kv",
	"@timestamp": FormatJSON, "json": FormatJSON, "windows": "windows",
	"atna": "atna", "hl7": "hl7", "fhir": "fhir", "ehr": "ehr",
	"gelf": "gelf", "kafka": "kafka", "apache": "weblog", "nginx": "weblog", "weblog": "weblog",
	"fortinet": "firewall", "panos": "firewall", "asa": "firewall", "filterlog": "firewall", "firewall": "firewall",
}

// FailureFormat names the format whose parser failed on e, from its
// vigil.parse_error ("rfc3164: invalid timestamp …" is syslog), or from
// its event.dataset when the error does not say. The result is one of a
// small fixed set (metric label values stay bounded).
func FailureFormat(e *event.Event) string {
	msg := e.Value(event.FieldParseError)
	word := msg
	if i := strings.IndexAny(word, ": "); i >= 0 {
		word = word[:i]
	}
	if f, ok := failureFormats[strings.ToLower(word)]; ok {
		return f
	}
	ds := e.Value("event.dataset")
	if ds == "" {
		ds = e.Value("event.module")
	}
	if i := strings.IndexByte(ds, '.'); i >= 0 {
		ds = ds[:i]
	}
	if f, ok := failureFormats[ds]; ok {
		return f
	}
	return FormatOther
}

// FailureCount is how many records of one source and format did not
// parse since Vigil started, and were kept with a parse error or refused.
type FailureCount struct {
	Source  string    `json:"source"`  // the listener: syslog-udp, http, gelf-udp, kafka, …
	Format  string    `json:"format"`  // the parser that failed: syslog, cef, json, windows, …
	Outcome string    `json:"outcome"` // kept (stored with vigil.parse_error) or refused
	Count   int64     `json:"count"`
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
}

type failureKey struct{ source, format, outcome string }

// Failures counts records that did not parse, per source, format and
// outcome, in memory (the Prometheus counter vigil_parse_failures_total holds the
// same). Safe for concurrent use.
type Failures struct {
	vec *prometheus.CounterVec
	now func() time.Time
	mu  sync.Mutex
	m   map[failureKey]*FailureCount
}

func newFailures(reg prometheus.Registerer) *Failures {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_parse_failures_total",
		Help: "Records that did not parse, by source, by the format whose parser failed, and by outcome: kept (stored with vigil.parse_error) or refused (answered to the sender with the reason, not stored)."},
		[]string{"source", "format", "outcome"})
	reg.MustRegister(v)
	return &Failures{vec: v, now: time.Now, m: map[failureKey]*FailureCount{}}
}

// Record counts one event of source kept with a parse error.
func (f *Failures) Record(source string, e *event.Event) {
	f.add(failureKey{source, FailureFormat(e), OutcomeKept})
}

// Refused counts one record of source refused to its sender because it
// did not parse as format (a name of package formats, or "json"). A
// refusal for another reason (too large, a full bus) is no parse failure.
func (f *Failures) Refused(source, format string) {
	f.add(failureKey{source, RecordFailureFormat(format), OutcomeRefused})
}

func (f *Failures) add(k failureKey) {
	now := f.now().UTC()
	f.mu.Lock()
	c := f.m[k]
	if c == nil {
		if len(f.m) >= maxFailureKey {
			k = failureKey{FormatOther, FormatOther, k.outcome}
			c = f.m[k]
		}
		if c == nil {
			c = &FailureCount{Source: k.source, Format: k.format, Outcome: k.outcome, First: now}
			f.m[k] = c
		}
	}
	c.Count++
	c.Last = now
	f.mu.Unlock()
	f.vec.WithLabelValues(k.source, k.format, k.outcome).Inc()
}

// RecordFailureFormat is the failure format (a metric label value) of an
// input format's name: "ndjson" is json, "apache-access" weblog, "cef"
// cef; names it does not know are "other".
func RecordFailureFormat(name string) string {
	if name == "ndjson" {
		return FormatJSON
	}
	word, _, _ := strings.Cut(name, "-")
	if f, ok := failureFormats[word]; ok {
		return f
	}
	return FormatOther
}

// List returns the counts ordered by source and format.
func (f *Failures) List() []FailureCount {
	f.mu.Lock()
	out := make([]FailureCount, 0, len(f.m))
	for _, c := range f.m {
		out = append(out, *c)
	}
	f.mu.Unlock()
	slices.SortFunc(out, func(a, b FailureCount) int {
		if c := strings.Compare(a.Source, b.Source); c != 0 {
			return c
		}
		if c := strings.Compare(a.Format, b.Format); c != 0 {
			return c
		}
		return strings.Compare(a.Outcome, b.Outcome)
	})
	return out
}

// FailuresHandler serves GET /api/v1/parse-failures (the caller
// authenticates):
//
//	{"failures":[{"source":"syslog-udp","format":"syslog","outcome":"kept","count":3,"first":…,"last":…}],
//	 "total":3, "refused":0, "since":"<start>", "query":"vigil.parse_error:*"}
//
// Counts are since the process started; the events kept are stored and
// found with the query given; refused records were answered to their
// sender with the reason (total counts both, refused the latter).
type FailuresHandler struct {
	Failures *Failures
	Started  time.Time
}

// Routes returns the handler's route (permission sources:read).
func (h *FailuresHandler) Routes() []access.Route {
	return []access.Route{{Pattern: "GET /api/v1/parse-failures", Perm: access.SourcesRead, Handler: h}}
}

func (h *FailuresHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	list := h.Failures.List()
	var total, refused int64
	for _, c := range list {
		total += c.Count
		if c.Outcome == OutcomeRefused {
			refused += c.Count
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(struct {
		Failures []FailureCount `json:"failures"`
		Total    int64          `json:"total"`
		Refused  int64          `json:"refused"`
		Since    time.Time      `json:"since"`
		Query    string         `json:"query"`
	}{list, total, refused, h.Started.UTC(), event.FieldParseError + ":*"})
}
