/// A Python dict (or `collections.OrderedDict`) built by the unpickler, keeping insertion order.
///
/// Setting a key that is already there replaces its value in place, as in Python. Keys are compared when they
/// are strings, integers or bools (`True == 1`, as in Python); other keys (floats, tuples, None) are kept
/// as given, without looking for an earlier equal one.
final class PickleDict {
    /// The entries in insertion order.
    private(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    /// True for an `OrderedDict` (from `collections.OrderedDict()`), false for a plain `{}`.
    let isOrderedDict: Bool
    private var positions: [Key: Int] = [:]

    private enum Key: Hashable {
        case string(String)
        case int(Int)
    }

    init(isOrderedDict: Bool) { self.isOrderedDict = isOrderedDict }

    /// Sets `key` to `value`: in place when an equal key is there, at the end otherwise.
    func set(_ key: PickleValue, _ value: PickleValue) {
        let comparable: Key? = switch key {
        case .string(let text): .string(text)
        case .int(let number): .int(number)
        case .bool(let flag): .int(flag ? 1 : 0)
        default: nil
        }
        if let comparable {
            if let position = positions[comparable] {
                entries[position].value = value
                return
            }
            positions[comparable] = entries.count
        }
        entries.append((key, value))
    }

    /// Empties the dict (see `PickleMachine`: this breaks reference cycles).
    func removeAll() {
        entries = []
        positions = [:]
    }
}
