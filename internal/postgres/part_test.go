package postgres

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/store/storetest"
)

// foldParts folds records into parts, grouping them into batches as given.
func foldParts(recs []apisessions.Record, batch int) map[partKey]*part {
	out := map[partKey]*part{}
	for i := 0; i < len(recs); i += batch {
		delta := map[partKey]*part{}
		for j := i; j < min(len(recs), i+batch); j++ {
			k := partKey{recs[j].Day, recs[j].SessionID}
			if p := delta[k]; p != nil {
				p.add(&recs[j])
			} else {
				delta[k] = newPart(&recs[j])
			}
		}
		for k, d := range delta {
			// Stored parts go through their JSON document between batches.
			if p := out[k]; p != nil {
				doc, _ := json.Marshal(p)
				q := &part{Day: k.Day, ID: k.ID}
				if err := json.Unmarshal(doc, q); err != nil {
					panic(err)
				}
				q.merge(d)
				out[k] = q
			} else {
				out[k] = d
			}
		}
	}
	return out
}

// TestPartMatchesModel checks the merge against the suite's reference
// model, whatever the order and batch size.
func TestPartMatchesModel(t *testing.T) {
	recs := storetest.Generate(11, "pm-", 600, 8, 2)
	groups := map[partKey][]apisessions.Record{}
	for _, r := range recs {
		k := partKey{r.Day, r.SessionID}
		groups[k] = append(groups[k], r)
	}
	for _, batch := range []int{1, 7, 600} {
		shuffled := append([]apisessions.Record(nil), recs...)
		rand.New(rand.NewPCG(uint64(batch), 3)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		parts := foldParts(shuffled, batch)
		if len(parts) != len(groups) {
			t.Fatalf("batch %d: %d parts, want %d", batch, len(parts), len(groups))
		}
		for k, p := range parts {
			got, want := p.session(), storetest.ExpectedSession(groups[k])
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(want)
			if string(gj) != string(wj) {
				t.Errorf("batch %d part %v:\n got %s\nwant %s", batch, k, gj, wj)
			}
		}
	}
}

func TestTag(t *testing.T) {
	tests := []struct {
		name, kind, value string
		verbatim          bool
	}{
		{"plain", tagUser, "alice", true},
		{"colon inside", tagHost, "h:8080", true},
		{"at limit", tagUser, stringOf('a', maxTagValue), true},
		{"too long", tagUser, stringOf('a', maxTagValue+1), false},
		{"nul", tagUser, "a\x00b", false},
		{"invalid utf-8", tagRole, "\xff", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tag(tt.kind, tt.value)
			if verbatim := got == tt.kind+":"+tt.value; verbatim != tt.verbatim {
				t.Errorf("tag = %q, verbatim %v, want %v", got, verbatim, tt.verbatim)
			}
			if !pgSafe(got) || len(got) > maxTagValue+len(tt.kind)+1 && tt.verbatim {
				t.Errorf("tag %q not storable", got)
			}
			if tag(tt.kind, tt.value) != got || tag(tagFlow, tt.value) == got {
				t.Error("tag not deterministic or not kind-specific")
			}
		})
	}
}

func stringOf(c byte, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

func TestEarliestTieBreak(t *testing.T) {
	a := &earliest{Value: "a", At: 5, RID: "r2"}
	b := &earliest{Value: "b", At: 5, RID: "r1"}
	c := &earliest{Value: "c", At: 4, RID: "r9"}
	for _, tt := range []struct {
		x, y, want *earliest
	}{
		{a, b, b}, {b, a, b}, {a, c, c}, {nil, a, a}, {a, nil, a}, {nil, nil, nil},
	} {
		if got := pickEarliest(tt.x, tt.y); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("pickEarliest(%v, %v) = %v, want %v", tt.x, tt.y, got, tt.want)
		}
	}
}

// TestPartAddRepeats checks add on what generated batches rarely hold: a
// flow or an attack type listed twice in one request, findings of a
// request that is not malicious, keys that tie in time.
func TestPartAddRepeats(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	base := apisessions.Record{SessionID: "s", Day: "2026-11-20", Time: t0, Method: "GET", Status: 200,
		ClientIP: "10.0.0.1", UserAgent: "ua", Host: "h", Application: 2, Endpoint: "GET /a"}
	recs := make([]apisessions.Record, 4)
	for i := range recs {
		recs[i] = base
		recs[i].ID = fmt.Sprintf("r%d", 3-i) // later records have smaller IDs
	}
	recs[0].Flows = []string{"checkout", "checkout", ""}
	recs[0].Verdict = apisessions.VerdictAttack
	recs[0].Findings = []apisessions.Finding{{Type: apisessions.AttackSQLi}, {Type: apisessions.AttackSQLi}, {Type: apisessions.AttackXSS}}
	recs[1].Verdict = apisessions.VerdictSuspicious
	recs[1].Findings = []apisessions.Finding{{Type: apisessions.AttackRCE}}
	recs[1].Flows = []string{"checkout"}
	recs[2].Key = apisessions.Key{Point: "header.x", Value: "k2"}
	recs[3].Key = apisessions.Key{Point: "header.x", Value: "k3"} // same time, smaller ID: wins
	recs[3].User, recs[3].Role = "alice", "admin"
	p := newPart(&recs[0])
	for i := 1; i < len(recs); i++ {
		p.add(&recs[i])
	}
	got, want := p.session(), storetest.ExpectedSession(recs)
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Errorf("got  %s\nwant %s", gj, wj)
	}
	if p.Key == nil || p.Key.Value != "k3" {
		t.Errorf("key %+v, want k3 (same time, smaller request ID)", p.Key)
	}
}
