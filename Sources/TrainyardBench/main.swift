// Benchmarks that print the figures DESIGN.md budgets. Run in release:
//   swift run -c release TrainyardBench templates [iterations]
//   swift run -c release TrainyardBench templates --print   (shows the page instead)
// Each benchmark is one entry in `benchmarks`; add more there.
import Foundation
import TemplateEngine

struct Benchmark {
    let summary: String
    let run: (_ arguments: ArraySlice<String>) throws -> Void
}

let benchmarks: [(name: String, benchmark: Benchmark)] = [
    ("templates", Benchmark(summary: "render the 25- and 50-row deployments page (layout + partials) from bench/templates", run: templateBenchmark)),
    ("exposition", Benchmark(summary: "parse metrics pages as the scraper does (bench/scrape.sh makes them and compares)", run: expositionBenchmark)),
    ("table", Benchmark(summary: "the deployments table [rows] [path] through the app: server time and heap allocations per request (run from the repository root)", run: tableBenchmark)),
    ("monitor", Benchmark(summary: "the training monitor page of a 100,000-step job through the app (run from the repository root)", run: monitorBenchmark)),
]

/// Times `body` `iterations` times after a warm-up and returns per-call nanoseconds, sorted.
func measure(warmUp: Int, iterations: Int, _ body: () throws -> Void) rethrows -> [Double] {
    for _ in 0..<warmUp { try body() }
    let clock = ContinuousClock()
    var samples: [Double] = []
    samples.reserveCapacity(iterations)
    for _ in 0..<iterations {
        let elapsed = try clock.measure(body)
        let (seconds, attoseconds) = elapsed.components
        samples.append(Double(seconds) * 1e9 + Double(attoseconds) / 1e9)
    }
    return samples.sorted()
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

func report(_ label: String, _ samples: [Double]) {
    let line = String(
        format: "%@: median %.1f µs, p99 %.1f µs, min %.1f µs (%d runs)",
        label, percentile(samples, 0.5) / 1000, percentile(samples, 0.99) / 1000, samples[0] / 1000, samples.count)
    print(line)
}

// MARK: templates

let rowKeys = TemplateKeys(["href", "name", "model", "version", "status", "statusLabel", "rps", "p50", "p95", "p99", "errors",
                            "createdISO", "created"])

/// The view model of the deployments page, shaped as the app builds it.
func deploymentsPage(rows count: Int) -> TemplateValue {
    let statuses = ["active", "paused", "deploying", "failed"]
    let models = ["lfm-7b-instruct", "nano-chat <beta>", "small-coder", "vision & text 3B"]
    var rows: [TemplateValue] = []
    rows.reserveCapacity(count)
    // Rows are records, one shape for all, as the app's table rows are.
    for i in 0..<count {
        let status = statuses[i % statuses.count]
        rows.append(.record(rowKeys, [
            .string("/deployments/\(1000 + i)"),
            .string("deploy-\(1000 + i)"),
            .string(models[i % models.count]),
            .string("v1.\(i % 7).0"),
            .string(status),
            .string(status.prefix(1).uppercased() + status.dropFirst()),
            .double(Double(i * 37 % 900) / 10),
            .int(20 + i % 30),
            .int(60 + i % 90),
            .int(120 + i % 150),
            .string(String(format: "%.2f%%", Double(i % 9) / 10)),
            .string("2025-11-\(10 + i % 18)T12:00:00Z"),
            .string("Nov \(10 + i % 18), 12:00"),
        ]))
    }
    let nav: [TemplateValue] = ["Dashboard", "Models", "Training", "Deployments", "Docs"].map { label in
        ["href": .string("/" + (label == "Dashboard" ? "" : label.lowercased())), "label": .string(label), "current": .bool(label == "Deployments")]
    }
    let columns: [TemplateValue] = ["Name", "Model", "Version", "Status", "RPS", "P50", "P95", "P99", "Errors", "Created"].map { label in
        ["label": .string(label), "href": .string("/deployments?status=active&sort=\(label.lowercased())&dir=desc"),
         "sorted": .bool(label == "P95"), "direction": "descending"]
    }
    return [
        "version": "0.1.0",
        "nav": .list(nav),
        "flash": ["kind": "success", "message": "Deployment \"deploy-1003\" paused."],
        "filter": [
            "q": "lfm",
            "sort": "p95",
            "dir": "desc",
            "statuses": .list(statuses.enumerated().map { index, status in
                ["value": .string(status), "label": .string(status.capitalized), "checked": .bool(index == 0), "count": .int(1000 * (index + 1))]
            }),
        ],
        "columns": .list(columns),
        "rows": .list(rows),
        "pager": ["page": 2, "previous": "/deployments?page=1", "next": "/deployments?page=3"],
    ]
}

func templateBenchmark(_ arguments: ArraySlice<String>) throws {
    let iterations = arguments.first.flatMap(Int.init) ?? 20_000
    let printPage = arguments.contains("--print")
    let directory = ProcessInfo.processInfo.environment["TEMPLATES"] ?? "bench/templates"
    let library = try TemplateLibrary(directory: directory)
    let context = deploymentsPage(rows: 50)
    let page = try library.render("deployments/index", context)
    if printPage {
        print(page)
        return
    }
    print("templates: \(library.names.count) loaded from \(directory); page \(page.utf8.count) bytes, 50 rows")

    // As the server renders: into the bytes that become the response body.
    for rows in [25, 50] {
        let context = deploymentsPage(rows: rows)
        let render = try measure(warmUp: 2_000, iterations: iterations) {
            _ = try library.renderBytes("deployments/index", context)
        }
        report("render, \(rows) rows", render)
    }
    let buildAndRender = try measure(warmUp: 500, iterations: max(1, iterations / 4)) {
        _ = try library.renderBytes("deployments/index", deploymentsPage(rows: 50))
    }
    report("build view model + render, 50 rows", buildAndRender)
}

// MARK: entry point

let arguments = CommandLine.arguments.dropFirst()
guard let name = arguments.first, let entry = benchmarks.first(where: { $0.name == name }) else {
    print("usage: TrainyardBench <benchmark> [arguments]\n")
    for (name, benchmark) in benchmarks { print("  \(name)\t\(benchmark.summary)") }
    exit(arguments.isEmpty ? 0 : 64)
}
do {
    try entry.benchmark.run(arguments.dropFirst())
} catch {
    print("\(name): \(error)")
    exit(1)
}
