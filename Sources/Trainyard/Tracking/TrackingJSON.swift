import Foundation
import HTTPServer
import Storage

/// The tracking API's response bodies, in the field names and shapes of MLflow's protocol:
/// ids as strings, times as integer milliseconds, empty lists left out.
enum TrackingJSON {
    static func response(_ value: JSONValue, status: Int = 200) -> HTTPResponse {
        JSON.response(value, status: status)
    }

    static let empty = response(.object([]))

    /// A value as it appears in an error message.
    static func text(_ value: JSONValue) -> String {
        (try? JSONEncoder().encode(value)).flatMap { String(data: $0, encoding: .utf8) } ?? "?"
    }

    static func ms(_ date: Date) -> JSONValue { .int(SQLTimestamp.milliseconds(date)) }

    static func pairs(_ items: [RunDataStore.KeyValue]) -> JSONValue {
        .array(items.map { .object([("key", .string($0.key)), ("value", .string($0.value))]) })
    }

    /// Drops fields whose value is an empty list, as MLflow's server does.
    static func object(_ fields: [(String, JSONValue?)]) -> JSONValue {
        .object(fields.compactMap { key, value in
            guard let value else { return nil }
            if case .array(let items) = value, items.isEmpty { return nil }
            return (key, value)
        })
    }

    static func experiment(_ e: Experiment, tags: [RunDataStore.KeyValue]) -> JSONValue {
        object([
            ("experiment_id", .string(String(e.id))), ("name", .string(e.name)), ("artifact_location", .string("")),
            ("lifecycle_stage", .string(e.lifecycleStage)), ("last_update_time", ms(e.updatedAt)), ("creation_time", ms(e.createdAt)),
            ("tags", pairs(tags)),
        ])
    }

    static func status(_ job: TrainingJob) -> String {
        switch job.status {
        case .queued: "SCHEDULED"
        case .running: "RUNNING"
        case .complete: "FINISHED"
        case .failed: job.failureReason == RunStore.killedReason ? "KILLED" : "FAILED"
        }
    }

    static func runInfo(_ run: TrackedRun) -> JSONValue {
        let job = run.job
        let id = job.run?.runID ?? ""
        let ended = job.status == .complete || job.status == .failed
        return object([
            ("run_uuid", .string(id)), ("experiment_id", .string(String(job.experiment?.id ?? 0))), ("run_name", .string(job.name)),
            ("user_id", .string(run.userID)), ("status", .string(status(job))), ("start_time", ms(job.startedAt ?? job.createdAt)),
            ("end_time", ended ? job.finishedAt.map(ms) : nil),
            ("artifact_uri", .string(artifactURI(run))), ("lifecycle_stage", .string("active")), ("run_id", .string(id)),
        ])
    }

    /// Where the client would put artifacts: the server's artifact proxy, so `log_artifact`
    /// reaches Trainyard and gets a clear NOT_IMPLEMENTED instead of writing to a local path.
    static func artifactURI(_ run: TrackedRun) -> String {
        "mlflow-artifacts:/\(run.job.experiment?.id ?? 0)/\(run.job.run?.runID ?? "")/artifacts"
    }

    static func metric(key: String, value: Double, at: Date, step: Int) -> JSONValue {
        .object([("key", .string(key)), ("value", .double(value)), ("timestamp", ms(at)), ("step", .int(Int64(step)))])
    }

    static func run(_ run: TrackedRun) -> JSONValue {
        .object([
            ("info", runInfo(run)),
            ("data", object([
                ("metrics", .array(run.metrics.map { metric(key: $0.key, value: $0.latest, at: $0.latestAt, step: $0.latestStep) })),
                ("params", pairs(run.params)), ("tags", pairs(run.tags)),
            ])),
            ("inputs", .object([])), ("outputs", .object([])),
        ])
    }

    /// MLflow's page tokens are opaque to clients; these are base64 of `{"offset": N}` too.
    static func pageToken(offset: Int) -> String {
        Data("{\"offset\": \(offset)}".utf8).base64EncodedString()
    }

    static func offset(fromPageToken token: String?) throws -> Int {
        guard let token, !token.isEmpty else { return 0 }
        guard let data = Data(base64Encoded: token), let parsed = JSONValue.parse(Array(data)),
              case .int(let offset)? = parsed["offset"], offset >= 0, offset <= Int64(Int32.max) else {
            throw TrackingError.invalid("Invalid page token, could not base64-decode")
        }
        return Int(offset)
    }
}

/// A reported run with everything `runs/get` returns.
struct TrackedRun {
    var job: TrainingJob
    var metrics: [MetricSummary]
    var params: [RunDataStore.KeyValue]
    var tags: [RunDataStore.KeyValue]

    /// MLflow's `user_id`: the `mlflow.user` tag the client sets.
    var userID: String { tags.first { $0.key == "mlflow.user" }?.value ?? "" }
}
