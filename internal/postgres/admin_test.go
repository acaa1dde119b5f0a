package postgres

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
)

// at is a time with nanoseconds, which timestamptz would lose.
var at = time.Date(2026, 11, 21, 10, 30, 0, 123456789, time.UTC)

func TestAdminSchemaVersion(t *testing.T) {
	t.Parallel()
	s := MustOpen(t)
	v, err := s.SchemaVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if want := ms[len(ms)-1].version; v != want || want < 2 {
		t.Fatalf("schema version %d, want %d (>= 2, the admin tables)", v, want)
	}
}

// TestAdminReopen checks that a second Open on a migrated schema applies
// nothing again and sees what the first stored.
func TestAdminReopen(t *testing.T) {
	t.Parallel()
	conn := mustSchema(t)
	ctx := context.Background()
	s1 := mustOpenAt(t, conn)
	want := apisessions.Tenant{ID: "t1", Name: "acme", Created: at, Secret: []byte{0, 1, 2}}
	if err := s1.CreateTenant(ctx, want); err != nil {
		t.Fatal(err)
	}
	s1.Close()
	s2 := mustOpenAt(t, conn)
	got, err := s2.TenantByID(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after reopen got %+v, want %+v", got, want)
	}
}

// TestTouchNodeConcurrent checks that concurrent TouchNode calls, from
// two stores as two servers would, add every count exactly once and leave
// the latest last seen time with its version.
func TestTouchNodeConcurrent(t *testing.T) {
	t.Parallel()
	conn := mustSchema(t)
	stores := []*Store{mustOpenAt(t, conn), mustOpenAt(t, conn)}
	ctx := context.Background()
	const workers, calls = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*calls)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w%len(stores)]
			for i := range calls {
				n := apisessions.Node{
					Name: "edge-1", Version: fmt.Sprintf("v%d.%d", w, i),
					LastSeen: at.Add(time.Duration(w*calls+i) * time.Second),
					Batches:  1, Records: int64(w + 1), Rejects: int64(i % 2),
				}
				errs <- s.TouchNode(ctx, "t1", n)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var wantRecords, wantRejects int64
	for w := range workers {
		for i := range calls {
			wantRecords += int64(w + 1)
			wantRejects += int64(i % 2)
		}
	}
	nodes, err := stores[0].Nodes(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	want := []apisessions.Node{{
		Name: "edge-1", Version: fmt.Sprintf("v%d.%d", workers-1, calls-1),
		LastSeen: at.Add(time.Duration(workers*calls-1) * time.Second),
		Batches:  workers * calls, Records: wantRecords, Rejects: wantRejects,
	}}
	if !reflect.DeepEqual(nodes, want) {
		t.Fatalf("nodes\n got %+v\nwant %+v", nodes, want)
	}
}

func TestTouchNodeOutOfOrder(t *testing.T) {
	t.Parallel()
	s := MustOpen(t)
	ctx := context.Background()
	steps := []apisessions.Node{
		{Name: "n", Version: "2.0", LastSeen: at.Add(time.Minute), Batches: 1, Records: 10},
		// An older report, arriving late: counts add, the rest stays.
		{Name: "n", Version: "1.0", LastSeen: at, Batches: 2, Records: 5, Rejects: 1},
	}
	for _, n := range steps {
		if err := s.TouchNode(ctx, "t", n); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Nodes(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	want := []apisessions.Node{{Name: "n", Version: "2.0", LastSeen: at.Add(time.Minute), Batches: 3, Records: 15, Rejects: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

// TestPutConfigConcurrent checks that concurrent saves get distinct,
// gapless versions.
func TestPutConfigConcurrent(t *testing.T) {
	t.Parallel()
	conn := mustSchema(t)
	stores := []*Store{mustOpenAt(t, conn), mustOpenAt(t, conn)}
	ctx := context.Background()
	const n = 20
	versions := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := apisessions.Config{DayTimezone: "UTC", Mask: []string{fmt.Sprintf("request.query.p%d", i)}}
			cv, err := stores[i%2].PutConfig(ctx, "t1", cfg, fmt.Sprintf("user%d", i), at)
			versions[i], errs[i] = cv.Version, err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Ints(versions)
	for i, v := range versions {
		if v != i+1 {
			t.Fatalf("versions %v, want 1..%d", versions, n)
		}
	}
	hist, err := stores[0].ConfigHistory(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != n || hist[0].Version != n || hist[n-1].Version != 1 {
		t.Fatalf("history of %d versions, first %d", len(hist), hist[0].Version)
	}
	// Another tenant counts from 1.
	cv, err := stores[0].PutConfig(ctx, "t2", apisessions.Config{}, "a", at)
	if err != nil || cv.Version != 1 {
		t.Fatalf("other tenant's first version %d, %v", cv.Version, err)
	}
}

// TestAdminBadInput checks that what the store cannot hold is refused
// with EINVALID (never a database error), and that lookups by such keys
// find nothing.
func TestAdminBadInput(t *testing.T) {
	t.Parallel()
	s := MustOpen(t)
	ctx := context.Background()
	long := strings.Repeat("x", DefaultOptions().MaxIDLength+1)
	far := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	zero := time.Time{}
	tests := []struct {
		name string
		call func() error
	}{
		{"tenant NUL name", func() error { return s.CreateTenant(ctx, apisessions.Tenant{ID: "t", Name: "a\x00b"}) }},
		{"tenant empty ID", func() error { return s.CreateTenant(ctx, apisessions.Tenant{Name: "a"}) }},
		{"tenant long name", func() error { return s.CreateTenant(ctx, apisessions.Tenant{ID: "t", Name: long}) }},
		{"tenant created out of range", func() error {
			return s.CreateTenant(ctx, apisessions.Tenant{ID: "t", Name: "a", Created: far})
		}},
		{"user bad role", func() error {
			return s.CreateUser(ctx, apisessions.User{ID: "u", Tenant: "t", Name: "n", Role: "root"})
		}},
		{"user invalid UTF-8 hash", func() error {
			return s.CreateUser(ctx, apisessions.User{ID: "u", Tenant: "t", Name: "n", Role: apisessions.RoleAdmin, PasswordHash: "\xff"})
		}},
		{"token empty hash", func() error {
			return s.CreateToken(ctx, apisessions.Token{ID: "k", Tenant: "t", Role: apisessions.RoleNode})
		}},
		{"token revoked zero", func() error {
			return s.CreateToken(ctx, apisessions.Token{ID: "k", Tenant: "t", Role: apisessions.RoleNode, Hash: "h", Revoked: &zero})
		}},
		{"revoke at zero", func() error { return s.RevokeToken(ctx, "t", "k", time.Time{}) }},
		{"login NUL CSRF", func() error {
			return s.CreateLogin(ctx, apisessions.Login{Hash: "h", Tenant: "t", UserID: "u", Role: apisessions.RoleAdmin, CSRF: "\x00"})
		}},
		{"config NUL author", func() error {
			_, err := s.PutConfig(ctx, "t", apisessions.Config{}, "\x00", at)
			return err
		}},
		{"config no tenant", func() error {
			_, err := s.PutConfig(ctx, "", apisessions.Config{}, "a", at)
			return err
		}},
		{"deny until out of range", func() error {
			return s.AddDeny(ctx, "t", apisessions.DenyEntry{ID: "d", SessionID: "s", Until: &far})
		}},
		{"deny empty session", func() error { return s.AddDeny(ctx, "t", apisessions.DenyEntry{ID: "d"}) }},
		{"node negative count", func() error {
			return s.TouchNode(ctx, "t", apisessions.Node{Name: "n", Records: -1})
		}},
		{"node empty name", func() error { return s.TouchNode(ctx, "t", apisessions.Node{}) }},
		{"batch zero time", func() error { return s.MarkBatch(ctx, "t", "b", time.Time{}) }},
		{"batch long ID", func() error { return s.MarkBatch(ctx, "t", long, at) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code := apisessions.ErrorCode(tt.call()); code != apisessions.EINVALID {
				t.Fatalf("code %q, want %q", code, apisessions.EINVALID)
			}
		})
	}

	lookups := []struct {
		name string
		call func() error
	}{
		{"tenant by NUL name", func() error { _, err := s.TenantByName(ctx, "\x00"); return err }},
		{"tenant by invalid ID", func() error { _, err := s.TenantByID(ctx, "\xff"); return err }},
		{"user by NUL name", func() error { _, err := s.UserByName(ctx, "t", "\x00"); return err }},
		{"token by NUL hash", func() error { _, err := s.TokenByHash(ctx, "\x00"); return err }},
		{"revoke NUL ID", func() error { return s.RevokeToken(ctx, "", "\x00", at) }},
		{"login by NUL hash", func() error { _, err := s.LoginByHash(ctx, "\x00", at); return err }},
		{"config of NUL tenant", func() error { _, err := s.Config(ctx, "\x00"); return err }},
		{"delete deny NUL ID", func() error { return s.DeleteDeny(ctx, "t", "\x00") }},
	}
	for _, tt := range lookups {
		t.Run(tt.name, func(t *testing.T) {
			if code := apisessions.ErrorCode(tt.call()); code != apisessions.ENOTFOUND {
				t.Fatalf("code %q, want %q", code, apisessions.ENOTFOUND)
			}
		})
	}
}

// TestAdminTimeRange checks times at the edges: nanoseconds kept, the zero
// time read back as zero, and query times beyond the range clamped rather
// than refused.
func TestAdminTimeRange(t *testing.T) {
	t.Parallel()
	s := MustOpen(t)
	ctx := context.Background()
	if err := s.CreateTenant(ctx, apisessions.Tenant{ID: "t", Name: "zero"}); err != nil {
		t.Fatal(err)
	}
	tn, err := s.TenantByName(ctx, "zero")
	if err != nil {
		t.Fatal(err)
	}
	if !tn.Created.IsZero() || tn.Secret != nil {
		t.Fatalf("zero tenant read back as %+v", tn)
	}
	if err := s.MarkBatch(ctx, "t", "b1", at); err != nil {
		t.Fatal(err)
	}
	if err := s.ForgetBatches(ctx, time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if seen, err := s.BatchSeen(ctx, "t", "b1"); err != nil || !seen {
		t.Fatalf("batch forgotten by a time before it: %v %v", seen, err)
	}
	if err := s.ForgetBatches(ctx, time.Unix(0, math.MaxInt64).Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if seen, err := s.BatchSeen(ctx, "t", "b1"); err != nil || seen {
		t.Fatalf("batch kept by a time after the range: %v %v", seen, err)
	}
	if err := s.CreateLogin(ctx, apisessions.Login{Hash: "h", Tenant: "t", UserID: "u", Role: apisessions.RoleAnalyst, CSRF: "c", Expires: at}); err != nil {
		t.Fatal(err)
	}
	l, err := s.LoginByHash(ctx, "h", at.Add(-time.Nanosecond))
	if err != nil || !l.Expires.Equal(at) {
		t.Fatalf("login a nanosecond before expiry: %+v %v", l, err)
	}
	if _, err := s.LoginByHash(ctx, "h", at); apisessions.ErrorCode(err) != apisessions.ENOTFOUND {
		t.Fatalf("login at its expiry: %v", err)
	}
}
