package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/store/storetest"
)

// TestCachedPartsFollowWritersWithoutRevision: a writer that updates a
// part without setting its revision (a server of the previous version,
// still running while the new one has migrated the database) must not
// leave the part at the revision a store cached, or that store would merge
// into its stale copy and undo the other write.
func TestCachedPartsFollowWritersWithoutRevision(t *testing.T) {
	ctx := context.Background()
	a := mustOpenAt(t, mustSchema(t))
	day := "2026-11-20"
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	batch := func(name string, n int) []apisessions.Record {
		recs := make([]apisessions.Record, n)
		for i := range recs {
			recs[i] = storetest.FullRecord(fmt.Sprintf("%s-%d", name, i), "s", at.Add(time.Duration(i)*time.Second))
			recs[i].Day = day
		}
		return recs
	}
	mustWrite(t, a, batch("a", 3))
	// The previous version's upsert sets every column but rev; here it
	// adds 10 requests to the part.
	tag, err := a.pool.Exec(ctx, `UPDATE sessions SET request_count = request_count + 10,
		doc = convert_to(jsonb_set(convert_from(doc, 'UTF8')::jsonb, '{requests}',
			to_jsonb((convert_from(doc, 'UTF8')::jsonb->>'requests')::int + 10))::text, 'UTF8')
		WHERE tenant = 't' AND day = $1 AND id = 's'`, day)
	if err != nil {
		t.Fatal(err)
	}
	if tag.RowsAffected() != 1 {
		t.Fatalf("updated %d parts, want 1", tag.RowsAffected())
	}
	mustWrite(t, a, batch("b", 2))
	got, err := a.Session(ctx, "t", "s", day)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].RequestCount != 3+10+2 {
		t.Fatalf("part = %+v, want %d requests", got, 3+10+2)
	}
}
