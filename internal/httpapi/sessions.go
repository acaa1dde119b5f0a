package httpapi

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apisessions/apisessions"
)

// sessionList is the answer of GET /sessions.
type sessionList struct {
	Sessions []apisessions.Session `json:"sessions"`
	Next     string                `json:"next"`
}

// sessionDetail is the answer of GET /sessions/{id}.
type sessionDetail struct {
	Session  apisessions.Session   `json:"session"`
	Parts    []apisessions.Session `json:"parts"`
	Requests []apisessions.Record  `json:"requests"`
}

func (s *Server) handleSessions(w http.ResponseWriter, r *http.Request, p *principal) error {
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		return err
	}
	var page apisessions.SessionPage
	err = s.timed("sessions", func() error {
		var err error
		page, err = s.store.Sessions(r.Context(), p.Tenant, f)
		return err
	})
	if err != nil {
		return err
	}
	if err := s.markDenied(r.Context(), p.Tenant, page.Sessions); err != nil {
		return err
	}
	if page.Sessions == nil {
		page.Sessions = []apisessions.Session{}
	}
	writeJSON(w, http.StatusOK, sessionList{Sessions: page.Sessions, Next: page.Next})
	return nil
}

// sessionParts reads the parts and requests of the session of the path.
func (s *Server) sessionParts(r *http.Request, p *principal) ([]apisessions.Session, []apisessions.Record, error) {
	id, day := r.PathValue("id"), r.URL.Query().Get("day")
	if err := validDay(day); err != nil {
		return nil, nil, err
	}
	if id == "" || len(id) > maxFilterValue {
		return nil, nil, apisessions.Errorf(apisessions.ENOTFOUND, "no such session")
	}
	var parts []apisessions.Session
	var recs []apisessions.Record
	err := s.timed("session", func() error {
		var err error
		if parts, err = s.store.Session(r.Context(), p.Tenant, id, day); err != nil {
			return err
		}
		recs, err = s.store.SessionRequests(r.Context(), p.Tenant, id, day)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if err := s.markDenied(r.Context(), p.Tenant, parts); err != nil {
		return nil, nil, err
	}
	return parts, recs, nil
}

func (s *Server) handleSession(w http.ResponseWriter, r *http.Request, p *principal) error {
	parts, recs, err := s.sessionParts(r, p)
	if err != nil {
		return err
	}
	if recs == nil {
		recs = []apisessions.Record{}
	}
	writeJSON(w, http.StatusOK, sessionDetail{Session: apisessions.Summarize(parts), Parts: parts, Requests: recs})
	return nil
}

func (s *Server) handleRequest(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	if id == "" || len(id) > maxFilterValue {
		return apisessions.Errorf(apisessions.ENOTFOUND, "no such request")
	}
	var rec apisessions.Record
	err := s.timed("request", func() error {
		var err error
		rec, err = s.store.Request(r.Context(), p.Tenant, id)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Request apisessions.Record `json:"request"`
	}{rec})
	return nil
}

// markDenied sets Blocked on the parts whose session is on the tenant's
// denylist now, for all applications or one the part saw.
func (s *Server) markDenied(ctx context.Context, tenant string, parts []apisessions.Session) error {
	if len(parts) == 0 {
		return nil
	}
	entries, err := s.admin.Denylist(ctx, tenant, s.now())
	if err != nil {
		return fmt.Errorf("denylist: %w", err)
	}
	if len(entries) == 0 {
		return nil
	}
	now := s.now()
	byID := map[string][]apisessions.DenyEntry{}
	for _, e := range entries {
		if e.Active(now) {
			byID[e.SessionID] = append(byID[e.SessionID], e)
		}
	}
	for i := range parts {
		for _, e := range byID[parts[i].ID] {
			if len(e.Applications) == 0 || slices.ContainsFunc(e.Applications, func(a int) bool { return slices.Contains(parts[i].Applications, a) }) {
				parts[i].Blocked = true
			}
		}
	}
	return nil
}

// csvHeader is the first line of requests.csv.
var csvHeader = []string{"time", "id", "session_id", "day", "method", "host", "path", "endpoint", "status",
	"duration_ms", "response_size", "client_ip", "user_agent", "application", "user", "role", "flows",
	"verdict", "score", "attack_types", "blocked", "block_reason"}

func (s *Server) handleSessionCSV(w http.ResponseWriter, r *http.Request, p *principal) error {
	_, recs, err := s.sessionParts(r, p)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+csvFileName(r.PathValue("id"))+`"`)
	w.WriteHeader(http.StatusOK)
	return writeRequestsCSV(w, recs)
}

// writeRequestsCSV writes records as CSV, one per line, every cell
// defused against formula injection.
func writeRequestsCSV(w interface{ Write([]byte) (int, error) }, recs []apisessions.Record) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	row := make([]string, len(csvHeader))
	for i := range recs {
		rec := &recs[i]
		types := make([]string, 0, len(rec.Findings))
		for _, f := range rec.Findings {
			if !slices.Contains(types, string(f.Type)) {
				types = append(types, string(f.Type))
			}
		}
		row = append(row[:0],
			rec.Time.UTC().Format(time.RFC3339Nano), rec.ID, rec.SessionID, rec.Day, rec.Method, rec.Host, rec.Path,
			rec.Endpoint, strconv.Itoa(rec.Status), strconv.FormatFloat(rec.DurationMS, 'f', -1, 64),
			strconv.FormatInt(rec.ResponseSize, 10), rec.ClientIP, rec.UserAgent, strconv.Itoa(rec.Application),
			rec.User, rec.Role, strings.Join(rec.Flows, " "), string(rec.Verdict), strconv.Itoa(rec.Score),
			strings.Join(types, " "), strconv.FormatBool(rec.Blocked), rec.BlockReason)
		for j := range row {
			row[j] = csvCell(row[j])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvCell defuses a cell a spreadsheet would run as a formula: one that
// starts with = + - @ (or a tab or carriage return, which some spreadsheets
// skip before reading the formula) gets a leading apostrophe (OWASP "CSV
// injection"). Numbers are written by us and never negative, so no real
// value is altered but attacker text.
func csvCell(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + v
	}
	return v
}

// csvFileName makes a download name from a session ID: only safe
// characters, bounded.
func csvFileName(id string) string {
	var b strings.Builder
	for _, c := range id {
		if b.Len() >= 64 {
			break
		}
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return "requests.csv"
	}
	return "session-" + b.String() + ".csv"
}
