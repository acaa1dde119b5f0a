package sqlite

import (
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/store/storetest"
)

func testRefs() []reqRef {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC).UnixNano()
	return []reqRef{{7, t0}, {9, t0 - 5}, {1 << 40, t0 + int64(time.Hour)}, {1<<40 + 1, t0 + int64(time.Hour)}}
}

func TestRequestListCodec(t *testing.T) {
	for _, refs := range [][]reqRef{nil, testRefs()} {
		b := appendRequestList(nil, refs)
		got, err := decodeRequestList(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, refs) {
			t.Fatalf("round trip: %v, want %v", got, refs)
		}
		for i := range len(b) {
			if _, err := decodeRequestList(b[:i], nil); err == nil {
				t.Fatalf("prefix of %d/%d bytes decoded", i, len(b))
			}
		}
		if _, err := decodeRequestList(append(b, 0), nil); err == nil {
			t.Fatal("list with a trailing byte decoded")
		}
	}
	if _, err := decodeRequestList(appendRequestList(nil, []reqRef{{0, 1}}), nil); err == nil {
		t.Fatal("list with rowid 0 decoded")
	}
}

func TestRequestsBetween(t *testing.T) {
	refs := testRefs()
	list := appendRequestList(nil, refs)
	t0 := refs[0].t
	for _, tt := range []struct {
		from, to int64
		want     bool
	}{
		{t0, t0, true},
		{t0 - 5, t0 - 5, true},
		{t0 + 1, t0 + int64(time.Hour) - 1, false},
		{t0 - 4, t0 - 1, false},
		{t0 + 1, t0 + int64(time.Hour), true},
		{t0 + int64(time.Hour) + 1, t0 + 2*int64(time.Hour), false},
		{t0, t0 - 5, false},
	} {
		got, err := requestsBetween(list, tt.from, tt.to)
		if err != nil || got != tt.want {
			t.Errorf("requestsBetween(%d, %d) = %v, %v; want %v", tt.from-t0, tt.to-t0, got, err, tt.want)
		}
	}
	if _, err := requestsBetween([]byte{requestListV1, 5}, 0, 1); err == nil {
		t.Fatal("corrupt list gave no error")
	}
}

func FuzzDecodeRequestList(f *testing.F) {
	f.Add(appendRequestList(nil, testRefs()))
	f.Add(appendRequestList(nil, nil))
	f.Add([]byte{requestListV1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		refs, err := decodeRequestList(b, nil)
		if err != nil {
			return
		}
		again, err := decodeRequestList(appendRequestList(nil, refs), nil)
		if err != nil || !slices.Equal(again, refs) {
			t.Fatalf("re-encoded list: %v, %v; want %v", again, err, refs)
		}
		for _, r := range refs {
			if in, err := requestsBetween(b, r.t, r.t); err != nil || !in {
				t.Fatalf("requestsBetween misses the time %d of the list: %v, %v", r.t, in, err)
			}
		}
	})
}

// TestListRows: a part's requests go in rows of at most maxListRefs, each
// with the span of its own times.
func TestListRows(t *testing.T) {
	refs := make([]reqRef, 2*maxListRefs+3)
	for i := range refs {
		refs[i] = reqRef{int64(100 + i), int64(1000 - i)}
	}
	rows, _ := listRows(nil, nil, 5, refs)
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	var all []reqRef
	for i, r := range rows {
		got, err := decodeRequestList(r.list, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.pid != 5 || r.rid != got[0].rid || r.first != got[len(got)-1].t || r.last != got[0].t || len(got) > maxListRefs {
			t.Fatalf("row %d: pid %d, rid %d, times %d to %d, %d requests", i, r.pid, r.rid, r.first, r.last, len(got))
		}
		all = append(all, got...)
	}
	if !slices.Equal(all, refs) {
		t.Fatal("rows do not hold the requests")
	}
}

// TestMigrateRequestLists: a store of schema version 6, which found a
// part's requests by the requests_part index, gets its lists at Open, for
// parts stored at the last flush, parts stored ahead of it, parts waiting
// for it and requests that replay must add; a part of more requests than
// a row holds spreads over rows.
func TestMigrateRequestLists(t *testing.T) {
	big := storetest.Generate(41, "big-", 2*maxListRefs+10, 1, 1)
	recs := storetest.Generate(42, "ml-", 800, 60, 1)
	slices.SortStableFunc(recs, func(a, b apisessions.Record) int { return strings.Compare(a.SessionID, b.SessionID) })
	all := append(slices.Clone(big), recs...)
	ref := MustOpen(t)
	writeAll(t, ref, [][]apisessions.Record{all})

	// Written by the current code, then brought back to version 6: the
	// tables are the same but for the lists and the index.
	o := behindOptions()
	o.FlushParts = 100
	path := filepath.Join(t.TempDir(), "store.db")
	st := openAt(t, path, o)
	writeAll(t, st, split(all[:len(big)+300], 20))
	if err := st.flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	writeAll(t, st, split(all[len(big)+300:], 20))
	st.crash()
	db := oldDB(t, path)
	inlineStrings(t, db)
	for _, q := range []string{
		`DROP TABLE part_requests`,
		`CREATE INDEX requests_part ON requests (pid, t)`,
		`DROP TABLE strings`,
		`DELETE FROM sqlite_sequence WHERE name = 'strings'`,
		`DELETE FROM schema_version WHERE version >= 7`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var flushed, drained, pending int
	if err := db.QueryRow(`SELECT (SELECT rid FROM parts_flushed), (SELECT count(*) FROM parts WHERE upto > (SELECT rid FROM parts_flushed)),
		(SELECT count(*) FROM parts_pending)`).Scan(&flushed, &drained, &pending); err != nil {
		t.Fatal(err)
	}
	if flushed == 0 || drained == 0 || pending == 0 {
		t.Fatalf("flushed up to %d, %d parts stored ahead, %d waiting: want all three", flushed, drained, pending)
	}
	db.Close()

	st = openAt(t, path, o)
	defer st.Close()
	var rows, index int
	if err := st.reader.QueryRow(`SELECT (SELECT count(*) FROM part_requests c JOIN parts p ON p.pid = c.pid WHERE p.session = ?),
		(SELECT count(*) FROM sqlite_schema WHERE name = 'requests_part')`, big[0].SessionID).Scan(&rows, &index); err != nil {
		t.Fatal(err)
	}
	if rows < 3 || index != 0 {
		t.Fatalf("the large part has %d list rows, want 3 or more; %d requests_part indexes left", rows, index)
	}
	sameListings(t, st, ref, all)
	sameListings(t, st, ref, deleteDay(t, all[0].Day, all, st, ref))
}

// inlineStrings encodes the records of the store db again with every
// string inline, as a store without a string dictionary holds them.
func inlineStrings(t *testing.T, db *sql.DB) {
	t.Helper()
	strs := map[uint64]string{}
	var blobs []reqBlob
	err := eachRow(t.Context(), db, "SELECT sid, s FROM strings", nil, func(rows *sql.Rows) error {
		var (
			sid uint64
			s   string
		)
		err := rows.Scan(&sid, &s)
		strs[sid] = s
		return err
	})
	if err == nil {
		err = eachRow(t.Context(), db, "SELECT rid, data FROM requests", nil, func(rows *sql.Rows) error {
			var b reqBlob
			err := rows.Scan(&b.rid, &b.data)
			blobs = append(blobs, b)
			return err
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(sid uint64) (string, error) {
		if s, ok := strs[sid]; ok {
			return s, nil
		}
		return "", errUnknownString
	}
	for _, b := range blobs {
		var r apisessions.Record
		if err := decodeRecord(b.data, &r, lookup); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("UPDATE requests SET data = ? WHERE rid = ?", appendRecord(nil, &r, nil), b.rid); err != nil {
			t.Fatal(err)
		}
	}
}

type reqBlob struct {
	rid  int64
	data []byte
}
