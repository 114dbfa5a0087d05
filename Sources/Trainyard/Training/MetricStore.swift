import Foundation
import Storage

/// All SQL on `job_metrics` and `job_metric_summaries`: metrics of any key, from the simulator
/// or a tracking client, and the per-key summary kept beside them.
struct MetricStore {
    let database: Database

    struct NewPoint: Equatable {
        var key: String
        var step: Int
        /// NaN is stored as NULL (SQLite turns a NaN REAL into NULL anyway).
        var value: Double
        var recordedAt: Date
    }

    // MARK: Writes (inside the caller's transaction)

    /// Appends `points` for `jobID` and folds them into the key summaries. A point with the
    /// same key, step and time as a stored one replaces its value, so a client's retry of the
    /// same batch writes nothing twice.
    static func write(_ conn: DatabaseConnection, jobID: Int, _ points: [NewPoint]) throws {
        guard !points.isEmpty else { return }
        // One row per (key, step, time), the last one given winning: PostgreSQL refuses to
        // update the same row twice in one statement.
        var unique: [String: Int] = [:]
        var rows: [NewPoint] = []
        rows.reserveCapacity(points.count)
        for point in points {
            let identity = "\(point.key)\u{0}\(point.step)\u{0}\(SQLTimestamp.milliseconds(point.recordedAt))"
            if let index = unique[identity] { rows[index] = point } else {
                unique[identity] = rows.count
                rows.append(point)
            }
        }
        for start in stride(from: 0, to: rows.count, by: 200) {
            var p = SQLParameters()
            let tuples = rows[start..<min(start + 200, rows.count)].map { m in
                "(" + p.list([.int(Int64(jobID)), .text(m.key), .int(Int64(m.step)), .date(m.recordedAt), Self.stored(m.value)]) + ")"
            }
            try conn.execute("""
                INSERT INTO job_metrics (job_id, key, step, recorded_at, value) VALUES \(tuples.joined(separator: ", "))
                ON CONFLICT (job_id, key, step, recorded_at) DO UPDATE SET value = excluded.value
                """, p.values)
        }
        try summarise(conn, jobID: jobID, rows)
    }

    private static func stored(_ value: Double) -> SQLValue { value.isNaN ? .null : .double(value) }

    /// Merges the batch's latest, lowest and highest value per key into the summaries. MLflow's
    /// "latest" is the value at the highest step, then the latest time.
    private static func summarise(_ conn: DatabaseConnection, jobID: Int, _ rows: [NewPoint]) throws {
        struct Summary { var latest: NewPoint; var low: Double?; var high: Double? }
        var byKey: [String: Summary] = [:]
        for point in rows {
            var s = byKey[point.key] ?? Summary(latest: point, low: nil, high: nil)
            if (point.step, point.recordedAt) >= (s.latest.step, s.latest.recordedAt) { s.latest = point }
            if !point.value.isNaN {
                s.low = Swift.min(s.low ?? point.value, point.value)
                s.high = Swift.max(s.high ?? point.value, point.value)
            }
            byKey[point.key] = s
        }
        var p = SQLParameters()
        let tuples = byKey.keys.sorted().map { key in
            let s = byKey[key]!
            return "(" + p.list([.int(Int64(jobID)), .text(key), .int(Int64(s.latest.step)), .date(s.latest.recordedAt),
                                 stored(s.latest.value), SQLValue(s.low), SQLValue(s.high)]) + ")"
        }
        let t = "job_metric_summaries", d = conn.dialect
        let newer = "(excluded.latest_step > \(t).latest_step OR (excluded.latest_step = \(t).latest_step AND excluded.latest_at >= \(t).latest_at))"
        func merged(_ column: String, _ pick: (String, String) -> String) -> String {
            "CASE WHEN \(t).\(column) IS NULL THEN excluded.\(column) WHEN excluded.\(column) IS NULL THEN \(t).\(column) ELSE \(pick("\(t).\(column)", "excluded.\(column)")) END"
        }
        try conn.execute("""
            INSERT INTO job_metric_summaries (job_id, key, latest_step, latest_at, latest_value, min_value, max_value)
            VALUES \(tuples.joined(separator: ", "))
            ON CONFLICT (job_id, key) DO UPDATE SET
              latest_value = CASE WHEN \(newer) THEN excluded.latest_value ELSE \(t).latest_value END,
              latest_at = CASE WHEN \(newer) THEN excluded.latest_at ELSE \(t).latest_at END,
              latest_step = CASE WHEN \(newer) THEN excluded.latest_step ELSE \(t).latest_step END,
              min_value = \(merged("min_value", d.least)),
              max_value = \(merged("max_value", d.greatest))
            """, p.values)
    }

    // MARK: Reads

    /// Every key of a job with its latest, lowest and highest value, by key.
    func summaries(_ jobID: Int) throws -> [MetricSummary] {
        try database.query("""
            SELECT key, latest_step, latest_at, latest_value, min_value, max_value FROM job_metric_summaries WHERE job_id = $1 ORDER BY key
            """, [.int(Int64(jobID))]).map(Self.decodeSummary)
    }

    /// The summaries of many jobs (runs/search, the compare page), by job id.
    func summaries(ofJobs ids: [Int]) throws -> [Int: [MetricSummary]] {
        guard !ids.isEmpty else { return [:] }
        var p = SQLParameters()
        var out: [Int: [MetricSummary]] = [:]
        for row in try database.query("""
            SELECT job_id, key, latest_step, latest_at, latest_value, min_value, max_value FROM job_metric_summaries
            WHERE job_id IN (\(p.list(ids.map { .int(Int64($0)) }))) ORDER BY job_id, key
            """, p.values) {
            out[try row.int("job_id"), default: []].append(try Self.decodeSummary(row))
        }
        return out
    }

    private static func decodeSummary(_ row: Row) throws -> MetricSummary {
        MetricSummary(key: try row.string("key"), latestStep: try row.int("latest_step"), latestAt: try row.date("latest_at"),
                      latest: try row.optionalDouble("latest_value") ?? .nan,
                      min: try row.optionalDouble("min_value"), max: try row.optionalDouble("max_value"))
    }

    /// A key's values in step order (then time), `offset` rows in: MLflow's metric history.
    func history(_ jobID: Int, key: String, offset: Int = 0, limit: Int) throws -> [MetricPoint] {
        try database.query("""
            SELECT step, recorded_at, value FROM job_metrics WHERE job_id = $1 AND key = $2
            ORDER BY step, recorded_at LIMIT $3 OFFSET $4
            """, [.int(Int64(jobID)), .text(key), .int(Int64(limit)), .int(Int64(offset))]).map(Self.decodePoint)
    }

    /// A key's values after step `since` (the JSON API's polling).
    func points(_ jobID: Int, key: String, after since: Int, limit: Int) throws -> [MetricPoint] {
        try database.query("""
            SELECT step, recorded_at, value FROM job_metrics WHERE job_id = $1 AND key = $2 AND step > $3
            ORDER BY step, recorded_at LIMIT $4
            """, [.int(Int64(jobID)), .text(key), .int(Int64(since)), .int(Int64(limit))]).map(Self.decodePoint)
    }

    private static func decodePoint(_ row: Row) throws -> MetricPoint {
        MetricPoint(step: try row.int("step"), value: try row.optionalDouble("value") ?? .nan, recordedAt: try row.date("recorded_at"))
    }

    /// A key's extremes per bucket of `width` steps, for buckets starting after step `after`.
    /// Buckets whose values are all NaN are left out.
    func stepBuckets(_ jobID: Int, key: String, width: Int, after: Int) throws -> [MetricBucket] {
        try database.query("""
            SELECT step / $3 AS b, MIN(step) AS first_x, MAX(step) AS last_x, MIN(value) AS lo, MAX(value) AS hi
            FROM job_metrics WHERE job_id = $1 AND key = $2 AND step > $4 AND value IS NOT NULL
            GROUP BY step / $3 ORDER BY b
            """, [.int(Int64(jobID)), .text(key), .int(Int64(width)), .int(Int64(after))]).map(Self.decodeBucket)
    }

    /// A key's extremes per bucket of `width` milliseconds of wall time since `origin`.
    func timeBuckets(_ jobID: Int, key: String, origin: Date, widthMilliseconds width: Int64) throws -> [MetricBucket] {
        let ms = database.dialect.epochMilliseconds("recorded_at")
        let x = "(\(ms) - $3)"
        return try database.query("""
            SELECT \(x) / $4 AS b, MIN(\(x)) AS first_x, MAX(\(x)) AS last_x, MIN(value) AS lo, MAX(value) AS hi
            FROM job_metrics WHERE job_id = $1 AND key = $2 AND value IS NOT NULL
            GROUP BY \(x) / $4 ORDER BY b
            """, [.int(Int64(jobID)), .text(key), .int(SQLTimestamp.milliseconds(origin)), .int(width)]).map(Self.decodeBucket)
    }

    private static func decodeBucket(_ row: Row) throws -> MetricBucket {
        MetricBucket(firstX: try row.int("first_x"), lastX: try row.int("last_x"), low: try row.double("lo"), high: try row.double("hi"))
    }
}

/// A run of consecutive points reduced to its extremes (x is a step, or milliseconds).
struct MetricBucket: Equatable {
    var firstX: Int
    var lastX: Int
    var low: Double
    var high: Double
}
