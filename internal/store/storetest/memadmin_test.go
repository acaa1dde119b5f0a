package storetest

import (
	"cmp"
	"context"
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

func (m *memAdmin) CreateTenant(_ context.Context, t apisessions.Tenant) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.ID == "" || t.Name == "" {
		return apisessions.Errorf(apisessions.EINVALID, "tenant needs an ID and a name")
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
	ns := m.nodes[tenant]
	if ns == nil {
		ns = map[string]apisessions.Node{}
		m.nodes[tenant] = ns
	}
	old := ns[n.Name]
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
