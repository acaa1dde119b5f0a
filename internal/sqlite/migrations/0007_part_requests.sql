-- Request lists (reqlist.go): the rowids and times of each part's requests,
-- a row per store of the part, keyed by the part and the first rowid of the
-- row. first_ns and last_ns bound the row's times, so the time filter reads
-- a list only when the range falls between them. They replace the index of
-- requests by part (0008), which every request entered at a random place.
-- The migration fills the table from that index (fillRequestLists).
CREATE TABLE part_requests (
	pid      INTEGER NOT NULL,
	rid      INTEGER NOT NULL,
	first_ns INTEGER NOT NULL,
	last_ns  INTEGER NOT NULL,
	list     BLOB NOT NULL,
	PRIMARY KEY (pid, rid)
) WITHOUT ROWID;
