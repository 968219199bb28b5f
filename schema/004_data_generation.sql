-- 004: `data` moves only when what the module caches per file moves: a
-- file's row as the redirect reads it (path, size, mtime, sha256, fresh
-- holders), or a file added or removed. Each move empties every child's file
-- cache at once, and before this, every scan and every probe moved it:
--   * a rescan stores `seen` on each copy it lists, changing nothing else;
--   * a copy that is stale, or a copy's `seen`, leaves the holders as they
--     were, so the answers too;
--   * a probe that marks a mirror up or down, a mirror or prefix edited,
--     changes the mirrors, which the module reads anew on `mirrors` alone;
--   * `mirrorsel index` stamps `indexed` on files it re-read.
-- With 500 mirrors scanned every few hours and probed every minute, the cache
-- of a million files was emptied every few seconds. Copies still reach
-- `data` through the holders bitmap that schema 003's triggers keep: a copy
-- that becomes fresh or stops being so changes its file's `holders`, a
-- mirror removed clears its bits (ON DELETE CASCADE).
--
-- `mirror_set` moves with the mirrors and their prefixes but not with their
-- health: the module's orders of mirrors per client location leave health to
-- each request, so a probe verdict no longer re-ranks every location.
ALTER TABLE generation ADD COLUMN mirror_set INTEGER NOT NULL DEFAULT 1;

DROP TRIGGER mirrors_ins;
DROP TRIGGER mirrors_upd;
DROP TRIGGER mirrors_del;
DROP TRIGGER prefixes_ins;
DROP TRIGGER prefixes_del;
DROP TRIGGER health_ins;
DROP TRIGGER health_upd;
DROP TRIGGER health_del;
DROP TRIGGER files_upd;
DROP TRIGGER copies_ins;
DROP TRIGGER copies_upd;
DROP TRIGGER copies_del;

CREATE TRIGGER mirrors_ins AFTER INSERT ON mirrors BEGIN
    UPDATE generation SET mirrors = mirrors + 1, mirror_set = mirror_set + 1 WHERE id = 1; END;
CREATE TRIGGER mirrors_upd AFTER UPDATE ON mirrors BEGIN
    UPDATE generation SET mirrors = mirrors + 1, mirror_set = mirror_set + 1 WHERE id = 1; END;
CREATE TRIGGER mirrors_del AFTER DELETE ON mirrors BEGIN
    UPDATE generation SET mirrors = mirrors + 1, mirror_set = mirror_set + 1 WHERE id = 1; END;
CREATE TRIGGER prefixes_ins AFTER INSERT ON mirror_prefixes BEGIN
    UPDATE generation SET mirrors = mirrors + 1, mirror_set = mirror_set + 1 WHERE id = 1; END;
CREATE TRIGGER prefixes_del AFTER DELETE ON mirror_prefixes BEGIN
    UPDATE generation SET mirrors = mirrors + 1, mirror_set = mirror_set + 1 WHERE id = 1; END;
CREATE TRIGGER health_ins AFTER INSERT ON mirror_health BEGIN
    UPDATE generation SET mirrors = mirrors + 1 WHERE id = 1; END;
CREATE TRIGGER health_upd AFTER UPDATE OF up ON mirror_health WHEN OLD.up IS NOT NEW.up BEGIN
    UPDATE generation SET mirrors = mirrors + 1 WHERE id = 1; END;
CREATE TRIGGER health_del AFTER DELETE ON mirror_health BEGIN
    UPDATE generation SET mirrors = mirrors + 1 WHERE id = 1; END;

-- UPDATE OF fires whenever a column is named in the SET list, as an upsert
-- names them all: the WHEN compares the values.
CREATE TRIGGER files_upd AFTER UPDATE OF id, path, size, mtime, sha256, holders ON files
    WHEN OLD.id IS NOT NEW.id OR OLD.path IS NOT NEW.path OR OLD.size IS NOT NEW.size
      OR OLD.mtime IS NOT NEW.mtime OR OLD.sha256 IS NOT NEW.sha256
      OR OLD.holders IS NOT NEW.holders BEGIN
    UPDATE generation SET data = data + 1 WHERE id = 1; END;
