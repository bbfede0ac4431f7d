//go:build unix

package otlp

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user + system, all threads, the embedded bus
// included) the test process has used; benchmarks report events per
// CPU-second with it, which other processes on a shared machine do not
// distort the way they distort wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
