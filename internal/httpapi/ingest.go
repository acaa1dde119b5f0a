package httpapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/config"
	"github.com/apisessions/apisessions/internal/wire"
)

// ingestResult is the answer to an accepted batch.
type ingestResult struct {
	Batch      string `json:"batch"`
	Duplicate  bool   `json:"duplicate"`
	Stored     int    `json:"stored"`
	Duplicates int    `json:"duplicates"`
	// Expired counts records of days already outside the retention
	// window: not stored (SPEC §9), since retention would delete them.
	Expired  int `json:"expired"`
	Sessions int `json:"sessions"`
}

// maxNodeVersion bounds the X-Node-Version header kept with a node.
const maxNodeVersion = 64

// NodeVersionHeader carries the sending node's version on ingest.
const NodeVersionHeader = "X-Node-Version"

// handleIngest stores a node batch. The order (write, then mark the batch,
// then count it on the node) makes a retry after any failure safe: records
// are idempotent by ID, so a batch stored but not marked is stored again as
// duplicates and changes nothing.
func (s *Server) handleIngest(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := requireType(r, wire.ContentType); err != nil {
		s.metrics.rejects.WithLabelValues("content_type").Inc()
		return err
	}
	if r.ContentLength > s.maxBody {
		s.metrics.rejects.WithLabelValues(wire.ReasonTooLarge).Inc()
		return apisessions.Errorf(apisessions.ETOOLARGE, "batch over %d bytes", s.maxBody)
	}
	// Decoding holds up to about 4x MaxDecompressed; the semaphore is what
	// bounds ingest memory, and nodes retry a 503 with backoff.
	if !acquire(r.Context(), s.ingestSlots, s.opts.IngestWait) {
		s.metrics.overloaded.Inc()
		return &retryAfterError{after: 2 * time.Second, msg: "too many batches at once; retry later"}
	}
	defer func() { <-s.ingestSlots }()

	b, err := wire.Decode(http.MaxBytesReader(w, r.Body, s.maxBody), s.limits)
	if err != nil {
		reason := wire.Reason(err)
		s.metrics.rejects.WithLabelValues(reason).Inc()
		if apisessions.ErrorCode(err) == apisessions.EINTERNAL {
			// The connection broke mid-body: nothing to tell the node,
			// which retries.
			return fmt.Errorf("read batch: %w", err)
		}
		return err
	}
	ctx := r.Context()
	seen, err := s.admin.BatchSeen(ctx, p.Tenant, b.ID)
	if err != nil {
		return fmt.Errorf("batch seen: %w", err)
	}
	if seen {
		s.metrics.batches.WithLabelValues("duplicate").Inc()
		writeJSON(w, http.StatusOK, ingestResult{Batch: b.ID, Duplicate: true})
		return nil
	}
	recs, expired, err := s.dropExpired(r, p.Tenant, b.Records)
	if err != nil {
		return err
	}
	var st apisessions.WriteStats
	if len(recs) > 0 {
		err = s.timed("write", func() error {
			var err error
			st, err = s.store.Write(ctx, p.Tenant, recs)
			return err
		})
	}
	if err != nil {
		return err
	}
	now := s.now()
	if err := s.admin.MarkBatch(ctx, p.Tenant, b.ID, now); err != nil {
		return fmt.Errorf("mark batch: %w", err)
	}
	version := r.Header.Get(NodeVersionHeader)
	if len(version) > maxNodeVersion || !printable(version) {
		version = ""
	}
	node := apisessions.Node{Name: b.Node, Version: version, LastSeen: now, Batches: 1, Records: int64(st.Stored)}
	if err := s.admin.TouchNode(ctx, p.Tenant, node); err != nil {
		return fmt.Errorf("touch node: %w", err)
	}
	s.metrics.batches.WithLabelValues("stored").Inc()
	s.metrics.records.WithLabelValues("stored").Add(float64(st.Stored))
	s.metrics.records.WithLabelValues("duplicate").Add(float64(st.Duplicates))
	s.metrics.records.WithLabelValues("expired").Add(float64(expired))
	writeJSON(w, http.StatusOK, ingestResult{Batch: b.ID, Stored: st.Stored, Duplicates: st.Duplicates, Expired: expired, Sessions: st.Sessions})
	return nil
}

// dropExpired returns the records whose day is still within the tenant's
// retention window, and how many were dropped. A day expires as the
// retention job decides (apisessions.ExpiredDays in the tenant's day
// timezone), so that ingest never recreates a day the job deleted.
func (s *Server) dropExpired(r *http.Request, tenant string, recs []apisessions.Record) ([]apisessions.Record, int, error) {
	cv, err := s.currentConfig(r, tenant)
	if err != nil {
		return nil, 0, err
	}
	c := config.WithDefaults(cv.Config)
	loc, err := time.LoadLocation(c.DayTimezone)
	if err != nil {
		loc = time.UTC // a saved configuration was validated; be lenient
	}
	days := map[string]bool{}
	for i := range recs {
		days[recs[i].Day] = true
	}
	list := make([]string, 0, len(days))
	for d := range days {
		list = append(list, d)
	}
	expired := apisessions.ExpiredDays(list, s.now(), time.Duration(c.Retention), loc)
	if len(expired) == 0 {
		return recs, 0, nil
	}
	gone := map[string]bool{}
	for _, d := range expired {
		gone[d] = true
	}
	kept := make([]apisessions.Record, 0, len(recs))
	for i := range recs {
		if !gone[recs[i].Day] {
			kept = append(kept, recs[i])
		}
	}
	return kept, len(recs) - len(kept), nil
}
