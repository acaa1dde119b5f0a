package storetest

import (
	"cmp"
	"context"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
)

// memAdmin is the model behind the AdminStore interface: running RunAdmin on
// it checks the suite itself.
type memAdmin struct {
	mu      sync.Mutex
	tenants []apisessions.Tenant
	users   []apisessions.User
	tokens  []apisessions.Token
	logins  map[string]apisessions.Login
	configs map[string][]apisessions.ConfigVersion
	deny    map[string][]apisessions.DenyEntry
	nodes   map[string]map[string]apisessions.Node
	batches map[string]map[string]time.Time
}

var _ apisessions.AdminStore = (*memAdmin)(nil)

func newMemAdmin() *memAdmin {
	return &memAdmin{
		logins:  map[string]apisessions.Login{},
		configs: map[string][]apisessions.ConfigVersion{},
		deny:    map[string][]apisessions.DenyEntry{},
		nodes:   map[string]map[string]apisessions.Node{},
		batches: map[string]map[string]time.Time{},
	}
}

func TestMemAdminConformance(t *testing.T) {
	RunAdmin(t, func(t *testing.T) apisessions.AdminStore { return newMemAdmin() })
}

func memNotFound(what string) error {
	return apisessions.Errorf(apisessions.ENOTFOUND, "no such %s", what)
}

func memConflict(what string) error {
	return apisessions.Errorf(apisessions.ECONFLICT, "%s exists", what)
}

// memInvalid returns EINVALID unless every key is set and every time in the
// range of Unix nanoseconds (the zero time allowed only when optional).
func memInvalid(keys []string, optional, required []time.Time) error {
	for _, k := range keys {
		if k == "" {
			return apisessions.Errorf(apisessions.EINVALID, "empty key")
		}
	}
	lo, hi := time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64)
	for _, t := range optional {
		if !t.IsZero() && (t.Before(lo) || t.After(hi)) {
			return apisessions.Errorf(apisessions.EINVALID, "time out of range")
		}
	}
	for _, t := range required {
		if t.IsZero() || t.Before(lo) || t.After(hi) {
			return apisessions.Errorf(apisessions.EINVALID, "time unset or out of range")
		}
	}
	return nil
}

func (m *memAdmin) CreateTenant(_ context.Context, t apisessions.Tenant) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := memInvalid([]string{t.ID, t.Name}, []time.Time{t.Created}, nil); err != nil {
		return err
	}
	for _, x := range m.tenants {
		if x.Name == t.Name || x.ID == t.ID {
			return memConflict("tenant")
		}
	}
	t.Secret = slices.Clone(t.Secret)
	m.tenants = append(m.tenants, t)
	return nil
}

func (m *memAdmin) tenantWhere(f func(apisessions.Tenant) bool) (apisessions.Tenant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.tenants {
		if f(x) {
			return x, nil
		}
	}
	return apisessions.Tenant{}, memNotFound("tenant")
}

func (m *memAdmin) TenantByName(_ context.Context, name string) (apisessions.Tenant, error) {
	return m.tenantWhere(func(t apisessions.Tenant) bool { return t.Name == name })
}

func (m *memAdmin) TenantByID(_ context.Context, id string) (apisessions.Tenant, error) {
	return m.tenantWhere(func(t apisessions.Tenant) bool { return t.ID == id })
}

func (m *memAdmin) Tenants(context.Context) ([]apisessions.Tenant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(m.tenants)
	slices.SortFunc(out, func(a, b apisessions.Tenant) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

func (m *memAdmin) CreateUser(_ context.Context, u apisessions.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := memInvalid([]string{u.ID, u.Tenant, u.Name}, []time.Time{u.Created}, nil); err != nil {
		return err
	}
	if !u.Role.Valid() {
		return apisessions.Errorf(apisessions.EINVALID, "unknown role")
	}
	for _, x := range m.users {
		if x.ID == u.ID || (x.Tenant == u.Tenant && x.Name == u.Name) {
			return memConflict("user")
		}
	}
	m.users = append(m.users, u)
	return nil
}

func (m *memAdmin) UserByName(_ context.Context, tenant, name string) (apisessions.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.users {
		if x.Tenant == tenant && x.Name == name {
			return x, nil
		}
	}
	return apisessions.User{}, memNotFound("user")
}

func (m *memAdmin) Users(_ context.Context, tenant string) ([]apisessions.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []apisessions.User
	for _, x := range m.users {
		if x.Tenant == tenant {
			out = append(out, x)
		}
	}
	slices.SortFunc(out, func(a, b apisessions.User) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

func (m *memAdmin) CreateToken(_ context.Context, t apisessions.Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var revoked []time.Time
	if t.Revoked != nil {
		revoked = append(revoked, *t.Revoked)
	}
	if err := memInvalid([]string{t.ID, t.Tenant, t.Hash}, []time.Time{t.Created}, revoked); err != nil {
		return err
	}
	if !t.Role.Valid() {
		return apisessions.Errorf(apisessions.EINVALID, "unknown role")
	}
	for _, x := range m.tokens {
		if x.ID == t.ID || x.Hash == t.Hash {
			return memConflict("token")
		}
	}
	m.tokens = append(m.tokens, t)
	return nil
}

func (m *memAdmin) TokenByHash(_ context.Context, hash string) (apisessions.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.tokens {
		if x.Hash == hash {
			return x, nil
		}
	}
	return apisessions.Token{}, memNotFound("token")
}

func (m *memAdmin) Tokens(_ context.Context, tenant string) ([]apisessions.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []apisessions.Token
	for _, x := range m.tokens {
		if x.Tenant == tenant {
			out = append(out, x)
		}
	}
	slices.SortFunc(out, func(a, b apisessions.Token) int { return b.Created.Compare(a.Created) })
	return out, nil
}

func (m *memAdmin) RevokeToken(_ context.Context, tenant, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := memInvalid(nil, nil, []time.Time{at}); err != nil {
		return err
	}
	for i, x := range m.tokens {
		if x.ID == id && (tenant == "" || x.Tenant == tenant) {
			if x.Revoked == nil {
				m.tokens[i].Revoked = &at
			}
			return nil
		}
	}
	return memNotFound("token")
}

func (m *memAdmin) CreateLogin(_ context.Context, l apisessions.Login) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := memInvalid([]string{l.Hash, l.Tenant, l.UserID}, []time.Time{l.Expires}, nil); err != nil {
		return err
	}
	m.logins[l.Hash] = l
	return nil
}

func (m *memAdmin) LoginByHash(_ context.Context, hash string, now time.Time) (apisessions.Login, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.logins[hash]
	if !ok || !now.Before(l.Expires) {
		return apisessions.Login{}, memNotFound("login")
	}
	return l, nil
}

func (m *memAdmin) DeleteLogin(_ context.Context, hash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.logins, hash)
	return nil
}

func (m *memAdmin) PutConfig(_ context.Context, tenant string, cfg apisessions.Config, author string, at time.Time) (apisessions.ConfigVersion, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := memInvalid([]string{tenant}, []time.Time{at}, nil); err != nil {
		return apisessions.ConfigVersion{}, err
	}
	cv := apisessions.ConfigVersion{Version: len(m.configs[tenant]) + 1, Config: cfg, Author: author, Created: at}
	m.configs[tenant] = append(m.configs[tenant], cv)
	return cv, nil
}

func (m *memAdmin) Config(_ context.Context, tenant string) (apisessions.ConfigVersion, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	vs := m.configs[tenant]
	if len(vs) == 0 {
		return apisessions.ConfigVersion{}, memNotFound("configuration")
	}
	return vs[len(vs)-1], nil
}

func (m *memAdmin) ConfigHistory(_ context.Context, tenant string) ([]apisessions.ConfigVersion, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(m.configs[tenant])
	slices.Reverse(out)
	return out, nil
}

func (m *memAdmin) AddDeny(_ context.Context, tenant string, d apisessions.DenyEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var until []time.Time
	if d.Until != nil {
		until = append(until, *d.Until)
	}
	if err := memInvalid([]string{tenant, d.ID, d.SessionID}, []time.Time{d.Created}, until); err != nil {
		return err
	}
	for _, x := range m.deny[tenant] {
		if x.ID == d.ID {
			return memConflict("denylist entry")
		}
	}
	m.deny[tenant] = append(m.deny[tenant], d)
	return nil
}

func (m *memAdmin) Denylist(_ context.Context, tenant string, now time.Time) ([]apisessions.DenyEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []apisessions.DenyEntry
	for _, d := range m.deny[tenant] {
		if d.Active(now) {
			out = append(out, d)
		}
	}
	slices.SortStableFunc(out, func(a, b apisessions.DenyEntry) int { return b.Created.Compare(a.Created) })
	return out, nil
}

func (m *memAdmin) DeleteDeny(_ context.Context, tenant, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, d := range m.deny[tenant] {
		if d.ID == id {
			m.deny[tenant] = slices.Delete(m.deny[tenant], i, i+1)
			return nil
		}
	}
	return memNotFound("denylist entry")
}

func (m *memAdmin) TouchNode(_ context.Context, tenant string, n apisessions.Node) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := memInvalid([]string{tenant, n.Name}, []time.Time{n.LastSeen}, nil); err != nil {
		return err
	}
	if n.Batches < 0 || n.Records < 0 || n.Rejects < 0 {
		return apisessions.Errorf(apisessions.EINVALID, "negative count")
	}
	ns := m.nodes[tenant]
	if ns == nil {
		ns = map[string]apisessions.Node{}
		m.nodes[tenant] = ns
	}
	old, ok := ns[n.Name]
	if !ok {
		ns[n.Name] = n
		return nil
	}
	if old.Batches > math.MaxInt64-n.Batches || old.Records > math.MaxInt64-n.Records || old.Rejects > math.MaxInt64-n.Rejects {
		return apisessions.Errorf(apisessions.EINVALID, "counts overflow")
	}
	if n.LastSeen.Before(old.LastSeen) {
		n.LastSeen, n.Version = old.LastSeen, old.Version
	}
	n.Batches += old.Batches
	n.Records += old.Records
	n.Rejects += old.Rejects
	ns[n.Name] = n
	return nil
}

func (m *memAdmin) Nodes(_ context.Context, tenant string) ([]apisessions.Node, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []apisessions.Node
	for _, n := range m.nodes[tenant] {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b apisessions.Node) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

func (m *memAdmin) BatchSeen(_ context.Context, tenant, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.batches[tenant][id]
	return ok, nil
}

func (m *memAdmin) MarkBatch(_ context.Context, tenant, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := memInvalid([]string{tenant, id}, nil, []time.Time{at}); err != nil {
		return err
	}
	bs := m.batches[tenant]
	if bs == nil {
		bs = map[string]time.Time{}
		m.batches[tenant] = bs
	}
	if _, ok := bs[id]; !ok {
		bs[id] = at
	}
	return nil
}

func (m *memAdmin) ForgetBatches(_ context.Context, before time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, bs := range m.batches {
		for id, at := range bs {
			if at.Before(before) {
				delete(bs, id)
			}
		}
	}
	return nil
}
