import Foundation
import Storage

/// `trainyard seed-demo`: models, jobs in every status with their metric history, and
/// deployments in every status with resources, replicas, status history and inference buckets.
///
/// Idempotent: it seeds only a database without models, in one transaction, so running it
/// twice (or on a database in use) changes nothing.
public enum DemoData {
    @discardableResult
    public static func seed(_ database: Database, now: Date) throws -> String {
        try database.transaction { conn in
            let existing = try conn.query("SELECT COUNT(*) AS n FROM models", [])
            if let row = existing.first, try row.int("n") > 0 {
                return "the database already has data; demo data not added"
            }
            var modelIDs: [String: (id: Int, model: DemoCatalogue.Model)] = [:]
            for (index, model) in DemoCatalogue.models.enumerated() {
                let created = now.addingTimeInterval(-Double(30 - index) * 86_400)
                let rows = try conn.query("""
                    INSERT INTO models (slug, name, parameters, size_class, context_length, card, created_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id
                    """, [.text(model.slug), .text(model.name), .int(model.parameters),
                          .text(SizeClass.forParameters(model.parameters).rawValue), .int(Int64(model.contextLength)),
                          .text(model.card), .date(created)])
                modelIDs[model.slug] = (try rows[0].int("id"), model)
            }

            var seeded = Seeder(conn: conn, now: now, models: modelIDs)
            try seeded.jobsAndDeployments()
            try StatusCounters.recount(conn)
            return "demo data added: \(modelIDs.count) models, \(seeded.jobCount) jobs, \(seeded.deploymentCount) deployments"
        }
    }

    struct Seeder {
        let conn: DatabaseConnection
        let now: Date
        let models: [String: (id: Int, model: DemoCatalogue.Model)]
        var jobCount = 0
        var deploymentCount = 0
        var versions: [Int: Int] = [:]

        struct JobPlan {
            var name: String
            var model: String
            var status: JobStatus
            var epochs: Int
            var learningRate: Double
            var batchSize: Int
            var ageHours: Double
            var progress: Double = 1
            var failure: String? = nil
            var notes: String = ""
        }

        /// Deployments made from the complete jobs, by job name.
        struct DeploymentPlan {
            var job: String
            var status: DeploymentStatus
            var replicas: Int
            var ageHours: Double
            var deleted = false
        }

        static let jobs: [JobPlan] = [
            JobPlan(name: "support-intents-v3", model: "lfm2-350m", status: .complete, epochs: 3, learningRate: 3e-4, batchSize: 32, ageHours: 96,
                    notes: "Intent classifier for the support inbox.\n\n- 14 intents\n- balanced sampling"),
            JobPlan(name: "ticket-summaries", model: "lfm2-1-2b", status: .complete, epochs: 4, learningRate: 2e-4, batchSize: 16, ageHours: 80),
            JobPlan(name: "invoice-extraction", model: "qwen2-5-0-5b", status: .complete, epochs: 3, learningRate: 1e-4, batchSize: 32, ageHours: 60),
            JobPlan(name: "code-review-assistant", model: "mistral-7b", status: .complete, epochs: 2, learningRate: 5e-5, batchSize: 8, ageHours: 50),
            JobPlan(name: "contract-qa", model: "llama-3-1-8b", status: .complete, epochs: 3, learningRate: 2e-5, batchSize: 8, ageHours: 40),
            JobPlan(name: "reasoning-distill", model: "phi-3-mini", status: .complete, epochs: 3, learningRate: 1e-4, batchSize: 16, ageHours: 30),
            JobPlan(name: "search-reranker", model: "lfm2-350m", status: .complete, epochs: 2, learningRate: 4e-4, batchSize: 64, ageHours: 20),
            JobPlan(name: "chat-tone-tuning", model: "lfm2-1-2b", status: .running, epochs: 5, learningRate: 2e-4, batchSize: 16, ageHours: 1, progress: 0.42),
            JobPlan(name: "sql-generation", model: "mistral-7b", status: .running, epochs: 3, learningRate: 5e-5, batchSize: 8, ageHours: 0.5, progress: 0.15),
            JobPlan(name: "aggressive-lr-trial", model: "phi-3-mini", status: .failed, epochs: 3, learningRate: 0.08, batchSize: 16, ageHours: 26,
                    failure: "loss diverged"),
            JobPlan(name: "abandoned-sweep", model: "qwen2-5-0-5b", status: .failed, epochs: 6, learningRate: 1e-4, batchSize: 32, ageHours: 12, progress: 0.3,
                    failure: "stopped by user"),
            JobPlan(name: "multilingual-faq", model: "qwen2-5-0-5b", status: .queued, epochs: 3, learningRate: 2e-4, batchSize: 32, ageHours: 0.2),
            JobPlan(name: "long-context-eval", model: "llama-3-1-8b", status: .queued, epochs: 2, learningRate: 1e-5, batchSize: 4, ageHours: 0.1),
        ]

        static let deployments: [DeploymentPlan] = [
            DeploymentPlan(job: "support-intents-v3", status: .active, replicas: 2, ageHours: 90),
            DeploymentPlan(job: "ticket-summaries", status: .active, replicas: 3, ageHours: 70),
            DeploymentPlan(job: "invoice-extraction", status: .paused, replicas: 1, ageHours: 55),
            DeploymentPlan(job: "code-review-assistant", status: .active, replicas: 2, ageHours: 45),
            DeploymentPlan(job: "contract-qa", status: .failed, replicas: 2, ageHours: 35),
            DeploymentPlan(job: "reasoning-distill", status: .deploying, replicas: 2, ageHours: 0.02),
            DeploymentPlan(job: "search-reranker", status: .paused, replicas: 1, ageHours: 18, deleted: true),
        ]

        mutating func jobsAndDeployments() throws {
            var jobIDs: [String: (id: Int, plan: JobPlan, finished: Date, seed: Int)] = [:]
            for (index, plan) in Self.jobs.enumerated() {
                let (id, finished) = try insertJob(plan, seed: 1000 + index)
                jobIDs[plan.name] = (id, plan, finished, 1000 + index)
                jobCount += 1
            }
            for plan in Self.deployments {
                guard let job = jobIDs[plan.job], let model = models[job.plan.model] else { continue }
                try insertDeployment(plan, jobID: job.id, model: model, seed: job.seed)
                deploymentCount += 1
            }
        }

        func insertJob(_ plan: JobPlan, seed: Int) throws -> (Int, Date) {
            let model = models[plan.model]!
            let sizeClass = SizeClass.forParameters(model.model.parameters)
            let simulator = TrainingSimulator(.init(sizeClass: sizeClass, learningRate: plan.learningRate, epochs: plan.epochs, seed: seed))
            let total = simulator.parameters.totalSteps
            var lastStep: Int
            switch plan.status {
            case .queued: lastStep = 0
            case .complete: lastStep = total
            case .running: lastStep = Int(Double(total) * plan.progress)
            case .failed:
                if plan.failure == "loss diverged" {
                    lastStep = (1...total).first { simulator.point(at: $0).diverged } ?? total
                } else {
                    lastStep = Int(Double(total) * plan.progress)
                }
            }
            let created = now.addingTimeInterval(-plan.ageHours * 3600)
            let started: Date? = plan.status == .queued ? nil : created.addingTimeInterval(60)
            // Demo jobs advanced at about two steps a second.
            let secondsPerStep = 0.5
            let finished: Date? = (plan.status == .complete || plan.status == .failed)
                ? started!.addingTimeInterval(Double(lastStep) * secondsPerStep) : nil
            let rows = try conn.query("""
                INSERT INTO training_jobs (name, model_id, status, epochs, learning_rate, batch_size, steps_per_epoch,
                    current_step, notes, failure_reason, seed, created_at, started_at, finished_at, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, 100, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id
                """, [.text(plan.name), .int(Int64(model.id)), .text(plan.status.rawValue), .int(Int64(plan.epochs)),
                      .double(plan.learningRate), .int(Int64(plan.batchSize)), .int(Int64(lastStep)), .text(plan.notes),
                      SQLValue(plan.failure), .int(Int64(seed)), .date(created), SQLValue(started), SQLValue(finished),
                      .date(finished ?? started ?? created)])
            let id = try rows[0].int("id")
            if lastStep > 0, let started {
                for step in 1...lastStep {
                    let point = simulator.point(at: step)
                    try conn.execute("""
                        INSERT INTO training_metrics (job_id, step, epoch, loss, accuracy, learning_rate, recorded_at)
                        VALUES ($1, $2, $3, $4, $5, $6, $7)
                        """, [.int(Int64(id)), .int(Int64(step)), .int(Int64(point.epoch)), .double(point.loss),
                              .double(point.accuracy), .double(point.learningRate),
                              .date(started.addingTimeInterval(Double(step) * secondsPerStep))])
                }
            }
            return (id, finished ?? created)
        }

        mutating func insertDeployment(_ plan: DeploymentPlan, jobID: Int, model: (id: Int, model: DemoCatalogue.Model), seed: Int) throws {
            let version = (versions[model.id] ?? 0) + 1
            versions[model.id] = version
            let versionName = "v1.\(version).0"
            let created = now.addingTimeInterval(-plan.ageHours * 3600)
            let activeAt = created.addingTimeInterval(45)
            let changedAt = created.addingTimeInterval(plan.ageHours * 3600 * 0.6)
            let name = "\(model.model.slug)-\(versionName)"
            let rows = try conn.query("""
                INSERT INTO deployments (job_id, model_id, model_name, name, version, version_number, status, endpoint,
                    target_replicas, deployed_by, created_at, updated_at, deleted_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'demo', $10, $11, $12) RETURNING id
                """, [.int(Int64(jobID)), .int(Int64(model.id)), .text(model.model.name), .text(name), .text(versionName),
                      .int(Int64(version)), .text(plan.status.rawValue),
                      .text("/api/inference/\(model.model.slug)/\(versionName)"), .int(Int64(plan.replicas)),
                      .date(created), .date(plan.status == .active || plan.status == .deploying ? activeAt : changedAt),
                      plan.deleted ? .date(changedAt.addingTimeInterval(600)) : .null])
            let id = try rows[0].int("id")
            let size = SizeClass.forParameters(model.model.parameters)
            // The same defaults the Deploy button uses for this size of model.
            let r = DeploymentResources.defaults(for: size).resources
            try conn.execute("""
                INSERT INTO deployment_resources (deployment_id, cpu, memory_mb, gpu, storage_gb) VALUES ($1, $2, $3, $4, $5)
                """, [.int(Int64(id)), .double(r.cpu), .int(Int64(r.memoryMB)), .int(Int64(r.gpu)), .int(Int64(r.storageGB))])

            // History: created → deploying → active, then the plan's own ending.
            try history(id, nil, .deploying, "deployment created", created)
            if plan.status != .deploying {
                if plan.status == .failed {
                    try history(id, .deploying, .active, "first replica running", activeAt)
                    try history(id, .active, .failed, "replicas failed health checks", changedAt)
                } else {
                    try history(id, .deploying, .active, "first replica running", activeAt)
                    if plan.status == .paused { try history(id, .active, .paused, "paused by user", changedAt) }
                }
            }
            if plan.deleted {
                try conn.execute("""
                    INSERT INTO deployment_status_history (deployment_id, old_status, new_status, changed_by, reason, created_at)
                    VALUES ($1, $2, $2, 'demo', 'deleted by user', $3)
                    """, [.int(Int64(id)), .text(plan.status.rawValue), .date(changedAt.addingTimeInterval(600))])
            }

            let replicaStatus: String = switch plan.status {
            case .active: "running"
            case .paused: "stopped"
            case .failed: "failed"
            case .deploying: "starting"
            }
            for ordinal in 1...plan.replicas {
                let status = plan.status == .deploying && ordinal > 1 ? "pending" : replicaStatus
                try conn.execute("""
                    INSERT INTO deployment_replicas (deployment_id, ordinal, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)
                    """, [.int(Int64(id)), .int(Int64(ordinal)), .text(status), .date(created), .date(created)])
            }

            // Inference history for the time the deployment was serving, at most two days of minutes.
            guard plan.status == .active || plan.status == .paused || plan.status == .failed else { return }
            let activeMinute = Int(activeAt.timeIntervalSince1970 / 60)
            let endMinute = plan.status == .active ? Int(now.timeIntervalSince1970 / 60) : Int(changedAt.timeIntervalSince1970 / 60)
            let startMinute = max(activeMinute + 1, endMinute - 2 * 1440)
            guard startMinute <= endMinute else { return }
            let simulator = InferenceSimulator()
            var latest: InferenceSimulator.Bucket?
            for minute in startMinute...endMinute {
                let bucket = simulator.bucket(deploymentID: id, seed: seed, sizeClass: size, runningReplicas: plan.replicas,
                                              minute: minute, activeSinceMinute: Int(created.timeIntervalSince1970 / 60))
                try conn.execute("""
                    INSERT INTO inference_metrics (deployment_id, bucket, requests, errors, p50_ms, p95_ms, p99_ms)
                    VALUES ($1, $2, $3, $4, $5, $6, $7)
                    """, [.int(Int64(id)), .date(Date(timeIntervalSince1970: Double(minute) * 60)), .int(Int64(bucket.requests)),
                          .int(Int64(bucket.errors)), .double(bucket.p50), .double(bucket.p95), .double(bucket.p99)])
                latest = bucket
            }
            if plan.status == .active, let latest {
                try conn.execute("""
                    UPDATE deployments SET rps = $2, p50_ms = $3, p95_ms = $4, p99_ms = $5, error_rate = $6, stats_at = $7 WHERE id = $1
                    """, [.int(Int64(id)), .double(latest.requestsPerSecond), .double(latest.p50), .double(latest.p95),
                          .double(latest.p99), .double(latest.errorRate), .date(Date(timeIntervalSince1970: Double(latest.minute) * 60))])
            }
        }

        func history(_ id: Int, _ old: DeploymentStatus?, _ new: DeploymentStatus, _ reason: String, _ at: Date) throws {
            try conn.execute("""
                INSERT INTO deployment_status_history (deployment_id, old_status, new_status, changed_by, reason, created_at)
                VALUES ($1, $2, $3, 'demo', $4, $5)
                """, [.int(Int64(id)), SQLValue(old?.rawValue), .text(new.rawValue), .text(reason), .date(at)])
        }
    }
}
