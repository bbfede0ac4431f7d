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
	off := 1
	uv := func(what string) (uint64, error) {
		v, n := binary.Uvarint(data[off:])
		if n <= 0 {
			return 0, fmt.Errorf("%w: bad %s at byte %d", ErrCorruptBatch, what, off)
		}
		off += n
		return v, nil
	}
	str := func(what string) (string, error) {
		l, err := uv(what + " length")
		if err != nil {
			return "", err
		}
		if l > uint64(len(data)-off) {
			return "", fmt.Errorf("%w: %s of %d bytes at byte %d overruns the batch", ErrCorruptBatch, what, l, off)
		}
		v := s[off : off+int(l)]
		off += int(l)
		return v, nil
	}
	count, err := uv("event count")
	if err != nil {
		return dst, err
	}
	// Every event takes at least two bytes; refuse counts the data cannot hold
	// before allocating for them.
	if count > uint64(len(data)) {
		return dst, fmt.Errorf("%w: event count %d exceeds batch size", ErrCorruptBatch, count)
	}
	for i := uint64(0); i < count; i++ {
		ns, n := binary.Varint(data[off:])
		if n <= 0 {
			return dst, fmt.Errorf("%w: bad time of event %d at byte %d", ErrCorruptBatch, i, off)
		}
		off += n
		nf, err := uv("field count")
		if err != nil {
			return dst, err
		}
		if nf > uint64(len(data)-off) {
			return dst, fmt.Errorf("%w: field count %d of event %d exceeds batch size", ErrCorruptBatch, nf, i)
		}
		// One spare field: consumers add the event's id.
		ev := Event{Time: time.Unix(0, ns).UTC(), Fields: make([]Field, 0, nf+1)}
		for j := uint64(0); j < nf; j++ {
			name, err := str("field name")
			if err != nil {
				return dst, err
			}
			value, err := str("field value")
			if err != nil {
				return dst, err
			}
			ev.Fields = append(ev.Fields, Field{Name: name, Value: value})
		}
		dst = append(dst, ev)
	}
	if off != len(data) {
		return dst, fmt.Errorf("%w: %d trailing bytes", ErrCorruptBatch, len(data)-off)
	}
	return dst, nil
}
