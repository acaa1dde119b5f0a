package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/config"
	"github.com/apisessions/apisessions/internal/detect"
	"github.com/apisessions/apisessions/internal/store"
)

// loadConfig reads and validates a configuration file and fills its
// defaults; an empty path gives the default configuration.
func loadConfig(path string) (apisessions.Config, error) {
	if path == "" {
		return config.WithDefaults(apisessions.Config{}), nil
	}
	cfg, problems, err := config.Load(path)
	if err != nil {
		return cfg, err
	}
	if len(problems) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "configuration %s has %d problem(s):", path, len(problems))
		for _, p := range problems {
			b.WriteString("\n  " + p.String())
		}
		return cfg, fmt.Errorf("%s", b.String())
	}
	return config.WithDefaults(cfg), nil
}

// newDetector builds the detector of a --detect mode; nil when off.
func newDetector(mode string, cfg apisessions.Config) (apisessions.Detector, error) {
	if mode == "off" {
		return nil, nil
	}
	if mode != "fast" && mode != "full" {
		return nil, usageErrorf("--detect must be full, fast or off, not %q", mode)
	}
	opts := detect.DefaultOptions()
	opts.Mode = mode
	d := cfg.Detection
	if d.ParanoiaLevel != 0 {
		opts.ParanoiaLevel = d.ParanoiaLevel
	}
	if d.AnomalyThreshold != 0 {
		opts.AnomalyThreshold = d.AnomalyThreshold
	}
	if d.BodyLimit != 0 {
		opts.BodyLimit = d.BodyLimit
	}
	opts.ExcludeRules = d.ExcludeRules
	opts.Responses = d.Responses
	eng, err := detect.New(opts)
	if err != nil {
		return nil, fmt.Errorf("detection: %w", err)
	}
	return eng, nil
}

// expireOnce deletes the day parts that have left the retention window.
func expireOnce(ctx context.Context, st store.DayStore, cfg apisessions.Config, now time.Time) error {
	loc, err := time.LoadLocation(cfg.DayTimezone)
	if err != nil {
		return fmt.Errorf("day timezone: %w", err)
	}
	_, err = store.PruneExpired(ctx, st, time.Duration(cfg.Retention), loc, now)
	return err
}
