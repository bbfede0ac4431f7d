// Package store keeps events in the embedded VictoriaLogs storage library
// and answers LogsQL queries over them.
//
// The Store interface is what the rest of Vigil needs from a log store; the
// embedded implementation here is the default, and a VictoriaLogs cluster
// behind its HTTP API can implement the same interface later.
//
// Field names: the event field "message" is kept as VictoriaLogs' message
// field "_msg" (so a bare word in a query searches it) and the event time as
// "_time"; results are given back under the event names "message" and
// "@timestamp".
package store

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-siem/vigil/internal/event"
)

// Store is a log store.
type Store interface {
	// Add stores events. They become searchable within a second and
	// durable after Flush returns.
	Add(events []event.Event)
	// Flush makes everything added so far durable on disk.
	Flush()
	// Search runs a LogsQL query and calls fn for every resulting row, one
	// call at a time. fn must not keep fields after returning.
	Search(ctx context.Context, req Request, fn func(row []event.Field) error) error
	// Hits counts matching events in time buckets of req.Step.
	Hits(ctx context.Context, req Request) ([]HitsSeries, error)
	// Fields lists the fields of matching events with their top values.
	Fields(ctx context.Context, req Request) ([]FieldSummary, error)
	Close()
}

// Request is a query over a time range.
type Request struct {
	Query string
	Start time.Time // inclusive
	End   time.Time // exclusive
	// Limit caps the rows returned by Search (newest first); 0 means no cap
	// and rows in storage order.
	Limit int
	// Step is the bucket width for Hits.
	Step time.Duration
	// GroupBy lists fields Hits groups by, besides time.
	GroupBy []string
	// TopValues is the number of top values per field for Fields.
	TopValues int
}

// HitsSeries is one group of Hits buckets.
type HitsSeries struct {
	Fields     map[string]string `json:"fields"`
	Timestamps []time.Time       `json:"timestamps"`
	Values     []uint64          `json:"values"`
	Total      uint64            `json:"total"`
}

// FieldSummary describes one field of the matching events.
type FieldSummary struct {
	Name      string       `json:"name"`
	Hits      uint64       `json:"hits"`
	TopValues []ValueCount `json:"top_values,omitempty"`
}

// ValueCount is a value and how many matching events have it.
type ValueCount struct {
	Value string `json:"value"`
	Hits  uint64 `json:"hits"`
}

// QueryError is a malformed query; its message is the LogsQL parser's.
type QueryError struct{ Err error }

func (e *QueryError) Error() string { return "invalid query: " + e.Err.Error() }
func (e *QueryError) Unwrap() error { return e.Err }

// Position is where in query the parser stopped, in characters (Unicode
// code points) from the start, or -1 when the message does not say. The
// LogsQL parser ends its messages with "; context: [<query up to the
// error>]".
func (e *QueryError) Position(query string) int {
	msg := e.Err.Error()
	i := strings.LastIndex(msg, "; context: [")
	if i < 0 || !strings.HasSuffix(msg, "]") {
		return -1
	}
	ctx := msg[i+len("; context: [") : len(msg)-1]
	j := strings.LastIndex(query, ctx)
	if ctx == "" || j < 0 {
		return -1
	}
	return utf8.RuneCountInString(query[:j+len(ctx)])
}

// ErrLocked is returned by Open when another process holds the data dir.
var ErrLocked = errors.New("data directory is locked by another process")
