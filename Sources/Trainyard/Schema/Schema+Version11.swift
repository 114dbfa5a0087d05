/// Version 11: drops the `(key, id)` indexes of the five figures the runner rewrites every
/// minute for every active deployment (`rps`, the three latencies, `error_rate`). Each stats
/// update wrote all ten indexes over those columns; the five led by `status` stay and order
/// the table by a figure one status at a time, merged when no status is chosen
/// (`DeploymentStore.laned`). Same names in both dialects.
enum SchemaVersion11 {
    static let droppedKeys = ["rps", "p50_ms", "p95_ms", "p99_ms", "error_rate"]

    static let sql = droppedKeys.map { "DROP INDEX deployments_\($0)_idx;\n" }.joined()
}
