//go:build !unix

package elastic

import "time"

func cpuTime() time.Duration { return 0 }
