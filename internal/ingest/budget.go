package ingest

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
)

// ErrBusy is returned (wrapped) by a Body read when the memory budget of
// request bodies is spent: the request should be answered 429 or 503 with
// Retry-After (see BusyRetryAfter) rather than let memory grow.
var ErrBusy = errors.New("the server is busy with other requests' data (memory budget spent): send again shortly")

// IsBusy reports whether err came from a spent memory budget.
func IsBusy(err error) bool { return errors.Is(err, ErrBusy) }

// BusyRetryAfter is the Retry-After (seconds) of busy answers.
const BusyRetryAfter = "2"

// Budget bounds the memory that HTTP request bodies take while they are
// read and decoded, across all requests: each body byte read is charged
// Factor bytes (the body, what it decodes to, the encoded batches), given
// back when the request's body is closed. A request that cannot get its
// charge within a short wait fails with ErrBusy; one that alone would need
// more than the whole budget fails with ErrTooLarge.
type Budget struct {
	max    int64
	factor int64
	wait   time.Duration

	mu      sync.Mutex
	used    int64
	freed   chan struct{} // closed and replaced whenever memory is given back
	refused func()
}

// DefaultBudgetFactor is the charge per body byte: measured on NDJSON of
// small events (60 MB), a request peaks at about five times its body size with
// ingest.Pending (body buffer, a chunk of decoded events, encoded batches).
const DefaultBudgetFactor = 5

// NewBudget returns a budget of max bytes (at least 1 MiB); refused, when
// set, is called for each request refused for it.
func NewBudget(bytes int64, refused func()) *Budget {
	return &Budget{max: max(bytes, 1<<20), factor: DefaultBudgetFactor, wait: time.Second, freed: make(chan struct{}), refused: refused}
}

// Used is the memory charged now.
func (b *Budget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Max is the budget.
func (b *Budget) Max() int64 { return b.max }

// acquire charges n bytes for a request already holding held. A request
// that holds nothing waits up to the budget's wait for others to give
// memory back. One that holds memory does not wait: it fails at once and
// its memory is given back in the same step (the caller then holds
// nothing). Requests that each hold part of the budget and wait for the
// rest would otherwise wait for one another until all of them fail; this
// way the one that finds the budget spent makes room for the others.
func (b *Budget) acquire(ctx context.Context, n, held int64) error {
	if held+n > b.max {
		return ErrTooLarge
	}
	deadline := time.NewTimer(b.wait)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		if b.used+n <= b.max {
			b.used += n
			b.mu.Unlock()
			return nil
		}
		if held > 0 {
			b.used -= held
			close(b.freed)
			b.freed = make(chan struct{})
			b.mu.Unlock()
			if b.refused != nil {
				b.refused()
			}
			return ErrBusy
		}
		freed := b.freed
		b.mu.Unlock()
		select {
		case <-freed:
		case <-deadline.C:
			if b.refused != nil {
				b.refused()
			}
			return ErrBusy
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (b *Budget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

type budgetKey struct{}

// WithBudget makes Body charge the requests of h to b.
func WithBudget(b *Budget, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), budgetKey{}, b)))
	})
}

func budgetFrom(ctx context.Context) *Budget {
	b, _ := ctx.Value(budgetKey{}).(*Budget)
	return b
}

// metered charges its budget for every byte read, and gives it all back
// when closed.
type metered struct {
	ctx  context.Context
	r    interface{ Read([]byte) (int, error) }
	c    interface{ Close() error }
	b    *Budget
	held int64 // charged to the budget
	read int64 // needed by what was read so far
}

// charge is read ahead in steps, so that a request does not go to the
// budget for every small read.
const chargeStep = 256 << 10

func (m *metered) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if n > 0 {
		need := int64(n) * m.b.factor
		if m.read+need > m.held {
			// Charge ahead, but never past the whole budget: a request
			// that fits it must not be refused as too large for the step.
			step := max(m.read+need-m.held, min(chargeStep*m.b.factor, m.b.max-m.held))
			if aerr := m.b.acquire(m.ctx, step, m.held); aerr != nil {
				if errors.Is(aerr, ErrTooLarge) {
					return 0, errors.Join(ErrTooLarge, errors.New("the request needs more memory than the server's ingest budget"))
				}
				if IsBusy(aerr) {
					m.held = 0 // acquire gave it back
				}
				return 0, aerr
			}
			m.held += step
		}
		m.read += need
	}
	return n, err
}

func (m *metered) Close() error {
	m.b.release(m.held)
	m.held, m.read = 0, 0
	return m.c.Close()
}
