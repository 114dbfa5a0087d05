import Foundation
import Storage
import Testing
import TrainyardTestSupport
import HTTPServer
@testable import Trainyard

/// Failures, revisions, rollback and "what was live when", driven tick by tick on both databases.
@Suite struct DeploymentLifecycleTests {
    struct World {
        let db: Database
        let runner: DeploymentRunner
        let store: DeploymentStore
        let t0: Date

        init(_ kind: TestDatabaseKind, failureRate: Double = 0) throws {
            db = try makeTestDatabase(kind)
            try Migrator(database: db, migrations: Schema.migrations(for: db.dialect)).migrate()
            runner = DeploymentRunner(database: db, speed: 1, startFailureRate: failureRate)
            store = DeploymentStore(database: db)
            t0 = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 - 3600)
        }

        func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

        /// A deployment of a fresh job with these resources (a small model by default).
        func deploy(parameters: Int64 = 1_200_000_000, replicas: Int = 1, memoryMB: Int? = nil, gpu: Int? = nil,
                    slug: String = "test-model", at seconds: Double = 0) throws -> Int {
            let modelID = try db.queryOne("SELECT id FROM models WHERE slug = $1", [.text(slug)])?.int("id")
                ?? Fixtures.model(db, slug: slug, name: slug, parameters: parameters)
            let jobID = try Fixtures.completeJob(db, modelID: modelID, name: "job-\(Int.random(in: 0..<1_000_000))")
            let job = try #require(try JobStore(database: db).find(jobID))
            let model = try #require(job.model)
            var resources = DeploymentResources.defaults(for: model.sizeClass).resources
            if let memoryMB { resources.memoryMB = memoryMB }
            if let gpu { resources.gpu = gpu }
            guard case .created(let id, _, _) = try store.create(job, model: model, choices: .init(name: nil, replicas: replicas, resources: resources),
                                                                 by: .system, now: at(seconds)) else {
                throw Fixtures.FixtureError.notCreated
            }
            return id
        }

        func tick(_ seconds: Double) throws { try runner.tick(now: at(seconds)) }

        /// Ticks every second from `from` to `to`.
        func run(from: Double, to: Double) throws {
            var s = from
            while s <= to {
                try tick(s)
                s += 1
            }
        }

        func deployment(_ id: Int) throws -> Deployment { try #require(try store.find(id)) }

        func replicas(_ id: Int) throws -> [DeploymentReplica] { try store.replicas(id) }

        func history(_ id: Int) throws -> [DeploymentHistoryEntry] { try store.history(id) }
    }

    // MARK: Failures

    @Test(arguments: TestDatabaseKind.enabled)
    func tooLittleMemoryFailsEveryStartAndTheDeploymentWithTheReason(_ kind: TestDatabaseKind) throws {
        let w = try World(kind)
        defer { w.db.close() }
        let id = try w.deploy(replicas: 2, memoryMB: 4096)
        try w.run(from: 1, to: 12)
        let d = try w.deployment(id)
        #expect(d.status == .failed)
        #expect(d.failureReason == "no replica could start: replica 1: out of memory: needs ≥ 8192 MB")
        let replicas = try w.replicas(id)
        #expect(replicas.map(\.status) == [.failed, .failed])
        #expect(replicas.allSatisfy { $0.lastFailure == "out of memory: needs ≥ 8192 MB" && $0.restarts == 0 && $0.retryAt == nil })
        let last = try #require(try w.history(id).last)
        #expect(last.event == .fail && last.newStatus == "failed" && last.changedBy == "system")
        #expect(last.reason == d.failureReason)
        #expect(try Fixtures.deploymentCounts(w.db) == ["deploying": 0, "active": 0, "paused": 0, "failed": 1])
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func aLargeModelWithoutAGPUCannotBeScheduled(_ kind: TestDatabaseKind) throws {
        let w = try World(kind)
        defer { w.db.close() }
        let id = try w.deploy(parameters: 8_000_000_000, gpu: 0, slug: "big")
        try w.run(from: 1, to: 4)
        let d = try w.deployment(id)
        #expect(d.status == .failed)
        #expect(d.failureReason == "no replica could start: replica 1: cannot be scheduled: a large model needs at least 1 GPU")
        // It never got as far as starting.
        #expect(try w.replicas(id).map(\.status) == [.failed])
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func failedHealthChecksAreRetriedWithBackoffUpToTheLimit(_ kind: TestDatabaseKind) throws {
        let w = try World(kind, failureRate: 1)
        defer { w.db.close() }
        let id = try w.deploy()
        try w.run(from: 1, to: 10)   // pending 2 s, starting 8 s: the first attempt fails at 10 s
        var replica = try #require(try w.replicas(id).first)
        #expect(replica.status == .failed && replica.restarts == 0)
        #expect(replica.lastFailure == ReplicaStartRules.healthCheckFailure)
        #expect(replica.retryAt == w.at(15))   // 5 s backoff
        try w.tick(14)
        #expect(try w.replicas(id).first?.status == .failed)
        try w.tick(15)
        replica = try #require(try w.replicas(id).first)
        #expect(replica.status == .pending && replica.restarts == 1)
        #expect(try w.deployment(id).status == .deploying)
        // Attempts at 15 + 10, then 10 s and 20 s backoffs: the third restart's failure is the last.
        try w.run(from: 16, to: 120)
        replica = try #require(try w.replicas(id).first)
        #expect(replica.restarts == ReplicaStartRules.maxRestarts)
        #expect(replica.status == .failed && replica.retryAt == nil)
        let d = try w.deployment(id)
        #expect(d.status == .failed)
        #expect(d.failureReason == "no replica could start: replica 1: \(ReplicaStartRules.healthCheckFailure)")
        #expect(try w.history(id).filter { $0.event == .fail }.count == 1)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func aReplicaThatFailsOnceIsRestartedAndServes(_ kind: TestDatabaseKind) throws {
        let w = try World(kind, failureRate: 1)
        defer { w.db.close() }
        let id = try w.deploy()
        try w.run(from: 1, to: 10)
        #expect(try w.replicas(id).first?.status == .failed)
        w.runner.startFailureRate = 0
        try w.run(from: 11, to: 26)
        let replica = try #require(try w.replicas(id).first)
        #expect(replica.status == .running && replica.restarts == 1)
        #expect(replica.lastFailure == ReplicaStartRules.healthCheckFailure)   // kept for the page
        #expect(try w.deployment(id).status == .active)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func noRunningReplicaWithinTheStartDeadlineFailsTheDeployment(_ kind: TestDatabaseKind) throws {
        let w = try World(kind, failureRate: 1)
        defer { w.db.close() }
        let id = try w.deploy()
        // The server was not running for an hour: the deadline counts from the first start the runner makes.
        try w.tick(3600)
        #expect(try w.deployment(id).status == .deploying)
        #expect(try w.deployment(id).rolloutStartedAt == w.at(3600))
        // Next seen 200 s later: the start failed and waits for a retry, but the deadline has passed.
        try w.tick(3800)
        let d = try w.deployment(id)
        #expect(d.status == .failed)
        #expect(d.failureReason == "no replica was running within 3 minutes of the start (last failure: replica 1: \(ReplicaStartRules.healthCheckFailure))")
        #expect(try w.replicas(id).first?.retryAt == nil)   // nothing retries a failed deployment
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func aFailedDeploymentCanBeRetriedWithTheSameRevisionOrDeleted(_ kind: TestDatabaseKind) throws {
        let w = try World(kind, failureRate: 1)
        defer { w.db.close() }
        let id = try w.deploy()
        try w.run(from: 1, to: 120)
        #expect(try w.deployment(id).status == .failed)
        #expect(try w.store.pause(id, by: .system, now: w.at(121)) == .notAllowed(current: .failed))
        w.runner.startFailureRate = 0
        guard case .changed = try w.store.retry(id, by: .system, now: w.at(130)) else { Issue.record("retry refused"); return }
        var d = try w.deployment(id)
        #expect(d.status == .deploying && d.revision == 1 && d.failureReason == nil)
        #expect(try w.replicas(id).map { "\($0.status.rawValue)/\($0.restarts)" } == ["pending/0"])
        try w.run(from: 131, to: 141)
        d = try w.deployment(id)
        #expect(d.status == .active)
        #expect(try w.history(id).suffix(2).map(\.event) == [.retry, .activate])
        #expect(try w.store.retry(id, by: .system, now: w.at(142)) == .notAllowed(current: .active))
        #expect(try Fixtures.deploymentCounts(w.db) == ["deploying": 0, "active": 1, "paused": 0, "failed": 0])
    }

    // MARK: Revisions

    @Test(arguments: TestDatabaseKind.enabled)
    func aRollingRevisionStartsNewReplicasBeforeStoppingTheOldOnes(_ kind: TestDatabaseKind) throws {
        let w = try World(kind)
        defer { w.db.close() }
        let id = try w.deploy(replicas: 2)
        try w.run(from: 1, to: 11)
        #expect(try w.deployment(id).status == .active)
        var bigger = try #require(try w.store.resources(id))
        bigger.cpu = 8
        guard case .changed = try w.store.reconfigure(id, replicas: 2, resources: bigger, by: .system, now: w.at(20)) else {
            Issue.record("reconfigure refused"); return
        }
        var d = try w.deployment(id)
        #expect(d.revision == 1 && d.rolloutRevision == 2)
        #expect(try w.store.resources(id)?.cpu == 4)   // still the serving config
        // Midway: both revisions have replicas and the old ones still run.
        try w.run(from: 21, to: 25)
        let mid = try w.replicas(id)
        #expect(mid.filter { $0.revision == 1 }.map(\.status) == [.running, .running])
        #expect(mid.filter { $0.revision == 2 }.map(\.status) == [.starting, .starting])
        // A second change waits for this one.
        #expect(try w.store.scale(id, to: 3, by: .system, now: w.at(25)) == .rolloutInProgress(revision: 2))
        try w.run(from: 26, to: 35)
        d = try w.deployment(id)
        #expect(d.revision == 2 && d.rolloutRevision == nil && d.status == .active)
        #expect(try w.store.resources(id)?.cpu == 8)
        try w.run(from: 36, to: 40)
        let after = try w.replicas(id)
        #expect(after.filter { $0.revision == 2 }.map(\.status) == [.running, .running])
        #expect(after.filter { $0.revision == 1 }.allSatisfy { $0.status == .stopped })
        let events = try w.history(id).map(\.event)
        #expect(events.suffix(2) == [.revision, .rollout])
        let revisions = try w.store.revisions(id)
        #expect(revisions.map(\.number) == [2, 1])
        #expect(revisions[0].reason == "CPU 4 → 8 cores" && revisions[0].createdBy == "system" && revisions[0].failedReason == nil)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func aRevisionWhoseReplicasCannotStartLeavesTheOldOneServing(_ kind: TestDatabaseKind) throws {
        let w = try World(kind)
        defer { w.db.close() }
        let id = try w.deploy(replicas: 2)
        try w.run(from: 1, to: 11)
        var smaller = try #require(try w.store.resources(id))
        let before = smaller
        smaller.memoryMB = 2048
        _ = try w.store.reconfigure(id, replicas: 2, resources: smaller, by: .system, now: w.at(20))
        try w.run(from: 21, to: 40)
        let d = try w.deployment(id)
        #expect(d.status == .active && d.revision == 1 && d.rolloutRevision == nil)
        #expect(try w.store.resources(id) == before)
        let replicas = try w.replicas(id)
        #expect(replicas.filter { $0.revision == 1 }.map(\.status) == [.running, .running])
        #expect(replicas.filter { $0.revision == 2 }.allSatisfy { $0.status == .failed || $0.status == .stopped })
        let revision = try #require(try w.store.revisions(id).first)
        #expect(revision.number == 2 && revision.failedReason == "replica 1: out of memory: needs ≥ 8192 MB")
        let last = try #require(try w.history(id).last)
        #expect(last.event == .rolloutFailed && last.revision == 1 && last.newStatus == "active")
        #expect(last.reason == "revision 2 did not roll out: replica 1: out of memory: needs ≥ 8192 MB; revision 1 keeps serving")
        // Figures keep coming from the old revision.
        try w.tick(61)
        #expect(try w.deployment(id).stats.rps > 0)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func changingReplicasOnlyKeepsTheRunningOnesAndIsARevisionToo(_ kind: TestDatabaseKind) throws {
        let w = try World(kind)
        defer { w.db.close() }
        let id = try w.deploy(replicas: 1)
        try w.run(from: 1, to: 11)
        #expect(try w.store.scale(id, to: 3, by: .system, now: w.at(20)).kind == "changed")
        let d = try w.deployment(id)
        #expect(d.revision == 2 && d.rolloutRevision == nil && d.targetReplicas == 3)
        #expect(try w.replicas(id).map { "\($0.revision)/\($0.status.rawValue)" } == ["2/running", "2/pending", "2/pending"])
        #expect(try w.history(id).last?.event == .scale)
        #expect(try w.history(id).last?.replicas == 3)
    }

    // MARK: Rollback

    @Test(arguments: TestDatabaseKind.enabled)
    func rollbackIsANewRevisionAndRewritesNoHistory(_ kind: TestDatabaseKind) throws {
        let w = try World(kind)
        defer { w.db.close() }
        let id = try w.deploy(replicas: 2)
        try w.run(from: 1, to: 11)
        var r = try #require(try w.store.resources(id))
        r.memoryMB = 32768
        _ = try w.store.reconfigure(id, replicas: 2, resources: r, by: .system, now: w.at(20))
        try w.run(from: 21, to: 35)
        _ = try w.store.scale(id, to: 4, by: .system, now: w.at(40))
        #expect(try w.deployment(id).revision == 3)

        let snapshot = try Self.snapshot(w.db, id)
        let operatorActor = Actor(userID: 7, username: "ana", displayName: "Ana", role: .operator, clientAddress: "127.0.0.1")
        #expect(try w.store.rollback(id, toRevision: 9, by: operatorActor, now: w.at(50)) == .noSuchRevision(9))
        guard case .changed = try w.store.rollback(id, toRevision: 1, by: operatorActor, now: w.at(50)) else {
            Issue.record("rollback refused"); return
        }
        // Everything written before the rollback is still there, unchanged.
        let after = try Self.snapshot(w.db, id)
        #expect(Array(after.history.prefix(snapshot.history.count)) == snapshot.history)
        #expect(Array(after.revisions.prefix(snapshot.revisions.count)) == snapshot.revisions)
        let newest = try #require(try w.store.revisions(id).first)
        #expect(newest.number == 4 && newest.sourceRevision == 1 && newest.createdBy == "ana")
        let original = try #require(try w.store.revisions(id).last)
        #expect(newest.replicas == 2 && newest.resources == original.resources)
        #expect(newest.reason.hasPrefix("rollback to revision 1: "))
        #expect(try w.history(id).last?.event == .rollback)
        try w.run(from: 51, to: 65)
        let d = try w.deployment(id)
        #expect(d.revision == 4 && d.targetReplicas == 2)
        #expect(try w.store.resources(id)?.memoryMB == 16384)
    }

    /// Every history and revision row, as text, in order.
    static func snapshot(_ db: Database, _ id: Int) throws -> (history: [String], revisions: [String]) {
        let history = try db.query("""
            SELECT id, old_status, new_status, event, revision, replicas, changed_by, reason, created_at
            FROM deployment_status_history WHERE deployment_id = $1 ORDER BY id
            """, [.int(Int64(id))]).map { row in
            try ["id", "old_status", "new_status", "event", "revision", "replicas", "changed_by", "reason"].map {
                try row.optionalString($0) ?? row.optionalInt($0).map(String.init) ?? "∅"
            }.joined(separator: "|") + "|\(try row.date("created_at").timeIntervalSince1970)"
        }
        let revisions = try db.query("""
            SELECT number, replicas, cpu, memory_mb, gpu, storage_gb, created_by, reason, source_revision, failed_reason
            FROM deployment_revisions WHERE deployment_id = $1 ORDER BY number
            """, [.int(Int64(id))]).map { row in
            "\(try row.int("number"))|\(try row.int("replicas"))|\(try row.double("cpu"))|\(try row.int("memory_mb"))|\(try row.int("gpu"))|"
                + "\(try row.int("storage_gb"))|\(try row.string("created_by"))|\(try row.string("reason"))|"
                + "\(try row.optionalInt("source_revision") ?? -1)|\(try row.optionalString("failed_reason") ?? "∅")"
        }
        return (history, revisions)
    }

    // MARK: What was live when

    @Test(arguments: TestDatabaseKind.enabled)
    func liveAtAnswersBeforeDuringAndAfterAPauseAScaleAndARollback(_ kind: TestDatabaseKind) throws {
        let w = try World(kind)
        defer { w.db.close() }
        let first = try w.deploy(replicas: 2, slug: "m")
        try w.run(from: 1, to: 11)                                   // v1.0.0 active at 10 s
        _ = try w.store.pause(first, by: .system, now: w.at(100))
        _ = try w.store.resume(first, by: .system, now: w.at(200))
        try w.run(from: 201, to: 211)                                // active again at 210 s
        _ = try w.store.scale(first, to: 3, by: .system, now: w.at(300))
        try w.run(from: 301, to: 311)
        let second = try w.deploy(replicas: 1, slug: "m", at: 400)   // v1.1.0
        try w.run(from: 401, to: 411)
        _ = try w.store.rollback(first, toRevision: 1, by: .system, now: w.at(500))   // 3 → 2 replicas, in place
        let modelID = try w.deployment(first).model.id

        func serving(_ seconds: Double) throws -> [String] {
            try w.store.states(modelID: modelID, at: w.at(seconds)).filter(\.serving).map { "\($0.version) r\($0.revision ?? 0) x\($0.replicas ?? 0)" }
        }
        #expect(try serving(5) == [])                                // deploying: nothing serves yet
        #expect(try serving(50) == ["v1.0.0 r1 x2"])
        #expect(try serving(100) == [])                              // the pause itself
        #expect(try serving(150) == [])
        #expect(try serving(205) == [])                              // resumed, not yet running
        #expect(try serving(250) == ["v1.0.0 r1 x2"])
        #expect(try serving(299.5) == ["v1.0.0 r1 x2"])
        #expect(try serving(350) == ["v1.0.0 r2 x3"])
        #expect(try serving(450) == ["v1.1.0 r1 x1", "v1.0.0 r2 x3"])
        #expect(try serving(550) == ["v1.1.0 r1 x1", "v1.0.0 r3 x2"])
        #expect(try w.store.states(modelID: modelID, at: w.at(150)).map(\.status) == [.paused])
        _ = second

        // The table filter agrees, through the same history.
        func table(_ seconds: Double) throws -> [Int] {
            let request = ListRequest(DeploymentRoutes.list, QueryParameters())
            return try w.store.list(request.slice, filters: .init(liveAt: w.at(seconds))).rows.map(\.id).sorted()
        }
        #expect(try table(150) == [])
        #expect(try table(250) == [first])
        #expect(try table(450) == [first, second])
        _ = try w.store.delete(second, by: .system, now: w.at(600))
        #expect(try table(450) == [first, second])                  // it was live then, deleted since
        #expect(try table(650) == [first])
    }

    /// Version 6 numbers new deployments from v1.0.0; a database from before keeps its names and
    /// carries on after its highest version.
    @Test(arguments: TestDatabaseKind.enabled)
    func aVersion5DatabaseKeepsItsVersionsAndGetsRevisionsAndHistoryEvents(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        let all = Schema.migrations(for: db.dialect)
        try Migrator(database: db, migrations: all.filter { $0.version <= 5 }).migrate()
        let model = try Fixtures.model(db, slug: "old", name: "Old")
        var ids: [Int] = []
        for n in 1...2 {
            let job = try Fixtures.completeJob(db, modelID: model, name: "old-\(n)")
            let id = try db.query("""
                INSERT INTO deployments (job_id, model_id, model_name, name, version, version_number, status, endpoint, target_replicas, deployed_by)
                VALUES ($1, $2, 'Old', $3, $4, $5, $6, $7, 2, 'ana') RETURNING id
                """, [SQLValue(job), SQLValue(model), .text("old-v1.\(n).0"), .text("v1.\(n).0"), SQLValue(n),
                      .text(n == 1 ? "paused" : "active"), .text("/api/inference/old/v1.\(n).0")])[0].int("id")
            try db.execute("INSERT INTO deployment_resources (deployment_id, cpu, memory_mb, gpu, storage_gb) VALUES ($1, 4, 16384, 1, 20)", [SQLValue(id)])
            try db.execute("""
                INSERT INTO deployment_status_history (deployment_id, old_status, new_status, changed_by, reason) VALUES
                ($1, NULL, 'deploying', 'ana', 'deployed'), ($1, 'deploying', 'active', 'system', 'first replica running')
                """, [SQLValue(id)])
            ids.append(id)
        }
        #expect(try Migrator(database: db, migrations: all).migrate().map(\.version) == [6, 7, 8, 9, 10])

        let rows = try db.query("SELECT version, version_number FROM deployments ORDER BY id")
        #expect(try rows.map { try $0.string("version") } == ["v1.1.0", "v1.2.0"])
        #expect(try rows.map { try $0.int("version_number") } == [2, 3])
        let store = DeploymentStore(database: db)
        let revisions = try store.revisions(ids[0])
        #expect(revisions.map(\.number) == [1] && revisions[0].replicas == 2 && revisions[0].resources.memoryMB == 16384)
        #expect(try store.history(ids[0]).map { "\($0.event.rawValue) r\($0.revision ?? 0) x\($0.replicas ?? 0)" } == ["deploy r1 x2", "status r1 x2"])

        // The model's next deployment follows its highest; a new model starts at v1.0.0.
        let next = try Fixtures.deployment(db, jobID: try Fixtures.completeJob(db, modelID: model, name: "old-3"))
        #expect(try store.find(next)?.version == "v1.3.0")
        let fresh = try Fixtures.model(db, slug: "new", name: "New")
        let first = try Fixtures.deployment(db, jobID: try Fixtures.completeJob(db, modelID: fresh, name: "new-1"))
        #expect(try store.find(first)?.version == "v1.0.0")
        #expect(try store.find(first)?.endpoint == "/api/inference/new/v1.0.0")
    }

    // MARK: Guardrails

    /// Writes one minute's figures as the runner would, with a chosen P95.
    func writeMinute(_ w: World, _ id: Int, minute: Int, p95: Double) throws {
        let d = try w.deployment(id)
        let bucket = InferenceSimulator.Bucket(minute: minute, requests: 600, errors: 1, p50: 40, p95: p95, p99: p95 * 1.5)
        try w.db.transaction { conn in
            try DeploymentStore.insertBucket(conn, id, bucket)
            try DeploymentStore.setLatestStats(conn, id, bucket)
            try GuardrailStore.evaluate(conn, d, latest: bucket, now: bucket.start.addingTimeInterval(59))
        }
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func aSustainedBreachFlagsOnceAndTheRecoveryIsRecorded(_ kind: TestDatabaseKind) throws {
        let w = try World(kind)
        defer { w.db.close() }
        let id = try w.deploy()
        try w.run(from: 1, to: 11)
        let guardrails = GuardrailStore(database: w.db)
        guard case .added = try guardrails.add(id, metric: .p95, threshold: 500, minutes: 3, action: .flag, by: .system, now: w.at(12)) else {
            Issue.record("not added"); return
        }
        let m0 = DeploymentRunner.minute(of: w.at(120))
        try writeMinute(w, id, minute: m0, p95: 900)
        try writeMinute(w, id, minute: m0 + 1, p95: 900)
        #expect(try w.deployment(id).attentionSince == nil)          // two minutes are not three
        try writeMinute(w, id, minute: m0 + 2, p95: 900)
        let flagged = try w.deployment(id)
        #expect(flagged.attentionSince != nil && flagged.attentionReason == "P95 latency above 500 ms for 3 minutes")
        for k in 3...6 { try writeMinute(w, id, minute: m0 + k, p95: 950) }   // still breached: no second flag
        #expect(try w.history(id).filter { $0.event == .guardrailBreach }.count == 1)
        #expect(try w.history(id).first { $0.event == .guardrailBreach }?.reason == "breach: P95 latency above 500 ms for 3 minutes (latest 900 ms); flagged")
        #expect(try w.deployment(id).status == .active)
        let request = ListRequest(DeploymentRoutes.list, QueryParameters())
        #expect(try w.store.list(request.slice, filters: .init(attention: true)).rows.map(\.id) == [id])

        try writeMinute(w, id, minute: m0 + 7, p95: 300)
        #expect(try w.deployment(id).attentionSince == nil)
        #expect(try w.history(id).filter { $0.event == .guardrailRecovery }.count == 1)
        try writeMinute(w, id, minute: m0 + 8, p95: 300)
        #expect(try w.history(id).filter { $0.event == .guardrailRecovery }.count == 1)
        #expect(try w.store.list(request.slice, filters: .init(attention: true)).rows.isEmpty)
    }

    /// The runner's own minutes are checked against guardrails (it reads whether a deployment
    /// has any with its claim, and skips the check for those without).
    @Test(arguments: TestDatabaseKind.enabled)
    func theRunnersBucketsAreCheckedAgainstTheDeploymentsGuardrails(_ kind: TestDatabaseKind) throws {
        let w = try World(kind)
        defer { w.db.close() }
        let guarded = try w.deploy()
        let unguarded = try w.deploy()
        try w.run(from: 1, to: 11)
        #expect(try w.deployment(guarded).status == .active && w.deployment(unguarded).status == .active)
        guard case .added = try GuardrailStore(database: w.db).add(guarded, metric: .p95, threshold: 1, minutes: 1, action: .flag,
                                                                     by: .system, now: w.at(12)) else {
            Issue.record("guardrail not added")
            return
        }
        try w.run(from: 12, to: 200)
        let breaches = try w.history(guarded).filter { $0.event == .guardrailBreach }
        #expect(breaches.count == 1)
        #expect(breaches.first?.reason.hasPrefix("breach: P95 latency above 1 ms for 1 minute") == true, "\(breaches.first?.reason ?? "none")")
        #expect(try w.deployment(guarded).attentionSince != nil)
        #expect(try w.history(unguarded).filter { $0.event == .guardrailBreach }.isEmpty)
        #expect(try w.deployment(unguarded).attentionSince == nil)
    }

    /// The runner writes a tick's buckets in a few multi-row statements (three deployments make
    /// two batches): each deployment still gets its own minute, latest figures and traffic
    /// baseline, and a minute stored before the runner came to it stands.
    @Test(arguments: TestDatabaseKind.enabled)
    func aTicksBucketsAreWrittenTogetherEachDeploymentWithItsOwnFigures(_ kind: TestDatabaseKind) throws {
        let w = try World(kind)
        defer { w.db.close() }
        let ids = try (0..<3).map { _ in try w.deploy() }
        try w.run(from: 1, to: 11)
        let m0 = DeploymentRunner.minute(of: w.at(0)), m5 = m0 + 5
        // Minutes 1–4 as if scraped: far apart per deployment, so a baseline given to the wrong
        // row cannot match by chance.
        try w.db.transaction { conn in
            for (i, id) in ids.enumerated() {
                for m in m0 + 1...m0 + 4 {
                    try DeploymentStore.insertBucket(conn, id, .init(minute: m, requests: 60_000 * (i + 1), errors: 0, p50: 10, p95: 20, p99: 30))
                }
            }
            try DeploymentStore.insertBucket(conn, ids[1], .init(minute: m5, requests: 6_000, errors: 60, p50: 11, p95: 777, p99: 999))
        }
        #expect(try w.runner.tick(now: w.at(301)).buckets == 3)

        let start = w.at(300)
        var baselines: [Double] = []
        for id in ids {
            let row = try #require(try w.db.queryOne("SELECT rps, p95_ms, error_rate, stats_at, rps_baseline FROM deployments WHERE id = $1",
                                                     [.int(Int64(id))]))
            let latest = try #require(try w.db.queryOne("SELECT requests, errors, p95_ms FROM inference_metrics WHERE deployment_id = $1 AND bucket = $2",
                                                        [.int(Int64(id)), .date(start)]))
            #expect(try row.date("stats_at") == start)
            #expect(try row.double("p95_ms") == latest.double("p95_ms"))
            #expect(abs(try row.double("rps") - Double(try latest.int("requests")) / 60) < 1e-9)
            let earlier = try w.db.query("SELECT requests FROM inference_metrics WHERE deployment_id = $1 AND bucket < $2",
                                         [.int(Int64(id)), .date(start)]).map { try $0.int("requests") }
            #expect(earlier.count == 5, "minute 0 from the runner and minutes 1–4")
            let expected = Double(earlier.reduce(0, +)) / Double(60 * earlier.count)
            #expect(abs(try row.double("rps_baseline") - expected) < 1e-9, "deployment \(id)")
            baselines.append(try row.double("rps_baseline"))
        }
        #expect(try w.db.queryOne("SELECT p95_ms, error_rate FROM deployments WHERE id = $1", [.int(Int64(ids[1]))]).map {
            [try $0.double("p95_ms"), try $0.double("error_rate")]
        } == [777, 0.01])
        #expect(baselines[0] < baselines[1] && baselines[1] < baselines[2])
    }

    /// The traffic baseline is the hour before the minute, inclusive of its first minute and
    /// exclusive of the minute itself, over the seconds observed; a deployment without a minute
    /// in that hour has none, and each deployment of a batch gets its own.
    @Test(arguments: TestDatabaseKind.enabled)
    func aTrafficBaselineIsTheHourBeforeTheMinuteOverItsObservedSeconds(_ kind: TestDatabaseKind) throws {
        let w = try World(kind)
        defer { w.db.close() }
        let ids = try (0..<3).map { _ in try w.deploy() }
        let minute = DeploymentRunner.minute(of: w.at(3600))
        func bucket(_ m: Int, _ requests: Int, seconds: Double = 60) -> InferenceSimulator.Bucket {
            .init(minute: m, requests: requests, errors: 0, p50: 10, p95: 20, p99: 30, seconds: seconds)
        }
        try w.db.transaction { conn in
            try DeploymentStore.insertBucket(conn, ids[0], bucket(minute - 61, 1_000_000))   // before the hour
            try DeploymentStore.insertBucket(conn, ids[0], bucket(minute - 60, 1_200))       // its first minute
            try DeploymentStore.insertBucket(conn, ids[0], bucket(minute - 1, 300, seconds: 30))
            try DeploymentStore.insertBucket(conn, ids[0], bucket(minute, 1_000_000))        // the minute itself
            try DeploymentStore.insertBucket(conn, ids[1], bucket(minute - 5, 120))
            try DeploymentStore.insertBucket(conn, ids[2], bucket(minute - 90, 6_000))       // none in the hour
        }
        let start = Date(timeIntervalSince1970: Double(minute) * 60)
        let baselines = try w.db.transaction { conn in try DeploymentStore.trafficBaselines(conn, ids, before: start) }
        #expect(baselines.count == 2)
        #expect(abs(try #require(baselines[ids[0]]) - 1_500.0 / 90) < 1e-9)
        #expect(abs(try #require(baselines[ids[1]]) - 2) < 1e-9)
        #expect(baselines[ids[2]] == nil)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func aPauseGuardrailPausesOnceAsTheGuardrail(_ kind: TestDatabaseKind) throws {
        let w = try World(kind)
        defer { w.db.close() }
        let id = try w.deploy()
        try w.run(from: 1, to: 11)
        _ = try GuardrailStore(database: w.db).add(id, metric: .errorRate, threshold: 2, minutes: 2, action: .pause, by: .system, now: w.at(12))
        let m0 = DeploymentRunner.minute(of: w.at(120))
        let d = try w.deployment(id)
        for k in 0...1 {
            let bucket = InferenceSimulator.Bucket(minute: m0 + k, requests: 1000, errors: 50, p50: 40, p95: 100, p99: 150)
            try w.db.transaction { conn in
                try DeploymentStore.insertBucket(conn, id, bucket)
                try GuardrailStore.evaluate(conn, try #require(try DeploymentStore.lockedDeployment(conn, id)), latest: bucket, now: bucket.start)
            }
        }
        let paused = try w.deployment(id)
        #expect(paused.status == .paused && d.status == .active)
        let pauses = try w.history(id).filter { $0.event == .pause }
        #expect(pauses.count == 1 && pauses[0].changedBy == "guardrail")
        #expect(pauses[0].reason == "paused by guardrail: Error rate above 2 % for 2 minutes")
        #expect(try Fixtures.deploymentCounts(w.db)["paused"] == 1)
    }

    @Test func instantsNeedISO8601WithAnOffset() {
        let base = Date(timeIntervalSince1970: 1_796_047_200)   // 2026-11-30T14:00:00Z
        #expect(Instant.parse("2026-11-30T14:00Z") == base)
        #expect(Instant.parse("2026-11-30T15:00+01:00") == base)
        #expect(Instant.parse("2026-11-30T09:00:00-0500") == base)
        #expect(Instant.parse("2026-11-30 14:00:30.5Z") == base.addingTimeInterval(30.5))
        #expect(Instant.parse("2026-11-30t14:00z") == base)
        for bad in ["2026-11-30T14:00", "2026-11-30", "yesterday", "2026-02-30T14:00Z", "2026-11-30T24:00Z", "2026-11-30T14:00Z junk",
                    "2026-13-01T00:00Z", "", String(repeating: "9", count: 500), "2026-11-30T14:00+25:00"] {
            #expect(Instant.parse(bad) == nil, "\(bad)")
        }
    }
}
