//go:build !unix

package fdlimit

import "errors"

// Without RLIMIT_NOFILE: a budget that does not limit anything.
func get() (soft, hard uint64, err error) { return 1 << 20, 1 << 20, nil }

func set(soft, hard uint64) error { return errors.New("not supported") }

func openCount() (int, error) { return 0, errors.New("not supported") }
