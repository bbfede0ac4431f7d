package event

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// batchVersion is the first byte of every encoded batch; a decoder refuses
// versions it does not know instead of mis-reading them.
const batchVersion = 1

// AppendBatch appends the binary encoding of events to dst.
//
// Layout: version byte, uvarint count, then per event a varint Unix time in
// nanoseconds, a uvarint field count and, per field, uvarint-length-prefixed
// name and value bytes.
func AppendBatch(dst []byte, events []Event) []byte {
	dst = append(dst, batchVersion)
	dst = binary.AppendUvarint(dst, uint64(len(events)))
	for i := range events {
		e := &events[i]
		dst = binary.AppendVarint(dst, e.Time.UnixNano())
		dst = binary.AppendUvarint(dst, uint64(len(e.Fields)))
		for _, f := range e.Fields {
			dst = binary.AppendUvarint(dst, uint64(len(f.Name)))
			dst = append(dst, f.Name...)
			dst = binary.AppendUvarint(dst, uint64(len(f.Value)))
			dst = append(dst, f.Value...)
		}
	}
	return dst
}

// ErrCorruptBatch is returned (wrapped) for a batch that cannot be decoded.
var ErrCorruptBatch = errors.New("corrupt event batch")

// DecodeBatch decodes a batch produced by AppendBatch, appending the events
// to dst. All strings of the result share one copy of data, so the caller
// may reuse data afterwards.
func DecodeBatch(dst []Event, data []byte) ([]Event, error) {
	if len(data) == 0 {
		return dst, fmt.Errorf("%w: empty", ErrCorruptBatch)
	}
	if data[0] != batchVersion {
		return dst, fmt.Errorf("%w: unknown version %d", ErrCorruptBatch, data[0])
	}
	s := string(data) // one allocation; fields are substrings of it
	d := decoder{data: data, off: 1}
	count, ok := d.uvarint()
	if !ok {
		return dst, d.fail("event count")
	}
	// Every event takes at least two bytes; refuse counts the data cannot
	// hold before allocating for them.
	if count > uint64(len(data)) {
		return dst, fmt.Errorf("%w: event count %d exceeds batch size", ErrCorruptBatch, count)
	}
	for i := uint64(0); i < count; i++ {
		ns, n := binary.Varint(data[d.off:])
		if n <= 0 {
			return dst, fmt.Errorf("%w: bad time of event %d at byte %d", ErrCorruptBatch, i, d.off)
		}
		d.off += n
		nf, ok := d.uvarint()
		if !ok {
			return dst, d.fail("field count")
		}
		if nf > uint64(len(data)-d.off) {
			return dst, fmt.Errorf("%w: field count %d of event %d exceeds batch size", ErrCorruptBatch, nf, i)
		}
		// One spare field: consumers add the event's id.
		ev := Event{Time: time.Unix(0, ns).UTC(), Fields: make([]Field, nf, nf+1)}
		for j := range ev.Fields {
			name, ok := d.str(s)
			if !ok {
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
