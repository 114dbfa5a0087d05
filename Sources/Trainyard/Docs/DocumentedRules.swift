extension DocsLibrary {
    /// The limits the docs quote (`{{rule.replicas}}`), taken from the rules that enforce them.
    public static let documentedRules: [String: String] = [
        "rule.epochs": JobRules.epochs.rangeText,
        "rule.notes": Format.grouped(JobRules.notes.maxScalars),
        "rule.replicas": DeploymentRules.replicas.rangeText,
        "rule.cpu": DeploymentRules.cpu.rangeText,
        "rule.memory_mb": DeploymentRules.memoryMB.rangeText,
        "rule.gpu": DeploymentRules.gpu.rangeText,
        "rule.storage_gb": DeploymentRules.storageGB.rangeText,
        "rule.guardrail_minutes": GuardrailRules.minutes.rangeText,
        "rule.deployment_name": Format.grouped(DeploymentRules.name.maxScalars),
        "rule.model_name": Format.grouped(ModelRules.name.maxScalars),
        "rule.model_slug": String(ModelRules.slug.maxLength),
        "rule.model_parameters": ModelRules.parameters.rangeText,
        "rule.model_context": ModelRules.contextLength.rangeText,
        "rule.model_card": Format.grouped(ModelRules.card.maxScalars),
    ]
}
