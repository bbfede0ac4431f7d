package ingest

import (
	"context"
	"fmt"

	"github.com/vigil-siem/vigil/internal/event"
)

// pendingBatchBytes is the size at which Pending encodes what it holds:
// the decoded events of one request never take more than about this much
// (times their decoding overhead) at once.
const pendingBatchBytes = 1 << 20

// Pending collects the events of one request, encoding them into bus
// batches as they come, so that a large request holds about its size in
// encoded bytes instead of its decoded events (several times more), and
// publishes them at the end with PublishAll's contract: the stored events
// are a prefix, and an event too large for a bus batch stops the request
// there.
type Pending struct {
	ctx     context.Context
	ann     Annotator // nil: events go out as added
	max     int       // encode at this size
	busMax  int       // the largest event a batch can carry
	cur     []event.Event
	curSize int
	batches []encoded
	n       int
	err     error // an event beyond the batch limit: nothing from it on is kept
	errAt   int
}

type encoded struct {
	data   []byte
	events int
}

// NewPending returns an empty Pending for batches pub accepts. When pub
// is an Annotator, Pending annotates the events it holds before encoding
// them (with ctx: the request's) and Publish must be given the same pub.
func NewPending(ctx context.Context, pub Publisher) *Pending {
	busMax := pub.MaxBatchBytes() - batchOverhead
	p := &Pending{ctx: ctx, max: min(busMax, pendingBatchBytes), busMax: busMax}
	if a, ok := pub.(Annotator); ok {
		p.ann = a
		p.busMax = a.Inner().MaxBatchBytes() - batchOverhead
	}
	return p
}

// Len is the number of events added.
func (p *Pending) Len() int { return p.n }

// Add takes an event (its strings may be reused by the caller afterwards:
// it is encoded before Add returns or with the next ones).
func (p *Pending) Add(e event.Event) {
	if p.err != nil {
		p.n++
		return
	}
	s := eventSize(&e)
	if s > p.busMax {
		p.flush()
		p.err, p.errAt = fmt.Errorf("event of %d bytes exceeds the bus batch limit", s), p.n
		p.n++
		return
	}
	if len(p.cur) > 0 && p.curSize+s > p.max {
		p.flush()
	}
	p.cur = append(p.cur, e)
	p.curSize += s
	p.n++
}

func (p *Pending) flush() {
	if len(p.cur) == 0 {
		return
	}
	if p.ann == nil {
		p.batches = append(p.batches, encoded{data: event.AppendBatch(nil, p.cur), events: len(p.cur)})
	} else {
		p.ann.AnnotateEvents(p.ctx, p.cur)
		// What the annotation added may not fit one batch any more.
		cutBatches(p.cur, p.busMax, func(evs []event.Event) {
			p.batches = append(p.batches, encoded{data: event.AppendBatch(nil, evs), events: len(evs)})
		})
	}
	clear(p.cur)
	p.cur, p.curSize = p.cur[:0], 0
}

// Bytes is the size of what Pending holds encoded.
func (p *Pending) Bytes() int {
	n := p.curSize
	for _, b := range p.batches {
		n += len(b.data)
	}
	return n
}

// Publish stores the batches in order, waiting for each (and up to
// FullWait for room in a full bus); it returns how many events (a prefix)
// are stored.
func (p *Pending) Publish(ctx context.Context, pub Publisher, source string) (int, error) {
	p.flush()
	if p.ann != nil {
		pub = p.ann.Inner() // annotated already
	}
	stored := 0
	for _, b := range p.batches {
		if err := publishWaiting(ctx, pub, source, b.data); err != nil {
			return stored, err
		}
		stored += b.events
	}
	p.batches = nil
	if p.err != nil {
		return p.errAt, p.err
	}
	return stored, nil
}
