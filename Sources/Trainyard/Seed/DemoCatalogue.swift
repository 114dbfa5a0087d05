/// The demo model catalogue: a believable spread of sizes, each with a Markdown card.
enum DemoCatalogue {
    struct Model {
        var slug: String
        var name: String
        var parameters: Int64
        var contextLength: Int
        var card: String
    }

    static let models: [Model] = [
        Model(slug: "lfm2-350m", name: "LFM2 350M", parameters: 354_000_000, contextLength: 32_768, card: """
            # LFM2 350M

            A compact hybrid model for on-device assistants and classification heads.

            | Property | Value |
            | --- | --- |
            | Parameters | 354 M |
            | Context | 32k tokens |
            | Good for | intent detection, short summaries, edge devices |

            **Fine-tuning tips**

            - Learning rates between `1e-4` and `5e-4` converge in two or three epochs.
            - Batch size 32 fits a single 16 GB GPU.
            - ~~Full precision~~ bfloat16 is enough.
            """),
        Model(slug: "qwen2-5-0-5b", name: "Qwen2.5 0.5B", parameters: 494_000_000, contextLength: 32_768, card: """
            # Qwen2.5 0.5B

            A small multilingual base model, a solid starting point for chat and extraction tasks.

            - [x] Multilingual tokenizer
            - [x] Tool-call formatting
            - [ ] Long-context fine-tuning (use a larger model)
            """),
        Model(slug: "lfm2-1-2b", name: "LFM2 1.2B", parameters: 1_170_000_000, contextLength: 32_768, card: """
            # LFM2 1.2B

            The balanced member of the family: strong instruction following at small-model cost.

            Typical P50 latency when served: **80–120 ms** per request on one replica.
            """),
        Model(slug: "phi-3-mini", name: "Phi-3 Mini 3.8B", parameters: 3_820_000_000, contextLength: 4_096, card: """
            # Phi-3 Mini 3.8B

            Reasoning-heavy small model. Sensitive to the learning rate: stay at or below `2e-4`.

            > Learning rates above `0.02` make this model diverge within the first epoch.
            """),
        Model(slug: "mistral-7b", name: "Mistral 7B", parameters: 7_240_000_000, contextLength: 32_768, card: """
            # Mistral 7B

            A large general-purpose model. Plan for 2–4 replicas per 100 req/s of traffic.

            | Resource | Recommended |
            | --- | --- |
            | CPU | 8 cores |
            | Memory | 32768 MB |
            | GPU | 1 |
            """),
        Model(slug: "llama-3-1-8b", name: "Llama 3.1 8B", parameters: 8_030_000_000, contextLength: 131_072, card: """
            # Llama 3.1 8B

            Large model with a long context window; the most capable model in this catalogue.

            See [the deployment guide](/docs/concepts) for how replicas affect latency.
            """),
    ]
}
