package cputime

import (
	"runtime"
	"testing"
)

func TestSelfGrowsWithWork(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no getrusage on " + runtime.GOOS)
	}
	before := Self()
	x := 0
	for i := 0; i < 200_000_000; i++ {
		x += i ^ (x >> 3)
	}
	after := Self()
	if after <= before || after == 0 {
		t.Fatalf("CPU time did not grow over a busy loop: %v then %v (%d)", before, after, x)
	}
}
