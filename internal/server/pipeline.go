package server

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/config"
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
		// A detector catching up says nothing about the sources' silence.
		Behind: func() bool {
			cons := s.detCons.Load()
			if cons == nil {
				return false
			}
			c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			lag, err := cons.Lag(c)
			return err != nil || lag > 10
		}})
	if err != nil {
		return nil, fmt.Errorf("source health: %w", err)
	}
	s.sources.RegisterMetrics(s.registry)
	// Stopping flushes the source table to the database.
	return lifecycle.Go(func(ctx context.Context) error { s.sources.Run(ctx); return nil }), nil
}

// startWriter moves batches from the bus into the store, exactly once.
func (s *Server) startWriter(ctx context.Context) (lifecycle.StopFunc, error) {
	// The consumers exist before any source publishes: the stream keeps
	// batches only for consumers interested when they arrive.
	cons, err := s.bus.Consumer(ctx, "store-writer", 30*time.Second)
	if err != nil {
		return nil, err
	}
	w, err := storewriter.New(storewriter.Config{
		Source: cons, Store: &fdGuard{Store: s.store, s: s}, StatePath: filepath.Join(s.cfg.DataDir, "store-writer.json"),
		Sealer: s.ledger,
		Log:    s.log.With("component", "store-writer"), Metrics: storewriter.NewMetrics(s.registry),
	})
	if err != nil {
		return nil, err
	}
	s.writer = w
	s.registry.MustRegister(lagGauge("store-writer", cons))
	s.writerAlive.Store(true)
	run := lifecycle.Go(func(ctx context.Context) error {
		defer s.writerAlive.Store(false)
		return w.Run(ctx)
	})
	return func(ctx context.Context) error {
		// Let the writer catch up with what the sources just published.
		waitCaughtUp(ctx, cons, 30*time.Second)
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

// waitCaughtUp waits until a consumer has acknowledged everything on the
// bus, at most limit.
func waitCaughtUp(ctx context.Context, c *bus.Consumer, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		lctx, cancel := context.WithTimeout(ctx, time.Second)
		lag, err := c.Lag(lctx)
		cancel()
		if err != nil || lag == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
