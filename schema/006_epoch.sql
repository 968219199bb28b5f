-- 006: a database is known by what it holds, not only by its file. The
-- module's caches (the shared file cache, the mirror orders, each handle's
-- mirrors) key what they remember by the database's identity and a
-- generation. The identity was the file's (device, inode, the inode's birth
-- time): a database replaced by rename is another file, but one written
-- over in place (`sqlite3 ... .restore` from another database) keeps the
-- file, and its generations count from its own start,
-- so an entry of the old content could be taken for one of the new at an
-- equal generation, and a mirror the new one does not have could be drawn.
--
-- epoch: a random number drawn when the database is made (or migrated
-- here), copied with it by any backup. The module reads it with the
-- generations and folds it into the identity, so another database restored
-- in place starts every cache anew. A backup of this same database shares
-- its epoch, and the writes after it is put back use again generations of
-- the history it lost, with other contents: `mirrorsel restore` therefore
-- draws a new epoch for the database it restores (README).
ALTER TABLE generation ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
UPDATE generation SET epoch = random() WHERE id = 1;
