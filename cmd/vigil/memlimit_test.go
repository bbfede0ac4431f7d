package main

import "testing"

// Go's soft limit leaves room under memory.limit for what the process maps
// besides Go's memory, so that the resident size keeps near the limit.
func TestGoMemoryLimitLeavesRoomForMappings(t *testing.T) {
	f := func(limit, want int64) {
		t.Helper()
		if got := goMemoryLimit(limit); got != want {
			t.Fatalf("goMemoryLimit(%d MiB) = %d MiB, want %d MiB", limit>>20, got>>20, want>>20)
		}
	}
	f(448<<20, 392<<20) // the default: an eighth
	f(256<<20, 224<<20)
	f(4<<30, 4<<30-64<<20) // at most 64 MiB
}
