package fhirin

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/vigil-siem/vigil/internal/bus"
)

// BenchmarkFHIR measures AuditEvents per second end to end through the
// handler: media type, reading, validation, mapping, publishing to a real
// embedded bus and waiting for it, and the answer. "single" posts one
// AuditEvent per request; "batch100" a batch Bundle of 100.
func BenchmarkFHIR(b *testing.B) {
	one := []byte(auditEvent("dr.house", "P123"))
	var entries []string
	for i := range 100 {
		entries = append(entries, auditEvent(fmt.Sprintf("user%d", i), fmt.Sprintf("P%d", i)))
	}
	batch := []byte(bundle("batch", entries...))
	for _, c := range []struct {
		name   string
		path   string
		body   []byte
		events int
		status int
	}{
		{"single", "/fhir/AuditEvent", one, 1, 201},
		{"batch100", "/fhir", batch, 100, 200},
	} {
		b.Run(c.name, func(b *testing.B) {
			e := setup(b, bus.Config{})
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				req := httptest.NewRequest("POST", c.path, bytes.NewReader(c.body))
				req.Header.Set("Content-Type", "application/fhir+json")
				rec := httptest.NewRecorder()
				e.mux.ServeHTTP(rec, req)
				if rec.Code != c.status {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*c.events)/b.Elapsed().Seconds(), "events/s")
		})
	}
	// Concurrent senders (4 per core), one AuditEvent per request.
	b.Run("single-parallel", func(b *testing.B) {
		e := setup(b, bus.Config{})
		b.SetBytes(int64(len(one)))
		b.ReportAllocs()
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req := httptest.NewRequest("POST", "/fhir/AuditEvent", bytes.NewReader(one))
				req.Header.Set("Content-Type", "application/fhir+json")
				rec := httptest.NewRecorder()
				e.mux.ServeHTTP(rec, req)
				if rec.Code != 201 {
					b.Errorf("status %d: %s", rec.Code, rec.Body)
					return
				}
			}
		})
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
