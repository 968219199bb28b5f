/* ms_cmd_scan.h — `mirrorsel scan` and `mirrorsel probe`, and the scan
 * settings `mirror add/edit` accept for them:
 *
 *   --ca-file PATH       PEM CA bundle trusted for the mirror's TLS (scan, probe)
 *   --ssh-key PATH       private key for an sftp:// scan URL (PATH.pub beside it)
 *   --known-hosts PATH   OpenSSH known_hosts with the mirror's host key
 *
 * Wiring into a getopt loop of `mirror add/edit`:
 *   static const struct option longopts[] = { ..., MS_SCAN_LONGOPTS, ... };
 *   ms_cmd_scanopts_t so = { 0 };
 *   ...  if ((rc = ms_cmd_scanopt(&so, c, optarg, ctx->pool)) != 0) {
 *            if (rc < 0) return MS_EXIT_USAGE;   (message printed)
 *            continue; }
 *   ...  after the mirror is stored (m->id known), in the same transaction:
 *        if (ms_cmd_scanopts_store(db, m->id, &so) != MS_OK) -> fail
 * An empty PATH ("--ca-file ''") clears the setting. */
#ifndef MS_CMD_SCAN_H
#define MS_CMD_SCAN_H

#include "ms_cmd.h"

ms_cmd_fn ms_cmd_scan;
ms_cmd_fn ms_cmd_probe;

enum {
    MS_OPT_CA_FILE = 0x1100,
    MS_OPT_SSH_KEY,
    MS_OPT_KNOWN_HOSTS,
};
#define MS_SCAN_LONGOPTS \
    { "ca-file",     required_argument, NULL, MS_OPT_CA_FILE },  \
    { "ssh-key",     required_argument, NULL, MS_OPT_SSH_KEY },  \
    { "known-hosts", required_argument, NULL, MS_OPT_KNOWN_HOSTS }

typedef struct ms_cmd_scanopts {
    int given;                 /* any of the options was given */
    const char *ca_file, *ssh_key, *known_hosts;   /* NULL: not given */
} ms_cmd_scanopts_t;

/* 1 if opt was a scan option (now in o), 0 if not, -1 on a bad value (a
 * file that cannot be read; message printed). Paths are made absolute. */
int ms_cmd_scanopt(ms_cmd_scanopts_t *o, int opt, const char *arg, apr_pool_t *p);
/* Store the given options for the mirror, keeping the ones not given. */
int ms_cmd_scanopts_store(ms_db_t *db, int64_t mirror_id, const ms_cmd_scanopts_t *o);
/* Usage lines for the options, for `mirror --help`. */
extern const char ms_cmd_scanopts_usage[];

/* --- the latest scan, for `mirror show` and `mirror list` --- */

/* These three show m's latest scan with the password of m's scan URL hidden
 * in its error (ms_url_hide_password): also in an error recorded before the
 * tool hid passwords as it recorded them. */

/* "last scan: ..." lines of `mirror show` (text), and the scan settings. */
void ms_cmd_scan_show_text(FILE *out, ms_db_t *db, const ms_mirror_t *m, apr_pool_t *p);
/* A member "last_scan": {started, finished, ok, files_seen, fresh, stale,
 * missing, extra, error} or null, inside the mirror's JSON object. */
void ms_cmd_scan_show_json(ms_jw_t *j, ms_db_t *db, const ms_mirror_t *m,
                           apr_pool_t *p);
/* One column for `mirror list`: "never", "<started> running",
 * "<started> ok 125 seen 120 fresh 3 stale 2 missing" or
 * "<started> failed: <error, cut to 60 bytes>". */
const char *ms_cmd_scan_summary(ms_db_t *db, const ms_mirror_t *m, apr_pool_t *p);

#endif
