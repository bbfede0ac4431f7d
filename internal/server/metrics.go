package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/vigil-siem/vigil/internal/bus"
)

// registerProcessMetrics registers the Go runtime and process metrics.
func (s *Server) registerProcessMetrics() {
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

func lagGauge(name string, c *bus.Consumer) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "vigil_bus_lag_batches",
		Help:        "Batches on the bus not yet processed by a consumer.",
		ConstLabels: prometheus.Labels{"consumer": name},
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		lag, err := c.Lag(ctx)
		if err != nil {
			return -1
		}
		return float64(lag)
	})
}
