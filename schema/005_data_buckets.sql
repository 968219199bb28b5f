-- 005: a change to one file empties only its share of the module's file
-- cache. Until now `data` was the only clock: any file added, removed, or
-- whose fresh holders moved (a rescan that finds a copy updated, a release
-- reaching a mirror) made every cached file of every child stale, so a
-- network whose scans find something every few seconds read the long tail
-- anew from SQLite all day.
--
-- Paths fall in MS_DATA_BUCKETS (16384) buckets by their hash:
--   bucket = FNV-1a 64 of the path's bytes (offset basis 0xcbf29ce484222325,
--            prime 0x100000001b3), modulo 16384
-- computed by ms_path_bucket(path), which the tool registers on its handles
-- (ms_db.c) like schema 003's functions. Each trigger that moves `data` for
-- one file also records, for the bucket of that file's path (both paths when
-- it is renamed), the value `data` took: data_buckets.gen. A cached file read
-- at generation g is still true at a later generation if g is at least its
-- bucket's gen: nothing in its bucket changed since it was read. A path
-- remembered as not indexed is in the bucket its file would be inserted in,
-- so a file added there is seen too.
--
-- data_floor: cached files read below it are stale whatever their bucket
-- says. It moves when a change is not one file's; this migration moves it,
-- since no bucket recorded the changes before it.
--
-- No index on gen: the module reads the buckets that moved since its last
-- snapshot by scanning the table's 16,384 rows at most (about 2 ms, once per
-- commit that moved `data`), where an index would cost every write: a first
-- scan of a mirror of 100,000 files took 2.45-3.14 s with it against 2.11 s
-- without (1.78 s with 004's triggers), in `ms_fixture copy-all`.
CREATE TABLE data_buckets (
    bucket          INTEGER PRIMARY KEY,
    gen             INTEGER NOT NULL
);

ALTER TABLE generation ADD COLUMN data_floor INTEGER NOT NULL DEFAULT 0;
UPDATE generation SET data = data + 1, data_floor = data + 1 WHERE id = 1;

DROP TRIGGER files_ins;
DROP TRIGGER files_upd;
DROP TRIGGER files_del;

-- A WHERE in the SELECT keeps the upsert's ON CONFLICT from being read as a
-- join's (SQLite's documented parsing ambiguity).
CREATE TRIGGER files_ins AFTER INSERT ON files BEGIN
    UPDATE generation SET data = data + 1 WHERE id = 1;
    INSERT INTO data_buckets (bucket, gen)
        SELECT ms_path_bucket(NEW.path), data FROM generation WHERE id = 1
        ON CONFLICT (bucket) DO UPDATE SET gen = excluded.gen; END;

CREATE TRIGGER files_del AFTER DELETE ON files BEGIN
    UPDATE generation SET data = data + 1 WHERE id = 1;
    INSERT INTO data_buckets (bucket, gen)
        SELECT ms_path_bucket(OLD.path), data FROM generation WHERE id = 1
        ON CONFLICT (bucket) DO UPDATE SET gen = excluded.gen; END;

-- As in 004: what the redirect reads of a file, compared by value.
CREATE TRIGGER files_upd AFTER UPDATE OF id, path, size, mtime, sha256, holders ON files
    WHEN OLD.id IS NOT NEW.id OR OLD.path IS NOT NEW.path OR OLD.size IS NOT NEW.size
      OR OLD.mtime IS NOT NEW.mtime OR OLD.sha256 IS NOT NEW.sha256
      OR OLD.holders IS NOT NEW.holders BEGIN
    UPDATE generation SET data = data + 1 WHERE id = 1;
    INSERT INTO data_buckets (bucket, gen)
        SELECT ms_path_bucket(NEW.path), data FROM generation WHERE id = 1
        ON CONFLICT (bucket) DO UPDATE SET gen = excluded.gen; END;

-- A renamed file also leaves its old path: a request for it must miss. It
-- moves `data` itself, as the order in which SQLite fires this and files_upd
-- is not to be relied on: a bucket must never take a value `data` had
-- before the change.
CREATE TRIGGER files_rename AFTER UPDATE OF path ON files
    WHEN OLD.path IS NOT NEW.path BEGIN
    UPDATE generation SET data = data + 1 WHERE id = 1;
    INSERT INTO data_buckets (bucket, gen)
        SELECT ms_path_bucket(OLD.path), data FROM generation WHERE id = 1
        ON CONFLICT (bucket) DO UPDATE SET gen = excluded.gen; END;
