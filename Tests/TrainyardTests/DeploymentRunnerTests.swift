import Foundation
import Storage
import Testing
import TrainyardTestSupport
@testable import Trainyard

extension Fixtures {
    /// A job that has finished training, moved through the store so the counters agree.
    @discardableResult
    static func completeJob(_ db: Database, modelID: Int, name: String = "done") throws -> Int {
        let id = try job(db, modelID: modelID, name: name)
        let store = JobStore(database: db)
        _ = try store.transition(id, from: [.queued], to: .running, by: .system, now: Date())
        try db.execute("UPDATE training_jobs SET current_step = epochs * steps_per_epoch WHERE id = $1", [.int(Int64(id))])
        _ = try store.transition(id, from: [.running], to: .complete, by: .system, now: Date())
        return id
    }

    /// A deployment created through the store, as the Deploy button would.
    static func deployment(_ db: Database, jobID: Int, replicas: Int = 1, name: String? = nil, now: Date = Date()) throws -> Int {
        let store = DeploymentStore(database: db)
        let job = try #require(try JobStore(database: db).find(jobID))
        let model = try #require(job.model)
        let defaults = DeploymentResources.defaults(for: model.sizeClass)
        let result = try store.create(job, model: model, choices: .init(name: name, replicas: replicas, resources: defaults.resources), by: .system, now: now)
        guard case .created(let id, _, _) = result else { throw FixtureError.notCreated }
        return id
    }

    enum FixtureError: Error { case notCreated }

    static func deploymentStatus(_ db: Database, _ id: Int) throws -> String? {
        try db.queryOne("SELECT status FROM deployments WHERE id = $1", [.int(Int64(id))]).map { try $0.string("status") }
    }

    static func replicaStatuses(_ db: Database, _ id: Int) throws -> [String] {
        try db.query("SELECT status FROM deployment_replicas WHERE deployment_id = $1 ORDER BY ordinal", [.int(Int64(id))])
            .map { try $0.string("status") }
    }

    static func deploymentCounts(_ db: Database) throws -> [String: Int] {
        var out: [String: Int] = [:]
        for row in try db.query("SELECT status, count FROM deployment_status_counts") { out[try row.string("status")] = try row.int("count") }
        return out
    }
}

@Suite struct DeploymentRunnerTests {
    func prepare(_ kind: TestDatabaseKind) throws -> Database {
        let db = try makeTestDatabase(kind)
        try Migrator(database: db, migrations: Schema.migrations(for: db.dialect)).migrate()
        return db
    }

    /// Whole seconds at the start of a minute: both databases store milliseconds, so pace
    /// arithmetic stays exact, and the test controls which minute buckets fall in.
    func minuteStart() -> Date {
        Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 60).rounded(.down) * 60)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func replicasStartAtThePaceAndTheFirstRunningOneMakesItActive(_ kind: TestDatabaseKind) throws {
        let db = try prepare(kind)
        defer { db.close() }
        let job = try Fixtures.completeJob(db, modelID: try Fixtures.model(db))
        let t0 = minuteStart()
        let id = try Fixtures.deployment(db, jobID: job, replicas: 2, now: t0)
        #expect(try Fixtures.replicaStatuses(db, id) == ["pending", "pending"])
        #expect(try Fixtures.deploymentCounts(db)["deploying"] == 1)

        let runner = DeploymentRunner(database: db, speed: 1, startFailureRate: 0)   // pending 2 s, starting 8 s
        #expect(try runner.tick(now: t0.addingTimeInterval(1.5)) == .init())
        #expect(try runner.tick(now: t0.addingTimeInterval(2)).replicasMoved == 2)
        #expect(try Fixtures.replicaStatuses(db, id) == ["starting", "starting"])
        #expect(try runner.tick(now: t0.addingTimeInterval(9.5)).replicasMoved == 0)
        #expect(try Fixtures.deploymentStatus(db, id) == "deploying")

        let report = try runner.tick(now: t0.addingTimeInterval(10))
        #expect(report.replicasMoved == 2)
        #expect(report.activated == 1)
        #expect(try Fixtures.replicaStatuses(db, id) == ["running", "running"])
        #expect(try Fixtures.deploymentStatus(db, id) == "active")
        let counts = try Fixtures.deploymentCounts(db)
        #expect(counts["deploying"] == 0 && counts["active"] == 1)

        // Figures at once, from the current minute, on the row and as a bucket.
        let row = try #require(try db.queryOne("SELECT rps, p50_ms, p95_ms, p99_ms, error_rate, stats_at FROM deployments WHERE id = $1", [.int(Int64(id))]))
        let bucket = try #require(try db.queryOne("SELECT requests, errors, p50_ms, p95_ms, p99_ms, bucket FROM inference_metrics WHERE deployment_id = $1", [.int(Int64(id))]))
        #expect(try row.date("stats_at") == t0)
        #expect(try bucket.date("bucket") == t0)
        #expect(try row.double("rps") > 0)
        #expect(abs(try row.double("rps") - Double(try bucket.int("requests")) / 60) < 1e-9)
        #expect(try row.double("p95_ms") == bucket.double("p95_ms"))
        #expect(try row.double("p50_ms") < row.double("p95_ms") && row.double("p95_ms") < row.double("p99_ms"))

        let history = try db.query("SELECT old_status, new_status, changed_by FROM deployment_status_history WHERE deployment_id = $1 ORDER BY id",
                                   [.int(Int64(id))])
        #expect(try history.map { try $0.optionalString("old_status") ?? "-" } == ["-", "deploying"])
        #expect(try history.map { try $0.string("new_status") } == ["deploying", "active"])
        #expect(try history.last!.string("changed_by") == "system")
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func bucketsOlderThanTheRetentionAreDeletedInBatches(_ kind: TestDatabaseKind) throws {
        let db = try prepare(kind)
        defer { db.close() }
        let job = try Fixtures.completeJob(db, modelID: try Fixtures.model(db))
        let t0 = minuteStart()
        let id = try Fixtures.deployment(db, jobID: job, now: t0)
        // 6,000 buckets from three weeks ago (about four days of minutes) and 100 from yesterday.
        try db.transaction { conn in
            for (start, count) in [(-21 * 86_400, 6_000), (-86_400, 100)] {
                for i in 0..<count {
                    try conn.execute("""
                        INSERT INTO inference_metrics (deployment_id, bucket, requests, errors, p50_ms, p95_ms, p99_ms)
                        VALUES ($1, $2, 60, 0, 40, 100, 180)
                        """, [.int(Int64(id)), .date(t0.addingTimeInterval(Double(start + i * 60)))])
                }
            }
        }
        let runner = DeploymentRunner(database: db, speed: 100, startFailureRate: 0)
        func oldest() throws -> Date? {
            try db.queryOne("SELECT MIN(bucket) AS b FROM inference_metrics WHERE deployment_id = $1", [.int(Int64(id))])?.optionalDate("b")
        }
        #expect(try runner.tick(now: t0.addingTimeInterval(1)).pruned == DeploymentRunner.prunedPerTick)
        // Oldest first.
        #expect(try oldest() == t0.addingTimeInterval(Double(-21 * 86_400 + DeploymentRunner.prunedPerTick * 60)))
        #expect(try runner.tick(now: t0.addingTimeInterval(2)).pruned == 6_000 - DeploymentRunner.prunedPerTick)
        #expect(try runner.tick(now: t0.addingTimeInterval(3)).pruned == 0)
        #expect(try oldest() == t0.addingTimeInterval(-86_400))
        #expect(try Fixtures.count(db, "inference_metrics") >= 100)

        // Once a prune came up short, the rest of the minute's ticks skip it: an old bucket that
        // appears meanwhile goes with the next minute's.
        try db.execute("INSERT INTO inference_metrics (deployment_id, bucket, requests, errors, p50_ms, p95_ms, p99_ms) VALUES ($1, $2, 60, 0, 40, 100, 180)",
                       [.int(Int64(id)), .date(t0.addingTimeInterval(-30 * 86_400))])
        #expect(try runner.tick(now: t0.addingTimeInterval(4)).pruned == 0)
        #expect(try runner.tick(now: t0.addingTimeInterval(61)).pruned == 1)
        #expect(try oldest() == t0.addingTimeInterval(-86_400))
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func oneBucketPerMinuteIdempotentWithTheLatestWindowOnTheRow(_ kind: TestDatabaseKind) throws {
        let db = try prepare(kind)
        defer { db.close() }
        let job = try Fixtures.completeJob(db, modelID: try Fixtures.model(db))
        let t0 = minuteStart()
        let id = try Fixtures.deployment(db, jobID: job, now: t0)
        let runner = DeploymentRunner(database: db, speed: 100, startFailureRate: 0)
        try runner.tick(now: t0.addingTimeInterval(1))
        try runner.tick(now: t0.addingTimeInterval(2))
        #expect(try Fixtures.deploymentStatus(db, id) == "active")
        #expect(try Fixtures.count(db, "inference_metrics") == 1)

        // Later ticks in the same minute write nothing more; a fresh runner (another process) neither.
        #expect(try runner.tick(now: t0.addingTimeInterval(30)).buckets == 0)
        #expect(try DeploymentRunner(database: db, speed: 100, startFailureRate: 0).tick(now: t0.addingTimeInterval(40)).buckets == 0)
        #expect(try Fixtures.count(db, "inference_metrics") == 1)

        // The next minute gets its bucket, and the row shows it.
        #expect(try runner.tick(now: t0.addingTimeInterval(61)).buckets == 1)
        #expect(try runner.tick(now: t0.addingTimeInterval(62)).buckets == 0)
        #expect(try Fixtures.count(db, "inference_metrics") == 2)
        let latest = try #require(try db.queryOne("""
            SELECT requests, p95_ms FROM inference_metrics WHERE deployment_id = $1 ORDER BY bucket DESC LIMIT 1
            """, [.int(Int64(id))]))
        let row = try #require(try db.queryOne("SELECT rps, p95_ms, stats_at FROM deployments WHERE id = $1", [.int(Int64(id))]))
        #expect(try row.date("stats_at") == t0.addingTimeInterval(60))
        #expect(try row.double("p95_ms") == latest.double("p95_ms"))
        #expect(abs(try row.double("rps") - Double(try latest.int("requests")) / 60) < 1e-9)

        // Writing the same minute again keeps the first bucket.
        let d = try #require(try DeploymentStore(database: db).find(id))
        try db.transaction { conn in _ = try DeploymentStore.recordStats(conn, d, minute: DeploymentRunner.minute(of: t0), now: t0) }
        #expect(try Fixtures.count(db, "inference_metrics") == 2)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func scalingUpStartsReplicasAndScalingDownStopsThem(_ kind: TestDatabaseKind) throws {
        let db = try prepare(kind)
        defer { db.close() }
        let job = try Fixtures.completeJob(db, modelID: try Fixtures.model(db))
        let t0 = minuteStart()
        let id = try Fixtures.deployment(db, jobID: job, replicas: 1, now: t0)
        let runner = DeploymentRunner(database: db, speed: 1, startFailureRate: 0)
        try runner.tick(now: t0.addingTimeInterval(2))
        try runner.tick(now: t0.addingTimeInterval(10))
        #expect(try Fixtures.deploymentStatus(db, id) == "active")

        let store = DeploymentStore(database: db)
        #expect(try store.scale(id, to: 3, by: .system, now: t0.addingTimeInterval(20)).kind == "changed")
        #expect(try Fixtures.replicaStatuses(db, id) == ["running", "pending", "pending"])
        try runner.tick(now: t0.addingTimeInterval(22))
        try runner.tick(now: t0.addingTimeInterval(30))
        #expect(try Fixtures.replicaStatuses(db, id) == ["running", "running", "running"])

        #expect(try store.scale(id, to: 1, by: .system, now: t0.addingTimeInterval(40)).kind == "changed")
        #expect(try Fixtures.replicaStatuses(db, id) == ["running", "stopping", "stopping"])
        try runner.tick(now: t0.addingTimeInterval(42))
        #expect(try Fixtures.replicaStatuses(db, id) == ["running", "stopping", "stopping"])
        try runner.tick(now: t0.addingTimeInterval(43))
        #expect(try Fixtures.replicaStatuses(db, id) == ["running", "stopped", "stopped"])
        #expect(try Fixtures.deploymentStatus(db, id) == "active")
        #expect(try store.scale(id, to: 1, by: .system, now: t0.addingTimeInterval(44)).kind == "unchanged")

        // Scale rows are in the history with the same status on both sides.
        let reasons = try db.query("SELECT reason FROM deployment_status_history WHERE deployment_id = $1 ORDER BY id", [.int(Int64(id))])
            .map { try $0.string("reason") }
        #expect(reasons.contains("revision 2: replicas 1 → 3"))
        #expect(reasons.contains("revision 3: replicas 3 → 1"))

        // Paused: replicas stop; a scale while paused starts nothing until resumed.
        #expect(try store.pause(id, by: .system, now: t0.addingTimeInterval(50)).kind == "changed")
        try runner.tick(now: t0.addingTimeInterval(53))
        #expect(try Fixtures.replicaStatuses(db, id) == ["stopped", "stopped", "stopped"])
        _ = try store.scale(id, to: 4, by: .system, now: t0.addingTimeInterval(54))
        #expect(try Fixtures.replicaStatuses(db, id) == ["stopped", "stopped", "stopped", "stopped"])
        #expect(try store.resume(id, by: .system, now: t0.addingTimeInterval(55)).kind == "changed")
        #expect(try Fixtures.replicaStatuses(db, id) == ["pending", "pending", "pending", "pending"])
        #expect(try Fixtures.deploymentStatus(db, id) == "deploying")
        try runner.tick(now: t0.addingTimeInterval(57))
        try runner.tick(now: t0.addingTimeInterval(65))
        #expect(try Fixtures.deploymentStatus(db, id) == "active")
        #expect(try Fixtures.deploymentCounts(db) == ["deploying": 0, "active": 1, "paused": 0, "failed": 0])
    }
}

extension DeploymentStore.ChangeResult {
    /// The outcome without its payload, for comparing in tests.
    var kind: String {
        switch self {
        case .changed: "changed"
        case .unchanged: "unchanged"
        case .notAllowed: "notAllowed"
        case .rolloutInProgress: "rolloutInProgress"
        case .noSuchRevision: "noSuchRevision"
        case .jobAlreadyLive: "jobAlreadyLive"
        case .deleted: "deleted"
        case .notFound: "notFound"
        }
    }
}
