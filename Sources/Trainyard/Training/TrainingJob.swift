import Foundation

/// Where a job's metrics come from: Trainyard's simulator, or training code that reports them
/// over the tracking API. Never both.
public enum JobSource: String, Sendable {
    case simulated, reported
}

/// What the simulator needs of a job: its hyperparameters and length. Reported runs have none.
public struct SimulationPlan: Sendable, Equatable {
    public var epochs: Int
    public var learningRate: Double
    public var batchSize: Int
    public var stepsPerEpoch: Int

    public var totalSteps: Int { epochs * stepsPerEpoch }
}

/// What a reported job carries of its MLflow run.
public struct ReportedRun: Sendable, Equatable {
    /// MLflow's run id: 32 lower-case hex digits.
    public var runID: String
    public var lastReportAt: Date?
}

/// A job's experiment, as lists and the monitor show it.
struct ExperimentRef: Sendable, Equatable {
    var id: Int
    var name: String
}

/// A training job as pages and the runner see it.
public struct TrainingJob: Sendable {
    public var id: Int
    public var name: String
    /// The base model; a reported run has none until it names or is given one.
    var model: ModelRef?
    public var status: JobStatus
    public var source: JobSource
    /// Set for simulated jobs only.
    public var plan: SimulationPlan?
    /// Set for reported jobs only.
    public var run: ReportedRun?
    var experiment: ExperimentRef?
    public var currentStep: Int
    public var notes: String
    public var failureReason: String?
    public var seed: Int
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var updatedAt: Date

    public var modelID: Int? { model?.id }
    public var modelSlug: String? { model?.slug }
    public var modelName: String? { model?.name }

    public var totalSteps: Int? { plan?.totalSteps }
    /// Share of the plan done; nil for reported runs, whose length nobody knows in advance.
    public var progress: Double? {
        guard let total = totalSteps else { return nil }
        return total == 0 ? 0 : min(1, Double(currentStep) / Double(total))
    }
    /// Whole percent done, rounded down so 100 % means finished.
    public var percent: Int? { progress.map { Int(($0 * 100).rounded(.down)) } }
    public var currentEpoch: Int? {
        guard let plan else { return nil }
        return currentStep == 0 ? 0 : min(plan.epochs, (currentStep - 1) / plan.stepsPerEpoch + 1)
    }

    /// A running reported job whose client has been silent for `after` (W&B calls it crashed).
    func isStale(now: Date, after: TimeInterval) -> Bool {
        guard source == .reported, status == .running else { return false }
        return now.timeIntervalSince(run?.lastReportAt ?? updatedAt) > after
    }

    var simulator: TrainingSimulator? {
        guard let plan, let model else { return nil }
        return TrainingSimulator(.init(sizeClass: model.sizeClass, learningRate: plan.learningRate, epochs: plan.epochs,
                                       stepsPerEpoch: plan.stepsPerEpoch, seed: seed))
    }
}

/// One value of one metric key.
public struct MetricPoint: Sendable, Equatable {
    public var step: Int
    /// NaN is a value too (MLflow accepts it); charts leave it out.
    public var value: Double
    public var recordedAt: Date
}

/// A key's latest, lowest and highest value, kept as metrics are written.
public struct MetricSummary: Sendable, Equatable {
    public var key: String
    public var latestStep: Int
    public var latestAt: Date
    public var latest: Double
    public var min: Double?
    public var max: Double?
}
