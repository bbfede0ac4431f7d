// Package event defines Vigil's one event type: a timestamp plus a flat list
// of dotted, Elastic Common Schema style fields, and its compact binary
// encoding for batches on the bus.
package event

import (
	"slices"
	"time"
)

// Field is one named value. Name is a dotted path such as "source.ip";
// Value is always text (numbers, booleans and arrays are kept in their JSON
// text form).
type Field struct {
	Name  string
	Value string
}

// Event is one log record.
//
// Time is the moment the event happened (ECS @timestamp). Fields never
// contain "@timestamp"; the message text is the field "message".
// Field order is the order in which fields were added; names are unique
// when the event was built with Set, but Add does not check.
type Event struct {
	Time time.Time
	// Arrived is when Vigil received the event (zero when it was not
	// received, e.g. parsed offline). It travels in binary on the bus; the
	// store keeps it as event.ingested.
	Arrived time.Time
	Fields  []Field
}

// Well-known field names used across packages.
const (
	FieldMessage    = "message"
	FieldOriginal   = "event.original"
	FieldParseError = "vigil.parse_error"
	// FieldIngested is the arrival time as stored (event.Arrived; ECS
	// event.ingested), in the form FormatIngested writes.
	FieldIngested = "event.ingested"
	// FieldID is the identifier Vigil gives every event it keeps:
	// "<bus sequence>-<index in batch>". It is the same for the store and the
	// detector, so an alert can name the stored event.
	FieldID = "vigil.id"
	// FieldImport is "true" on the events of a historical import (a file
	// of old events sent on purpose), as opposed to a live source.
	FieldImport = "vigil.import"
)

// Get returns the value of the first field with the given name.
func (e *Event) Get(name string) (string, bool) {
	for i := range e.Fields {
		if e.Fields[i].Name == name {
			return e.Fields[i].Value, true
		}
	}
	return "", false
}

// Value returns the value of the named field, or "" when it is absent.
func (e *Event) Value(name string) string {
	v, _ := e.Get(name)
	return v
}

// Has reports whether the event has a field with the given name.
func (e *Event) Has(name string) bool {
	_, ok := e.Get(name)
	return ok
}

// Set replaces the value of the named field, or appends it when absent.
func (e *Event) Set(name, value string) {
	for i := range e.Fields {
		if e.Fields[i].Name == name {
			e.Fields[i].Value = value
			return
		}
	}
	e.Fields = append(e.Fields, Field{Name: name, Value: value})
}

// SetIfAbsent sets the field only when the event does not have it yet.
func (e *Event) SetIfAbsent(name, value string) {
	if !e.Has(name) {
		e.Fields = append(e.Fields, Field{Name: name, Value: value})
	}
}

// Add appends a field without checking for an existing one of that name.
// Use it when building an event from a source known to have unique names.
func (e *Event) Add(name, value string) {
	e.Fields = append(e.Fields, Field{Name: name, Value: value})
}

// Delete removes every field with the given name.
func (e *Event) Delete(name string) {
	e.Fields = slices.DeleteFunc(e.Fields, func(f Field) bool { return f.Name == name })
}

// Reset empties the event for reuse, keeping the field slice's capacity.
func (e *Event) Reset() {
	e.Time, e.Arrived = time.Time{}, time.Time{}
	clear(e.Fields)
	e.Fields = e.Fields[:0]
}

// Clone returns a deep copy of the event's field slice (strings are shared,
// being immutable).
func (e *Event) Clone() Event {
	return Event{Time: e.Time, Arrived: e.Arrived, Fields: slices.Clone(e.Fields)}
}

// SortFields orders fields by name; golden files and JSON output use it so
// that output does not depend on the order sources added fields.
func (e *Event) SortFields() {
	slices.SortStableFunc(e.Fields, func(a, b Field) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
}
