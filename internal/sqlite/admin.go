package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/apisessions/apisessions"
)

var _ apisessions.AdminStore = (*Store)(nil)

// The admin tables are small and written rarely (but for nodes and batches,
// once per ingested batch), so every write is one statement on the writer
// under wmu, and conflicts are detected with ON CONFLICT DO NOTHING and the
// count of changed rows rather than by decoding driver errors.

// adminExec runs one write statement and returns the rows it changed.
func (s *Store) adminExec(ctx context.Context, what, query string, args ...any) (int64, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	res, err := s.writer.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return n, nil
}

// nanoRange is the range of times a Unix nanosecond count holds (years 1678
// to 2262).
func nanoRange() (lo, hi time.Time) { return time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64) }

// optionalNS is t as stored: Unix nanoseconds, nil (NULL) for the zero
// time, so that it reads back as the zero time. A time outside the range is
// EINVALID rather than wrapped around.
func optionalNS(what string, t time.Time) (*int64, error) {
	if t.IsZero() {
		return nil, nil
	}
	if lo, hi := nanoRange(); t.Before(lo) || t.After(hi) {
		return nil, apisessions.Errorf(apisessions.EINVALID, "%s out of range (years 1678 to 2262)", what)
	}
	return new(t.UnixNano()), nil
}

// requiredNS is optionalNS for a time that must be set.
func requiredNS(what string, t time.Time) (int64, error) {
	if t.IsZero() {
		return 0, apisessions.Errorf(apisessions.EINVALID, "%s is not set", what)
	}
	ns, err := optionalNS(what, t)
	if err != nil {
		return 0, err
	}
	return *ns, nil
}

// clampNS is a time a query compares with: one outside the range compares
// like the nearest end of it.
func clampNS(t time.Time) int64 {
	lo, hi := nanoRange()
	switch {
	case t.Before(lo):
		return math.MinInt64
	case t.After(hi):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// timeOf is the inverse of optionalNS, in UTC.
func timeOf(ns sql.NullInt64) time.Time {
	if !ns.Valid {
		return time.Time{}
	}
	return time.Unix(0, ns.Int64).UTC()
}

// required returns EINVALID for the first pair (name, value) whose value is
// empty: keys the store finds rows by.
func required(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return apisessions.Errorf(apisessions.EINVALID, "%s is empty", pairs[i])
		}
	}
	return nil
}

func checkRole(r apisessions.Role) error {
	if !r.Valid() {
		return apisessions.Errorf(apisessions.EINVALID, "unknown role %q", r)
	}
	return nil
}

func notFoundErr(what string) error {
	return apisessions.Errorf(apisessions.ENOTFOUND, "no such %s", what)
}

// CreateTenant adds a tenant; see apisessions.AdminStore.
func (s *Store) CreateTenant(ctx context.Context, t apisessions.Tenant) error {
	if err := required("tenant ID", t.ID, "tenant name", t.Name); err != nil {
		return err
	}
	created, err := optionalNS("created", t.Created)
	if err != nil {
		return err
	}
	secret := t.Secret
	if secret == nil {
		secret = []byte{}
	}
	n, err := s.adminExec(ctx, "create tenant",
		`INSERT INTO admin_tenants (id, name, created_ns, secret) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		t.ID, t.Name, created, secret)
	if err != nil {
		return err
	}
	if n == 0 {
		return apisessions.Errorf(apisessions.ECONFLICT, "tenant %q exists", t.Name)
	}
	return nil
}

const tenantColumns = `id, name, created_ns, secret`

func scanTenant(sc interface{ Scan(...any) error }) (apisessions.Tenant, error) {
	var t apisessions.Tenant
	var created sql.NullInt64
	if err := sc.Scan(&t.ID, &t.Name, &created, &t.Secret); err != nil {
		return apisessions.Tenant{}, err
	}
	t.Created = timeOf(created)
	return t, nil
}

func (s *Store) tenantWhere(ctx context.Context, column, value string) (apisessions.Tenant, error) {
	t, err := scanTenant(s.reader.QueryRowContext(ctx,
		`SELECT `+tenantColumns+` FROM admin_tenants WHERE `+column+` = ?`, value))
	if errors.Is(err, sql.ErrNoRows) {
		return apisessions.Tenant{}, notFoundErr("tenant")
	}
	if err != nil {
		return apisessions.Tenant{}, fmt.Errorf("tenant: %w", err)
	}
	return t, nil
}

// TenantByName returns a tenant; see apisessions.AdminStore.
func (s *Store) TenantByName(ctx context.Context, name string) (apisessions.Tenant, error) {
	return s.tenantWhere(ctx, "name", name)
}

// TenantByID returns a tenant; see apisessions.AdminStore.
func (s *Store) TenantByID(ctx context.Context, id string) (apisessions.Tenant, error) {
	return s.tenantWhere(ctx, "id", id)
}

// Tenants lists every tenant by name; see apisessions.AdminStore.
func (s *Store) Tenants(ctx context.Context) ([]apisessions.Tenant, error) {
	return queryList(ctx, s, "tenants", scanTenant,
		`SELECT `+tenantColumns+` FROM admin_tenants ORDER BY name`)
}

// queryList runs a query on the readers and scans every row with scan.
func queryList[T any](ctx context.Context, s *Store, what string, scan func(interface{ Scan(...any) error }) (T, error), query string, args ...any) ([]T, error) {
	rows, err := s.reader.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// CreateUser adds a user; see apisessions.AdminStore.
func (s *Store) CreateUser(ctx context.Context, u apisessions.User) error {
	if err := required("user ID", u.ID, "tenant ID", u.Tenant, "user name", u.Name); err != nil {
		return err
	}
	if err := checkRole(u.Role); err != nil {
		return err
	}
	created, err := optionalNS("created", u.Created)
	if err != nil {
		return err
	}
	n, err := s.adminExec(ctx, "create user",
		`INSERT INTO users (id, tenant, name, role, password_hash, created_ns) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`,
		u.ID, u.Tenant, u.Name, string(u.Role), u.PasswordHash, created)
	if err != nil {
		return err
	}
	if n == 0 {
		return apisessions.Errorf(apisessions.ECONFLICT, "user %q exists", u.Name)
	}
	return nil
}

const userColumns = `id, tenant, name, role, password_hash, created_ns`

func scanUser(sc interface{ Scan(...any) error }) (apisessions.User, error) {
	var u apisessions.User
	var created sql.NullInt64
	if err := sc.Scan(&u.ID, &u.Tenant, &u.Name, &u.Role, &u.PasswordHash, &created); err != nil {
		return apisessions.User{}, err
	}
	u.Created = timeOf(created)
	return u, nil
}

// UserByName returns a user of the tenant; see apisessions.AdminStore.
func (s *Store) UserByName(ctx context.Context, tenant, name string) (apisessions.User, error) {
	u, err := scanUser(s.reader.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE tenant = ? AND name = ?`, tenant, name))
	if errors.Is(err, sql.ErrNoRows) {
		return apisessions.User{}, notFoundErr("user")
	}
	if err != nil {
		return apisessions.User{}, fmt.Errorf("user: %w", err)
	}
	return u, nil
}

// Users lists the tenant's users by name; see apisessions.AdminStore.
func (s *Store) Users(ctx context.Context, tenant string) ([]apisessions.User, error) {
	return queryList(ctx, s, "users", scanUser,
		`SELECT `+userColumns+` FROM users WHERE tenant = ? ORDER BY name`, tenant)
}

// CreateToken adds a token; see apisessions.AdminStore.
func (s *Store) CreateToken(ctx context.Context, t apisessions.Token) error {
	if err := required("token ID", t.ID, "tenant ID", t.Tenant, "token hash", t.Hash); err != nil {
		return err
	}
	if err := checkRole(t.Role); err != nil {
		return err
	}
	created, err := optionalNS("created", t.Created)
	if err != nil {
		return err
	}
	var revoked *int64
	if t.Revoked != nil {
		ns, err := requiredNS("revoked", *t.Revoked)
		if err != nil {
			return err
		}
		revoked = &ns
	}
	n, err := s.adminExec(ctx, "create token",
		`INSERT INTO tokens (id, tenant, name, role, hash, created_ns, revoked_ns) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`,
		t.ID, t.Tenant, t.Name, string(t.Role), t.Hash, created, revoked)
	if err != nil {
		return err
	}
	if n == 0 {
		return apisessions.Errorf(apisessions.ECONFLICT, "token exists")
	}
	return nil
}

const tokenColumns = `id, tenant, name, role, hash, created_ns, revoked_ns`

func scanToken(sc interface{ Scan(...any) error }) (apisessions.Token, error) {
	var t apisessions.Token
	var created, revoked sql.NullInt64
	if err := sc.Scan(&t.ID, &t.Tenant, &t.Name, &t.Role, &t.Hash, &created, &revoked); err != nil {
		return apisessions.Token{}, err
	}
	t.Created = timeOf(created)
	if revoked.Valid {
		t.Revoked = new(timeOf(revoked))
	}
	return t, nil
}

// TokenByHash returns the token with that hash; see apisessions.AdminStore.
func (s *Store) TokenByHash(ctx context.Context, hash string) (apisessions.Token, error) {
	t, err := scanToken(s.reader.QueryRowContext(ctx,
		`SELECT `+tokenColumns+` FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return apisessions.Token{}, notFoundErr("token")
	}
	if err != nil {
		return apisessions.Token{}, fmt.Errorf("token: %w", err)
	}
	return t, nil
}

// Tokens lists the tenant's tokens, newest first; see apisessions.AdminStore.
func (s *Store) Tokens(ctx context.Context, tenant string) ([]apisessions.Token, error) {
	return queryList(ctx, s, "tokens", scanToken,
		`SELECT `+tokenColumns+` FROM tokens WHERE tenant = ? ORDER BY created_ns DESC, id DESC`, tenant)
}

// RevokeToken revokes a token; see apisessions.AdminStore.
func (s *Store) RevokeToken(ctx context.Context, tenant, id string, at time.Time) error {
	ns, err := requiredNS("revocation time", at)
	if err != nil {
		return err
	}
	// SQLite counts a matched row as changed even when coalesce keeps its
	// value, so a second revocation is found, not ENOTFOUND.
	n, err := s.adminExec(ctx, "revoke token",
		`UPDATE tokens SET revoked_ns = coalesce(revoked_ns, ?) WHERE id = ? AND (? = '' OR tenant = ?)`,
		ns, id, tenant, tenant)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFoundErr("token")
	}
	return nil
}

// CreateLogin stores a console login; see apisessions.AdminStore.
func (s *Store) CreateLogin(ctx context.Context, l apisessions.Login) error {
	if err := required("login hash", l.Hash, "tenant ID", l.Tenant, "user ID", l.UserID); err != nil {
		return err
	}
	if err := checkRole(l.Role); err != nil {
		return err
	}
	expires, err := optionalNS("expiry", l.Expires)
	if err != nil {
		return err
	}
	n, err := s.adminExec(ctx, "create login",
		`INSERT INTO logins (hash, tenant, user_id, role, csrf, expires_ns) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`,
		l.Hash, l.Tenant, l.UserID, string(l.Role), l.CSRF, expires)
	if err != nil {
		return err
	}
	if n == 0 {
		return apisessions.Errorf(apisessions.ECONFLICT, "login exists")
	}
	return nil
}

// LoginByHash returns an unexpired login; see apisessions.AdminStore.
func (s *Store) LoginByHash(ctx context.Context, hash string, now time.Time) (apisessions.Login, error) {
	var l apisessions.Login
	var expires sql.NullInt64
	err := s.reader.QueryRowContext(ctx,
		`SELECT hash, tenant, user_id, role, csrf, expires_ns FROM logins WHERE hash = ? AND expires_ns > ?`,
		hash, clampNS(now)).Scan(&l.Hash, &l.Tenant, &l.UserID, &l.Role, &l.CSRF, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return apisessions.Login{}, notFoundErr("login")
	}
	if err != nil {
		return apisessions.Login{}, fmt.Errorf("login: %w", err)
	}
	l.Expires = timeOf(expires)
	return l, nil
}

// DeleteLogin removes a login; see apisessions.AdminStore.
func (s *Store) DeleteLogin(ctx context.Context, hash string) error {
	_, err := s.adminExec(ctx, "delete login", `DELETE FROM logins WHERE hash = ?`, hash)
	return err
}

// PutConfig saves a new configuration version; see apisessions.AdminStore.
func (s *Store) PutConfig(ctx context.Context, tenant string, cfg apisessions.Config, author string, at time.Time) (apisessions.ConfigVersion, error) {
	if err := required("tenant ID", tenant); err != nil {
		return apisessions.ConfigVersion{}, err
	}
	created, err := optionalNS("time", at)
	if err != nil {
		return apisessions.ConfigVersion{}, err
	}
	body, err := json.Marshal(cfg)
	if err != nil {
		return apisessions.ConfigVersion{}, fmt.Errorf("put config: %w", err)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	// One statement numbers and inserts the version, so two saves never
	// take the same number.
	var version int
	err = s.writer.QueryRowContext(ctx,
		`INSERT INTO configs (tenant, version, config, author, created_ns)
		SELECT ?, coalesce(max(version), 0) + 1, ?, ?, ? FROM configs WHERE tenant = ?
		RETURNING version`,
		tenant, string(body), author, created, tenant).Scan(&version)
	if err != nil {
		return apisessions.ConfigVersion{}, fmt.Errorf("put config: %w", err)
	}
	return apisessions.ConfigVersion{Version: version, Config: cfg, Author: author, Created: at}, nil
}

const configColumns = `version, config, author, created_ns`

func scanConfig(sc interface{ Scan(...any) error }) (apisessions.ConfigVersion, error) {
	var cv apisessions.ConfigVersion
	var body string
	var created sql.NullInt64
	if err := sc.Scan(&cv.Version, &body, &cv.Author, &created); err != nil {
		return apisessions.ConfigVersion{}, err
	}
	if err := json.Unmarshal([]byte(body), &cv.Config); err != nil {
		return apisessions.ConfigVersion{}, fmt.Errorf("config version %d: %w", cv.Version, err)
	}
	cv.Created = timeOf(created)
	return cv, nil
}

// Config returns the current configuration; see apisessions.AdminStore.
func (s *Store) Config(ctx context.Context, tenant string) (apisessions.ConfigVersion, error) {
	cv, err := scanConfig(s.reader.QueryRowContext(ctx,
		`SELECT `+configColumns+` FROM configs WHERE tenant = ? ORDER BY version DESC LIMIT 1`, tenant))
	if errors.Is(err, sql.ErrNoRows) {
		return apisessions.ConfigVersion{}, notFoundErr("configuration")
	}
	if err != nil {
		return apisessions.ConfigVersion{}, fmt.Errorf("config: %w", err)
	}
	return cv, nil
}

// ConfigHistory lists the configuration versions, newest first; see
// apisessions.AdminStore.
func (s *Store) ConfigHistory(ctx context.Context, tenant string) ([]apisessions.ConfigVersion, error) {
	return queryList(ctx, s, "config history", scanConfig,
		`SELECT `+configColumns+` FROM configs WHERE tenant = ? ORDER BY version DESC`, tenant)
}

// AddDeny adds a denylist entry; see apisessions.AdminStore. An ID the
// tenant already has is ECONFLICT.
func (s *Store) AddDeny(ctx context.Context, tenant string, d apisessions.DenyEntry) error {
	if err := required("tenant ID", tenant, "entry ID", d.ID, "session ID", d.SessionID); err != nil {
		return err
	}
	created, err := optionalNS("created", d.Created)
	if err != nil {
		return err
	}
	var apps *string
	if len(d.Applications) > 0 {
		b, err := json.Marshal(d.Applications)
		if err != nil {
			return fmt.Errorf("add deny: %w", err)
		}
		apps = new(string(b))
	}
	var until *int64
	if d.Until != nil {
		ns, err := requiredNS("until", *d.Until)
		if err != nil {
			return err
		}
		until = &ns
	}
	n, err := s.adminExec(ctx, "add deny",
		`INSERT INTO denylist (tenant, id, session, applications, until_ns, reason, added_by, created_ns)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		tenant, d.ID, d.SessionID, apps, until, d.Reason, d.AddedBy, created)
	if err != nil {
		return err
	}
	if n == 0 {
		return apisessions.Errorf(apisessions.ECONFLICT, "denylist entry %q exists", d.ID)
	}
	return nil
}

func scanDeny(sc interface{ Scan(...any) error }) (apisessions.DenyEntry, error) {
	var d apisessions.DenyEntry
	var apps sql.NullString
	var until, created sql.NullInt64
	if err := sc.Scan(&d.ID, &d.SessionID, &apps, &until, &d.Reason, &d.AddedBy, &created); err != nil {
		return apisessions.DenyEntry{}, err
	}
	if apps.Valid {
		if err := json.Unmarshal([]byte(apps.String), &d.Applications); err != nil {
			return apisessions.DenyEntry{}, fmt.Errorf("denylist entry applications: %w", err)
		}
	}
	if until.Valid {
		d.Until = new(timeOf(until))
	}
	d.Created = timeOf(created)
	return d, nil
}

// Denylist returns the entries in force at now, newest first; see
// apisessions.AdminStore.
func (s *Store) Denylist(ctx context.Context, tenant string, now time.Time) ([]apisessions.DenyEntry, error) {
	return queryList(ctx, s, "denylist", scanDeny,
		`SELECT id, session, applications, until_ns, reason, added_by, created_ns FROM denylist
		WHERE tenant = ? AND (until_ns IS NULL OR until_ns > ?)
		ORDER BY created_ns DESC, id DESC`, tenant, clampNS(now))
}

// DeleteDeny removes a denylist entry; see apisessions.AdminStore.
func (s *Store) DeleteDeny(ctx context.Context, tenant, id string) error {
	n, err := s.adminExec(ctx, "delete deny", `DELETE FROM denylist WHERE tenant = ? AND id = ?`, tenant, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFoundErr("denylist entry")
	}
	return nil
}

// TouchNode adds to a node's counts; see apisessions.AdminStore. Reports
// of concurrent ingests can arrive out of order, so the last seen time only
// moves forward and the version is the one of the latest report. Negative
// counts, and counts whose totals would overflow, are EINVALID.
func (s *Store) TouchNode(ctx context.Context, tenant string, n apisessions.Node) error {
	if err := required("tenant ID", tenant, "node name", n.Name); err != nil {
		return err
	}
	if n.Batches < 0 || n.Records < 0 || n.Rejects < 0 {
		return apisessions.Errorf(apisessions.EINVALID, "node counts must not be negative")
	}
	seen, err := optionalNS("last seen", n.LastSeen)
	if err != nil {
		return err
	}
	// SQLite turns an overflowing integer sum into a float, so the WHERE
	// refuses an update that would overflow: no row changes then. NULL (the
	// zero time) compares below every time, as max() would not have it.
	changed, err := s.adminExec(ctx, "touch node",
		`INSERT INTO nodes (tenant, name, version, last_seen_ns, batches, records, rejects) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant, name) DO UPDATE SET
			version = CASE WHEN last_seen_ns IS NULL OR excluded.last_seen_ns >= last_seen_ns
				THEN excluded.version ELSE version END,
			last_seen_ns = CASE WHEN last_seen_ns IS NULL OR excluded.last_seen_ns >= last_seen_ns
				THEN excluded.last_seen_ns ELSE last_seen_ns END,
			batches = batches + excluded.batches, records = records + excluded.records,
			rejects = rejects + excluded.rejects
		WHERE batches <= 9223372036854775807 - excluded.batches
			AND records <= 9223372036854775807 - excluded.records
			AND rejects <= 9223372036854775807 - excluded.rejects`,
		tenant, n.Name, n.Version, seen, n.Batches, n.Records, n.Rejects)
	if err != nil {
		return err
	}
	if changed == 0 {
		return apisessions.Errorf(apisessions.EINVALID, "node counts overflow")
	}
	return nil
}

// Nodes lists the tenant's nodes by name; see apisessions.AdminStore.
func (s *Store) Nodes(ctx context.Context, tenant string) ([]apisessions.Node, error) {
	return queryList(ctx, s, "nodes", func(sc interface{ Scan(...any) error }) (apisessions.Node, error) {
		var n apisessions.Node
		var seen sql.NullInt64
		if err := sc.Scan(&n.Name, &n.Version, &seen, &n.Batches, &n.Records, &n.Rejects); err != nil {
			return apisessions.Node{}, err
		}
		n.LastSeen = timeOf(seen)
		return n, nil
	}, `SELECT name, version, last_seen_ns, batches, records, rejects FROM nodes WHERE tenant = ? ORDER BY name`, tenant)
}

// BatchSeen reports whether a batch was marked; see apisessions.AdminStore.
func (s *Store) BatchSeen(ctx context.Context, tenant, batchID string) (bool, error) {
	var one int
	err := s.reader.QueryRowContext(ctx, `SELECT 1 FROM batches WHERE tenant = ? AND id = ?`, tenant, batchID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("batch seen: %w", err)
	}
	return true, nil
}

// MarkBatch records a batch as ingested; see apisessions.AdminStore.
// Marking again keeps the first time.
func (s *Store) MarkBatch(ctx context.Context, tenant, batchID string, at time.Time) error {
	if err := required("tenant ID", tenant, "batch ID", batchID); err != nil {
		return err
	}
	ns, err := requiredNS("batch time", at)
	if err != nil {
		return err
	}
	_, err = s.adminExec(ctx, "mark batch",
		`INSERT INTO batches (tenant, id, marked_ns) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		tenant, batchID, ns)
	return err
}

// ForgetBatches drops batch IDs marked before t; see apisessions.AdminStore.
// It also drops the console logins that expired before t: a login not logged
// out would stay forever otherwise, and this is the store's one retention
// call. Times come from the caller, never from the store's clock, as in
// every other method.
func (s *Store) ForgetBatches(ctx context.Context, before time.Time) error {
	if _, err := s.adminExec(ctx, "forget batches", `DELETE FROM batches WHERE marked_ns < ?`, clampNS(before)); err != nil {
		return err
	}
	_, err := s.adminExec(ctx, "forget logins", `DELETE FROM logins WHERE expires_ns IS NULL OR expires_ns < ?`, clampNS(before))
	return err
}
