package sqlite

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/store/storetest"
)

func TestAdminConformance(t *testing.T) {
	storetest.RunAdmin(t, func(t *testing.T) apisessions.AdminStore { return MustOpen(t) })
}

var adminT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// TestAdminReopen checks that what the admin tables hold survives closing
// the file, and that reopening applies no migration twice.
func TestAdminReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "store.db")
	st, err := Open(ctx, path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	tn := apisessions.Tenant{ID: "t1", Name: "default", Created: adminT0, Secret: []byte{1, 2, 3}}
	if err := st.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutConfig(ctx, tn.ID, storetest.FullConfig(), "admin", adminT0); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, err = Open(ctx, path, DefaultOptions())
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer st.Close()
	got, err := st.TenantByName(ctx, "default")
	if err != nil {
		t.Fatalf("tenant after reopen: %v", err)
	}
	if got.ID != tn.ID || string(got.Secret) != string(tn.Secret) || !got.Created.Equal(tn.Created) {
		t.Fatalf("tenant after reopen %+v, want %+v", got, tn)
	}
	cv, err := st.Config(ctx, tn.ID)
	if err != nil || cv.Version != 1 {
		t.Fatalf("config after reopen: version %d, %v", cv.Version, err)
	}
	var versions int
	if err := st.reader.QueryRowContext(ctx, `SELECT count(*) FROM schema_version`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	names, err := migrationNames()
	if err != nil {
		t.Fatal(err)
	}
	if versions != len(names) {
		t.Fatalf("schema_version holds %d rows for %d migrations", versions, len(names))
	}
}

func migrationNames() ([]string, error) {
	entries, err := migrations.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out, nil
}

// TestAdminConfigGolden pins the stored form of a configuration, the JSON of
// apisessions.Config: renaming a JSON field would leave the versions already
// stored unreadable in part, so it must show up here. The golden rows must
// also still read back as the full configuration.
func TestAdminConfigGolden(t *testing.T) {
	ctx := t.Context()
	st := MustOpen(t)
	if _, err := st.PutConfig(ctx, "t1", storetest.FullConfig(), "admin", adminT0); err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := st.reader.QueryRowContext(ctx, `SELECT config FROM configs WHERE tenant = 't1'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "config_v1.golden.json")
	if *update {
		if err := os.WriteFile(path, []byte(stored+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if stored+"\n" != string(want) {
		t.Fatalf("stored configuration changed:\n got %s\nwant %s", stored, want)
	}

	// A row as an older store wrote it reads back whole.
	if _, err := st.writer.ExecContext(ctx, `INSERT INTO configs (tenant, version, config, author, created_ns) VALUES ('t2', 1, ?, 'admin', 0)`,
		string(want)); err != nil {
		t.Fatal(err)
	}
	cv, err := st.Config(ctx, "t2")
	if err != nil {
		t.Fatal(err)
	}
	if full := storetest.FullConfig(); !reflect.DeepEqual(cv.Config, full) {
		t.Fatalf("golden configuration reads back as\n%+v\nwant\n%+v", cv.Config, full)
	}
}

// TestAdminForgetsLogins checks the SQLite store's own retention of logins:
// ForgetBatches drops those expired before its time, and only those.
func TestAdminForgetsLogins(t *testing.T) {
	ctx := t.Context()
	st := MustOpen(t)
	tests := []struct {
		hash    string
		expires time.Time
		kept    bool
	}{
		{"expired-long-ago", adminT0.Add(-48 * time.Hour), false},
		{"expired-at-cut", adminT0, true},
		{"live", adminT0.Add(time.Hour), true},
	}
	for _, tt := range tests {
		l := apisessions.Login{Hash: tt.hash, Tenant: "t1", UserID: "u1", Role: apisessions.RoleAdmin, CSRF: "c", Expires: tt.expires}
		if err := st.CreateLogin(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.ForgetBatches(ctx, adminT0); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.hash, func(t *testing.T) {
			var n int
			if err := st.reader.QueryRowContext(ctx, `SELECT count(*) FROM logins WHERE hash = ?`, tt.hash).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if kept := n == 1; kept != tt.kept {
				t.Fatalf("login kept %v, want %v", kept, tt.kept)
			}
		})
	}
}

// TestAdminBesideSessionWrites runs the per-batch admin calls of ingest
// while session batches are written, as a server does: both share the one
// writer connection, and neither may deadlock or lose a write.
func TestAdminBesideSessionWrites(t *testing.T) {
	ctx := t.Context()
	st := MustOpen(t)
	const batches = 20
	var wg sync.WaitGroup
	errs := make(chan error, 2*batches)
	for i := range batches {
		wg.Go(func() {
			recs := storetest.Generate(uint64(i)+1, fmt.Sprintf("b%d-", i), 50, 10, 1)
			if _, err := st.Write(ctx, "t1", recs); err != nil {
				errs <- fmt.Errorf("write %d: %w", i, err)
			}
		})
		wg.Go(func() {
			id := fmt.Sprintf("batch-%d", i)
			if err := st.MarkBatch(ctx, "t1", id, adminT0); err != nil {
				errs <- err
				return
			}
			if err := st.TouchNode(ctx, "t1", apisessions.Node{Name: "n", Version: "1", LastSeen: adminT0, Batches: 1, Records: 50}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	nodes, err := st.Nodes(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 1 || nodes[0].Batches != batches || nodes[0].Records != 50*batches {
		t.Fatalf("nodes %+v, want one with %d batches and %d records", nodes, batches, 50*batches)
	}
	for i := range batches {
		seen, err := st.BatchSeen(ctx, "t1", fmt.Sprintf("batch-%d", i))
		if err != nil || !seen {
			t.Fatalf("batch %d seen %v, %v", i, seen, err)
		}
	}
}

// BenchmarkAdmin measures the admin calls on a hot path: TokenByHash on
// every API call, BatchSeen, MarkBatch and TouchNode on every ingested
// batch. The Baseline cases are the cheapest round trips on the same
// connections (a SELECT 1 on a reader; on the writer a statement that
// changes nothing, and a one-row insert into a two-column table), so what
// the admin calls add over them shows.
func BenchmarkAdmin(b *testing.B) {
	ctx := b.Context()
	st := MustOpen(b)
	const tokens = 10000
	for i := range tokens {
		tk := apisessions.Token{ID: fmt.Sprintf("id-%d", i), Tenant: "t1", Name: "n", Role: apisessions.RoleNode,
			Hash: fmt.Sprintf("%064x", i), Created: adminT0}
		if err := st.CreateToken(ctx, tk); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := st.writer.ExecContext(ctx, `CREATE TABLE bench_baseline (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	b.Run("BaselineReaderSelect1", func(b *testing.B) {
		for b.Loop() {
			var one int
			if err := st.reader.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("TokenByHash", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := st.TokenByHash(ctx, fmt.Sprintf("%064x", i%tokens)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("BatchSeen", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := st.BatchSeen(ctx, "t1", fmt.Sprintf("batch-%d", i)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("BaselineWriterNoop", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.adminExec(ctx, "baseline", `DELETE FROM bench_baseline WHERE k = -1`); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("BaselineWriterInsert", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.adminExec(ctx, "baseline", `INSERT INTO bench_baseline (v) VALUES (1)`); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Every run marks new IDs: marking one again changes nothing and would
	// measure a no-op.
	seq := 0
	b.Run("MarkBatch", func(b *testing.B) {
		for b.Loop() {
			if err := st.MarkBatch(ctx, "t1", fmt.Sprintf("batch-%d", seq), adminT0); err != nil {
				b.Fatal(err)
			}
			seq++
		}
	})
	b.Run("TouchNode", func(b *testing.B) {
		for b.Loop() {
			if err := st.TouchNode(ctx, "t1", apisessions.Node{Name: "n", Version: "1", LastSeen: adminT0, Batches: 1, Records: 100}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzAdminRoundTrip checks that whatever text and bytes a caller stores
// come back unchanged, or are refused with a coded error, never mangled.
func FuzzAdminRoundTrip(f *testing.F) {
	f.Add("default", []byte{0, 1, 0xff}, "hash", "reason")
	f.Add("ténant ✓", []byte{}, "h\x00sh", "line\nbreak")
	f.Add("bad\xffutf8", []byte(nil), "\xfe", "\x00")
	f.Add("", []byte{1}, "", "")
	st := MustOpen(f)
	seq := 0
	f.Fuzz(func(t *testing.T, name string, secret []byte, hash, reason string) {
		ctx := t.Context()
		seq++
		id := fmt.Sprintf("t%d", seq)
		tn := apisessions.Tenant{ID: id, Name: id + name, Created: adminT0, Secret: secret}
		if err := st.CreateTenant(ctx, tn); err != nil {
			if apisessions.ErrorCode(err) == apisessions.EINTERNAL {
				t.Fatalf("CreateTenant: %v", err)
			}
		} else {
			got, err := st.TenantByName(ctx, tn.Name)
			if err != nil {
				t.Fatalf("TenantByName: %v", err)
			}
			if got.ID != tn.ID || got.Name != tn.Name || string(got.Secret) != string(tn.Secret) {
				t.Fatalf("tenant %+v read back as %+v", tn, got)
			}
		}
		tk := apisessions.Token{ID: id, Tenant: id, Name: name, Role: apisessions.RoleNode, Hash: id + hash, Created: adminT0}
		if err := st.CreateToken(ctx, tk); err != nil {
			if apisessions.ErrorCode(err) == apisessions.EINTERNAL {
				t.Fatalf("CreateToken: %v", err)
			}
		} else {
			got, err := st.TokenByHash(ctx, tk.Hash)
			if err != nil {
				t.Fatalf("TokenByHash: %v", err)
			}
			if got.Hash != tk.Hash || got.Name != tk.Name {
				t.Fatalf("token %q/%q read back as %q/%q", tk.Hash, tk.Name, got.Hash, got.Name)
			}
		}
		d := apisessions.DenyEntry{ID: id, SessionID: id + hash, Reason: reason, AddedBy: name, Created: adminT0}
		if err := st.AddDeny(ctx, id, d); err != nil {
			if apisessions.ErrorCode(err) == apisessions.EINTERNAL {
				t.Fatalf("AddDeny: %v", err)
			}
			return
		}
		got, err := st.Denylist(ctx, id, adminT0)
		if err != nil {
			t.Fatalf("Denylist: %v", err)
		}
		if len(got) != 1 || got[0].SessionID != d.SessionID || got[0].Reason != d.Reason || got[0].AddedBy != d.AddedBy {
			t.Fatalf("entry %+v read back as %+v", d, got)
		}
	})
}
