-- Write-behind of session parts (write.go): Write appends requests at once
-- but merges changed parts in memory and writes them later, many batches at
-- a time. parts_flushed holds the requests rowid up to which every stored
-- part is complete; Open replays the requests after it into their parts, so
-- a crash loses nothing. A store written before this migration has complete
-- parts for all its requests.
CREATE TABLE parts_flushed (
	id  INTEGER PRIMARY KEY CHECK (id = 1),
	rid INTEGER NOT NULL
);
INSERT INTO parts_flushed (id, rid) SELECT 1, coalesce(max(rid), 0) FROM requests;

-- A part that a Write creates is stored at once, complete with its first
-- requests, whose rowids are at most upto: replay skips those.
ALTER TABLE parts ADD COLUMN upto INTEGER NOT NULL DEFAULT 0;
