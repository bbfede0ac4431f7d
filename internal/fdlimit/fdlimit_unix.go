//go:build unix

package fdlimit

import (
	"errors"
	"os"
	"syscall"
)

func get() (soft, hard uint64, err error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, 0, err
	}
	return uint64(r.Cur), uint64(r.Max), nil
}

func set(soft, hard uint64) error {
	r := syscall.Rlimit{Cur: soft, Max: hard}
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
}

// openCount counts the process's open descriptors (Linux: /proc/self/fd;
// elsewhere /dev/fd).
func openCount() (int, error) {
	for _, dir := range []string{"/proc/self/fd", "/dev/fd"} {
		f, err := os.Open(dir)
		if err != nil {
			continue
		}
		n := 0
		for {
			names, err := f.Readdirnames(4096)
			n += len(names)
			if err != nil {
				break
			}
		}
		f.Close()
		return n - 1, nil // not the directory itself
	}
	return 0, errors.New("no /proc/self/fd or /dev/fd")
}
