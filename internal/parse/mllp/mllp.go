// Package mllp implements the Minimal Lower Layer Protocol framing used to
// carry HL7 v2 messages over TCP: every message is sent as
// 0x0B <payload> 0x1C 0x0D.
//
// Reader is a bounded frame reader: it refuses frames larger than its
// limit, skips bytes that arrive outside a frame (resynchronising on the
// next start block) and reports every problem with the byte offset in the
// stream where it happened, so that a listener can log it, count it and
// keep the connection usable. Writer and AppendFrame produce frames.
package mllp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Framing bytes.
const (
	StartBlock     = 0x0B // VT, starts a frame
	EndBlock       = 0x1C // FS, ends a frame
	CarriageReturn = 0x0D // CR, follows EndBlock
)

// DefaultMaxFrame is the frame size limit used when NewReader is given 0.
const DefaultMaxFrame = 1 << 20

// Error kinds, matched with errors.Is on a *FrameError.
var (
	// ErrGarbage: bytes outside a frame were skipped.
	ErrGarbage = errors.New("bytes outside an MLLP frame")
	// ErrTooLarge: a frame exceeded the reader's limit and was discarded.
	ErrTooLarge = errors.New("MLLP frame too large")
	// ErrUnterminated: a frame was cut short by a new start block or by
	// the end of the stream.
	ErrUnterminated = errors.New("MLLP frame not terminated")
)

// FrameError describes a framing problem. Offset is the position in the
// stream (counted from the first byte the Reader read) where the problem
// starts; Length is how many bytes were skipped or discarded.
type FrameError struct {
	Kind   error
	Offset int64
	Length int64
	Detail string
}

func (e *FrameError) Error() string {
	s := fmt.Sprintf("mllp: %v at byte %d", e.Kind, e.Offset)
	if e.Length > 0 {
		s += fmt.Sprintf(" (%d bytes dropped)", e.Length)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *FrameError) Unwrap() error { return e.Kind }

// Reader reads MLLP frames from a byte stream. It is not safe for
// concurrent use.
type Reader struct {
	br  *bufio.Reader
	max int
	off int64 // offset of the next byte br will return
	buf []byte
	// startAt >= 0: a start block at this offset was already consumed
	// (found while resynchronising) and the next call reads its body.
	startAt int64
}

// NewReader returns a Reader that refuses frames whose payload is larger
// than maxFrame bytes (DefaultMaxFrame when maxFrame <= 0).
func NewReader(r io.Reader, maxFrame int) *Reader {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), max: maxFrame, startAt: -1}
}

// Offset returns the number of bytes consumed from the stream so far.
func (r *Reader) Offset() int64 { return r.off }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// ReadFrame returns the payload of the next frame. The slice is valid
// until the next call.
//
// It returns io.EOF when the stream ends cleanly between frames
// (whitespace between frames is ignored). Framing problems are returned
// as *FrameError (ErrGarbage, ErrTooLarge, ErrUnterminated); the Reader
// has then already resynchronised, and the caller may call ReadFrame
// again. Errors of the underlying reader are returned as they are.
func (r *Reader) ReadFrame() ([]byte, error) {
	if r.startAt < 0 {
		if err := r.seekStart(); err != nil {
			return nil, err
		}
	}
	start := r.startAt
	r.startAt = -1
	r.buf = r.buf[:0]
	for {
		// Fast path: copy the run of ordinary bytes already buffered.
		if n := r.br.Buffered(); n > 0 {
			chunk, _ := r.br.Peek(n)
			i := 0
			for i < len(chunk) && chunk[i] != EndBlock && chunk[i] != StartBlock {
				i++
			}
			if i > 0 {
				if keep := r.max + 1 - len(r.buf); keep > 0 {
					r.buf = append(r.buf, chunk[:min(i, keep)]...)
				}
				_, _ = r.br.Discard(i)
				r.off += int64(i)
				continue
			}
		}
		c, err := r.br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, &FrameError{Kind: ErrUnterminated, Offset: start, Length: r.off - start,
					Detail: "stream ended inside the frame"}
			}
			return nil, err
		}
		r.off++
		switch c {
		case EndBlock:
			// Expect CR; tolerate its absence at end of stream or
			// before the next start block.
			n, err := r.br.Peek(1)
			if err == nil && n[0] == CarriageReturn {
				_, _ = r.br.ReadByte()
				r.off++
			}
			if len(r.buf) > r.max {
				return nil, &FrameError{Kind: ErrTooLarge, Offset: start, Length: r.off - start,
					Detail: fmt.Sprintf("limit is %d bytes", r.max)}
			}
			return r.buf, nil
		case StartBlock:
			// A new frame starts before this one ended.
			r.startAt = r.off - 1
			return nil, &FrameError{Kind: ErrUnterminated, Offset: start, Length: r.startAt - start,
				Detail: fmt.Sprintf("new start block at byte %d", r.startAt)}
		}
		if len(r.buf) < r.max+1 {
			r.buf = append(r.buf, c)
		}
		// Past the limit the frame is only counted, not kept, until its
		// end block; then ErrTooLarge is returned.
	}
}

// seekStart consumes bytes up to and including the next start block.
func (r *Reader) seekStart() error {
	from := r.off
	var skipped int64
	junk := false
	for {
		c, err := r.br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) && junk {
				return &FrameError{Kind: ErrGarbage, Offset: from, Length: skipped, Detail: "stream ended without a start block"}
			}
			return err
		}
		r.off++
		if c == StartBlock {
			r.startAt = r.off - 1
			if junk {
				return &FrameError{Kind: ErrGarbage, Offset: from, Length: skipped, Detail: "expected start block 0x0B"}
			}
			return nil
		}
		skipped++
		if !isSpace(c) {
			junk = true
		}
	}
}

// AppendFrame appends payload framed as VT payload FS CR to dst.
func AppendFrame(dst, payload []byte) []byte {
	dst = append(dst, StartBlock)
	dst = append(dst, payload...)
	return append(dst, EndBlock, CarriageReturn)
}

// Writer writes MLLP frames.
type Writer struct {
	w   io.Writer
	buf []byte
}

// NewWriter returns a Writer on w. Each WriteFrame is one Write call.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// WriteFrame writes payload as one frame. A payload containing the start
// or end block byte cannot be framed and is refused.
func (w *Writer) WriteFrame(payload []byte) error {
	for i, c := range payload {
		if c == StartBlock || c == EndBlock {
			return fmt.Errorf("mllp: payload byte %d is a framing byte 0x%02X", i, c)
		}
	}
	w.buf = AppendFrame(w.buf[:0], payload)
	_, err := w.w.Write(w.buf)
	return err
}
