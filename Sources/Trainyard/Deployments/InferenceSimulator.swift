import Foundation

/// Simulated inference statistics per deployment per minute: a pure function of
/// (deployment, minute, seed, size class, running replicas, age).
///
/// P50 starts from a size-class base and grows with utilisation (fewer replicas, more load);
/// P95 is 2–4× P50 and P99 1.5–2× P95; traffic ramps up over the first 24 h and follows a daily
/// wave; errors sit near 0.3 % with rare spikes.
public struct InferenceSimulator: Sendable {
    public struct Bucket: Equatable, Sendable {
        public var minute: Int          // minutes since the Unix epoch
        public var requests: Int
        public var errors: Int
        public var p50: Double          // milliseconds
        public var p95: Double
        public var p99: Double
        /// Seconds of observation the figures cover: 60 for a simulated or pushed minute, the
        /// sum of its scrape intervals for a scraped one.
        public var seconds: Double = 60

        public var requestsPerSecond: Double { Double(requests) / seconds }
        /// The start of the bucket's minute.
        public var start: Date { Date(timeIntervalSince1970: Double(minute) * 60) }
        public var errorRate: Double { requests == 0 ? 0 : Double(errors) / Double(requests) }
    }

    public init() {}

    static func baseLatency(_ size: SizeClass) -> Double {
        switch size { case .nano: 38; case .small: 85; case .large: 190 }
    }

    /// The range of a deployment's peak demand in requests per second.
    static func peakRange(_ size: SizeClass) -> ClosedRange<Double> {
        switch size { case .nano: 5...300; case .small: 5...160; case .large: 2...60 }
    }

    /// Requests per second one replica handles comfortably.
    static func replicaCapacity(_ size: SizeClass) -> Double {
        switch size { case .nano: 240; case .small: 90; case .large: 28 }
    }

    public func bucket(deploymentID: Int, seed: Int, sizeClass: SizeClass, runningReplicas: Int,
                       minute: Int, activeSinceMinute: Int) -> Bucket {
        guard runningReplicas > 0 else {
            return Bucket(minute: minute, requests: 0, errors: 0, p50: 0, p95: 0, p99: 0)
        }
        let key = seed &+ deploymentID &* 7919
        // Peak demand per deployment, fixed by its key: bigger models serve fewer, heavier requests.
        let peak = Self.peakRange(sizeClass).lowerBound
            + (Self.peakRange(sizeClass).upperBound - Self.peakRange(sizeClass).lowerBound) * pow(DeterministicNoise.uniform(key, 1), 1.6)
        let age = Double(max(minute - activeSinceMinute, 0))
        let ramp = max(0.05, min(1, age / 1440).squareRoot())
        let minuteOfDay = Double(((minute % 1440) + 1440) % 1440)
        let daily = 1 + 0.35 * sin(2 * Double.pi * (minuteOfDay / 1440 - 0.3))
        let jitter = 1 + 0.08 * DeterministicNoise.normal(key, minute, 2)
        let rps = max(0.1, peak * ramp * daily * jitter)
        let requests = Int((rps * 60).rounded())

        let utilisation = rps / (Double(runningReplicas) * Self.replicaCapacity(sizeClass))
        // Queueing: latency climbs as replicas fill up, and saturates rather than exploding.
        let congestion = 1 + 0.8 * pow(min(utilisation, 2), 2)
        let logNoise = exp(0.12 * DeterministicNoise.normal(key, minute, 3))
        let p50 = Self.baseLatency(sizeClass) * congestion * logNoise
        let p95 = p50 * (2 + 2 * DeterministicNoise.uniform(key, minute, 4))
        let p99 = p95 * (1.5 + 0.5 * DeterministicNoise.uniform(key, minute, 5))

        var rate = 0.003 * (1 + 0.3 * DeterministicNoise.normal(key, minute, 6))
        if DeterministicNoise.uniform(key, minute, 7) < 0.01 {
            rate = 0.02 + 0.03 * DeterministicNoise.uniform(key, minute, 8)   // a rare spike
        }
        if utilisation > 1.2 { rate += 0.01 * (utilisation - 1.2) }
        rate = min(max(rate, 0), 0.05)
        let errors = Int((Double(requests) * rate).rounded(.down))
        return Bucket(minute: minute, requests: requests, errors: errors,
                      p50: (p50 * 10).rounded() / 10, p95: (p95 * 10).rounded() / 10, p99: (p99 * 10).rounded() / 10)
    }
}
