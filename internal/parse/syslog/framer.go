package syslog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/vigil-siem/vigil/internal/event"
)

// Framing is the way messages are delimited on a stream connection.
type Framing int

// Framing methods (RFC 6587).
const (
	// FramingUnknown: nothing was read yet.
	FramingUnknown Framing = iota
	// FramingOctetCounting: "LEN SP MSG" (RFC 6587 3.4.1, RFC 5425).
	FramingOctetCounting
	// FramingNonTransparent: messages end with LF (also NUL; a CR before
	// the LF is dropped) (RFC 6587 3.4.2).
	FramingNonTransparent
)

func (f Framing) String() string {
	switch f {
	case FramingOctetCounting:
		return "octet-counting"
	case FramingNonTransparent:
		return "non-transparent"
	}
	return "unknown"
}

// Frame error kinds, matched with errors.Is on a *FrameError.
var (
	// ErrTruncated: the message was larger than the limit; its beginning
	// is returned, the rest was read and dropped.
	ErrTruncated = errors.New("message larger than the limit, truncated")
	// ErrUnterminated: the stream ended inside an octet-counted frame; the
	// part received is returned.
	ErrUnterminated = errors.New("stream ended inside a frame")
	// ErrGarbage: bytes where an octet-counting header was expected. They
	// are returned (up to the limit) so that nothing is lost, and the
	// framer resynchronised on the next line or frame header.
	ErrGarbage = errors.New("bytes outside a syslog frame")
)

// FrameError describes a framing problem. Offset is the position in the
// stream (counted from the first byte the Framer read) where the frame or
// the garbage starts; Size is its length as sent (the declared LEN of an
// octet-counted frame, or the bytes actually found); Truncated says that
// the message returned with the error is shorter than Size.
type FrameError struct {
	Kind      error
	Offset    int64
	Size      int64
	Truncated bool
	Detail    string

	raw string // ErrGarbage: the bytes returned with the error
}

func (e *FrameError) Error() string {
	s := "syslog framing: " + e.Kind.Error() + " at byte " + strconv.FormatInt(e.Offset, 10) +
		" (" + strconv.FormatInt(e.Size, 10) + " bytes)"
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *FrameError) Unwrap() error { return e.Kind }

// MarkFrameError records in dst the problem the Framer returned along with
// the message dst was parsed from: a message cut short gets FieldTruncated
// and FieldOriginalSize; bytes that were not a frame get vigil.parse_error,
// and message and event.original set to the bytes as received.
// A nil error, or one that is not a *FrameError, leaves dst unchanged.
func MarkFrameError(dst *event.Event, err error) {
	if err == nil {
		return // most messages; errors.As would allocate fe
	}
	var fe *FrameError
	if !errors.As(err, &fe) {
		return
	}
	if fe.Truncated || fe.Kind == ErrTruncated || fe.Kind == ErrUnterminated {
		MarkTruncated(dst, fe.Size)
	}
	if fe.Kind == ErrGarbage {
		// Not a syslog message: keep the bytes as they came, like any
		// message that fails to parse.
		dst.Set(event.FieldMessage, fe.raw)
		dst.Set(event.FieldOriginal, fe.raw)
		dst.Set(event.FieldParseError, fe.Error())
	}
}

// maxLenDigits bounds the LEN of an octet-counting header (RFC 6587 allows
// any; ten digits is already 9.3 GiB).
const maxLenDigits = 10

// Framer splits a syslog stream into messages. It detects the framing from
// the first bytes: a non-zero digit followed by more digits and a space is
// octet counting, anything else newline framing; the choice holds for the
// whole stream. Memory is bounded by the maximum message size.
//
// A Framer is not safe for concurrent use; use one per connection.
type Framer struct {
	br   *bufio.Reader
	max  int
	mode Framing
	off  int64 // offset of the next byte br will return
	buf  []byte
}

// NewFramer returns a Framer reading r that keeps at most maxSize bytes of
// a message (DefaultMaxSize when maxSize <= 0).
func NewFramer(r io.Reader, maxSize int) *Framer {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	return &Framer{br: bufio.NewReaderSize(r, 32<<10), max: maxSize}
}

// Framing returns the framing detected (FramingUnknown before the first
// message).
func (f *Framer) Framing() Framing { return f.mode }

// Offset returns the number of bytes consumed from the stream so far.
func (f *Framer) Offset() int64 { return f.off }

// Next returns the next message, without its trailing CR, LF or NUL. The
// slice is valid until the next call.
//
// It returns io.EOF when the stream ends between messages. A message and
// an error can come together: when the message is non-nil, parse it (and
// call MarkFrameError on the event), then look at the error. A *FrameError
// (ErrTruncated, ErrUnterminated, ErrGarbage) leaves the Framer ready for
// the next call; any other error is the reader's, and the stream is done.
func (f *Framer) Next() ([]byte, error) {
	if err := f.skipBlank(); err != nil {
		return nil, err
	}
	if f.mode == FramingUnknown {
		if _, ok := f.octetHeader(); ok {
			f.mode = FramingOctetCounting
		} else {
			f.mode = FramingNonTransparent
		}
	}
	if f.mode == FramingOctetCounting {
		return f.nextOctet()
	}
	return f.nextLine()
}

// skipBlank consumes the LF, CR and NUL bytes between messages (and, with
// octet counting, spaces and tabs). It returns io.EOF at the end of the
// stream.
func (f *Framer) skipBlank() error {
	for {
		b, err := f.br.Peek(1)
		if len(b) == 0 {
			if err == nil {
				err = io.ErrNoProgress
			}
			return err
		}
		switch b[0] {
		case '\n', '\r', 0:
		case ' ', '\t':
			if f.mode != FramingOctetCounting {
				return nil
			}
		default:
			return nil
		}
		_, _ = f.br.Discard(1)
		f.off++
	}
}

// octetHeader reports whether the stream continues with "LEN SP" and
// returns the header's length (digits and space). It only peeks.
func (f *Framer) octetHeader() (hdr int, ok bool) {
	for k := 1; k <= maxLenDigits+1; k++ {
		b, _ := f.br.Peek(k)
		if len(b) < k {
			return 0, false
		}
		c := b[k-1]
		switch {
		case k == 1:
			if c < '1' || c > '9' {
				return 0, false
			}
		case c == ' ':
			return k, true
		case c < '0' || c > '9':
			return 0, false
		}
	}
	return 0, false
}

// nextOctet reads one "LEN SP MSG" frame.
func (f *Framer) nextOctet() ([]byte, error) {
	start := f.off
	hdr, ok := f.octetHeader()
	if !ok {
		return f.garbage(start)
	}
	b, _ := f.br.Peek(hdr)
	var n int64
	for _, c := range b[:hdr-1] {
		n = n*10 + int64(c-'0')
	}
	_, _ = f.br.Discard(hdr)
	f.off += int64(hdr)

	keep := int(min(n, int64(f.max)))
	if cap(f.buf) < keep {
		f.buf = make([]byte, keep)
	}
	f.buf = f.buf[:keep]
	body := f.off
	got, err := io.ReadFull(f.br, f.buf)
	f.off += int64(got)
	if err != nil {
		return f.cut(start, n, got, f.off-body, err)
	}
	if rest := n - int64(keep); rest > 0 {
		for rest > 0 {
			d, err := f.br.Discard(int(min(rest, 1<<30)))
			f.off += int64(d)
			rest -= int64(d)
			if err != nil {
				return f.cut(start, n, keep, f.off-body, err)
			}
		}
		return trimPartialRune(TrimTrailer(f.buf)), &FrameError{Kind: ErrTruncated, Offset: start, Size: n, Truncated: true,
			Detail: fmt.Sprintf("limit is %d bytes", f.max)}
	}
	return TrimTrailer(f.buf), nil
}

// cut reports an octet-counted frame of n bytes that the stream ended
// (or failed) inside, after received bytes, of which got were kept.
func (f *Framer) cut(start, n int64, got int, received int64, err error) ([]byte, error) {
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		if got == 0 {
			return nil, err
		}
		return trimPartialRune(TrimTrailer(f.buf[:got])), err
	}
	fe := &FrameError{Kind: ErrUnterminated, Offset: start, Size: n, Truncated: true,
		Detail: fmt.Sprintf("stream ended after %d of %d bytes", received, n)}
	if got == 0 {
		return nil, fe
	}
	return trimPartialRune(TrimTrailer(f.buf[:got])), fe
}

// garbage collects the bytes where a frame header should have been, up to
// the next LF or the next plausible header ("LEN SP <" after a non-digit),
// keeping at most the limit.
func (f *Framer) garbage(start int64) ([]byte, error) {
	f.buf = f.buf[:0]
	var total int64
	prevDigit := false
	for {
		if total > 0 && !prevDigit {
			if hdr, ok := f.octetHeader(); ok {
				if b, _ := f.br.Peek(hdr + 1); len(b) == hdr+1 && b[hdr] == '<' {
					break
				}
			}
		}
		c, err := f.br.ReadByte()
		if err != nil {
			if total == 0 {
				return nil, err
			}
			if !errors.Is(err, io.EOF) {
				return trimPartialRune(TrimTrailer(f.buf)), err
			}
			break
		}
		f.off++
		if c == '\n' {
			break
		}
		total++
		if len(f.buf) < f.max {
			f.buf = append(f.buf, c)
		}
		prevDigit = c >= '0' && c <= '9'
	}
	msg := trimPartialRune(TrimTrailer(f.buf))
	return msg, &FrameError{Kind: ErrGarbage, Offset: start, Size: total, Truncated: total > int64(len(f.buf)),
		Detail: "expected an octet-counting header (LEN SP)", raw: string(msg)}
}

// nextLine reads one message ending at LF or NUL (or at the end of the
// stream).
func (f *Framer) nextLine() ([]byte, error) {
	start := f.off
	f.buf = f.buf[:0]
	var total int64
	for {
		if f.br.Buffered() == 0 {
			if _, err := f.br.Peek(1); err != nil {
				if total == 0 {
					return nil, err
				}
				if !errors.Is(err, io.EOF) {
					return trimPartialRune(TrimTrailer(f.buf)), err
				}
				break
			}
		}
		chunk, _ := f.br.Peek(f.br.Buffered())
		end := bytes.IndexByte(chunk, '\n')
		scan := chunk
		if end >= 0 {
			scan = chunk[:end]
		}
		if z := bytes.IndexByte(scan, 0); z >= 0 {
			end = z
		}
		n := len(chunk)
		if end >= 0 {
			n = end
		}
		if room := f.max - len(f.buf); room > 0 {
			f.buf = append(f.buf, chunk[:min(n, room)]...)
		}
		total += int64(n)
		if end >= 0 {
			n++ // the terminator
		}
		_, _ = f.br.Discard(n)
		f.off += int64(n)
		if end >= 0 {
			break
		}
	}
	msg := TrimTrailer(f.buf)
	if total > int64(f.max) {
		return trimPartialRune(msg), &FrameError{Kind: ErrTruncated, Offset: start, Size: total, Truncated: true,
			Detail: fmt.Sprintf("limit is %d bytes", f.max)}
	}
	return msg, nil
}
