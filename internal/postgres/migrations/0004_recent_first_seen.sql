-- Listing a time range walks sessions_recent from the range's upper end
-- down, and stops when a page is found. With first_seen in the index, the
-- parts it passes (they end after the range but began after it too) are
-- told apart on the index entry (an index-only scan of the page's keys, see
-- sessionsQuery), so a range days in the past costs a scan of index pages
-- rather than a table read per newer part.
--
-- sessions_span (0003) goes: a range found through it had its every
-- overlapping part checked against its requests before the first page was
-- sorted out of them, slower than the walk above at 500,000 parts, and it
-- cost a GiST insertion per part write.
DROP INDEX sessions_span;
DROP INDEX sessions_recent;
CREATE INDEX sessions_recent ON sessions (tenant, last_seen, day, id) INCLUDE (first_seen);

-- rev changes with every write of a part (a random value, so that a part
-- dropped with its day and written again does not take an old value): a
-- store that kept the part it wrote last reads back only the revision, not
-- the document, unless another writer changed it since.
ALTER TABLE sessions ADD COLUMN rev bigint NOT NULL DEFAULT 0;
