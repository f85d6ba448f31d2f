/// A Python tuple built by the unpickler: its items, fixed once built (until `PickleMachine` empties it).
final class PickleTuple {
    var items: [PickleValue]

    init(_ items: [PickleValue]) { self.items = items }
}
