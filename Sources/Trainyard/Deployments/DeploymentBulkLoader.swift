import Foundation
import Storage

/// Fills a database with `rows` deployments (and the completed jobs, resources, replicas and
/// first history rows they need) for the performance benchmark: multi-row inserts through the
/// stores in large transactions, then the status counters rebuilt once. Not for production data.
public enum DeploymentBulkLoader {
    /// Rows per insert statement and per transaction.
    static let batch = 500
    static let models: [ModelStore.NewModel] = [
        .init(slug: "bench-nano", name: "Bench Nano", parameters: 350_000_000, contextLength: 4096, card: "# Benchmark model"),
        .init(slug: "bench-small", name: "Bench Small", parameters: 1_200_000_000, contextLength: 4096, card: "# Benchmark model"),
        .init(slug: "bench-medium", name: "Bench Medium", parameters: 3_800_000_000, contextLength: 4096, card: "# Benchmark model"),
        .init(slug: "bench-large", name: "Bench Large", parameters: 8_000_000_000, contextLength: 4096, card: "# Benchmark model"),
    ]

    public static func load(_ database: Database, rows: Int, now: Date = Date(), progress: (Int) -> Void = { _ in }) throws -> String {
        let refs: [ModelRef] = try database.transaction { conn in
            try models.map { model in
                ModelRef(id: try ModelStore.ensure(conn, model, now: now), slug: model.slug, name: model.name,
                         sizeClass: SizeClass.forParameters(model.parameters))
            }
        }
        var versions = try DeploymentStore(database: database).highestVersions()
        let simulator = InferenceSimulator()
        let minute = DeploymentRunner.minute(of: now)
        let minuteStart = Date(timeIntervalSince1970: Double(minute) * 60)
        let runTag = String(Int(now.timeIntervalSince1970 * 1000))
        var done = 0
        while done < rows {
            let count = min(batch, rows - done)
            try database.transaction { conn in
                let jobs: [JobStore.NewJob] = (done..<(done + count)).map { i in
                    let created = now.addingTimeInterval(-Double(rows - i) * 30)
                    return JobStore.NewJob(name: "bench-\(runTag)-\(i)", modelID: refs[i % refs.count].id, status: .complete, epochs: 1,
                                           learningRate: 0.0003, batchSize: 32, currentStep: 100, seed: i + 1,
                                           createdAt: created, updatedAt: created)
                }
                let jobIDs = try JobStore.insertMany(conn, jobs)
                var items: [DeploymentStore.BulkDeployment] = []
                for (k, job) in jobs.enumerated() {
                    let i = done + k
                    let model = refs[i % refs.count]
                    let status: DeploymentStatus = switch i % 100 {
                    case 0..<70: .active
                    case 70..<85: .paused
                    case 85..<99: .failed
                    default: .deploying
                    }
                    let number = (versions[model.id] ?? 0) + 1
                    versions[model.id] = number
                    var stats = DeploymentStats.zero
                    if status == .active {
                        let b = simulator.bucket(deploymentID: i + 1, seed: i + 1, sizeClass: model.sizeClass, runningReplicas: 1 + i % 3,
                                                 minute: minute, activeSinceMinute: DeploymentRunner.minute(of: job.createdAt))
                        stats = DeploymentStats(rps: b.requestsPerSecond, p50: b.p50, p95: b.p95, p99: b.p99, errorRate: b.errorRate)
                    }
                    let replica: ReplicaStatus = switch status {
                    case .active: .running
                    case .paused: .stopped
                    case .failed: .failed
                    case .deploying: .pending
                    }
                    items.append(.init(
                        row: .init(jobID: jobIDs[job.name]!, model: model, name: "\(model.slug)-\(DeploymentStore.versionName(number))",
                                   versionNumber: number, status: status, targetReplicas: 1, deployedBy: "bench",
                                   createdAt: job.createdAt, updatedAt: job.createdAt, stats: stats,
                                   statsAt: status == .active ? minuteStart : nil),
                        resources: DeploymentResources.defaults(for: model.sizeClass).resources, replicaStatus: replica))
                }
                try DeploymentStore.insertMany(conn, items)
            }
            done += count
            progress(done)
        }
        try database.transaction { conn in
            try JobStore.recount(conn)
            try DeploymentStore.recount(conn)
        }
        // Fresh planner statistics, as a long-running database would have.
        try database.execute("ANALYZE", [])
        return "loaded \(rows) deployments"
    }
}
