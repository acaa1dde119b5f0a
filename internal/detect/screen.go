package detect

import (
	"github.com/apisessions/apisessions"
	"github.com/corazawaf/coraza/v3/types"
)

// screen decides, per request, which CRS rules cannot match it.
type screen struct {
	rules  []int
	always int
}

func newScreen(metas []types.RuleMetadata, opts Options) (*screen, error) {
	return &screen{}, nil
}

func (s *screen) skippable(ex *apisessions.Exchange, opts Options) []int { return nil }
