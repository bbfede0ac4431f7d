package formats

import (
	"fmt"
	"io"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/parse/jsonflat"
	"github.com/vigil-siem/vigil/internal/parse/ndjson"
)

var ndjsonFormat = Format{
	Name:   "ndjson",
	Doc:    "JSON events, one object per line, or a JSON array; nested or dotted names; Windows events in any of their JSON forms",
	Record: jsonRecord,
	File:   jsonFile,
	Upload: UploadJSON,
}

// jsonRecord flattens one JSON object into dotted fields, takes its
// @timestamp as the event time, and normalizes it (Windows events to the
// Winlogbeat layout, CEF/LEEF/key=value messages, Linux authentication
// facts).
func jsonRecord(opt Options) (RecordParser, error) {
	norm := JSONNormalizer(opt)
	return func(rec []byte, e *event.Event) error {
		if err := jsonflat.AppendObject(e, rec, jsonflat.Options{}); err != nil {
			return err
		}
		event.TakeTimestamp(e)
		norm(e)
		if e.Time.IsZero() {
			e.Time = opt.now() // the record stated no time: the receive time
		}
		return nil
	}, nil
}

// JSONNormalizer is the normalization of format ndjson, for the endpoints
// that decode JSON events their own way (Elasticsearch _bulk, Splunk HEC,
// OTLP): Windows events in any of their JSON forms are brought to the
// Winlogbeat layout, a CEF, LEEF or key=value message is parsed, Linux
// authentication facts are extracted. It is safe for concurrent use.
func JSONNormalizer(opt Options) func(*event.Event) {
	payloads := normalize.NewPayloads(opt.location())
	return func(e *event.Event) { normalize.JSONEvent(e, payloads) }
}

func jsonFile(r io.Reader, opt Options, emit Emit) ([]error, error) {
	parse, err := jsonRecord(opt)
	if err != nil {
		return nil, err
	}
	var problems []error
	err = ndjson.Decode(r, opt.maxRecord(), func(it ndjson.Item) error {
		var e event.Event
		err := it.Err
		if err == nil {
			err = parse(it.Raw, &e)
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("line %d: %w", it.N, err))
			refused(&e, it.Raw, err, opt)
		} else if v, ok := e.Get(event.FieldParseError); ok {
			problems = append(problems, fmt.Errorf("line %d: %s", it.N, v))
		}
		return emit(&e)
	})
	return problems, err
}
