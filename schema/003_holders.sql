-- 003: each file's fresh holders as a bitmap, so that a redirect reads one
-- row of `files` instead of the file's ~150 rows of `mirror_files` (6.7 GB
-- at a million files: more than the page cache keeps warm).
--
-- files.holders: bit (id & 7) of byte (id >> 3) is set iff mirror `id` holds
-- the file fresh (ms_copy_fresh: same size, mtime within the copy's
-- precision); NULL when no mirror does. No trailing zero bytes. Triggers keep
-- it as copies and files change, so every write path of the tool keeps it.
-- They call ms_holders_set and ms_holders_agg, which the tool registers on
-- its handles (ms_db.c): another writer, such as the sqlite3 shell, gets
-- "no such function" and writes nothing, rather than a bitmap out of step.
ALTER TABLE files ADD COLUMN holders BLOB;

UPDATE files SET holders = (
    SELECT ms_holders_agg(c.mirror_id) FROM mirror_files c
    WHERE c.file_id = files.id AND c.size = files.size
      AND c.mtime > files.mtime - c.precision AND c.mtime < files.mtime + c.precision)
WHERE EXISTS (SELECT 1 FROM mirror_files c WHERE c.file_id = files.id);

-- The bitmap moves only with a copy or a file, which move `data` already: its
-- own writes need not move it again (a million-file load makes ~155 million).
DROP TRIGGER files_upd;
CREATE TRIGGER files_upd AFTER UPDATE OF id, path, size, mtime, sha256, indexed ON files BEGIN
    UPDATE generation SET data = data + 1 WHERE id = 1; END;

CREATE TRIGGER holders_copy_ins AFTER INSERT ON mirror_files BEGIN
    UPDATE files SET holders = ms_holders_set(holders, NEW.mirror_id,
        NEW.size = size AND NEW.mtime > mtime - NEW.precision
        AND NEW.mtime < mtime + NEW.precision)
    WHERE id = NEW.file_id; END;

-- A rescan that only moves `seen` changes no bit and costs no write here.
CREATE TRIGGER holders_copy_upd AFTER UPDATE ON mirror_files
    WHEN OLD.size IS NOT NEW.size OR OLD.mtime IS NOT NEW.mtime
      OR OLD.precision IS NOT NEW.precision
      OR OLD.file_id IS NOT NEW.file_id OR OLD.mirror_id IS NOT NEW.mirror_id BEGIN
    UPDATE files SET holders = ms_holders_set(holders, OLD.mirror_id, 0)
    WHERE id = OLD.file_id;
    UPDATE files SET holders = ms_holders_set(holders, NEW.mirror_id,
        NEW.size = size AND NEW.mtime > mtime - NEW.precision
        AND NEW.mtime < mtime + NEW.precision)
    WHERE id = NEW.file_id; END;

-- Also what a removed mirror leaves (ON DELETE CASCADE fires this), so a
-- later mirror given the same id starts with no bits.
CREATE TRIGGER holders_copy_del AFTER DELETE ON mirror_files BEGIN
    UPDATE files SET holders = ms_holders_set(holders, OLD.mirror_id, 0)
    WHERE id = OLD.file_id; END;

-- A file whose size or mtime moves is judged again against every copy.
CREATE TRIGGER holders_file_upd AFTER UPDATE OF size, mtime ON files
    WHEN OLD.size IS NOT NEW.size OR OLD.mtime IS NOT NEW.mtime BEGIN
    UPDATE files SET holders = (
        SELECT ms_holders_agg(c.mirror_id) FROM mirror_files c
        WHERE c.file_id = NEW.id AND c.size = NEW.size
          AND c.mtime > NEW.mtime - c.precision AND c.mtime < NEW.mtime + c.precision)
    WHERE id = NEW.id; END;

-- A new file has no copies, unless a writer without foreign keys left some
-- under a reused id.
CREATE TRIGGER holders_file_ins AFTER INSERT ON files
    WHEN EXISTS (SELECT 1 FROM mirror_files WHERE file_id = NEW.id) BEGIN
    UPDATE files SET holders = (
        SELECT ms_holders_agg(c.mirror_id) FROM mirror_files c
        WHERE c.file_id = NEW.id AND c.size = NEW.size
          AND c.mtime > NEW.mtime - c.precision AND c.mtime < NEW.mtime + c.precision)
    WHERE id = NEW.id; END;
