import Foundation

/// A training job as pages and the runner see it.
public struct TrainingJob: Sendable {
    public var id: Int
    public var name: String
    var model: ModelRef
    public var status: JobStatus
    public var epochs: Int
    public var learningRate: Double
    public var batchSize: Int
    public var stepsPerEpoch: Int
    public var currentStep: Int
    public var notes: String
    public var failureReason: String?
    public var seed: Int
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var updatedAt: Date

    public var modelID: Int { model.id }
    public var modelSlug: String { model.slug }
    public var modelName: String { model.name }
    public var sizeClass: SizeClass { model.sizeClass }

    public var totalSteps: Int { epochs * stepsPerEpoch }
    public var progress: Double { totalSteps == 0 ? 0 : min(1, Double(currentStep) / Double(totalSteps)) }
    /// Whole percent done, rounded down so 100 % means finished.
    public var percent: Int { Int((progress * 100).rounded(.down)) }
    public var currentEpoch: Int { currentStep == 0 ? 0 : min(epochs, (currentStep - 1) / stepsPerEpoch + 1) }

    var simulator: TrainingSimulator {
        TrainingSimulator(.init(sizeClass: sizeClass, learningRate: learningRate, epochs: epochs, stepsPerEpoch: stepsPerEpoch, seed: seed))
    }
}

/// One recorded training step.
public struct TrainingMetric: Sendable, Codable, Equatable {
    public var step: Int
    public var epoch: Int
    public var loss: Double
    public var accuracy: Double
}
