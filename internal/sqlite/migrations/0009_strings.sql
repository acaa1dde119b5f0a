-- The string dictionary (dict.go): strings that records of format version 3
-- refer to by number. day is the latest day of the records that refer to
-- the string; retention deletes the string with the last of them.
-- AUTOINCREMENT: a number is never given again, so a reader that still
-- knows a deleted string cannot misread a newer one.
CREATE TABLE strings (
	sid INTEGER PRIMARY KEY AUTOINCREMENT,
	s   TEXT NOT NULL UNIQUE,
	day TEXT NOT NULL
);
