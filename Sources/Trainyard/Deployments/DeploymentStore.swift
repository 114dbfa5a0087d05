import Foundation
import Storage

/// All SQL on `deployments`, `deployment_resources`, `deployment_replicas`,
/// `deployment_status_history`, `inference_metrics` and `deployment_status_counts`.
///
/// Every status change, scale and soft delete runs in one transaction that also writes the
/// history row and adjusts `deployment_status_counts`.
struct DeploymentStore {
    let database: Database
    /// See `defaultSearchCandidateLimit`; tests lower it to take the other path on small data.
    var searchCandidateLimit = DeploymentStore.defaultSearchCandidateLimit
    /// See `defaultSearchWalkBudget`; tests lower it to make the walk come up short.
    var searchWalkBudget = DeploymentStore.defaultSearchWalkBudget

    static let model = ModelStore.Join(alias: "m")
    static let job = JobStore.Join(alias: "j")
    static let columns = """
        d.id, d.job_id, \(job.columns), \(model.columns), d.name, d.version, d.status, d.endpoint, d.target_replicas,
        d.deployed_by, d.created_at, d.updated_at, d.deleted_at, d.rps, d.p50_ms, d.p95_ms, d.p99_ms, d.error_rate, d.stats_at,
        d.revision, d.rollout_revision, d.rollout_started_at, d.failure_reason, d.replaces_id, d.rps_baseline, d.attention_since,
        d.attention_reason, d.metrics_source
        """
    static let from = "deployments d " + job.on("d.job_id") + " " + model.on("d.model_id")

    /// The statuses that hold a job's one live deployment, as SQL.
    static let liveStatuses = "(" + DeploymentStatus.live.map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")"

    static func decode(_ row: Row) throws -> Deployment {
        Deployment(
            id: try row.int("id"), jobID: try row.int("job_id"), jobName: try row.string("job_name"), jobSeed: try row.int("job_seed"),
            model: try model.decode(row), name: try row.string("name"),
            version: try row.string("version"), status: DeploymentStatus(rawValue: try row.string("status")) ?? .failed,
            endpoint: try row.string("endpoint"), targetReplicas: try row.int("target_replicas"), deployedBy: try row.string("deployed_by"),
            createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"), deletedAt: try row.optionalDate("deleted_at"),
            stats: DeploymentStats(rps: try row.double("rps"), p50: try row.double("p50_ms"), p95: try row.double("p95_ms"),
                                   p99: try row.double("p99_ms"), errorRate: try row.double("error_rate")),
            statsAt: try row.optionalDate("stats_at"),
            revision: try row.int("revision"), rolloutRevision: try row.optionalInt("rollout_revision"),
            rolloutStartedAt: try row.optionalDate("rollout_started_at"), failureReason: try row.optionalString("failure_reason"),
            replacesID: try row.optionalInt("replaces_id"), rpsBaseline: try row.double("rps_baseline"),
            attentionSince: try row.optionalDate("attention_since"), attentionReason: try row.optionalString("attention_reason"),
            metricsSource: MetricsSourceKind(rawValue: try row.string("metrics_source")) ?? .simulated)
    }

    // MARK: Reads

    /// The deployment, deleted or not.
    func find(_ id: Int) throws -> Deployment? {
        try database.queryOne("SELECT \(Self.columns) FROM \(Self.from) WHERE d.id = $1", [.int(Int64(id))]).map(Self.decode)
    }

    /// One page of the deployments table. Fast at 100k+ rows: every sort key has an index led
    /// by it (and one led by `status` then the key) with `id` as tie-breaker, partial on live
    /// rows, so `ORDER BY key, id LIMIT per+1` reads only the rows it shows.
    ///
    /// `filters.liveAt` narrows to what was serving at that instant (deleted since or not), from
    /// the history rows; `filters.attention` to deployments a guardrail has flagged.
    func list(_ slice: ListSlice<DeploymentSortKey, DeploymentStatus>, filters: Filters = Filters()) throws -> ListResult<DeploymentListRow> {
        var p = SQLParameters()
        var filters = filters
        filters.search = try searchPlan(slice.search)
        if filters.liveAt != nil { return try listLiveAt(slice, filters: filters) }
        if case .dense(let phrase) = filters.search {
            if let page = try listByBoundedWalk(slice, filters: filters) { return page }
            filters.search = .index(phrase: phrase)
        }
        // Several statuses are merged from their own indexes, unless the search's candidates
        // are the rows to read: then one query sorts them once, not once per status.
        if slice.statuses.count > 1, !filters.search.readsCandidates { return try listStatusSet(slice, filters: filters) }
        let clauses = Self.tableClauses(slice, filters: filters, &p)
        let rows: [Row]
        if filters.search.readsCandidates {
            // The candidates are sorted, not walked in order: sort their ids and keys only, and
            // read whole rows (with their per-row subqueries) for the page alone. Sorting whole
            // rows ran those subqueries for every candidate, twice the time at 25,000 of them.
            let dir = slice.direction == .asc ? "ASC" : "DESC"
            rows = try database.queryList("""
                SELECT \(Self.listColumns) FROM deployments d JOIN (
                    SELECT d.id AS pick_id, \(clauses.sortKey) AS \(ListClauses.sortKeyColumn) FROM deployments d \(clauses.page(slice, &p))
                ) AS picked ON picked.pick_id = d.id
                ORDER BY picked.\(ListClauses.sortKeyColumn) \(dir), d.id \(dir)
                """, p.values, for: slice)
        } else {
            rows = try database.queryList("SELECT \(Self.listColumns) FROM deployments d \(clauses.page(slice, &p))", p.values, for: slice)
        }
        return ListResult(rows: try rows.prefix(slice.limit - 1).map(Self.decodeListRow), hasMore: rows.count >= slice.limit)
    }

    /// Several statuses at once. `status IN (…) ORDER BY key` can use no index for its order (the
    /// `(status, key, id)` index is ordered within one status), so every matching row would be
    /// read and sorted. Instead each status is read along its own index up to the page's end,
    /// ids and sort values only; the union is cut to the page, and only those rows are read
    /// whole. The cost is (statuses × rows up to the page), not the table.
    private func listStatusSet(_ slice: ListSlice<DeploymentSortKey, DeploymentStatus>, filters: Filters) throws -> ListResult<DeploymentListRow> {
        var p = SQLParameters()
        let dir = slice.direction == .asc ? "ASC" : "DESC"
        let enough = ListClauses.bound(slice.offset + slice.limit, for: slice, &p)
        var members: [String] = []
        for (index, one) in Self.lanes(slice).enumerated() {
            let c = Self.tableClauses(one, filters: filters, &p)
            members.append("""
                SELECT * FROM (SELECT d.id AS pick_id, \(c.sortKey) AS \(ListClauses.sortKeyColumn) FROM deployments d
                    WHERE \(c.conditions.joined(separator: " AND ")) ORDER BY \(c.sortKey) \(dir), d.id \(dir) LIMIT \(enough)) AS s\(index)
                """)
        }
        let rows = try database.queryList("""
            SELECT \(Self.listColumns) FROM deployments d JOIN (
                SELECT pick_id, \(ListClauses.sortKeyColumn) FROM (\(members.joined(separator: " UNION ALL "))) AS candidates
                ORDER BY \(ListClauses.sortKeyColumn) \(dir), pick_id \(dir) \(ListClauses.window(slice, &p))
            ) AS picked ON picked.pick_id = d.id
            ORDER BY picked.\(ListClauses.sortKeyColumn) \(dir), d.id \(dir)
            """, p.values, for: slice)
        return ListResult(rows: try rows.prefix(slice.limit - 1).map(Self.decodeListRow), hasMore: rows.count >= slice.limit)
    }

    /// A `q` that matches many rows, read along the page's order in bounded walks: for each
    /// status asked for (or the whole table when none or one is), the first `searchWalkBudget`
    /// rows of that status's order are read, ids, names and sort values only, and the matches
    /// among them kept. Those are the first matches of that order, so when each walk found
    /// enough for the page or read every row it had, their merge is the page. Otherwise nil:
    /// the matches sit far along an order (a search for the small models sorted by latency,
    /// highest first) and sorting the index's candidates is the cheaper read. Either way the
    /// cost is the budget per status plus at most one candidate sort, not how far along the
    /// order the matches begin.
    private func listByBoundedWalk(_ slice: ListSlice<DeploymentSortKey, DeploymentStatus>, filters: Filters) throws -> ListResult<DeploymentListRow>? {
        var p = SQLParameters()
        var walkFilters = filters
        walkFilters.search = .like
        let dir = slice.direction == .asc ? "ASC" : "DESC"
        let enough = slice.offset + slice.limit
        let budget = String(searchWalkBudget)   // a fixed count, so written in (ListClauses.window)
        let enoughBound = ListClauses.bound(enough, for: slice, &p)
        var sortKey = ""
        var walks: [String] = []
        var lanes: [String] = []
        for (lane, one) in Self.lanes(slice).enumerated() {
            var walked = one
            walked.search = ""
            let inner = Self.tableClauses(walked, filters: walkFilters, &p)
            sortKey = inner.sortKey
            let walk = """
                SELECT d.id, d.model_name, d.name, \(inner.sortKey) AS sk FROM deployments d
                    WHERE \(inner.conditions.joined(separator: " AND ")) ORDER BY \(inner.sortKey) \(dir), d.id \(dir) LIMIT \(budget)
                """
            walks.append(walk)
            let search = slice.searchCondition(["w.model_name", "w.name"], &p) ?? "1 = 1"
            lanes.append("""
                SELECT * FROM (SELECT \(lane) AS lane, w.id, w.sk FROM (\(walk)) AS w WHERE \(search)
                    ORDER BY w.sk \(dir), w.id \(dir) LIMIT \(enoughBound)) AS lane\(lane)
                """)
        }
        // Every lane's matches up to the page's end, in the page's order: the first `enough`
        // of them are the page's, and each lane's count says whether it was cut short.
        let found = try database.queryList("""
            SELECT lane, id FROM (\(lanes.joined(separator: " UNION ALL "))) AS lanes ORDER BY sk \(dir), id \(dir)
            """, p.values, for: slice)
        var perLane = [Int](repeating: 0, count: lanes.count)
        var matches: [Int] = []
        for row in found {
            perLane[try row.int("lane")] += 1
            if matches.count < enough { matches.append(try row.int("id")) }
        }
        for (lane, count) in perLane.enumerated() where count < enough {
            // Short of a page: a lane's matches are its all only if its walk read every row it has.
            let walked = try database.queryOne("SELECT COUNT(*) AS n FROM (\(walks[lane])) AS w", p.values)?.int("n") ?? 0
            if walked >= searchWalkBudget { return nil }
        }
        let pageIDs = Array(matches.dropFirst(slice.offset))
        guard !pageIDs.isEmpty else { return ListResult(rows: [], hasMore: false) }
        var q = SQLParameters()
        let rows = try database.query("""
            SELECT \(Self.listColumns) FROM deployments d WHERE d.id IN (\(q.list(pageIDs.map { .int(Int64($0)) })))
                ORDER BY \(sortKey) \(dir), d.id \(dir)
            """, q.values)
        return ListResult(rows: try rows.prefix(slice.limit - 1).map(Self.decodeListRow), hasMore: rows.count >= slice.limit)
    }

    /// The statuses of `slice` read one ordered read each: one lane per status when there are
    /// several (an index led by `status` orders one status only), else one lane for them all.
    static func lanes(_ slice: ListSlice<DeploymentSortKey, DeploymentStatus>) -> [ListSlice<DeploymentSortKey, DeploymentStatus>] {
        guard slice.statuses.count > 1 else { return [slice] }
        return slice.statuses.map { status in
            var one = slice
            one.statuses = [status]
            return one
        }
    }

    /// The table at an instant. Deployments deleted since belong in it, but a condition that
    /// admits deleted rows rules out every partial (not deleted) sort index, and the page then
    /// sorts the whole table. So the page is the merge of two ordered reads: the rows not
    /// deleted, walked along the sort index until the page is full, and the (few) rows deleted
    /// after the instant.
    private func listLiveAt(_ slice: ListSlice<DeploymentSortKey, DeploymentStatus>, filters: Filters) throws -> ListResult<DeploymentListRow> {
        var p = SQLParameters()
        var kept = filters, gone = filters
        kept.scope = .notDeleted
        gone.scope = .deletedSince
        // The rows not deleted are walked status by status when several are asked for (see
        // `listStatusSet`); the deleted ones are few, read in one.
        let a = Self.lanes(slice).map { Self.tableClauses($0, filters: kept, &p) }, b = Self.tableClauses(slice, filters: gone, &p)
        let dir = slice.direction == .asc ? "ASC" : "DESC"
        let enough = ListClauses.bound(slice.offset + slice.limit, for: slice, &p)
        func member(_ c: ListClauses, _ name: String) -> String {
            """
            SELECT * FROM (SELECT \(Self.listColumns), \(c.sortKey) AS \(ListClauses.sortKeyColumn) FROM deployments d
                WHERE \(c.conditions.joined(separator: " AND ")) ORDER BY \(c.sortKey) \(dir), id \(dir) LIMIT \(enough)) AS \(name)
            """
        }
        let members = a.enumerated().map { member($0.element, "kept\($0.offset)") } + [member(b, "gone")]
        let rows = try database.queryList("""
            SELECT * FROM (\(members.joined(separator: " UNION ALL "))) AS live
            ORDER BY \(ListClauses.sortKeyColumn) \(dir), id \(dir) \(ListClauses.window(slice, &p))
            """, p.values, for: slice)
        return ListResult(rows: try rows.prefix(slice.limit - 1).map(Self.decodeListRow), hasMore: rows.count >= slice.limit)
    }

    /// The table's rows after `cursor` in the page's order, `limit` at a time, for the export:
    /// the same conditions and order as `list`, continued by keyset instead of OFFSET.
    func listBatch(_ slice: ListSlice<DeploymentSortKey, DeploymentStatus>, filters: Filters = Filters(), after cursor: ListCursor?,
                   limit: Int) throws -> ListBatch<DeploymentListRow> {
        var p = SQLParameters()
        var filters = filters
        filters.search = try searchPlan(slice.search)
        let clauses = Self.tableClauses(slice, filters: filters, &p)
        let rows = try database.queryList("""
            SELECT \(Self.listColumns), \(clauses.sortKey) AS \(ListClauses.sortKeyColumn) FROM deployments d \(clauses.batch(after: cursor, limit: limit, &p))
            """, p.values, for: slice)
        return ListBatch(rows: try rows.map(Self.decodeListRow), next: rows.count < limit ? nil : try rows.last.map { try ListCursor(after: $0) })
    }

    /// The deployments table's filters and order, the one place both `list` and `listBatch`
    /// take them from. Deleted deployments are listed only when asked what was live at an
    /// instant they were still serving.
    static func tableClauses(_ slice: ListSlice<DeploymentSortKey, DeploymentStatus>, filters: Filters = Filters(),
                             _ p: inout SQLParameters) -> ListClauses {
        var conditions: [String] = []
        if let instant = filters.liveAt {
            let at = p.add(.date(instant))
            switch filters.scope {
            case .any: break
            case .notDeleted: conditions.append("deleted_at IS NULL")
            case .deletedSince: conditions.append("deleted_at IS NOT NULL AND deleted_at > \(at)")
            }
            conditions.append(Self.servingCondition(at: at))
        } else {
            conditions.append("deleted_at IS NULL")
        }
        if filters.attention { conditions.append("attention_since IS NOT NULL") }
        if let source = filters.source { conditions.append("metrics_source = \(p.add(.text(source.rawValue)))") }
        if let up = filters.up {
            conditions.append("EXISTS (SELECT 1 FROM inference_sources s WHERE s.deployment_id = d.id AND s.kind = 'scraped' AND s.up = \(up ? 1 : 0))")
        }
        switch filters.search {
        case .index(let phrase):
            conditions.append("d.id IN (SELECT rowid FROM deployments_search WHERE deployments_search MATCH \(p.add(.text(phrase))))")
        case .like, .dense:
            if let search = slice.searchCondition(["model_name", "name"], &p) { conditions.append(search) }
        }
        if let status = slice.statusCondition("status", &p) { conditions.append(status) }
        let column: String = switch slice.sort {
        case .model: "model_name"
        case .version: "version_number"
        case .status: "status"
        case .rps: "rps"
        case .p50: "p50_ms"
        case .p95: "p95_ms"
        case .p99: "p99_ms"
        case .errors: "error_rate"
        case .created: "created_at"
        }
        return ListClauses(conditions: conditions, sortKey: column, tieBreaker: "id", direction: slice.direction)
    }

    /// The running replicas of the deployment row `d`, as a column of a query over `deployments d`.
    static let runningReplicasOfRow = "(SELECT COUNT(*) FROM deployment_replicas r WHERE r.deployment_id = d.id AND r.status = 'running')"

    /// A page's columns. A scraped source row exists exactly while `metrics_source` is
    /// `scraped` (both change in one transaction), so the CASE leaves the other rows' lookup out:
    /// on PostgreSQL that subquery was a tenth of the page query's time (pgbench, 100k rows).
    private static let listColumns = """
        d.id, d.model_name, d.name, d.version, d.status, d.target_replicas, d.rps, d.p50_ms, d.p95_ms, d.p99_ms,
            d.error_rate, d.created_at, d.rps_baseline, d.attention_since, d.metrics_source,
            \(runningReplicasOfRow) AS running,
            CASE WHEN d.metrics_source = 'scraped'
                THEN (SELECT s.up FROM inference_sources s WHERE s.deployment_id = d.id AND s.kind = 'scraped') END AS scrape_up
        """

    private static func decodeListRow(_ row: Row) throws -> DeploymentListRow {
        DeploymentListRow(
            id: try row.int("id"), modelName: try row.string("model_name"), name: try row.string("name"),
            version: try row.string("version"), status: DeploymentStatus(rawValue: try row.string("status")) ?? .failed,
            targetReplicas: try row.int("target_replicas"), runningReplicas: try row.int("running"),
            stats: DeploymentStats(rps: try row.double("rps"), p50: try row.double("p50_ms"), p95: try row.double("p95_ms"),
                                   p99: try row.double("p99_ms"), errorRate: try row.double("error_rate")),
            rpsBaseline: try row.double("rps_baseline"), needsAttention: try row.optionalDate("attention_since") != nil,
            createdAt: try row.date("created_at"),
            metricsSource: MetricsSourceKind(rawValue: try row.string("metrics_source")) ?? .simulated,
            scrapeDown: try row.optionalInt("scrape_up") == 0)
    }

    struct Filters: Equatable {
        var liveAt: Date?
        var attention = false
        /// Only deployments whose figures come from this source.
        var source: MetricsSourceKind?
        /// With a scraped source: only those whose last scrape succeeded (true) or failed (false).
        var up: Bool?
        /// With `liveAt`: which rows a read considers (the page reads the two parts apart).
        var scope = Scope.any
        /// How `q` is matched; the store decides (see `searchPlan`).
        var search = SearchPlan.like

        enum Scope: Equatable { case any, notDeleted, deletedSince }
    }

    /// How a `q` search reads the table. `like`: `LOWER(column) LIKE '%q%'` on each row the
    /// sort index walks (PostgreSQL's trigram indexes serve it; on SQLite it costs a read per
    /// row until the page is full, which is quick when many rows match). `index`: the rows the
    /// trigram index finds, then sorted (quick when few match).
    enum SearchPlan: Equatable {
        case like
        case index(phrase: String)
        /// Many candidates: the page's order walked a bounded way, then the index's candidates
        /// sorted if the walk came up short (see `listByBoundedWalk`).
        case dense(phrase: String)

        /// Whether the rows read are the index's candidates rather than a walk along an index.
        var readsCandidates: Bool {
            if case .index = self { return true }
            return false
        }
    }

    /// Rows of the page's order a dense search reads before it sorts the candidates instead:
    /// about 2 ms on SQLite, and with a quarter of the rows matching, some 250 matches.
    static let defaultSearchWalkBudget = 1_000

    /// Candidates counted beyond this make walking the sort index the likely cheaper read: a
    /// page of 26 rows is then found within about 26 × rows / 5,000 rows (520 at 100k, 5,200 at
    /// 1M) when matches are spread evenly along the order, while sorting the candidates would
    /// cost more. The walk is bounded (`defaultSearchWalkBudget`) for when they are not.
    static let defaultSearchCandidateLimit = 5_000

    /// Chooses how to read `search`: on SQLite, the trigram index when it finds fewer than
    /// `searchCandidateLimit` rows (counting stops there), else a bounded walk (`dense`); for
    /// searches under three characters (no trigram) and on PostgreSQL, `LIKE`.
    func searchPlan(_ search: String) throws -> SearchPlan {
        guard database.dialect == .sqlite, search.unicodeScalars.count >= 3 else { return .like }
        // A quoted FTS5 phrase: every character literal, `"` doubled.
        let phrase = "\"" + search.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        let count = try database.queryOne("""
            SELECT COUNT(*) AS n FROM (SELECT rowid FROM deployments_search WHERE deployments_search MATCH $1 LIMIT $2)
            """, [.text(phrase), .int(Int64(searchCandidateLimit))])?.int("n") ?? 0
        return count < searchCandidateLimit ? .index(phrase: phrase) : .dense(phrase: phrase)
    }

    /// Deployments a guardrail has flagged, longest-flagged first. (The count is written into the
    /// SQL, as `ListClauses.window` explains.)
    func needingAttention(limit: Int) throws -> [Deployment] {
        try database.query("""
            SELECT \(Self.columns) FROM \(Self.from) WHERE d.deleted_at IS NULL AND d.attention_since IS NOT NULL
            ORDER BY d.attention_since, d.id LIMIT \(limit)
            """).map(Self.decode)
    }

    /// The newest deployments that are not deleted, optionally of one model.
    func recent(limit: Int, modelID: Int? = nil) throws -> [Deployment] {
        var p = SQLParameters()
        let filter = modelID.map { " AND d.model_id = " + p.add(.int(Int64($0))) } ?? ""
        return try database.query("""
            SELECT \(Self.columns) FROM \(Self.from) WHERE d.deleted_at IS NULL\(filter)
            ORDER BY d.created_at DESC, d.id DESC LIMIT \(limit)
            """, p.values).map(Self.decode)
    }

    /// Deployments per status (not deleted), from the counters (never a COUNT over the table).
    func statusCounts() throws -> [DeploymentStatus: Int] {
        var counts: [DeploymentStatus: Int] = [:]
        for row in try database.query("SELECT status, count FROM deployment_status_counts", []) {
            if let status = DeploymentStatus(rawValue: try row.string("status")) { counts[status] = try row.int("count") }
        }
        return counts
    }

    /// The live deployment of each of `jobIDs` that has one, by job id.
    func liveDeployments(ofJobs jobIDs: [Int]) throws -> [Int: Int] {
        guard !jobIDs.isEmpty else { return [:] }
        var p = SQLParameters()
        var out: [Int: Int] = [:]
        for row in try database.query("""
            SELECT job_id, id FROM deployments
            WHERE deleted_at IS NULL AND status IN \(Self.liveStatuses) AND job_id IN (\(p.list(jobIDs.map { .int(Int64($0)) })))
            """, p.values) {
            out[try row.int("job_id")] = try row.int("id")
        }
        return out
    }

    /// How many live deployments each model has, by model id.
    func liveCountsByModel() throws -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for row in try database.query("""
            SELECT model_id, COUNT(*) AS n FROM deployments WHERE deleted_at IS NULL AND status IN \(Self.liveStatuses) GROUP BY model_id
            """, []) {
            counts[try row.int("model_id")] = try row.int("n")
        }
        return counts
    }

    /// How many deployments of `modelID` are not deleted (deleting a model is refused while any are).
    static func count(_ conn: DatabaseConnection, modelID: Int) throws -> Int {
        try conn.queryOne("SELECT COUNT(*) AS n FROM deployments WHERE model_id = $1 AND deleted_at IS NULL",
                          [.int(Int64(modelID))])!.int("n")
    }

    /// Follows a model's rename: the table sorts and searches by its own copy of the model's
    /// name, so that a page of 100k deployments needs no join.
    static func renameModel(_ conn: DatabaseConnection, modelID: Int, to name: String) throws {
        try conn.execute("UPDATE deployments SET model_name = $2 WHERE model_id = $1", [.int(Int64(modelID)), .text(name)])
    }

    func resources(_ id: Int) throws -> DeploymentResources? {
        try database.queryOne("SELECT cpu, memory_mb, gpu, storage_gb FROM deployment_resources WHERE deployment_id = $1",
                              [.int(Int64(id))]).map {
            DeploymentResources(cpu: try $0.double("cpu"), memoryMB: try $0.int("memory_mb"), gpu: try $0.int("gpu"),
                                storageGB: try $0.int("storage_gb"))
        }
    }

    /// The replicas, newest revision first, then by ordinal.
    func replicas(_ id: Int) throws -> [DeploymentReplica] {
        try database.query("""
            SELECT id, ordinal, revision, status, updated_at, restarts, last_failure, retry_at FROM deployment_replicas
            WHERE deployment_id = $1 ORDER BY revision DESC, ordinal LIMIT 200
            """, [.int(Int64(id))]).map {
            DeploymentReplica(id: try $0.int("id"), ordinal: try $0.int("ordinal"), revision: try $0.int("revision"),
                              status: ReplicaStatus(rawValue: try $0.string("status")) ?? .failed, updatedAt: try $0.date("updated_at"),
                              restarts: try $0.int("restarts"), lastFailure: try $0.optionalString("last_failure"),
                              retryAt: try $0.optionalDate("retry_at"))
        }
    }

    /// The newest `limit` history rows, oldest first.
    func history(_ id: Int, limit: Int = 200) throws -> [DeploymentHistoryEntry] {
        try database.query("""
            SELECT \(Self.historyColumns) FROM deployment_status_history
            WHERE deployment_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2
            """, [.int(Int64(id)), .int(Int64(limit))]).map(Self.decodeHistory).reversed()
    }

    static let historyColumns = "id, old_status, new_status, event, revision, replicas, changed_by, reason, created_at"

    static func decodeHistory(_ row: Row) throws -> DeploymentHistoryEntry {
        DeploymentHistoryEntry(id: try row.int("id"), oldStatus: try row.optionalString("old_status"), newStatus: try row.string("new_status"),
                               event: DeploymentEvent(rawValue: try row.string("event")) ?? .status,
                               revision: try row.optionalInt("revision"), replicas: try row.optionalInt("replicas"),
                               changedBy: try row.string("changed_by"), reason: try row.string("reason"), at: try row.date("created_at"))
    }

    /// History rows of `id` from `since` on, oldest first (the chart's event markers).
    func events(_ id: Int, since: Date, limit: Int = 200) throws -> [DeploymentHistoryEntry] {
        try database.query("""
            SELECT \(Self.historyColumns) FROM deployment_status_history
            WHERE deployment_id = $1 AND created_at >= $2 ORDER BY created_at, id LIMIT $3
            """, [.int(Int64(id)), .date(since), .int(Int64(limit))]).map(Self.decodeHistory)
    }

    struct ChartPoint {
        var time: Date
        var requestsPerSecond: Double
        var errorRate: Double
        var p50: Double
        var p95: Double
        var p99: Double
    }

    /// Buckets since `since`, grouped in SQL into `width`-second steps, so a 7-day range sends
    /// at most `range / width` rows however many minutes are stored.
    func chartSeries(_ id: Int, since: Date, width: Int) throws -> [ChartPoint] {
        let group = "(" + database.dialect.epochMilliseconds("bucket") + " / $3)"
        let rows = try database.query("""
            SELECT \(group) AS g, SUM(requests) AS requests, SUM(errors) AS errors, SUM(seconds) AS seconds,
                AVG(CASE WHEN requests > 0 THEN p50_ms END) AS p50, AVG(CASE WHEN requests > 0 THEN p95_ms END) AS p95,
                AVG(CASE WHEN requests > 0 THEN p99_ms END) AS p99
            FROM inference_metrics WHERE deployment_id = $1 AND bucket >= $2 GROUP BY 1 ORDER BY 1
            """, [.int(Int64(id)), .date(since), .int(Int64(width) * 1000)])
        // Rates over the seconds observed (a scraped minute may cover less than 60); latency
        // only from minutes that had requests.
        return try rows.map { row in
            let requests = Double(try row.int("requests")), seconds = max(try row.double("seconds"), 1)
            return ChartPoint(time: Date(timeIntervalSince1970: Double(try row.int("g")) * Double(width)),
                              requestsPerSecond: requests / seconds,
                              errorRate: requests > 0 ? Double(try row.int("errors")) / requests : 0,
                              p50: try row.optionalDouble("p50") ?? 0, p95: try row.optionalDouble("p95") ?? 0,
                              p99: try row.optionalDouble("p99") ?? 0)
        }
    }

    // MARK: Deploy

    enum CreateResult: Equatable {
        case created(id: Int, name: String, version: String)
        /// The job's live deployment (deploying, active or paused).
        case alreadyLive(id: Int, name: String, status: DeploymentStatus)
    }

    /// The live deployment of `jobID`, if any.
    static func liveDeployment(_ conn: DatabaseConnection, job jobID: Int) throws -> (id: Int, name: String, status: DeploymentStatus)? {
        try conn.queryOne("""
            SELECT id, name, status FROM deployments WHERE job_id = $1 AND deleted_at IS NULL AND status IN \(liveStatuses)
            """, [.int(Int64(jobID))]).map {
            (try $0.int("id"), try $0.string("name"), DeploymentStatus(rawValue: try $0.string("status")) ?? .deploying)
        }
    }

    struct Choices: Equatable {
        /// nil: use the default name, `{model-slug}-{version}`, known only once the version is.
        var name: String?
        var replicas: Int
        var resources: DeploymentResources
    }

    /// Inserts the deployment (status `deploying`), its resources, pending replicas and first
    /// history row. The next version number is computed inside the transaction; two deploys of
    /// the same model racing for it make one of them retry. The partial unique index
    /// `deployments_one_live_per_job` settles two deploys of the same job.
    func create(_ job: TrainingJob, model: ModelRef, choices: Choices, by actor: Actor, now: Date,
                replacing replaced: Deployment? = nil) throws -> CreateResult {
        try DeploymentRules.check(replicas: choices.replicas, choices.resources)
        if let name = choices.name { try DeploymentRules.name.check(name) }
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try database.transaction { conn in
                    if let live = try Self.liveDeployment(conn, job: job.id) {
                        return .alreadyLive(id: live.id, name: live.name, status: live.status)
                    }
                    let number = try conn.queryOne("""
                        SELECT COALESCE(MAX(version_number), 0) + 1 AS n FROM deployments WHERE model_id = $1
                        """, [.int(Int64(model.id))])!.int("n")
                    let version = Self.versionName(number)
                    let name = choices.name ?? "\(model.slug)-\(version)"
                    let id = try Self.insert(conn, NewDeployment(
                        jobID: job.id, model: model, name: name, versionNumber: number, status: .deploying,
                        targetReplicas: choices.replicas, deployedBy: actor.username, createdAt: now, updatedAt: now,
                        replacesID: replaced?.id), resources: choices.resources)
                    try Self.applyTarget(conn, id, revision: 1, target: choices.replicas, start: true, now: now)
                    let origin = replaced.map { "rollback of \($0.name) (\($0.version)) to training job #\(job.id)" }
                        ?? "deployed from training job #\(job.id)"
                    try Self.recordHistory(conn, id, replaced == nil ? .deploy : .rollback, from: nil, to: .deploying, revision: 1,
                                           replicas: choices.replicas, by: actor,
                                           reason: "\(origin) with \(Self.replicas(choices.replicas))", now: now)
                    if let replaced {
                        try Self.recordHistory(conn, replaced.id, .rollback, from: replaced.status, to: replaced.status,
                                               revision: replaced.revision, replicas: replaced.targetReplicas, by: actor,
                                               reason: "rolling back to training job #\(job.id) as \(name) (\(version)); this one stops when it is active",
                                               now: now)
                    }
                    try AuditStore.record(conn, actor, replaced == nil ? .deploymentCreate : .deploymentRollback, target: "\(id)",
                                          details: "\(name) (\(version)) from job #\(job.id), \(Self.replicas(choices.replicas))", now: now)
                    return .created(id: id, name: name, version: version)
                }
            } catch let error as DatabaseError where error.isUniqueViolation(on: Schema.oneLiveDeploymentPerJob) {
                // Another deploy of this job won the race; name the deployment it made.
                if let live = try database.transaction({ try Self.liveDeployment($0, job: job.id) }) {
                    return .alreadyLive(id: live.id, name: live.name, status: live.status)
                }
                throw error
            } catch let error as DatabaseError where error.isUniqueViolation(on: Self.versionConstraint) && attempt < 10 {
                continue   // another deploy of this model took the number; take the next one
            }
        }
    }

    static let versionConstraint = "deployments_model_id_version_number_key"

    /// A model's first deployment is v1.0.0, its next v1.1.0: the minor number is one below the
    /// ordinal `version_number` (schema version 6).
    static func versionName(_ number: Int) -> String { "v1.\(number - 1).0" }
    static func endpoint(_ modelSlug: String, _ version: String) -> String { "/api/inference/\(modelSlug)/\(version)" }
    /// History reasons are written once and shown as they are: "1 replica", "3 replicas".
    static func replicas(_ n: Int) -> String { n == 1 ? "1 replica" : "\(n) replicas" }

    /// A deployment row with every column chosen by the caller (deploys, demo data, bulk loads).
    struct NewDeployment {
        var jobID: Int
        var model: ModelRef
        var name: String
        var versionNumber: Int
        var status: DeploymentStatus
        var targetReplicas: Int
        var deployedBy: String
        var createdAt: Date
        var updatedAt: Date
        var deletedAt: Date?
        var stats = DeploymentStats.zero
        var statsAt: Date?
        var replacesID: Int?
    }

    private static let insertColumns = """
        deployments (job_id, model_id, model_name, name, version, version_number, status, endpoint, target_replicas,
            deployed_by, created_at, updated_at, deleted_at, rps, p50_ms, p95_ms, p99_ms, error_rate, stats_at, replaces_id)
        """

    private static func tuple(_ d: NewDeployment, _ p: inout SQLParameters) -> String {
        let version = versionName(d.versionNumber)
        return "(" + p.list([
            .int(Int64(d.jobID)), .int(Int64(d.model.id)), .text(d.model.name), .text(d.name), .text(version),
            .int(Int64(d.versionNumber)), .text(d.status.rawValue), .text(endpoint(d.model.slug, version)),
            .int(Int64(d.targetReplicas)), .text(d.deployedBy), .date(d.createdAt), .date(d.updatedAt), SQLValue(d.deletedAt),
            .double(d.stats.rps), .double(d.stats.p50), .double(d.stats.p95), .double(d.stats.p99), .double(d.stats.errorRate),
            SQLValue(d.statsAt), SQLValue(d.replacesID),
        ]) + ")"
    }

    private static func resourcesTuple(_ id: Int, _ r: DeploymentResources, _ p: inout SQLParameters) -> String {
        "(" + p.list([.int(Int64(id)), .double(r.cpu), .int(Int64(r.memoryMB)), .int(Int64(r.gpu)), .int(Int64(r.storageGB))]) + ")"
    }

    /// Inserts the deployment and its resources, and counts it in its status unless deleted.
    static func insert(_ conn: DatabaseConnection, _ d: NewDeployment, resources: DeploymentResources) throws -> Int {
        var p = SQLParameters()
        let id = try conn.query("INSERT INTO \(insertColumns) VALUES \(tuple(d, &p)) RETURNING id", p.values)[0].int("id")
        var rp = SQLParameters()
        try conn.execute("INSERT INTO deployment_resources (deployment_id, cpu, memory_mb, gpu, storage_gb) VALUES \(resourcesTuple(id, resources, &rp))",
                         rp.values)
        try insertRevision(conn, id, DeploymentRevision(number: 1, replicas: d.targetReplicas, resources: resources, createdBy: d.deployedBy,
                                                        createdAt: d.createdAt, reason: "deployed"))
        if d.deletedAt == nil { try adjustCounts(conn, from: nil, to: d.status) }
        return id
    }

    /// A bulk-loaded deployment: the row, its resources, one replica and its first history row.
    struct BulkDeployment {
        var row: NewDeployment
        var resources: DeploymentResources
        var replicaStatus: ReplicaStatus
    }

    /// Inserts many deployments with four multi-row statements; their job ids must differ.
    /// The counters are not adjusted: call `recount` once at the end.
    static func insertMany(_ conn: DatabaseConnection, _ items: [BulkDeployment]) throws {
        var p = SQLParameters()
        let tuples = items.map { tuple($0.row, &p) }
        var idsByJob: [Int: Int] = [:]
        for row in try conn.query("INSERT INTO \(insertColumns) VALUES \(tuples.joined(separator: ", ")) RETURNING id, job_id", p.values) {
            idsByJob[try row.int("job_id")] = try row.int("id")
        }
        var resources = SQLParameters(), replicas = SQLParameters(), history = SQLParameters(), revisions = SQLParameters()
        var resourceTuples: [String] = [], replicaTuples: [String] = [], historyTuples: [String] = [], revisionTuples: [String] = []
        for item in items {
            let id = idsByJob[item.row.jobID]!
            resourceTuples.append(resourcesTuple(id, item.resources, &resources))
            revisionTuples.append(revisionTuple(id, DeploymentRevision(number: 1, replicas: item.row.targetReplicas, resources: item.resources,
                                                                       createdBy: item.row.deployedBy, createdAt: item.row.createdAt,
                                                                       reason: "bulk load"), &revisions))
            replicaTuples.append("(" + replicas.list([.int(Int64(id)), .int(1), .text(item.replicaStatus.rawValue),
                                                      .date(item.row.createdAt), .date(item.row.createdAt)]) + ")")
            historyTuples.append("(" + history.list([.int(Int64(id)), .null, .text(DeploymentStatus.deploying.rawValue),
                                                     .text(DeploymentEvent.deploy.rawValue), .int(1), .int(Int64(item.row.targetReplicas)),
                                                     .text(item.row.deployedBy), .text("bulk load"), .date(item.row.createdAt)]) + ")")
            // The history agrees with the status it was loaded with, so live-at queries answer for bulk data too.
            if item.row.status != .deploying {
                let event: DeploymentEvent = switch item.row.status {
                case .active: .activate
                case .paused: .pause
                case .failed: .fail
                case .deploying: .deploy
                }
                historyTuples.append("(" + history.list([.int(Int64(id)), .text(DeploymentStatus.deploying.rawValue), .text(item.row.status.rawValue),
                                                         .text(event.rawValue), .int(1), .int(Int64(item.row.targetReplicas)), .text("system"),
                                                         .text("bulk load"), .date(item.row.createdAt.addingTimeInterval(1))]) + ")")
            }
        }
        try conn.execute("INSERT INTO deployment_resources (deployment_id, cpu, memory_mb, gpu, storage_gb) VALUES \(resourceTuples.joined(separator: ", "))",
                         resources.values)
        try conn.execute("INSERT INTO deployment_replicas (deployment_id, ordinal, status, created_at, updated_at) VALUES \(replicaTuples.joined(separator: ", "))",
                         replicas.values)
        try conn.execute("""
            INSERT INTO deployment_status_history (deployment_id, old_status, new_status, event, revision, replicas, changed_by, reason, created_at)
            VALUES \(historyTuples.joined(separator: ", "))
            """, history.values)
        try conn.execute("INSERT INTO \(revisionColumns) VALUES \(revisionTuples.joined(separator: ", "))", revisions.values)
    }

    static let revisionColumns = """
        deployment_revisions (deployment_id, number, replicas, cpu, memory_mb, gpu, storage_gb, created_by, created_at, reason, source_revision)
        """

    static func revisionTuple(_ id: Int, _ r: DeploymentRevision, _ p: inout SQLParameters) -> String {
        "(" + p.list([.int(Int64(id)), .int(Int64(r.number)), .int(Int64(r.replicas)), .double(r.resources.cpu),
                      .int(Int64(r.resources.memoryMB)), .int(Int64(r.resources.gpu)), .int(Int64(r.resources.storageGB)),
                      .text(r.createdBy), .date(r.createdAt), .text(r.reason), SQLValue(r.sourceRevision)]) + ")"
    }

    static func insertRevision(_ conn: DatabaseConnection, _ id: Int, _ r: DeploymentRevision) throws {
        var p = SQLParameters()
        try conn.execute("INSERT INTO \(revisionColumns) VALUES \(revisionTuple(id, r, &p))", p.values)
    }

    /// The highest version number each model has used, by model id.
    func highestVersions() throws -> [Int: Int] {
        var versions: [Int: Int] = [:]
        for row in try database.query("SELECT model_id, COALESCE(MAX(version_number), 0) AS n FROM deployments GROUP BY model_id", []) {
            versions[try row.int("model_id")] = try row.int("n")
        }
        return versions
    }

    /// Writes the inference bucket for `minute` (once: a second call keeps the first) and puts it
    /// on the deployment row as the latest window, then checks its guardrails.
    @discardableResult
    static func recordStats(_ conn: DatabaseConnection, _ d: Deployment, minute: Int, now: Date) throws -> InferenceSimulator.Bucket {
        let running = try conn.queryOne("""
            SELECT COUNT(*) AS n FROM deployment_replicas WHERE deployment_id = $1 AND status = 'running'
            """, [.int(Int64(d.id))])!.int("n")
        return try recordStats(conn, [DueForStats(deployment: d, runningReplicas: running, guarded: true)], minute: minute, now: now)[0]
    }

    /// Rows per multi-row statement of the stats writes. At 1,024 PostgreSQL's planner joins an
    /// `UPDATE … FROM (VALUES …)` by a sequential scan of 100,000 deployments; at 512 and below
    /// it looks each row up by its key (EXPLAIN, PostgreSQL 15).
    static let statsBatch = 256

    /// `recordStats` for many deployments at once, in the same order: a few multi-row statements
    /// whatever their number, not three or four each. The runner writes 70,000 buckets a minute
    /// on a 100,000-row table, and on PostgreSQL each statement is a round trip whose cost on
    /// both ends was most of the runner's.
    /// Guardrails are checked only for those `guarded`.
    @discardableResult
    static func recordStats(_ conn: DatabaseConnection, _ due: [DueForStats], minute: Int, now: Date) throws -> [InferenceSimulator.Bucket] {
        let simulator = InferenceSimulator()
        var buckets = due.map { claim in
            simulator.bucket(deploymentID: claim.deployment.id, seed: claim.deployment.jobSeed, sizeClass: claim.deployment.sizeClass,
                             runningReplicas: claim.runningReplicas, minute: minute,
                             activeSinceMinute: Int((claim.deployment.createdAt.timeIntervalSince1970 / 60).rounded(.down)))
        }
        let inserted = try insertBuckets(conn, zip(due, buckets).map { ($0.deployment.id, $1) })
        for i in due.indices where !inserted.contains(due[i].deployment.id) {
            // Stored already (by another process, or an earlier call): what is stored stands.
            if let stored = try conn.queryOne("""
                SELECT requests, errors, p50_ms, p95_ms, p99_ms, seconds FROM inference_metrics WHERE deployment_id = $1 AND bucket = $2
                """, [.int(Int64(due[i].deployment.id)), .date(buckets[i].start)]) {
                buckets[i] = .init(minute: minute, requests: try stored.int("requests"), errors: try stored.int("errors"),
                                   p50: try stored.double("p50_ms"), p95: try stored.double("p95_ms"), p99: try stored.double("p99_ms"),
                                   seconds: try stored.double("seconds"))
            }
        }
        let start = Date(timeIntervalSince1970: Double(minute) * 60)
        let baselines = try trafficBaselines(conn, due.map(\.deployment.id), before: start)
        try setLatestStats(conn, zip(due, buckets).map { ($0.deployment.id, $1, baselines[$0.deployment.id] ?? 0) })
        for (claim, bucket) in zip(due, buckets) where claim.guarded {
            try GuardrailStore.evaluate(conn, claim.deployment, latest: bucket, now: now)
        }
        return buckets
    }

    /// Mean requests per second over the hour before `start` (the traffic-drop threshold's
    /// reference), from at most 60 rows of the primary key: over the seconds observed, so a gap
    /// in scraping does not read as a drop.
    static func trafficBaseline(_ conn: DatabaseConnection, _ id: Int, before start: Date) throws -> Double {
        try trafficBaselines(conn, [id], before: start)[id] ?? 0
    }

    /// `trafficBaseline` of each of `ids` that has one, by id.
    ///
    /// One scalar subquery per deployment, so each reads its own hour from the primary key. The
    /// join it replaces (`VALUES … JOIN inference_metrics … GROUP BY`) got a generic plan on
    /// PostgreSQL that scanned the hour of every deployment through the bucket index and hashed
    /// it against the batch: 1.55 s a statement once 100,000 deployments had an hour of buckets,
    /// against 10.7 ms now (EXPLAIN ANALYZE, PostgreSQL 15, 256 deployments a statement).
    static func trafficBaselines(_ conn: DatabaseConnection, _ ids: [Int], before start: Date) throws -> [Int: Double] {
        var baselines: [Int: Double] = [:]
        for batch in SQLBatches.ranges(count: ids.count, largest: statsBatch) {
            var p = SQLParameters()
            let from = p.add(.date(start.addingTimeInterval(-3600))), to = p.add(.date(start))
            // VALUES, not `IN (…)`: in a prepared statement's generic plan PostgreSQL built the IN
            // list's array again for every row it tested (160–290 ms a statement).
            let list = ids[batch].map { "(\(p.add(.int(Int64($0)))))" }.joined(separator: ", ")
            // Seconds are positive wherever there is a row, so the quotient is NULL only for a
            // deployment without buckets in the hour.
            for row in try conn.query("""
                SELECT v.column1 AS deployment_id,
                    (SELECT CAST(SUM(m.requests) AS DOUBLE PRECISION) / SUM(m.seconds) FROM inference_metrics m
                     WHERE m.deployment_id = v.column1 AND m.bucket >= \(from) AND m.bucket < \(to)) AS rps
                FROM (VALUES \(list)) AS v
                """, p.values) {
                if let rps = try row.optionalDouble("rps") { baselines[try row.int("deployment_id")] = rps }
            }
        }
        return baselines
    }

    /// Stores one minute's figures; false when that minute was already stored (which is kept).
    @discardableResult
    static func insertBucket(_ conn: DatabaseConnection, _ id: Int, _ bucket: InferenceSimulator.Bucket) throws -> Bool {
        try !insertBuckets(conn, [(id, bucket)]).isEmpty
    }

    /// Stores many deployments' minutes, each with the seconds it covers; returns the ids whose
    /// minute was not stored yet (an already stored minute is kept).
    @discardableResult
    static func insertBuckets(_ conn: DatabaseConnection, _ rows: [(id: Int, bucket: InferenceSimulator.Bucket)]) throws -> Set<Int> {
        var inserted = Set<Int>(minimumCapacity: rows.count)
        for batch in SQLBatches.ranges(count: rows.count, largest: statsBatch) {
            var p = SQLParameters()
            let tuples = rows[batch].map { id, b in
                "(\(p.add(.int(Int64(id)))), \(p.add(.date(b.start))), \(p.add(.int(Int64(b.requests))))," +
                    " \(p.add(.int(Int64(b.errors)))), \(p.add(.double(b.p50))), \(p.add(.double(b.p95))), \(p.add(.double(b.p99))), \(p.add(.double(b.seconds))))"
            }
            for row in try conn.query("""
                INSERT INTO inference_metrics (deployment_id, bucket, requests, errors, p50_ms, p95_ms, p99_ms, seconds)
                VALUES \(tuples.joined(separator: ", ")) ON CONFLICT (deployment_id, bucket) DO NOTHING RETURNING deployment_id
                """, p.values) {
                inserted.insert(try row.int("deployment_id"))
            }
        }
        return inserted
    }

    static func setLatestStats(_ conn: DatabaseConnection, _ id: Int, _ bucket: InferenceSimulator.Bucket, baseline: Double = 0) throws {
        try setLatestStats(conn, [(id, bucket, baseline)])
    }

    /// `setLatestStats` for many deployments, a few statements whatever their number.
    static func setLatestStats(_ conn: DatabaseConnection, _ rows: [(id: Int, bucket: InferenceSimulator.Bucket, baseline: Double)]) throws {
        for batch in SQLBatches.ranges(count: rows.count, largest: statsBatch) {
            var p = SQLParameters()
            // VALUES columns are column1, column2, … on both databases.
            let tuples = rows[batch].map { id, b, baseline in
                "(\(p.add(.int(Int64(id)))), \(p.add(.double(b.requestsPerSecond))), \(p.add(.double(b.p50))), \(p.add(.double(b.p95)))," +
                    " \(p.add(.double(b.p99))), \(p.add(.double(b.errorRate))), \(p.add(.date(b.start))), \(p.add(.double(baseline))))"
            }
            try conn.execute("""
                UPDATE deployments SET rps = v.column2, p50_ms = v.column3, p95_ms = v.column4, p99_ms = v.column5,
                    error_rate = v.column6, stats_at = v.column7, rps_baseline = v.column8
                FROM (VALUES \(tuples.joined(separator: ", "))) AS v WHERE deployments.id = v.column1
                """, p.values)
        }
    }

    // MARK: Counters

    static func adjustCounts(_ conn: DatabaseConnection, from old: DeploymentStatus?, to new: DeploymentStatus?) throws {
        if let old { try conn.execute("UPDATE deployment_status_counts SET count = count - 1 WHERE status = $1", [.text(old.rawValue)]) }
        if let new { try conn.execute("UPDATE deployment_status_counts SET count = count + 1 WHERE status = $1", [.text(new.rawValue)]) }
    }

    /// Rebuilds the counters from the rows (after bulk loads).
    static func recount(_ conn: DatabaseConnection) throws {
        try conn.execute("""
            UPDATE deployment_status_counts SET count =
              (SELECT COUNT(*) FROM deployments d WHERE d.status = deployment_status_counts.status AND d.deleted_at IS NULL)
            """, [])
    }
}
