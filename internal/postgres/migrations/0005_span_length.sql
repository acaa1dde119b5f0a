-- A time range that ends in the past: a part overlapping it began before
-- the range's end, so it ended at most its length later. With the longest
-- part of the tenant known (one backward probe of this index per
-- partition), the listing starts its newest-first walk at that bound
-- instead of at the newest part, and passes only the parts that end within
-- one part length after the range. Halves are subtracted so that no pair
-- of stored times overflows bigint (an index expression that failed would
-- fail the write); the listing bounds the length by twice the value plus 2.
CREATE INDEX sessions_length ON sessions (tenant, (last_seen / 2 - first_seen / 2));
