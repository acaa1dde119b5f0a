package apisessions

import "context"

// Detector inspects an exchange for attacks. Implementations are safe for use
// by many goroutines at once.
type Detector interface {
	Detect(ctx context.Context, ex *Exchange) (Detection, error)
}
