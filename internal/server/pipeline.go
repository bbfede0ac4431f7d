package server

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/config"
	"github.com/vigil-siem/vigil/internal/dispatch"
	"github.com/vigil-siem/vigil/internal/lifecycle"
	"github.com/vigil-siem/vigil/internal/sources"
	"github.com/vigil-siem/vigil/internal/storewriter"
)

// startSourceHealth tracks every source (host and dataset) and alerts when
// one goes silent.
func (s *Server) startSourceHealth(ctx context.Context) (lifecycle.StopFunc, error) {
	c := s.cfg.Sources
	cfg := sources.Config{Window: time.Duration(c.Window), Grace: time.Duration(c.Grace), Level: c.Level, RecoveryAlerts: c.RecoveryAlerts}
	for _, w := range c.Windows {
		sw, err := config.ParseSourceWindow(w)
		if err != nil {
			return nil, err
		}
		cfg.Overrides = append(cfg.Overrides, sources.Override{Host: sw.Host, Dataset: sw.Dataset, Window: sw.Window, Disabled: sw.Off})
	}
	var err error
	s.sources, err = sources.New(ctx, cfg, sources.Options{DB: s.db, Alerts: s.alerts, Log: s.log.With("component", "sources"),
		// A store writer catching up (it feeds source health) says
		// nothing about the sources' silence.
		Behind: func() bool {
			c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			lag, err := s.writerSub.Lag(c)
			return err != nil || lag > 10
		}})
	if err != nil {
		return nil, fmt.Errorf("source health: %w", err)
	}
	s.sources.RegisterMetrics(s.registry)
	// Stopping flushes the source table to the database.
	return lifecycle.Go(func(ctx context.Context) error { s.sources.Run(ctx); return nil }), nil
}

// startBusReader prepares the one reader of the bus: a durable consumer
// whose batches a dispatcher decodes once and hands to every consumer in
// this process (store writer, detector), acknowledging each batch when all
// of them are done with it. The consumers subscribe as they start; the
// "dispatch" component then runs it.
func (s *Server) startBusReader(ctx context.Context) (lifecycle.StopFunc, error) {
	// The consumer exists before any source publishes: the stream keeps
	// batches only for consumers interested when they arrive. The
	// detector is done with a batch at its checkpoints (every 30s): the
	// ack wait must be longer, or batches would come again meanwhile.
	cons, err := s.bus.Consumer(ctx, busConsumer, 5*time.Minute)
	if err != nil {
		return nil, err
	}
	// Earlier versions had one consumer per component; what they had not
	// acknowledged is still on the bus for this one, whose consumers know
	// by sequence what they already did.
	for _, old := range []string{"store-writer", "detector"} {
		if err := s.bus.DeleteConsumer(ctx, old); err != nil {
			return nil, fmt.Errorf("remove the old bus consumer %s: %w", old, err)
		}
	}
	s.busCons = cons
	s.registry.MustRegister(newPipelineGauges(s))
	s.dispatch = dispatch.New(cons, s.log.With("component", "dispatch"), dispatch.Config{})
	s.writerSub = s.dispatch.Subscribe("store-writer", 0)
	return nil, nil
}

// busConsumer is the durable bus consumer of a server.
const busConsumer = "vigil"

// startWriter moves batches from the bus into the store, exactly once, and
// shows every stored event to source health.
func (s *Server) startWriter(context.Context) (lifecycle.StopFunc, error) {
	w, err := storewriter.New(storewriter.Config{
		Source: s.writerSub, Store: &fdGuard{Store: s.store, s: s}, StatePath: filepath.Join(s.dataDir, "store-writer.json"),
		Sealer:  s.ledger,
		BusFull: s.bus.Full,
		Observe: s.sources.Observe,
		Log:     s.log.With("component", "store-writer"), Metrics: storewriter.NewMetrics(s.registry),
	})
	if err != nil {
		return nil, err
	}
	s.writer = w
	s.registry.MustRegister(lagGauge("store-writer", s.writerSub))
	s.writerAlive.Store(true)
	// The writer ends by itself once the dispatcher, stopped before it,
	// closed its queue: it stores what was queued, flushes and
	// acknowledges.
	return s.goConsumer(func(ctx context.Context) error {
		defer s.writerAlive.Store(false)
		return w.Run(ctx)
	}), nil
}

// goConsumer runs a consumer of the dispatcher (the store writer, the
// detector) until its queue is drained: stopping waits up to a minute for
// it to end by itself once the dispatcher, stopped before it, closed its
// queue. When the dispatcher never started (a component between them
// failed to start), nothing was queued and nothing will close the queue:
// the consumer is cancelled at once, so a failed start is reported in
// seconds rather than after the grace.
func (s *Server) goConsumer(run func(ctx context.Context) error) lifecycle.StopFunc {
	stop := lifecycle.GoUntilDone(run, time.Minute)
	return func(ctx context.Context) error {
		if !s.dispatchStarted.Load() {
			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			return stop(cancelled)
		}
		return stop(ctx)
	}
}

// startDispatch runs the bus reader. Stopping lets it hand out what the
// sources published before they stopped (up to 30 seconds), then closes
// the consumers' queues.
func (s *Server) startDispatch(context.Context) (lifecycle.StopFunc, error) {
	s.dispatchStarted.Store(true)
	run := lifecycle.Go(s.dispatch.Run)
	return func(ctx context.Context) error {
		waitDelivered(ctx, s.busCons, 30*time.Second)
		return run(ctx)
	}, nil
}

var errStoreWriterStopped = errors.New("store writer stopped")

// ready reports whether the pipeline can take and serve events.
func (s *Server) ready() error {
	if !s.writerAlive.Load() {
		return errStoreWriterStopped
	}
	if s.limits.lowFDs.Load() {
		return errLowFDs
	}
	if s.health != nil {
		if err := s.health.Err(); err != nil {
			return err
		}
	}
	return nil
}

// waitDelivered waits until the bus has delivered every batch to the
// reader, at most limit.
func waitDelivered(ctx context.Context, c *bus.Consumer, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		lctx, cancel := context.WithTimeout(ctx, time.Second)
		n, err := c.Pending(lctx)
		cancel()
		if err != nil || n == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
