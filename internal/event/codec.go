package event

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unsafe"
)

// Batch encoding versions: the first byte of every encoded batch. A
// decoder refuses versions it does not know instead of mis-reading them.
const (
	batchV1 = 1 // names repeated in every event; no arrival time
	batchV2 = 2 // a table of field names; arrival times
)

// AppendBatch appends the binary encoding of events to dst.
//
// Layout (version 2): version byte; uvarint count of distinct field names,
// then each name uvarint-length-prefixed; uvarint event count; per event a
// varint Unix time in nanoseconds, a varint arrival time in nanoseconds (0:
// none), a uvarint field count and, per field, the uvarint index of its
// name and its uvarint-length-prefixed value. Events of one source name
// the same fields, so a batch carries each name once.
func AppendBatch(dst []byte, events []Event) []byte {
	var enc Encoder
	return enc.AppendBatch(dst, events)
}

// Encoder encodes batches, reusing its name table between calls. The zero
// value is ready to use; it is not safe for concurrent use.
type Encoder struct {
	index map[string]int
	names []string
	// prev are the name indexes of the previous event by position: events
	// of one source have the same fields in the same order, so most names
	// are found without a map lookup.
	prev []int
}

// AppendBatch appends the encoding of events to dst.
func (c *Encoder) AppendBatch(dst []byte, events []Event) []byte {
	if c.index == nil {
		c.index = map[string]int{}
	}
	clear(c.index)
	c.names = c.names[:0]
	c.prev = c.prev[:0]
	// The name table comes first: collect it, then write the events.
	idx := make([]int, 0, 64)
	for i := range events {
		for j, f := range events[i].Fields {
			if j < len(c.prev) && c.names[c.prev[j]] == f.Name {
				continue
			}
			n, ok := c.index[f.Name]
			if !ok {
				n = len(c.names)
				c.index[f.Name] = n
				c.names = append(c.names, f.Name)
			}
			if j < len(c.prev) {
				c.prev[j] = n
			} else {
				c.prev = append(c.prev, n)
			}
		}
	}
	dst = append(dst, batchV2)
	dst = binary.AppendUvarint(dst, uint64(len(c.names)))
	for _, n := range c.names {
		dst = binary.AppendUvarint(dst, uint64(len(n)))
		dst = append(dst, n...)
	}
	dst = binary.AppendUvarint(dst, uint64(len(events)))
	c.prev = c.prev[:0]
	for i := range events {
		e := &events[i]
		dst = binary.AppendVarint(dst, e.Time.UnixNano())
		var arrived int64
		if !e.Arrived.IsZero() {
			arrived = e.Arrived.UnixNano()
		}
		dst = binary.AppendVarint(dst, arrived)
		dst = binary.AppendUvarint(dst, uint64(len(e.Fields)))
		idx = idx[:0]
		for j, f := range e.Fields {
			var n int
			if j < len(c.prev) && c.names[c.prev[j]] == f.Name {
				n = c.prev[j]
			} else {
				n = c.index[f.Name]
			}
			idx = append(idx, n)
			dst = binary.AppendUvarint(dst, uint64(n))
			dst = binary.AppendUvarint(dst, uint64(len(f.Value)))
			dst = append(dst, f.Value...)
		}
		c.prev = append(c.prev[:0], idx...)
	}
	return dst
}

// ErrCorruptBatch is returned (wrapped) for a batch that cannot be decoded.
var ErrCorruptBatch = errors.New("corrupt event batch")

// arenaChunk is how many fields DecodeBatch allocates at a time for the
// events of a batch, instead of one slice per event.
const arenaChunk = 4096

// DecodeBatch decodes a batch produced by AppendBatch, appending the events
// to dst. All strings of the result share one copy of data, so the caller
// may reuse data afterwards; the events' field slices share a few larger
// allocations, each event's with room for one more field (its id) before an
// append copies it.
func DecodeBatch(dst []Event, data []byte) ([]Event, error) {
	if len(data) == 0 {
		return dst, fmt.Errorf("%w: empty", ErrCorruptBatch)
	}
	return decodeBatch(dst, data, string(data)) // one copy; fields are substrings of it
}

// DecodeBatchShared is DecodeBatch without the copy: the strings of the
// result are substrings of data itself, so data must never be modified
// or reused afterwards (a bus message's payload, which the bus client
// allocates for each message and nobody writes to, is kept by the
// events as their one copy of the batch).
func DecodeBatchShared(dst []Event, data []byte) ([]Event, error) {
	if len(data) == 0 {
		return dst, fmt.Errorf("%w: empty", ErrCorruptBatch)
	}
	return decodeBatch(dst, data, unsafe.String(&data[0], len(data)))
}

// decodeBatch decodes data (not empty), taking the strings of the events
// from s, which holds the same bytes.
func decodeBatch(dst []Event, data []byte, s string) ([]Event, error) {
	switch data[0] {
	case batchV1, batchV2:
	default:
		return dst, fmt.Errorf("%w: unknown version %d", ErrCorruptBatch, data[0])
	}
	d := decoder{data: data, off: 1}
	var names []string
	if data[0] == batchV2 {
		nn, ok := d.uvarint()
		if !ok {
			return dst, d.fail("name count")
		}
		if nn > uint64(len(data)) {
			return dst, fmt.Errorf("%w: name count %d exceeds batch size", ErrCorruptBatch, nn)
		}
		names = make([]string, nn)
		for i := range names {
			if names[i], ok = d.str(s); !ok {
				return dst, d.fail("field name")
			}
		}
	}
	count, ok := d.uvarint()
	if !ok {
		return dst, d.fail("event count")
	}
	// Every event takes at least two bytes; refuse counts the data cannot
	// hold before allocating for them.
	if count > uint64(len(data)) {
		return dst, fmt.Errorf("%w: event count %d exceeds batch size", ErrCorruptBatch, count)
	}
	dst = growEvents(dst, int(count))
	var arena []Field
	for i := uint64(0); i < count; i++ {
		ns, n := binary.Varint(data[d.off:])
		if n <= 0 {
			return dst, fmt.Errorf("%w: bad time of event %d at byte %d", ErrCorruptBatch, i, d.off)
		}
		d.off += n
		ev := Event{Time: time.Unix(0, ns).UTC()}
		if data[0] == batchV2 {
			arr, n := binary.Varint(data[d.off:])
			if n <= 0 {
				return dst, fmt.Errorf("%w: bad arrival time of event %d at byte %d", ErrCorruptBatch, i, d.off)
			}
			d.off += n
			if arr != 0 {
				ev.Arrived = time.Unix(0, arr).UTC()
			}
		}
		nf, ok := d.uvarint()
		if !ok {
			return dst, d.fail("field count")
		}
		if nf > uint64(len(data)-d.off) {
			return dst, fmt.Errorf("%w: field count %d of event %d exceeds batch size", ErrCorruptBatch, nf, i)
		}
		// One spare field: consumers add the event's id.
		if len(arena) < int(nf)+1 {
			arena = make([]Field, max(arenaChunk, int(nf)+1))
		}
		ev.Fields = arena[: nf : nf+1]
		arena = arena[nf+1:]
		for j := range ev.Fields {
			var name string
			if names != nil {
				k, ok := d.uvarint()
				if !ok || k >= uint64(len(names)) {
					return dst, d.fail("field name index")
				}
				name = names[k]
			} else if name, ok = d.str(s); !ok {
				return dst, d.fail("field name")
			}
			value, ok := d.str(s)
			if !ok {
				return dst, d.fail("field value")
			}
			ev.Fields[j] = Field{Name: name, Value: value}
		}
		dst = append(dst, ev)
	}
	if d.off != len(data) {
		return dst, fmt.Errorf("%w: %d trailing bytes", ErrCorruptBatch, len(data)-d.off)
	}
	return dst, nil
}

// growEvents makes room for n more events in dst.
func growEvents(dst []Event, n int) []Event {
	if cap(dst)-len(dst) >= n {
		return dst
	}
	grown := make([]Event, len(dst), len(dst)+n)
	copy(grown, dst)
	return grown
}

// decoder reads a batch; a failed read leaves off at the problem.
type decoder struct {
	data []byte
	off  int
}

func (d *decoder) uvarint() (uint64, bool) {
	v, n := binary.Uvarint(d.data[d.off:])
	if n <= 0 {
		return 0, false
	}
	d.off += n
	return v, true
}

// str reads a length-prefixed string as a substring of s (data as a string).
func (d *decoder) str(s string) (string, bool) {
	l, ok := d.uvarint()
	if !ok || l > uint64(len(d.data)-d.off) {
		return "", false
	}
	v := s[d.off : d.off+int(l)]
	d.off += int(l)
	return v, true
}

func (d *decoder) fail(what string) error {
	return fmt.Errorf("%w: bad %s at byte %d", ErrCorruptBatch, what, d.off)
}
