// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Trainyard",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "trainyard", targets: ["TrainyardCLI"]),
        .library(name: "HTTPServer", targets: ["HTTPServer"]),
        .library(name: "Storage", targets: ["Storage"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // System-library shims: module maps only.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CCmarkGFM", providers: [.apt(["libcmark-gfm-dev", "libcmark-gfm-extensions-dev"])]),
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        // Password hashing (argon2id), the reference implementation from Debian.
        .systemLibrary(name: "CArgon2", providers: [.apt(["libargon2-dev"])]),
        // epoll/eventfd/accept4 wrappers: glibc has them, Swift's Glibc module does not export them.
        .systemLibrary(name: "CEpoll"),
        // gzip for responses (zlib from Debian).
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // The HTTP client that scrapes model servers' metrics pages.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),

        // NIO-free HTTP/1.1 server. Knows nothing of Trainyard or SQL.
        .target(name: "HTTPServer", dependencies: ["RunSlots", "CEpoll", "CZlib", .product(name: "Logging", package: "swift-log")]),
        // Mustache templates compiled once into nodes, rendered against a typed value tree.
        .target(name: "TemplateEngine"),
        // At most so many request handlers on the cores at once; waits step aside.
        .target(name: "RunSlots"),
        // Database protocol, rows, values and the migrator.
        .target(name: "Storage", dependencies: ["RunSlots"]),
        .target(name: "StorageSQLite", dependencies: ["Storage", "RunSlots", "CSQLite"]),
        .target(name: "StoragePostgres", dependencies: ["Storage", "RunSlots", "CLibPQ"]),
        // The Prometheus text exposition format: a bounded parser, increases, histogram quantiles.
        .target(name: "PrometheusText"),
        // Fetches a metrics page once, only from allowlisted addresses (checked on every connect).
        .target(name: "ScrapeClient", dependencies: ["CCurl"]),

        // The application as a library.
        .target(
            name: "Trainyard",
            dependencies: [
                "HTTPServer", "TemplateEngine", "Storage", "CCmarkGFM", "CArgon2", "PrometheusText", "ScrapeClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The executable `trainyard`: the only place that picks a database driver.
        .executableTarget(
            name: "TrainyardCLI",
            dependencies: [
                "Trainyard", "Storage", "StorageSQLite", "StoragePostgres", "HTTPServer", "ScrapeClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Counts heap allocations for the bench (it replaces malloc and friends process-wide).
        .target(name: "CAllocCount", path: "Sources/CAllocCount"),
        .executableTarget(name: "TrainyardBench", dependencies: [
            "TemplateEngine", "Trainyard", "HTTPServer", "Storage", "StorageSQLite", "PrometheusText", "CAllocCount",
            .product(name: "Logging", package: "swift-log"),
        ], path: "Sources/TrainyardBench"),

        // Shared by test targets: temporary SQLite files and throwaway PostgreSQL schemas.
        .target(name: "TrainyardTestSupport", dependencies: ["Storage", "StorageSQLite", "StoragePostgres"]),

        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "RunSlots"]),
        .testTarget(name: "PrometheusTextTests", dependencies: ["PrometheusText"]),
        .testTarget(name: "ScrapeClientTests", dependencies: ["ScrapeClient"]),
        .testTarget(name: "TemplateEngineTests", dependencies: ["TemplateEngine"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "RunSlots", "StorageSQLite", "StoragePostgres", "TrainyardTestSupport"]),
        .testTarget(name: "TrainyardTests", dependencies: [
            "Trainyard", "HTTPServer", "Storage", "StorageSQLite", "TrainyardTestSupport", "PrometheusText", "ScrapeClient",
            .product(name: "Logging", package: "swift-log"),
        ]),
    ],
    swiftLanguageModes: [.v5]
)
