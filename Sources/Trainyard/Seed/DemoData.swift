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
            if try !ModelStore.isEmpty(conn) {
                return "the database already has data; demo data not added"
            }
            var modelIDs: [String: (id: Int, model: DemoCatalogue.Model)] = [:]
            for (index, model) in DemoCatalogue.models.enumerated() {
                let created = now.addingTimeInterval(-Double(30 - index) * 86_400)
                let id = try ModelStore.ensure(conn, .init(slug: model.slug, name: model.name, parameters: model.parameters,
                                                           contextLength: model.contextLength, card: model.card), now: created)
                modelIDs[model.slug] = (id, model)
            }

            // The people of the demo history: they exist, but nobody knows their passwords until
            // an admin resets one.
            var actors: [Actor] = []
            for (username, name) in Seeder.people {
                let user = try AccountStore.insertUser(conn, username: username, displayName: name, role: .operator,
                                                       passwordHash: try PasswordHasher.hash(Signer.randomToken()), by: .system, now: now)
                actors.append(user.actor(from: ""))
            }
            var seeded = Seeder(conn: conn, now: now, models: modelIDs, people: actors)
            try seeded.jobsAndDeployments()
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
        let people: [Actor]

        static let people = [("maya.chen", "Maya Chen"), ("omar.haddad", "Omar Haddad")]

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
            let id = try JobStore.insert(conn, JobStore.NewJob(
                name: plan.name, modelID: model.id, status: plan.status, epochs: plan.epochs, learningRate: plan.learningRate,
                batchSize: plan.batchSize, currentStep: lastStep, notes: plan.notes, failureReason: plan.failure, seed: seed,
                createdAt: created, startedAt: started, finishedAt: finished, updatedAt: finished ?? started ?? created))
            if lastStep > 0, let started {
                try MetricStore.write(conn, jobID: id, (1...lastStep).flatMap { step in
                    let point = simulator.point(at: step)
                    let at = started.addingTimeInterval(Double(step) * secondsPerStep)
                    return [MetricStore.NewPoint(key: "loss", step: step, value: point.loss, recordedAt: at),
                            MetricStore.NewPoint(key: "accuracy", step: step, value: point.accuracy, recordedAt: at)]
                })
            }
            return (id, finished ?? created)
        }

        mutating func insertDeployment(_ plan: DeploymentPlan, jobID: Int, model: (id: Int, model: DemoCatalogue.Model), seed: Int) throws {
            let actor = people[(versions.values.reduce(0, +)) % people.count]
            let version = (versions[model.id] ?? 0) + 1
            versions[model.id] = version
            let versionName = DeploymentStore.versionName(version)
            let created = now.addingTimeInterval(-plan.ageHours * 3600)
            let activeAt = created.addingTimeInterval(45)
            let changedAt = created.addingTimeInterval(plan.ageHours * 3600 * 0.6)
            let size = SizeClass.forParameters(model.model.parameters)
            let ref = ModelRef(id: model.id, slug: model.model.slug, name: model.model.name, sizeClass: size)
            let deletedAt = plan.deleted ? changedAt.addingTimeInterval(600) : nil
            // The same defaults the Deploy button uses for this size of model.
            let id = try DeploymentStore.insert(conn, .init(
                jobID: jobID, model: ref, name: "\(model.model.slug)-\(versionName)", versionNumber: version, status: plan.status,
                targetReplicas: plan.replicas, deployedBy: actor.username, createdAt: created,
                updatedAt: plan.status == .active || plan.status == .deploying ? activeAt : changedAt, deletedAt: deletedAt),
                resources: DeploymentResources.defaults(for: size).resources)

            // History: created → deploying → active, then the plan's own ending.
            let replicas = plan.replicas
            func history(_ event: DeploymentEvent, _ old: DeploymentStatus?, _ new: DeploymentStatus, _ reason: String, _ at: Date,
                         by actor: Actor) throws {
                try DeploymentStore.recordHistory(conn, id, event, from: old, to: new, revision: 1, replicas: replicas, by: actor,
                                                  reason: reason, now: at)
            }
            try history(.deploy, nil, .deploying, "deployment created", created, by: actor)
            if plan.status == .failed {
                // It never served: every replica failed its health checks until the retries ran out.
                try history(.fail, .deploying, .failed, "no replica could start: replica 1: \(ReplicaStartRules.healthCheckFailure)",
                            created.addingTimeInterval(DeploymentRunner.startDeadlineSeconds / 2), by: .system)
            } else if plan.status != .deploying {
                try history(.activate, .deploying, .active, "first replica running", activeAt, by: .system)
                if plan.status == .paused { try history(.pause, .active, .paused, "paused by user", changedAt, by: actor) }
            }
            if let deletedAt { try history(.delete, plan.status, plan.status, "deleted", deletedAt, by: actor) }

            let replicaStatus: ReplicaStatus = switch plan.status {
            case .active: .running
            case .paused: .stopped
            case .failed: .failed
            case .deploying: .starting
            }
            for ordinal in 1...plan.replicas {
                try DeploymentStore.insertReplica(conn, id, ordinal: ordinal,
                                                  status: plan.status == .deploying && ordinal > 1 ? .pending : replicaStatus, now: created)
            }

            // Inference history for the time the deployment was serving, at most two days of minutes.
            if plan.status == .failed {
                try conn.execute("""
                    UPDATE deployment_replicas SET restarts = $2, last_failure = $3 WHERE deployment_id = $1
                    """, [.int(Int64(id)), .int(Int64(ReplicaStartRules.maxRestarts)), .text(ReplicaStartRules.healthCheckFailure)])
                try conn.execute("UPDATE deployments SET failure_reason = $2 WHERE id = $1",
                                 [.int(Int64(id)), .text("no replica could start: replica 1: \(ReplicaStartRules.healthCheckFailure)")])
            }
            guard plan.status == .active || plan.status == .paused else { return }
            let activeMinute = Int(activeAt.timeIntervalSince1970 / 60)
            let endMinute = plan.status == .active ? Int(now.timeIntervalSince1970 / 60) : Int(changedAt.timeIntervalSince1970 / 60)
            let startMinute = max(activeMinute + 1, endMinute - 2 * 1440)
            guard startMinute <= endMinute else { return }
            let simulator = InferenceSimulator()
            let buckets = (startMinute...endMinute).map { minute in
                simulator.bucket(deploymentID: id, seed: seed, sizeClass: size, runningReplicas: plan.replicas,
                                 minute: minute, activeSinceMinute: Int(created.timeIntervalSince1970 / 60))
            }
            try DeploymentStore.insertBuckets(conn, buckets.map { (id, $0) })
            if plan.status == .active, let latest = buckets.last { try DeploymentStore.setLatestStats(conn, id, latest) }
        }

    }
}
