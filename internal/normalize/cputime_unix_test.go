//go:build unix

package normalize

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user + system, all threads, GC included)
// the test process has used. Benchmarks report it per operation as
// "cpu-ns/op", which, unlike ns/op, does not grow when other processes
// compete for the machine's cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
