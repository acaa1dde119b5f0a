package postgres

import (
	"testing"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/store/storetest"
)

func TestAdminConformance(t *testing.T) {
	storetest.RunAdmin(t, func(t *testing.T) apisessions.AdminStore { return MustOpen(t) })
}
