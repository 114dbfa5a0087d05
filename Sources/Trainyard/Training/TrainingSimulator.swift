import Foundation

/// Simulated training curves: a pure function of (job parameters, step, seed).
///
/// Loss falls exponentially from a size-dependent start towards a floor, at a rate set by the
/// learning rate; each epoch after the first opens with a small bump; noise is multiplicative
/// and reproducible. Past a size-dependent learning-rate threshold the loss grows exponentially
/// from an onset step and the job diverges. Docs/02-concepts.md (served at /docs/concepts) writes the formula down.
public struct TrainingSimulator: Sendable {
    public struct Parameters: Sendable {
        public var sizeClass: SizeClass
        public var learningRate: Double
        public var epochs: Int
        public var stepsPerEpoch: Int
        public var seed: Int

        public init(sizeClass: SizeClass, learningRate: Double, epochs: Int, stepsPerEpoch: Int = 100, seed: Int) {
            self.sizeClass = sizeClass
            self.learningRate = learningRate
            self.epochs = epochs
            self.stepsPerEpoch = stepsPerEpoch
            self.seed = seed
        }

        public var totalSteps: Int { epochs * stepsPerEpoch }
    }

    public struct Point: Equatable, Sendable {
        public var step: Int
        public var epoch: Int
        public var loss: Double
        public var accuracy: Double
        public var learningRate: Double
        /// True once the loss has blown past any believable value: the job fails with "loss diverged".
        public var diverged: Bool
    }

    public let parameters: Parameters

    public init(_ parameters: Parameters) { self.parameters = parameters }

    var startLoss: Double {
        switch parameters.sizeClass { case .nano: 2.9; case .small: 2.6; case .large: 2.3 }
    }
    var floorLoss: Double {
        switch parameters.sizeClass { case .nano: 0.95; case .small: 0.62; case .large: 0.41 }
    }
    var bestAccuracy: Double {
        switch parameters.sizeClass { case .nano: 0.78; case .small: 0.86; case .large: 0.92 }
    }
    /// Larger models tolerate smaller learning rates before diverging.
    public var divergenceThreshold: Double {
        switch parameters.sizeClass { case .nano: 0.05; case .small: 0.02; case .large: 0.01 }
    }

    /// Convergence speed from the learning rate: 1e-6 crawls, ~3e-4 is brisk, more is not faster.
    var rate: Double {
        let lr = max(parameters.learningRate, 1e-9)
        let position = log10(lr / 1e-6) / log10(3e-4 / 1e-6)
        return 4.5 * min(max(position, 0.08), 1.15)
    }

    /// The step from which loss grows exponentially, or nil for a stable learning rate.
    public var divergenceOnset: Int? {
        guard parameters.learningRate > divergenceThreshold else { return nil }
        let ratio = divergenceThreshold / parameters.learningRate   // < 1
        return max(5, Int(Double(parameters.stepsPerEpoch) * 2.5 * ratio))
    }

    /// Metrics at `step` (1-based, ≤ totalSteps).
    public func point(at step: Int) -> Point {
        let total = max(parameters.totalSteps, 1)
        let spe = max(parameters.stepsPerEpoch, 1)
        let progress = Double(step) / Double(total)
        let epoch = min((step - 1) / spe + 1, max(parameters.epochs, 1))
        let stepInEpoch = (step - 1) % spe

        var loss = floorLoss + (startLoss - floorLoss) * exp(-rate * progress * 2.2)
        if epoch > 1 { loss += 0.04 * (startLoss - floorLoss) * exp(-Double(stepInEpoch) / 6) / Double(epoch) }
        let noise = DeterministicNoise.normal(parameters.seed, step, 11)
        loss *= 1 + 0.018 * noise
        var diverged = false
        if let onset = divergenceOnset, step > onset {
            loss *= exp(Double(step - onset) / 12)
            diverged = loss > startLoss * 8 || !loss.isFinite
        }
        let learned = min(max((startLoss - loss) / (startLoss - floorLoss), 0), 1)
        var accuracy = bestAccuracy * pow(learned, 0.85) + 0.006 * DeterministicNoise.normal(parameters.seed, step, 17)
        accuracy = min(max(accuracy, 0), 1)
        let warmup = min(1, Double(step) / Double(max(spe / 5, 1)))
        let lr = parameters.learningRate * warmup * 0.5 * (1 + cos(Double.pi * progress))
        return Point(step: step, epoch: epoch, loss: loss.isFinite ? loss : Double.greatestFiniteMagnitude,
                     accuracy: accuracy, learningRate: lr, diverged: diverged)
    }
}
