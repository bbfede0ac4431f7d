package elastic

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/jsonflat"
)

// Op is one operation of a _bulk body: an action line and, except for
// delete, the document line after it.
type Op struct {
	// Line is the 1-based line number of the action line.
	Line int
	// Action is "index", "create", "update" or "delete".
	Action string
	// Index and ID are the action's _index and _id ("" when absent).
	Index, ID string
	// Source is the document line (nil for delete). It is valid only during
	// the callback.
	Source []byte
	// Err says why the document cannot be used (too large, missing); the
	// operation is answered with an error and decoding goes on.
	Err error
}

// MalformedError is an action line that cannot be read. Elasticsearch
// refuses the whole request then, since it can no longer tell action lines
// from documents; so does Vigil.
type MalformedError struct {
	Line int
	Msg  string
}

func (e *MalformedError) Error() string {
	return fmt.Sprintf("malformed action/metadata line [%d]: %s", e.Line, e.Msg)
}

// ErrDocTooLarge is the reason for a document line larger than the limit.
var ErrDocTooLarge = errors.New("document too large")

// DecodeBulk reads a _bulk body (NDJSON pairs of action and document lines)
// from r and calls fn for every operation. maxDoc bounds one line. Blank
// lines are skipped; a missing final newline is accepted. It returns a
// *MalformedError for an unreadable action line, the error of r, or the
// error of fn.
func DecodeBulk(r io.Reader, maxDoc int, fn func(*Op) error) error {
	lr := lineReader{br: bufio.NewReaderSize(r, 64<<10), max: maxDoc}
	var scratch event.Event
	var op Op
	for {
		line, n, tooLong, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if tooLong {
			return &MalformedError{Line: n, Msg: fmt.Sprintf("longer than %d bytes", maxDoc)}
		}
		op = Op{Line: n}
		if err := parseAction(line, &op, &scratch); err != nil {
			return &MalformedError{Line: n, Msg: err.Error()}
		}
		if op.Action != "delete" {
			src, _, tooLong, err := lr.next()
			switch {
			case err == io.EOF:
				op.Err = fmt.Errorf("the %s action on line %d has no document line after it", op.Action, n)
			case err != nil:
				return err
			case tooLong:
				op.Err = fmt.Errorf("%w: the document line exceeds %d bytes", ErrDocTooLarge, maxDoc)
			default:
				op.Source = src
			}
		}
		if err := fn(&op); err != nil {
			return err
		}
	}
}

// lineReader returns non-blank lines, bounded in length.
type lineReader struct {
	br   *bufio.Reader
	max  int
	line int
	buf  []byte
}

// next returns the next non-blank line without its line end; tooLong is
// set (and line nil) for a line over the limit, which is skipped.
func (l *lineReader) next() (line []byte, n int, tooLong bool, err error) {
	for {
		l.line++
		l.buf = l.buf[:0]
		tooLong = false
		var rerr error
		for {
			var chunk []byte
			chunk, rerr = l.br.ReadSlice('\n')
			if !tooLong {
				if len(l.buf)+len(chunk) > l.max+2 { // +2: CRLF
					tooLong = true
					l.buf = l.buf[:0]
				} else {
					l.buf = append(l.buf, chunk...)
				}
			}
			if rerr != bufio.ErrBufferFull {
				break
			}
		}
		if rerr != nil && rerr != io.EOF {
			return nil, l.line, false, rerr
		}
		if tooLong {
			return nil, l.line, true, nil
		}
		t := bytes.TrimSpace(l.buf)
		if len(t) > 0 {
			return t, l.line, false, nil
		}
		if rerr == io.EOF {
			return nil, l.line, false, io.EOF
		}
	}
}

// parseAction reads {"<action>": {<metadata>}}.
func parseAction(line []byte, op *Op, scratch *event.Event) error {
	i := jsonflat.SkipSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return fmt.Errorf("expected START_OBJECT, found %s", describe(line, i))
	}
	i = jsonflat.SkipSpace(line, i+1)
	if i >= len(line) || line[i] != '"' {
		return fmt.Errorf("expected FIELD_NAME, found %s", describe(line, i))
	}
	end := bytes.IndexByte(line[i+1:], '"')
	if end < 0 {
		return errors.New("unterminated action name")
	}
	name := line[i+1 : i+1+end]
	switch string(name) {
	case "index":
		op.Action = "index"
	case "create":
		op.Action = "create"
	case "update":
		op.Action = "update"
	case "delete":
		op.Action = "delete"
	default:
		return fmt.Errorf("expected one of [create, delete, index, update] but found [%s]", truncate(string(name), 64))
	}
	i = jsonflat.SkipSpace(line, i+2+end)
	if i >= len(line) || line[i] != ':' {
		return fmt.Errorf("expected ':' after the action name, found %s", describe(line, i))
	}
	i = jsonflat.SkipSpace(line, i+1)
	if i >= len(line) || line[i] != '{' {
		return fmt.Errorf("expected START_OBJECT for the %s metadata, found %s", op.Action, describe(line, i))
	}
	end = jsonflat.ObjectEnd(line, i)
	if end < 0 {
		return fmt.Errorf("unterminated %s metadata object", op.Action)
	}
	if j := jsonflat.SkipSpace(line, end); j >= len(line) || line[j] != '}' {
		return fmt.Errorf("expected END_OBJECT after the %s metadata, found %s", op.Action, describe(line, j))
	} else if k := jsonflat.SkipSpace(line, j+1); k != len(line) {
		return fmt.Errorf("unexpected %s after the action object", describe(line, k))
	}
	scratch.Reset()
	if err := jsonflat.AppendObject(scratch, line[i:end], jsonflat.Options{MaxDepth: 8, MaxFields: 256}); err != nil {
		var se *jsonflat.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("invalid JSON at byte %d: %s", i+se.Offset, se.Msg)
		}
		return err
	}
	for _, f := range scratch.Fields {
		switch f.Name {
		case "_index":
			op.Index = f.Value
		case "_id":
			op.ID = f.Value
		}
	}
	return nil
}

func describe(b []byte, i int) string {
	if i >= len(b) {
		return "end of line"
	}
	c := b[i]
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c)) + " at byte " + strconv.Itoa(i)
	}
	return fmt.Sprintf("byte 0x%02x at byte %d", c, i)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
