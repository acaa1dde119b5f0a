-- What a server keeps besides sessions (apisessions.AdminStore): tenants,
-- users, tokens, console logins, configuration versions, the denylist,
-- nodes and the IDs of ingested batches.
--
-- These tables are small or, for batches, pruned by time with one indexed
-- delete, so none is partitioned. Times are Unix nanoseconds in bigint, as
-- in 0001 (timestamptz keeps only microseconds); NULL stands for Go's zero
-- time. There are no foreign keys to tenants: every method takes the tenant
-- ID as given, and a tenant is never deleted.

CREATE TABLE tenants (
    id      text  COLLATE "C" PRIMARY KEY,
    name    text  COLLATE "C" NOT NULL UNIQUE,
    created bigint,
    secret  bytea NOT NULL
);

CREATE TABLE users (
    id            text COLLATE "C" PRIMARY KEY,
    tenant        text COLLATE "C" NOT NULL,
    name          text COLLATE "C" NOT NULL,
    role          text NOT NULL,
    password_hash text NOT NULL,
    created       bigint,
    UNIQUE (tenant, name)
);

CREATE TABLE tokens (
    id      text COLLATE "C" PRIMARY KEY,
    tenant  text COLLATE "C" NOT NULL,
    name    text NOT NULL,
    role    text NOT NULL,
    hash    text COLLATE "C" NOT NULL UNIQUE,
    created bigint,
    revoked bigint -- NULL while the token is valid
);
-- Tokens newest first.
CREATE INDEX tokens_tenant ON tokens (tenant, created);

CREATE TABLE logins (
    hash    text COLLATE "C" PRIMARY KEY,
    tenant  text COLLATE "C" NOT NULL,
    user_id text COLLATE "C" NOT NULL,
    role    text NOT NULL,
    csrf    text NOT NULL,
    expires bigint
);

-- doc is the Config as JSON in bytea: json.Marshal writes NUL as \u0000,
-- which jsonb rejects, and the store never looks inside.
CREATE TABLE config_versions (
    tenant  text    COLLATE "C" NOT NULL,
    version integer NOT NULL,
    doc     bytea   NOT NULL,
    author  text    NOT NULL,
    created bigint,
    PRIMARY KEY (tenant, version)
);

CREATE TABLE denylist (
    tenant       text     COLLATE "C" NOT NULL,
    id           text     COLLATE "C" NOT NULL,
    session_id   text     COLLATE "C" NOT NULL,
    applications bigint[] NOT NULL,
    until        bigint, -- NULL: forever
    reason       text     NOT NULL,
    added_by     text     NOT NULL,
    created      bigint,
    PRIMARY KEY (tenant, id)
);

CREATE TABLE nodes (
    tenant    text   COLLATE "C" NOT NULL,
    name      text   COLLATE "C" NOT NULL,
    version   text   NOT NULL,
    last_seen bigint,
    batches   bigint NOT NULL,
    records   bigint NOT NULL,
    rejects   bigint NOT NULL,
    PRIMARY KEY (tenant, name)
);

CREATE TABLE batches (
    tenant text   COLLATE "C" NOT NULL,
    id     text   COLLATE "C" NOT NULL,
    at     bigint NOT NULL,
    PRIMARY KEY (tenant, id)
);
-- ForgetBatches deletes by time across tenants.
CREATE INDEX batches_at ON batches (at);
