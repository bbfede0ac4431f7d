package sysinfo

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/vigil-siem/vigil/internal/config"
)

func TestCollect(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "store", "partitions"), 0o755)
	os.WriteFile(filepath.Join(dir, "store", "partitions", "part"), make([]byte, 1234), 0o644)
	os.WriteFile(filepath.Join(dir, "vigil.db"), make([]byte, 100), 0o644)
	c := config.Default()
	c.DataDir = dir
	c.Ingest.Token = "secret-token-0123456789"
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	lag := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vigil_bus_lag_batches", Help: "h"}, []string{"consumer"})
	lag.WithLabelValues("writer").Set(3)
	lag.WithLabelValues("detector").Set(7)
	ev := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_ingest_events_total", Help: "h"}, []string{"source"})
	ev.WithLabelValues("syslog").Add(10)
	ev.WithLabelValues("http").Add(5)
	reg.MustRegister(lag, ev)
	src := &Source{Config: c, Gatherer: reg}
	st := src.Collect()
	if st.StoreBytes != 1234 || st.DatabaseBytes != 100 || st.BusLag["writer"] != 3 || st.BusLag["detector"] != 7 ||
		st.Counters["vigil_ingest_events_total"] != 15 || st.Retention != "400d" || st.GoVersion == "" {
		t.Fatalf("status %+v", st)
	}
	if st.Started.IsZero() || st.Uptime < 0 || time.Since(st.Started) > 24*time.Hour {
		t.Fatalf("started %v uptime %v", st.Started, st.Uptime)
	}
	if st.DiskSizeBytes == 0 {
		t.Fatalf("disk size unknown")
	}
	// The configuration answer never holds the token.
	h := &Handler{Source: src}
	w := httptest.NewRecorder()
	h.Config(w, httptest.NewRequest("GET", "/api/v1/config", nil))
	if strings.Contains(w.Body.String(), "secret-token") {
		t.Fatalf("configuration shows the token: %s", w.Body.String())
	}
	var out struct{ Settings []config.Setting }
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || len(out.Settings) < 20 {
		t.Fatalf("settings: %v %d", err, len(out.Settings))
	}
}
