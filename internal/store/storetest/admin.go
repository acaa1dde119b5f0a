package storetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apisessions/apisessions"
)

// RunAdmin runs the conformance tests of apisessions.AdminStore against
// stores made by open, which must return a new, empty store each time and
// arrange its cleanup (t.Cleanup).
//
// Beyond the interface's comments, the suite fixes:
//
//   - CreateTenant is ECONFLICT for a taken ID as well as a taken name, and
//     EINVALID for an empty ID or name. CreateUser and CreateToken are
//     EINVALID for a role that is not Valid. AddDeny is ECONFLICT for an ID
//     the tenant already has.
//   - Tenants, users and logins keep every field; tokens, configuration
//     versions and denylist entries too. Times may come back in any location
//     and must keep microsecond precision; nil and empty slices are
//     equivalent; a nil Until stays nil (forever).
//   - A login expires at Expires (LoginByHash at that instant is ENOTFOUND);
//     a denylist entry is listed while now is before Until.
//   - ConfigHistory and the lists are empty, not an error, for a tenant
//     without any; Config is then ENOTFOUND.
//   - Concurrent PutConfig calls get distinct, gapless versions; concurrent
//     TouchNode calls lose no counts.
//   - ForgetBatches drops batches marked strictly before its time.
//   - TouchNode keeps the latest last seen time and its version when
//     reports arrive out of order; negative counts, and counts whose totals
//     would overflow, are EINVALID and change nothing.
//   - Empty keys (IDs, names, hashes, session IDs) are EINVALID, and so are
//     times that must be set (revocation, until, batch time) when zero and
//     any time outside the years 1678 to 2262 (Unix nanoseconds). Other
//     zero times (Created, Expires, LastSeen) read back as the zero time.
func RunAdmin(t *testing.T, open func(t *testing.T) apisessions.AdminStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st apisessions.AdminStore)
	}{
		{"Tenants", testAdminTenants},
		{"TenantInvalid", testAdminTenantInvalid},
		{"Users", testAdminUsers},
		{"Tokens", testAdminTokens},
		{"RevokeToken", testAdminRevokeToken},
		{"Logins", testAdminLogins},
		{"Config", testAdminConfig},
		{"ConfigConcurrent", testAdminConfigConcurrent},
		{"Denylist", testAdminDenylist},
		{"DeleteDeny", testAdminDeleteDeny},
		{"Nodes", testAdminNodes},
		{"NodesOutOfOrder", testAdminNodesOutOfOrder},
		{"NodeOverflow", testAdminNodeOverflow},
		{"NodesConcurrent", testAdminNodesConcurrent},
		{"Batches", testAdminBatches},
		{"TenantIsolation", testAdminIsolation},
		{"BadInput", testAdminBadInput},
		{"ZeroTimes", testAdminZeroTimes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// adminT0 is the suite's clock: microseconds, as every store keeps.
var adminT0 = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

func at(d time.Duration) time.Time { return adminT0.Add(d) }

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// same fails when got and want differ after normalisation (UTC times, nil
// for empty slices).
func same[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	g, w := normAdmin(reflect.ValueOf(&got).Elem()), normAdmin(reflect.ValueOf(&want).Elem())
	if !reflect.DeepEqual(g.Interface(), w.Interface()) {
		t.Fatalf("%s:\n got: %+v\nwant: %+v", what, g.Interface(), w.Interface())
	}
}

// normAdmin returns a normalised copy of v: times in UTC, empty slices nil,
// pointers to times followed.
func normAdmin(v reflect.Value) reflect.Value {
	timeType := reflect.TypeFor[time.Time]()
	out := reflect.New(v.Type()).Elem()
	switch {
	case v.Type() == timeType:
		out.Set(reflect.ValueOf(v.Interface().(time.Time).UTC()))
	case v.Kind() == reflect.Pointer:
		if !v.IsNil() {
			p := reflect.New(v.Type().Elem())
			p.Elem().Set(normAdmin(v.Elem()))
			out.Set(p)
		}
	case v.Kind() == reflect.Slice:
		if v.Len() > 0 {
			s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			for i := range v.Len() {
				s.Index(i).Set(normAdmin(v.Index(i)))
			}
			out.Set(s)
		}
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			if !v.Type().Field(i).IsExported() {
				out.Set(v)
				return out
			}
			out.Field(i).Set(normAdmin(v.Field(i)))
		}
	default:
		out.Set(v)
	}
	return out
}

func newTenant(name string, created time.Time) apisessions.Tenant {
	return apisessions.Tenant{ID: "tid-" + name, Name: name, Created: created, Secret: []byte("secret of " + name + "\x00\xff")}
}

func mustTenant(t *testing.T, st apisessions.AdminStore, name string) apisessions.Tenant {
	t.Helper()
	tn := newTenant(name, adminT0)
	must(t, "CreateTenant "+name, st.CreateTenant(t.Context(), tn))
	return tn
}

func testAdminTenants(t *testing.T, st apisessions.AdminStore) {
	ctx := t.Context()
	got, err := st.Tenants(ctx)
	must(t, "Tenants of an empty store", err)
	if len(got) != 0 {
		t.Fatalf("empty store lists tenants %+v", got)
	}
	// Created in an order other than by name, so the list must sort.
	var want []apisessions.Tenant
	for i, name := range []string{"zulu", "alpha", "mike"} {
		tn := newTenant(name, at(time.Duration(i)*time.Second))
		must(t, "CreateTenant", st.CreateTenant(ctx, tn))
		want = append(want, tn)
	}
	for _, tn := range want {
		byName, err := st.TenantByName(ctx, tn.Name)
		must(t, "TenantByName", err)
		same(t, "TenantByName "+tn.Name, byName, tn)
		byID, err := st.TenantByID(ctx, tn.ID)
		must(t, "TenantByID", err)
		same(t, "TenantByID "+tn.ID, byID, tn)
	}
	slices.SortFunc(want, func(a, b apisessions.Tenant) int { return compareStrings(a.Name, b.Name) })
	got, err = st.Tenants(ctx)
	must(t, "Tenants", err)
	same(t, "Tenants by name", got, want)

	dupName := newTenant("alpha", adminT0)
	dupName.ID = "another-id"
	wantCode(t, "CreateTenant with a taken name", st.CreateTenant(ctx, dupName), apisessions.ECONFLICT)
	dupID := newTenant("fresh", adminT0)
	dupID.ID = want[0].ID
	wantCode(t, "CreateTenant with a taken ID", st.CreateTenant(ctx, dupID), apisessions.ECONFLICT)
	got, err = st.Tenants(ctx)
	must(t, "Tenants", err)
	same(t, "Tenants after refused creations", got, want)

	_, err = st.TenantByName(ctx, "nobody")
	wantCode(t, "TenantByName of an unknown name", err, apisessions.ENOTFOUND)
	_, err = st.TenantByID(ctx, "nobody")
	wantCode(t, "TenantByID of an unknown ID", err, apisessions.ENOTFOUND)
	// A name is not an ID and an ID not a name.
	_, err = st.TenantByID(ctx, "alpha")
	wantCode(t, "TenantByID of a name", err, apisessions.ENOTFOUND)
	_, err = st.TenantByName(ctx, "tid-alpha")
	wantCode(t, "TenantByName of an ID", err, apisessions.ENOTFOUND)
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testAdminTenantInvalid(t *testing.T, st apisessions.AdminStore) {
	tests := []struct {
		name string
		tn   apisessions.Tenant
	}{
		{"EmptyID", apisessions.Tenant{Name: "x", Created: adminT0}},
		{"EmptyName", apisessions.Tenant{ID: "x", Created: adminT0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, "CreateTenant", st.CreateTenant(t.Context(), tt.tn), apisessions.EINVALID)
		})
	}
	got, err := st.Tenants(t.Context())
	must(t, "Tenants", err)
	if len(got) != 0 {
		t.Fatalf("refused tenants stored: %+v", got)
	}
}

func newUser(tenant, name string, role apisessions.Role, created time.Time) apisessions.User {
	return apisessions.User{
		ID: "uid-" + tenant + "-" + name, Tenant: tenant, Name: name, Role: role,
		PasswordHash: "$2a$10$hash.of." + name, Created: created,
	}
}

func testAdminUsers(t *testing.T, st apisessions.AdminStore) {
	ctx := t.Context()
	a, b := mustTenant(t, st, "a"), mustTenant(t, st, "b")
	got, err := st.Users(ctx, a.ID)
	must(t, "Users of a tenant without users", err)
	if len(got) != 0 {
		t.Fatalf("Users before any: %+v", got)
	}
	zed := newUser(a.ID, "zed", apisessions.RoleAdmin, at(0))
	amy := newUser(a.ID, "amy", apisessions.RoleAnalyst, at(time.Second))
	amyB := newUser(b.ID, "amy", apisessions.RoleAdmin, at(2*time.Second))
	for _, u := range []apisessions.User{zed, amy, amyB} {
		must(t, "CreateUser "+u.ID, st.CreateUser(ctx, u))
	}
	dup := newUser(a.ID, "amy", apisessions.RoleAdmin, at(3*time.Second))
	dup.ID = "another-id"
	wantCode(t, "CreateUser with a name the tenant has", st.CreateUser(ctx, dup), apisessions.ECONFLICT)
	bad := newUser(a.ID, "bob", apisessions.Role("root"), at(0))
	wantCode(t, "CreateUser with an unknown role", st.CreateUser(ctx, bad), apisessions.EINVALID)

	for _, u := range []apisessions.User{zed, amy, amyB} {
		got, err := st.UserByName(ctx, u.Tenant, u.Name)
		must(t, "UserByName", err)
		same(t, "UserByName "+u.Name, got, u)
	}
	_, err = st.UserByName(ctx, b.ID, "zed")
	wantCode(t, "UserByName of another tenant's user", err, apisessions.ENOTFOUND)
	_, err = st.UserByName(ctx, a.ID, "bob")
	wantCode(t, "UserByName of a refused user", err, apisessions.ENOTFOUND)

	got, err = st.Users(ctx, a.ID)
	must(t, "Users", err)
	same(t, "Users of a by name", got, []apisessions.User{amy, zed})
	got, err = st.Users(ctx, b.ID)
	must(t, "Users", err)
	same(t, "Users of b", got, []apisessions.User{amyB})
}

func newToken(tenant, name string, role apisessions.Role, created time.Time) apisessions.Token {
	return apisessions.Token{
		ID: "tok-" + tenant + "-" + name, Tenant: tenant, Name: name, Role: role,
		Hash: "hash-" + tenant + "-" + name, Created: created,
	}
}

func testAdminTokens(t *testing.T, st apisessions.AdminStore) {
	ctx := t.Context()
	a, b := mustTenant(t, st, "a"), mustTenant(t, st, "b")
	got, err := st.Tokens(ctx, a.ID)
	must(t, "Tokens of a tenant without tokens", err)
	if len(got) != 0 {
		t.Fatalf("Tokens before any: %+v", got)
	}
	// Created out of time order, so the list must sort.
	old := newToken(a.ID, "old", apisessions.RoleAdmin, at(0))
	newest := newToken(a.ID, "newest", apisessions.RoleNode, at(2*time.Hour))
	mid := newToken(a.ID, "mid", apisessions.RoleAnalyst, at(time.Hour))
	other := newToken(b.ID, "old", apisessions.RoleAdmin, at(0))
	for _, tk := range []apisessions.Token{old, newest, mid, other} {
		must(t, "CreateToken "+tk.ID, st.CreateToken(ctx, tk))
	}
	dup := newToken(b.ID, "dup", apisessions.RoleAdmin, at(0))
	dup.Hash = old.Hash
	wantCode(t, "CreateToken with a hash that exists", st.CreateToken(ctx, dup), apisessions.ECONFLICT)
	bad := newToken(a.ID, "bad", apisessions.Role(""), at(0))
	wantCode(t, "CreateToken with an empty role", st.CreateToken(ctx, bad), apisessions.EINVALID)

	for _, tk := range []apisessions.Token{old, newest, mid, other} {
		got, err := st.TokenByHash(ctx, tk.Hash)
		must(t, "TokenByHash", err)
		same(t, "TokenByHash "+tk.ID, got, tk)
	}
	_, err = st.TokenByHash(ctx, "no-such-hash")
	wantCode(t, "TokenByHash of an unknown hash", err, apisessions.ENOTFOUND)
	_, err = st.TokenByHash(ctx, dup.Hash+"x")
	wantCode(t, "TokenByHash of a refused token", err, apisessions.ENOTFOUND)

	got, err = st.Tokens(ctx, a.ID)
	must(t, "Tokens", err)
	same(t, "Tokens of a newest first", got, []apisessions.Token{newest, mid, old})
	got, err = st.Tokens(ctx, b.ID)
	must(t, "Tokens", err)
	same(t, "Tokens of b", got, []apisessions.Token{other})
}

func testAdminRevokeToken(t *testing.T, st apisessions.AdminStore) {
	ctx := t.Context()
	a, b := mustTenant(t, st, "a"), mustTenant(t, st, "b")
	ta := newToken(a.ID, "one", apisessions.RoleAdmin, at(0))
	tb := newToken(b.ID, "two", apisessions.RoleNode, at(time.Second))
	must(t, "CreateToken", st.CreateToken(ctx, ta))
	must(t, "CreateToken", st.CreateToken(ctx, tb))

	wantCode(t, "RevokeToken of another tenant's token", st.RevokeToken(ctx, b.ID, ta.ID, at(time.Minute)), apisessions.ENOTFOUND)
	wantCode(t, "RevokeToken of an unknown token", st.RevokeToken(ctx, a.ID, "no-such-id", at(time.Minute)), apisessions.ENOTFOUND)
	wantCode(t, "RevokeToken of an unknown token, any tenant", st.RevokeToken(ctx, "", "no-such-id", at(time.Minute)), apisessions.ENOTFOUND)
	got, err := st.TokenByHash(ctx, ta.Hash)
	must(t, "TokenByHash", err)
	same(t, "token after a refused revocation", got, ta)

	first := at(time.Hour)
	must(t, "RevokeToken", st.RevokeToken(ctx, a.ID, ta.ID, first))
	must(t, "RevokeToken again", st.RevokeToken(ctx, a.ID, ta.ID, at(2*time.Hour)))
	revoked := ta
	revoked.Revoked = &first
	got, err = st.TokenByHash(ctx, ta.Hash)
	must(t, "TokenByHash of a revoked token", err)
	same(t, "revoked token keeps the first revocation time", got, revoked)
	list, err := st.Tokens(ctx, a.ID)
	must(t, "Tokens", err)
	same(t, "Tokens lists the revoked token", list, []apisessions.Token{revoked})

	// The command line on the server revokes by ID alone.
	must(t, `RevokeToken with tenant ""`, st.RevokeToken(ctx, "", tb.ID, at(3*time.Hour)))
	wantB := tb
	wantB.Revoked = new(at(3 * time.Hour))
	got, err = st.TokenByHash(ctx, tb.Hash)
	must(t, "TokenByHash", err)
	same(t, `token revoked with tenant ""`, got, wantB)
	got, err = st.TokenByHash(ctx, ta.Hash)
	must(t, "TokenByHash", err)
	same(t, "other token untouched", got, revoked)
}

func testAdminLogins(t *testing.T, st apisessions.AdminStore) {
	ctx := t.Context()
	a := mustTenant(t, st, "a")
	u := newUser(a.ID, "amy", apisessions.RoleAnalyst, at(0))
	must(t, "CreateUser", st.CreateUser(ctx, u))
	l := apisessions.Login{Hash: "login-hash", Tenant: a.ID, UserID: u.ID, Role: u.Role, CSRF: "csrf-token", Expires: at(time.Hour)}
	l2 := apisessions.Login{Hash: "login-hash-2", Tenant: a.ID, UserID: u.ID, Role: u.Role, CSRF: "csrf-2", Expires: at(time.Hour)}
	must(t, "CreateLogin", st.CreateLogin(ctx, l))
	must(t, "CreateLogin", st.CreateLogin(ctx, l2))

	tests := []struct {
		name string
		hash string
		now  time.Time
		ok   bool
	}{
		{"Fresh", l.Hash, at(0), true},
		{"JustBeforeExpiry", l.Hash, at(time.Hour - time.Microsecond), true},
		{"AtExpiry", l.Hash, at(time.Hour), false},
		{"AfterExpiry", l.Hash, at(2 * time.Hour), false},
		{"UnknownHash", "other-hash", at(0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.LoginByHash(t.Context(), tt.hash, tt.now)
			if !tt.ok {
				wantCode(t, "LoginByHash", err, apisessions.ENOTFOUND)
				return
			}
			must(t, "LoginByHash", err)
			same(t, "LoginByHash", got, l)
		})
	}

	must(t, "DeleteLogin", st.DeleteLogin(ctx, l.Hash))
	_, err := st.LoginByHash(ctx, l.Hash, at(0))
	wantCode(t, "LoginByHash after DeleteLogin", err, apisessions.ENOTFOUND)
	must(t, "DeleteLogin of a deleted login", st.DeleteLogin(ctx, l.Hash))
	must(t, "DeleteLogin of an unknown login", st.DeleteLogin(ctx, "never-was"))
	got, err := st.LoginByHash(ctx, l2.Hash, at(0))
	must(t, "LoginByHash of the other login", err)
	same(t, "other login untouched", got, l2)
}

// FullConfig returns a configuration with every field set, so a round trip
// through a store shows any field it loses.
func FullConfig() apisessions.Config {
	return apisessions.Config{
		Retention:         apisessions.Duration(36 * time.Hour),
		DayTimezone:       "Europe/Paris",
		HashAlgorithm:     apisessions.HashHMACSHA256,
		SessionSecretFile: "/etc/apisessions/secret",
		TrustedProxies:    []string{"10.0.0.0/8", "::1/128"},
		Applications: []apisessions.Application{
			{ID: 1, Name: "shop", Hosts: []string{"shop.example.com", "*.shop.example.com"}, Mode: apisessions.ModeBlocking},
			{ID: 7, Name: "api \"v2\" ✓", Hosts: []string{"api.example.com"}, Mode: apisessions.ModeMonitoring},
		},
		Analyze: apisessions.Analyze{Hosts: []string{"shop.example.com"}, Applications: []int{1, 7}},
		Parameters: []apisessions.Parameter{
			{Name: "user", Point: "post.json.login", Type: apisessions.ParamUser, Context: true, Hash: true, Group: true},
			{Name: "role", Point: "header.x-role", Type: apisessions.ParamRole},
		},
		Mask:  []string{"post.json.password", "header.authorization"},
		Flows: []apisessions.FlowRule{{Name: "checkout", Method: "POST", Path: "/cart/*/pay"}},
		Detection: apisessions.DetectionConfig{
			ParanoiaLevel: 3, AnomalyThreshold: 8, ExcludeRules: []int{920350, 942100},
			Responses: true, BodyLimit: 65536,
		},
	}
}

// zeroFields returns the paths of fields of v that are zero, recursing into
// structs and the first element of slices.
func zeroFields(v reflect.Value, path string) []string {
	switch v.Kind() {
	case reflect.Struct:
		var out []string
		for i := range v.NumField() {
			out = append(out, zeroFields(v.Field(i), path+"."+v.Type().Field(i).Name)...)
		}
		return out
	case reflect.Slice:
		if v.Len() == 0 {
			return []string{path}
		}
		return zeroFields(v.Index(0), path+"[0]")
	}
	if v.IsZero() {
		return []string{path}
	}
	return nil
}

func testAdminConfig(t *testing.T, st apisessions.AdminStore) {
	ctx := t.Context()
	a, b := mustTenant(t, st, "a"), mustTenant(t, st, "b")
	full := FullConfig()
	if z := zeroFields(reflect.ValueOf(full), "Config"); len(z) > 0 {
		t.Fatalf("FullConfig leaves fields zero, so their round trip is untested: %v", z)
	}

	_, err := st.Config(ctx, a.ID)
	wantCode(t, "Config before any", err, apisessions.ENOTFOUND)
	hist, err := st.ConfigHistory(ctx, a.ID)
	must(t, "ConfigHistory before any", err)
	if len(hist) != 0 {
		t.Fatalf("ConfigHistory before any: %+v", hist)
	}

	steps := []struct {
		tenant string
		cfg    apisessions.Config
		author string
		at     time.Time
		want   int
	}{
		{a.ID, apisessions.Config{}, "alice", at(0), 1},
		{a.ID, full, "tok-123", at(time.Minute), 2},
		{b.ID, apisessions.Config{DayTimezone: "UTC"}, "bob", at(2 * time.Minute), 1},
		{a.ID, apisessions.Config{Retention: apisessions.Duration(time.Hour)}, "alice", at(3 * time.Minute), 3},
	}
	history := map[string][]apisessions.ConfigVersion{}
	for _, s := range steps {
		cv, err := st.PutConfig(ctx, s.tenant, s.cfg, s.author, s.at)
		must(t, "PutConfig", err)
		want := apisessions.ConfigVersion{Version: s.want, Config: s.cfg, Author: s.author, Created: s.at}
		same(t, fmt.Sprintf("PutConfig of %s version %d", s.tenant, s.want), cv, want)
		cur, err := st.Config(ctx, s.tenant)
		must(t, "Config", err)
		same(t, fmt.Sprintf("Config of %s after version %d", s.tenant, s.want), cur, want)
		history[s.tenant] = append([]apisessions.ConfigVersion{want}, history[s.tenant]...)
	}
	for _, tn := range []string{a.ID, b.ID} {
		hist, err := st.ConfigHistory(ctx, tn)
		must(t, "ConfigHistory", err)
		same(t, "ConfigHistory of "+tn+" newest first", hist, history[tn])
	}
	// The full configuration, read back from the history, is unchanged.
	hist, err = st.ConfigHistory(ctx, a.ID)
	must(t, "ConfigHistory", err)
	if len(hist) != 3 || !reflect.DeepEqual(normAdmin(reflect.ValueOf(hist[1].Config)).Interface(), full) {
		t.Fatalf("full configuration lost fields in a round trip:\n got: %+v\nwant: %+v", hist[1].Config, full)
	}
}

func testAdminConfigConcurrent(t *testing.T, st apisessions.AdminStore) {
	a := mustTenant(t, st, "a")
	const n = 8
	versions := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			cv, err := st.PutConfig(t.Context(), a.ID, apisessions.Config{DayTimezone: fmt.Sprintf("zone-%d", i)}, "w", at(time.Duration(i)*time.Second))
			versions[i], errs[i] = cv.Version, err
		})
	}
	wg.Wait()
	for i, err := range errs {
		must(t, fmt.Sprintf("PutConfig %d", i), err)
	}
	slices.Sort(versions)
	for i, v := range versions {
		if v != i+1 {
			t.Fatalf("concurrent PutConfig versions %v, want 1..%d", versions, n)
		}
	}
	hist, err := st.ConfigHistory(t.Context(), a.ID)
	must(t, "ConfigHistory", err)
	if len(hist) != n {
		t.Fatalf("ConfigHistory holds %d versions, want %d", len(hist), n)
	}
	for i, cv := range hist {
		if cv.Version != n-i {
			t.Fatalf("ConfigHistory versions not newest first: position %d holds %d", i, cv.Version)
		}
	}
}

func newDeny(id, session string, apps []int, until *time.Time, created time.Time) apisessions.DenyEntry {
	return apisessions.DenyEntry{
		ID: id, SessionID: session, Applications: apps, Until: until,
		Reason: "credential stuffing from " + session, AddedBy: "alice", Created: created,
	}
}

func testAdminDenylist(t *testing.T, st apisessions.AdminStore) {
	ctx := t.Context()
	a := mustTenant(t, st, "a")
	now := at(24 * time.Hour)
	got, err := st.Denylist(ctx, a.ID, now)
	must(t, "Denylist before any", err)
	if len(got) != 0 {
		t.Fatalf("Denylist before any: %+v", got)
	}

	forever := newDeny("d-forever", "s1", nil, nil, at(time.Hour))
	later := newDeny("d-later", "s2", []int{3, 1}, new(now.Add(time.Hour)), at(3*time.Hour))
	expired := newDeny("d-expired", "s3", []int{2}, new(now.Add(-time.Hour)), at(2*time.Hour))
	endsNow := newDeny("d-ends-now", "s4", nil, new(now), at(4*time.Hour))
	apps := newDeny("d-apps", "s5", []int{9}, nil, at(2*time.Hour+time.Minute))
	for _, d := range []apisessions.DenyEntry{forever, later, expired, endsNow, apps} {
		must(t, "AddDeny "+d.ID, st.AddDeny(ctx, a.ID, d))
	}
	wantCode(t, "AddDeny with an ID the tenant has", st.AddDeny(ctx, a.ID, newDeny("d-forever", "s9", nil, nil, at(0))), apisessions.ECONFLICT)

	tests := []struct {
		name string
		now  time.Time
		want []apisessions.DenyEntry
	}{
		{"Now", now, []apisessions.DenyEntry{later, apps, forever}},
		{"BeforeAllExpire", now.Add(-2 * time.Hour), []apisessions.DenyEntry{endsNow, later, apps, expired, forever}},
		{"JustBeforeNow", now.Add(-time.Microsecond), []apisessions.DenyEntry{endsNow, later, apps, forever}},
		{"MuchLater", now.Add(1000 * time.Hour), []apisessions.DenyEntry{apps, forever}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.Denylist(t.Context(), a.ID, tt.now)
			must(t, "Denylist", err)
			same(t, "Denylist newest first, in force", got, tt.want)
			for _, d := range got {
				if !d.Active(tt.now) {
					t.Fatalf("entry %s listed but not active at %v", d.ID, tt.now)
				}
			}
		})
	}
}

func testAdminDeleteDeny(t *testing.T, st apisessions.AdminStore) {
	ctx := t.Context()
	a, b := mustTenant(t, st, "a"), mustTenant(t, st, "b")
	da := newDeny("d1", "s1", []int{1}, nil, at(0))
	db := newDeny("d2", "s2", nil, nil, at(time.Second))
	must(t, "AddDeny", st.AddDeny(ctx, a.ID, da))
	must(t, "AddDeny", st.AddDeny(ctx, b.ID, db))
	// The same entry ID in another tenant is another entry.
	dbSame := newDeny("d1", "s3", nil, nil, at(2*time.Second))
	must(t, "AddDeny with another tenant's ID", st.AddDeny(ctx, b.ID, dbSame))

	wantCode(t, "DeleteDeny of another tenant's entry", st.DeleteDeny(ctx, a.ID, "d2"), apisessions.ENOTFOUND)
	wantCode(t, "DeleteDeny of an unknown entry", st.DeleteDeny(ctx, a.ID, "d9"), apisessions.ENOTFOUND)
	got, err := st.Denylist(ctx, b.ID, at(0))
	must(t, "Denylist", err)
	same(t, "b's entries after a refused delete", got, []apisessions.DenyEntry{dbSame, db})

	must(t, "DeleteDeny", st.DeleteDeny(ctx, a.ID, "d1"))
	wantCode(t, "DeleteDeny twice", st.DeleteDeny(ctx, a.ID, "d1"), apisessions.ENOTFOUND)
	got, err = st.Denylist(ctx, a.ID, at(0))
	must(t, "Denylist", err)
	if len(got) != 0 {
		t.Fatalf("deleted entry still listed: %+v", got)
	}
	got, err = st.Denylist(ctx, b.ID, at(0))
	must(t, "Denylist", err)
	same(t, "b's entries after a's delete", got, []apisessions.DenyEntry{dbSame, db})

	// An expired entry still exists until deleted.
	old := newDeny("d-old", "s4", nil, new(at(time.Minute)), at(0))
	must(t, "AddDeny", st.AddDeny(ctx, a.ID, old))
	must(t, "DeleteDeny of an expired entry", st.DeleteDeny(ctx, a.ID, old.ID))
	got, err = st.Denylist(ctx, a.ID, at(0))
	must(t, "Denylist", err)
	if len(got) != 0 {
		t.Fatalf("deleted entry still listed: %+v", got)
	}
}

func testAdminNodes(t *testing.T, st apisessions.AdminStore) {
	ctx := t.Context()
	a, b := mustTenant(t, st, "a"), mustTenant(t, st, "b")
	got, err := st.Nodes(ctx, a.ID)
	must(t, "Nodes before any", err)
	if len(got) != 0 {
		t.Fatalf("Nodes before any: %+v", got)
	}
	touches := []struct {
		tenant string
		n      apisessions.Node
	}{
		{a.ID, apisessions.Node{Name: "web-2", Version: "1.0.0", LastSeen: at(0), Batches: 1, Records: 100, Rejects: 2}},
		{a.ID, apisessions.Node{Name: "web-1", Version: "1.0.0", LastSeen: at(time.Second), Batches: 1, Records: 7}},
		{b.ID, apisessions.Node{Name: "web-2", Version: "0.9.0", LastSeen: at(time.Second), Batches: 5, Records: 5, Rejects: 5}},
		{a.ID, apisessions.Node{Name: "web-2", Version: "1.1.0", LastSeen: at(time.Minute), Batches: 2, Records: 50}},
		// A touch that only counts a reject.
		{a.ID, apisessions.Node{Name: "web-2", Version: "1.1.1", LastSeen: at(time.Hour), Rejects: 1}},
	}
	for _, tt := range touches {
		must(t, "TouchNode", st.TouchNode(ctx, tt.tenant, tt.n))
	}
	got, err = st.Nodes(ctx, a.ID)
	must(t, "Nodes", err)
	same(t, "Nodes of a by name, counts added", got, []apisessions.Node{
		{Name: "web-1", Version: "1.0.0", LastSeen: at(time.Second), Batches: 1, Records: 7},
		{Name: "web-2", Version: "1.1.1", LastSeen: at(time.Hour), Batches: 3, Records: 150, Rejects: 3},
	})
	got, err = st.Nodes(ctx, b.ID)
	must(t, "Nodes", err)
	same(t, "Nodes of b", got, []apisessions.Node{touches[2].n})
}

func testAdminNodesConcurrent(t *testing.T, st apisessions.AdminStore) {
	a := mustTenant(t, st, "a")
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = st.TouchNode(t.Context(), a.ID, apisessions.Node{Name: "web", Version: "1", LastSeen: at(0), Batches: 1, Records: int64(i + 1)})
		})
	}
	wg.Wait()
	for i, err := range errs {
		must(t, fmt.Sprintf("TouchNode %d", i), err)
	}
	got, err := st.Nodes(t.Context(), a.ID)
	must(t, "Nodes", err)
	same(t, "Nodes after concurrent touches", got, []apisessions.Node{
		{Name: "web", Version: "1", LastSeen: at(0), Batches: n, Records: n * (n + 1) / 2},
	})
}

func testAdminBatches(t *testing.T, st apisessions.AdminStore) {
	ctx := t.Context()
	a, b := mustTenant(t, st, "a"), mustTenant(t, st, "b")
	seen := func(tenant, id string, want bool) {
		t.Helper()
		got, err := st.BatchSeen(ctx, tenant, id)
		must(t, "BatchSeen", err)
		if got != want {
			t.Fatalf("BatchSeen(%s, %s) = %v, want %v", tenant, id, got, want)
		}
	}
	seen(a.ID, "b1", false)
	must(t, "MarkBatch", st.MarkBatch(ctx, a.ID, "b1", at(0)))
	must(t, "MarkBatch twice", st.MarkBatch(ctx, a.ID, "b1", at(0)))
	must(t, "MarkBatch", st.MarkBatch(ctx, a.ID, "b2", at(2*time.Hour)))
	must(t, "MarkBatch", st.MarkBatch(ctx, b.ID, "b3", at(0)))
	seen(a.ID, "b1", true)
	seen(a.ID, "b2", true)
	seen(b.ID, "b1", false)
	seen(a.ID, "b3", false)
	seen(b.ID, "b3", true)

	// Strictly before: b2, marked at the cut, stays.
	must(t, "ForgetBatches", st.ForgetBatches(ctx, at(2*time.Hour)))
	seen(a.ID, "b1", false)
	seen(b.ID, "b3", false)
	seen(a.ID, "b2", true)
	must(t, "MarkBatch of a forgotten batch", st.MarkBatch(ctx, a.ID, "b1", at(3*time.Hour)))
	seen(a.ID, "b1", true)
	must(t, "ForgetBatches with nothing to forget", st.ForgetBatches(ctx, at(-time.Hour)))
	seen(a.ID, "b1", true)
}

// testAdminIsolation gives tenant a one of everything and checks that tenant
// b, whose IDs and names are the same wherever a tenant may reuse them, sees
// and changes none of it.
func testAdminIsolation(t *testing.T, st apisessions.AdminStore) {
	ctx := t.Context()
	a, b := mustTenant(t, st, "a"), mustTenant(t, st, "b")
	u := newUser(a.ID, "amy", apisessions.RoleAdmin, at(0))
	tk := newToken(a.ID, "ci", apisessions.RoleNode, at(0))
	d := newDeny("d1", "s1", nil, nil, at(0))
	must(t, "CreateUser", st.CreateUser(ctx, u))
	must(t, "CreateToken", st.CreateToken(ctx, tk))
	_, err := st.PutConfig(ctx, a.ID, FullConfig(), "amy", at(0))
	must(t, "PutConfig", err)
	must(t, "AddDeny", st.AddDeny(ctx, a.ID, d))
	must(t, "TouchNode", st.TouchNode(ctx, a.ID, apisessions.Node{Name: "web", Version: "1", LastSeen: at(0), Batches: 1}))
	must(t, "MarkBatch", st.MarkBatch(ctx, a.ID, "batch", at(0)))

	checks := []struct {
		name string
		fn   func() error
	}{
		{"UserByName", func() error {
			_, err := st.UserByName(ctx, b.ID, u.Name)
			return wantErr(err, apisessions.ENOTFOUND)
		}},
		{"Users", func() error { return wantNone(st.Users(ctx, b.ID)) }},
		{"Tokens", func() error { return wantNone(st.Tokens(ctx, b.ID)) }},
		{"RevokeToken", func() error {
			return wantErr(st.RevokeToken(ctx, b.ID, tk.ID, at(time.Hour)), apisessions.ENOTFOUND)
		}},
		{"Config", func() error {
			_, err := st.Config(ctx, b.ID)
			return wantErr(err, apisessions.ENOTFOUND)
		}},
		{"ConfigHistory", func() error { return wantNone(st.ConfigHistory(ctx, b.ID)) }},
		{"Denylist", func() error { return wantNone(st.Denylist(ctx, b.ID, at(0))) }},
		{"DeleteDeny", func() error { return wantErr(st.DeleteDeny(ctx, b.ID, d.ID), apisessions.ENOTFOUND) }},
		{"Nodes", func() error { return wantNone(st.Nodes(ctx, b.ID)) }},
		{"BatchSeen", func() error { return wantUnseen(st.BatchSeen(ctx, b.ID, "batch")) }},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if err := c.fn(); err != nil {
				t.Fatalf("tenant b: %v", err)
			}
		})
	}

	// Nothing of a changed.
	got, err := st.TokenByHash(ctx, tk.Hash)
	must(t, "TokenByHash", err)
	same(t, "a's token after b's revocation attempt", got, tk)
	ds, err := st.Denylist(ctx, a.ID, at(0))
	must(t, "Denylist", err)
	same(t, "a's denylist after b's delete attempt", ds, []apisessions.DenyEntry{d})
	// b's writes under the same names land in b only.
	_, err = st.PutConfig(ctx, b.ID, apisessions.Config{}, "bob", at(time.Hour))
	must(t, "PutConfig", err)
	cur, err := st.Config(ctx, a.ID)
	must(t, "Config", err)
	if cur.Version != 1 || cur.Author != "amy" {
		t.Fatalf("a's configuration changed by b's: version %d by %q", cur.Version, cur.Author)
	}
	must(t, "CreateUser of b with a's user name", st.CreateUser(ctx, newUser(b.ID, u.Name, apisessions.RoleAnalyst, at(0))))
	ua, err := st.UserByName(ctx, a.ID, u.Name)
	must(t, "UserByName", err)
	same(t, "a's user after b's namesake", ua, u)
}

func wantErr(err error, code string) error {
	if got := apisessions.ErrorCode(err); got != code {
		return fmt.Errorf("error %v (code %q), want code %q", err, got, code)
	}
	return nil
}

// wantUnseen checks a BatchSeen answer that must be false.
func wantUnseen(seen bool, err error) error {
	if err != nil || seen {
		return fmt.Errorf("BatchSeen = %v, %v; want false", seen, err)
	}
	return nil
}

func wantNone[T any](list []T, err error) error {
	if err != nil {
		return err
	}
	if len(list) != 0 {
		return fmt.Errorf("sees %d items: %+v", len(list), list)
	}
	return nil
}

func testAdminNodesOutOfOrder(t *testing.T, st apisessions.AdminStore) {
	ctx := t.Context()
	a := mustTenant(t, st, "a")
	for _, n := range []apisessions.Node{
		{Name: "web", Version: "2.0", LastSeen: at(time.Hour), Batches: 1, Records: 10},
		// A report of an ingest that finished later but began earlier.
		{Name: "web", Version: "1.9", LastSeen: at(time.Minute), Batches: 1, Records: 5, Rejects: 1},
	} {
		must(t, "TouchNode", st.TouchNode(ctx, a.ID, n))
	}
	got, err := st.Nodes(ctx, a.ID)
	must(t, "Nodes", err)
	same(t, "Nodes after an older report", got, []apisessions.Node{
		{Name: "web", Version: "2.0", LastSeen: at(time.Hour), Batches: 2, Records: 15, Rejects: 1},
	})
}

func testAdminNodeOverflow(t *testing.T, st apisessions.AdminStore) {
	ctx := t.Context()
	a := mustTenant(t, st, "a")
	const maxInt64 = 1<<63 - 1
	full := apisessions.Node{Name: "web", Version: "1", LastSeen: at(0), Batches: 1, Records: maxInt64 - 1}
	must(t, "TouchNode", st.TouchNode(ctx, a.ID, full))
	more := apisessions.Node{Name: "web", Version: "2", LastSeen: at(time.Hour), Batches: 1, Records: 2}
	wantCode(t, "TouchNode overflowing the records", st.TouchNode(ctx, a.ID, more), apisessions.EINVALID)
	got, err := st.Nodes(ctx, a.ID)
	must(t, "Nodes", err)
	same(t, "Nodes after a refused touch", got, []apisessions.Node{full})
	must(t, "TouchNode up to the maximum", st.TouchNode(ctx, a.ID, apisessions.Node{Name: "web", Version: "1", LastSeen: at(0), Records: 1}))
	got, err = st.Nodes(ctx, a.ID)
	must(t, "Nodes", err)
	if len(got) != 1 || got[0].Records != maxInt64 {
		t.Fatalf("Nodes %+v, want records %d", got, int64(maxInt64))
	}
}

// testAdminBadInput checks that what a store cannot keep, or should not, is
// EINVALID and stores nothing.
func testAdminBadInput(t *testing.T, st apisessions.AdminStore) {
	a := mustTenant(t, st, "a")
	far := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	early := time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)
	var zero time.Time
	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"TenantCreatedTooLate", func(ctx context.Context) error {
			return st.CreateTenant(ctx, apisessions.Tenant{ID: "t", Name: "n", Created: far})
		}},
		{"TenantCreatedTooEarly", func(ctx context.Context) error {
			return st.CreateTenant(ctx, apisessions.Tenant{ID: "t", Name: "n", Created: early})
		}},
		{"UserEmptyName", func(ctx context.Context) error {
			return st.CreateUser(ctx, apisessions.User{ID: "u", Tenant: a.ID, Role: apisessions.RoleAdmin, Created: at(0)})
		}},
		{"TokenEmptyHash", func(ctx context.Context) error {
			return st.CreateToken(ctx, apisessions.Token{ID: "k", Tenant: a.ID, Role: apisessions.RoleNode, Created: at(0)})
		}},
		{"TokenRevokedZero", func(ctx context.Context) error {
			return st.CreateToken(ctx, apisessions.Token{ID: "k", Tenant: a.ID, Role: apisessions.RoleNode, Hash: "h", Created: at(0), Revoked: &zero})
		}},
		{"RevokeAtZero", func(ctx context.Context) error { return st.RevokeToken(ctx, a.ID, "k", zero) }},
		{"ConfigEmptyTenant", func(ctx context.Context) error {
			_, err := st.PutConfig(ctx, "", apisessions.Config{}, "amy", at(0))
			return err
		}},
		{"ConfigTooLate", func(ctx context.Context) error {
			_, err := st.PutConfig(ctx, a.ID, apisessions.Config{}, "amy", far)
			return err
		}},
		{"DenyEmptySession", func(ctx context.Context) error {
			return st.AddDeny(ctx, a.ID, apisessions.DenyEntry{ID: "d", Created: at(0)})
		}},
		{"DenyUntilZero", func(ctx context.Context) error {
			return st.AddDeny(ctx, a.ID, apisessions.DenyEntry{ID: "d", SessionID: "s", Until: &zero, Created: at(0)})
		}},
		{"DenyUntilTooLate", func(ctx context.Context) error {
			return st.AddDeny(ctx, a.ID, apisessions.DenyEntry{ID: "d", SessionID: "s", Until: &far, Created: at(0)})
		}},
		{"NodeEmptyName", func(ctx context.Context) error {
			return st.TouchNode(ctx, a.ID, apisessions.Node{LastSeen: at(0), Batches: 1})
		}},
		{"NodeNegativeRecords", func(ctx context.Context) error {
			return st.TouchNode(ctx, a.ID, apisessions.Node{Name: "web", LastSeen: at(0), Records: -1})
		}},
		{"BatchZeroTime", func(ctx context.Context) error { return st.MarkBatch(ctx, a.ID, "b", zero) }},
		{"BatchEmptyID", func(ctx context.Context) error { return st.MarkBatch(ctx, a.ID, "", at(0)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.name, tt.call(t.Context()), apisessions.EINVALID)
		})
	}

	ctx := t.Context()
	tenants, err := st.Tenants(ctx)
	must(t, "Tenants", err)
	same(t, "Tenants after refused creations", tenants, []apisessions.Tenant{a})
	checks := []struct {
		name string
		fn   func() error
	}{
		{"Users", func() error { return wantNone(st.Users(ctx, a.ID)) }},
		{"Tokens", func() error { return wantNone(st.Tokens(ctx, a.ID)) }},
		{"ConfigHistory", func() error { return wantNone(st.ConfigHistory(ctx, a.ID)) }},
		{"ConfigHistoryEmptyTenant", func() error { return wantNone(st.ConfigHistory(ctx, "")) }},
		{"Denylist", func() error { return wantNone(st.Denylist(ctx, a.ID, at(0))) }},
		{"Nodes", func() error { return wantNone(st.Nodes(ctx, a.ID)) }},
		{"BatchSeen", func() error { return wantUnseen(st.BatchSeen(ctx, a.ID, "b")) }},
	}
	for _, c := range checks {
		if err := c.fn(); err != nil {
			t.Fatalf("%s after refused input: %v", c.name, err)
		}
	}

	// Times a lookup compares with may be anything: far ends compare like
	// the ends of the range.
	must(t, "AddDeny", st.AddDeny(ctx, a.ID, newDeny("d1", "s1", nil, new(at(time.Hour)), at(0))))
	must(t, "AddDeny", st.AddDeny(ctx, a.ID, newDeny("d2", "s2", nil, nil, at(time.Second))))
	ds, err := st.Denylist(ctx, a.ID, far)
	must(t, "Denylist at a far time", err)
	if len(ds) != 1 || ds[0].ID != "d2" {
		t.Fatalf("Denylist far in the future: %+v, want only the entry without end", ds)
	}
	ds, err = st.Denylist(ctx, a.ID, zero)
	must(t, "Denylist at the zero time", err)
	if len(ds) != 2 {
		t.Fatalf("Denylist at the zero time: %d entries, want 2", len(ds))
	}
	must(t, "MarkBatch", st.MarkBatch(ctx, a.ID, "b", at(0)))
	must(t, "ForgetBatches at the zero time", st.ForgetBatches(ctx, zero))
	seen, err := st.BatchSeen(ctx, a.ID, "b")
	if err != nil || !seen {
		t.Fatalf("batch forgotten by ForgetBatches(zero time): seen %v, %v", seen, err)
	}
	must(t, "ForgetBatches at a far time", st.ForgetBatches(ctx, far))
	seen, err = st.BatchSeen(ctx, a.ID, "b")
	if err != nil || seen {
		t.Fatalf("batch kept by ForgetBatches(far time): seen %v, %v", seen, err)
	}
}

// testAdminZeroTimes checks that times a caller may leave unset read back as
// the zero time.
func testAdminZeroTimes(t *testing.T, st apisessions.AdminStore) {
	ctx := t.Context()
	tn := newTenant("a", time.Time{})
	must(t, "CreateTenant", st.CreateTenant(ctx, tn))
	gotT, err := st.TenantByID(ctx, tn.ID)
	must(t, "TenantByID", err)
	same(t, "tenant created at the zero time", gotT, tn)

	u := newUser(tn.ID, "amy", apisessions.RoleAdmin, time.Time{})
	must(t, "CreateUser", st.CreateUser(ctx, u))
	gotU, err := st.UserByName(ctx, tn.ID, u.Name)
	must(t, "UserByName", err)
	same(t, "user created at the zero time", gotU, u)

	tk := newToken(tn.ID, "ci", apisessions.RoleNode, time.Time{})
	must(t, "CreateToken", st.CreateToken(ctx, tk))
	gotK, err := st.TokenByHash(ctx, tk.Hash)
	must(t, "TokenByHash", err)
	same(t, "token created at the zero time", gotK, tk)

	cv, err := st.PutConfig(ctx, tn.ID, apisessions.Config{}, "amy", time.Time{})
	must(t, "PutConfig", err)
	gotC, err := st.Config(ctx, tn.ID)
	must(t, "Config", err)
	same(t, "configuration saved at the zero time", gotC, cv)

	d := newDeny("d1", "s1", nil, nil, time.Time{})
	must(t, "AddDeny", st.AddDeny(ctx, tn.ID, d))
	gotD, err := st.Denylist(ctx, tn.ID, at(0))
	must(t, "Denylist", err)
	same(t, "entry created at the zero time", gotD, []apisessions.DenyEntry{d})

	n := apisessions.Node{Name: "web", Version: "1", Batches: 1}
	must(t, "TouchNode", st.TouchNode(ctx, tn.ID, n))
	gotN, err := st.Nodes(ctx, tn.ID)
	must(t, "Nodes", err)
	same(t, "node never seen at a time", gotN, []apisessions.Node{n})

	// A login without expiry is expired: it never authenticates.
	must(t, "CreateLogin", st.CreateLogin(ctx, apisessions.Login{Hash: "h", Tenant: tn.ID, UserID: u.ID, Role: u.Role, CSRF: "c"}))
	_, err = st.LoginByHash(ctx, "h", at(0))
	wantCode(t, "LoginByHash of a login without expiry", err, apisessions.ENOTFOUND)
}
