import Foundation

/// Whether a replica starts, as a pure function of its configuration and (deployment, revision,
/// replica, attempt, seed), so every run of the simulation fails the same replicas the same way.
///
/// - Memory below what the model's size class needs: the replica is killed while loading
///   ("out of memory: needs ≥ N MB"); retrying cannot help, so it is not retried.
/// - A large model without a GPU cannot be scheduled; not retried either.
/// - Otherwise a start fails its health check at `failureRate`, and is retried with backoff
///   (5 s, 10 s, 20 s at speed 1) up to `maxRestarts` times.
enum ReplicaStartRules {
    /// The memory a replica of each size class needs to load its model.
    static func requiredMemoryMB(_ size: SizeClass) -> Int {
        switch size {
        case .nano: 1024
        case .small: 8192
        case .large: 24_576
        }
    }

    static let maxRestarts = 3
    static let defaultFailureRate = 0.02
    static let healthCheckFailure = "health check failed: no answer on /healthz within 10 s"

    /// Seconds before restart number `restart` (1-based), at speed 1.
    static func backoffSeconds(beforeRestart restart: Int) -> Double { 5 * pow(2, Double(max(restart - 1, 0))) }

    enum Outcome: Equatable {
        case starts
        /// Fails; `retryable` says whether another attempt could succeed.
        case fails(reason: String, retryable: Bool)
    }

    /// Checked when a replica is placed on a node (pending → starting).
    static func scheduling(sizeClass: SizeClass, resources: DeploymentResources) -> Outcome {
        if sizeClass == .large && resources.gpu == 0 {
            return .fails(reason: "cannot be scheduled: a large model needs at least 1 GPU", retryable: false)
        }
        return .starts
    }

    /// Checked when a started replica loads its model and answers its health check (starting → running).
    static func start(sizeClass: SizeClass, resources: DeploymentResources, deploymentID: Int, seed: Int,
                      revision: Int, ordinal: Int, attempt: Int, failureRate: Double) -> Outcome {
        let needed = requiredMemoryMB(sizeClass)
        if resources.memoryMB < needed {
            return .fails(reason: "out of memory: needs ≥ \(needed) MB", retryable: false)
        }
        let key = seed &+ deploymentID &* 7919
        let draw = DeterministicNoise.uniform(key, revision, ordinal, attempt, 21)
        return draw < failureRate ? .fails(reason: healthCheckFailure, retryable: true) : .starts
    }
}
