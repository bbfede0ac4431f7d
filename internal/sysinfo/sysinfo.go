// Package sysinfo gathers what the console's system status and
// configuration pages show: the version, how long the server has run,
// the disk its data takes and has left, the bus lag of each consumer,
// Vigil's own counters, and the configuration in effect with secrets
// redacted.
package sysinfo

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vigil-siem/vigil/internal/config"
)

// Status is the answer of GET /api/v1/system.
type Status struct {
	Version   string    `json:"version"`
	Revision  string    `json:"revision,omitempty"`
	Modified  bool      `json:"modified,omitempty"`
	GoVersion string    `json:"go_version"`
	Started   time.Time `json:"started,omitzero"`
	Uptime    float64   `json:"uptime_seconds"`
	DataDir   string    `json:"data_dir"`
	// Sizes of the data dir's parts, in bytes.
	StoreBytes    int64  `json:"store_bytes"`
	BusBytes      int64  `json:"bus_bytes"`
	DatabaseBytes int64  `json:"database_bytes"`
	DiskFreeBytes uint64 `json:"disk_free_bytes"`
	DiskSizeBytes uint64 `json:"disk_size_bytes"`
	Retention     string `json:"retention"`
	MaxDiskBytes  string `json:"max_disk_bytes"`
	// BusLag is the batches on the bus each consumer has yet to process
	// (-1: unknown).
	BusLag map[string]float64 `json:"bus_lag"`
	// Counters are Vigil's own metrics (vigil_*), summed over their
	// labels.
	Counters   map[string]float64 `json:"counters"`
	Goroutines int                `json:"goroutines"`
	HeapBytes  uint64             `json:"heap_bytes"`
	Detection  bool               `json:"detection"`
	Now        time.Time          `json:"now"`
}

// Source says where the status comes from.
type Source struct {
	Config   *config.Config
	Gatherer prometheus.Gatherer
	Now      func() time.Time
}

// Collect gathers the status.
func (s *Source) Collect() Status {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	st := Status{GoVersion: runtime.Version(), Version: "(devel)", DataDir: s.Config.DataDir, Now: now().UTC(),
		Retention: s.Config.Store.Retention.String(), MaxDiskBytes: s.Config.Store.MaxDiskBytes.String(),
		BusLag: map[string]float64{}, Counters: map[string]float64{}, Goroutines: runtime.NumGoroutine(), Detection: s.Config.Detect.Enabled}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			st.Version = bi.Main.Version
		}
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				st.Revision = kv.Value
			case "vcs.modified":
				st.Modified = kv.Value == "true"
			}
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st.HeapBytes = ms.HeapAlloc
	st.StoreBytes = dirSize(filepath.Join(s.Config.DataDir, "store"))
	st.BusBytes = dirSize(filepath.Join(s.Config.DataDir, "bus"))
	for _, f := range []string{"vigil.db", "vigil.db-wal", "vigil.db-shm"} {
		if fi, err := os.Stat(filepath.Join(s.Config.DataDir, f)); err == nil {
			st.DatabaseBytes += fi.Size()
		}
	}
	st.DiskFreeBytes, st.DiskSizeBytes = diskSpace(s.Config.DataDir)
	if s.Gatherer != nil {
		mfs, _ := s.Gatherer.Gather()
		for _, mf := range mfs {
			name := mf.GetName()
			switch {
			case name == "process_start_time_seconds" && len(mf.Metric) > 0:
				st.Started = time.Unix(int64(value(mf.Metric[0])), 0).UTC()
				st.Uptime = st.Now.Sub(st.Started).Seconds()
			case name == "vigil_bus_lag_batches":
				for _, m := range mf.Metric {
					st.BusLag[label(m, "consumer")] = value(m)
				}
			case strings.HasPrefix(name, "vigil_") && (mf.GetType() == dto.MetricType_COUNTER || mf.GetType() == dto.MetricType_GAUGE):
				var sum float64
				for _, m := range mf.Metric {
					sum += value(m)
				}
				st.Counters[name] = sum
			}
		}
	}
	return st
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return 0
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// dirSize adds up the sizes of the files below dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// Handler serves the status and the configuration:
//
//	GET /api/v1/system   Status                                   system:read
//	GET /api/v1/config   {"settings": [config.Setting…]}          config:read
type Handler struct{ Source *Source }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

// System answers GET /api/v1/system.
func (h *Handler) System(w http.ResponseWriter, r *http.Request) { writeJSON(w, h.Source.Collect()) }

// Config answers GET /api/v1/config.
func (h *Handler) Config(w http.ResponseWriter, r *http.Request) {
	ss := config.Settings(h.Source.Config)
	writeJSON(w, map[string]any{"settings": ss})
}
