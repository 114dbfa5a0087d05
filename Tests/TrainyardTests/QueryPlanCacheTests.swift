import Foundation
import HTTPServer
import Storage
import Testing
import TrainyardTestSupport
@testable import Trainyard

/// PostgreSQL plans a prepared statement for its values five times, then keeps one generic plan
/// if that looks no dearer. A LIMIT or OFFSET sent as a parameter makes the generic plan look
/// like a read of a tenth of the table, so the table's statements were planned again on every
/// request. These read `pg_prepared_statements` on the one pooled connection that ran them.
@Suite struct QueryPlanCacheTests {
    static let runs = 8

    /// (generic, custom) plans so far of the prepared statements whose text contains `marker`.
    func plans(_ db: Database, _ marker: String) throws -> (generic: Int, custom: Int) {
        let rows = try db.query("""
            SELECT generic_plans, custom_plans FROM pg_prepared_statements
            WHERE statement LIKE $1 AND statement NOT LIKE '%pg_prepared_statements%'
            """, [.text("%" + marker + "%")])
        #expect(!rows.isEmpty, "no prepared statement contains \(marker)")
        return (try rows.reduce(0) { $0 + (try $1.int("generic_plans")) }, try rows.reduce(0) { $0 + (try $1.int("custom_plans")) })
    }

    func seeded() throws -> Database {
        let db = try makeTestDatabase(.postgres, poolSize: 1)
        try Migrator(database: db, migrations: Schema.migrations(for: db.dialect)).migrate()
        _ = try DeploymentBulkLoader.load(db, rows: 5_000)
        return db
    }

    @Test(.enabled(if: !TestEnvironment.skipPostgres))
    func theFirstPageOfAStatusSortedByAFigureKeepsOneGenericPlan() throws {
        let db = try seeded()
        defer { db.close() }
        let store = DeploymentStore(database: db)
        let request = ListRequest(DeploymentRoutes.list, QueryParameters(parsing: "status=active&sort=p95&dir=desc"))
        var pages: [[Int]] = []
        for _ in 0..<Self.runs { pages.append(try store.list(request.slice).rows.map(\.id)) }
        #expect(pages[0].count == 25)
        #expect(Set(pages.map { $0 }).count == 1, "the same page every time")

        let counted = try plans(db, "ORDER BY p95_ms DESC")
        #expect(counted.generic >= Self.runs - 5, "planned for its values every time: \(counted)")
        #expect(counted.custom <= 5)
    }

    @Test(.enabled(if: !TestEnvironment.skipPostgres))
    func severalStatusesAndDeeperPagesStillReadTheRightRows() throws {
        let db = try seeded()
        defer { db.close() }
        let store = DeploymentStore(database: db)
        let all = ListRequest(DeploymentRoutes.list, QueryParameters(parsing: "status=active&status=paused&sort=rps&per=100"))
        let everything = try store.list(all.slice).rows.map(\.id)
        let first = ListRequest(DeploymentRoutes.list, QueryParameters(parsing: "status=active&status=paused&sort=rps&per=25"))
        let second = ListRequest(DeploymentRoutes.list, QueryParameters(parsing: "status=active&status=paused&sort=rps&per=25&page=2"))
        for _ in 0..<Self.runs {
            let one = try store.list(first.slice), two = try store.list(second.slice)
            #expect(one.rows.map(\.id) == Array(everything.prefix(25)))
            #expect(two.rows.map(\.id) == Array(everything.dropFirst(25).prefix(25)))
            #expect(one.hasMore)
        }
        // The first page's statement (offset 0, its bounds in the SQL) keeps a generic plan.
        let counted = try plans(db, "UNION ALL")
        #expect(counted.generic >= Self.runs - 5, "\(counted)")
    }

    /// Every statement the busiest pages ran often enough has settled on a generic plan: none is
    /// planned for its values on every request.
    @Test(.enabled(if: !TestEnvironment.skipPostgres))
    func thePagesStatementsAreNotPlannedOnEveryRequest() throws {
        let running = try RunningApp(database: try seeded())
        defer { running.stop() }
        let browser = try running.browser()
        let id = try running.database.queryOne("SELECT MIN(id) AS id FROM deployments")!.int("id")
        let job = try running.database.queryOne("SELECT MIN(id) AS id FROM training_jobs")!.int("id")
        let paths = ["/", "/deployments", "/deployments?status=active&sort=p95&dir=desc", "/deployments?status=paused&status=failed&sort=rps",
                     "/deployments/\(id)", "/training/jobs", "/training/jobs/\(job)", "/models", "/audit"]
        for _ in 0..<Self.runs {
            for path in paths { #expect(try browser.get(path).status == 200, "\(path)") }
        }
        let replanned = try running.database.query("""
            SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements
            WHERE generic_plans + custom_plans >= $1 AND custom_plans > 5 AND statement NOT LIKE '%pg_prepared_statements%'
            """, [.int(Int64(Self.runs))])
        let described = try replanned.map { "\(try $0.int("custom_plans"))× " + (try $0.string("statement")) }
        #expect(described.isEmpty, "planned on every run: \(described)")
    }

    /// A search's best plan depends on its pattern, so its statements are never prepared: each
    /// run is planned for its values. (A generic plan, once chosen, made a search over three
    /// statuses 7× slower on the 100k table.)
    @Test(.enabled(if: !TestEnvironment.skipPostgres))
    func searchesArePlannedForTheirPatternEveryTime() throws {
        let db = try seeded()
        defer { db.close() }
        let store = DeploymentStore(database: db)
        let jobs = JobStore(database: db)
        var pages: [String: [Int]] = [:]
        for query in ["q=zz-nothing&sort=rps&dir=asc", "q=nano&status=active&status=paused&sort=p95&dir=asc", "q=nano&sort=model&page=2"] {
            let request = ListRequest(DeploymentRoutes.list, QueryParameters(parsing: query))
            for _ in 0..<Self.runs {
                let ids = try store.list(request.slice).rows.map(\.id)
                #expect(pages[query, default: ids] == ids, "\(query): the same rows every run")
                pages[query] = ids
            }
        }
        #expect(pages["q=zz-nothing&sort=rps&dir=asc"] == [])
        #expect(pages["q=nano&sort=model&page=2"]?.count == 25)
        let jobSearch = ListRequest(TrainingRoutes.list, QueryParameters(parsing: "q=bench"))
        for _ in 0..<Self.runs { _ = try jobs.list(jobSearch.slice) }
        let prepared = try db.query("""
            SELECT statement FROM pg_prepared_statements WHERE statement LIKE '%LIKE%' AND statement NOT LIKE '%pg_prepared_statements%'
            """).map { try $0.string("statement") }
        #expect(prepared.isEmpty, "searches kept as prepared statements: \(prepared)")
        // Pages without q are still prepared.
        _ = try store.list(ListRequest(DeploymentRoutes.list, QueryParameters(parsing: "sort=rps")).slice)
        let kept = try db.queryOne("SELECT COUNT(*) AS n FROM pg_prepared_statements WHERE statement LIKE '%FROM deployments d%ORDER BY rps%' AND statement NOT LIKE '%pg_prepared_statements%'")
        let n = try kept?.int("n")
        #expect(n == 1, "\(String(describing: n))")
    }
}
