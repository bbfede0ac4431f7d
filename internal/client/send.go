package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
)

// SendStats summarises a file sent with Send.
type SendStats struct {
	Lines    int
	Accepted int
	Rejected int
	Requests int
	// Rejections lists the first refused lines, numbered within the whole
	// input.
	Rejections []string
}

// Send reads lines from r and posts them in requests of about chunkBytes,
// each one acknowledged by the server before the next is sent. progress,
// when set, is told the bytes and lines read. Lines longer than maxLine
// are sent anyway (the server refuses them by number).
func (c *Client) Send(ctx context.Context, r io.Reader, format string, chunkBytes int, progress func(bytes, lines int64)) (SendStats, error) {
	var st SendStats
	br := bufio.NewReaderSize(r, 256<<10)
	var chunk []byte
	firstLine := 1 // input line number of the chunk's first line
	linesInChunk := 0
	flush := func() error {
		if linesInChunk == 0 {
			return nil
		}
		res, err := c.Ingest(ctx, format, chunk)
		st.Requests++
		if res != nil {
			st.Accepted += res.Accepted
			st.Rejected += res.RejectedTotal
			for _, rj := range res.Rejected {
				if len(st.Rejections) < 100 {
					st.Rejections = append(st.Rejections, fmt.Sprintf("line %d: %s", firstLine+rj.Line-1, rj.Reason))
				}
			}
		}
		if err != nil {
			if res != nil && res.NotStoredFrom > 0 {
				return fmt.Errorf("%w; lines from %d on were not stored, send them again", err, firstLine+res.NotStoredFrom-1)
			}
			return fmt.Errorf("%w; lines from %d on were not stored, send them again", err, firstLine)
		}
		firstLine += linesInChunk
		chunk, linesInChunk = chunk[:0], 0
		return nil
	}
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 || errors.Is(err, bufio.ErrBufferFull) {
			chunk = append(chunk, line...)
			if !errors.Is(err, bufio.ErrBufferFull) {
				if line[len(line)-1] != '\n' {
					chunk = append(chunk, '\n')
				}
				linesInChunk++
				st.Lines++
				if progress != nil {
					progress(int64(len(line)), 1)
				}
			} else if progress != nil {
				progress(int64(len(line)), 0)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(chunk) >= chunkBytes && !errors.Is(err, bufio.ErrBufferFull) {
			if ferr := flush(); ferr != nil {
				return st, ferr
			}
		}
		if err == io.EOF {
			return st, flush()
		}
		if err != nil {
			return st, err
		}
	}
}
