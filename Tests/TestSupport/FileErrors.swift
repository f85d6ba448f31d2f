import Testing
import TensorIO

/// The `TensorFileError` that `body` throws, or nil, with an issue recorded at the caller, when it throws
/// something else or nothing. `context` (the file, the case) begins the issue's message.
public func fileError(_ context: String? = nil, sourceLocation: SourceLocation = #_sourceLocation,
                      _ body: () throws -> Void) -> TensorFileError? {
    let prefix = context.map { "\($0): " } ?? ""
    do {
        try body()
        Issue.record("\(prefix)expected a TensorFileError, but nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as TensorFileError {
        return error
    } catch {
        Issue.record("\(prefix)expected a TensorFileError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// The problem of the `TensorFileError` that `body` throws, or nil (and a recorded issue) otherwise.
public func fileProblem(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> TensorFileError.Problem? {
    fileError(sourceLocation: sourceLocation, body)?.problem
}
