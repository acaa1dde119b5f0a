-- Parts created since the last flush (behind.go). A new part's row waits
-- for the flush like the changes of stored parts, so that the parts table
-- and its indexes (parts_key above all, whose random session IDs put each
-- new part on a page of its own) take new parts a flush at a time rather
-- than a few in every batch. Its requests are stored at once under the pid
-- it is given; this table names the part, so that replay can rebuild it.
-- The rows are deleted when the flush stores their parts.
CREATE TABLE parts_pending (
	pid     INTEGER PRIMARY KEY,
	tenant  INTEGER NOT NULL,
	session TEXT NOT NULL,
	day     TEXT NOT NULL
);

-- Stores written before this migration have no pending parts.
