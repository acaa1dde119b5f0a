-- Time ranges in the past: walking sessions_recent from the newest part
-- down to the range passes every later part; this index finds the parts
-- whose span overlaps the range directly (the listing states the overlap as
-- an int8range && for it). It costs one entry per part write, and parts are
-- written once per group of batches, not once per record.
CREATE INDEX sessions_span ON sessions USING gist (int8range(first_seen, last_seen, '[]'));
