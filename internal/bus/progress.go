package bus

// Progress tracks which batches a consumer has fully processed when
// deliveries may come out of order or twice (a redelivery after a lost
// acknowledgement, a delivery the client library dropped that comes again
// after the ack wait). Done is the sequence up to which every batch is
// processed; batches above it are remembered individually until the gap
// below them closes. Stream sequences are contiguous: every batch goes to
// every consumer.
//
// Progress is not safe for concurrent use.
type Progress struct {
	done  uint64
	above map[uint64]struct{}
}

// NewProgress starts from done: batches up to it count as processed.
func NewProgress(done uint64) *Progress {
	return &Progress{done: done, above: map[uint64]struct{}{}}
}

// Done is the sequence up to which every batch is processed.
func (p *Progress) Done() uint64 { return p.done }

// Seen reports whether batch seq was processed already.
func (p *Progress) Seen(seq uint64) bool {
	if seq <= p.done {
		return true
	}
	_, ok := p.above[seq]
	return ok
}

// Mark records batch seq as processed.
func (p *Progress) Mark(seq uint64) {
	if seq <= p.done {
		return
	}
	if seq != p.done+1 {
		p.above[seq] = struct{}{}
		return
	}
	p.done = seq
	for {
		if _, ok := p.above[p.done+1]; !ok {
			return
		}
		delete(p.above, p.done+1)
		p.done++
	}
}

// Max is the highest sequence processed.
func (p *Progress) Max() uint64 {
	m := p.done
	for s := range p.above {
		m = max(m, s)
	}
	return m
}

// Pending is the number of processed batches above a gap.
func (p *Progress) Pending() int { return len(p.above) }
