-- Tenants by name; other tables refer to the small integer ID.
CREATE TABLE tenants (
	id   INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE
);

-- One row per session day part. The columns are what listing sorts and
-- filters on; agg holds the rest (key, user, role and the counted values) in
-- the binary format of part.go. The defaults are never used: they let
-- INSERT OR REPLACE resolve a NOT NULL conflict without aborting, so SQLite
-- needs no statement journal for multi-row writes (see write.go).
CREATE TABLE parts (
	pid      INTEGER PRIMARY KEY,
	tenant   INTEGER NOT NULL DEFAULT 0,
	session  TEXT NOT NULL DEFAULT '',
	day      TEXT NOT NULL DEFAULT '',
	first_ns INTEGER NOT NULL DEFAULT 0,
	last_ns  INTEGER NOT NULL DEFAULT 0,
	requests INTEGER NOT NULL DEFAULT 0,
	attacks  INTEGER NOT NULL DEFAULT 0,
	blocked  INTEGER NOT NULL DEFAULT 0,
	agg      BLOB NOT NULL DEFAULT x''
);
CREATE UNIQUE INDEX parts_key ON parts (tenant, session, day);
-- Listing order: newest first by last seen, then day, then session ID. The
-- trailing columns let the time, attack and blocked filters reject a part
-- from the index alone, without reading its row.
CREATE INDEX parts_recent ON parts (tenant, last_ns DESC, day DESC, session DESC, first_ns, attacks, blocked);
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

-- Requests in arrival order: new rows append at the end of the table, the
-- cheapest insert a B-tree has; data holds the record in the binary format
-- of codec.go. The two indexes are small: a session's requests in time
-- order, and idempotency and lookup by ID.
CREATE TABLE requests (
	rid    INTEGER PRIMARY KEY,
	pid    INTEGER NOT NULL,
	t      INTEGER NOT NULL,
	tenant INTEGER NOT NULL,
	id     TEXT NOT NULL,
	data   BLOB NOT NULL
);
CREATE INDEX requests_part ON requests (pid, t);
CREATE UNIQUE INDEX requests_id ON requests (tenant, id);
