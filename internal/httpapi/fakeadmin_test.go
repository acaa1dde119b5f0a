package httpapi

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/apisessions/apisessions"
)

// fakeAdmin is an in-memory apisessions.AdminStore for these tests, until
// internal/sqlite's lands. It follows the interface's contract, errors
// included.
type fakeAdmin struct {
	mu      sync.Mutex
	tenants []apisessions.Tenant
	users   []apisessions.User
	tokens  []apisessions.Token
	logins  map[string]apisessions.Login
	configs map[string][]apisessions.ConfigVersion
	deny    map[string][]apisessions.DenyEntry
	nodes   map[string]map[string]apisessions.Node
	batches map[string]map[string]time.Time
	// fail, when set, is returned by every call (an unreachable store).
	fail error
}

var _ apisessions.AdminStore = (*fakeAdmin)(nil)

func newFakeAdmin() *fakeAdmin {
	return &fakeAdmin{
		logins:  map[string]apisessions.Login{},
		configs: map[string][]apisessions.ConfigVersion{},
		deny:    map[string][]apisessions.DenyEntry{},
		nodes:   map[string]map[string]apisessions.Node{},
		batches: map[string]map[string]time.Time{},
	}
}

func notFound(what string) error {
	return apisessions.Errorf(apisessions.ENOTFOUND, "no such %s", what)
}

func (f *fakeAdmin) CreateTenant(_ context.Context, t apisessions.Tenant) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range f.tenants {
		if x.Name == t.Name {
			return apisessions.Errorf(apisessions.ECONFLICT, "tenant exists")
		}
	}
	f.tenants = append(f.tenants, t)
	return nil
}

func (f *fakeAdmin) TenantByName(_ context.Context, name string) (apisessions.Tenant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range f.tenants {
		if x.Name == name {
			return x, nil
		}
	}
	return apisessions.Tenant{}, notFound("tenant")
}

func (f *fakeAdmin) TenantByID(_ context.Context, id string) (apisessions.Tenant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range f.tenants {
		if x.ID == id {
			return x, nil
		}
	}
	return apisessions.Tenant{}, notFound("tenant")
}

func (f *fakeAdmin) Tenants(context.Context) ([]apisessions.Tenant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	return slices.Clone(f.tenants), nil
}

func (f *fakeAdmin) CreateUser(_ context.Context, u apisessions.User) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users = append(f.users, u)
	return nil
}

func (f *fakeAdmin) UserByName(_ context.Context, tenant, name string) (apisessions.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range f.users {
		if x.Tenant == tenant && x.Name == name {
			return x, nil
		}
	}
	return apisessions.User{}, notFound("user")
}

func (f *fakeAdmin) Users(_ context.Context, tenant string) ([]apisessions.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apisessions.User
	for _, x := range f.users {
		if x.Tenant == tenant {
			out = append(out, x)
		}
	}
	return out, nil
}

func (f *fakeAdmin) CreateToken(_ context.Context, t apisessions.Token) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = append(f.tokens, t)
	return nil
}

func (f *fakeAdmin) TokenByHash(_ context.Context, hash string) (apisessions.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range f.tokens {
		if x.Hash == hash {
			return x, nil
		}
	}
	return apisessions.Token{}, notFound("token")
}

func (f *fakeAdmin) Tokens(_ context.Context, tenant string) ([]apisessions.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apisessions.Token
	for _, x := range f.tokens {
		if x.Tenant == tenant {
			out = append(out, x)
		}
	}
	return out, nil
}

func (f *fakeAdmin) RevokeToken(_ context.Context, tenant, id string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, x := range f.tokens {
		if x.ID == id && (tenant == "" || x.Tenant == tenant) {
			if x.Revoked == nil {
				f.tokens[i].Revoked = &at
			}
			return nil
		}
	}
	return notFound("token")
}

func (f *fakeAdmin) CreateLogin(_ context.Context, l apisessions.Login) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logins[l.Hash] = l
	return nil
}

func (f *fakeAdmin) LoginByHash(_ context.Context, hash string, now time.Time) (apisessions.Login, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.logins[hash]
	if !ok || !now.Before(l.Expires) {
		return apisessions.Login{}, notFound("login")
	}
	return l, nil
}

func (f *fakeAdmin) DeleteLogin(_ context.Context, hash string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.logins, hash)
	return nil
}

func (f *fakeAdmin) PutConfig(_ context.Context, tenant string, cfg apisessions.Config, author string, at time.Time) (apisessions.ConfigVersion, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cv := apisessions.ConfigVersion{Version: len(f.configs[tenant]) + 1, Config: cfg, Author: author, Created: at}
	f.configs[tenant] = append(f.configs[tenant], cv)
	return cv, nil
}

func (f *fakeAdmin) Config(_ context.Context, tenant string) (apisessions.ConfigVersion, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	vs := f.configs[tenant]
	if len(vs) == 0 {
		return apisessions.ConfigVersion{}, notFound("configuration")
	}
	return vs[len(vs)-1], nil
}

func (f *fakeAdmin) ConfigHistory(_ context.Context, tenant string) ([]apisessions.ConfigVersion, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.configs[tenant])
	slices.Reverse(out)
	return out, nil
}

func (f *fakeAdmin) AddDeny(_ context.Context, tenant string, d apisessions.DenyEntry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deny[tenant] = append(f.deny[tenant], d)
	return nil
}

func (f *fakeAdmin) Denylist(_ context.Context, tenant string, now time.Time) ([]apisessions.DenyEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apisessions.DenyEntry
	for _, d := range f.deny[tenant] {
		if d.Active(now) {
			out = append(out, d)
		}
	}
	slices.SortStableFunc(out, func(a, b apisessions.DenyEntry) int { return b.Created.Compare(a.Created) })
	return out, nil
}

func (f *fakeAdmin) DeleteDeny(_ context.Context, tenant, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, d := range f.deny[tenant] {
		if d.ID == id {
			f.deny[tenant] = slices.Delete(f.deny[tenant], i, i+1)
			return nil
		}
	}
	return notFound("denylist entry")
}

func (f *fakeAdmin) TouchNode(_ context.Context, tenant string, n apisessions.Node) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.nodes[tenant]
	if m == nil {
		m = map[string]apisessions.Node{}
		f.nodes[tenant] = m
	}
	old := m[n.Name]
	n.Batches += old.Batches
	n.Records += old.Records
	n.Rejects += old.Rejects
	if n.LastSeen.Before(old.LastSeen) {
		n.LastSeen = old.LastSeen
	}
	m[n.Name] = n
	return nil
}

func (f *fakeAdmin) Nodes(_ context.Context, tenant string) ([]apisessions.Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apisessions.Node
	for _, n := range f.nodes[tenant] {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b apisessions.Node) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

func (f *fakeAdmin) BatchSeen(_ context.Context, tenant, id string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.batches[tenant][id]
	return ok, nil
}

func (f *fakeAdmin) MarkBatch(_ context.Context, tenant, id string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.batches[tenant]
	if m == nil {
		m = map[string]time.Time{}
		f.batches[tenant] = m
	}
	if _, ok := m[id]; !ok {
		m[id] = at
	}
	return nil
}

func (f *fakeAdmin) ForgetBatches(_ context.Context, before time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.batches {
		for id, at := range m {
			if at.Before(before) {
				delete(m, id)
			}
		}
	}
	return nil
}
