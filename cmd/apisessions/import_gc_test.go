package main

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestTuneImportGC: the import's collector settings apply while it runs,
// the previous ones come back after, and GOGC or GOMEMLIMIT in the
// environment leave Go's own settings alone.
func TestTuneImportGC(t *testing.T) {
	percent := debug.SetGCPercent(100)
	limit := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	})
	none := func(string) string { return "" }
	restore := tuneImportGC(none)
	if got := debug.SetGCPercent(-1); got != importGCPercent {
		t.Errorf("GC percent during the import = %d, want %d", got, importGCPercent)
	}
	debug.SetGCPercent(importGCPercent)
	if got := debug.SetMemoryLimit(-1); got != importHeapLimit {
		t.Errorf("memory limit during the import = %d, want %d", got, importHeapLimit)
	}
	restore()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent after the import = %d, want 100", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit after the import = %d, want none", got)
	}
	for _, name := range []string{"GOGC", "GOMEMLIMIT"} {
		restore := tuneImportGC(func(k string) string {
			if k == name {
				return "200"
			}
			return ""
		})
		if got := debug.SetGCPercent(100); got != 100 {
			t.Errorf("with %s set, GC percent = %d, want 100 (unchanged)", name, got)
		}
		if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
			t.Errorf("with %s set, memory limit = %d, want none", name, got)
		}
		restore()
	}
}
