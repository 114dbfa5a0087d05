import Foundation
import HTTPServer
import Storage

/// The `/metrics` page in the Prometheus text format (version 0.0.4): the app's counters, the
/// HTTP server's connections and workers, the database pool and the background tasks.
public struct MetricsExposition {
    public var app: AppMetrics
    public var server: (() -> HTTPServerStats)?
    public var database: Database?
    public var background: BackgroundWork?

    public init(app: AppMetrics, server: (() -> HTTPServerStats)? = nil, database: Database? = nil, background: BackgroundWork? = nil) {
        self.app = app
        self.server = server
        self.database = database
        self.background = background
    }

    public func render(now: Date = Date()) -> String {
        var out = ExpositionWriter()
        let snapshot = app.snapshot()

        out.family("trainyard_http_requests_total", "counter", "Requests answered, by method, route pattern and status.")
        for (key, figures) in snapshot.routes {
            for (status, count) in figures.statuses.sorted(by: { $0.key < $1.key }) {
                out.sample("trainyard_http_requests_total", [("method", key.method), ("route", key.route), ("status", String(status))], count)
            }
        }
        out.family("trainyard_http_request_duration_seconds", "histogram", "Time spent answering a request, by method and route pattern.")
        for (key, figures) in snapshot.routes {
            let labels = [("method", key.method), ("route", key.route)]
            var cumulative = 0
            for (index, bound) in AppMetrics.latencyBuckets.enumerated() {
                cumulative += figures.buckets[index]
                out.sample("trainyard_http_request_duration_seconds_bucket", labels + [("le", ExpositionWriter.number(bound))], cumulative)
            }
            out.sample("trainyard_http_request_duration_seconds_bucket", labels + [("le", "+Inf")], figures.count)
            out.sample("trainyard_http_request_duration_seconds_sum", labels, figures.sum)
            out.sample("trainyard_http_request_duration_seconds_count", labels, figures.count)
        }

        if let stats = server?() {
            out.family("trainyard_http_connections", "gauge", "Open connections by state: idle between requests, reading a request, writing a response, with a worker.")
            let withWorker = max(0, stats.openConnections - stats.idleConnections - stats.readingConnections - stats.writingConnections)
            for (state, value) in [("idle", stats.idleConnections), ("reading", stats.readingConnections), ("writing", stats.writingConnections),
                                   ("processing", withWorker)] {
                out.sample("trainyard_http_connections", [("state", state)], value)
            }
            out.gauge("trainyard_http_connection_limit", "Open connections allowed (lowered to fit the open-file limit).", stats.connectionLimit)
            out.counter("trainyard_http_connections_accepted_total", "Connections accepted.", stats.acceptedConnections)
            out.family("trainyard_http_connections_rejected_total", "counter", "Connections answered 503 at accept, by reason.")
            out.sample("trainyard_http_connections_rejected_total", [("reason", "server_limit")], stats.rejectedConnections)
            out.sample("trainyard_http_connections_rejected_total", [("reason", "client_cap")], stats.rejectedPerClient)
            out.gauge("trainyard_http_queued_requests", "Requests waiting for a worker.", stats.queuedRequests)
            out.gauge("trainyard_http_busy_workers", "Worker threads running a request.", stats.busyWorkers)
            out.gauge("trainyard_http_handlers_waiting", "Worker threads waiting for a running slot.", stats.waitingForSlot)
            out.gauge("trainyard_http_worker_threads", "Worker threads.", stats.workerThreads)
            out.family("trainyard_http_requests_refused_total", "counter", "Requests not run: 503 for a full queue or a wait past the deadline, dropped when the client had gone.")
            out.sample("trainyard_http_requests_refused_total", [("reason", "queue_full")], stats.rejectedQueueFull)
            out.sample("trainyard_http_requests_refused_total", [("reason", "queue_wait")], stats.rejectedQueueWait)
            out.sample("trainyard_http_requests_refused_total", [("reason", "client_gone")], stats.droppedGoneClients)
        }

        if let pool = database?.poolStats {
            out.gauge("trainyard_db_pool_connections", "Database connections the pool may open.", pool.size)
            out.gauge("trainyard_db_pool_open_connections", "Database connections open.", pool.open)
            out.gauge("trainyard_db_pool_idle_connections", "Open database connections not in use.", pool.idle)
            out.counter("trainyard_db_pool_acquisitions_total", "Connections handed out.", pool.acquisitions)
            out.counter("trainyard_db_pool_waits_total", "Times a caller waited for a free connection.", pool.waits)
            out.counter("trainyard_db_pool_wait_seconds_total", "Seconds spent waiting for a free connection.", pool.waitSeconds)
            out.counter("trainyard_db_pool_timeouts_total", "Waits that gave up (answered 503).", pool.timeouts)
        }
        out.family("trainyard_db_errors_total", "counter", "Database errors requests met, by kind.")
        for kind in ["timeout", "unavailable", "other"] {
            out.sample("trainyard_db_errors_total", [("kind", kind)], snapshot.databaseErrors[kind] ?? 0)
        }

        if let tasks = background?.stats() {
            out.family("trainyard_background_ticks_total", "counter", "Runs of each background task.")
            for task in tasks { out.sample("trainyard_background_ticks_total", [("task", task.name)], task.ticks) }
            out.family("trainyard_background_failures_total", "counter", "Runs of each background task that failed.")
            for task in tasks { out.sample("trainyard_background_failures_total", [("task", task.name)], task.failures) }
            out.family("trainyard_background_busy_seconds_total", "counter", "Seconds each background task spent working.")
            for task in tasks { out.sample("trainyard_background_busy_seconds_total", [("task", task.name)], task.busySeconds) }
            out.family("trainyard_background_lag_seconds", "gauge",
                       "How far each task is behind its schedule: time since its last run finished beyond its interval (simulated work waits this long).")
            for task in tasks {
                let since = task.lastFinished.map { now.timeIntervalSince($0) } ?? 0
                out.sample("trainyard_background_lag_seconds", [("task", task.name)], max(0, since - task.interval))
            }
        }
        out.family("trainyard_scrapes_total", "counter", "Scrapes of model servers' metrics, by result.")
        out.sample("trainyard_scrapes_total", [("result", "ok")], snapshot.scrapes["ok"] ?? 0)
        out.sample("trainyard_scrapes_total", [("result", "failed")], snapshot.scrapes["failed"] ?? 0)
        return out.text
    }
}

/// Writes the text format: `# HELP`/`# TYPE` lines, then samples with escaped label values.
struct ExpositionWriter {
    private(set) var text = ""

    mutating func family(_ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    mutating func gauge(_ name: String, _ help: String, _ value: Int) {
        family(name, "gauge", help)
        sample(name, [], value)
    }

    mutating func counter(_ name: String, _ help: String, _ value: Int) {
        family(name, "counter", help)
        sample(name, [], value)
    }

    mutating func counter(_ name: String, _ help: String, _ value: Double) {
        family(name, "counter", help)
        sample(name, [], value)
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Int) {
        line(name, labels, String(value))
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        line(name, labels, Self.number(value))
    }

    private mutating func line(_ name: String, _ labels: [(String, String)], _ value: String) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + value + "\n"
    }

    /// Label values escape backslash, double quote and line feed; nothing else needs it.
    static func escape(_ value: String) -> String {
        var out = ""
        for character in value.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return String(value)
    }
}
