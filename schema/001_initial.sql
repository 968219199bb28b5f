-- 001: the first schema of mod_mirrorsel.
-- Times are unix seconds (UTC). Paths are origin-relative, normalised, without a
-- leading slash. Country and continent codes are upper case; '' means unknown.

CREATE TABLE mirrors (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    http_url        TEXT,                      -- base URL for http users, or NULL
    https_url       TEXT,                      -- base URL for https users, or NULL
    scan_url        TEXT NOT NULL,             -- where the scanner lists the tree
    country         TEXT NOT NULL DEFAULT '',
    continent       TEXT NOT NULL DEFAULT '',
    lat             REAL,                      -- NULL when unknown
    lon             REAL,
    asn             INTEGER NOT NULL DEFAULT 0,
    weight          INTEGER NOT NULL DEFAULT 100 CHECK (weight >= 0),
    max_size        INTEGER NOT NULL DEFAULT 0 CHECK (max_size >= 0),  -- 0: no limit
    scope           TEXT NOT NULL DEFAULT 'world'
                    CHECK (scope IN ('world', 'continent', 'country', 'asn', 'prefix')),
    other_countries TEXT NOT NULL DEFAULT '',  -- 'AT,CH'
    fallback        INTEGER NOT NULL DEFAULT 0 CHECK (fallback IN (0, 1)),
    enabled         INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created         INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),
    CHECK (http_url IS NOT NULL OR https_url IS NOT NULL)
);

CREATE TABLE mirror_prefixes (
    mirror_id       INTEGER NOT NULL REFERENCES mirrors(id) ON DELETE CASCADE,
    prefix          TEXT NOT NULL,             -- canonical CIDR, '2001:db8::/32'
    family          INTEGER NOT NULL CHECK (family IN (4, 6)),
    PRIMARY KEY (mirror_id, prefix)
) WITHOUT ROWID;

CREATE TABLE files (
    id              INTEGER PRIMARY KEY,
    path            TEXT NOT NULL UNIQUE,
    size            INTEGER NOT NULL,
    mtime           INTEGER NOT NULL,
    sha256          TEXT,                      -- lower-case hex, NULL when not hashed
    indexed         INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))
);

-- What a scan saw of a file on a mirror. Freshness is judged at request time
-- against the origin's record: same size, mtime within precision seconds.
CREATE TABLE mirror_files (
    file_id         INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    mirror_id       INTEGER NOT NULL REFERENCES mirrors(id) ON DELETE CASCADE,
    size            INTEGER NOT NULL,
    mtime           INTEGER NOT NULL,
    precision       INTEGER NOT NULL CHECK (precision > 0),
    seen            INTEGER NOT NULL,
    PRIMARY KEY (file_id, mirror_id)
) WITHOUT ROWID;
CREATE INDEX mirror_files_by_mirror ON mirror_files(mirror_id);

CREATE TABLE mirror_health (
    mirror_id       INTEGER NOT NULL REFERENCES mirrors(id) ON DELETE CASCADE,
    scheme          TEXT NOT NULL CHECK (scheme IN ('http', 'https')),
    family          INTEGER NOT NULL CHECK (family IN (4, 6)),
    up              INTEGER NOT NULL CHECK (up IN (0, 1)),
    checked         INTEGER NOT NULL,
    latency_ms      INTEGER NOT NULL DEFAULT 0,
    failures        INTEGER NOT NULL DEFAULT 0,  -- consecutive
    status          INTEGER NOT NULL DEFAULT 0,  -- HTTP status, 0 if none
    error           TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (mirror_id, scheme, family)
) WITHOUT ROWID;

CREATE TABLE scan_runs (
    id              INTEGER PRIMARY KEY,
    mirror_id       INTEGER NOT NULL REFERENCES mirrors(id) ON DELETE CASCADE,
    started         INTEGER NOT NULL,
    finished        INTEGER,
    ok              INTEGER NOT NULL DEFAULT 0,
    files_seen      INTEGER NOT NULL DEFAULT 0,
    fresh           INTEGER NOT NULL DEFAULT 0,
    stale           INTEGER NOT NULL DEFAULT 0,
    missing         INTEGER NOT NULL DEFAULT 0,
    extra           INTEGER NOT NULL DEFAULT 0,
    error           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX scan_runs_by_mirror ON scan_runs(mirror_id, started);

-- Counters every reader can poll with one cheap query. `mirrors` moves when
-- the mirror table, prefixes or up/down state change: the module then reloads
-- its per-connection copy of the mirrors. `data` moves on any change the
-- module reads (mirrors, files, copies): its per-process cache of files is
-- then stale. Triggers keep them, so every writer, not only the tool, counts.
CREATE TABLE generation (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    mirrors         INTEGER NOT NULL,
    data            INTEGER NOT NULL
);
INSERT INTO generation (id, mirrors, data) VALUES (1, 1, 1);

CREATE TRIGGER mirrors_ins AFTER INSERT ON mirrors BEGIN
    UPDATE generation SET mirrors = mirrors + 1, data = data + 1 WHERE id = 1; END;
CREATE TRIGGER mirrors_upd AFTER UPDATE ON mirrors BEGIN
    UPDATE generation SET mirrors = mirrors + 1, data = data + 1 WHERE id = 1; END;
CREATE TRIGGER mirrors_del AFTER DELETE ON mirrors BEGIN
    UPDATE generation SET mirrors = mirrors + 1, data = data + 1 WHERE id = 1; END;
CREATE TRIGGER prefixes_ins AFTER INSERT ON mirror_prefixes BEGIN
    UPDATE generation SET mirrors = mirrors + 1, data = data + 1 WHERE id = 1; END;
CREATE TRIGGER prefixes_del AFTER DELETE ON mirror_prefixes BEGIN
    UPDATE generation SET mirrors = mirrors + 1, data = data + 1 WHERE id = 1; END;
CREATE TRIGGER health_ins AFTER INSERT ON mirror_health BEGIN
    UPDATE generation SET mirrors = mirrors + 1, data = data + 1 WHERE id = 1; END;
CREATE TRIGGER health_upd AFTER UPDATE OF up ON mirror_health WHEN OLD.up IS NOT NEW.up BEGIN
    UPDATE generation SET mirrors = mirrors + 1, data = data + 1 WHERE id = 1; END;
CREATE TRIGGER health_del AFTER DELETE ON mirror_health BEGIN
    UPDATE generation SET mirrors = mirrors + 1, data = data + 1 WHERE id = 1; END;
CREATE TRIGGER files_ins AFTER INSERT ON files BEGIN
    UPDATE generation SET data = data + 1 WHERE id = 1; END;
CREATE TRIGGER files_upd AFTER UPDATE ON files BEGIN
    UPDATE generation SET data = data + 1 WHERE id = 1; END;
CREATE TRIGGER files_del AFTER DELETE ON files BEGIN
    UPDATE generation SET data = data + 1 WHERE id = 1; END;
CREATE TRIGGER copies_ins AFTER INSERT ON mirror_files BEGIN
    UPDATE generation SET data = data + 1 WHERE id = 1; END;
CREATE TRIGGER copies_upd AFTER UPDATE ON mirror_files BEGIN
    UPDATE generation SET data = data + 1 WHERE id = 1; END;
CREATE TRIGGER copies_del AFTER DELETE ON mirror_files BEGIN
    UPDATE generation SET data = data + 1 WHERE id = 1; END;
