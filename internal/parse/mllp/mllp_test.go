package mllp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// readAll reads every frame and renders the outcome as text: frames as
// quoted strings, errors as kind@offset+length.
func readAll(in string, max int) string {
	r := NewReader(strings.NewReader(in), max)
	var out []string
	for i := 0; i < 100; i++ {
		f, err := r.ReadFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		var fe *FrameError
		switch {
		case errors.As(err, &fe):
			kind := map[error]string{ErrGarbage: "garbage", ErrTooLarge: "toolarge", ErrUnterminated: "unterminated"}[fe.Kind]
			out = append(out, fmt.Sprintf("%s@%d+%d", kind, fe.Offset, fe.Length))
		case err != nil:
			out = append(out, "err:"+err.Error())
		default:
			out = append(out, fmt.Sprintf("%q", f))
		}
	}
	return strings.Join(out, " ")
}

func TestReadFrame(t *testing.T) {
	f := func(name, in string, max int, want string) {
		t.Helper()
		if got := readAll(in, max); got != want {
			t.Errorf("%s: got %s, want %s", name, got, want)
		}
	}
	f("empty", "", 0, "")
	f("one", "\x0bMSH|a\x1c\x0d", 0, `"MSH|a"`)
	f("two", "\x0bA\x1c\x0d\x0bB\x1c\x0d", 0, `"A" "B"`)
	f("newline between frames", "\x0bA\x1c\x0d\n\x0bB\x1c\x0d\n", 0, `"A" "B"`)
	f("missing CR", "\x0bA\x1c\x0bB\x1c", 0, `"A" "B"`)
	f("empty frame", "\x0b\x1c\x0d", 0, `""`)
	f("garbage before", "xyz\x0bA\x1c\x0d", 0, `garbage@0+3 "A"`)
	f("garbage between", "\x0bA\x1c\x0dJUNK\x0bB\x1c\x0d", 0, `"A" garbage@4+4 "B"`)
	f("garbage at end", "\x0bA\x1c\x0dJUNK", 0, `"A" garbage@4+4`)
	f("unterminated at eof", "\x0bABC", 0, `unterminated@0+4`)
	f("restart inside frame", "\x0bAB\x0bC\x1c\x0d", 0, `unterminated@0+3 "C"`)
	f("too large", "\x0bABCDE\x1c\x0d\x0bAB\x1c\x0d", 4, `toolarge@0+8 "AB"`)
	f("exactly max", "\x0bABCD\x1c\x0d", 4, `"ABCD"`)
}

func TestOffsetsAfterErrors(t *testing.T) {
	in := "zz\x0bA\x1c\x0d"
	r := NewReader(strings.NewReader(in), 0)
	if _, err := r.ReadFrame(); !errors.Is(err, ErrGarbage) {
		t.Fatalf("got %v, want ErrGarbage", err)
	}
	if f, err := r.ReadFrame(); err != nil || string(f) != "A" {
		t.Fatalf("got %q, %v, want A", f, err)
	}
	if r.Offset() != int64(len(in)) {
		t.Fatalf("offset got %d, want %d", r.Offset(), len(in))
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Fatalf("got %v, want EOF", err)
	}
}

func TestWriter(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	if err := w.WriteFrame([]byte("MSH|x\rPID|1")); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "\x0bMSH|x\rPID|1\x1c\x0d"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if err := w.WriteFrame([]byte("a\x1cb")); err == nil {
		t.Fatal("got nil error for a payload holding FS, want an error")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("boom") }

func TestUnderlyingError(t *testing.T) {
	r := NewReader(errReader{}, 0)
	if _, err := r.ReadFrame(); err == nil || err.Error() != "boom" {
		t.Fatalf("got %v, want boom", err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("\x0bMSH|^~\\&|A\x1c\x0d"), 16)
	f.Add([]byte("junk\x0bA\x0bB\x1c\x1c\x0d"), 2)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max < 0 || max > 1<<16 {
			max = 0
		}
		r := NewReader(bytes.NewReader(data), max)
		limit := max
		if limit == 0 {
			limit = DefaultMaxFrame
		}
		for i := 0; i <= len(data)+1; i++ {
			fr, err := r.ReadFrame()
			if err == io.EOF {
				break
			}
			var fe *FrameError
			if err != nil && !errors.As(err, &fe) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			if fe != nil && (fe.Offset < 0 || fe.Offset+fe.Length > int64(len(data))) {
				t.Fatalf("error outside input: %v (len %d)", fe, len(data))
			}
			if len(fr) > limit || bytes.IndexByte(fr, StartBlock) >= 0 || bytes.IndexByte(fr, EndBlock) >= 0 {
				t.Fatalf("bad frame %q", fr)
			}
			if r.Offset() > int64(len(data)) {
				t.Fatalf("offset %d beyond input %d", r.Offset(), len(data))
			}
		}
		// Round trip of the same bytes with framing bytes removed.
		p := bytes.Map(func(r rune) rune {
			if r == StartBlock || r == EndBlock {
				return -1
			}
			return r
		}, data)
		if !bytes.Equal(p, data) || len(p) > limit {
			return
		}
		got, err := NewReader(bytes.NewReader(AppendFrame(nil, p)), max).ReadFrame()
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("round trip: got %q, %v, want %q", got, err, p)
		}
	})
}

func BenchmarkReadFrame(b *testing.B) {
	msg := []byte(strings.Repeat("PID|1||123^^^HOSP^MR||DOE^JOHN\r", 30))
	var stream []byte
	for i := 0; i < 64; i++ {
		stream = AppendFrame(stream, msg)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	rd := bytes.NewReader(stream)
	r := NewReader(rd, 0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rd.Reset(stream)
		r.br.Reset(rd)
		for {
			if _, err := r.ReadFrame(); err != nil {
				break
			}
		}
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "frames/s")
}
