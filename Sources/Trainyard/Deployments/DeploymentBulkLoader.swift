import Foundation
import Storage

/// Fills a database with `rows` deployments (and the completed jobs, resources, replicas and
/// first history rows they need) for the performance benchmark: multi-row INSERTs in large
/// transactions, then the status counters rebuilt once. Not for production data.
public enum DeploymentBulkLoader {
    /// Rows per INSERT statement and per transaction.
    static let batch = 500
    static let models: [(slug: String, name: String, parameters: Int64)] = [
        ("bench-nano", "Bench Nano", 350_000_000), ("bench-small", "Bench Small", 1_200_000_000),
        ("bench-medium", "Bench Medium", 3_800_000_000), ("bench-large", "Bench Large", 8_000_000_000),
    ]

    public static func load(_ database: Database, rows: Int, now: Date = Date(), progress: (Int) -> Void = { _ in }) throws -> String {
        var modelIDs: [(id: Int, slug: String, name: String, size: SizeClass)] = []
        try database.transaction { conn in
            for model in models {
                let size = SizeClass.forParameters(model.parameters)
                let id: Int
                if let row = try conn.queryOne("SELECT id FROM models WHERE slug = $1", [.text(model.slug)]) {
                    id = try row.int("id")
                } else {
                    id = try conn.query("""
                        INSERT INTO models (slug, name, parameters, size_class, context_length, card, created_at)
                        VALUES ($1, $2, $3, $4, 4096, '# Benchmark model', $5) RETURNING id
                        """, [.text(model.slug), .text(model.name), .int(model.parameters), .text(size.rawValue), .date(now)])[0].int("id")
                }
                modelIDs.append((id, model.slug, model.name, size))
            }
        }
        var versions: [Int: Int] = [:]
        for row in try database.query("SELECT model_id, COALESCE(MAX(version_number), 0) AS n FROM deployments GROUP BY model_id", []) {
            versions[try row.int("model_id")] = try row.int("n")
        }
        let simulator = InferenceSimulator()
        let minute = DeploymentRunner.minute(of: now)
        let minuteStart = Date(timeIntervalSince1970: Double(minute) * 60)
        var done = 0
        let runTag = String(Int(now.timeIntervalSince1970 * 1000))
        while done < rows {
            let count = min(batch, rows - done)
            try database.transaction { conn in
                // Jobs first; their ids come back by name, so RETURNING order does not matter.
                var values: [String] = [], params: [SQLValue] = []
                func ph(_ v: SQLValue) -> String { params.append(v); return "$\(params.count)" }
                for k in 0..<count {
                    let i = done + k
                    let model = modelIDs[i % modelIDs.count]
                    let created = now.addingTimeInterval(-Double(rows - i) * 30)
                    values.append("(\(ph(.text("bench-\(runTag)-\(i)"))), \(ph(.int(Int64(model.id)))), 'complete', 1, 0.0003, 32, 100, 100, '', \(ph(.int(Int64(i + 1)))), \(ph(.date(created))), \(ph(.date(created))))")
                }
                let jobRows = try conn.query("""
                    INSERT INTO training_jobs (name, model_id, status, epochs, learning_rate, batch_size, steps_per_epoch, current_step,
                        notes, seed, created_at, updated_at) VALUES \(values.joined(separator: ", ")) RETURNING id, name
                    """, params)
                var jobIDs: [Int: Int] = [:]
                for row in jobRows {
                    let name = try row.string("name")
                    jobIDs[Int(name.split(separator: "-").last!)!] = try row.int("id")
                }

                values = []; params = []
                var plans: [(i: Int, status: DeploymentStatus, model: (id: Int, slug: String, name: String, size: SizeClass), created: Date)] = []
                for k in 0..<count {
                    let i = done + k
                    let model = modelIDs[i % modelIDs.count]
                    let status: DeploymentStatus = switch i % 100 {
                    case 0..<70: .active
                    case 70..<85: .paused
                    case 85..<99: .failed
                    default: .deploying
                    }
                    let number = (versions[model.id] ?? 0) + 1
                    versions[model.id] = number
                    let version = "v1.\(number).0"
                    let created = now.addingTimeInterval(-Double(rows - i) * 30)
                    var stats = InferenceSimulator.Bucket(minute: minute, requests: 0, errors: 0, p50: 0, p95: 0, p99: 0)
                    if status == .active {
                        stats = simulator.bucket(deploymentID: i + 1, seed: i + 1, sizeClass: model.size, runningReplicas: 1 + i % 3,
                                                 minute: minute, activeSinceMinute: DeploymentRunner.minute(of: created))
                    }
                    values.append("(\(ph(.int(Int64(jobIDs[i]!)))), \(ph(.int(Int64(model.id)))), \(ph(.text(model.name))), \(ph(.text("\(model.slug)-\(version)"))), \(ph(.text(version))), \(ph(.int(Int64(number)))), \(ph(.text(status.rawValue))), \(ph(.text("/api/inference/\(model.slug)/\(version)"))), 1, 'bench', \(ph(.date(created))), \(ph(.date(created))), \(ph(.double(stats.requestsPerSecond))), \(ph(.double(stats.p50))), \(ph(.double(stats.p95))), \(ph(.double(stats.p99))), \(ph(.double(stats.errorRate))), \(ph(status == .active ? .date(minuteStart) : .null)))")
                    plans.append((i, status, model, created))
                }
                let deploymentRows = try conn.query("""
                    INSERT INTO deployments (job_id, model_id, model_name, name, version, version_number, status, endpoint, target_replicas,
                        deployed_by, created_at, updated_at, rps, p50_ms, p95_ms, p99_ms, error_rate, stats_at)
                    VALUES \(values.joined(separator: ", ")) RETURNING id, job_id
                    """, params)
                var byJob: [Int: Int] = [:]
                for row in deploymentRows { byJob[try row.int("job_id")] = try row.int("id") }

                var resources: [String] = [], replicas: [String] = [], history: [String] = []
                var rp: [SQLValue] = [], pp: [SQLValue] = [], hp: [SQLValue] = []
                for plan in plans {
                    let id = byJob[jobIDs[plan.i]!]!
                    let r = DeploymentResources.defaults(for: plan.model.size).resources
                    rp += [.int(Int64(id)), .double(r.cpu), .int(Int64(r.memoryMB)), .int(Int64(r.gpu)), .int(Int64(r.storageGB))]
                    let b = rp.count - 4
                    resources.append("($\(b), $\(b + 1), $\(b + 2), $\(b + 3), $\(b + 4))")
                    let replica = switch plan.status {
                    case .active: "running"
                    case .paused: "stopped"
                    case .failed: "failed"
                    case .deploying: "pending"
                    }
                    pp += [.int(Int64(id)), .text(replica), .date(plan.created)]
                    replicas.append("($\(pp.count - 2), 1, $\(pp.count - 1), $\(pp.count), $\(pp.count))")
                    hp += [.int(Int64(id)), .date(plan.created)]
                    history.append("($\(hp.count - 1), NULL, 'deploying', 'bench', 'bulk load', $\(hp.count))")
                }
                try conn.execute("INSERT INTO deployment_resources (deployment_id, cpu, memory_mb, gpu, storage_gb) VALUES \(resources.joined(separator: ", "))", rp)
                try conn.execute("INSERT INTO deployment_replicas (deployment_id, ordinal, status, created_at, updated_at) VALUES \(replicas.joined(separator: ", "))", pp)
                try conn.execute("""
                    INSERT INTO deployment_status_history (deployment_id, old_status, new_status, changed_by, reason, created_at)
                    VALUES \(history.joined(separator: ", "))
                    """, hp)
            }
            done += count
            progress(done)
        }
        try database.transaction { conn in try StatusCounters.recount(conn) }
        // Fresh planner statistics, as a long-running database would have.
        try database.execute("ANALYZE", [])
        return "loaded \(rows) deployments"
    }
}
