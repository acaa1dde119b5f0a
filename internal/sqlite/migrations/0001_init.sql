-- Tenants by name; other tables refer to the small integer ID.
CREATE TABLE tenants (
	id   INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE
);

-- One row per session day part. The columns are what listing sorts and
-- filters on; agg holds the rest (key, user, role and the counted values) in
-- the binary format of part.go.
CREATE TABLE parts (
	pid      INTEGER PRIMARY KEY,
	tenant   INTEGER NOT NULL,
	session  TEXT NOT NULL,
	day      TEXT NOT NULL,
	first_ns INTEGER NOT NULL,
	last_ns  INTEGER NOT NULL,
	requests INTEGER NOT NULL,
	attacks  INTEGER NOT NULL,
	blocked  INTEGER NOT NULL,
	agg      BLOB NOT NULL
);
CREATE UNIQUE INDEX parts_key ON parts (tenant, session, day);
-- Listing order: newest first by last seen, then day, then session ID.
CREATE INDEX parts_recent ON parts (tenant, last_ns DESC, day DESC, session DESC);
CREATE INDEX parts_day ON parts (day);

-- Filter values of each part (users, IPs, endpoints...): one row per
-- distinct value, so a filter finds its parts without reading requests.
CREATE TABLE part_values (
	kind  INTEGER NOT NULL,
	value TEXT NOT NULL,
	pid   INTEGER NOT NULL,
	PRIMARY KEY (kind, value, pid)
) WITHOUT ROWID;

-- The distinct endpoints of each tenant: the endpoint filter matches a
-- substring, so it searches this short list, then part_values.
CREATE TABLE endpoints (
	tenant   INTEGER NOT NULL,
	endpoint TEXT NOT NULL,
	PRIMARY KEY (tenant, endpoint)
) WITHOUT ROWID;

-- Requests, clustered by part and time so that a session's requests are
-- one range read; data holds the record in the binary format of codec.go.
CREATE TABLE requests (
	pid    INTEGER NOT NULL,
	t      INTEGER NOT NULL,
	id     TEXT NOT NULL,
	tenant INTEGER NOT NULL,
	data   BLOB NOT NULL,
	PRIMARY KEY (pid, t, id)
) WITHOUT ROWID;
-- Idempotency and request lookup by ID.
CREATE UNIQUE INDEX requests_id ON requests (tenant, id);
