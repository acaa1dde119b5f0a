//go:build !unix

package sessionize

import "time"

// processCPU is unknown here: benchmarks report no CPU figure.
func processCPU() time.Duration { return 0 }
