import Foundation
import HTTPServer
import Storage
import Testing
import TrainyardTestSupport
@testable import Trainyard

@Suite struct TrainingRunnerTests {
    func prepare(_ kind: TestDatabaseKind) throws -> Database {
        let db = try makeTestDatabase(kind)
        try Migrator(database: db, migrations: Schema.migrations(for: db.dialect)).migrate()
        return db
    }

    func start(_ db: Database, _ id: Int, at date: Date) throws {
        _ = try JobStore(database: db).transition(id, from: [.queued], to: .running, by: .system, now: date)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func advancesAtTheConfiguredPaceAndCompletes(_ kind: TestDatabaseKind) throws {
        let db = try prepare(kind)
        defer { db.close() }
        let model = try Fixtures.model(db)
        let id = try Fixtures.job(db, modelID: model, epochs: 1)
        // Whole seconds: both databases store milliseconds, so the pace arithmetic stays exact.
        let t0 = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        try start(db, id, at: t0)
        let runner = TrainingRunner(database: db, speed: 1)   // 5 steps a second
        #expect(try runner.tick(now: t0.addingTimeInterval(1)) == 5)
        #expect(try runner.tick(now: t0.addingTimeInterval(1.1)) == 0)
        #expect(try runner.tick(now: t0.addingTimeInterval(2)) == 5)
        // After a long outage it continues where it stopped instead of jumping to the end.
        #expect(try runner.tick(now: t0.addingTimeInterval(600)) == 10)
        let job = try #require(try JobStore(database: db).find(id))
        #expect(job.currentStep == 20)
        #expect(job.status == .running)
        var now = t0.addingTimeInterval(600)
        while try JobStore(database: db).find(id)!.status == .running {
            now = now.addingTimeInterval(2)
            try runner.tick(now: now)
        }
        let done = try #require(try JobStore(database: db).find(id))
        #expect(done.status == .complete)
        #expect(done.currentStep == 100)
        let steps = try db.query("SELECT step FROM job_metrics WHERE job_id = $1 AND key = 'loss' ORDER BY step", [.int(Int64(id))]).map { try $0.int("step") }
        #expect(steps == Array(1...100))
        let counts = try db.query("SELECT status, count FROM job_status_counts")
        #expect(try counts.first { try $0.string("status") == "complete" }!.int("count") == 1)
        #expect(try counts.first { try $0.string("status") == "running" }!.int("count") == 0)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func farTooHighLearningRateFailsWithLossDiverged(_ kind: TestDatabaseKind) throws {
        let db = try prepare(kind)
        defer { db.close() }
        let model = try Fixtures.model(db)
        let id = try Fixtures.job(db, modelID: model, epochs: 3, learningRate: 0.9)
        let t0 = Date()
        try start(db, id, at: t0)
        let runner = TrainingRunner(database: db, speed: 100)
        var now = t0
        for _ in 0..<20 { now = now.addingTimeInterval(1); try runner.tick(now: now) }
        let job = try #require(try JobStore(database: db).find(id))
        #expect(job.status == .failed)
        #expect(job.failureReason == "loss diverged")
        #expect(job.currentStep < job.totalSteps!)
    }

    /// Two runners with their own connection pools stand for two `serve` processes on one database.
    @Test(arguments: TestDatabaseKind.enabled)
    func twoRunnersOnOneDatabaseWriteEveryStepExactlyOnce(_ kind: TestDatabaseKind) throws {
        let db = try prepare(kind)
        defer { db.close() }
        let second = try reopen(db, kind)
        defer { second.close() }
        let model = try Fixtures.model(db)
        var ids: [Int] = []
        for i in 0..<20 {
            let id = try Fixtures.job(db, modelID: model, name: "job-\(i)", epochs: 2)
            try start(db, id, at: Date())
            ids.append(id)
        }
        let runners = [TrainingRunner(database: db, speed: 200), TrainingRunner(database: second, speed: 200)]
        let group = DispatchGroup()
        let errors = ErrorBox()
        for runner in runners {
            DispatchQueue.global().async(group: group) {
                let deadline = Date().addingTimeInterval(60)
                while Date() < deadline {
                    do {
                        try runner.tick()
                        let left = try db.queryOne("SELECT COUNT(*) AS n FROM training_jobs WHERE status = 'running'")!.int("n")
                        if left == 0 { break }
                    } catch { errors.add(error) }
                    Thread.sleep(forTimeInterval: 0.01)
                }
            }
        }
        group.wait()
        #expect(errors.all.isEmpty, "\(errors.all)")
        for id in ids {
            let steps = try db.query("SELECT step FROM job_metrics WHERE job_id = $1 AND key = 'loss' ORDER BY step", [.int(Int64(id))]).map { try $0.int("step") }
            #expect(steps == Array(1...200), "job \(id)")
            #expect(try Fixtures.jobStatus(db, id) == "complete")
        }
    }

    func reopen(_ db: Database, _ kind: TestDatabaseKind) throws -> Database {
        try reopenTestDatabase(db)
    }
}

final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [Error] = []
    func add(_ e: Error) { lock.lock(); errors.append(e); lock.unlock() }
    var all: [Error] { lock.lock(); defer { lock.unlock() }; return errors }
}

@Suite struct JobNotesReadsTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func onlyTheMonitorReadsNotesNotListsOrTheRunner(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Migrator(database: db, migrations: Schema.migrations(for: db.dialect)).migrate()
        let store = JobStore(database: db)
        let model = try Fixtures.model(db)
        let notes = String(repeating: "long notes ", count: 400)
        let id = try store.create(.init(name: "noted", modelSlug: "", epochs: 1, learningRate: 3e-4, batchSize: 32, notes: notes),
                                  modelID: model, by: .system, now: Date())
        #expect(try store.find(id)?.notes == notes)
        let listed = try store.list(ListRequest(TrainingRoutes.list, QueryParameters()).slice)
        #expect(listed.rows.map(\.notes) == [""])
        #expect(try store.recent(limit: 5).map(\.notes) == [""])
        _ = try store.transition(id, from: [.queued], to: .running, by: .system, now: Date())
        let claimed = try db.transaction { conn in try JobStore.claimRunning(conn, limit: 5) }
        #expect(claimed.map(\.id) == [id] && claimed.map(\.notes) == [""])
    }
}
