//go:build !unix

package sysinfo

// diskSpace is unknown on this system.
func diskSpace(string) (free, size uint64) { return 0, 0 }
