//go:build unix

// Package cputime reads the CPU time this process has used. Benchmarks on
// a shared machine report work per CPU-second with it: other processes
// stretch wall time, not the process's own CPU time.
package cputime

import (
	"syscall"
	"time"
)

// Self is the user and system CPU time of all threads of this process, or
// 0 when the system cannot say.
func Self() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
