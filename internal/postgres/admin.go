package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/apisessions/apisessions"
)

var _ apisessions.AdminStore = (*Store)(nil)

// The times a bigint of Unix nanoseconds can hold (years 1677 to 2262).
var (
	minNanoTime = time.Unix(0, math.MinInt64)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

// nanos converts a time to store; the zero time becomes NULL so that it
// reads back as the zero time. Other times outside the bigint range are
// refused rather than wrapped around.
func nanos(what string, t time.Time) (*int64, error) {
	if t.IsZero() {
		return nil, nil
	}
	if t.Before(minNanoTime) || t.After(maxNanoTime) {
		return nil, apisessions.Errorf(apisessions.EINVALID, "%s out of range (years 1678 to 2262)", what)
	}
	n := t.UnixNano()
	return &n, nil
}

// mustNanos is nanos for a time that must be set.
func mustNanos(what string, t time.Time) (int64, error) {
	if t.IsZero() {
		return 0, apisessions.Errorf(apisessions.EINVALID, "%s is not set", what)
	}
	n, err := nanos(what, t)
	if err != nil {
		return 0, err
	}
	return *n, nil
}

// clampNanos converts a time a query compares with: one outside the range
// compares like the nearest end of it.
func clampNanos(t time.Time) int64 {
	switch {
	case t.Before(minNanoTime):
		return math.MinInt64
	case t.After(maxNanoTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func fromNanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

// checkText refuses what PostgreSQL text cannot hold (NUL, invalid UTF-8)
// with a clear error instead of a database one.
func checkText(what, s string) error {
	if !pgSafe(s) {
		return apisessions.Errorf(apisessions.EINVALID, "%s is not valid UTF-8 or holds NUL", what)
	}
	return nil
}

// checkAll returns the first error of errs.
func checkAll(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func checkRole(r apisessions.Role) error {
	if !r.Valid() {
		return apisessions.Errorf(apisessions.EINVALID, "unknown role %q", pgText(string(r)))
	}
	return nil
}

// isUniqueViolation reports whether err is a unique or primary key
// violation.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func notFound(what string) error {
	return apisessions.Errorf(apisessions.ENOTFOUND, "no such %s", what)
}

// CreateTenant adds a tenant; ECONFLICT when the name or ID is taken.
func (s *Store) CreateTenant(ctx context.Context, t apisessions.Tenant) error {
	created, err := nanos("created", t.Created)
	if err := checkAll(err, s.checkID("tenant ID", t.ID), s.checkID("tenant name", t.Name)); err != nil {
		return err
	}
	secret := t.Secret
	if secret == nil {
		secret = []byte{}
	}
	_, err = s.pool.Exec(ctx, "INSERT INTO tenants (id, name, created, secret) VALUES ($1, $2, $3, $4)",
		t.ID, t.Name, created, secret)
	if isUniqueViolation(err) {
		return apisessions.Errorf(apisessions.ECONFLICT, "tenant %q exists", t.Name)
	}
	if err != nil {
		return fmt.Errorf("postgres: create tenant: %w", err)
	}
	return nil
}

const tenantColumns = "id, name, created, secret"

func scanTenant(row pgx.Row) (apisessions.Tenant, error) {
	var t apisessions.Tenant
	var created *int64
	if err := row.Scan(&t.ID, &t.Name, &created, &t.Secret); err != nil {
		return apisessions.Tenant{}, err
	}
	t.Created = fromNanos(created)
	if len(t.Secret) == 0 {
		t.Secret = nil
	}
	return t, nil
}

// tenantWhere returns the tenant the query finds.
func (s *Store) tenantWhere(ctx context.Context, where, arg string) (apisessions.Tenant, error) {
	// Nothing stored holds what text cannot: such a key finds nothing.
	if !pgSafe(arg) {
		return apisessions.Tenant{}, notFound("tenant")
	}
	t, err := scanTenant(s.pool.QueryRow(ctx, "SELECT "+tenantColumns+" FROM tenants WHERE "+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return apisessions.Tenant{}, notFound("tenant")
	}
	if err != nil {
		return apisessions.Tenant{}, fmt.Errorf("postgres: tenant: %w", err)
	}
	return t, nil
}

// TenantByName returns a tenant; ENOTFOUND when absent.
func (s *Store) TenantByName(ctx context.Context, name string) (apisessions.Tenant, error) {
	return s.tenantWhere(ctx, "name = $1", name)
}

// TenantByID returns a tenant; ENOTFOUND when absent.
func (s *Store) TenantByID(ctx context.Context, id string) (apisessions.Tenant, error) {
	return s.tenantWhere(ctx, "id = $1", id)
}

// Tenants lists every tenant by name (byte order).
func (s *Store) Tenants(ctx context.Context) ([]apisessions.Tenant, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+tenantColumns+" FROM tenants ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("postgres: tenants: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (apisessions.Tenant, error) { return scanTenant(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: tenants: %w", err)
	}
	return out, nil
}

// CreateUser adds a user; ECONFLICT when the tenant has that name (or the
// ID is taken).
func (s *Store) CreateUser(ctx context.Context, u apisessions.User) error {
	created, err := nanos("created", u.Created)
	if err := checkAll(err, s.checkID("user ID", u.ID), s.checkID("tenant ID", u.Tenant),
		s.checkID("user name", u.Name), checkRole(u.Role), checkText("password hash", u.PasswordHash)); err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO users (id, tenant, name, role, password_hash, created)
		VALUES ($1, $2, $3, $4, $5, $6)`, u.ID, u.Tenant, u.Name, string(u.Role), u.PasswordHash, created)
	if isUniqueViolation(err) {
		return apisessions.Errorf(apisessions.ECONFLICT, "user %q exists", u.Name)
	}
	if err != nil {
		return fmt.Errorf("postgres: create user: %w", err)
	}
	return nil
}

const userColumns = "id, tenant, name, role, password_hash, created"

func scanUser(row pgx.Row) (apisessions.User, error) {
	var u apisessions.User
	var created *int64
	if err := row.Scan(&u.ID, &u.Tenant, &u.Name, &u.Role, &u.PasswordHash, &created); err != nil {
		return apisessions.User{}, err
	}
	u.Created = fromNanos(created)
	return u, nil
}

// UserByName returns a user of the tenant; ENOTFOUND when absent.
func (s *Store) UserByName(ctx context.Context, tenant, name string) (apisessions.User, error) {
	if !pgSafe(tenant) || !pgSafe(name) {
		return apisessions.User{}, notFound("user")
	}
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE tenant = $1 AND name = $2", tenant, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return apisessions.User{}, notFound("user")
	}
	if err != nil {
		return apisessions.User{}, fmt.Errorf("postgres: user: %w", err)
	}
	return u, nil
}

// Users lists the tenant's users by name (byte order).
func (s *Store) Users(ctx context.Context, tenant string) ([]apisessions.User, error) {
	if !pgSafe(tenant) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, "SELECT "+userColumns+" FROM users WHERE tenant = $1 ORDER BY name", tenant)
	if err != nil {
		return nil, fmt.Errorf("postgres: users: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (apisessions.User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: users: %w", err)
	}
	return out, nil
}

// CreateToken adds a token; ECONFLICT when the hash (or the ID) exists.
func (s *Store) CreateToken(ctx context.Context, t apisessions.Token) error {
	created, err := nanos("created", t.Created)
	var revoked *int64
	if t.Revoked != nil {
		n, rerr := mustNanos("revoked", *t.Revoked)
		if rerr != nil {
			return rerr
		}
		revoked = &n
	}
	if err := checkAll(err, s.checkID("token ID", t.ID), s.checkID("tenant ID", t.Tenant),
		checkText("token name", t.Name), checkRole(t.Role), s.checkID("token hash", t.Hash)); err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO tokens (id, tenant, name, role, hash, created, revoked)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, t.ID, t.Tenant, t.Name, string(t.Role), t.Hash, created, revoked)
	if isUniqueViolation(err) {
		return apisessions.Errorf(apisessions.ECONFLICT, "token exists")
	}
	if err != nil {
		return fmt.Errorf("postgres: create token: %w", err)
	}
	return nil
}

const tokenColumns = "id, tenant, name, role, hash, created, revoked"

func scanToken(row pgx.Row) (apisessions.Token, error) {
	var t apisessions.Token
	var created, revoked *int64
	if err := row.Scan(&t.ID, &t.Tenant, &t.Name, &t.Role, &t.Hash, &created, &revoked); err != nil {
		return apisessions.Token{}, err
	}
	t.Created = fromNanos(created)
	if revoked != nil {
		at := fromNanos(revoked)
		t.Revoked = &at
	}
	return t, nil
}

// TokenByHash returns the token with that hash, revoked or not; ENOTFOUND
// when absent.
func (s *Store) TokenByHash(ctx context.Context, hash string) (apisessions.Token, error) {
	if !pgSafe(hash) {
		return apisessions.Token{}, notFound("token")
	}
	t, err := scanToken(s.pool.QueryRow(ctx, "SELECT "+tokenColumns+" FROM tokens WHERE hash = $1", hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return apisessions.Token{}, notFound("token")
	}
	if err != nil {
		return apisessions.Token{}, fmt.Errorf("postgres: token: %w", err)
	}
	return t, nil
}

// Tokens lists the tenant's tokens, newest first; tokens created at the
// same time come in descending ID order, so that the order is stable.
func (s *Store) Tokens(ctx context.Context, tenant string) ([]apisessions.Token, error) {
	if !pgSafe(tenant) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, "SELECT "+tokenColumns+
		" FROM tokens WHERE tenant = $1 ORDER BY created DESC NULLS LAST, id DESC", tenant)
	if err != nil {
		return nil, fmt.Errorf("postgres: tokens: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (apisessions.Token, error) { return scanToken(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: tokens: %w", err)
	}
	return out, nil
}

// RevokeToken revokes a token of the tenant (tenant "" matches any);
// ENOTFOUND when absent. Revoking twice keeps the first time.
func (s *Store) RevokeToken(ctx context.Context, tenant, id string, at time.Time) error {
	n, err := mustNanos("revocation time", at)
	if err != nil {
		return err
	}
	if !pgSafe(tenant) || !pgSafe(id) {
		return notFound("token")
	}
	// One statement: the row lock it takes makes concurrent revocations
	// of one token keep the first time too.
	tag, err := s.pool.Exec(ctx, `UPDATE tokens SET revoked = coalesce(revoked, $3)
		WHERE id = $2 AND ($1 = '' OR tenant = $1)`, tenant, id, n)
	if err != nil {
		return fmt.Errorf("postgres: revoke token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("token")
	}
	return nil
}

// CreateLogin stores a console login; ECONFLICT when its hash exists.
func (s *Store) CreateLogin(ctx context.Context, l apisessions.Login) error {
	expires, err := nanos("expiry", l.Expires)
	if err := checkAll(err, s.checkID("login hash", l.Hash), s.checkID("tenant ID", l.Tenant),
		s.checkID("user ID", l.UserID), checkRole(l.Role), checkText("CSRF token", l.CSRF)); err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO logins (hash, tenant, user_id, role, csrf, expires)
		VALUES ($1, $2, $3, $4, $5, $6)`, l.Hash, l.Tenant, l.UserID, string(l.Role), l.CSRF, expires)
	if isUniqueViolation(err) {
		return apisessions.Errorf(apisessions.ECONFLICT, "login exists")
	}
	if err != nil {
		return fmt.Errorf("postgres: create login: %w", err)
	}
	return nil
}

// LoginByHash returns a login unexpired at now; ENOTFOUND when absent or
// expired.
func (s *Store) LoginByHash(ctx context.Context, hash string, now time.Time) (apisessions.Login, error) {
	if !pgSafe(hash) {
		return apisessions.Login{}, notFound("login")
	}
	var l apisessions.Login
	var expires *int64
	// A NULL expiry (the zero time) has always passed.
	err := s.pool.QueryRow(ctx, `SELECT hash, tenant, user_id, role, csrf, expires
		FROM logins WHERE hash = $1 AND expires > $2`, hash, clampNanos(now)).
		Scan(&l.Hash, &l.Tenant, &l.UserID, &l.Role, &l.CSRF, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return apisessions.Login{}, notFound("login")
	}
	if err != nil {
		return apisessions.Login{}, fmt.Errorf("postgres: login: %w", err)
	}
	l.Expires = fromNanos(expires)
	return l, nil
}

// DeleteLogin removes a login; absent is not an error.
func (s *Store) DeleteLogin(ctx context.Context, hash string) error {
	if !pgSafe(hash) {
		return nil
	}
	if _, err := s.pool.Exec(ctx, "DELETE FROM logins WHERE hash = $1", hash); err != nil {
		return fmt.Errorf("postgres: delete login: %w", err)
	}
	return nil
}

// PutConfig saves a new version of the tenant's configuration and returns
// it (versions count from 1).
func (s *Store) PutConfig(ctx context.Context, tenant string, cfg apisessions.Config, author string, at time.Time) (apisessions.ConfigVersion, error) {
	created, err := nanos("time", at)
	if err := checkAll(err, s.checkID("tenant ID", tenant), checkText("author", author)); err != nil {
		return apisessions.ConfigVersion{}, err
	}
	doc, err := json.Marshal(cfg)
	if err != nil {
		return apisessions.ConfigVersion{}, fmt.Errorf("postgres: put config: %w", err)
	}
	var version int
	// The transaction-scoped lock per tenant serialises savers, so that
	// each takes the next number instead of colliding on it.
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock("+lockKey("config")+"::int, hashtext($1))", tenant); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO config_versions (tenant, version, doc, author, created)
			SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4 FROM config_versions WHERE tenant = $1
			RETURNING version`, tenant, doc, author, created).Scan(&version)
	})
	if err != nil {
		return apisessions.ConfigVersion{}, fmt.Errorf("postgres: put config: %w", err)
	}
	return apisessions.ConfigVersion{Version: version, Config: cfg, Author: author, Created: fromNanos(created)}, nil
}

func scanConfigVersion(row pgx.Row) (apisessions.ConfigVersion, error) {
	var cv apisessions.ConfigVersion
	var doc []byte
	var created *int64
	if err := row.Scan(&cv.Version, &doc, &cv.Author, &created); err != nil {
		return apisessions.ConfigVersion{}, err
	}
	if err := json.Unmarshal(doc, &cv.Config); err != nil {
		return apisessions.ConfigVersion{}, fmt.Errorf("config version %d: %w", cv.Version, err)
	}
	cv.Created = fromNanos(created)
	return cv, nil
}

// Config returns the current version; ENOTFOUND when none was saved.
func (s *Store) Config(ctx context.Context, tenant string) (apisessions.ConfigVersion, error) {
	if !pgSafe(tenant) {
		return apisessions.ConfigVersion{}, notFound("configuration")
	}
	cv, err := scanConfigVersion(s.pool.QueryRow(ctx, `SELECT version, doc, author, created FROM config_versions
		WHERE tenant = $1 ORDER BY version DESC LIMIT 1`, tenant))
	if errors.Is(err, pgx.ErrNoRows) {
		return apisessions.ConfigVersion{}, notFound("configuration")
	}
	if err != nil {
		return apisessions.ConfigVersion{}, fmt.Errorf("postgres: config: %w", err)
	}
	return cv, nil
}

// ConfigHistory lists the versions, newest first.
func (s *Store) ConfigHistory(ctx context.Context, tenant string) ([]apisessions.ConfigVersion, error) {
	if !pgSafe(tenant) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT version, doc, author, created FROM config_versions
		WHERE tenant = $1 ORDER BY version DESC`, tenant)
	if err != nil {
		return nil, fmt.Errorf("postgres: config history: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (apisessions.ConfigVersion, error) { return scanConfigVersion(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: config history: %w", err)
	}
	return out, nil
}

// AddDeny adds a denylist entry; ECONFLICT when the tenant has one with
// its ID.
func (s *Store) AddDeny(ctx context.Context, tenant string, d apisessions.DenyEntry) error {
	created, err := nanos("created", d.Created)
	var until *int64
	if d.Until != nil {
		n, uerr := mustNanos("until", *d.Until)
		if uerr != nil {
			return uerr
		}
		until = &n
	}
	if err := checkAll(err, s.checkID("tenant ID", tenant), s.checkID("denylist entry ID", d.ID),
		s.checkID("session ID", d.SessionID), checkText("reason", d.Reason), checkText("added by", d.AddedBy)); err != nil {
		return err
	}
	apps := make([]int64, len(d.Applications))
	for i, a := range d.Applications {
		apps[i] = int64(a)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO denylist (tenant, id, session_id, applications, until, reason, added_by, created)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, tenant, d.ID, d.SessionID, apps, until, d.Reason, d.AddedBy, created)
	if isUniqueViolation(err) {
		return apisessions.Errorf(apisessions.ECONFLICT, "denylist entry exists")
	}
	if err != nil {
		return fmt.Errorf("postgres: add deny: %w", err)
	}
	return nil
}

// Denylist returns the entries in force at now, newest first; entries
// created at the same time come in descending ID order.
func (s *Store) Denylist(ctx context.Context, tenant string, now time.Time) ([]apisessions.DenyEntry, error) {
	if !pgSafe(tenant) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id, session_id, applications, until, reason, added_by, created
		FROM denylist WHERE tenant = $1 AND (until IS NULL OR until > $2)
		ORDER BY created DESC NULLS LAST, id DESC`, tenant, clampNanos(now))
	if err != nil {
		return nil, fmt.Errorf("postgres: denylist: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (apisessions.DenyEntry, error) {
		var d apisessions.DenyEntry
		var apps []int64
		var until, created *int64
		if err := r.Scan(&d.ID, &d.SessionID, &apps, &until, &d.Reason, &d.AddedBy, &created); err != nil {
			return d, err
		}
		for _, a := range apps {
			d.Applications = append(d.Applications, int(a))
		}
		if until != nil {
			t := fromNanos(until)
			d.Until = &t
		}
		d.Created = fromNanos(created)
		return d, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: denylist: %w", err)
	}
	return out, nil
}

// DeleteDeny removes an entry; ENOTFOUND when the tenant has none with that
// ID.
func (s *Store) DeleteDeny(ctx context.Context, tenant, id string) error {
	if !pgSafe(tenant) || !pgSafe(id) {
		return notFound("denylist entry")
	}
	tag, err := s.pool.Exec(ctx, "DELETE FROM denylist WHERE tenant = $1 AND id = $2", tenant, id)
	if err != nil {
		return fmt.Errorf("postgres: delete deny: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("denylist entry")
	}
	return nil
}

// TouchNode records that a node was heard from: it adds the counts of n to
// the node's totals and takes its version and last seen time. Reports can
// arrive out of order from concurrent ingests, so the last seen time only
// moves forward and the version comes with the latest report. One UPSERT,
// so concurrent calls add up exactly.
func (s *Store) TouchNode(ctx context.Context, tenant string, n apisessions.Node) error {
	seen, err := nanos("last seen", n.LastSeen)
	if err := checkAll(err, s.checkID("tenant ID", tenant), s.checkID("node name", n.Name),
		checkText("node version", n.Version)); err != nil {
		return err
	}
	if n.Batches < 0 || n.Records < 0 || n.Rejects < 0 {
		return apisessions.Errorf(apisessions.EINVALID, "node counts must not be negative")
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO nodes AS o (tenant, name, version, last_seen, batches, records, rejects)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (tenant, name) DO UPDATE SET
			version   = CASE WHEN o.last_seen IS NULL OR excluded.last_seen >= o.last_seen
			                 THEN excluded.version ELSE o.version END,
			last_seen = greatest(o.last_seen, excluded.last_seen),
			batches   = o.batches + excluded.batches,
			records   = o.records + excluded.records,
			rejects   = o.rejects + excluded.rejects`,
		tenant, n.Name, n.Version, seen, n.Batches, n.Records, n.Rejects)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "22003" { // numeric_value_out_of_range
			return apisessions.Errorf(apisessions.EINVALID, "node counts overflow")
		}
		return fmt.Errorf("postgres: touch node: %w", err)
	}
	return nil
}

// Nodes lists the tenant's nodes by name (byte order).
func (s *Store) Nodes(ctx context.Context, tenant string) ([]apisessions.Node, error) {
	if !pgSafe(tenant) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT name, version, last_seen, batches, records, rejects
		FROM nodes WHERE tenant = $1 ORDER BY name`, tenant)
	if err != nil {
		return nil, fmt.Errorf("postgres: nodes: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (apisessions.Node, error) {
		var n apisessions.Node
		var seen *int64
		err := r.Scan(&n.Name, &n.Version, &seen, &n.Batches, &n.Records, &n.Rejects)
		n.LastSeen = fromNanos(seen)
		return n, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: nodes: %w", err)
	}
	return out, nil
}

// BatchSeen reports whether a batch ID was marked ingested.
func (s *Store) BatchSeen(ctx context.Context, tenant, batchID string) (bool, error) {
	if !pgSafe(tenant) || !pgSafe(batchID) {
		return false, nil
	}
	var seen bool
	err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM batches WHERE tenant = $1 AND id = $2)",
		tenant, batchID).Scan(&seen)
	if err != nil {
		return false, fmt.Errorf("postgres: batch seen: %w", err)
	}
	return seen, nil
}

// MarkBatch records a batch ID as ingested. Marking twice is not an error
// and keeps the first time, so that retention counts from the first
// ingest.
func (s *Store) MarkBatch(ctx context.Context, tenant, batchID string, at time.Time) error {
	n, err := mustNanos("batch time", at)
	if err := checkAll(err, s.checkID("tenant ID", tenant), s.checkID("batch ID", batchID)); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO batches (tenant, id, at) VALUES ($1, $2, $3)
		ON CONFLICT (tenant, id) DO NOTHING`, tenant, batchID, n); err != nil {
		return fmt.Errorf("postgres: mark batch: %w", err)
	}
	return nil
}

// ForgetBatches drops batch IDs marked before t, for every tenant.
func (s *Store) ForgetBatches(ctx context.Context, before time.Time) error {
	if _, err := s.pool.Exec(ctx, "DELETE FROM batches WHERE at < $1", clampNanos(before)); err != nil {
		return fmt.Errorf("postgres: forget batches: %w", err)
	}
	return nil
}
