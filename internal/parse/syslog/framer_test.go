package syslog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/vigil-siem/vigil/internal/event"
)

// frames reads everything from a Framer and renders each result as one
// line: the message quoted, then "!kind@offset/size" for a frame error.
func frames(t *testing.T, r io.Reader, max int) ([]string, Framing) {
	t.Helper()
	f := NewFramer(r, max)
	var out []string
	for i := 0; ; i++ {
		if i > 10000 {
			t.Fatal("framer does not make progress")
		}
		msg, err := f.Next()
		if len(msg) > max && max > 0 {
			t.Fatalf("message of %d bytes above the limit %d", len(msg), max)
		}
		s := ""
		if msg != nil {
			s = strconv.Quote(string(msg))
		}
		var fe *FrameError
		switch {
		case err == nil:
		case errors.Is(err, io.EOF) && msg == nil:
			return out, f.Framing()
		case errors.As(err, &fe):
			kind := map[error]string{ErrTruncated: "truncated", ErrUnterminated: "unterminated", ErrGarbage: "garbage"}[fe.Kind]
			s += fmt.Sprintf("!%s@%d/%d", kind, fe.Offset, fe.Size)
		default:
			s += "!" + err.Error()
			out = append(out, s)
			return out, f.Framing()
		}
		out = append(out, s)
	}
}

func TestFramer(t *testing.T) {
	f := func(in string, max int, wantMode Framing, want ...string) {
		t.Helper()
		for _, name := range []string{"whole", "one byte at a time"} {
			var r io.Reader = strings.NewReader(in)
			if name != "whole" {
				r = iotest.OneByteReader(r)
			}
			got, mode := frames(t, r, max)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s: %q:\ngot  %s\nwant %s", name, in, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
			}
			if mode != wantMode {
				t.Errorf("%s: %q: framing %v, want %v", name, in, mode, wantMode)
			}
		}
	}
	// Newline framing: LF, CRLF, NUL terminators, blank lines, no final LF.
	f("<13>a\n<13>b\r\n<13>c\x00<13>d", 0, FramingNonTransparent, `"<13>a"`, `"<13>b"`, `"<13>c"`, `"<13>d"`)
	f("<13>a\n\n\r\n\x00\n<13>b\n", 0, FramingNonTransparent, `"<13>a"`, `"<13>b"`)
	f("\n\n<13>a\n", 0, FramingNonTransparent, `"<13>a"`)
	f("Nov 28 10:00:01 host app: no PRI\n", 0, FramingNonTransparent, `"Nov 28 10:00:01 host app: no PRI"`)
	f("2024-11-28T10:00:01Z host app: ISO\n", 0, FramingNonTransparent, `"2024-11-28T10:00:01Z host app: ISO"`)
	f("  indented\n", 0, FramingNonTransparent, `"  indented"`)
	f("", 0, FramingUnknown)
	f("\r\n\n", 0, FramingUnknown)
	// A line starting with digits is text once newline framing is chosen.
	f("<13>a\n12 apples\n", 0, FramingNonTransparent, `"<13>a"`, `"12 apples"`)
	// Octet counting, with and without LF between frames; LF inside a frame.
	f("5 <13>a6 <13>bc", 0, FramingOctetCounting, `"<13>a"`, `"<13>bc"`)
	f("5 <13>a\n6 <13>bc\r\n", 0, FramingOctetCounting, `"<13>a"`, `"<13>bc"`)
	f("11 <13>a\nline2 5 <13>b", 0, FramingOctetCounting, `"<13>a\nline2"`, `"<13>b"`)
	// Truncation, newline framing: the rest of the line is dropped.
	f("<13>0123456789\n<13>ok\n", 8, FramingNonTransparent, `"<13>0123"!truncated@0/14`, `"<13>ok"`)
	f("<13>0123456789", 8, FramingNonTransparent, `"<13>0123"!truncated@0/14`)
	// ... at a UTF-8 boundary.
	f("<13>aéé\n", 6, FramingNonTransparent, `"<13>a"!truncated@0/9`)
	// Truncation, octet counting.
	f("14 <13>01234567895 <13>a", 8, FramingOctetCounting, `"<13>0123"!truncated@0/14`, `"<13>a"`)
	// Stream ends inside a frame.
	f("5 <13>a10 <13>b", 0, FramingOctetCounting, `"<13>a"`, `"<13>b"!unterminated@7/10`)
	f("5 <13>a10 ", 0, FramingOctetCounting, `"<13>a"`, `!unterminated@7/10`)
	f("20 <13>0123456789", 8, FramingOctetCounting, `"<13>0123"!unterminated@0/20`)
	// Garbage where a header should be: kept, reported with its offset,
	// and the framer resynchronises on the next header or line.
	f("5 <13>ajunk here 5 <13>b", 0, FramingOctetCounting, `"<13>a"`, `"junk here "!garbage@7/10`, `"<13>b"`)
	f("5 <13>ajunk\n5 <13>b", 0, FramingOctetCounting, `"<13>a"`, `"junk"!garbage@7/4`, `"<13>b"`)
	f("5 <13>a0 x\n5 <13>b", 0, FramingOctetCounting, `"<13>a"`, `"0 x"!garbage@7/3`, `"<13>b"`)
	f("5 <13>ax123 y 5 <13>b", 0, FramingOctetCounting, `"<13>a"`, `"x123 y "!garbage@7/7`, `"<13>b"`)
	f("5 <13>a"+strings.Repeat("z", 20)+"\n5 <13>b", 8, FramingOctetCounting, `"<13>a"`, `"zzzzzzzz"!garbage@7/20`, `"<13>b"`)
	f("5 <13>atrailing", 0, FramingOctetCounting, `"<13>a"`, `"trailing"!garbage@7/8`)
	// A header that is too long is garbage, not a 10 GB frame.
	f("5 <13>a12345678901 <13>b\n", 0, FramingOctetCounting, `"<13>a"`, `"12345678901 <13>b"!garbage@7/17`)
}

// TestFramerLargeSkip: a frame much larger than the limit is skipped
// without holding it in memory, and the next frame is read.
func TestFramerLargeSkip(t *testing.T) {
	n := 5 << 20
	in := io.MultiReader(strings.NewReader(strconv.Itoa(n)+" <13>"), io.LimitReader(repeatReader('x'), int64(n-4)),
		strings.NewReader("5 <13>b"))
	got, _ := frames(t, in, 1024)
	want := []string{strconv.Quote("<13>"+strings.Repeat("x", 1020)) + fmt.Sprintf("!truncated@0/%d", n), `"<13>b"`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %.200q, want %.200q", got, want)
	}
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// TestFramerReadError: a reader's error ends the stream and is returned
// as it is, after what was read.
func TestFramerReadError(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("<13>a\n<13>partial"), iotest.ErrReader(boom))
	f := NewFramer(r, 0)
	msg, err := f.Next()
	if string(msg) != "<13>a" || err != nil {
		t.Fatalf("first: %q, %v", msg, err)
	}
	msg, err = f.Next()
	if string(msg) != "<13>partial" || !errors.Is(err, boom) {
		t.Fatalf("second: %q, %v; want the partial message and the reader's error", msg, err)
	}
	if f.Offset() != int64(len("<13>a\n<13>partial")) {
		t.Errorf("offset %d", f.Offset())
	}
}

func TestFrameErrorText(t *testing.T) {
	f := NewFramer(strings.NewReader("5 <13>ajunk\n"), 0)
	_, _ = f.Next()
	_, err := f.Next()
	want := "syslog framing: bytes outside a syslog frame at byte 7 (4 bytes): expected an octet-counting header (LEN SP)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if !errors.Is(err, ErrGarbage) {
		t.Errorf("errors.Is(%v, ErrGarbage) is false", err)
	}
}

// TestMarkFrameError: the Framer's verdict reaches the event.
func TestMarkFrameError(t *testing.T) {
	p := &Parser{Now: fixedClock(testNow)}
	f := NewFramer(strings.NewReader("<13>Nov 28 10:00:01 host app: 0123456789\n"), 34)
	msg, ferr := f.Next()
	var e event.Event
	if err := p.Parse(msg, &e); err != nil {
		t.Fatal(err)
	}
	MarkFrameError(&e, ferr)
	if e.Value(FieldTruncated) != "true" || e.Value(FieldOriginalSize) != "40" || e.Value("message") != "0123" {
		t.Errorf("fields:\n%s", fieldsOf(&e))
	}

	// Garbage that happens to parse as RFC 3164 still ends up raw.
	f = NewFramer(strings.NewReader("5 <13>aNov 28 10:00:01 host app: garbage\n"), 0)
	_, _ = f.Next()
	msg, ferr = f.Next()
	e.Reset()
	_ = p.Parse(msg, &e)
	MarkFrameError(&e, ferr)
	raw := "Nov 28 10:00:01 host app: garbage"
	if e.Value(event.FieldParseError) != ferr.Error() || e.Value("message") != raw || e.Value(event.FieldOriginal) != raw {
		t.Errorf("fields:\n%s", fieldsOf(&e))
	}
	e.Reset()
	MarkFrameError(&e, nil)
	MarkFrameError(&e, io.EOF)
	if len(e.Fields) != 0 {
		t.Errorf("fields for no frame error:\n%s", fieldsOf(&e))
	}
}

// TestFramerRoundTrip: what octet counting frames comes back unchanged,
// whatever the bytes of the messages.
func TestFramerRoundTrip(t *testing.T) {
	msgs := []string{"<13>a", "<13>with\nnewline", "<13>with\x00nul", "<13>" + strings.Repeat("x", 3000), "<13>é"}
	var buf bytes.Buffer
	for _, m := range msgs {
		buf.WriteString(strconv.Itoa(len(m)) + " " + m)
	}
	f := NewFramer(&buf, 0)
	for _, want := range msgs {
		got, err := f.Next()
		if err != nil || string(got) != want {
			t.Fatalf("got %.40q, %v; want %.40q", got, err, want)
		}
	}
	if _, err := f.Next(); err != io.EOF {
		t.Errorf("end: %v, want io.EOF", err)
	}
}
