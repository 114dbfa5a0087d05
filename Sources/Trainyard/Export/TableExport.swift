import Foundation
import HTTPServer

/// Every row of a table, as CSV or JSON, read in keyset batches and sent as each is encoded:
/// the server asks for the next batch only when the client has taken the previous one, so an
/// export of a million rows holds one batch in memory.
///
/// The first batch is read by the handler, before the response exists, so a database that is
/// down gets the usual 503 page; a failure later cuts the transfer short (see `BodyStream`).
/// Rows are read batch by batch, not in one snapshot: a row whose sort value changes during
/// the download may be missed or appear twice, as when paging through the table.
final class TableExport<Row>: BodyStream {
    /// Rows per query: large enough that a batch's round trip is small beside its encoding,
    /// small enough that a batch of wide rows stays a few hundred kilobytes.
    static var batchSize: Int { 1000 }

    private let format: ExportFormat
    private let columns: [ExportColumn<Row>]
    private let keys: [[UInt8]]
    private let fetch: (ListCursor?) throws -> ListBatch<Row>
    private var pending: ListBatch<Row>?
    private var cursor: ListCursor?
    private var started = false
    private var finished = false
    private var rowsWritten = 0

    /// `fetch` reads the batch after a cursor (nil: the first one).
    init(_ format: ExportFormat, columns: [ExportColumn<Row>], fetch: @escaping (ListCursor?) throws -> ListBatch<Row>) {
        self.format = format
        self.columns = columns
        self.keys = JSONRowWriter.keys(columns.map(\.name))
        self.fetch = fetch
    }

    /// The download of `filename` (`deployments` → `deployments.csv`). Reads the first batch
    /// now unless the request is a HEAD, which gets the headers only.
    static func response(_ format: ExportFormat, filename: String, columns: [ExportColumn<Row>], request: HTTPRequest,
                         fetch: @escaping (ListCursor?) throws -> ListBatch<Row>) throws -> HTTPResponse {
        let export = TableExport(format, columns: columns, fetch: fetch)
        if request.method != "HEAD" { export.pending = try fetch(nil) }
        let headers = HTTPHeaders([
            ("Content-Type", format.contentType),
            ("Content-Disposition", "attachment; filename=\"\(filename).\(format.rawValue)\""),
        ])
        return HTTPResponse(status: 200, headers: headers, stream: export)
    }

    func next() throws -> [UInt8]? {
        guard !finished else { return nil }
        let batch: ListBatch<Row>
        if let pending {
            batch = pending
            self.pending = nil
        } else if !started || cursor != nil {
            batch = try fetch(cursor)
        } else {
            batch = ListBatch(rows: [], next: nil)
        }
        var out: [UInt8] = []
        out.reserveCapacity(batch.rows.count * 160 + 256)
        if !started {
            started = true
            switch format {
            case .csv: CSVWriter.header(columns.map(\.name), into: &out)
            case .json: out.append(contentsOf: JSONRowWriter.open)
            }
        }
        for row in batch.rows {
            let values = columns.map { $0.value(row) }
            switch format {
            case .csv: CSVWriter.record(values, into: &out)
            case .json: JSONRowWriter.record(values, keys: keys, first: rowsWritten == 0, into: &out)
            }
            rowsWritten += 1
        }
        cursor = batch.next
        if cursor == nil {
            finished = true
            if format == .json { out.append(contentsOf: rowsWritten == 0 ? Array("]\n".utf8) : JSONRowWriter.close) }
        }
        return out
    }
}
