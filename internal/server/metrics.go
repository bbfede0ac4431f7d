package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/vigil-siem/vigil/internal/buildinfo"
)

// registerProcessMetrics registers the Go runtime and process metrics, and
// vigil_build_info: which build is running.
func (s *Server) registerProcessMetrics() {
	bi := buildinfo.Read()
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "vigil_build_info",
			Help:        "Always 1; the labels say which build of Vigil is running.",
			ConstLabels: prometheus.Labels{"version": bi.Version, "revision": bi.Revision, "goversion": bi.GoVersion},
		}, func() float64 { return 1 }))
}

// lagger is a consumer whose lag can be measured.
type lagger interface {
	Lag(ctx context.Context) (uint64, error)
}

func lagGauge(name string, c lagger) prometheus.Collector {
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
