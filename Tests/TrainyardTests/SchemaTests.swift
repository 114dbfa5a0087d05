import Foundation
import Storage
import Testing
import Trainyard
import TrainyardTestSupport

/// The application schema enforces its rules in the database, identically on both dialects.
@Suite("Application schema")
struct SchemaTests {
    /// A migrated database with one model and one completed job.
    struct Fixture {
        let db: Database
        let model: Int
        let job: Int

        init(_ kind: TestDatabaseKind) throws {
            db = try makeTestDatabase(kind)
            try Migrator(database: db, migrations: Schema.migrations(for: db.dialect)).migrate()
            model = try db.query("""
                INSERT INTO models (slug, name, parameters, size_class, context_length, card)
                VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
                """, ["lfm-1b", "LFM 1B", .int(1_200_000_000), "small", 32768, "# LFM"])[0].int("id")
            job = try Self.insertJob(db: db, model: model, status: "complete", epochs: 3, learningRate: 0.001)
        }

        func insertJob(status: String = "queued", epochs: SQLValue = 3, learningRate: SQLValue = 0.001) throws -> Int {
            try Self.insertJob(db: db, model: model, status: status, epochs: epochs, learningRate: learningRate)
        }

        static func insertJob(db: Database, model: Int, status: String, epochs: SQLValue, learningRate: SQLValue) throws -> Int {
            try db.query("""
                INSERT INTO training_jobs (name, model_id, status, epochs, learning_rate, batch_size, seed)
                VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id
                """, ["job", SQLValue(model), .text(status), epochs, learningRate, 32, 42])[0].int("id")
        }

        @discardableResult
        func insertDeployment(job: Int? = nil, status: String = "deploying", version: Int? = nil,
                              replicas: SQLValue = 1, on conn: DatabaseConnection? = nil) throws -> Int {
            let number: Int
            if let version {
                number = version
            } else {
                number = try db.query("SELECT COALESCE(MAX(version_number), 0) + 1 AS n FROM deployments WHERE model_id = $1",
                                      [SQLValue(model)])[0].int("n")
            }
            let sql = """
                INSERT INTO deployments (job_id, model_id, model_name, name, version, version_number, status, endpoint, target_replicas, deployed_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id
                """
            let parameters: [SQLValue] = [SQLValue(job ?? self.job), SQLValue(model), "LFM 1B", "lfm-prod", "v1.\(number).0",
                                          SQLValue(number), .text(status), "/api/inference/lfm-1b/v1.\(number).0", replicas, "alice"]
            if let conn { return try conn.query(sql, parameters)[0].int("id") }
            return try db.query(sql, parameters)[0].int("id")
        }
    }

    func expectCheck(_ constraint: String, _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = caught(body)
        guard case .checkViolation(let name, _)? = error as? DatabaseError else {
            Issue.record("expected check violation \(constraint), got \(String(describing: error))", sourceLocation: sourceLocation)
            return
        }
        #expect(name == constraint, sourceLocation: sourceLocation)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func aVersion1DatabaseUpgradesInPlaceKeepingItsData(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        let all = Schema.migrations(for: db.dialect)
        try Migrator(database: db, migrations: Array(all.prefix(1))).migrate()
        try db.execute("""
            INSERT INTO models (slug, name, parameters, size_class, context_length, card) VALUES ('kept', 'Kept', 1, 'nano', 1, '')
            """)
        #expect(try Migrator(database: db, migrations: all).migrate().map(\.version) == Array(all.dropFirst().map(\.version)))
        #expect(try db.query("SELECT slug FROM models")[0].string("slug") == "kept")
    }

    /// Version 7: existing minutes are simulated minutes of 60 s, existing deployments simulated;
    /// a scraped source cannot be stored without its target, interval and names.
    @Test(arguments: TestDatabaseKind.enabled)
    func aVersion6DatabaseKeepsItsMinutesAsSimulatedOnes(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        let all = Schema.migrations(for: db.dialect)
        try Migrator(database: db, migrations: all.filter { $0.version <= 6 }).migrate()
        let model = try Fixtures.model(db)
        let id = try Fixtures.deployment(db, jobID: try Fixtures.completeJob(db, modelID: model))
        try db.execute("INSERT INTO inference_metrics (deployment_id, bucket, requests, errors, p50_ms, p95_ms, p99_ms) VALUES ($1, $2, 60, 0, 1, 2, 3)",
                       [.int(Int64(id)), .date(Date(timeIntervalSince1970: 1_800_000_000))])
        #expect(try Migrator(database: db, migrations: all).migrate().map(\.version) == [7, 8, 9, 10])
        let row = try #require(try db.queryOne("SELECT source, seconds FROM inference_metrics WHERE deployment_id = $1", [.int(Int64(id))]))
        #expect(try row.string("source") == "simulated" && row.double("seconds") == 60)
        #expect(try db.queryOne("SELECT metrics_source FROM deployments WHERE id = $1", [.int(Int64(id))])?.string("metrics_source") == "simulated")
        let missingTarget = caught {
            try db.execute("INSERT INTO inference_sources (deployment_id, kind, updated_by, updated_at) VALUES ($1, 'scraped', 'x', $2)",
                           [.int(Int64(id)), .date(Date())])
        }
        guard case .checkViolation(let name, _)? = missingTarget as? DatabaseError else {
            Issue.record("expected a check violation, got \(String(describing: missingTarget))")
            return
        }
        #expect(name == "inference_sources_scraped_check")
    }

    /// Version 5 rebuilds `training_jobs` on SQLite and moves the metrics: a version 4 database
    /// with jobs, metrics and a deployment keeps every row, and its keys still hold.
    @Test(arguments: TestDatabaseKind.enabled)
    func aVersion4DatabaseWithDataUpgradesToTrackingKeepingEveryRow(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        let all = Schema.migrations(for: db.dialect)
        try Migrator(database: db, migrations: all.filter { $0.version <= 4 }).migrate()
        let model = try db.query("""
            INSERT INTO models (slug, name, parameters, size_class, context_length, card) VALUES ('m', 'M', 1000000, 'nano', 512, '') RETURNING id
            """)[0].int("id")
        let job = try Fixture.insertJob(db: db, model: model, status: "complete", epochs: 1, learningRate: 0.01)
        let other = try Fixture.insertJob(db: db, model: model, status: "running", epochs: 2, learningRate: 0.02)
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        for step in 1...3 {
            try db.execute("INSERT INTO training_metrics (job_id, step, epoch, loss, accuracy, learning_rate, recorded_at) VALUES ($1, $2, 1, $3, $4, 0.01, $5)",
                           [SQLValue(job), SQLValue(step), .double(3.0 - Double(step)), .double(0.2 * Double(step)), .date(t0.addingTimeInterval(Double(step)))])
        }
        try db.execute("INSERT INTO training_metrics (job_id, step, epoch, loss, accuracy, learning_rate, recorded_at) VALUES ($1, 1, 1, 9, 0.5, 0.02, $2)",
                       [SQLValue(other), .date(t0)])
        try db.execute("""
            INSERT INTO deployments (job_id, model_id, model_name, name, version, version_number, status, endpoint)
            VALUES ($1, $2, 'M', 'm-prod', 'v1.1.0', 1, 'active', '/api/inference/m/v1.1.0')
            """, [SQLValue(job), SQLValue(model)])

        #expect(try Migrator(database: db, migrations: all.filter { $0.version <= 5 }).migrate().map(\.version) == [5])

        let jobs = try db.query("SELECT id, name, source, model_id, epochs, status FROM training_jobs ORDER BY id")
        #expect(try jobs.map { try $0.int("id") } == [job, other])
        #expect(try jobs.allSatisfy { try $0.string("source") == "simulated" && $0.int("model_id") == model })
        #expect(try jobs.map { try $0.int("epochs") } == [1, 2])
        let loss = try db.query("SELECT step, value, recorded_at FROM job_metrics WHERE job_id = $1 AND key = 'loss' ORDER BY step", [SQLValue(job)])
        #expect(try loss.map { try $0.double("value") } == [2, 1, 0])
        #expect(try loss.map { try $0.date("recorded_at") } == [1, 2, 3].map { t0.addingTimeInterval($0) })
        #expect(try db.query("SELECT value FROM job_metrics WHERE key = 'accuracy'").count == 4)
        let summary = try #require(try db.queryOne("""
            SELECT latest_step, latest_value, min_value, max_value FROM job_metric_summaries WHERE job_id = $1 AND key = 'accuracy'
            """, [SQLValue(job)]))
        #expect(try summary.int("latest_step") == 3)
        #expect(try abs(summary.double("latest_value") - 0.6) < 1e-9)
        #expect(try abs(summary.double("min_value") - 0.2) < 1e-9)
        // The deployment still points at its job, and the job still cannot be deleted under it.
        #expect(try db.queryOne("SELECT job_id FROM deployments")?.int("job_id") == job)
        #expect(errorCase(caught { try db.execute("DELETE FROM training_jobs WHERE id = $1", [SQLValue(job)]) }) == "foreignKey")
        // The counters, the runner's index and the id sequence carry on.
        let next = try Fixture.insertJob(db: db, model: model, status: "queued", epochs: 1, learningRate: 0.01)
        #expect(next > other)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func migratesFromEmptyAndIsIdempotent(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        let migrator = Migrator(database: db, migrations: Schema.migrations(for: db.dialect))
        #expect(try migrator.migrate().map(\.version) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        #expect(try migrator.migrate().isEmpty)
        for table in ["models", "training_jobs", "job_metrics", "job_metric_summaries", "job_params", "job_tags", "deployments", "deployment_resources",
                      "deployment_replicas", "deployment_status_history", "inference_metrics", "inference_sources"] {
            #expect(try db.query("SELECT count(*) AS n FROM \(table)")[0].int("n") == 0)
        }
        let deploymentCounts = try db.query("SELECT status, count FROM deployment_status_counts ORDER BY status")
        #expect(try deploymentCounts.map { try $0.string("status") } == ["active", "deploying", "failed", "paused"])
        #expect(try deploymentCounts.allSatisfy { try $0.int("count") == 0 })
        let jobCounts = try db.query("SELECT status FROM job_status_counts ORDER BY status")
        #expect(try jobCounts.map { try $0.string("status") } == ["complete", "failed", "queued", "running"])
    }

    @Test func bothDialectsHaveParallelMigrationLists() {
        let sqlite = Schema.migrations(for: .sqlite)
        let postgres = Schema.migrations(for: .postgres)
        #expect(sqlite.map(\.version) == postgres.map(\.version))
        #expect(sqlite.map(\.name) == postgres.map(\.name))
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func defaultsFillTimestampsAndCounters(_ kind: TestDatabaseKind) throws {
        let f = try Fixture(kind)
        defer { f.db.close() }
        let job = try #require(try f.db.queryOne("SELECT * FROM training_jobs WHERE id = $1", [SQLValue(f.job)]))
        #expect(try abs(job.date("created_at").timeIntervalSinceNow) < 60)
        #expect(try job.int("steps_per_epoch") == 100)
        #expect(try job.int("current_step") == 0)
        #expect(try job.optionalDate("started_at") == nil)
        let deployment = try f.insertDeployment()
        let row = try #require(try f.db.queryOne("SELECT * FROM deployments WHERE id = $1", [SQLValue(deployment)]))
        #expect(try row.double("error_rate") == 0)
        #expect(try row.double("p95_ms") == 0)
        #expect(try row.optionalDate("deleted_at") == nil)
        #expect(try row.string("version") == "v1.1.0")
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func checkConstraintsRejectOutOfRangeValues(_ kind: TestDatabaseKind) throws {
        let f = try Fixture(kind)
        defer { f.db.close() }
        let db = f.db
        expectCheck("deployments_status_check") { try f.insertDeployment(status: "exploded") }
        expectCheck("deployments_target_replicas_check") { try f.insertDeployment(replicas: 0) }
        expectCheck("deployments_target_replicas_check") { try f.insertDeployment(replicas: 101) }
        let deployment = try f.insertDeployment(replicas: 100)
        expectCheck("deployments_status_check") {
            try db.execute("UPDATE deployments SET status = $1 WHERE id = $2", ["deleted", SQLValue(deployment)])
        }

        func resources(_ cpu: SQLValue, _ memory: SQLValue, _ gpu: SQLValue, _ storage: SQLValue) throws {
            try db.transaction { conn in
                try conn.execute("DELETE FROM deployment_resources WHERE deployment_id = $1", [SQLValue(deployment)])
                try conn.execute("INSERT INTO deployment_resources (deployment_id, cpu, memory_mb, gpu, storage_gb) VALUES ($1, $2, $3, $4, $5)",
                                 [SQLValue(deployment), cpu, memory, gpu, storage])
            }
        }
        try resources(0.5, 512, 0, 1)
        try resources(32, 65536, 8, 1000)
        expectCheck("deployment_resources_cpu_check") { try resources(0.4, 4096, 0, 10) }
        expectCheck("deployment_resources_cpu_check") { try resources(33, 4096, 0, 10) }
        expectCheck("deployment_resources_memory_mb_check") { try resources(2, 511, 0, 10) }
        expectCheck("deployment_resources_memory_mb_check") { try resources(2, 65537, 0, 10) }
        expectCheck("deployment_resources_gpu_check") { try resources(2, 4096, 9, 10) }
        expectCheck("deployment_resources_gpu_check") { try resources(2, 4096, -1, 10) }
        expectCheck("deployment_resources_storage_gb_check") { try resources(2, 4096, 0, 0) }
        expectCheck("deployment_resources_storage_gb_check") { try resources(2, 4096, 0, 1001) }

        expectCheck("deployment_replicas_status_check") {
            try db.execute("INSERT INTO deployment_replicas (deployment_id, ordinal, status) VALUES ($1, 0, 'zombie')", [SQLValue(deployment)])
        }
        try db.execute("INSERT INTO deployment_replicas (deployment_id, ordinal, status) VALUES ($1, 0, 'running')", [SQLValue(deployment)])

        expectCheck("training_jobs_status_check") { _ = try f.insertJob(status: "paused") }
        expectCheck("training_jobs_epochs_check") { _ = try f.insertJob(epochs: 0) }
        expectCheck("training_jobs_epochs_check") { _ = try f.insertJob(epochs: 101) }
        expectCheck("training_jobs_learning_rate_check") { _ = try f.insertJob(learningRate: 0) }
        expectCheck("models_size_class_check") {
            try db.execute("INSERT INTO models (slug, name, parameters, size_class, context_length) VALUES ('x', 'X', 1, 'huge', 1)")
        }
        expectCheck("deployment_status_counts_count_check") {
            try db.execute("UPDATE deployment_status_counts SET count = count - 1 WHERE status = 'active'")
        }
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func valuesOfTheWrongTypeAreRejected(_ kind: TestDatabaseKind) throws {
        let f = try Fixture(kind)
        defer { f.db.close() }
        // SQLite tables are STRICT, so they refuse what PostgreSQL refuses.
        #expect(errorCase(caught { _ = try f.insertJob(epochs: "three") }) == "query")
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func aJobWithADeploymentCannotBeDeletedButItsMetricsCascade(_ kind: TestDatabaseKind) throws {
        let f = try Fixture(kind)
        defer { f.db.close() }
        try f.insertDeployment()
        #expect(errorCase(caught { try f.db.execute("DELETE FROM training_jobs WHERE id = $1", [SQLValue(f.job)]) }) == "foreignKey")

        let other = try f.insertJob()
        try f.db.execute("INSERT INTO job_metrics (job_id, key, step, recorded_at, value) VALUES ($1, 'loss', 1, $2, 2.5)",
                         [SQLValue(other), .date(Date())])
        try f.db.execute("INSERT INTO job_params (job_id, key, value) VALUES ($1, 'lr', '0.1')", [SQLValue(other)])
        #expect(try f.db.execute("DELETE FROM training_jobs WHERE id = $1", [SQLValue(other)]) == 1)
        #expect(try f.db.query("SELECT step FROM job_metrics").isEmpty)
        #expect(try f.db.query("SELECT key FROM job_params").isEmpty)
        #expect(errorCase(caught {
            try f.db.execute("INSERT INTO job_metrics (job_id, key, step, recorded_at, value) VALUES (9999, 'loss', 1, $1, 1)", [.date(Date())])
        }) == "foreignKey")
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func metricsAreUniquePerJobKeyStepAndTime(_ kind: TestDatabaseKind) throws {
        let f = try Fixture(kind)
        defer { f.db.close() }
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        let insert = "INSERT INTO job_metrics (job_id, key, step, recorded_at, value) VALUES ($1, $2, $3, $4, 2.5)"
        try f.db.execute(insert, [SQLValue(f.job), "loss", 1, .date(at)])
        try f.db.execute(insert, [SQLValue(f.job), "loss", 2, .date(at)])
        try f.db.execute(insert, [SQLValue(f.job), "accuracy", 1, .date(at)])
        try f.db.execute(insert, [SQLValue(f.job), "loss", 1, .date(at.addingTimeInterval(1))])
        let error = caught { try f.db.execute(insert, [SQLValue(f.job), "loss", 1, .date(at)]) }
        #expect((error as? DatabaseError)?.isUniqueViolation(on: "job_metrics_pkey") == true)
    }

    /// A simulated job must have its model and plan; a reported one its run id and experiment.
    @Test(arguments: TestDatabaseKind.enabled)
    func jobsAreEitherCompleteSimulationsOrReportedRuns(_ kind: TestDatabaseKind) throws {
        let f = try Fixture(kind)
        defer { f.db.close() }
        expectCheck("training_jobs_kind_check") {
            try f.db.execute("INSERT INTO training_jobs (name, model_id, status, seed) VALUES ('no plan', $1, 'queued', 1)", [SQLValue(f.model)])
        }
        expectCheck("training_jobs_kind_check") {
            try f.db.execute("INSERT INTO training_jobs (name, source, status, seed, experiment_id) VALUES ('no run id', 'reported', 'running', 1, 0)")
        }
        // An unknown source breaks both checks; which one a driver names first is its own affair.
        #expect(errorCase(caught {
            try f.db.execute("INSERT INTO training_jobs (name, source, status, seed, run_uuid, experiment_id) VALUES ('x', 'imported', 'running', 1, 'abc', 0)")
        }) == "check")
        try f.db.execute("""
            INSERT INTO training_jobs (name, source, status, seed, run_uuid, experiment_id, steps_per_epoch)
            VALUES ('reported', 'reported', 'running', 1, 'abc', 0, NULL)
            """)
        #expect(try f.db.queryOne("SELECT name FROM experiments WHERE id = 0")?.string("name") == "Default")
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func versionsAreUniquePerModel(_ kind: TestDatabaseKind) throws {
        let f = try Fixture(kind)
        defer { f.db.close() }
        try f.insertDeployment(status: "failed", version: 1)
        let error = caught { try f.insertDeployment(job: f.insertJob(status: "complete"), version: 1) }
        #expect((error as? DatabaseError)?.isUniqueViolation(on: "deployments_model_id_version_number_key") == true)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func oneLiveDeploymentPerJobUntilTheOldOneIsDeletedOrFailed(_ kind: TestDatabaseKind) throws {
        let f = try Fixture(kind)
        defer { f.db.close() }
        let db = f.db
        for status in ["deploying", "active", "paused"] {
            let live = try f.insertDeployment(status: status)
            let error = caught { try f.insertDeployment() }
            #expect((error as? DatabaseError)?.isUniqueViolation(on: Schema.oneLiveDeploymentPerJob) == true, "\(status)")
            try db.execute("UPDATE deployments SET deleted_at = $1 WHERE id = $2", [.date(Date()), SQLValue(live)])
        }
        let failing = try f.insertDeployment()
        try db.execute("UPDATE deployments SET status = 'failed' WHERE id = $1", [SQLValue(failing)])
        let replacement = try f.insertDeployment()
        // Reviving the failed one while another is live is refused too.
        let revive = caught { try db.execute("UPDATE deployments SET status = 'active' WHERE id = $1", [SQLValue(failing)]) }
        #expect((revive as? DatabaseError)?.isUniqueViolation(on: Schema.oneLiveDeploymentPerJob) == true)
        try db.execute("UPDATE deployments SET status = 'active' WHERE id = $1", [SQLValue(replacement)])
        #expect(try db.query("SELECT id FROM deployments WHERE deleted_at IS NULL AND status <> 'failed'").count == 1)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func fiftyConcurrentDeploysOfOneJobCreateExactlyOneLiveDeployment(_ kind: TestDatabaseKind) throws {
        let f = try Fixture(kind)
        defer { f.db.close() }
        let box = FixtureBox(fixture: f)
        let successes = LockedList()
        let others = LockedList()
        let group = DispatchGroup()
        let start = DispatchSemaphore(value: 0)
        for i in 0..<50 {
            group.enter()
            Thread {
                start.wait()
                defer { group.leave() }
                do {
                    try box.fixture.db.transaction { conn in
                        let id = try box.fixture.insertDeployment(version: 100 + i, on: conn)
                        try conn.execute("INSERT INTO deployment_status_history (deployment_id, old_status, new_status, changed_by, reason) VALUES ($1, NULL, 'deploying', 'alice', 'deploy')",
                                         [SQLValue(id)])
                        try conn.execute("UPDATE deployment_status_counts SET count = count + 1 WHERE status = 'deploying'")
                    }
                    successes.append("ok")
                } catch let error as DatabaseError where error.isUniqueViolation(on: Schema.oneLiveDeploymentPerJob) {
                    others.append("one-live")
                } catch {
                    others.append("\(error)")
                }
            }.start()
        }
        for _ in 0..<50 { start.signal() }
        group.wait()
        #expect(successes.items.count == 1)
        #expect(others.items == Array(repeating: "one-live", count: 49))
        #expect(try f.db.query("SELECT count FROM deployment_status_counts WHERE status = 'deploying'")[0].int("count") == 1)
        #expect(try f.db.query("SELECT id FROM deployment_status_history").count == 1)
    }
}

private struct FixtureBox: @unchecked Sendable {
    let fixture: SchemaTests.Fixture
}

private final class LockedList: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String] = []
    func append(_ value: String) {
        lock.lock()
        values.append(value)
        lock.unlock()
    }
    var items: [String] {
        lock.lock()
        defer { lock.unlock() }
        return values
    }
}

private func caught(_ body: () throws -> Void) -> Error? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}

private func errorCase(_ error: Error?) -> String {
    switch error as? DatabaseError {
    case .uniqueViolation?: return "unique"
    case .foreignKeyViolation?: return "foreignKey"
    case .checkViolation?: return "check"
    case .query?: return "query"
    case nil: return error.map { "other: \($0)" } ?? "no error"
    default: return "\(error!)"
    }
}
