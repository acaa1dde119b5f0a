-- What a server keeps besides sessions (apisessions.AdminStore). Tenants here
-- have caller-chosen text IDs and are a table of their own: the session
-- tables' "tenants" only maps the tenant strings the session store is called
-- with to small integers. Times are Unix nanoseconds; NULL is the zero
-- time where a time may be left unset.
CREATE TABLE admin_tenants (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	created_ns INTEGER,
	secret     BLOB NOT NULL
);

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	tenant        TEXT NOT NULL,
	name          TEXT NOT NULL,
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	created_ns    INTEGER,
	UNIQUE (tenant, name)
);

-- Tokens are looked up by hash on every API call; revoked ones stay, so the
-- list shows when they were revoked.
CREATE TABLE tokens (
	id         TEXT PRIMARY KEY,
	tenant     TEXT NOT NULL,
	name       TEXT NOT NULL,
	role       TEXT NOT NULL,
	hash       TEXT NOT NULL UNIQUE,
	created_ns INTEGER,
	revoked_ns INTEGER
);
CREATE INDEX tokens_tenant ON tokens (tenant, created_ns DESC);

-- Console logins; expired ones are dropped with old batch IDs (ForgetBatches),
-- so the table holds about as many rows as there are live logins.
CREATE TABLE logins (
	hash       TEXT PRIMARY KEY,
	tenant     TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	role       TEXT NOT NULL,
	csrf       TEXT NOT NULL,
	expires_ns INTEGER
);
CREATE INDEX logins_expires ON logins (expires_ns);

-- Every saved configuration, as JSON: the newest version is the current one
-- and the others are the audit trail.
CREATE TABLE configs (
	tenant     TEXT NOT NULL,
	version    INTEGER NOT NULL,
	config     TEXT NOT NULL,
	author     TEXT NOT NULL,
	created_ns INTEGER,
	PRIMARY KEY (tenant, version)
) WITHOUT ROWID;

-- applications is a JSON array of application IDs, NULL for all; until_ns
-- NULL means forever.
CREATE TABLE denylist (
	tenant       TEXT NOT NULL,
	id           TEXT NOT NULL,
	session      TEXT NOT NULL,
	applications TEXT,
	until_ns     INTEGER,
	reason       TEXT NOT NULL,
	added_by     TEXT NOT NULL,
	created_ns   INTEGER,
	PRIMARY KEY (tenant, id)
);
CREATE INDEX denylist_recent ON denylist (tenant, created_ns DESC);

CREATE TABLE nodes (
	tenant       TEXT NOT NULL,
	name         TEXT NOT NULL,
	version      TEXT NOT NULL,
	last_seen_ns INTEGER,
	batches      INTEGER NOT NULL,
	records      INTEGER NOT NULL,
	rejects      INTEGER NOT NULL,
	PRIMARY KEY (tenant, name)
) WITHOUT ROWID;

-- IDs of ingested batches, kept for a while so retries are skipped cheaply.
CREATE TABLE batches (
	tenant    TEXT NOT NULL,
	id        TEXT NOT NULL,
	marked_ns INTEGER NOT NULL,
	PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE INDEX batches_marked ON batches (marked_ns);
