"""A fingerprint of what users can change, read from the SQLite file (read-only) while the
server runs, so "nothing changed" can be checked around each refused submission.

Every table is included, every column, except what the server changes by itself while it runs:
the simulation runners (training steps, replica start-up, inference buckets, rollouts finishing,
guardrail checks), the scraper, and the bookkeeping of sign-ins. Those exclusions are listed
below with the reason for each; a table not listed (one added later) is fingerprinted whole, so
a new table can only make the check stricter.

Changes the runners make are either in excluded columns or in rows they write as the `system`
actor (audit rows, status history), which are left out by a row filter.
"""

import hashlib
import sqlite3

# Tables left out entirely.
EXCLUDED_TABLES = {
    "sessions": "sign-in bookkeeping: last_seen_at moves on every request",
    "login_failures": "a refused sign-in is recorded here (the throttle), by design",
    "job_metrics": "written by the training runner at every step (and by the MLflow API)",
    "job_metric_summaries": "kept with job_metrics",
    "inference_metrics": "per-minute buckets written by the deployment runner and the scraper",
    "deployment_replicas": "replicas move through pending/starting/running by themselves",
    "deployment_resources": "a finished rollout copies its revision's resources here (the runner); "
                            "the user's choice is in deployment_revisions",
    "deployment_status_counts": "counters the runners move with every status change",
    "job_status_counts": "counters the runners move with every status change",
    "sqlite_sequence": "SQLite's own",
    "change_counters": "counts every write, the runners' and refused sign-ins' included (pages' ETags); "
                       "the rows themselves are fingerprinted in their own tables",
}

# Columns left out of a table that is otherwise included.
VOLATILE_COLUMNS = {
    "training_jobs": {"status", "current_step", "updated_at", "finished_at", "failure_reason", "last_report_at"},
    "deployments": {"status", "target_replicas", "revision", "rollout_revision", "rollout_started_at", "failure_reason",
                    "replaces_id", "rps", "p50_ms", "p95_ms", "p99_ms", "error_rate", "stats_at", "rps_baseline",
                    "attention_since", "attention_reason", "updated_at"},
    "deployment_revisions": {"failed_reason"},
    "deployment_guardrails": {"breached_since"},
    "inference_sources": {"next_scrape_at", "last_scrape_at", "last_success_at", "up", "down_since", "failures",
                          "last_error", "state"},
    "api_tokens": {"last_used_at"},
}

# Extra expressions kept for a table whose raw column is volatile: a queued job stays queued
# until a user starts it (the runner only moves running jobs on).
EXTRA_EXPRESSIONS = {
    "training_jobs": ["status = 'queued' AS is_queued"],
}

# Rows the server writes by itself.
ROW_FILTERS = {
    "audit_log": "actor <> 'system' AND action <> 'session.sign_in_failed'",
    "deployment_status_history": "changed_by <> 'system'",
}


class Fingerprint:
    def __init__(self, tables):
        self.tables = tables    # name -> (count, digest, rows as a sorted list of tuples)

    def __eq__(self, other):
        return {k: v[:2] for k, v in self.tables.items()} == {k: v[:2] for k, v in other.tables.items()}

    def diff(self, other, limit=3):
        """What changed from self to other, in words: table, rows added and removed."""
        out = []
        # The audit trail last: the table that changed says more than the audit row about it.
        for name in sorted(set(self.tables) | set(other.tables), key=lambda t: (t == "audit_log", t)):
            a = self.tables.get(name, (0, "", []))
            b = other.tables.get(name, (0, "", []))
            if a[:2] == b[:2]:
                continue
            before, after = set(a[2]), set(b[2])
            added = sorted(after - before, key=repr)[:limit]
            removed = sorted(before - after, key=repr)[:limit]
            parts = [f"{name}: {a[0]} -> {b[0]} rows"]
            if added:
                parts.append("added/changed " + "; ".join(_short(r) for r in added))
            if removed:
                parts.append("removed/old " + "; ".join(_short(r) for r in removed))
            out.append(" ".join(parts))
        return out


    def added_cells(self, other, skip=("audit_log", "deployment_status_history")):
        """Every text cell of rows that are in `other` and not in self (the tables' own rows,
        not the audit trail's descriptions of them)."""
        out = []
        for name, (_, _, rows) in other.tables.items():
            if name in skip:
                continue
            before = set(self.tables.get(name, (0, "", []))[2])
            for row in rows:
                if row not in before:
                    out.extend(c for c in row if isinstance(c, str))
        return out


def _short(row, limit=160):
    text = repr(row)
    return text if len(text) <= limit else text[:limit] + "…"


class Database:
    """The server's SQLite file, opened read-only (WAL: readers never block the server)."""

    def __init__(self, path):
        self.path = path
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, timeout=10,
                                    check_same_thread=False)
        self.conn.text_factory = lambda b: b.decode("utf-8", errors="surrogateescape")
        self._plans = None
        self._cached = None     # (data_version, Fingerprint)

    def _plan(self):
        if self._plans is None:
            plans = []
            names = [r[0] for r in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
            for name in names:
                if name in EXCLUDED_TABLES:
                    continue
                columns = [r[1] for r in self.conn.execute(f'PRAGMA table_info("{name}")')]
                kept = [f'"{c}"' for c in columns if c not in VOLATILE_COLUMNS.get(name, set())]
                kept += EXTRA_EXPRESSIONS.get(name, [])
                where = f" WHERE {ROW_FILTERS[name]}" if name in ROW_FILTERS else ""
                plans.append((name, f'SELECT {", ".join(kept)} FROM "{name}"{where}'))
            self._plans = plans
        return self._plans

    def data_version(self):
        """Moves on whenever another connection (the server) commits a change to the file."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def fingerprint(self):
        # Nothing was committed since the last fingerprint: it still holds.
        version = self.data_version()
        if self._cached is not None and self._cached[0] == version:
            return self._cached[1]
        tables = {}
        self.conn.execute("BEGIN")
        try:
            version = self.data_version()
            for name, sql in self._plan():
                rows = sorted(self.conn.execute(sql).fetchall(), key=repr)
                digest = hashlib.sha256(repr(rows).encode("utf-8", "surrogateescape")).hexdigest()
                tables[name] = (len(rows), digest, rows)
        finally:
            self.conn.execute("COMMIT")
        fingerprint = Fingerprint(tables)
        self._cached = (version, fingerprint)
        return fingerprint

    def query(self, sql, params=()):
        return self.conn.execute(sql, params).fetchall()
