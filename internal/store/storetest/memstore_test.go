package storetest

import (
	"context"
	"encoding/base64"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
)

// memStore is the model behind the Store interface: running the suite on it
// checks the suite itself.
type memStore struct {
	mu      sync.Mutex
	tenants map[string]*model
}

var dayRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

func (s *memStore) tenant(name string) *model {
	if s.tenants[name] == nil {
		s.tenants[name] = newModel()
	}
	return s.tenants[name]
}

func (s *memStore) Write(ctx context.Context, tenant string, recs []apisessions.Record) (apisessions.WriteStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tenant == "" {
		return apisessions.WriteStats{}, apisessions.Errorf(apisessions.EINVALID, "no tenant")
	}
	for _, r := range recs {
		if _, err := time.Parse("2006-01-02", r.Day); err != nil || !dayRE.MatchString(r.Day) || r.ID == "" || r.SessionID == "" || r.Time.IsZero() {
			return apisessions.WriteStats{}, apisessions.Errorf(apisessions.EINVALID, "bad record")
		}
	}
	return s.tenant(tenant).add(recs), nil
}

func (s *memStore) Sessions(ctx context.Context, tenant string, f apisessions.SessionFilter) (apisessions.SessionPage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Limit < 0 {
		return apisessions.SessionPage{}, apisessions.Errorf(apisessions.EINVALID, "negative limit")
	}
	all := s.tenant(tenant).filter(f)
	if f.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(f.Cursor)
		parts := strings.Split(string(b), "|")
		if err != nil || len(parts) != 3 {
			return apisessions.SessionPage{}, apisessions.Errorf(apisessions.EINVALID, "bad cursor")
		}
		last, err := time.Parse(time.RFC3339Nano, parts[0])
		if err != nil {
			return apisessions.SessionPage{}, apisessions.Errorf(apisessions.EINVALID, "bad cursor")
		}
		at := apisessions.Session{LastSeen: last, Day: parts[1], ID: parts[2]}
		for len(all) > 0 && NewestFirst(all[0], at) <= 0 {
			all = all[1:]
		}
	}
	var p apisessions.SessionPage
	if f.Limit > 0 && len(all) > f.Limit {
		all = all[:f.Limit]
		l := all[len(all)-1]
		p.Next = base64.RawURLEncoding.EncodeToString([]byte(l.LastSeen.Format(time.RFC3339Nano) + "|" + l.Day + "|" + l.ID))
	}
	p.Sessions = all
	return p, nil
}

func (s *memStore) Session(ctx context.Context, tenant, id, day string) ([]apisessions.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []apisessions.Session
	for _, p := range s.tenant(tenant).sessions() {
		if p.ID == id && (day == "" || p.Day == day) {
			out = append([]apisessions.Session{p}, out...)
		}
	}
	if len(out) == 0 {
		return nil, apisessions.Errorf(apisessions.ENOTFOUND, "no session")
	}
	return out, nil
}

func (s *memStore) SessionRequests(ctx context.Context, tenant, id, day string) ([]apisessions.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs := s.tenant(tenant).records(id, day)
	if len(recs) == 0 {
		return nil, apisessions.Errorf(apisessions.ENOTFOUND, "no session")
	}
	return recs, nil
}

func (s *memStore) Request(ctx context.Context, tenant, id string) (apisessions.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.tenant(tenant).byID[id]
	if !ok {
		return r, apisessions.Errorf(apisessions.ENOTFOUND, "no request")
	}
	return r, nil
}

func (s *memStore) Days(ctx context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	days := set[string]{}
	for _, m := range s.tenants {
		for _, r := range m.byID {
			days.add(r.Day)
		}
	}
	return days.sorted(), nil
}

func (s *memStore) DeleteDay(ctx context.Context, day string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.tenants {
		m.deleteDay(day)
	}
	return nil
}

func (s *memStore) Close() error { return nil }

func TestModelStore(t *testing.T) {
	Run(t, func(t *testing.T) apisessions.Store { return &memStore{tenants: map[string]*model{}} })
}
