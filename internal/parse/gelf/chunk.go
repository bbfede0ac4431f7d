package gelf

import (
	"fmt"
	"time"
)

// Chunked GELF (UDP): each datagram is
//
//	0x1e 0x0f | message id (8 bytes) | sequence number (1) | sequence count (1) | payload
//
// The payloads, in sequence order, make the (possibly compressed)
// message. At most 128 chunks; all must arrive within 5 seconds.
const (
	chunkHeader = 12
	// MaxChunks is the most chunks a message may have.
	MaxChunks = 128
	// ChunkTimeout is how long the chunks of a message may take to arrive.
	ChunkTimeout = 5 * time.Second
)

// IsChunk reports whether a datagram is a GELF chunk.
func IsChunk(b []byte) bool { return len(b) >= 2 && b[0] == 0x1e && b[1] == 0x0f }

// Chunk is one chunk of a message.
type Chunk struct {
	ID       [8]byte
	Seq      int
	Count    int
	Payload  []byte
	Received time.Time
}

// ParseChunk reads a chunk datagram; Payload points into b.
func ParseChunk(b []byte) (Chunk, error) {
	var c Chunk
	if !IsChunk(b) {
		return c, &Error{Msg: "chunk: no 0x1e 0x0f magic"}
	}
	if len(b) < chunkHeader {
		return c, &Error{Msg: fmt.Sprintf("chunk: %d bytes, shorter than its 12-byte header", len(b))}
	}
	copy(c.ID[:], b[2:10])
	c.Seq, c.Count = int(b[10]), int(b[11])
	if c.Count < 1 || c.Count > MaxChunks {
		return c, &Error{Msg: fmt.Sprintf("chunk: sequence count %d, want 1 to %d", c.Count, MaxChunks)}
	}
	if c.Seq >= c.Count {
		return c, &Error{Msg: fmt.Sprintf("chunk: sequence number %d of %d", c.Seq, c.Count)}
	}
	c.Payload = b[chunkHeader:]
	return c, nil
}

// AssemblerLimits bound what an Assembler holds.
type AssemblerLimits struct {
	// MaxMessage bounds one reassembled message (DefaultMaxMessage).
	MaxMessage int
	// MaxPending bounds the messages being reassembled (default 1024).
	MaxPending int
	// MaxBytes bounds the bytes held for all of them (default 32 MiB).
	MaxBytes int
}

type partial struct {
	chunks [][]byte
	got    int
	bytes  int
	first  time.Time
}

// Assembler puts chunked messages together. It is not safe for concurrent
// use (one per UDP listener goroutine).
type Assembler struct {
	lim     AssemblerLimits
	pending map[[8]byte]*partial
	bytes   int
	// done remembers recently completed messages (by id, with the time
	// their first chunk came), so that a late duplicate chunk does not
	// start a message that can never complete.
	done map[[8]byte]time.Time
}

// NewAssembler returns an Assembler with the given limits.
func NewAssembler(lim AssemblerLimits) *Assembler {
	if lim.MaxMessage <= 0 {
		lim.MaxMessage = DefaultMaxMessage
	}
	if lim.MaxPending <= 0 {
		lim.MaxPending = 1024
	}
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = 32 << 20
	}
	return &Assembler{lim: lim, pending: map[[8]byte]*partial{}, done: map[[8]byte]time.Time{}}
}

// Pending returns the number of messages being reassembled and the bytes
// they hold.
func (a *Assembler) Pending() (messages, bytes int) { return len(a.pending), a.bytes }

// Add takes a chunk (its payload is copied). It returns the whole message
// when this chunk completed it. An error means the chunk was refused (the
// message it belongs to is dropped when it cannot be completed any more):
// dropped says how many partial messages were given up.
func (a *Assembler) Add(c Chunk) (msg []byte, dropped int, err error) {
	if c.Count == 1 {
		if len(c.Payload) > a.lim.MaxMessage {
			return nil, 1, &Error{Msg: fmt.Sprintf("chunked message larger than %d bytes", a.lim.MaxMessage)}
		}
		return append([]byte(nil), c.Payload...), 0, nil
	}
	p := a.pending[c.ID]
	if p == nil {
		if _, ok := a.done[c.ID]; ok {
			return nil, 0, nil // a late duplicate of a completed message
		}
		if len(a.pending) >= a.lim.MaxPending {
			dropped += a.dropOldest()
		}
		p = &partial{chunks: make([][]byte, c.Count), first: c.Received}
		a.pending[c.ID] = p
	}
	if len(p.chunks) != c.Count {
		a.drop(c.ID)
		return nil, dropped + 1, &Error{Msg: fmt.Sprintf("chunk: sequence count %d differs from the message's first chunk (%d)", c.Count, len(p.chunks))}
	}
	if p.chunks[c.Seq] != nil {
		return nil, dropped, nil // a duplicate
	}
	if p.bytes+len(c.Payload) > a.lim.MaxMessage {
		a.drop(c.ID)
		return nil, dropped + 1, &Error{Msg: fmt.Sprintf("chunked message larger than %d bytes", a.lim.MaxMessage)}
	}
	for a.bytes+len(c.Payload) > a.lim.MaxBytes && len(a.pending) > 1 {
		dropped += a.dropOldestExcept(p)
	}
	p.chunks[c.Seq] = append([]byte(nil), c.Payload...)
	p.got++
	p.bytes += len(c.Payload)
	a.bytes += len(c.Payload)
	if p.got < len(p.chunks) {
		return nil, dropped, nil
	}
	msg = make([]byte, 0, p.bytes)
	for _, ch := range p.chunks {
		msg = append(msg, ch...)
	}
	a.drop(c.ID)
	if len(a.done) >= a.lim.MaxPending {
		clear(a.done) // bounded: only a late duplicate could slip through
	}
	a.done[c.ID] = p.first
	return msg, dropped, nil
}

// Expire gives up the messages whose first chunk is older than
// ChunkTimeout at now, and returns how many.
func (a *Assembler) Expire(now time.Time) int {
	n := 0
	for id, p := range a.pending {
		if now.Sub(p.first) > ChunkTimeout {
			a.drop(id)
			n++
		}
	}
	for id, first := range a.done {
		if now.Sub(first) > ChunkTimeout {
			delete(a.done, id)
		}
	}
	return n
}

func (a *Assembler) drop(id [8]byte) {
	if p := a.pending[id]; p != nil {
		a.bytes -= p.bytes
		delete(a.pending, id)
	}
}

func (a *Assembler) dropOldest() int { return a.dropOldestExcept(nil) }

// dropOldestExcept drops the message whose first chunk is the oldest,
// other than keep.
func (a *Assembler) dropOldestExcept(keep *partial) int {
	var oldest [8]byte
	var at time.Time
	found := false
	for id, p := range a.pending {
		if p == keep {
			continue
		}
		if !found || p.first.Before(at) {
			oldest, at, found = id, p.first, true
		}
	}
	if !found {
		return 0
	}
	a.drop(oldest)
	return 1
}
