-- A part updated without a new rev (by a server of the previous version,
-- still running while a new one migrated the database and cached parts)
-- would keep the revision a store cached, and that store would then merge
-- into its stale copy, undoing the update. Such an update sets rev to 0, a
-- revision no store caches. Every current writer sets a new random rev, so
-- for them the condition is false and the function never runs.
CREATE FUNCTION sessions_rev_reset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.rev := 0;
	RETURN NEW;
END
$$;
CREATE TRIGGER sessions_rev_reset BEFORE UPDATE ON sessions
	FOR EACH ROW WHEN (NEW.rev = OLD.rev) EXECUTE FUNCTION sessions_rev_reset();
