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

// pipelineGauges export the store's and the bus's state at each scrape.
type pipelineGauges struct {
	s                                                     *Server
	rows, size, pending, inmem, parts, merges, partitions *prometheus.Desc
	busBatches, busBytes, busCapacity, busOldest          *prometheus.Desc
	busFull                                               *prometheus.Desc
}

func newPipelineGauges(s *Server) *pipelineGauges {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &pipelineGauges{s: s,
		rows:        d("vigil_store_rows", "Events in the log store."),
		size:        d("vigil_store_size_bytes", "Compressed size of the stored events and their stream index."),
		pending:     d("vigil_store_pending_rows", "Events added to the store, not yet searchable."),
		inmem:       d("vigil_store_inmemory_rows", "Searchable events not yet written to files."),
		parts:       d("vigil_store_parts", "Parts of the store, by kind (inmemory, small, big).", "kind"),
		merges:      d("vigil_store_active_merges", "Merges of store parts running now."),
		partitions:  d("vigil_store_partitions", "Day partitions of the store."),
		busBatches:  d("vigil_bus_batches", "Batches held by the bus (not yet acknowledged by every consumer)."),
		busBytes:    d("vigil_bus_bytes", "Size of the batches held by the bus."),
		busCapacity: d("vigil_bus_capacity_bytes", "Bus capacity (bus.max_bytes): senders are refused beyond it."),
		busOldest:   d("vigil_bus_oldest_unacked_seconds", "Age of the oldest batch not yet acknowledged (0 when none)."),
		busFull:     d("vigil_bus_full_refusals_total", "Batches the bus refused because it was full: each one held its senders back until the consumers freed space."),
	}
}

func (g *pipelineGauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{g.rows, g.size, g.pending, g.inmem, g.parts, g.merges, g.partitions, g.busBatches, g.busBytes, g.busCapacity, g.busOldest, g.busFull} {
		ch <- d
	}
}

func (g *pipelineGauges) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	st := g.s.store.Stats()
	gauge(g.rows, float64(st.Rows))
	gauge(g.size, float64(st.SizeBytes))
	gauge(g.pending, float64(st.PendingRows))
	gauge(g.inmem, float64(st.InmemoryRows))
	gauge(g.parts, float64(st.InmemoryParts), "inmemory")
	gauge(g.parts, float64(st.SmallParts), "small")
	gauge(g.parts, float64(st.BigParts), "big")
	gauge(g.merges, float64(st.ActiveMerges))
	gauge(g.partitions, float64(st.Partitions))
	ch <- prometheus.MustNewConstMetric(g.busFull, prometheus.CounterValue, float64(g.s.bus.RefusedFull()))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	bs, err := g.s.bus.Stats(ctx)
	if err != nil {
		return // a scrape during a bus hiccup misses these, rather than lying
	}
	gauge(g.busBatches, float64(bs.Batches))
	gauge(g.busBytes, float64(bs.Bytes))
	gauge(g.busCapacity, float64(bs.MaxBytes))
	age := 0.0
	if !bs.Oldest.IsZero() {
		age = max(time.Since(bs.Oldest).Seconds(), 0)
	}
	gauge(g.busOldest, age)
}
