-- Initial schema of the PostgreSQL store.
--
-- Identifiers and tags use the "C" collation: byte order is the order the
-- listing contract states for ID ties, and it spares btree comparisons the
-- cost of a linguistic collation.
--
-- Requests and session day parts are range-partitioned by day, one partition
-- per calendar day, created on demand by the writer (see partition.go), so
-- that retention drops whole partitions instead of deleting rows.
--
-- Idempotency: a unique index on a partitioned table must contain the
-- partition key, so requests cannot be unique on (tenant, id) alone. A record
-- ID normally maps to one day (the day is derived from its time), but a
-- change of the tenant's day time zone between a send and its retry, or a
-- buggy node, could send one ID with two days. request_ids is therefore a
-- plain, day-independent table keyed on (tenant, id): inserting into it with
-- ON CONFLICT DO NOTHING decides which records are new, whatever their day.
-- It also finds a request's day and session by ID without probing every
-- partition. Retention deletes its rows of the dropped day.
CREATE TABLE request_ids (
    tenant     text   COLLATE "C" NOT NULL,
    id         text   COLLATE "C" NOT NULL,
    day        date   NOT NULL,
    session_id text   COLLATE "C" NOT NULL,
    at         bigint NOT NULL, -- request time, Unix nanoseconds
    PRIMARY KEY (tenant, id)
);

-- One row per stored request. doc is the export record as JSON in bytea:
-- bytea because attacker-controlled strings may hold NUL or invalid UTF-8,
-- which text and jsonb reject, and one bad record must not make a batch
-- unstorable.
CREATE TABLE requests (
    tenant     text   COLLATE "C" NOT NULL,
    day        date   NOT NULL,
    session_id text   COLLATE "C" NOT NULL,
    at         bigint NOT NULL,
    id         text   COLLATE "C" NOT NULL,
    doc        bytea  NOT NULL
) PARTITION BY RANGE (day);

-- Requests of a session in time order; also Request by ID once request_ids
-- gave the session and time.
CREATE INDEX requests_session ON requests (tenant, session_id, at, id);

-- One row per session day part. doc holds the merged aggregate (counts, sets,
-- earliest key/user/role with their time) as JSON in bytea; the columns are
-- what listing, ordering and filtering need.
CREATE TABLE sessions (
    tenant        text    COLLATE "C" NOT NULL,
    day           date    NOT NULL,
    id            text    COLLATE "C" NOT NULL,
    first_seen    bigint  NOT NULL, -- Unix nanoseconds: Go times keep ns, timestamptz only µs
    last_seen     bigint  NOT NULL,
    request_count bigint  NOT NULL,
    attack_count  bigint  NOT NULL,
    blocked       boolean NOT NULL,
    -- endpoints, lower-cased, for the substring filter.
    endpoints     text[]  NOT NULL,
    doc           bytea   NOT NULL,
    PRIMARY KEY (tenant, id, day)
) PARTITION BY RANGE (day);

-- Newest-first listing and keyset paging.
CREATE INDEX sessions_recent ON sessions (tenant, last_seen, day, id);

-- What the equality filters need: one row per distinct "kind:value" tag of a
-- part (user, role, client IP, host, flow, status, method, attack type,
-- application). A side table rather than an array with a GIN index on
-- sessions: a part is rewritten by almost every batch that touches it, and
-- a GIN index would take all its values again each time, while here only a
-- value new to the part adds a row. The index serves both directions: parts
-- having a rare value, and probing one part for a value while walking the
-- newest-first order.
CREATE TABLE session_tags (
    tenant     text COLLATE "C" NOT NULL,
    day        date NOT NULL,
    session_id text COLLATE "C" NOT NULL,
    tag        text COLLATE "C" NOT NULL
) PARTITION BY RANGE (day);
CREATE INDEX session_tags_tag ON session_tags (tenant, tag, day, session_id);
