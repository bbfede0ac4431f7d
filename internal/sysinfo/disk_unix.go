//go:build unix

package sysinfo

import "syscall"

// diskSpace is the free and total bytes of the file system holding dir.
func diskSpace(dir string) (free, size uint64) {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil {
		return 0, 0
	}
	return st.Bavail * uint64(st.Bsize), st.Blocks * uint64(st.Bsize)
}
