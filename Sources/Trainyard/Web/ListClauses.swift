import Storage

/// A table's rows and order as SQL, built once by its store from its own whitelist: the page
/// reads one window of it, the export reads all of it in batches, so both always show the same
/// rows in the same order.
///
/// ```swift
/// var p = SQLParameters()
/// let clauses = DeploymentStore.tableClauses(slice, &p)
/// "SELECT … FROM deployments d " + clauses.page(slice, &p)                          // one page
/// "SELECT …, \(clauses.sortKey) AS sort_key FROM deployments d " + clauses.batch(after: cursor, limit: 1000, &p)
/// ```
struct ListClauses {
    /// Conditions joined with AND (parameters already added).
    var conditions: [String]
    /// The expression rows are sorted by, from the store's whitelist.
    var sortKey: String
    /// The unique column that breaks ties, sorted in the same direction.
    var tieBreaker: String
    var direction: TableQuery.Direction

    /// The column alias a batch query gives `sortKey`, read back into the next cursor.
    static let sortKeyColumn = "sort_key"

    /// `WHERE …`, or nothing when no condition applies.
    private func whereClause(_ extra: String? = nil) -> String {
        let all = conditions + (extra.map { [$0] } ?? [])
        return all.isEmpty ? "" : "WHERE " + all.joined(separator: " AND ")
    }

    private var orderBy: String {
        let dir = direction == .asc ? "ASC" : "DESC"
        return "ORDER BY \(sortKey) \(dir), \(tieBreaker) \(dir)"
    }

    /// One page: `WHERE … ORDER BY … LIMIT … OFFSET …` (the slice's window).
    func page<Sort, Status>(_ slice: ListSlice<Sort, Status>, _ p: inout SQLParameters) -> String {
        "\(whereClause()) \(orderBy) \(Self.window(slice, &p))"
    }

    /// `LIMIT n`, with `OFFSET m` past the first page. On a first page the row count is written
    /// into the SQL and the zero offset left out: with either a parameter, PostgreSQL costs a
    /// prepared statement's generic plan as a read of a tenth of the table, never picks it, and
    /// planned every execution again (0.3 ms, a sixth of the machine's CPU under load on the
    /// 100k table). Both numbers are integers from the slice, never request text. (A page with
    /// `q` is planned for its pattern on every run instead: see `Database.queryList`.)
    static func window<Sort, Status>(_ slice: ListSlice<Sort, Status>, _ p: inout SQLParameters) -> String {
        slice.offset == 0 ? "LIMIT \(slice.limit)" : "LIMIT \(slice.limit) OFFSET \(p.add(.int(Int64(slice.offset))))"
    }

    /// A row bound for an inner `LIMIT` of `slice`'s statement: in the SQL on a first page, else
    /// a parameter, since it grows with the page (see `window`).
    static func bound<Sort, Status>(_ rows: Int, for slice: ListSlice<Sort, Status>, _ p: inout SQLParameters) -> String {
        slice.offset == 0 ? String(rows) : p.add(.int(Int64(rows)))
    }

    /// The next `limit` rows after `cursor` (from the start when nil), by keyset: the row value
    /// `(key, id)` compared with the last row's, in the sort's direction. The `(key, id)` indexes
    /// serve it however deep the batch, where an OFFSET would read every row before it again.
    func batch(after cursor: ListCursor?, limit: Int, _ p: inout SQLParameters) -> String {
        var after: String?
        if let cursor {
            let op = direction == .asc ? ">" : "<"
            after = "(\(sortKey), \(tieBreaker)) \(op) (\(p.add(cursor.sortValue)), \(p.add(.int(Int64(cursor.id)))))"
        }
        return "\(whereClause(after)) \(orderBy) LIMIT \(limit)"
    }
}

/// Where a batched read stopped: the last row's sort value as the database returned it (so it
/// compares exactly, whatever its type) and its id.
struct ListCursor: Equatable {
    var sortValue: SQLValue
    var id: Int

    /// The cursor after `row` of a batch query, which selected `ListClauses.sortKeyColumn`.
    /// A NULL sort value would compare as unknown and silently end the export: the stores sort
    /// by non-NULL expressions, so that is a bug worth stopping on.
    init(after row: Row, idColumn: String = "id") throws {
        let value = row[ListClauses.sortKeyColumn]
        if value.isNull { throw DatabaseError.decoding(column: ListClauses.sortKeyColumn, message: "a NULL sort value cannot continue a batched read") }
        sortValue = value
        id = try row.int(idColumn)
    }

    init(sortValue: SQLValue, id: Int) {
        self.sortValue = sortValue
        self.id = id
    }
}

/// Rows of one batch and where the next one starts (nil after the last batch).
struct ListBatch<Row> {
    var rows: [Row]
    var next: ListCursor?
}

extension Database {
    /// Runs a list page's statement: one with `q` is planned for its pattern on every run
    /// (`queryPlannedPerRun`), since a trigram index suits a rare name and a walk along the
    /// order a common one; PostgreSQL's generic plan for a search over three statuses, once
    /// chosen, took 100 ms where the planned one took 14.
    func queryList<Sort, Status>(_ sql: String, _ values: [SQLValue], for slice: ListSlice<Sort, Status>) throws -> [Row] {
        slice.search.isEmpty ? try query(sql, values) : try queryPlannedPerRun(sql, values)
    }
}
