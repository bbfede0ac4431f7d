package cputime

import "time"

// Report adds the CPU time per operation since start (a Self() taken
// before the loop) to a benchmark's results, as cpu-ns/op and ops per
// CPU-second: on a loaded machine these stay meaningful where ns/op (wall
// time) does not. b is a *testing.B; n its N after the loop.
func Report(b interface{ ReportMetric(float64, string) }, start time.Duration, n int) {
	if start == 0 || n == 0 {
		return
	}
	per := float64(Self()-start) / float64(n)
	b.ReportMetric(per, "cpu-ns/op")
	b.ReportMetric(1e9/per, "ops/cpu-s")
}
