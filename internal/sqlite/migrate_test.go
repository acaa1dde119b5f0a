package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/store/storetest"
)

// oldDB opens the store file at path as an older version of the program
// would find it: one connection, none of the store's settings.
func oldDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driverName, path)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return db
}

// oldStore creates at path a store of schema version upto (migrations
// 1 to upto applied), and returns its connection.
func oldStore(t *testing.T, path string, upto int) *sql.DB {
	t.Helper()
	db := oldDB(t, path)
	if _, err := db.Exec(`CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= upto; v++ {
		names, err := migrations.ReadDir("migrations")
		if err != nil {
			t.Fatal(err)
		}
		name := names[v-1].Name()
		if want := fmt.Sprintf("%04d_", v); name[:5] != want {
			t.Fatalf("migration %d is %s", v, name)
		}
		body, err := migrations.ReadFile("migrations/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if step := migrationSteps[v]; step != nil {
			tx, err := db.Begin()
			if err != nil {
				t.Fatal(err)
			}
			if err := step(context.Background(), tx); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Exec(`INSERT INTO schema_version VALUES (?, '2026-01-01T00:00:00Z')`, v); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// TestMigrateValueIDs: a store of schema version 3, whose filter values
// are text rows of part_values, opens at the current version with every
// filter finding what it found, takes new writes into its parts and
// deletes its days.
func TestMigrateValueIDs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	db := oldStore(t, path, 3)
	recs := storetest.Generate(21, "v-", 400, 12, 2)
	// The parts and requests as version 3 stored them: complete parts
	// (parts_flushed up to the last request), one part_values row per
	// filter value, the tenant's endpoints.
	parts := map[partKey]*part{}
	var order []*part
	for i := range recs {
		k := partKey{recs[i].SessionID, recs[i].Day}
		p := parts[k]
		if p == nil {
			p = newPart(k.session, k.day)
			parts[k] = p
			order = append(order, p)
		}
		p.add(&recs[i])
	}
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustExec(`INSERT INTO tenants (id, name) VALUES (1, ?)`, apisessions.DefaultTenant)
	values := 0
	for i, p := range order {
		p.pid = int64(i + 1)
		mustExec(`INSERT INTO parts (pid, tenant, session, day, first_ns, last_ns, requests, attacks, blocked, agg)
			VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?)`, p.pid, p.session, p.day, p.first, p.last, p.requests, p.attacks, p.blocked, p.appendAggregate(nil))
		for _, pv := range p.values {
			if pv.kind >= kindUserAgent {
				continue
			}
			mustExec(`INSERT INTO part_values (kind, value, pid) VALUES (?, ?, ?)`, pv.kind, pv.value, p.pid)
			values++
			if pv.kind == kindEndpoint {
				mustExec(`INSERT OR IGNORE INTO endpoints (tenant, endpoint) VALUES (1, ?)`, pv.value)
			}
		}
	}
	for i := range recs {
		r := &recs[i]
		mustExec(`INSERT INTO requests (pid, t, tenant, id, data) VALUES (?, ?, 1, ?, ?)`,
			parts[partKey{r.SessionID, r.Day}].pid, r.Time.UnixNano(), r.ID, appendRecord(nil, r, nil))
	}
	mustExec(`UPDATE parts_flushed SET rid = (SELECT max(rid) FROM requests)`)
	db.Close()

	st := openAt(t, path, behindOptions())
	defer st.Close()
	var pairs int
	if err := st.reader.QueryRow(`SELECT count(*) FROM part_vids`).Scan(&pairs); err != nil {
		t.Fatal(err)
	}
	if pairs != values {
		t.Fatalf("%d part_vids rows after migration, want %d", pairs, values)
	}
	ref := openAt(t, filepath.Join(t.TempDir(), "ref.db"), behindOptions())
	defer ref.Close()
	writeAll(t, ref, split(recs, 100))
	sameListings(t, st, ref, recs)

	// New writes: some to migrated parts with values old and new, some to
	// new parts.
	more := storetest.Generate(22, "v2-", 300, 20, 2)
	writeAll(t, st, split(more, 70))
	writeAll(t, ref, split(more, 70))
	all := append(slices.Clone(recs), more...)
	sameListings(t, st, ref, all)

	// Deleting a day removes its parts from every filter.
	sameListings(t, st, ref, deleteDay(t, recs[0].Day, all, st, ref))
	var orphans int
	// A common value may have no part_vids row: parts list it in cvids.
	if err := st.reader.QueryRow(`SELECT count(*) FROM value_ids v WHERE NOT v.common AND NOT EXISTS (SELECT 1 FROM part_vids d WHERE d.vid = v.vid)`).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if orphans != 0 {
		t.Fatalf("%d numbered values no part lists after DeleteDay", orphans)
	}
}
