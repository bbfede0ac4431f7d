// Package lifecycle runs the components of a server: it starts them in
// order, stops them in reverse order, and has one error path. A component
// is a start function returning the function that stops it; background
// work (a consumer loop, a periodic flush) is a goroutine started with Go,
// whose stop function cancels it and waits for it.
//
// Stopping in reverse order is what lets a server lose nothing at
// shutdown: the sources started last stop first and hand over what they
// read, then the consumers drain and acknowledge it, then the bus and the
// store they wrote to close.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// StopFunc stops a started component. ctx bounds how long it may take to
// hand over what it holds; a component that cannot finish in time returns
// an error saying what was left.
type StopFunc func(ctx context.Context) error

// StartFunc starts a component. It returns nil, nil for a component that
// is disabled by configuration or needs no stopping.
type StartFunc func(ctx context.Context) (StopFunc, error)

// Component is one named part of a server.
type Component struct {
	Name  string
	Start StartFunc
}

// Group is a set of started components. The zero value is ready to use;
// it is not safe for concurrent use.
type Group struct {
	// Log, when set, receives one line per component stopped slowly.
	Log     *slog.Logger
	started []started
	stopped bool
}

type started struct {
	name string
	stop StopFunc
}

// Start starts the components in order. When one fails, those already
// started are stopped in reverse order and the error names the failed
// component.
func (g *Group) Start(ctx context.Context, cs []Component) error {
	for _, c := range cs {
		stop, err := c.Start(ctx)
		if err != nil {
			serr := g.Stop(context.Background())
			return errors.Join(fmt.Errorf("%s: %w", c.Name, err), serr)
		}
		if stop != nil {
			g.started = append(g.started, started{name: c.Name, stop: stop})
		}
	}
	return nil
}

// Stop stops every started component in reverse order of start, each
// once, and returns their errors joined, each prefixed with the component's
// name. A failing component does not keep the others from stopping.
func (g *Group) Stop(ctx context.Context) error {
	if g.stopped {
		return nil
	}
	g.stopped = true
	var errs []error
	for i := len(g.started) - 1; i >= 0; i-- {
		c := g.started[i]
		start := time.Now()
		if err := c.stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", c.name, err))
		}
		if d := time.Since(start); d > 5*time.Second && g.Log != nil {
			g.Log.Info("component stopped", "component", c.name, "seconds", d.Seconds())
		}
	}
	return errors.Join(errs...)
}

// Go runs fn in a goroutine with a context of its own (not derived from
// any caller's, so that a cancelled request or signal does not stop it
// behind the lifecycle's back). The returned StopFunc cancels that context
// and waits until fn returned, returning its error; calling it again
// returns the same error.
func Go(fn func(ctx context.Context) error) StopFunc {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		err = fn(ctx)
	}()
	var once sync.Once
	return func(context.Context) error {
		once.Do(func() {
			cancel()
			<-done
		})
		return err
	}
}

// GoUntilDone runs fn like Go, for work that ends by itself once its input
// is closed (a consumer whose queue an earlier-stopped component closes):
// the returned StopFunc first waits up to grace (and no longer than its
// context allows) for fn to return by itself, and only then cancels it.
func GoUntilDone(fn func(ctx context.Context) error, grace time.Duration) StopFunc {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		err = fn(ctx)
	}()
	var once sync.Once
	return func(sctx context.Context) error {
		once.Do(func() {
			t := time.NewTimer(grace)
			defer t.Stop()
			select {
			case <-done:
			case <-t.C:
			case <-sctx.Done():
			}
			cancel()
			<-done
		})
		return err
	}
}

// Chain returns a StopFunc running stops in the order given (nil ones are
// skipped), all of them even when one fails.
func Chain(stops ...StopFunc) StopFunc {
	return func(ctx context.Context) error {
		var errs []error
		for _, s := range stops {
			if s == nil {
				continue
			}
			if err := s(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
}

// Closer adapts a Close or Stop method without a result.
func Closer(close func()) StopFunc {
	return func(context.Context) error { close(); return nil }
}
