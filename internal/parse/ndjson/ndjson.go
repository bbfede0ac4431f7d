// Package ndjson splits an HTTP ingest body into JSON events: either
// newline-delimited JSON (one object per line; blank lines ignored) or one
// JSON array of objects. Each event is reported with its line number
// (NDJSON) or element number (array), so that a sender learns exactly which
// of its events were refused and why.
package ndjson

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Item is one event of the body: its number (1-based line or element) and
// raw JSON, or why it cannot be used. Raw is valid only during the call.
type Item struct {
	N   int
	Raw []byte
	Err error
}

// ErrTooLong is the reason for an event larger than the limit.
var ErrTooLong = errors.New("event too large")

// Decode reads r and calls fn for every event. maxEvent bounds a single
// event's bytes. It returns an error only when reading r fails or fn does;
// malformed events are reported through Item.Err and decoding goes on
// where it can (NDJSON: the next line; an array cannot be resynchronised
// after a syntax error, so the error is the last item).
func Decode(r io.Reader, maxEvent int, fn func(Item) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '\xef': // UTF-8 byte order mark
			if b, _ := br.Peek(2); bytes.Equal(b, []byte{0xbb, 0xbf}) {
				br.Discard(2)
				continue
			}
		}
		_ = br.UnreadByte()
		if c == '[' {
			return decodeArray(br, maxEvent, fn)
		}
		return decodeLines(br, maxEvent, true, fn)
	}
}

// Lines reads r as text lines (LF or CRLF) and calls fn for every
// non-blank line, with the same bounds and numbering as Decode.
func Lines(r io.Reader, maxEvent int, fn func(Item) error) error {
	return decodeLines(bufio.NewReaderSize(r, 64<<10), maxEvent, false, fn)
}

func decodeLines(br *bufio.Reader, maxEvent int, wantJSON bool, fn func(Item) error) error {
	line := 0
	var buf []byte
	for {
		line++
		buf = buf[:0]
		tooLong := false
		var err error
		for {
			var chunk []byte
			chunk, err = br.ReadSlice('\n')
			if !tooLong {
				if len(buf)+len(chunk) > maxEvent+2 { // +2: CRLF
					tooLong = true
					buf = buf[:0]
				} else {
					buf = append(buf, chunk...)
				}
			}
			if err != bufio.ErrBufferFull {
				break
			}
		}
		if err != nil && err != io.EOF {
			return err
		}
		switch {
		case tooLong:
			if ferr := fn(Item{N: line, Err: fmt.Errorf("%w: line exceeds %d bytes", ErrTooLong, maxEvent)}); ferr != nil {
				return ferr
			}
		default:
			trimmed := bytes.TrimSpace(buf)
			if len(trimmed) == 0 {
				break
			}
			item := Item{N: line, Raw: trimmed}
			if !wantJSON {
				item.Raw = bytes.TrimRight(buf, "\r\n")
			} else if trimmed[0] != '{' {
				item = Item{N: line, Err: fmt.Errorf("want a JSON object, line starts with %s", describe(trimmed))}
			}
			if ferr := fn(item); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

func describe(b []byte) string {
	c := b[0]
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", c)
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func decodeArray(br *bufio.Reader, maxEvent int, fn func(Item) error) error {
	dec := json.NewDecoder(br)
	if _, err := dec.Token(); err != nil { // '['
		return fn(Item{N: 1, Err: fmt.Errorf("invalid JSON array: %v", err)})
	}
	n := 0
	for dec.More() {
		n++
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			off := dec.InputOffset()
			var se *json.SyntaxError
			if errors.As(err, &se) {
				off = se.Offset
			}
			return fn(Item{N: n, Err: fmt.Errorf("invalid JSON in element %d near byte %d: %v", n, off, err)})
		}
		item := Item{N: n, Raw: raw}
		switch {
		case len(raw) > maxEvent:
			item = Item{N: n, Err: fmt.Errorf("%w: element exceeds %d bytes", ErrTooLong, maxEvent)}
		case raw[0] != '{':
			item = Item{N: n, Err: fmt.Errorf("want a JSON object, element starts with %s", describe(raw))}
		}
		if err := fn(item); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // ']'
		return fn(Item{N: n + 1, Err: fmt.Errorf("invalid JSON array end at byte %d: %v", dec.InputOffset(), err)})
	}
	// Anything but whitespace after the array is an error.
	if rest, _ := io.ReadAll(io.LimitReader(dec.Buffered(), 64)); len(bytes.TrimSpace(rest)) > 0 {
		return fn(Item{N: n + 1, Err: fmt.Errorf("unexpected data after the JSON array")})
	}
	if rest, _ := br.Peek(64); len(bytes.TrimSpace(rest)) > 0 {
		return fn(Item{N: n + 1, Err: fmt.Errorf("unexpected data after the JSON array")})
	}
	return nil
}
