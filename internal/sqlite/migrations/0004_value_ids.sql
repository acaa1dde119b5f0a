-- Filter values by number. Each distinct (kind, value) is stored once in
-- value_ids; part_vids pairs value numbers with parts. A pair of integers is
-- a fraction of the size of a text row, and compares, sorts and binds far
-- faster when a flush inserts hundreds of thousands of them.
CREATE TABLE value_ids (
	vid   INTEGER PRIMARY KEY,
	kind  INTEGER NOT NULL,
	value TEXT NOT NULL
);
CREATE UNIQUE INDEX value_ids_key ON value_ids (kind, value);

CREATE TABLE part_vids (
	vid INTEGER NOT NULL,
	pid INTEGER NOT NULL,
	PRIMARY KEY (vid, pid)
) WITHOUT ROWID;

INSERT INTO value_ids (kind, value) SELECT DISTINCT kind, value FROM part_values ORDER BY kind, value;
INSERT INTO part_vids (vid, pid)
	SELECT v.vid, pv.pid FROM part_values pv JOIN value_ids v ON v.kind = pv.kind AND v.value = pv.value ORDER BY 1, 2;
DROP TABLE part_values;
