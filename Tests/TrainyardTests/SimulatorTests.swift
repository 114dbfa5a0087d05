import Testing
@testable import Trainyard

@Suite struct TrainingSimulatorTests {
    func simulator(_ size: SizeClass = .small, lr: Double = 3e-4, epochs: Int = 3, seed: Int = 42) -> TrainingSimulator {
        TrainingSimulator(.init(sizeClass: size, learningRate: lr, epochs: epochs, seed: seed))
    }

    @Test func sameInputsGiveSameNumbers() {
        let a = simulator(), b = simulator()
        for step in [1, 50, 150, 300] { #expect(a.point(at: step) == b.point(at: step)) }
        #expect(simulator(seed: 1).point(at: 10) != simulator(seed: 2).point(at: 10))
    }

    @Test(arguments: SizeClass.allCases)
    func lossFallsFastThenPlateausAndAccuracyRises(_ size: SizeClass) {
        let sim = simulator(size)
        let total = sim.parameters.totalSteps
        func meanLoss(_ range: ClosedRange<Int>) -> Double { range.map { sim.point(at: $0).loss }.reduce(0, +) / Double(range.count) }
        let early = meanLoss(1...10), middle = meanLoss(140...160), late = meanLoss((total - 20)...total)
        #expect(early > middle && middle > late)
        // Most of the drop happens in the first half.
        #expect(early - middle > (middle - late) * 2)
        #expect(sim.point(at: total).accuracy > sim.point(at: 5).accuracy + 0.3)
        for step in 1...total {
            let p = sim.point(at: step)
            #expect(p.loss > 0 && p.loss < 4)
            #expect(p.accuracy >= 0 && p.accuracy <= 1)
            #expect(!p.diverged)
        }
    }

    @Test func epochsAreCountedFromSteps() {
        let sim = simulator(epochs: 3)
        #expect(sim.point(at: 1).epoch == 1)
        #expect(sim.point(at: 100).epoch == 1)
        #expect(sim.point(at: 101).epoch == 2)
        #expect(sim.point(at: 300).epoch == 3)
    }

    @Test func largerModelsReachLowerLoss() {
        #expect(simulator(.large).point(at: 300).loss < simulator(.nano).point(at: 300).loss)
    }

    @Test func tinyLearningRatesLearnSlowly() {
        #expect(simulator(lr: 1e-6).point(at: 300).loss > simulator(lr: 3e-4).point(at: 300).loss + 0.3)
    }

    @Test func farTooHighLearningRateDiverges() {
        let sim = simulator(.small, lr: 0.5)
        let diverged = (1...300).first { sim.point(at: $0).diverged }
        #expect(diverged != nil)
        if let step = diverged { #expect(sim.point(at: step).loss > sim.point(at: 1).loss * 3) }
    }
}

@Suite struct InferenceSimulatorTests {
    let sim = InferenceSimulator()

    @Test(arguments: SizeClass.allCases)
    func percentilesKeepTheirRatios(_ size: SizeClass) {
        for minute in 1_000_000..<1_000_300 {
            let b = sim.bucket(deploymentID: 3, seed: 9, sizeClass: size, runningReplicas: 4, minute: minute, activeSinceMinute: 999_000)
            #expect(b.p95 >= b.p50 * 1.99 && b.p95 <= b.p50 * 4.01)
            #expect(b.p99 >= b.p95 * 1.49 && b.p99 <= b.p95 * 2.01)
            #expect(b.errorRate <= 0.05)
            #expect(b.requests > 0)
        }
    }

    @Test func isAPureFunction() {
        let a = sim.bucket(deploymentID: 1, seed: 2, sizeClass: .small, runningReplicas: 2, minute: 5000, activeSinceMinute: 100)
        let b = sim.bucket(deploymentID: 1, seed: 2, sizeClass: .small, runningReplicas: 2, minute: 5000, activeSinceMinute: 100)
        #expect(a == b)
    }

    @Test func sizeClassSetsBaseLatency() {
        func medianP50(_ size: SizeClass) -> Double {
            let values = (0..<200).map { sim.bucket(deploymentID: 1, seed: 1, sizeClass: size, runningReplicas: 50, minute: 10_000 + $0, activeSinceMinute: 0).p50 }.sorted()
            return values[100]
        }
        #expect(medianP50(.nano) < medianP50(.small))
        #expect(medianP50(.small) < medianP50(.large))
    }

    @Test func trafficRampsOverTheFirstDay() {
        func requests(_ age: Int) -> Int {
            (0..<60).map { sim.bucket(deploymentID: 5, seed: 1, sizeClass: .nano, runningReplicas: 10, minute: 100_000 + age + $0 * 1440, activeSinceMinute: 100_000 + $0 * 1440).requests }.reduce(0, +)
        }
        #expect(requests(10) < requests(720))
        #expect(requests(720) < requests(1440) + 1)
    }

    @Test func moreReplicasLowerLatencyUnderLoad() {
        func meanP50(_ replicas: Int) -> Double {
            (0..<120).map { sim.bucket(deploymentID: 8, seed: 4, sizeClass: .large, runningReplicas: replicas, minute: 200_000 + $0, activeSinceMinute: 0).p50 }.reduce(0, +) / 120
        }
        #expect(meanP50(1) > meanP50(3))
        #expect(meanP50(3) >= meanP50(10))
    }

    @Test func errorsStayNearBaselineWithRareSpikes() {
        let buckets = (0..<5000).map { sim.bucket(deploymentID: 2, seed: 3, sizeClass: .nano, runningReplicas: 20, minute: 300_000 + $0, activeSinceMinute: 0) }
        let rates = buckets.map(\.errorRate).sorted()
        let median = rates[rates.count / 2]
        #expect(median > 0.001 && median < 0.006)
        let spikes = rates.filter { $0 > 0.015 }.count
        #expect(spikes > 0 && spikes < 150)
    }

    @Test func noRunningReplicasMeansNoTraffic() {
        let b = sim.bucket(deploymentID: 1, seed: 1, sizeClass: .small, runningReplicas: 0, minute: 10, activeSinceMinute: 0)
        #expect(b.requests == 0)
    }
}
