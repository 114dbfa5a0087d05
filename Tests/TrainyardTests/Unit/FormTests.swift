import HTTPServer
import Testing
@testable import Trainyard

@Suite struct JobFormTests {
    func form(_ fields: [String: String]) -> JobForm {
        var all = JobForm.defaults
        all["name"] = "job-1"
        all["model"] = "lfm2"
        for (k, v) in fields { all[k] = v }
        return JobForm(QueryParameters(all.map { ($0.key, $0.value) }))
    }

    func errors(_ fields: [String: String]) -> [String: String] {
        switch form(fields).validate(modelExists: { $0 == "lfm2" }) {
        case .success: return [:]
        case .failure(let e): return e.byField
        }
    }

    @Test func theDefaultsAreValid() throws {
        guard case .success(let valid) = form([:]).validate(modelExists: { $0 == "lfm2" }) else {
            Issue.record("refused")
            return
        }
        #expect(valid.epochs == 3)
        #expect(valid.learningRate == 0.0003)
        #expect(valid.batchSize == 32)
    }

    @Test(arguments: [
        ("name", "", "Enter a name for the job."),
        ("name", "   ", "Enter a name for the job."),
        ("name", String(repeating: "a", count: 101), JobRules.name.message),
        ("name", "semi;colon", "Use letters, numbers, spaces, hyphens, underscores or dots."),
        ("model", "", "Choose a model to train."),
        ("model", "nope", "Choose a model from the catalogue."),
        ("epochs", "0", JobRules.epochs.message),
        ("epochs", "101", JobRules.epochs.message),
        ("epochs", "2.5", JobRules.epochs.message),
        ("epochs", "", JobRules.epochs.message),
        ("learning_rate", "0", JobRules.learningRate.message),
        ("learning_rate", "1.5", JobRules.learningRate.message),
        ("learning_rate", "nan", JobRules.learningRate.message),
        ("learning_rate", "inf", JobRules.learningRate.message),
        ("learning_rate", "-3e-4", JobRules.learningRate.message),
        ("batch_size", "33", "Choose a batch size from the list."),
        ("batch_size", "", "Choose a batch size from the list."),
    ])
    func eachFieldHasItsMessage(field: String, value: String, message: String) {
        #expect(errors([field: value]) == [field: message], "\(field)=\(value)")
    }

    @Test func notesCountScalarsSoCombiningMarksCannotHideLength() {
        // One grapheme cluster, 5,001 scalars: refused.
        #expect(errors(["notes": "a" + String(repeating: "\u{0301}", count: 5_000)]) == ["notes": JobRules.notes.message])
        #expect(errors(["notes": String(repeating: "é", count: 5_000)]).isEmpty)
    }

    @Test func exponentLearningRatesAreAccepted() {
        #expect(errors(["learning_rate": "3e-4"]).isEmpty)
        #expect(errors(["learning_rate": "1"]).isEmpty)
    }
}

@Suite struct DeploymentFormTests {
    func validate(_ fields: [(String, String)], size: SizeClass = .small) -> Result<DeploymentStore.Choices, FieldErrors> {
        DeploymentForm(QueryParameters([("job_id", "7")] + fields)).validate(defaultsFor: size)
    }

    @Test func emptyFieldsTakeTheModelsDefaults() throws {
        guard case .success(let choices) = validate([]) else { Issue.record("refused"); return }
        let defaults = DeploymentResources.defaults(for: .small)
        #expect(choices.replicas == defaults.replicas)
        #expect(choices.resources == defaults.resources)
        #expect(choices.name == nil)
    }

    @Test(arguments: [
        ("replicas", "0"), ("replicas", "101"), ("replicas", "1e2"), ("replicas", "-1"), ("replicas", String(repeating: "9", count: 30)),
        ("cpu", "0.25"), ("cpu", "33"), ("cpu", "nan"), ("cpu", "inf"),
        ("memory_mb", "511"), ("memory_mb", "65537"), ("gpu", "9"), ("gpu", "-1"), ("storage_gb", "0"), ("storage_gb", "1001"),
        ("name", "has space"), ("name", String(repeating: "n", count: 101)),
    ])
    func outOfRangeValuesAreRefusedWithTheRulesMessage(field: String, value: String) {
        guard case .failure(let errors) = validate([(field, value)]) else { Issue.record("\(field)=\(value) accepted"); return }
        #expect(errors.byField.keys.sorted() == [field])
        let rules: [String: String] = [
            "replicas": DeploymentRules.replicas.message, "cpu": DeploymentRules.cpu.message, "memory_mb": DeploymentRules.memoryMB.message,
            "gpu": DeploymentRules.gpu.message, "storage_gb": DeploymentRules.storageGB.message,
        ]
        if let message = rules[field] { #expect(errors[field] == message) }
    }

    @Test func jobIDsAreDigitsOnly() {
        for bad in ["", "0", "-1", "1e3", " 7x", "99999999999999999999"] {
            #expect(DeploymentForm(QueryParameters([("job_id", bad)])).parsedJobID == nil, "\(bad)")
        }
        #expect(DeploymentForm(QueryParameters([("job_id", " 42 ")])).parsedJobID == 42)
    }

    @Test func theStoreRefusesWhatTheFormWouldAsATypedError() {
        #expect(throws: InvalidInput(field: "replicas", message: DeploymentRules.replicas.message)) {
            try DeploymentRules.replicas.check(0)
        }
        #expect(throws: InvalidInput(field: "cpu", message: DeploymentRules.cpu.message)) {
            try DeploymentRules.check(replicas: 1, DeploymentResources(cpu: 64, memoryMB: 1024, gpu: 0, storageGB: 1))
        }
    }
}
