"""The SQLite store's schema, and the migration of files written by an earlier version."""

from __future__ import annotations

import sqlite3

VERSION = 2

TABLES = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    state TEXT NOT NULL,
    priority INTEGER NOT NULL,
    queue_seq INTEGER NOT NULL,
    request_id TEXT,
    fence INTEGER NOT NULL,
    lease_until REAL,
    end_time REAL,
    expire_time REAL,
    body TEXT NOT NULL,
    fair_round INTEGER NOT NULL DEFAULT 0,
    not_before REAL
);
CREATE TABLE IF NOT EXISTS events (
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    time REAL NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS timings (key TEXT NOT NULL, at REAL NOT NULL, seconds REAL NOT NULL);
CREATE TABLE IF NOT EXISTS workers (id TEXT PRIMARY KEY, slots INTEGER NOT NULL, seen REAL NOT NULL);
-- job -> the jobs it waits for
CREATE TABLE IF NOT EXISTS deps (
    job_id TEXT NOT NULL,
    depends_on TEXT NOT NULL,
    PRIMARY KEY (depends_on, job_id)
) WITHOUT ROWID;
-- fair order: per priority, the round being served (owner '') and each owner's last assigned round
CREATE TABLE IF NOT EXISTS rounds (
    priority INTEGER NOT NULL,
    owner TEXT NOT NULL,
    round INTEGER NOT NULL,
    PRIMARY KEY (priority, owner)
) WITHOUT ROWID;
-- a job's input (written once at submit) and result (once at the end), apart from the record that every
-- state change rewrites; both in their protobuf wire form
CREATE TABLE IF NOT EXISTS inputs (job_id TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS results (job_id TEXT PRIMARY KEY, data BLOB NOT NULL);
-- the result cache: per owner and cache key, the latest job that succeeded with that key
CREATE TABLE IF NOT EXISTS cache (
    owner TEXT NOT NULL,
    key TEXT NOT NULL,
    job_id TEXT NOT NULL,
    PRIMARY KEY (owner, key)
) WITHOUT ROWID;
-- submit-rate token buckets, per owner
CREATE TABLE IF NOT EXISTS buckets (owner TEXT PRIMARY KEY, tokens REAL NOT NULL, updated REAL NOT NULL);
"""

INDEXES = """
CREATE UNIQUE INDEX IF NOT EXISTS jobs_request ON jobs(owner, request_id) WHERE request_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs(priority DESC, fair_round, queue_seq) WHERE state = 'QUEUED';
CREATE INDEX IF NOT EXISTS jobs_running ON jobs(lease_until) WHERE state = 'RUNNING';
CREATE INDEX IF NOT EXISTS jobs_scheduled ON jobs(not_before) WHERE state = 'SCHEDULED';
CREATE INDEX IF NOT EXISTS jobs_expire ON jobs(expire_time) WHERE expire_time IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs(owner, id);
CREATE INDEX IF NOT EXISTS jobs_owner_state ON jobs(owner, state);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
CREATE INDEX IF NOT EXISTS jobs_end ON jobs(end_time) WHERE end_time IS NOT NULL;
CREATE INDEX IF NOT EXISTS timings_key ON timings(key, at);
CREATE INDEX IF NOT EXISTS deps_job ON deps(job_id);
"""


def migrate(db: sqlite3.Connection) -> None:
    """Brings a file of any earlier version up to VERSION; a new file gets the whole schema."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    db.executescript(TABLES)
    if version < 2:
        columns = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
        if "fair_round" not in columns:
            db.execute("ALTER TABLE jobs ADD COLUMN fair_round INTEGER NOT NULL DEFAULT 0")
        if "not_before" not in columns:
            db.execute("ALTER TABLE jobs ADD COLUMN not_before REAL")
        db.execute("DROP INDEX IF EXISTS jobs_queue")  # version 1 ordered by (priority, queue_seq) only
    db.executescript(INDEXES)
    db.execute(f"PRAGMA user_version = {VERSION}")
