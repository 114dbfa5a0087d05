#include <sqlite3.h>

// sqlite3_db_config is variadic, which Swift cannot call: one wrapper per option used.

/// The query planner's stability guarantee: plans never depend on bound values. Without it, a
/// `status = $1` that the planner compares with a partial index's WHERE marks the statement to
/// be prepared again whenever $1 is bound, which a cached statement is on every run.
static inline int csqlite_enable_stable_plans(sqlite3 *db) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_QPSG, 1, (int *)0);
}
