-- Common filter values. A value that thousands of parts carry (a host, a
-- method, a status, a frequent endpoint) selects nothing an index helps
-- with, yet its part_vids rows were most of that table and of the work of
-- storing parts. Once a writer has given a value its rows for
-- Options.CommonParts parts, value_ids marks it common, and the parts
-- stored after that list it in their own row instead: cvids holds their
-- common values' numbers as ",12,40,". Filters on such a value check both
-- (read.go); none drives a listing from part_vids. Once no part lists a
-- common value in cvids any more (retention), the mark is cleared.
ALTER TABLE value_ids ADD COLUMN common INTEGER NOT NULL DEFAULT 0;
ALTER TABLE parts ADD COLUMN cvids TEXT NOT NULL DEFAULT ',';
