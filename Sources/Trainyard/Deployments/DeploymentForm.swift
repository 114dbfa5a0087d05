import HTTPServer

/// The deploy form (`POST /deployments`): which job, and optionally a name, replicas and
/// resources. Empty fields take the defaults for the model's size class, so the one-click Deploy
/// buttons (which send only `job_id`) work unchanged.
struct DeploymentForm {
    static let fields = ["job_id", "name", "replicas", "cpu", "memory_mb", "gpu", "storage_gb"]

    /// The values as typed, by field name (every field present, "" when not sent).
    let values: [String: String]

    init(_ form: QueryParameters) { values = form.values(of: Self.fields) }

    var jobID: String { values["job_id"]! }
    var name: String { values["name"]! }
    var replicas: String { values["replicas"]! }
    var cpu: String { values["cpu"]! }
    var memoryMB: String { values["memory_mb"]! }
    var gpu: String { values["gpu"]! }
    var storageGB: String { values["storage_gb"]! }

    /// The job id alone, checked first: without it there is nothing to size the defaults by.
    var parsedJobID: Int? { Self.positiveInt(jobID) }

    /// What the form shows before anything is typed: the defaults for `size`.
    static func defaults(for size: SizeClass) -> [String: String] {
        let d = DeploymentResources.defaults(for: size)
        return ["name": "", "replicas": String(d.replicas), "cpu": Format.compact(d.resources.cpu),
                "memory_mb": String(d.resources.memoryMB), "gpu": String(d.resources.gpu), "storage_gb": String(d.resources.storageGB)]
    }

    /// The choices, with defaults for `size` where a field was left empty, or a message per field.
    func validate(defaultsFor size: SizeClass) -> Result<DeploymentStore.Choices, FieldErrors> {
        validate(defaults: DeploymentResources.defaults(for: size))
    }

    /// The same, with `defaults` for the empty fields (a deployment's current configuration on
    /// its detail page's form).
    func validate(defaults: (replicas: Int, resources: DeploymentResources)) -> Result<DeploymentStore.Choices, FieldErrors> {
        var errors = FieldErrors()

        let trimmedName = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if !DeploymentRules.name.accepts(trimmedName) {
            errors["name"] = DeploymentRules.name.message
        } else if !trimmedName.unicodeScalars.allSatisfy({ Self.nameCharacters.contains($0) }) {
            errors["name"] = "Use letters, numbers, hyphens, underscores or dots in the deployment name."
        }

        func integer(_ text: String, _ rule: IntegerRule, default value: Int) -> Int {
            switch rule.parse(text) {
            case nil: return value
            case .success(let parsed): return parsed
            case .failure(let error):
                errors[rule.field] = error.message
                return value
            }
        }
        let replicaCount = integer(replicas, DeploymentRules.replicas, default: defaults.replicas)
        let memory = integer(memoryMB, DeploymentRules.memoryMB, default: defaults.resources.memoryMB)
        let gpus = integer(gpu, DeploymentRules.gpu, default: defaults.resources.gpu)
        let storage = integer(storageGB, DeploymentRules.storageGB, default: defaults.resources.storageGB)
        var cores = defaults.resources.cpu
        switch DeploymentRules.cpu.parse(cpu) {
        case nil: break
        case .success(let value): cores = value
        case .failure(let error): errors["cpu"] = error.message
        }

        guard errors.isEmpty else { return .failure(errors) }
        return .success(DeploymentStore.Choices(name: trimmedName.isEmpty ? nil : trimmedName, replicas: replicaCount,
                                                resources: DeploymentResources(cpu: cores, memoryMB: memory, gpu: gpus, storageGB: storage)))
    }

    /// A positive whole number, digits only (no signs, spaces, exponents).
    static func positiveInt(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 18, trimmed.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let value = Int(trimmed), value > 0 else { return nil }
        return value
    }

    /// A job name's characters without the space: deployment names end up in URLs and logs.
    static let nameCharacters: Set<Unicode.Scalar> = {
        var set = JobRules.nameCharacters
        set.remove(" ")
        return set
    }()
}
