package store

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// dayStore is a DayStore in memory that records deletions.
type dayStore struct {
	mu      sync.Mutex
	days    []string
	deleted []string
	fail    error
}

func (s *dayStore) Days(ctx context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	return slices.Clone(s.days), nil
}

func (s *dayStore) DeleteDay(ctx context.Context, day string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.days = slices.DeleteFunc(s.days, func(d string) bool { return d == day })
	s.deleted = append(s.deleted, day)
	return nil
}

func (s *dayStore) state() (days, deleted []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.days), slices.Clone(s.deleted)
}

func TestPruneExpired(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	tests := []struct {
		name    string
		now     time.Time
		loc     *time.Location
		days    []string
		deleted []string
	}{
		{"nothing expired", time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), time.UTC, []string{"2026-11-14", "2026-11-20"}, nil},
		{"one expired", time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), time.UTC, []string{"2026-11-12", "2026-11-13", "2026-11-20"}, []string{"2026-11-12"}},
		{"day ends exactly at the cutoff", time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), time.UTC, []string{"2026-11-12", "2026-11-13"}, []string{"2026-11-12"}},
		{"other timezone", time.Date(2026, 11, 19, 23, 30, 0, 0, time.UTC), berlin, []string{"2026-11-12", "2026-11-13"}, []string{"2026-11-12"}},
		{"empty store", time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), time.UTC, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &dayStore{days: slices.Clone(tt.days)}
			got, err := PruneExpired(t.Context(), st, 7*24*time.Hour, tt.loc, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if _, deleted := st.state(); !slices.Equal(got, tt.deleted) || !slices.Equal(deleted, tt.deleted) {
				t.Fatalf("returned %v, deleted %v, want %v", got, deleted, tt.deleted)
			}
		})
	}
	st := &dayStore{days: []string{"2026-01-01"}, fail: errors.New("disk gone")}
	if _, err := PruneExpired(t.Context(), st, time.Hour, time.UTC, time.Now()); err == nil {
		t.Fatal("a failing store gave no error")
	}
}

// TestRunRetention drives the loop with a fake clock: a run at start, then
// one per tick, each deleting what expired by then.
func TestRunRetention(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	advance := func(d time.Duration) {
		mu.Lock()
		now = now.Add(d)
		mu.Unlock()
	}
	waiting := make(chan time.Duration)
	tick := make(chan time.Time)
	after := func(d time.Duration) <-chan time.Time {
		waiting <- d
		return tick
	}
	st := &dayStore{days: []string{"2026-11-11", "2026-11-12", "2026-11-13", "2026-11-14", "2026-11-20"}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		RunRetention(ctx, st, RetentionOptions{Retention: 7 * 24 * time.Hour, Every: time.Hour, Now: clock, After: after})
	}()

	if d := <-waiting; d != time.Hour {
		t.Fatalf("waits %v between runs, want 1h", d)
	}
	if days, _ := st.state(); !slices.Equal(days, []string{"2026-11-13", "2026-11-14", "2026-11-20"}) {
		t.Fatalf("after the run at start: %v", days)
	}
	advance(time.Hour) // 13:00 on the 20th: the 13th still reaches into the window
	tick <- clock()
	<-waiting
	if days, _ := st.state(); !slices.Equal(days, []string{"2026-11-13", "2026-11-14", "2026-11-20"}) {
		t.Fatalf("after an hour: %v", days)
	}
	advance(11 * time.Hour) // midnight: the 13th has expired
	tick <- clock()
	<-waiting
	if days, deleted := st.state(); !slices.Equal(days, []string{"2026-11-14", "2026-11-20"}) || len(deleted) != 3 {
		t.Fatalf("at midnight: days %v, deleted %v", days, deleted)
	}
	// A failing run does not stop the loop.
	st.mu.Lock()
	st.fail = errors.New("disk gone")
	st.mu.Unlock()
	advance(24 * time.Hour)
	tick <- clock()
	<-waiting
	st.mu.Lock()
	st.fail = nil
	st.mu.Unlock()
	tick <- clock()
	<-waiting
	if days, _ := st.state(); !slices.Equal(days, []string{"2026-11-20"}) {
		t.Fatalf("after recovering: %v", days)
	}
	cancel()
	<-done
}
