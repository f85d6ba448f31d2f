/// A Python list built by the unpickler: EMPTY_LIST, then APPEND/APPENDS.
final class PickleList {
    var items: [PickleValue] = []
}
