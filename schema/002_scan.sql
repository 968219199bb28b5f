-- 002: what the scanner and prober need per mirror beyond its URLs.
-- ca_file: PEM bundle trusted for the mirror's TLS (scan and probe);
-- ssh_key / known_hosts: for sftp:// scan URLs; probe_file_id: the small file
-- the latest scan saw fresh, which the prober requests.
CREATE TABLE mirror_scan (
    mirror_id       INTEGER PRIMARY KEY REFERENCES mirrors(id) ON DELETE CASCADE,
    ca_file         TEXT,
    ssh_key         TEXT,
    known_hosts     TEXT,
    probe_file_id   INTEGER REFERENCES files(id) ON DELETE SET NULL
);
