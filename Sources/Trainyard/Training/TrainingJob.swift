import Foundation

/// A training job as pages and the runner see it.
public struct TrainingJob: Sendable {
    public var id: Int
    public var name: String
    public var modelID: Int
    public var modelSlug: String
    public var modelName: String
    public var sizeClass: SizeClass
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

    public var totalSteps: Int { epochs * stepsPerEpoch }
    public var progress: Double { totalSteps == 0 ? 0 : min(1, Double(currentStep) / Double(totalSteps)) }
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
