package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/apisessions/apisessions"
)

// partitioned lists the tables partitioned by day, in the order DeleteDay
// locks them; writers lock them in the same order.
var partitioned = [...]string{"requests", "sessions", "session_tags"}

// parseDay validates a YYYY-MM-DD day.
func parseDay(day string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil || t.Format(time.DateOnly) != day {
		return time.Time{}, apisessions.Errorf(apisessions.EINVALID, "day must be YYYY-MM-DD")
	}
	return t, nil
}

// partitionName returns the name of table's partition for day, which
// parseDay has accepted.
func partitionName(table, day string) string {
	return table + "_" + strings.ReplaceAll(day, "-", "")
}

// ensurePartitions creates the partitions of the days that lack them. It
// runs in its own short transaction, before the write that needs them,
// because creating a partition locks the parent table exclusively.
func (s *Store) ensurePartitions(ctx context.Context, days []string) error {
	var missing []string
	s.mu.Lock()
	for _, d := range days {
		if !s.days[d] {
			missing = append(missing, d)
		}
	}
	s.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Two writers seeing the same new day would otherwise both try
		// CREATE TABLE; IF NOT EXISTS does not make that safe.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock("+lockKey("partitions")+")"); err != nil {
			return err
		}
		for _, d := range missing {
			t, err := parseDay(d)
			if err != nil {
				return err
			}
			next := t.AddDate(0, 0, 1).Format(time.DateOnly)
			for _, table := range partitioned {
				q := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s PARTITION OF %s FOR VALUES FROM ('%s') TO ('%s')",
					partitionName(table, d), table, d, next)
				if _, err := tx.Exec(ctx, q); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: create partitions: %w", err)
	}
	s.mu.Lock()
	for _, d := range missing {
		s.days[d] = true
	}
	s.mu.Unlock()
	return nil
}

// forgetDays drops the cache of existing partitions, after another process
// may have dropped some.
func (s *Store) forgetDays() {
	s.mu.Lock()
	clear(s.days)
	s.mu.Unlock()
}

// partitionDays returns the days that have a sessions partition, oldest
// first.
func (s *Store) partitionDays(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) ([]string, error) {
	rows, err := q.Query(ctx, `
		SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'sessions'::regclass`)
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	var days []string
	for _, n := range names {
		digits, ok := strings.CutPrefix(n, "sessions_")
		if !ok || len(digits) != 8 {
			continue // not one of ours
		}
		d := digits[:4] + "-" + digits[4:6] + "-" + digits[6:]
		if _, err := parseDay(d); err == nil {
			days = append(days, d)
		}
	}
	slices.Sort(days)
	return days, nil
}

// Days lists the days that hold data, oldest first. A partition can exist
// and be empty (its only batch rolled back), so each is checked for a row.
func (s *Store) Days(ctx context.Context) ([]string, error) {
	days, err := s.partitionDays(ctx, s.pool)
	if err != nil {
		return nil, fmt.Errorf("postgres: days: %w", err)
	}
	if len(days) == 0 {
		return []string{}, nil
	}
	var q strings.Builder
	for i, d := range days {
		if i > 0 {
			q.WriteString(" UNION ALL ")
		}
		fmt.Fprintf(&q, "SELECT '%s'::text WHERE EXISTS (SELECT 1 FROM %s)", d, partitionName("sessions", d))
	}
	rows, err := s.pool.Query(ctx, q.String())
	if err != nil {
		return nil, fmt.Errorf("postgres: days: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: days: %w", err)
	}
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// DeleteDay drops the day's partitions, for all tenants, and forgets its
// request IDs.
func (s *Store) DeleteDay(ctx context.Context, day string) error {
	if _, err := parseDay(day); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock("+lockKey("partitions")+")"); err != nil {
			return err
		}
		for _, table := range partitioned {
			if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS "+partitionName(table, day)); err != nil {
				return err
			}
		}
		// A sequential scan once a day costs less than an index on day
		// that every insert would maintain.
		_, err := tx.Exec(ctx, "DELETE FROM request_ids WHERE day = $1", day)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete day: %w", err)
	}
	s.mu.Lock()
	delete(s.days, day)
	s.mu.Unlock()
	s.parts.forgetDay(day)
	s.log.Info("postgres day deleted", "day", day)
	return nil
}
