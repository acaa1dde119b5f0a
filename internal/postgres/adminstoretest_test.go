package postgres

import (
	"testing"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/store/storetest"
)

// TestAdminConformance runs the AdminStore suite, each case on a fresh
// schema; parallel with the other tests, as it waits mostly on migrations.
func TestAdminConformance(t *testing.T) {
	t.Parallel()
	storetest.RunAdmin(t, func(t *testing.T) apisessions.AdminStore { return MustOpen(t) })
}
