package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/apisessions/apisessions/internal/demo"
)

// runGenerate writes generated demo traffic as JSON lines.
func runGenerate(ctx context.Context, e *env) error {
	def := demo.DefaultTrafficOptions()
	fs := newFlags(e, "generate", "")
	exchanges := fs.Int("exchanges", def.Exchanges, "number of exchanges")
	sessions := fs.Int("sessions", def.Sessions, "number of user sessions (attackers come on top)")
	seed := fs.Uint64("seed", def.Seed, "seed: the same flags give the same file")
	attacks := fs.Float64("attacks", def.AttackRatio, "fraction of exchanges that are attacks, 0 to 1")
	start := fs.String("start", "", "time of the first exchange, RFC 3339 or YYYY-MM-DD (default: the duration before the current hour, so the traffic is within retention)")
	duration := fs.Duration("duration", def.Duration, "time the traffic spans")
	out := fs.String("o", "", "output `file` (default standard output)")
	if err := fs.Parse(e.args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments %q", fs.Args())
	}
	opts := demo.TrafficOptions{Exchanges: *exchanges, Sessions: *sessions, Seed: *seed,
		AttackRatio: *attacks, Duration: *duration}
	if *start == "" {
		opts.Start = time.Now().UTC().Truncate(time.Hour).Add(-opts.Duration)
	} else {
		t, err := parseStart(*start)
		if err != nil {
			return usageErrorf("--start: %v", err)
		}
		opts.Start = t
	}
	if err := opts.Validate(); err != nil {
		return usageErrorf("%v", err)
	}
	var w io.Writer = e.stdout
	var f *os.File
	if *out != "" && *out != "-" {
		var err error
		if f, err = os.Create(*out); err != nil {
			return err
		}
		w = f
	}
	_, err := demo.WriteJSONL(&ctxWriter{ctx: ctx, w: w}, opts)
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(*out) // a partial file would import as if whole
		}
	}
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	return nil
}

// parseStart reads an RFC 3339 time or a date (midnight UTC).
func parseStart(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("bad time %q: want RFC 3339 (2026-11-20T09:00:00Z) or a date (2026-11-20)", s)
}

// ctxWriter stops a long generation when the context ends (Ctrl-C).
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
