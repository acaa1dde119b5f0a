package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/store/storetest"
)

// MustOpen opens a new store in a temporary directory, closed at cleanup.
func MustOpen(tb testing.TB) *Store {
	tb.Helper()
	st, err := Open(tb.Context(), filepath.Join(tb.TempDir(), "store.db"), DefaultOptions())
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() {
		if err := st.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) apisessions.Store { return MustOpen(t) })
}
