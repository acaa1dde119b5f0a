package httpapi

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/apisessions/apisessions"
	"github.com/apisessions/apisessions/internal/config"
)

// currentConfig returns the tenant's configuration version; a tenant that
// never saved one has version 0, the empty configuration (all defaults).
func (s *Server) currentConfig(r *http.Request, tenant string) (apisessions.ConfigVersion, error) {
	cv, err := s.admin.Config(r.Context(), tenant)
	if apisessions.ErrorCode(err) == apisessions.ENOTFOUND {
		return apisessions.ConfigVersion{}, nil
	}
	if err != nil {
		return cv, fmt.Errorf("read config: %w", err)
	}
	return cv, nil
}

// wantsYAML reports whether the Accept header prefers YAML.
func wantsYAML(r *http.Request) bool {
	for _, a := range splitComma(r.Header.Get("Accept")) {
		mt, _, _ := strings.Cut(a, ";")
		switch strings.TrimSpace(strings.ToLower(mt)) {
		case "application/yaml", "application/x-yaml", "text/yaml":
			return true
		case "application/json":
			return false
		}
	}
	return false
}

func (s *Server) handleGetConfig(w http.ResponseWriter, r *http.Request, p *principal) error {
	cv, err := s.currentConfig(r, p.Tenant)
	if err != nil {
		return err
	}
	if wantsYAML(r) {
		b, err := config.Marshal(cv.Config)
		if err != nil {
			return fmt.Errorf("marshal config: %w", err)
		}
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		w.Header().Set("X-Config-Version", strconv.Itoa(cv.Version))
		w.WriteHeader(http.StatusOK)
		w.Write(b)
		return nil
	}
	writeJSON(w, http.StatusOK, cv)
	return nil
}

func (s *Server) handlePutConfig(w http.ResponseWriter, r *http.Request, p *principal) error {
	mt := mediaType(r)
	switch mt {
	case "application/json", "application/yaml", "application/x-yaml", "text/yaml":
	default:
		return apisessions.Errorf(EUNSUPPORTED, "Content-Type must be application/yaml or application/json")
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, config.MaxFileBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apisessions.Errorf(apisessions.ETOOLARGE, "configuration over %d bytes", config.MaxFileBytes)
		}
		return fmt.Errorf("read body: %w", err)
	}
	if mt == "application/json" && !json.Valid(data) {
		return apisessions.Errorf(apisessions.EINVALID, "body is not valid JSON")
	}
	// JSON is YAML: one parser for both gives the messages of
	// `apisessions config check`, with lines.
	c, err := config.Parse(data)
	if err != nil {
		var pe *config.ParseError
		if !errors.As(err, &pe) {
			return fmt.Errorf("parse config: %w", err)
		}
		reason := pe.Message
		if pe.Line > 0 {
			reason = fmt.Sprintf("line %d: %s", pe.Line, pe.Message)
		}
		return &problemsError{problems: []problem{{Path: pe.Field, Reason: reason}}}
	}
	if ps := config.Validate(c); len(ps) > 0 {
		out := make([]problem, len(ps))
		for i, pr := range ps {
			out[i] = problem{Path: pr.Path, Reason: pr.Reason}
		}
		return &problemsError{problems: out}
	}
	var cv apisessions.ConfigVersion
	err = s.timed("put_config", func() error {
		var err error
		cv, err = s.admin.PutConfig(r.Context(), p.Tenant, c, s.actor(r.Context(), p), s.now())
		return err
	})
	if err != nil {
		return err
	}
	s.log.Info("configuration saved", "tenant", p.Tenant, "version", cv.Version, "author", cv.Author)
	writeJSON(w, http.StatusOK, cv)
	return nil
}

func (s *Server) handleConfigHistory(w http.ResponseWriter, r *http.Request, p *principal) error {
	h, err := s.admin.ConfigHistory(r.Context(), p.Tenant)
	if err != nil {
		return fmt.Errorf("config history: %w", err)
	}
	if h == nil {
		h = []apisessions.ConfigVersion{}
	}
	writeJSON(w, http.StatusOK, struct {
		Versions []apisessions.ConfigVersion `json:"versions"`
	}{h})
	return nil
}

// NodeConfig is what GET /api/v1/node/config returns: everything a node
// needs to run for its tenant.
type NodeConfig struct {
	Version int `json:"version"`
	// Config has its defaults filled in.
	Config apisessions.Config `json:"config"`
	// Secret is the tenant's session secret, hex.
	Secret string `json:"secret"`
}

func (s *Server) handleNodeConfig(w http.ResponseWriter, r *http.Request, p *principal) error {
	cv, err := s.currentConfig(r, p.Tenant)
	if err != nil {
		return err
	}
	t, err := s.admin.TenantByID(r.Context(), p.Tenant)
	if err != nil {
		return fmt.Errorf("tenant of token: %w", err)
	}
	return writeJSONTagged(w, r, NodeConfig{Version: cv.Version, Config: config.WithDefaults(cv.Config), Secret: hex.EncodeToString(t.Secret)})
}

// denyRequest is the body of POST /denylist.
type denyRequest struct {
	SessionID    string     `json:"session_id"`
	Applications []int      `json:"applications"`
	Until        *time.Time `json:"until"`
	// Duration is an alternative to Until ("2h", "7d").
	Duration *apisessions.Duration `json:"duration"`
	Forever  bool                  `json:"forever"`
	Reason   string                `json:"reason"`
}

// Denylist limits.
const (
	// DefaultDenyDuration is how long an entry lasts when the request
	// gives neither until nor forever (SPEC §8).
	DefaultDenyDuration = time.Hour
	maxDenyReason       = 1000
	maxDenyApps         = 256
	maxSessionID        = 256
)

func (s *Server) handleDenylist(w http.ResponseWriter, r *http.Request, p *principal) error {
	entries, err := s.denylist(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Entries []apisessions.DenyEntry `json:"entries"`
	}{entries})
	return nil
}

func (s *Server) denylist(r *http.Request, p *principal) ([]apisessions.DenyEntry, error) {
	entries, err := s.admin.Denylist(r.Context(), p.Tenant, s.now())
	if err != nil {
		return nil, fmt.Errorf("denylist: %w", err)
	}
	if entries == nil {
		entries = []apisessions.DenyEntry{}
	}
	for i := range entries {
		if entries[i].Applications == nil {
			entries[i].Applications = []int{}
		}
	}
	return entries, nil
}

func (s *Server) handleNodeDenylist(w http.ResponseWriter, r *http.Request, p *principal) error {
	entries, err := s.denylist(r, p)
	if err != nil {
		return err
	}
	return writeJSONTagged(w, r, struct {
		Entries []apisessions.DenyEntry `json:"entries"`
	}{entries})
}

func (s *Server) handleAddDeny(w http.ResponseWriter, r *http.Request, p *principal) error {
	var req denyRequest
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		return err
	}
	now := s.now()
	e := apisessions.DenyEntry{
		ID:           randomHex(16),
		SessionID:    req.SessionID,
		Applications: req.Applications,
		Reason:       req.Reason,
		AddedBy:      s.actor(r.Context(), p),
		Created:      now,
	}
	switch {
	case req.SessionID == "":
		return apisessions.Errorf(apisessions.EINVALID, "session_id is required")
	case len(req.SessionID) > maxSessionID || !printable(req.SessionID):
		return apisessions.Errorf(apisessions.EINVALID, "session_id: want printable text of at most %d bytes", maxSessionID)
	case len(req.Reason) > maxDenyReason:
		return apisessions.Errorf(apisessions.EINVALID, "reason longer than %d bytes", maxDenyReason)
	case len(req.Applications) > maxDenyApps:
		return apisessions.Errorf(apisessions.EINVALID, "more than %d applications", maxDenyApps)
	}
	set := 0
	for _, b := range []bool{req.Until != nil, req.Duration != nil, req.Forever} {
		if b {
			set++
		}
	}
	if set > 1 {
		return apisessions.Errorf(apisessions.EINVALID, "give one of until, duration and forever")
	}
	switch {
	case req.Forever:
	case req.Until != nil:
		if !req.Until.After(now) {
			return apisessions.Errorf(apisessions.EINVALID, "until is not in the future")
		}
		u := req.Until.UTC()
		e.Until = &u
	case req.Duration != nil:
		if *req.Duration <= 0 {
			return apisessions.Errorf(apisessions.EINVALID, "duration must be positive")
		}
		u := now.Add(time.Duration(*req.Duration)).UTC()
		e.Until = &u
	default:
		u := now.Add(DefaultDenyDuration).UTC()
		e.Until = &u
	}
	if e.Applications == nil {
		e.Applications = []int{}
	}
	if err := s.admin.AddDeny(r.Context(), p.Tenant, e); err != nil {
		return fmt.Errorf("add deny: %w", err)
	}
	writeJSON(w, http.StatusCreated, struct {
		Entry apisessions.DenyEntry `json:"entry"`
	}{e})
	return nil
}

func (s *Server) handleDeleteDeny(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	if id == "" || len(id) > 256 {
		return apisessions.Errorf(apisessions.ENOTFOUND, "no such denylist entry")
	}
	if err := s.admin.DeleteDeny(r.Context(), p.Tenant, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleNodes(w http.ResponseWriter, r *http.Request, p *principal) error {
	nodes, err := s.admin.Nodes(r.Context(), p.Tenant)
	if err != nil {
		return fmt.Errorf("nodes: %w", err)
	}
	if nodes == nil {
		nodes = []apisessions.Node{}
	}
	writeJSON(w, http.StatusOK, struct {
		Nodes []apisessions.Node `json:"nodes"`
	}{nodes})
	return nil
}

// printable reports whether s is valid UTF-8 text without control
// characters.
func printable(s string) bool {
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == 0xfffd {
			return false
		}
	}
	return true
}
