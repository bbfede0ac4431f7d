package otlp

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/vigil-siem/vigil/internal/event"
)

// resourceNames maps OpenTelemetry resource attributes to ECS names where
// the two differ; the others keep their names (the OpenTelemetry semantic
// conventions and ECS mostly agree).
var resourceNames = map[string]string{
	"service.instance.id":         "service.node.name",
	"deployment.environment":      "service.environment",
	"deployment.environment.name": "service.environment",
	"host.arch":                   "host.architecture",
	"os.description":              "os.full",
	"process.executable.name":     "process.name",
	"process.executable.path":     "process.executable",
	"process.owner":               "process.user.name",
	"k8s.namespace.name":          "kubernetes.namespace",
	"k8s.pod.name":                "kubernetes.pod.name",
	"k8s.pod.uid":                 "kubernetes.pod.uid",
	"k8s.node.name":               "kubernetes.node.name",
	"k8s.node.uid":                "kubernetes.node.uid",
	"k8s.container.name":          "kubernetes.container.name",
	"k8s.deployment.name":         "kubernetes.deployment.name",
	"k8s.statefulset.name":        "kubernetes.statefulset.name",
	"k8s.daemonset.name":          "kubernetes.daemonset.name",
	"k8s.replicaset.name":         "kubernetes.replicaset.name",
	"k8s.job.name":                "kubernetes.job.name",
	"k8s.cronjob.name":            "kubernetes.cronjob.name",
	"k8s.cluster.name":            "orchestrator.cluster.name",
}

// recordNames maps log record attributes to ECS names where they differ.
var recordNames = map[string]string{
	"exception.type":       "error.type",
	"exception.message":    "error.message",
	"exception.stacktrace": "error.stack_trace",
}

// reserved are the fields Vigil sets from the log record itself; an
// attribute of that name is kept under otel.attributes.<name>.
var reserved = map[string]bool{
	"@timestamp": true, event.FieldMessage: true, "log.level": true, "event.severity": true,
	"trace.id": true, "span.id": true, "event.created": true, "event.ingested": true,
	"otel.scope.name": true, "otel.scope.version": true, "otel.event_name": true, "otel.trace_flags": true,
}

// severityText names OTLP severity numbers (1-24) by range.
func severityText(n plog.SeverityNumber) string {
	switch {
	case n <= 0:
		return ""
	case n <= 4:
		return "trace"
	case n <= 8:
		return "debug"
	case n <= 12:
		return "info"
	case n <= 16:
		return "warn"
	case n <= 20:
		return "error"
	}
	return "fatal"
}

// AppendEvents appends one event per log record of logs to dst and
// returns it. The mapping (see docs/shippers.md):
//
//   - time: the record's time, else its observed time, else arrived;
//     the observed time is also kept in event.created;
//   - body: a string (or scalar, or array as JSON) → message; a map →
//     otel.body.<key> flattened;
//   - severity text → log.level (lower case; derived from the number
//     when absent), severity number → event.severity;
//   - trace and span id → trace.id, span.id (hex); flags → otel.trace_flags;
//     event name → otel.event_name;
//   - scope name and version → otel.scope.name, otel.scope.version;
//   - record attributes, then resource attributes, under their own names
//     (maps flattened with dots), with the ECS names of resourceNames and
//     recordNames; an attribute named like a field set from the record
//     goes to otel.attributes.<name>; record attributes win over resource
//     attributes of the same name;
//   - os.type "darwin" → "macos" (ECS);
//   - event.dataset: the data_stream.dataset attribute, else service.name,
//     unless an attribute names event.dataset itself.
func AppendEvents(dst []event.Event, logs plog.Logs, arrived time.Time) []event.Event {
	rls := logs.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		res := rl.Resource().Attributes()
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			scope := sl.Scope()
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				dst = append(dst, record(lrs.At(k), scope, res, arrived))
			}
		}
	}
	return dst
}

func record(lr plog.LogRecord, scope pcommon.InstrumentationScope, res pcommon.Map, arrived time.Time) event.Event {
	e := event.Event{Time: arrived, Fields: make([]event.Field, 0, 16+lr.Attributes().Len()+res.Len())}
	switch {
	case lr.Timestamp() != 0:
		e.Time = lr.Timestamp().AsTime().UTC()
	case lr.ObservedTimestamp() != 0:
		e.Time = lr.ObservedTimestamp().AsTime().UTC()
	}
	if ot := lr.ObservedTimestamp(); ot != 0 {
		e.Add("event.created", ot.AsTime().UTC().Format(time.RFC3339Nano))
	}
	body := lr.Body()
	switch body.Type() {
	case pcommon.ValueTypeEmpty:
	case pcommon.ValueTypeMap:
		appendMap(&e, "otel.body.", body.Map(), false, 0)
	default:
		e.Add(event.FieldMessage, body.AsString())
	}
	if t := lr.SeverityText(); t != "" {
		e.Add("log.level", strings.ToLower(t))
	} else if t := severityText(lr.SeverityNumber()); t != "" {
		e.Add("log.level", t)
	}
	if n := lr.SeverityNumber(); n != 0 {
		e.Add("event.severity", strconv.Itoa(int(n)))
	}
	if id := lr.TraceID(); !id.IsEmpty() {
		e.Add("trace.id", hex.EncodeToString(id[:]))
	}
	if id := lr.SpanID(); !id.IsEmpty() {
		e.Add("span.id", hex.EncodeToString(id[:]))
	}
	if f := lr.Flags(); f != 0 {
		e.Add("otel.trace_flags", strconv.FormatUint(uint64(f), 10))
	}
	if n := lr.EventName(); n != "" {
		e.Add("otel.event_name", n)
	}
	if n := scope.Name(); n != "" {
		e.Add("otel.scope.name", n)
	}
	if v := scope.Version(); v != "" {
		e.Add("otel.scope.version", v)
	}
	appendAttrs(&e, lr.Attributes(), recordNames)
	appendAttrs(&e, res, resourceNames)
	if !e.Has("event.dataset") {
		if ds := e.Value("data_stream.dataset"); ds != "" {
			e.Add("event.dataset", ds)
		} else if sn := e.Value("service.name"); sn != "" {
			e.Add("event.dataset", sn)
		}
	}
	for i := range e.Fields {
		if f := &e.Fields[i]; f.Name == "os.type" && f.Value == "darwin" {
			f.Value = "macos"
		}
	}
	return e
}

// appendAttrs adds attributes not already present, renamed by names.
func appendAttrs(e *event.Event, attrs pcommon.Map, names map[string]string) {
	attrs.Range(func(k string, v pcommon.Value) bool {
		name := k
		if n, ok := names[k]; ok {
			name = n
		} else if reserved[k] {
			name = "otel.attributes." + k
		}
		if v.Type() == pcommon.ValueTypeMap {
			appendMap(e, name+".", v.Map(), true, 0)
			return true
		}
		if v.Type() == pcommon.ValueTypeEmpty {
			return true
		}
		if !e.Has(name) {
			e.Add(name, v.AsString())
		}
		return true
	})
}

// maxDepth bounds the nesting of map values flattened into fields.
const maxDepth = 16

// appendMap flattens a map value under prefix; ifAbsent skips names the
// event has.
func appendMap(e *event.Event, prefix string, mv pcommon.Map, ifAbsent bool, depth int) {
	mv.Range(func(k string, v pcommon.Value) bool {
		name := prefix + k
		switch v.Type() {
		case pcommon.ValueTypeMap:
			if depth >= maxDepth {
				e.Add(name, "[nested deeper than 16 levels]")
				break
			}
			appendMap(e, name+".", v.Map(), ifAbsent, depth+1)
		case pcommon.ValueTypeEmpty:
		default:
			if !ifAbsent || !e.Has(name) {
				e.Add(name, v.AsString())
			}
		}
		return true
	})
}
