package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Health remembers whether the bus is taking batches: a Publisher wrapped
// by Track reports every attempt, and Err says why events cannot be
// stored while the latest attempts failed (readiness, /readyz).
type Health struct {
	mu       sync.Mutex
	lastOK   time.Time
	lastFail time.Time
	err      error
	now      func() time.Time
}

// NewHealth returns a Health with nothing recorded (healthy).
func NewHealth() *Health { return &Health{now: time.Now} }

// Record notes the outcome of one publish attempt.
func (h *Health) Record(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.lastOK = h.now()
		return
	}
	if errors.Is(err, context.Canceled) {
		return // the sender went away; says nothing of the bus
	}
	h.lastFail, h.err = h.now(), err
}

// Err is the latest publish error when the latest attempt failed (within
// the last minute); nil otherwise.
func (h *Health) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil || !h.lastFail.After(h.lastOK) || h.now().Sub(h.lastFail) > time.Minute {
		return nil
	}
	return fmt.Errorf("events cannot be stored: %w", h.err)
}

// Track wraps a Publisher so that h sees every attempt.
func Track(p Publisher, h *Health) Publisher { return &tracked{Publisher: p, h: h} }

type tracked struct {
	Publisher
	h *Health
}

func (t *tracked) Publish(ctx context.Context, source string, batch []byte) (uint64, error) {
	seq, err := t.Publisher.Publish(ctx, source, batch)
	t.h.Record(err)
	return seq, err
}
