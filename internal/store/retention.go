// Package store holds what every store implementation shares: the retention
// job here, and the conformance suite in storetest.
package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/apisessions/apisessions"
)

// DayStore is the part of apisessions.Store that retention uses.
type DayStore interface {
	Days(ctx context.Context) ([]string, error)
	DeleteDay(ctx context.Context, day string) error
}

// RetentionOptions configure RunRetention.
type RetentionOptions struct {
	// Retention is how long data is kept: a day is deleted once it ends at
	// or before now - Retention.
	Retention time.Duration
	// Location is the day timezone days are cut in.
	Location *time.Location
	// Every is the time between runs after the first one at start.
	Every time.Duration
	// Now is the clock.
	Now func() time.Time
	// After waits for the next run; tests pass a fake. Nil is time.After.
	After func(time.Duration) <-chan time.Time
	// Logger receives deletions and errors; nil discards them.
	Logger *slog.Logger
}

// DefaultRetentionOptions returns SPEC §9's defaults: 7 days in UTC,
// checked hourly.
func DefaultRetentionOptions() RetentionOptions {
	return RetentionOptions{
		Retention: 7 * 24 * time.Hour,
		Location:  time.UTC,
		Every:     time.Hour,
		Now:       time.Now,
		After:     time.After,
	}
}

// PruneExpired deletes the days of st that lie wholly outside the retention
// window ending at now, and returns them. It stops at the first error.
func PruneExpired(ctx context.Context, st DayStore, retention time.Duration, loc *time.Location, now time.Time) ([]string, error) {
	days, err := st.Days(ctx)
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	var deleted []string
	for _, day := range apisessions.ExpiredDays(days, now, retention, loc) {
		if err := st.DeleteDay(ctx, day); err != nil {
			return deleted, fmt.Errorf("retention: delete %s: %w", day, err)
		}
		deleted = append(deleted, day)
	}
	return deleted, nil
}

// RunRetention prunes expired days at start and then every opts.Every,
// until ctx is done. A failed run is logged and retried at the next one:
// retention must not stop the process. Zero options take their defaults.
func RunRetention(ctx context.Context, st DayStore, opts RetentionOptions) {
	def := DefaultRetentionOptions()
	if opts.Retention <= 0 {
		opts.Retention = def.Retention
	}
	if opts.Location == nil {
		opts.Location = def.Location
	}
	if opts.Every <= 0 {
		opts.Every = def.Every
	}
	if opts.Now == nil {
		opts.Now = def.Now
	}
	if opts.After == nil {
		opts.After = def.After
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for {
		deleted, err := PruneExpired(ctx, st, opts.Retention, opts.Location, opts.Now())
		if len(deleted) > 0 {
			log.Info("retention deleted days", "days", deleted)
		}
		if err != nil && ctx.Err() == nil {
			log.Error("retention failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-opts.After(opts.Every):
		}
	}
}
