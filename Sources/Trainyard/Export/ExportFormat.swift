import Foundation

/// The file formats a table can be downloaded in: `/deployments.csv`, `/deployments.json`.
enum ExportFormat: String, CaseIterable, Sendable {
    case csv, json

    var contentType: String {
        switch self {
        case .csv: "text/csv; charset=utf-8"
        case .json: "application/json"
        }
    }

    /// The link text on the table pages.
    var label: String { rawValue.uppercased() }
}

/// One cell of an exported row: typed, so JSON writes numbers as numbers and absent values as
/// null, and CSV leaves them empty.
enum ExportValue: Equatable {
    case text(String)
    case int(Int)
    case number(Double)
    /// Written in ISO 8601, UTC, with milliseconds.
    case date(Date)
    case null

    /// The value, or null when absent.
    init(_ value: String?) { self = value.map { .text($0) } ?? .null }
    init(_ value: Int?) { self = value.map { .int($0) } ?? .null }
    init(_ value: Double?) { self = value.map { .number($0) } ?? .null }
    init(_ value: Date?) { self = value.map { .date($0) } ?? .null }
}

/// A column of an export: its name in the CSV header and the JSON keys, and its cell.
struct ExportColumn<Row> {
    var name: String
    var value: (Row) -> ExportValue

    init(_ name: String, _ value: @escaping (Row) -> ExportValue) {
        self.name = name
        self.value = value
    }
}
