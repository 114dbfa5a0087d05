import HTTPServer

/// The deploy form (`POST /deployments`): which job, and optionally a name, replicas and
/// resources. Empty fields take the defaults for the model's size class, so the one-click Deploy
/// buttons (which send only `job_id`) work unchanged.
struct DeploymentForm {
    static let fields = ["job_id", "name", "replicas", "cpu", "memory_mb", "gpu", "storage_gb"]

    var jobID = ""
    var name = ""
    var replicas = ""
    var cpu = ""
    var memoryMB = ""
    var gpu = ""
    var storageGB = ""

    init() {}

    init(_ form: QueryParameters) {
        jobID = form["job_id"] ?? ""
        name = form["name"] ?? ""
        replicas = form["replicas"] ?? ""
        cpu = form["cpu"] ?? ""
        memoryMB = form["memory_mb"] ?? ""
        gpu = form["gpu"] ?? ""
        storageGB = form["storage_gb"] ?? ""
    }

    var values: [String: String] {
        ["job_id": jobID, "name": name, "replicas": replicas, "cpu": cpu, "memory_mb": memoryMB, "gpu": gpu, "storage_gb": storageGB]
    }

    /// The job id alone, checked first: without it there is nothing to size the defaults by.
    var parsedJobID: Int? { Self.positiveInt(jobID) }

    struct Choices: Equatable {
        /// nil: use the default name, `{model-slug}-{version}`, known only once the version is.
        var name: String?
        var replicas: Int
        var resources: DeploymentResources
    }

    /// The choices, with defaults for `size` where a field was left empty, or a message per field.
    func validate(defaultsFor size: SizeClass) -> Result<Choices, FieldErrors> {
        let defaults = DeploymentResources.defaults(for: size)
        var errors: [String: String] = [:]

        let trimmedName = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmedName.count > 100 {
            errors["name"] = "Keep the deployment name to 100 characters or fewer."
        } else if !trimmedName.unicodeScalars.allSatisfy({ Self.nameCharacters.contains($0) }) {
            errors["name"] = "Use letters, numbers, hyphens, underscores or dots in the deployment name."
        }

        func integer(_ text: String, _ range: ClosedRange<Int>, default value: Int, field: String, message: String) -> Int {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { return value }
            guard trimmed.count <= 12, let parsed = Int(trimmed), range.contains(parsed) else {
                errors[field] = message
                return value
            }
            return parsed
        }
        let replicaCount = integer(replicas, DeploymentResources.replicaRange, default: defaults.replicas, field: "replicas",
                                   message: "Replicas must be a whole number from 1 to 100.")
        let memory = integer(memoryMB, DeploymentResources.memoryRange, default: defaults.resources.memoryMB, field: "memory_mb",
                             message: "Memory must be a whole number of MB from 512 to 65536.")
        let gpus = integer(gpu, DeploymentResources.gpuRange, default: defaults.resources.gpu, field: "gpu",
                           message: "GPUs must be a whole number from 0 to 8.")
        let storage = integer(storageGB, DeploymentResources.storageRange, default: defaults.resources.storageGB, field: "storage_gb",
                              message: "Storage must be a whole number of GB from 1 to 1000.")

        var cores = defaults.resources.cpu
        let cpuText = cpu.trimmingCharacters(in: .whitespaces)
        if !cpuText.isEmpty {
            if cpuText.count <= 12, let value = Double(cpuText), value.isFinite, DeploymentResources.cpuRange.contains(value) {
                cores = value
            } else {
                errors["cpu"] = "CPU must be a number of cores from 0.5 to 32."
            }
        }

        guard errors.isEmpty else { return .failure(FieldErrors(errors)) }
        return .success(Choices(name: trimmedName.isEmpty ? nil : trimmedName, replicas: replicaCount,
                                resources: DeploymentResources(cpu: cores, memoryMB: memory, gpu: gpus, storageGB: storage)))
    }

    /// A positive whole number, digits only (no signs, spaces, exponents).
    static func positiveInt(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 18, trimmed.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let value = Int(trimmed), value > 0 else { return nil }
        return value
    }

    static let nameCharacters: Set<Unicode.Scalar> = {
        var set = JobForm.nameCharacters
        set.remove(" ")
        return set
    }()
}
