//go:build !unix

package syslog

import "time"

func cpuTime() time.Duration { return 0 }
