/* ms_db.c — every query of mod_mirrorsel, as prepared statements.
 *
 * Statements are prepared on first use and kept for the life of the handle
 * (SQLITE_PREPARE_PERSISTENT), so the module's request path only binds, steps
 * and resets. Rows are mapped to structs by one function per entity, reading
 * columns by the names of an enum that mirrors the SELECT list. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#include <sqlite3.h>
#include <apr_strings.h>

#include "ms_db.h"

extern const char *const ms_schema_migrations[];
extern const int ms_schema_count;

/* --- statements --- */

#define MIRROR_COLS "id, name, http_url, https_url, scan_url, country, continent, " \
                    "lat, lon, asn, weight, max_size, scope, other_countries, "     \
                    "fallback, enabled"
enum { MC_ID, MC_NAME, MC_HTTP, MC_HTTPS, MC_SCAN, MC_COUNTRY, MC_CONTINENT,
       MC_LAT, MC_LON, MC_ASN, MC_WEIGHT, MC_MAX_SIZE, MC_SCOPE, MC_OTHER,
       MC_FALLBACK, MC_ENABLED };

#define HEALTH_COLS "mirror_id, scheme, family, up, checked, latency_ms, failures, " \
                    "status, error"
enum { HC_MIRROR, HC_SCHEME, HC_FAMILY, HC_UP, HC_CHECKED, HC_LATENCY,
       HC_FAILURES, HC_STATUS, HC_ERROR };

#define FILE_COLS "id, path, size, mtime, sha256"
enum { FC_ID, FC_PATH, FC_SIZE, FC_MTIME, FC_SHA256, FC_HOLDERS };
enum { FC_INDEXED = FC_SHA256 + 1 };   /* ST_FILES_ALL's last column */

#define COPY_COLS "mirror_id, size, mtime, precision, seen"
enum { CC_MIRROR, CC_SIZE, CC_MTIME, CC_PRECISION, CC_SEEN };

/* --- scans and probes (ms_scan) --- */
#define RUN_COLS "id, mirror_id, started, finished, ok, files_seen, fresh, stale, " \
                 "missing, extra, error"
enum { RC_ID, RC_MIRROR, RC_STARTED, RC_FINISHED, RC_OK, RC_SEEN, RC_FRESH,
       RC_STALE, RC_MISSING, RC_EXTRA, RC_ERROR };
/* FILE_COLS of f, then the copy's columns (NULL without a copy). */
#define TARGET_COLS "f.id, f.path, f.size, f.mtime, f.sha256, " \
                    "c.size, c.mtime, c.precision, c.seen"
enum { TC_COPY_SIZE = FC_SHA256 + 1, TC_COPY_MTIME, TC_COPY_PRECISION, TC_COPY_SEEN };
#define PREFIX_COLS "mirror_id, prefix"
enum { PC_MIRROR, PC_PREFIX };

#define SCAN_CONF_COLS "ca_file, ssh_key, known_hosts, probe_file_id"
enum { SC_CA_FILE, SC_SSH_KEY, SC_KNOWN_HOSTS, SC_PROBE_FILE };
#define FRESH_FILE_COLS "f.id, f.path, f.size, f.mtime, f.sha256"
/* The SQL twin of ms_copy_fresh (ms_select.c). */
#define FRESH_WHERE "c.size = f.size AND abs(c.mtime - f.mtime) < c.precision"

typedef enum {
    ST_BEGIN_READ, ST_ROLLBACK,
    ST_GENERATION, ST_MIRROR_SET, ST_DATA_FLOOR, ST_DATA_BUCKETS, ST_BUCKET_SINCE,
    ST_MIRRORS_ALL, ST_PREFIXES_ALL, ST_HEALTH_ALL,
    ST_MIRROR_BY_NAME, ST_PREFIXES_OF, ST_HEALTH_OF,
    ST_MIRROR_INSERT, ST_MIRROR_UPDATE, ST_MIRROR_DELETE,
    ST_PREFIX_INSERT, ST_PREFIXES_DELETE,
    ST_FILE_BY_PATH, ST_FILE_HOLDERS_BY_PATH, ST_FILE_UPSERT, ST_FILE_DELETE, ST_FILES_ALL, ST_FILE_COUNT,
    ST_COPIES_OF, ST_FRESH_HOLDERS, ST_COPY_UPSERT, ST_COPY_DELETE,
    ST_HEALTH_UPSERT,
    ST_SCAN_RUN_START, ST_SCAN_RUN_FINISH, ST_SCAN_RUNS_PRUNE, ST_SCAN_RUN_LAST, ST_SCAN_TARGETS,
    ST_SCAN_CONF_GET, ST_SCAN_CONF_PUT, ST_PROBE_FILE_SET, ST_PROBE_FILE_REMEMBERED,
    ST_PROBE_FILE_PICK, ST_PROBES_LATEST,
    ST_COUNT
} stmt_id;

static const char *const stmt_sql[ST_COUNT] = {
    /* Prepared once: sqlite3_exec would parse them anew on every request. */
    [ST_BEGIN_READ]     = "BEGIN",
    [ST_ROLLBACK]       = "ROLLBACK",
    [ST_GENERATION]     = "SELECT mirrors, data, epoch FROM generation WHERE id = 1",
    [ST_MIRROR_SET]     = "SELECT mirror_set FROM generation WHERE id = 1",
    [ST_DATA_FLOOR]     = "SELECT data_floor FROM generation WHERE id = 1",
    [ST_DATA_BUCKETS]   = "SELECT bucket, gen FROM data_buckets WHERE gen > ?1",
    /* The generation from which one bucket's entries are still true. */
    [ST_BUCKET_SINCE]   = "SELECT max(data_floor, coalesce((SELECT gen FROM data_buckets "
                          "WHERE bucket = ?1), 0)) FROM generation WHERE id = 1",
    [ST_MIRRORS_ALL]    = "SELECT " MIRROR_COLS " FROM mirrors ORDER BY id",
    [ST_PREFIXES_ALL]   = "SELECT " PREFIX_COLS " FROM mirror_prefixes ORDER BY mirror_id, prefix",
    [ST_HEALTH_ALL]     = "SELECT " HEALTH_COLS " FROM mirror_health",
    [ST_MIRROR_BY_NAME] = "SELECT " MIRROR_COLS " FROM mirrors WHERE name = ?1",
    [ST_PREFIXES_OF]    = "SELECT " PREFIX_COLS " FROM mirror_prefixes WHERE mirror_id = ?1 "
                          "ORDER BY prefix",
    [ST_HEALTH_OF]      = "SELECT " HEALTH_COLS " FROM mirror_health WHERE mirror_id = ?1",
    [ST_MIRROR_INSERT]  = "INSERT INTO mirrors (name, http_url, https_url, scan_url, country, "
                          "continent, lat, lon, asn, weight, max_size, scope, other_countries, "
                          "fallback, enabled) VALUES "
                          "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) "
                          "RETURNING id",
    [ST_MIRROR_UPDATE]  = "UPDATE mirrors SET name = ?1, http_url = ?2, https_url = ?3, "
                          "scan_url = ?4, country = ?5, continent = ?6, lat = ?7, lon = ?8, "
                          "asn = ?9, weight = ?10, max_size = ?11, scope = ?12, "
                          "other_countries = ?13, fallback = ?14, enabled = ?15 WHERE id = ?16",
    [ST_MIRROR_DELETE]  = "DELETE FROM mirrors WHERE id = ?1",
    [ST_PREFIX_INSERT]  = "INSERT INTO mirror_prefixes (mirror_id, prefix, family) "
                          "VALUES (?1, ?2, ?3)",
    [ST_PREFIXES_DELETE] = "DELETE FROM mirror_prefixes WHERE mirror_id = ?1",
    [ST_FILE_BY_PATH]   = "SELECT " FILE_COLS " FROM files WHERE path = ?1",
    /* The redirect's one row: the file and its fresh holders (schema 003). */
    [ST_FILE_HOLDERS_BY_PATH] = "SELECT " FILE_COLS ", holders FROM files WHERE path = ?1",
    [ST_FILE_UPSERT]    = "INSERT INTO files (path, size, mtime, sha256, indexed) "
                          "VALUES (?1, ?2, ?3, ?4, coalesce(?5, strftime('%s', 'now'))) "
                          "ON CONFLICT (path) DO UPDATE SET size = excluded.size, "
                          "mtime = excluded.mtime, sha256 = excluded.sha256, "
                          "indexed = excluded.indexed RETURNING id",
    [ST_FILE_DELETE]    = "DELETE FROM files WHERE id = ?1",
    [ST_FILES_ALL]      = "SELECT " FILE_COLS ", indexed FROM files ORDER BY path",
    [ST_FILE_COUNT]     = "SELECT count(*) FROM files",
    [ST_COPIES_OF]      = "SELECT " COPY_COLS " FROM mirror_files WHERE file_id = ?1 "
                          "ORDER BY mirror_id",
    /* ms_copy_fresh in SQL, on the primary key (file_id, mirror_id): no
     * sort, and no abs() to overflow on absurd mtimes. */
    [ST_FRESH_HOLDERS]  = "SELECT mirror_id FROM mirror_files WHERE file_id = ?1 "
                          "AND size = ?2 AND mtime > ?3 - precision AND mtime < ?3 + precision "
                          "ORDER BY mirror_id",
    [ST_COPY_UPSERT]    = "INSERT INTO mirror_files (file_id, mirror_id, size, mtime, "
                          "precision, seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                          "ON CONFLICT (file_id, mirror_id) DO UPDATE SET "
                          "size = excluded.size, mtime = excluded.mtime, "
                          "precision = excluded.precision, seen = excluded.seen",
    [ST_COPY_DELETE]    = "DELETE FROM mirror_files WHERE mirror_id = ?1 AND file_id = ?2",
    [ST_HEALTH_UPSERT]  = "INSERT INTO mirror_health (mirror_id, scheme, family, up, checked, "
                          "latency_ms, failures, status, error) VALUES "
                          "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
                          "ON CONFLICT (mirror_id, scheme, family) DO UPDATE SET "
                          "up = excluded.up, checked = excluded.checked, "
                          "latency_ms = excluded.latency_ms, failures = excluded.failures, "
                          "status = excluded.status, error = excluded.error",
    /* --- scans and probes (ms_scan) --- */
    [ST_SCAN_RUN_START] = "INSERT INTO scan_runs (mirror_id, started) VALUES (?1, ?2) "
                          "RETURNING id",
    [ST_SCAN_RUN_FINISH] = "UPDATE scan_runs SET finished = ?2, ok = ?3, files_seen = ?4, "
                          "fresh = ?5, stale = ?6, missing = ?7, extra = ?8, error = ?9 "
                          "WHERE id = ?1",
    /* Only the last run is read (ms_db_scan_run_last); a few more are kept
     * for an operator looking back with sqlite3. */
    [ST_SCAN_RUNS_PRUNE] = "DELETE FROM scan_runs WHERE mirror_id = ?1 AND id NOT IN "
                          "(SELECT id FROM scan_runs WHERE mirror_id = ?1 "
                          "ORDER BY started DESC, id DESC "
                          "LIMIT " APR_STRINGIFY(MS_SCAN_RUNS_KEPT) ")",
    [ST_SCAN_RUN_LAST]  = "SELECT " RUN_COLS " FROM scan_runs WHERE mirror_id = ?1 "
                          "ORDER BY started DESC, id DESC LIMIT 1",
    [ST_SCAN_TARGETS]   = "SELECT " TARGET_COLS " FROM files f LEFT JOIN mirror_files c "
                          "ON c.file_id = f.id AND c.mirror_id = ?1 "
                          "WHERE ?2 = '' OR (f.path > ?2 || '/' AND f.path < ?2 || '0') "
                          "ORDER BY f.path",
    [ST_SCAN_CONF_GET]  = "SELECT " SCAN_CONF_COLS " "
                          "FROM mirror_scan WHERE mirror_id = ?1",
    [ST_SCAN_CONF_PUT]  = "INSERT INTO mirror_scan (mirror_id, ca_file, ssh_key, known_hosts) "
                          "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (mirror_id) DO UPDATE SET "
                          "ca_file = excluded.ca_file, ssh_key = excluded.ssh_key, "
                          "known_hosts = excluded.known_hosts",
    [ST_PROBE_FILE_SET] = "INSERT INTO mirror_scan (mirror_id, probe_file_id) VALUES (?1, ?2) "
                          "ON CONFLICT (mirror_id) DO UPDATE SET "
                          "probe_file_id = excluded.probe_file_id",
    [ST_PROBE_FILE_REMEMBERED] = "SELECT " FRESH_FILE_COLS " FROM mirror_scan s "
                          "JOIN files f ON f.id = s.probe_file_id "
                          "JOIN mirror_files c ON c.file_id = f.id AND c.mirror_id = s.mirror_id "
                          "WHERE s.mirror_id = ?1 AND " FRESH_WHERE,
    [ST_PROBE_FILE_PICK] = "SELECT " FRESH_FILE_COLS " FROM mirror_files c "
                          "JOIN files f ON f.id = c.file_id WHERE c.mirror_id = ?1 AND "
                          FRESH_WHERE " AND f.size > 0 ORDER BY f.size, f.path LIMIT 1",
    [ST_PROBES_LATEST]  = "SELECT (SELECT count(*) FROM mirrors WHERE enabled), "
                          "coalesce((SELECT max(h.checked) FROM mirror_health h "
                          "JOIN mirrors m ON m.id = h.mirror_id WHERE m.enabled), 0)",
};

struct ms_db {
    apr_pool_t *pool;
    sqlite3 *sql;
    const char *path;
    int mode;
    int have_ident;
    dev_t dev;
    ino_t ino;
    uint64_t birth;               /* ms_file_birth: 0 when unknown */
    sqlite3_stmt *stmt[ST_COUNT];
    apr_pool_t *mirrors_pool;     /* owns the cached snapshot */
    ms_mirrors_t *mirrors;
    char errmsg[512];
    /* Readers: the generations as last read, and what the -wal looked like
     * then (see ms_db_generation). */
    int gen_known;
    int64_t gen_mirrors, gen_data;
    /* generation.epoch as last read (schema 006), part of the identity;
     * and the epoch the cached mirrors were read at. */
    int64_t epoch, mirrors_epoch;
    time_t gen_checked;
    struct stat wal_seen;
    int wal_existed;
    const char *wal_path;
};

/* Whether this user can write the -wal and -shm files beside the database:
 * those there, or, for those missing, create them in its directory dir. */
static int side_files_writable(const char *path, const char *dir)
{
    static const char *const suffix[] = { "-wal", "-shm" };
    char side[PATH_MAX];
    size_t i;

    for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        snprintf(side, sizeof(side), "%s%s", path, suffix[i]);
        if (access(side, F_OK) == 0 ? access(side, W_OK) != 0 : access(dir, W_OK | X_OK) != 0)
            return 0;
    }
    return 1;
}

/* What to do about an error that file permissions cause, in hint[size] (empty
 * when it is not that). In WAL mode every reader, httpd's user too, writes
 * the -shm file and creates the -wal and -shm files when they are missing,
 * and the tool writes them whoever made them: that hint only when this user
 * cannot, on a database that is a regular file. */
static void permission_hint(const ms_db_t *db, char *hint, size_t size)
{
    int rc = sqlite3_errcode(db->sql) & 0xff;     /* the primary code */
    const char *slash = strrchr(db->path, '/');
    char dir[PATH_MAX];
    struct stat sb;

    *hint = '\0';
    if (rc != SQLITE_READONLY && rc != SQLITE_CANTOPEN && rc != SQLITE_PERM)
        return;
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else
        snprintf(dir, sizeof(dir), "%.*s", slash == db->path ? 1 : (int)(slash - db->path),
                 db->path);
    if (stat(db->path, &sb) != 0) {
        if (errno == ENOENT && access(dir, W_OK | X_OK) != 0)
            snprintf(hint, size, " (cannot create it in %.120s: %s)", dir, strerror(errno));
        return;
    }
    if (!S_ISREG(sb.st_mode))         /* a directory is refused before SQLite sees it */
        return;
    if (access(db->path, R_OK) != 0)
        snprintf(hint, size, " (this user may not read the database file)");
    else if (db->mode != MS_DB_READONLY && access(db->path, W_OK) != 0)
        snprintf(hint, size, " (this user may not write the database file)");
    else if (!side_files_writable(db->path, dir))
        snprintf(hint, size, " (this user must be able to write the database's -wal and "
                 "-shm files, and to create them in its directory; see README, "
                 "\"Permissions\")");
}

static void set_error(ms_db_t *db, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_error(ms_db_t *db, const char *fmt, ...)
{
    char what[256], hint[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (db->sql && sqlite3_errcode(db->sql) != SQLITE_OK) {
        permission_hint(db, hint, sizeof(hint));
        snprintf(db->errmsg, sizeof(db->errmsg), "%s: %.200s: %s%.200s", db->path, what,
                 sqlite3_errmsg(db->sql), hint);
    }
    else
        snprintf(db->errmsg, sizeof(db->errmsg), "%s: %s", db->path, what);
}

const char *ms_db_errmsg(const ms_db_t *db) { return db->errmsg; }
int ms_db_schema_current(void) { return ms_schema_count; }

/* A statement ready for binding: prepared on first use, reset after. */
static sqlite3_stmt *stmt(ms_db_t *db, stmt_id id)
{
    if (!db->stmt[id]) {
        if (sqlite3_prepare_v3(db->sql, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                               &db->stmt[id], NULL) != SQLITE_OK) {
            set_error(db, "preparing a query");
            return NULL;
        }
    }
    return db->stmt[id];
}

static void done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Step st (bound) for its one row of one integer, into *out. */
static int step_int64(ms_db_t *db, sqlite3_stmt *st, int64_t *out, const char *what)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    done(st);
    if (rc != SQLITE_ROW) {
        set_error(db, "%s", what);
        return MS_ERR;
    }
    return MS_OK;
}

/* Bind a string, or NULL for a NULL or absent one. */
static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static const char *col_text(sqlite3_stmt *st, int i, apr_pool_t *p)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? apr_pstrdup(p, (const char *)s) : NULL;
}

static void col_code(char out[3], sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    out[0] = out[1] = out[2] = '\0';
    if (s && s[0] && s[1] && !s[2]) {
        out[0] = (char)s[0];
        out[1] = (char)s[1];
    }
}

/* Run a statement that returns no rows (or whose rows do not matter). */
static int step_done(ms_db_t *db, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        set_error(db, "%s", what);
        done(st);
        return MS_ERR;
    }
    done(st);
    return MS_OK;
}

static int exec(ms_db_t *db, const char *sql, const char *what)
{
    if (sqlite3_exec(db->sql, sql, NULL, NULL, NULL) != SQLITE_OK) {
        set_error(db, "%s", what);
        return MS_ERR;
    }
    return MS_OK;
}

/* --- open and close --- */

static apr_status_t db_cleanup(void *data)
{
    ms_db_t *db = data;
    int i;

    for (i = 0; i < ST_COUNT; i++) {
        if (db->stmt[i])
            sqlite3_finalize(db->stmt[i]);
        db->stmt[i] = NULL;
    }
    if (db->sql)
        sqlite3_close_v2(db->sql);
    db->sql = NULL;
    return APR_SUCCESS;
}

void ms_db_close(ms_db_t *db)
{
    apr_pool_destroy(db->pool);
}

static int read_user_version(ms_db_t *db, int *version)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (sqlite3_prepare_v2(db->sql, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) {
        set_error(db, "reading the schema version");
        return MS_ERR;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    else
        set_error(db, "reading the schema version");
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? MS_OK : MS_ERR;
}

/* How many tables, indexes, views and triggers the database holds (*count),
 * and the name of one of them in name[size], control bytes as '?' (it goes
 * to a terminal or a log). */
static int read_objects(ms_db_t *db, int *count, char *name, size_t size)
{
    sqlite3_stmt *st = NULL;
    const unsigned char *s;
    int rc;

    if (sqlite3_prepare_v2(db->sql, "SELECT count(*), min(name) FROM sqlite_master", -1, &st,
                           NULL) != SQLITE_OK) {
        set_error(db, "reading the schema");
        return MS_ERR;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *count = sqlite3_column_int(st, 0);
        s = sqlite3_column_text(st, 1);
        snprintf(name, size, "%s", s ? (const char *)s : "");
        for (; *name; name++)
            if ((unsigned char)*name < 0x20 || *name == 0x7f)
                *name = '?';
    }
    else
        set_error(db, "reading the schema");
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? MS_OK : MS_ERR;
}

/* At schema version 0: MS_OK when the database is empty (init creates the
 * schema), else MS_ERR with the message saying it is another program's. */
static int check_empty(ms_db_t *db)
{
    char name[64];
    int n = 0;

    if (read_objects(db, &n, name, sizeof(name)) != MS_OK)
        return MS_ERR;
    if (n == 0)
        return MS_OK;
    snprintf(db->errmsg, sizeof(db->errmsg),
             "%s: not a mirrorsel database: no mirrorsel schema version, but another "
             "program's tables (such as '%s')", db->path, name);
    return MS_ERR;
}

/* At schema version 1 or later: MS_OK when the tables every version has
 * are there, else MS_ERR saying it is another program's database (one
 * that keeps its own number in user_version). */
static int check_ours(ms_db_t *db, int version)
{
    sqlite3_stmt *st;
    int rc, n = 0;

    if (sqlite3_prepare_v2(db->sql, "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                           "AND name IN ('mirrors', 'files', 'generation')", -1, &st,
                           NULL) != SQLITE_OK) {
        set_error(db, "reading the schema");
        return MS_ERR;
    }
    if ((rc = sqlite3_step(st)) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    else
        set_error(db, "reading the schema");
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return MS_ERR;
    if (n == 3)
        return MS_OK;
    snprintf(db->errmsg, sizeof(db->errmsg),
             "%s: not a mirrorsel database: schema version %d, but not mirrorsel's tables",
             db->path, version);
    return MS_ERR;
}

static int check_schema(ms_db_t *db)
{
    int version = 0;

    if (read_user_version(db, &version) != MS_OK)
        return MS_ERR;
    if (version > 0 && version <= ms_schema_count && check_ours(db, version) != MS_OK)
        return MS_ERR;
    if (version == ms_schema_count)
        return MS_OK;
    if (version == 0 && check_empty(db) != MS_OK)
        return MS_ERR;
    if (version == 0)
        snprintf(db->errmsg, sizeof(db->errmsg),
                 "%s: not a mirrorsel database (schema version 0); run 'mirrorsel init'",
                 db->path);
    else if (version > ms_schema_count)
        snprintf(db->errmsg, sizeof(db->errmsg),
                 "%s: schema version %d is newer than this program's %d; upgrade mirrorsel",
                 db->path, version, ms_schema_count);
    else
        snprintf(db->errmsg, sizeof(db->errmsg),
                 "%s: schema version %d is older than %d; run 'mirrorsel init' to migrate",
                 db->path, version, ms_schema_count);
    return MS_ERR;
}

/* --- the holders bitmap's SQL functions (schema 003's triggers) --- */

/* A bitmap's length without its trailing zero bytes. */
static int bits_trimmed(const unsigned char *bits, int len)
{
    while (len > 0 && !bits[len - 1])
        len--;
    return len;
}

/* The mirror id argv names, or -1 (with the statement's error set) when it
 * is no id a bitmap can hold. */
static sqlite3_int64 holder_id(sqlite3_context *ctx, sqlite3_value *v, const char *fn)
{
    sqlite3_int64 id = sqlite3_value_int64(v);

    if (sqlite3_value_type(v) != SQLITE_INTEGER || id < 0 || id > MS_HOLDERS_MAX_ID) {
        char msg[96];

        snprintf(msg, sizeof(msg), "%s: mirror id is not an integer in 0..%d", fn,
                 MS_HOLDERS_MAX_ID);
        sqlite3_result_error(ctx, msg, -1);
        return -1;
    }
    return id;
}

/* ms_holders_set(bits, id, on): bits with mirror id's bit set (on true) or
 * cleared; NULL when no bit is left. */
static void fn_holders_set(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const unsigned char *old = sqlite3_value_blob(argv[0]);
    int len = old ? sqlite3_value_bytes(argv[0]) : 0;
    sqlite3_int64 id = holder_id(ctx, argv[1], "ms_holders_set");
    int on = sqlite3_value_int(argv[2]) != 0, need;
    unsigned char *bits;

    (void)argc;
    if (id < 0)
        return;
    if (!on && id >> 3 >= len) {             /* clear and not there: as it was */
        sqlite3_result_value(ctx, argv[0]);
        return;
    }
    need = len > (int)(id >> 3) ? len : (int)(id >> 3) + 1;
    if (!(bits = sqlite3_malloc(need))) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (len > 0)
        memcpy(bits, old, (size_t)len);
    memset(bits + len, 0, (size_t)(need - len));
    if (on)
        bits[id >> 3] |= (unsigned char)(1u << (id & 7));
    else
        bits[id >> 3] &= (unsigned char)~(1u << (id & 7));
    if (!(need = bits_trimmed(bits, need))) {
        sqlite3_free(bits);
        sqlite3_result_null(ctx);
        return;
    }
    sqlite3_result_blob(ctx, bits, need, sqlite3_free);
}

typedef struct holders_agg {
    unsigned char *bits;
    int len;
} holders_agg;

/* ms_holders_agg(id): the bitmap of the ids aggregated; NULL for none. */
static void fn_holders_agg_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    holders_agg *a = sqlite3_aggregate_context(ctx, sizeof(*a));
    sqlite3_int64 id;

    (void)argc;
    if (!a) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if ((id = holder_id(ctx, argv[0], "ms_holders_agg")) < 0)
        return;
    if (id >> 3 >= a->len) {
        int need = (int)(id >> 3) + 1;
        unsigned char *bits = sqlite3_realloc(a->bits, need);

        if (!bits) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
        memset(bits + a->len, 0, (size_t)(need - a->len));
        a->bits = bits;
        a->len = need;
    }
    a->bits[id >> 3] |= (unsigned char)(1u << (id & 7));
}

static void fn_holders_agg_final(sqlite3_context *ctx)
{
    holders_agg *a = sqlite3_aggregate_context(ctx, 0);

    if (!a || !a->bits) {
        sqlite3_result_null(ctx);
        return;
    }
    sqlite3_result_blob(ctx, a->bits, a->len, sqlite3_free);
    a->bits = NULL;
}

/* --- the path buckets' function (schema 005's triggers) --- */

unsigned ms_path_bucket(const char *path, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)path[i];
        h *= 0x100000001b3ULL;
    }
    return (unsigned)(h % MS_DATA_BUCKETS);
}

/* ms_path_bucket(path): the bucket of a path given as text. */
static void fn_path_bucket(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const unsigned char *s = sqlite3_value_text(argv[0]);

    (void)argc;
    if (!s) {
        sqlite3_result_error(ctx, "ms_path_bucket: the path is NULL", -1);
        return;
    }
    sqlite3_result_int(ctx, (int)ms_path_bucket((const char *)s,
                                                (size_t)sqlite3_value_bytes(argv[0])));
}

/* What schema 003's and 005's triggers call: every handle that may write
 * has them. */
static int register_functions(ms_db_t *db)
{
    const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;

    if (sqlite3_create_function(db->sql, "ms_holders_set", 3, flags, NULL, fn_holders_set,
                                NULL, NULL) != SQLITE_OK
        || sqlite3_create_function(db->sql, "ms_holders_agg", 1, flags, NULL, NULL,
                                   fn_holders_agg_step, fn_holders_agg_final) != SQLITE_OK
        || sqlite3_create_function(db->sql, "ms_path_bucket", 1, flags, NULL, fn_path_bucket,
                                   NULL, NULL) != SQLITE_OK) {
        set_error(db, "registering the triggers' functions");
        return MS_ERR;
    }
    return MS_OK;
}

/* What tells this file from a later one given the same inode number
 * (ext4 hands a freed number out again at once, so a database replaced by
 * rename twice may come back with its first inode): the inode's birth time
 * in nanoseconds (statx), else its generation number (FS_IOC_GETVERSION,
 * which NFS uses for the same purpose), else 0. */
static uint64_t file_birth(const char *path)
{
    struct statx stx;
    int fd, version = 0;

    if (statx(AT_FDCWD, path, 0, STATX_BTIME, &stx) == 0 && (stx.stx_mask & STATX_BTIME))
        return (uint64_t)stx.stx_btime.tv_sec * UINT64_C(1000000000) + stx.stx_btime.tv_nsec;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    if (ioctl(fd, FS_IOC_GETVERSION, &version) != 0)
        version = 0;
    close(fd);
    return (uint32_t)version;
}

int ms_db_open(ms_db_t **out, const char *path, int mode, apr_pool_t *p,
               const char **err)
{
    apr_pool_t *pool;
    ms_db_t *db;
    struct stat sb;
    int flags;

    *out = NULL;
    apr_pool_create(&pool, p);
    db = apr_pcalloc(pool, sizeof(*db));
    db->pool = pool;
    db->path = apr_pstrdup(pool, path);
    db->mode = mode;
    apr_pool_cleanup_register(pool, db, db_cleanup, apr_pool_cleanup_null);

    if (stat(path, &sb) != 0) {
        if (mode != MS_DB_CREATE) {
            snprintf(db->errmsg, sizeof(db->errmsg), "%s: %s", path, strerror(errno));
            goto fail;
        }
    }
    else if (S_ISDIR(sb.st_mode)) {
        snprintf(db->errmsg, sizeof(db->errmsg), "%s: is a directory, not a database file",
                 path);
        goto fail;
    }
    flags = SQLITE_OPEN_NOMUTEX;
    flags |= mode == MS_DB_READONLY ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (mode == MS_DB_CREATE)
        flags |= SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &db->sql, flags, NULL) != SQLITE_OK) {
        set_error(db, "opening");
        goto fail;
    }
    sqlite3_extended_result_codes(db->sql, 1);
    /* Readers never wait on the tool long: WAL lets them read while it
     * writes; the timeout only covers checkpoints and recovery. */
    sqlite3_busy_timeout(db->sql, mode == MS_DB_READONLY ? 500 : 10000);
    db->wal_path = apr_pstrcat(pool, path, "-wal", NULL);
    /* Readers read (pread) into a small private cache and do not map the
     * file. Mapping saves a copy per page read, but every handle maps it
     * apart and each page it touches counts again in the process's RSS:
     * measured with `make bench` (1M files, 6.75 GB, 8 handles), mmap gave
     * children of 1.8 GB RSS / 540 MB PSS for about 5 % more requests/s;
     * pread gives 99 MB RSS / 68 MB PSS (most of it the mmdb and the
     * per-process caches, the file's pages staying in the kernel's page
     * cache, shared and reclaimable). A redirect mostly comes from the
     * per-process caches, so the copy is paid on cache misses only.
     * The cache is 256 KB: a miss at 1M files took the same time with 64 KB,
     * 256 KB, 1 MB and 16 MB (build/lookup_bench, in alternation: the tree
     * of copies is too large for any of them to keep its inner pages), and
     * each of a child's 8 handles keeps what it has filled. */
    if (mode == MS_DB_READONLY
        && exec(db, "PRAGMA mmap_size = 0; PRAGMA cache_size = -256",
                "setting pragmas") != MS_OK)
        goto fail;
    if (stat(path, &sb) == 0) {
        db->dev = sb.st_dev;
        db->ino = sb.st_ino;
        db->birth = file_birth(path);
        db->have_ident = 1;
    }
    /* No SQLITE_FCNTL_PERSIST_WAL: a -wal left behind would be replayed
     * over a database replaced by rename. Readers therefore need to be
     * able to create -shm in the database's directory (see README). */
    if (mode != MS_DB_READONLY
        && (exec(db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL",
                 "setting pragmas") != MS_OK
            || register_functions(db) != MS_OK))
        goto fail;
    if (mode != MS_DB_CREATE && check_schema(db) != MS_OK)
        goto fail;
    *out = db;
    return MS_OK;

fail:
    if (err)
        *err = apr_pstrdup(p, db->errmsg);
    apr_pool_destroy(pool);
    return MS_ERR;
}

int ms_db_replaced(const ms_db_t *db)
{
    struct stat sb;

    if (stat(db->path, &sb) != 0)
        return 1;
    return !db->have_ident || sb.st_dev != db->dev || sb.st_ino != db->ino;
}

uint64_t ms_db_identity(const ms_db_t *db)
{
    return ((uint64_t)db->dev << 40) ^ (uint64_t)db->ino
           ^ (db->birth * UINT64_C(0x9e3779b97f4a7c15))
           ^ ((uint64_t)db->epoch * UINT64_C(0xc2b2ae3d27d4eb4f));
}

/* Switch to WAL; SQLite answers with the mode it is in, which is not WAL
 * when the file cannot have it (say, no shared memory where it lies). */
static int set_wal(ms_db_t *db)
{
    sqlite3_stmt *st = NULL;
    const unsigned char *mode;
    int rc, ok = 0;

    if (sqlite3_prepare_v2(db->sql, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK) {
        set_error(db, "switching to WAL");
        return MS_ERR;
    }
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        set_error(db, "switching to WAL");
    else if (!(mode = sqlite3_column_text(st, 0)) || sqlite3_stricmp((const char *)mode, "wal"))
        snprintf(db->errmsg, sizeof(db->errmsg), "%s: switching to WAL: the journal mode "
                 "stays %.20s", db->path, mode ? (const char *)mode : "unknown");
    else
        ok = 1;
    sqlite3_finalize(st);
    return ok ? MS_OK : MS_ERR;
}

/* Every step in one transaction (the migrations are plain DDL and DML), so
 * an init that fails at any step leaves the file as it was; the version is
 * read inside it, so two inits at once migrate once. */
int ms_db_migrate(ms_db_t *db, int *from, int *to)
{
    char keep[sizeof(db->errmsg)], setver[64];
    int version = 0, v;

    *from = *to = 0;
    if (exec(db, "BEGIN IMMEDIATE", "starting a migration") != MS_OK)
        return MS_ERR;
    if (read_user_version(db, &version) != MS_OK)
        goto fail;
    *from = *to = version;
    if (version > ms_schema_count) {
        snprintf(db->errmsg, sizeof(db->errmsg),
                 "%s: schema version %d is newer than this program's %d; upgrade mirrorsel",
                 db->path, version, ms_schema_count);
        goto fail;
    }
    /* Another program's database is not made ours. */
    if (version == 0 ? check_empty(db) != MS_OK : check_ours(db, version) != MS_OK)
        goto fail;
    for (v = version; v < ms_schema_count; v++) {
        snprintf(setver, sizeof(setver), "PRAGMA user_version = %d", v + 1);
        if (exec(db, ms_schema_migrations[v], "applying a migration") != MS_OK
            || exec(db, setver, "recording the schema version") != MS_OK) {
            memcpy(keep, db->errmsg, sizeof(keep));
            snprintf(db->errmsg, sizeof(db->errmsg), "migration %d: %.400s", v + 1, keep);
            goto fail;
        }
    }
    if (exec(db, "COMMIT", "committing the migration") != MS_OK)
        goto fail;
    *to = ms_schema_count;
    /* WAL lets the module read while the tool writes. It is a property of
     * the file, set only now that the schema is whole: an init that fails
     * (another program's database, a migration that fails) leaves the
     * file as it was. Setting it again on a current schema is a no-op. */
    return set_wal(db);

fail:
    sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
    *to = *from;
    return MS_ERR;
}

int ms_db_begin(ms_db_t *db)
{
    sqlite3_stmt *st;

    if (db->mode != MS_DB_READONLY)
        return exec(db, "BEGIN IMMEDIATE", "starting a transaction");
    if (!(st = stmt(db, ST_BEGIN_READ)))
        return MS_ERR;
    return step_done(db, st, "starting a transaction");
}

int ms_db_restore(ms_db_t *db, ms_db_t *from)
{
    sqlite3_backup *bk = sqlite3_backup_init(db->sql, "main", from->sql, "main");
    int rc;

    if (!bk) {
        set_error(db, "restoring %s", from->path);
        return MS_ERR;
    }
    rc = sqlite3_backup_step(bk, -1);
    sqlite3_backup_finish(bk);          /* its error, if any, is rc's */
    if (rc != SQLITE_DONE) {
        snprintf(db->errmsg, sizeof(db->errmsg), "%s: restoring %s: %s; the database is as "
                 "it was", db->path, from->path, sqlite3_errstr(rc));
        return MS_ERR;
    }
    /* A new epoch (schema 006): the same database's backup shares the old
     * one, and its generations will be used again by the next writes with
     * other contents; the module's caches must not take them for the old. */
    return exec(db, "UPDATE generation SET epoch = random() WHERE id = 1",
                "drawing a new epoch after the restore");
}

int ms_db_commit(ms_db_t *db)
{
    return exec(db, "COMMIT", "committing");
}

void ms_db_rollback(ms_db_t *db)
{
    sqlite3_stmt *st;

    if (sqlite3_get_autocommit(db->sql))
        return;
    if (db->mode == MS_DB_READONLY && (st = stmt(db, ST_ROLLBACK))) {
        sqlite3_step(st);
        done(st);
    }
    else
        sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
}

void ms_db_process_init(void)
{
    /* SQLite counts every allocation under one process-wide mutex unless
     * told not to; with dozens of threads on few cores that mutex convoys.
     * Only possible before SQLite is initialised: later (another module
     * got there first) the call fails harmlessly and the counting stays. */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* --- mirrors --- */

static const char *const scope_names[] = {
    [MS_SCOPE_PREFIX] = "prefix", [MS_SCOPE_ASN] = "asn",
    [MS_SCOPE_COUNTRY] = "country", [MS_SCOPE_CONTINENT] = "continent",
    [MS_SCOPE_WORLD] = "world",
};

const char *ms_scope_name(int scope)
{
    if (scope < 1 || scope > MS_SCOPE_WORLD || !scope_names[scope])
        return "world";
    return scope_names[scope];
}

int ms_scope_parse(const char *s)
{
    int i;
    for (i = 1; i <= MS_SCOPE_WORLD; i++)
        if (scope_names[i] && s && strcmp(s, scope_names[i]) == 0)
            return i;
    return -1;
}

static void mirror_from_row(ms_mirror_t *m, sqlite3_stmt *st, apr_pool_t *p)
{
    int scope;

    memset(m, 0, sizeof(*m));
    m->id = sqlite3_column_int64(st, MC_ID);
    m->name = col_text(st, MC_NAME, p);
    m->http_url = col_text(st, MC_HTTP, p);
    m->https_url = col_text(st, MC_HTTPS, p);
    m->scan_url = col_text(st, MC_SCAN, p);
    col_code(m->country, st, MC_COUNTRY);
    col_code(m->continent, st, MC_CONTINENT);
    m->has_coords = sqlite3_column_type(st, MC_LAT) != SQLITE_NULL
                    && sqlite3_column_type(st, MC_LON) != SQLITE_NULL;
    m->lat = sqlite3_column_double(st, MC_LAT);
    m->lon = sqlite3_column_double(st, MC_LON);
    m->asn = (uint32_t)sqlite3_column_int64(st, MC_ASN);
    m->weight = sqlite3_column_int(st, MC_WEIGHT);
    m->max_size = sqlite3_column_int64(st, MC_MAX_SIZE);
    scope = ms_scope_parse((const char *)sqlite3_column_text(st, MC_SCOPE));
    m->scope = scope < 0 ? MS_SCOPE_WORLD : scope;
    m->other_countries = col_text(st, MC_OTHER, p);
    if (!m->other_countries)
        m->other_countries = "";
    m->fallback = sqlite3_column_int(st, MC_FALLBACK) != 0;
    m->enabled = sqlite3_column_int(st, MC_ENABLED) != 0;
    m->prefixes = apr_array_make(p, 0, sizeof(ms_cidr_t));
}

/* Bind the mirror's fields as ?1..?15, in the order of ST_MIRROR_INSERT. */
static void mirror_bind(sqlite3_stmt *st, const ms_mirror_t *m)
{
    sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
    bind_text(st, 2, m->http_url);
    bind_text(st, 3, m->https_url);
    bind_text(st, 4, m->scan_url);
    sqlite3_bind_text(st, 5, m->country, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, m->continent, -1, SQLITE_STATIC);
    if (m->has_coords) {
        sqlite3_bind_double(st, 7, m->lat);
        sqlite3_bind_double(st, 8, m->lon);
    }
    else {
        sqlite3_bind_null(st, 7);
        sqlite3_bind_null(st, 8);
    }
    sqlite3_bind_int64(st, 9, m->asn);
    sqlite3_bind_int(st, 10, m->weight);
    sqlite3_bind_int64(st, 11, m->max_size);
    sqlite3_bind_text(st, 12, ms_scope_name(m->scope), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, m->other_countries ? m->other_countries : "", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int(st, 14, m->fallback ? 1 : 0);
    sqlite3_bind_int(st, 15, m->enabled ? 1 : 0);
}

static void health_from_row(ms_health_t *h, sqlite3_stmt *st, apr_pool_t *p)
{
    h->known = 1;
    h->up = sqlite3_column_int(st, HC_UP) != 0;
    h->checked = sqlite3_column_int64(st, HC_CHECKED);
    h->latency_ms = sqlite3_column_int(st, HC_LATENCY);
    h->failures = sqlite3_column_int(st, HC_FAILURES);
    h->status = sqlite3_column_int(st, HC_STATUS);
    h->error = col_text(st, HC_ERROR, p);
    if (!h->error)
        h->error = "";
}

/* The health slot of a row: scheme and family as stored. */
static ms_health_t *health_slot(ms_mirror_t *m, sqlite3_stmt *st)
{
    const char *scheme = (const char *)sqlite3_column_text(st, HC_SCHEME);
    int family = sqlite3_column_int(st, HC_FAMILY);
    int s = scheme && strcmp(scheme, "https") == 0 ? MS_HTTPS : MS_HTTP;
    return &m->health[s][MS_FAM(family)];
}

static void add_prefix(ms_mirror_t *m, sqlite3_stmt *st, int col)
{
    ms_cidr_t c;
    const char *text = (const char *)sqlite3_column_text(st, col);
    if (text && ms_cidr_parse(&c, text) == 0)
        *(ms_cidr_t *)apr_array_push(m->prefixes) = c;
}

/* A direct index by id, so the request path finds a copy's mirror in one
 * step. Ids are rowids, dense unless many mirrors were removed; a sparse set
 * (more than 16 slots per mirror) falls back to the binary search. */
static void index_by_id(ms_mirrors_t *ms)
{
    int i;

    ms->max_id = ms->count ? ms->mirror[ms->count - 1]->id : 0;
    ms->by_id = NULL;
    ms->ids = NULL;
    if (ms->count > 0 && ms->mirror[0]->id >= 0 && ms->max_id <= (int64_t)UINT32_MAX) {
        ms->ids = apr_palloc(ms->pool, ms->count * sizeof(*ms->ids));
        for (i = 0; i < ms->count; i++)
            ms->ids[i] = (uint32_t)ms->mirror[i]->id;
    }
    if (ms->max_id < 0 || ms->max_id > 16 * (int64_t)ms->count + 64)
        return;
    ms->by_id = apr_pcalloc(ms->pool, (ms->max_id + 1) * sizeof(*ms->by_id));
    for (i = 0; i < ms->count; i++)
        ms->by_id[ms->mirror[i]->id] = ms->mirror[i];
}

const ms_mirror_t *ms_mirrors_find(const ms_mirrors_t *ms, int64_t id)
{
    int lo = 0, hi = ms->count - 1;

    if (ms->by_id)
        return id >= 0 && id <= ms->max_id ? ms->by_id[id] : NULL;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (ms->mirror[mid]->id == id)
            return ms->mirror[mid];
        if (ms->mirror[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}


/* Every commit in WAL mode appends to the -wal (or recreates it), which moves
 * its size or mtime; while neither moved, the generations read last are still
 * the truth. A reader therefore asks SQLite only when the -wal changed, and at
 * least once a second in case a commit fell within the file system's
 * timestamp granularity with an unchanged size. */
static int wal_unchanged(ms_db_t *db, struct stat *now_sb, int *exists, time_t now)
{
    *exists = stat(db->wal_path, now_sb) == 0;
    if (!db->gen_known || now != db->gen_checked || *exists != db->wal_existed)
        return 0;
    if (!*exists)
        return 1;
    return now_sb->st_ino == db->wal_seen.st_ino && now_sb->st_size == db->wal_seen.st_size
           && now_sb->st_mtim.tv_sec == db->wal_seen.st_mtim.tv_sec
           && now_sb->st_mtim.tv_nsec == db->wal_seen.st_mtim.tv_nsec;
}

/* Read the counters themselves; remember them (readers) with the -wal as
 * it looked (sb, exists) for the shortcut above. */
static int read_generation(ms_db_t *db, int64_t *mirrors, int64_t *data,
                           const struct stat *sb, int exists, time_t now)
{
    sqlite3_stmt *st;
    int rc;

    if (!(st = stmt(db, ST_GENERATION)))
        return MS_ERR;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *mirrors = sqlite3_column_int64(st, 0);
        *data = sqlite3_column_int64(st, 1);
        db->epoch = sqlite3_column_int64(st, 2);
    }
    else
        set_error(db, "reading the generation");
    done(st);
    db->gen_known = rc == SQLITE_ROW && db->mode == MS_DB_READONLY;
    if (db->gen_known) {
        db->gen_mirrors = *mirrors;
        db->gen_data = *data;
        db->gen_checked = now;
        db->wal_existed = exists;
        if (exists)
            db->wal_seen = *sb;
    }
    return rc == SQLITE_ROW ? MS_OK : MS_ERR;
}

int ms_db_generation(ms_db_t *db, int64_t *mirrors, int64_t *data)
{
    struct stat sb;
    int exists = 0;
    time_t now = time(NULL);

    if (db->mode == MS_DB_READONLY && wal_unchanged(db, &sb, &exists, now)) {
        *mirrors = db->gen_mirrors;
        *data = db->gen_data;
        return MS_OK;
    }
    return read_generation(db, mirrors, data, &sb, exists, now);
}

int ms_db_generation_now(ms_db_t *db, int64_t *mirrors, int64_t *data)
{
    struct stat sb;
    int exists = db->mode == MS_DB_READONLY && stat(db->wal_path, &sb) == 0;

    return read_generation(db, mirrors, data, &sb, exists, time(NULL));
}

int ms_db_data_buckets(ms_db_t *db, int64_t since, int64_t *gens, int64_t *floor)
{
    sqlite3_stmt *st;
    int rc;

    if (!(st = stmt(db, ST_DATA_FLOOR))
        || step_int64(db, st, floor, "reading the data generation's floor") != MS_OK)
        return MS_ERR;
    if (!gens)
        return MS_OK;
    if (!(st = stmt(db, ST_DATA_BUCKETS)))
        return MS_ERR;
    sqlite3_bind_int64(st, 1, since);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_int64 b = sqlite3_column_int64(st, 0);

        if (b >= 0 && b < MS_DATA_BUCKETS)     /* another writer's rows: ignored */
            gens[b] = sqlite3_column_int64(st, 1);
    }
    done(st);
    if (rc != SQLITE_DONE) {
        set_error(db, "reading the data buckets");
        return MS_ERR;
    }
    return MS_OK;
}

int ms_db_bucket_since(ms_db_t *db, const char *path, int64_t *since)
{
    sqlite3_stmt *st;

    if (!(st = stmt(db, ST_BUCKET_SINCE)))
        return MS_ERR;
    sqlite3_bind_int(st, 1, (int)ms_path_bucket(path, strlen(path)));
    return step_int64(db, st, since, "reading the path's bucket");
}

/* The enabled mirrors' prefixes in one array, in mirror order. */
static void prefix_table(ms_mirrors_t *ms)
{
    int i, j, n = 0;

    for (i = 0; i < ms->count; i++)
        if (ms->mirror[i]->enabled && ms->mirror[i]->prefixes)
            n += ms->mirror[i]->prefixes->nelts;
    ms->prefix_count = 0;
    ms->prefixes = apr_palloc(ms->pool, (n + 1) * sizeof(*ms->prefixes));
    for (i = 0; i < ms->count; i++) {
        const ms_mirror_t *m = ms->mirror[i];

        for (j = 0; m->enabled && m->prefixes && j < m->prefixes->nelts; j++) {
            ms->prefixes[ms->prefix_count].cidr = APR_ARRAY_IDX(m->prefixes, j, ms_cidr_t);
            ms->prefixes[ms->prefix_count++].index = i;
        }
    }
}

_Static_assert(offsetof(ms_mirror_t, text) == 64,
               "what a redirect reads of a mirror fits in its first 64 bytes");

int ms_text_fit(const char *s, unsigned char lo, const char *no)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t banned[4] = { 0, 0, 0, 0 };      /* a bit per ASCII byte of no */

    if (!u || !*u)
        return 0;
    for (; *no; no++)
        if ((unsigned char)*no < 0x80)
            banned[(unsigned char)*no >> 5] |= 1u << (*no & 31);
    for (; *u; u++)
        if (*u < lo || *u > 0x7e || (banned[*u >> 5] >> (*u & 31) & 1))
            return 0;
    return 1;
}

unsigned ms_mirror_text(const ms_mirror_t *m)
{
    unsigned t = MS_TEXT_JUDGED;

    if (ms_text_fit(m->name, 0x20, ""))
        t |= MS_TEXT_NAME;
    if (ms_text_fit(m->http_url, 0x21, ""))
        t |= MS_TEXT_HTTP;
    if (ms_text_fit(m->http_url, 0x21, "<>"))
        t |= MS_TEXT_HTTP_LINK;
    if (ms_text_fit(m->https_url, 0x21, ""))
        t |= MS_TEXT_HTTPS;
    if (ms_text_fit(m->https_url, 0x21, "<>"))
        t |= MS_TEXT_HTTPS_LINK;
    return t;
}

int ms_mirror_url_fit(const ms_mirror_t *m, const char *url, int link)
{
    unsigned t = m->text & MS_TEXT_JUDGED ? m->text : ms_mirror_text(m);

    if (!url)
        return 0;
    if (url == m->https_url)
        return (t & (link ? MS_TEXT_HTTPS_LINK : MS_TEXT_HTTPS)) != 0;
    if (url == m->http_url)
        return (t & (link ? MS_TEXT_HTTP_LINK : MS_TEXT_HTTP)) != 0;
    return ms_text_fit(url, 0x21, link ? "<>" : "");
}

/* Each mirror's strings judged once, not on every redirect. */
static void judge_text(ms_mirrors_t *ms)
{
    int i;

    for (i = 0; i < ms->count; i++)
        ms->mirror[i]->text = ms_mirror_text(ms->mirror[i]);
}

void ms_mirrors_prepare(ms_mirrors_t *ms)
{
    if (!ms->order_gen)
        ms->order_gen = ms->generation;
    index_by_id(ms);
    prefix_table(ms);
    judge_text(ms);
}

static int load_mirrors(ms_mirrors_t *ms, ms_db_t *db)
{
    apr_array_header_t *list = apr_array_make(ms->pool, 16, sizeof(ms_mirror_t *));
    sqlite3_stmt *st;
    int rc;

    if (!(st = stmt(db, ST_MIRRORS_ALL)))
        return MS_ERR;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ms_mirror_t *m = apr_palloc(ms->pool, sizeof(*m));
        mirror_from_row(m, st, ms->pool);
        *(ms_mirror_t **)apr_array_push(list) = m;
    }
    done(st);
    if (rc != SQLITE_DONE) {
        set_error(db, "reading mirrors");
        return MS_ERR;
    }
    ms->count = list->nelts;
    ms->mirror = (ms_mirror_t **)list->elts;
    index_by_id(ms);

    if (!(st = stmt(db, ST_PREFIXES_ALL)))
        return MS_ERR;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ms_mirror_t *m = (ms_mirror_t *)ms_mirrors_find(ms, sqlite3_column_int64(st, PC_MIRROR));
        if (m)
            add_prefix(m, st, PC_PREFIX);
    }
    done(st);
    if (rc != SQLITE_DONE) {
        set_error(db, "reading mirror prefixes");
        return MS_ERR;
    }

    prefix_table(ms);
    judge_text(ms);

    if (!(st = stmt(db, ST_HEALTH_ALL)))
        return MS_ERR;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ms_mirror_t *m = (ms_mirror_t *)ms_mirrors_find(ms, sqlite3_column_int64(st, HC_MIRROR));
        if (m)
            health_from_row(health_slot(m, st), st, ms->pool);
    }
    done(st);
    if (rc != SQLITE_DONE) {
        set_error(db, "reading mirror health");
        return MS_ERR;
    }
    return MS_OK;
}

/* The mirror_set generation, into *out. */
static int read_mirror_set(ms_db_t *db, int64_t *out)
{
    sqlite3_stmt *st;

    if (!(st = stmt(db, ST_MIRROR_SET)))
        return MS_ERR;
    return step_int64(db, st, out, "reading the generation");
}

/* In a transaction of ms_db_mirrors_load's own: MS_OK when the database
 * is still at mirrors generation gen and the epoch read last, so what it
 * reads may be labelled with them; MS_ERR (the caller reads again) when a
 * commit or another database came in between. */
static int still_at(ms_db_t *db, int64_t gen)
{
    sqlite3_stmt *st = stmt(db, ST_GENERATION);
    int rc, same = 0;

    if (!st)
        return MS_ERR;
    if ((rc = sqlite3_step(st)) == SQLITE_ROW)
        same = sqlite3_column_int64(st, 0) == gen && sqlite3_column_int64(st, 2) == db->epoch;
    done(st);
    if (rc != SQLITE_ROW)
        set_error(db, "reading the generation");
    else if (!same)
        snprintf(db->errmsg, sizeof(db->errmsg), "%s: the mirrors changed while they "
                 "were read", db->path);
    return same ? MS_OK : MS_ERR;
}

int ms_db_mirrors_load(ms_mirrors_t **out, ms_db_t *db, int64_t gen, apr_pool_t *pool)
{
    ms_mirrors_t *ms = apr_pcalloc(pool, sizeof(*ms));
    sqlite3_stmt *begin;
    int own = sqlite3_get_autocommit(db->sql), rc;

    ms->pool = pool;
    ms->generation = gen;
    /* Mirrors, prefixes, health and mirror_set from one snapshot: a read
     * transaction of its own when the caller has none open, in which the
     * generation and epoch the caller read before must still hold. */
    if (own && (!(begin = stmt(db, ST_BEGIN_READ))
                || step_done(db, begin, "starting a transaction") != MS_OK))
        return MS_ERR;
    rc = (!own || still_at(db, gen) == MS_OK) && read_mirror_set(db, &ms->order_gen) == MS_OK
         ? load_mirrors(ms, db) : MS_ERR;
    if (own)
        ms_db_rollback(db);
    if (rc != MS_OK)
        return MS_ERR;
    *out = ms;
    return MS_OK;
}

int ms_db_mirrors_at(const ms_mirrors_t **out, ms_db_t *db, int64_t gen)
{
    apr_pool_t *pool;
    ms_mirrors_t *ms;

    if (db->mirrors && db->mirrors->generation == gen && db->mirrors_epoch == db->epoch) {
        *out = db->mirrors;
        return MS_OK;
    }
    apr_pool_create(&pool, db->pool);
    if (ms_db_mirrors_load(&ms, db, gen, pool) != MS_OK) {
        apr_pool_destroy(pool);
        return MS_ERR;
    }
    if (db->mirrors_pool)
        apr_pool_destroy(db->mirrors_pool);
    db->mirrors_pool = pool;
    db->mirrors = ms;
    db->mirrors_epoch = db->epoch;
    *out = ms;
    return MS_OK;
}

int ms_db_mirrors(const ms_mirrors_t **out, ms_db_t *db)
{
    int64_t gen, data;
    int own = sqlite3_get_autocommit(db->sql), rc;
    sqlite3_stmt *begin;

    /* The generation and the mirrors from one snapshot (a deferred BEGIN:
     * a writer's handle takes no write lock to read). */
    if (own && (!(begin = stmt(db, ST_BEGIN_READ))
                || step_done(db, begin, "starting a transaction") != MS_OK))
        return MS_ERR;
    rc = ms_db_generation_now(db, &gen, &data) == MS_OK ? ms_db_mirrors_at(out, db, gen)
                                                        : MS_ERR;
    if (own)
        ms_db_rollback(db);
    return rc;
}

int ms_db_mirror_get(ms_mirror_t **out, ms_db_t *db, const char *name, apr_pool_t *p)
{
    sqlite3_stmt *st;
    ms_mirror_t *m;
    int rc;

    *out = NULL;
    if (!(st = stmt(db, ST_MIRROR_BY_NAME)))
        return MS_ERR;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        done(st);
        if (rc == SQLITE_DONE)
            return MS_NOTFOUND;
        set_error(db, "reading mirror %s", name);
        return MS_ERR;
    }
    m = apr_palloc(p, sizeof(*m));
    mirror_from_row(m, st, p);
    done(st);

    if (!(st = stmt(db, ST_PREFIXES_OF)))
        return MS_ERR;
    sqlite3_bind_int64(st, 1, m->id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        add_prefix(m, st, PC_PREFIX);
    done(st);
    if (rc != SQLITE_DONE) {
        set_error(db, "reading prefixes of %s", name);
        return MS_ERR;
    }

    if (!(st = stmt(db, ST_HEALTH_OF)))
        return MS_ERR;
    sqlite3_bind_int64(st, 1, m->id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        health_from_row(health_slot(m, st), st, p);
    done(st);
    if (rc != SQLITE_DONE) {
        set_error(db, "reading health of %s", name);
        return MS_ERR;
    }
    *out = m;
    return MS_OK;
}

static int put_prefixes(ms_db_t *db, const ms_mirror_t *m)
{
    sqlite3_stmt *st;
    int i;

    if (!(st = stmt(db, ST_PREFIXES_DELETE)))
        return MS_ERR;
    sqlite3_bind_int64(st, 1, m->id);
    if (step_done(db, st, "clearing prefixes") != MS_OK)
        return MS_ERR;
    for (i = 0; m->prefixes && i < m->prefixes->nelts; i++) {
        const ms_cidr_t *c = &APR_ARRAY_IDX(m->prefixes, i, ms_cidr_t);
        char text[64];
        if (!(st = stmt(db, ST_PREFIX_INSERT)))
            return MS_ERR;
        ms_cidr_format(c, text, sizeof(text));
        sqlite3_bind_int64(st, 1, m->id);
        sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 3, c->net.family);
        if (step_done(db, st, "storing a prefix") != MS_OK)
            return MS_ERR;
    }
    return MS_OK;
}

int ms_db_mirror_insert(ms_db_t *db, ms_mirror_t *m)
{
    sqlite3_stmt *st = stmt(db, ST_MIRROR_INSERT);
    int rc;

    if (!st)
        return MS_ERR;
    mirror_bind(st, m);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        set_error(db, "adding mirror %s", m->name);
        done(st);
        return MS_ERR;
    }
    m->id = sqlite3_column_int64(st, 0);
    done(st);
    return put_prefixes(db, m);
}

int ms_db_mirror_update(ms_db_t *db, const ms_mirror_t *m)
{
    sqlite3_stmt *st = stmt(db, ST_MIRROR_UPDATE);

    if (!st)
        return MS_ERR;
    mirror_bind(st, m);
    sqlite3_bind_int64(st, 16, m->id);
    if (step_done(db, st, "updating a mirror") != MS_OK)
        return MS_ERR;
    return put_prefixes(db, m);
}

int ms_db_mirror_remove(ms_db_t *db, int64_t id)
{
    sqlite3_stmt *st = stmt(db, ST_MIRROR_DELETE);

    if (!st)
        return MS_ERR;
    sqlite3_bind_int64(st, 1, id);
    return step_done(db, st, "removing a mirror");
}

/* --- files --- */

static void file_from_row(ms_file_t *f, sqlite3_stmt *st, apr_pool_t *p)
{
    const unsigned char *sha = sqlite3_column_text(st, FC_SHA256);

    f->id = sqlite3_column_int64(st, FC_ID);
    f->path = p ? col_text(st, FC_PATH, p) : (const char *)sqlite3_column_text(st, FC_PATH);
    f->size = sqlite3_column_int64(st, FC_SIZE);
    f->mtime = sqlite3_column_int64(st, FC_MTIME);
    f->sha256_raw = NULL;
    f->indexed = 0;
    if (!sha || strlen((const char *)sha) != 64)
        f->sha256 = NULL;
    else
        f->sha256 = p ? apr_pstrdup(p, (const char *)sha) : (const char *)sha;
}

int ms_db_file_get(ms_file_t **out, ms_db_t *db, const char *path, apr_pool_t *p)
{
    sqlite3_stmt *st = stmt(db, ST_FILE_BY_PATH);
    int rc;

    *out = NULL;
    if (!st)
        return MS_ERR;
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = apr_palloc(p, sizeof(ms_file_t));
        file_from_row(*out, st, p);
    }
    else if (rc != SQLITE_DONE)
        set_error(db, "looking up a file");
    done(st);
    return rc == SQLITE_ROW ? MS_OK : rc == SQLITE_DONE ? MS_NOTFOUND : MS_ERR;
}

int ms_db_file_holders(ms_file_t **out, ms_holders_t *holders, ms_db_t *db, const char *path,
                       apr_pool_t *p)
{
    sqlite3_stmt *st = stmt(db, ST_FILE_HOLDERS_BY_PATH);
    int rc;

    *out = NULL;
    memset(holders, 0, sizeof(*holders));
    if (!st)
        return MS_ERR;
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *bits = sqlite3_column_blob(st, FC_HOLDERS);
        int len = bits_trimmed(bits, sqlite3_column_bytes(st, FC_HOLDERS)), i;

        if (len > MS_HOLDERS_MAX_ID / 8 + 1) {  /* not what the triggers write */
            snprintf(db->errmsg, sizeof(db->errmsg),
                     "%s: a file's holders: a bitmap of %d bytes, more than mirror ids "
                     "up to %d need", db->path, len, MS_HOLDERS_MAX_ID);
            done(st);
            return MS_ERR;
        }
        *out = apr_palloc(p, sizeof(ms_file_t));
        file_from_row(*out, st, p);
        if (len > 0) {
            holders->bits = apr_pmemdup(p, bits, (apr_size_t)len);
            holders->bits_len = len;
            for (i = 0; i < len; i++)
                holders->count += __builtin_popcount(bits[i]);
        }
    }
    else if (rc != SQLITE_DONE)
        set_error(db, "looking up a file");
    done(st);
    return rc == SQLITE_ROW ? MS_OK : rc == SQLITE_DONE ? MS_NOTFOUND : MS_ERR;
}

int ms_db_file_put(ms_db_t *db, ms_file_t *f)
{
    sqlite3_stmt *st = stmt(db, ST_FILE_UPSERT);
    int rc;

    if (!st)
        return MS_ERR;
    sqlite3_bind_text(st, 1, f->path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, f->size);
    sqlite3_bind_int64(st, 3, f->mtime);
    bind_text(st, 4, f->sha256);
    if (f->indexed > 0)
        sqlite3_bind_int64(st, 5, f->indexed);
    else
        sqlite3_bind_null(st, 5);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        f->id = sqlite3_column_int64(st, 0);
    else
        set_error(db, "storing file %s", f->path);
    done(st);
    return rc == SQLITE_ROW ? MS_OK : MS_ERR;
}

int ms_db_file_remove(ms_db_t *db, int64_t id)
{
    sqlite3_stmt *st = stmt(db, ST_FILE_DELETE);

    if (!st)
        return MS_ERR;
    sqlite3_bind_int64(st, 1, id);
    return step_done(db, st, "removing a file");
}

int ms_db_files_each(ms_db_t *db, int (*fn)(void *baton, const ms_file_t *f),
                     void *baton)
{
    sqlite3_stmt *st = stmt(db, ST_FILES_ALL);
    ms_file_t f;
    int rc, stop = 0;

    if (!st)
        return MS_ERR;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        file_from_row(&f, st, NULL);
        f.indexed = sqlite3_column_int64(st, FC_INDEXED);
        if ((stop = fn(baton, &f)) != 0)
            break;
    }
    if (!stop && rc != SQLITE_DONE) {
        set_error(db, "listing files");
        stop = MS_ERR;
    }
    done(st);
    return stop;
}

int ms_db_file_count(ms_db_t *db, int64_t *count)
{
    sqlite3_stmt *st = stmt(db, ST_FILE_COUNT);
    int rc;

    if (!st)
        return MS_ERR;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *count = sqlite3_column_int64(st, 0);
    else
        set_error(db, "counting files");
    done(st);
    return rc == SQLITE_ROW ? MS_OK : MS_ERR;
}

/* --- copies --- */

int ms_db_copies(apr_array_header_t **out, ms_db_t *db, int64_t file_id, apr_pool_t *p)
{
    sqlite3_stmt *st = stmt(db, ST_COPIES_OF);
    apr_array_header_t *list;
    int rc;

    *out = NULL;
    if (!st)
        return MS_ERR;
    list = apr_array_make(p, 16, sizeof(ms_copy_t));
    sqlite3_bind_int64(st, 1, file_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ms_copy_t *c = apr_array_push(list);
        c->mirror_id = sqlite3_column_int64(st, CC_MIRROR);
        c->size = sqlite3_column_int64(st, CC_SIZE);
        c->mtime = sqlite3_column_int64(st, CC_MTIME);
        c->precision = sqlite3_column_int(st, CC_PRECISION);
        c->seen = sqlite3_column_int64(st, CC_SEEN);
    }
    done(st);
    if (rc != SQLITE_DONE) {
        set_error(db, "reading copies of a file");
        return MS_ERR;
    }
    *out = list;
    return MS_OK;
}

int ms_db_fresh_holders(ms_holders_t *out, ms_db_t *db, const ms_file_t *f, apr_pool_t *p)
{
    sqlite3_stmt *st = stmt(db, ST_FRESH_HOLDERS);
    apr_array_header_t *ids;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!st)
        return MS_ERR;
    ids = apr_array_make(p, 64, sizeof(int64_t));
    sqlite3_bind_int64(st, 1, f->id);
    sqlite3_bind_int64(st, 2, f->size);
    sqlite3_bind_int64(st, 3, f->mtime);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        *(int64_t *)apr_array_push(ids) = sqlite3_column_int64(st, 0);
    done(st);
    if (rc != SQLITE_DONE) {
        set_error(db, "reading the holders of a file");
        return MS_ERR;
    }
    out->count = ids->nelts;
    out->id = (const int64_t *)ids->elts;
    return MS_OK;
}

int ms_db_copy_put(ms_db_t *db, int64_t file_id, const ms_copy_t *c)
{
    sqlite3_stmt *st = stmt(db, ST_COPY_UPSERT);

    if (!st)
        return MS_ERR;
    sqlite3_bind_int64(st, 1, file_id);
    sqlite3_bind_int64(st, 2, c->mirror_id);
    sqlite3_bind_int64(st, 3, c->size);
    sqlite3_bind_int64(st, 4, c->mtime);
    sqlite3_bind_int(st, 5, c->precision > 0 ? c->precision : 1);
    sqlite3_bind_int64(st, 6, c->seen);
    return step_done(db, st, "storing a mirror's copy");
}

int ms_db_copy_remove(ms_db_t *db, int64_t mirror_id, int64_t file_id)
{
    sqlite3_stmt *st = stmt(db, ST_COPY_DELETE);

    if (!st)
        return MS_ERR;
    sqlite3_bind_int64(st, 1, mirror_id);
    sqlite3_bind_int64(st, 2, file_id);
    return step_done(db, st, "removing a mirror's copy");
}

/* --- health --- */

int ms_db_health_put(ms_db_t *db, int64_t mirror_id, int scheme, int family,
                     const ms_health_t *h)
{
    sqlite3_stmt *st = stmt(db, ST_HEALTH_UPSERT);

    if (!st)
        return MS_ERR;
    sqlite3_bind_int64(st, 1, mirror_id);
    sqlite3_bind_text(st, 2, scheme == MS_HTTPS ? "https" : "http", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, family == 6 ? 6 : 4);
    sqlite3_bind_int(st, 4, h->up ? 1 : 0);
    sqlite3_bind_int64(st, 5, h->checked);
    sqlite3_bind_int(st, 6, h->latency_ms);
    sqlite3_bind_int(st, 7, h->failures);
    sqlite3_bind_int(st, 8, h->status);
    sqlite3_bind_text(st, 9, h->error ? h->error : "", -1, SQLITE_STATIC);
    return step_done(db, st, "storing health");
}

/* --- scans and probes (ms_scan) --- */

int ms_db_scan_run_start(ms_db_t *db, ms_scan_run_t *r)
{
    sqlite3_stmt *st = stmt(db, ST_SCAN_RUN_START);
    int rc;

    if (!st)
        return MS_ERR;
    sqlite3_bind_int64(st, 1, r->mirror_id);
    sqlite3_bind_int64(st, 2, r->started);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        r->id = sqlite3_column_int64(st, 0);
    else
        set_error(db, "recording a scan run");
    done(st);
    return rc == SQLITE_ROW ? MS_OK : MS_ERR;
}

int ms_db_scan_run_finish(ms_db_t *db, const ms_scan_run_t *r)
{
    sqlite3_stmt *st = stmt(db, ST_SCAN_RUN_FINISH);

    if (!st)
        return MS_ERR;
    sqlite3_bind_int64(st, 1, r->id);
    sqlite3_bind_int64(st, 2, r->finished);
    sqlite3_bind_int(st, 3, r->ok ? 1 : 0);
    sqlite3_bind_int64(st, 4, r->files_seen);
    sqlite3_bind_int64(st, 5, r->fresh);
    sqlite3_bind_int64(st, 6, r->stale);
    sqlite3_bind_int64(st, 7, r->missing);
    sqlite3_bind_int64(st, 8, r->extra);
    sqlite3_bind_text(st, 9, r->error ? r->error : "", -1, SQLITE_STATIC);
    if (step_done(db, st, "recording the end of a scan run") != MS_OK
        || !(st = stmt(db, ST_SCAN_RUNS_PRUNE)))
        return MS_ERR;
    sqlite3_bind_int64(st, 1, r->mirror_id);
    return step_done(db, st, "removing old scan runs");
}

int ms_db_scan_run_last(ms_scan_run_t **out, ms_db_t *db, int64_t mirror_id,
                        apr_pool_t *p)
{
    sqlite3_stmt *st = stmt(db, ST_SCAN_RUN_LAST);
    ms_scan_run_t *r;
    int rc;

    *out = NULL;
    if (!st)
        return MS_ERR;
    sqlite3_bind_int64(st, 1, mirror_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        r = apr_pcalloc(p, sizeof(*r));
        r->id = sqlite3_column_int64(st, RC_ID);
        r->mirror_id = sqlite3_column_int64(st, RC_MIRROR);
        r->started = sqlite3_column_int64(st, RC_STARTED);
        r->finished = sqlite3_column_int64(st, RC_FINISHED);
        r->ok = sqlite3_column_int(st, RC_OK) != 0;
        r->files_seen = sqlite3_column_int64(st, RC_SEEN);
        r->fresh = sqlite3_column_int64(st, RC_FRESH);
        r->stale = sqlite3_column_int64(st, RC_STALE);
        r->missing = sqlite3_column_int64(st, RC_MISSING);
        r->extra = sqlite3_column_int64(st, RC_EXTRA);
        r->error = col_text(st, RC_ERROR, p);
        if (!r->error)
            r->error = "";
        *out = r;
    }
    else if (rc != SQLITE_DONE)
        set_error(db, "reading the latest scan run");
    done(st);
    return rc == SQLITE_ROW ? MS_OK : rc == SQLITE_DONE ? MS_NOTFOUND : MS_ERR;
}

int ms_db_scan_targets(apr_array_header_t **out, ms_db_t *db, int64_t mirror_id,
                       const char *prefix, apr_pool_t *p)
{
    sqlite3_stmt *st = stmt(db, ST_SCAN_TARGETS);
    apr_array_header_t *list;
    int rc;

    *out = NULL;
    if (!st)
        return MS_ERR;
    list = apr_array_make(p, 1024, sizeof(ms_scan_target_t));
    sqlite3_bind_int64(st, 1, mirror_id);
    sqlite3_bind_text(st, 2, prefix ? prefix : "", -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ms_scan_target_t *t = apr_array_push(list);
        file_from_row(&t->file, st, p);
        t->has_copy = sqlite3_column_type(st, TC_COPY_SIZE) != SQLITE_NULL;
        memset(&t->copy, 0, sizeof(t->copy));
        if (t->has_copy) {
            t->copy.mirror_id = mirror_id;
            t->copy.size = sqlite3_column_int64(st, TC_COPY_SIZE);
            t->copy.mtime = sqlite3_column_int64(st, TC_COPY_MTIME);
            t->copy.precision = sqlite3_column_int(st, TC_COPY_PRECISION);
            t->copy.seen = sqlite3_column_int64(st, TC_COPY_SEEN);
        }
    }
    done(st);
    if (rc != SQLITE_DONE) {
        set_error(db, "listing the origin files to scan");
        return MS_ERR;
    }
    *out = list;
    return MS_OK;
}

int ms_db_scan_conf_get(ms_scan_conf_t **out, ms_db_t *db, int64_t mirror_id,
                        apr_pool_t *p)
{
    sqlite3_stmt *st = stmt(db, ST_SCAN_CONF_GET);
    ms_scan_conf_t *c;
    int rc;

    *out = NULL;
    if (!st)
        return MS_ERR;
    c = apr_pcalloc(p, sizeof(*c));
    sqlite3_bind_int64(st, 1, mirror_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        c->ca_file = col_text(st, SC_CA_FILE, p);
        c->ssh_key = col_text(st, SC_SSH_KEY, p);
        c->known_hosts = col_text(st, SC_KNOWN_HOSTS, p);
        c->probe_file_id = sqlite3_column_int64(st, SC_PROBE_FILE);
    }
    else if (rc != SQLITE_DONE)
        set_error(db, "reading scan settings");
    done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return MS_ERR;
    *out = c;
    return MS_OK;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    bind_text(st, i, s && *s ? s : NULL);
}

int ms_db_scan_conf_put(ms_db_t *db, int64_t mirror_id, const ms_scan_conf_t *c)
{
    sqlite3_stmt *st = stmt(db, ST_SCAN_CONF_PUT);

    if (!st)
        return MS_ERR;
    sqlite3_bind_int64(st, 1, mirror_id);
    bind_text_or_null(st, 2, c->ca_file);
    bind_text_or_null(st, 3, c->ssh_key);
    bind_text_or_null(st, 4, c->known_hosts);
    return step_done(db, st, "storing scan settings");
}

int ms_db_probe_file_set(ms_db_t *db, int64_t mirror_id, int64_t file_id)
{
    sqlite3_stmt *st = stmt(db, ST_PROBE_FILE_SET);

    if (!st)
        return MS_ERR;
    sqlite3_bind_int64(st, 1, mirror_id);
    if (file_id > 0)
        sqlite3_bind_int64(st, 2, file_id);
    else
        sqlite3_bind_null(st, 2);
    return step_done(db, st, "remembering the probe file");
}

static int fresh_file(ms_file_t **out, ms_db_t *db, stmt_id id, int64_t mirror_id,
                      apr_pool_t *p)
{
    sqlite3_stmt *st = stmt(db, id);
    int rc;

    *out = NULL;
    if (!st)
        return MS_ERR;
    sqlite3_bind_int64(st, 1, mirror_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = apr_palloc(p, sizeof(ms_file_t));
        file_from_row(*out, st, p);
    }
    else if (rc != SQLITE_DONE)
        set_error(db, "choosing a file to probe");
    done(st);
    return rc == SQLITE_ROW ? MS_OK : rc == SQLITE_DONE ? MS_NOTFOUND : MS_ERR;
}

int ms_db_probe_file(ms_file_t **out, ms_db_t *db, int64_t mirror_id, apr_pool_t *p)
{
    int rc = fresh_file(out, db, ST_PROBE_FILE_REMEMBERED, mirror_id, p);

    if (rc != MS_NOTFOUND)
        return rc;
    return fresh_file(out, db, ST_PROBE_FILE_PICK, mirror_id, p);
}

int ms_db_probes_latest(ms_db_t *db, int *enabled, int64_t *latest)
{
    sqlite3_stmt *st = stmt(db, ST_PROBES_LATEST);
    int rc;

    if (!st)
        return MS_ERR;
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        *enabled = sqlite3_column_int(st, 0);
        *latest = sqlite3_column_int64(st, 1);
    }
    else
        set_error(db, "reading the latest probe");
    done(st);
    return rc == SQLITE_ROW ? MS_OK : MS_ERR;
}
