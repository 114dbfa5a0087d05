import Foundation
import Storage
import Testing
import TrainyardTestSupport
@testable import Trainyard

/// The table's `q` search through the trigram index finds exactly what a case-insensitive
/// substring match over the model and deployment names finds, on both drivers and on both of
/// SQLite's paths (the index's candidates, or `LIKE` along the sort index).
@Suite struct DeploymentSearchTests {
    static let names = ["Llama-3 8B", "LLAMA Guard", "mistral-7b_instruct", "50% off", "say \"hi\"", "Über Model", "qwen2.5-coder"]
    static let queries = ["llama", "LLaMa", "lam", "ll", "7b_", "_", "%", "50%", "\"hi\"", "\"", "über", "coder", "zzz", "a-3 8", "Model", "b"]

    func seed(_ db: Database) throws -> [(id: Int, model: String, name: String)] {
        let model = try Fixtures.model(db, slug: "search-model", name: "Search Model")
        var rows: [(Int, String, String)] = []
        for (index, name) in Self.names.enumerated() {
            let job = try Fixtures.completeJob(db, modelID: model, name: "search-\(index)")
            let id = try Fixtures.deployment(db, jobID: job)
            let modelName = index % 2 == 0 ? name : "Search Model"
            let deploymentName = index % 2 == 0 ? "deployment-\(index)" : name
            // Renaming goes through the update trigger that keeps the index in step.
            try db.execute("UPDATE deployments SET model_name = $2, name = $3 WHERE id = $1",
                           [.int(Int64(id)), .text(modelName), .text(deploymentName)])
            rows.append((id, modelName, deploymentName))
        }
        try db.transaction { conn in try DeploymentStore.recount(conn) }
        return rows
    }

    func slice(_ q: String) -> ListSlice<DeploymentSortKey, DeploymentStatus> {
        ListSlice(search: q, statuses: [], sort: .created, direction: .desc, limit: 100, offset: 0)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func indexedSearchMatchesASubstringSearch(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Migrator(database: db, migrations: Schema.migrations(for: db.dialect)).migrate()
        let rows = try seed(db)
        for limit in [DeploymentStore.defaultSearchCandidateLimit, 1] {
            let store = DeploymentStore(database: db, searchCandidateLimit: limit)
            for q in Self.queries {
                let needle = q.lowercased()
                let expected = Set(rows.filter { $0.model.lowercased().contains(needle) || $0.name.lowercased().contains(needle) }.map(\.id))
                let found = Set(try store.list(slice(q)).rows.map(\.id))
                // SQLite's LOWER folds ASCII only: non-ASCII case differences are left to the index.
                if limit == 1 || kind == .postgres, q == "über" { continue }
                #expect(found == expected, "q=\(q) limit=\(limit) on \(kind)")
            }
        }
        // A renamed deployment is found by its new name only.
        try db.execute("UPDATE deployments SET model_name = 'Renamed' WHERE id = $1", [.int(Int64(rows[0].id))])
        let store = DeploymentStore(database: db)
        #expect(!(try store.list(slice("llama-3")).rows.map(\.id).contains(rows[0].id)))
        #expect(try store.list(slice("renamed")).rows.map(\.id) == [rows[0].id])
    }

    @Test func sqliteChoosesTheIndexForFewCandidatesAndABoundedWalkForMany() throws {
        let db = try makeTestDatabase(.sqlite)
        defer { db.close() }
        try Migrator(database: db, migrations: Schema.migrations(for: db.dialect)).migrate()
        _ = try seed(db)
        let store = DeploymentStore(database: db, searchCandidateLimit: 3)
        #expect(try store.searchPlan("llama") == .index(phrase: "\"llama\""))
        #expect(try store.searchPlan("say \"hi\"") == .index(phrase: "\"say \"\"hi\"\"\""))
        #expect(try store.searchPlan("deployment") == .dense(phrase: "\"deployment\""), "four candidates: past the limit of 3")
        #expect(try store.searchPlan("ll") == .like, "under three characters there is no trigram")
        #expect(try DeploymentStore(database: db).searchPlan("llama") == .index(phrase: "\"llama\""))
    }
}

/// Every way the store can read a searched page (the index's candidates sorted, a bounded walk
/// along the order that finds enough, one that comes up short and falls back to the candidates,
/// `LIKE` on PostgreSQL) gives exactly the rows and order of one query that filters and sorts
/// every row, with one status, several or none, at any offset.
@Suite struct DeploymentSearchPlanTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func everySearchPlanGivesThePageOneSortedQueryGives(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Migrator(database: db, migrations: Schema.migrations(for: db.dialect)).migrate()
        let model = try Fixtures.model(db, slug: "plan-model", name: "Plan Model")
        let statuses = ["active", "paused", "failed", "deploying"]
        for i in 0..<60 {
            let job = try Fixtures.completeJob(db, modelID: model, name: "plan-\(i)")
            let id = try Fixtures.deployment(db, jobID: job)
            // "nano" rows have the lowest latencies, so a walk by p95 from the top meets them last.
            let modelName = i % 3 == 0 ? "Tiny Nano" : "Big Large"
            let latency = i % 3 == 0 ? Double(i % 5) : Double(100 + (i * 7) % 50)
            try db.execute("UPDATE deployments SET model_name = $2, name = $3, status = $4, p95_ms = $5, rps = $6 WHERE id = $1",
                           [.int(Int64(id)), .text(modelName), .text("dep-\(i % 11)"), .text(statuses[i % 4]),
                            .double(latency), .double(Double(i % 6))])
        }
        try db.transaction { conn in try DeploymentStore.recount(conn) }
        // Default; always dense, with walks that reach the end (1,000), that reach the end of a
        // status's 15 rows but not the table's 60 (20), that fill some pages and fall short of
        // others (12), and that always fall short so the candidates are sorted (3).
        let stores = [DeploymentStore(database: db)] + [1_000, 20, 12, 3].map {
            DeploymentStore(database: db, searchCandidateLimit: 1, searchWalkBudget: $0)
        }
        let sets: [[DeploymentStatus]] = [[], [.active], [.paused, .failed], [.active, .paused, .deploying]]
        for q in ["nano", "large", "dep-1", "zzz"] {
            for set in sets {
                for (sort, column) in [(DeploymentSortKey.p95, "p95_ms"), (.rps, "rps"), (.model, "model_name")] {
                    for direction in [TableQuery.Direction.asc, .desc] {
                        for offset in [0, 6, 30] {
                            let dir = direction == .asc ? "ASC" : "DESC"
                            let statusSQL = set.isEmpty ? "" : "AND status IN (" + set.map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")"
                            let filter = """
                                deleted_at IS NULL \(statusSQL) AND (LOWER(model_name) LIKE '%\(q)%' OR LOWER(name) LIKE '%\(q)%')
                                """
                            let expected = try db.query("""
                                SELECT id FROM deployments WHERE \(filter) ORDER BY \(column) \(dir), id \(dir) LIMIT 6 OFFSET \(offset)
                                """).map { try $0.int("id") }
                            let total = try db.queryOne("SELECT COUNT(*) AS n FROM deployments WHERE \(filter)")!.int("n")
                            for (index, store) in stores.enumerated() {
                                let slice = ListSlice<DeploymentSortKey, DeploymentStatus>(search: q, statuses: set, sort: sort,
                                                                                           direction: direction, limit: 7, offset: offset)
                                let page = try store.list(slice)
                                let label = "q=\(q) \(set) \(sort) \(direction) offset \(offset) store \(index) on \(kind)"
                                #expect(page.rows.map(\.id) == expected, "\(label)")
                                #expect(page.hasMore == (offset + 6 < total), "\(label)")
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Several statuses at once are read status by status along their indexes and merged; the page
/// is exactly what one `status IN (…)` query sorting every row gives.
@Suite struct DeploymentStatusSetTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func mergedStatusReadsGiveTheSameRowsAndOrderAsOneSortedQuery(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Migrator(database: db, migrations: Schema.migrations(for: db.dialect)).migrate()
        let model = try Fixtures.model(db, slug: "set-model", name: "Set Model")
        let statuses = ["active", "paused", "failed", "deploying"]
        for i in 0..<40 {
            let job = try Fixtures.completeJob(db, modelID: model, name: "set-\(i)")
            let id = try Fixtures.deployment(db, jobID: job)
            // Ties on purpose (i % 7), so the id must break them the same way on both reads.
            try db.execute("UPDATE deployments SET status = $2, rps = $3, p95_ms = $4 WHERE id = $1",
                           [.int(Int64(id)), .text(statuses[i % 4]), .double(Double(i % 7)), .double(Double((i * 13) % 40))])
        }
        try db.transaction { conn in try DeploymentStore.recount(conn) }
        let store = DeploymentStore(database: db)
        let sets: [[DeploymentStatus]] = [[.deploying, .failed], [.active, .paused, .failed], [.active, .paused, .failed, .deploying]]
        for set in sets {
            for (sort, column) in [(DeploymentSortKey.rps, "rps"), (.p95, "p95_ms"), (.created, "created_at"), (.model, "model_name")] {
                for direction in [TableQuery.Direction.asc, .desc] {
                    for offset in [0, 5, 17] {
                        let slice = ListSlice<DeploymentSortKey, DeploymentStatus>(search: "", statuses: set, sort: sort, direction: direction,
                                                                                   limit: 8, offset: offset)
                        let dir = direction == .asc ? "ASC" : "DESC"
                        let list = set.map { "'\($0.rawValue)'" }.joined(separator: ", ")
                        let expected = try db.query("""
                            SELECT id FROM deployments WHERE deleted_at IS NULL AND status IN (\(list))
                            ORDER BY \(column) \(dir), id \(dir) LIMIT 7 OFFSET \(offset)
                            """).map { try $0.int("id") }
                        let page = try store.list(slice)
                        #expect(page.rows.map(\.id) == expected, "\(set) \(sort) \(direction) offset \(offset)")
                        let total = try db.queryOne("SELECT COUNT(*) AS n FROM deployments WHERE deleted_at IS NULL AND status IN (\(list))")!.int("n")
                        #expect(page.hasMore == (offset + 7 < total))
                    }
                }
            }
        }
    }
}
