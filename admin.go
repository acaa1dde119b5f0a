package apisessions

import (
	"context"
	"time"
)

// Role is what a console user or a token may do within its tenant.
type Role string

// Roles. Admins may change configuration, the denylist, tokens and users;
// analysts read and add to the denylist; node tokens send batches and read
// what nodes sync.
const (
	RoleAdmin   Role = "admin"
	RoleAnalyst Role = "analyst"
	RoleNode    Role = "node"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleAnalyst || r == RoleNode }

// Tenant is an isolated customer of a server: its own sessions,
// configuration, denylist, users and tokens.
type Tenant struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	// Secret is the session secret: session IDs are HMACs under it. It
	// never leaves the server but to the tenant's nodes.
	Secret []byte `json:"-"`
}

// User is a console user.
type User struct {
	ID     string `json:"id"`
	Tenant string `json:"tenant"`
	Name   string `json:"name"`
	Role   Role   `json:"role"`
	// PasswordHash is the encoded password hash (bcrypt); never the password.
	PasswordHash string    `json:"-"`
	Created      time.Time `json:"created"`
}

// Token is an API or node token. Only a hash of its secret is stored; the
// secret is shown once, when it is created.
type Token struct {
	ID      string    `json:"id"`
	Tenant  string    `json:"tenant"`
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Hash    string    `json:"-"`
	Created time.Time `json:"created"`
	// Revoked is set once the token is revoked; a revoked token
	// authenticates nothing.
	Revoked *time.Time `json:"revoked,omitempty"`
}

// Login is a console login session, found by the hash of its cookie.
type Login struct {
	Hash    string
	Tenant  string
	UserID  string
	Role    Role
	CSRF    string
	Expires time.Time
}

// ConfigVersion is one saved version of a tenant's configuration, with who
// saved it and when (the audit trail).
type ConfigVersion struct {
	Version int       `json:"version"`
	Config  Config    `json:"config"`
	Author  string    `json:"author"`
	Created time.Time `json:"created"`
}

// DenyEntry puts a session on the denylist.
type DenyEntry struct {
	ID        string `json:"id"`
	SessionID string `json:"session_id"`
	// Applications limits the entry to these application IDs; empty means all.
	Applications []int `json:"applications"`
	// Until is when the entry expires; nil means forever.
	Until   *time.Time `json:"until"`
	Reason  string     `json:"reason"`
	AddedBy string     `json:"added_by"`
	Created time.Time  `json:"created"`
}

// Active reports whether the entry is in force at now.
func (d DenyEntry) Active(now time.Time) bool { return d.Until == nil || now.Before(*d.Until) }

// Node is a node as the server last heard of it.
type Node struct {
	Name     string    `json:"name"`
	Version  string    `json:"version"`
	LastSeen time.Time `json:"last_seen"`
	// Batches and Records count what the node has sent that was accepted.
	Batches int64 `json:"batches"`
	Records int64 `json:"records"`
	Rejects int64 `json:"rejects"`
}

// AdminStore keeps what a server needs besides sessions: tenants, users,
// tokens, console logins, configuration versions, the denylist, nodes, and
// the IDs of batches already ingested. Every method but the tenant and
// token lookups is scoped to one tenant (by tenant ID).
type AdminStore interface {
	// CreateTenant adds a tenant; ECONFLICT when the name is taken.
	CreateTenant(ctx context.Context, t Tenant) error
	// TenantByName returns a tenant; ENOTFOUND when absent.
	TenantByName(ctx context.Context, name string) (Tenant, error)
	// TenantByID returns a tenant; ENOTFOUND when absent.
	TenantByID(ctx context.Context, id string) (Tenant, error)
	// Tenants lists every tenant by name.
	Tenants(ctx context.Context) ([]Tenant, error)

	// CreateUser adds a user; ECONFLICT when the tenant has that name.
	CreateUser(ctx context.Context, u User) error
	// UserByName returns a user of the tenant; ENOTFOUND when absent.
	UserByName(ctx context.Context, tenant, name string) (User, error)
	// Users lists the tenant's users by name.
	Users(ctx context.Context, tenant string) ([]User, error)

	// CreateToken adds a token; ECONFLICT when the hash exists.
	CreateToken(ctx context.Context, t Token) error
	// TokenByHash returns the token with that hash, revoked or not;
	// ENOTFOUND when absent.
	TokenByHash(ctx context.Context, hash string) (Token, error)
	// Tokens lists the tenant's tokens, newest first.
	Tokens(ctx context.Context, tenant string) ([]Token, error)
	// RevokeToken revokes a token of the tenant (tenant "" matches any,
	// for the command line on the server); ENOTFOUND when absent.
	// Revoking twice keeps the first time.
	RevokeToken(ctx context.Context, tenant, id string, at time.Time) error

	// CreateLogin stores a console login.
	CreateLogin(ctx context.Context, l Login) error
	// LoginByHash returns an unexpired login; ENOTFOUND when absent or
	// expired at now.
	LoginByHash(ctx context.Context, hash string, now time.Time) (Login, error)
	// DeleteLogin removes a login (log out); absent is not an error.
	DeleteLogin(ctx context.Context, hash string) error

	// PutConfig saves a new version of the tenant's configuration and
	// returns it (versions count from 1).
	PutConfig(ctx context.Context, tenant string, cfg Config, author string, at time.Time) (ConfigVersion, error)
	// Config returns the current version; ENOTFOUND when none was saved.
	Config(ctx context.Context, tenant string) (ConfigVersion, error)
	// ConfigHistory lists the versions, newest first.
	ConfigHistory(ctx context.Context, tenant string) ([]ConfigVersion, error)

	// AddDeny adds a denylist entry (ID set by the caller).
	AddDeny(ctx context.Context, tenant string, d DenyEntry) error
	// Denylist returns the entries in force at now, newest first.
	Denylist(ctx context.Context, tenant string, now time.Time) ([]DenyEntry, error)
	// DeleteDeny removes an entry; ENOTFOUND when the tenant has none with
	// that ID.
	DeleteDeny(ctx context.Context, tenant, id string) error

	// TouchNode records that a node was heard from, adding the counts of n
	// to its totals and taking its name, version and last seen time.
	TouchNode(ctx context.Context, tenant string, n Node) error
	// Nodes lists the tenant's nodes by name.
	Nodes(ctx context.Context, tenant string) ([]Node, error)

	// BatchSeen reports whether a batch ID was marked ingested. Ingest skips
	// such batches; records are idempotent anyway, so this saves work and
	// never decides correctness.
	BatchSeen(ctx context.Context, tenant, batchID string) (bool, error)
	// MarkBatch records a batch ID as ingested, after its records are
	// stored. Marking twice is not an error.
	MarkBatch(ctx context.Context, tenant, batchID string, at time.Time) error
	// ForgetBatches drops batch IDs marked before t (retention).
	ForgetBatches(ctx context.Context, before time.Time) error
}
