/// A restricted unpickler for the `data.pkl` record of a PyTorch checkpoint, with the promise of
/// `torch.load(weights_only=True)`: it builds plain data (None, bools, ints, floats, strings, tuples, lists,
/// dicts), references to the globals of `TorchGlobal`, storages from persistent ids, and tensors from torch's
/// rebuild functions, and nothing else. It imports nothing and calls nothing: a global is a name it looks up
/// in a fixed list, and `REDUCE` of one of those is evaluated here, in Swift.
///
/// Opcodes: those `torch.save` emits with its default protocol 2 (and with protocol 4: `FRAME`, `MEMOIZE`,
/// `SHORT_BINUNICODE`, `STACK_GLOBAL`), plus the harmless `POP`, `POP_MARK`, `DUP`, `LIST`, `DICT`, `LONG4`,
/// the bytes opcodes and `BINUNICODE8`. Any other opcode (`INST`, `OBJ`, `NEWOBJ`, `EXT*`, text `PERSID`, …)
/// or global is a `TensorFileError` naming it. `BUILD` is accepted only on an `OrderedDict` (whose state is
/// its instance attributes, such as a state_dict's `_metadata`, which is ignored).
///
/// A TorchScript archive's pickle (`torchScript`) may also name its own `__torch__` classes, which `NEWOBJ`
/// with no arguments makes into inert `PickleObject`s that `BUILD` fills with a dict of attributes, and call
/// `torch.jit._pickle`'s list builders (`build_intlist`, …, `restore_type_tag`), which return their argument.
/// Any other `NEWOBJ` (of `os.system`, of `collections.OrderedDict`) is refused as before.
///
/// Everything is bounded: every declared length is checked against the bytes that remain before anything is
/// read or allocated, and the stack, the memo and the mark stack have fixed limits (see the constants).
final class PickleMachine {
    /// The most values the stack may hold (torch's pickles hold a few dozen; pickle batches APPENDS and
    /// SETITEMS by 1000).
    static let maximumStackDepth = 1 << 22
    /// The most memo entries.
    static let maximumMemoSize = 1 << 24
    /// The most MARKs open at once.
    static let maximumMarkDepth = 1 << 16
    /// The longest module or name a GLOBAL may spell.
    static let maximumGlobalNameLength = 1024

    private let bytes: [UInt8]
    private let path: String
    /// The record's name for messages, e.g. `state_dict/data.pkl`.
    private let record: String
    private var position = 0
    private var opcodeStart = 0
    private var opcode = PickleOpcode.proto
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    /// Every container built, so that `release()` can empty them all (breaking cycles without recursion).
    private var tuples: [PickleTuple] = []
    private var lists: [PickleList] = []
    private var dicts: [PickleDict] = []
    /// The storages seen in persistent ids, by key, to check that every mention agrees.
    private var storages: [String: StorageReference] = [:]

    /// True for a TorchScript archive's pickle: `__torch__` classes (NEWOBJ, BUILD) and `torch.jit._pickle`'s
    /// list builders are allowed besides a checkpoint's globals.
    private let torchScript: Bool
    /// Every TorchScript object built, emptied by `release()` as the containers are.
    private var objects: [PickleObject] = []

    private init(bytes: [UInt8], path: String, record: String, torchScript: Bool) {
        self.bytes = bytes
        self.path = path
        self.record = record
        self.torchScript = torchScript
    }

    /// Unpickles `bytes` and passes the result to `body`, whose result it returns; throws `TensorFileError`.
    ///
    /// The containers are emptied when `body` returns, so `body` must not let a `PickleValue` escape.
    static func load<Result>(
        _ bytes: [UInt8], path: String, record: String, torchScript: Bool = false, _ body: (PickleValue) throws -> Result
    ) throws -> Result {
        let machine = PickleMachine(bytes: bytes, path: path, record: record, torchScript: torchScript)
        defer { machine.release() }
        return try body(try machine.run())
    }

    // MARK: - Errors

    private func malformed(_ detail: String) -> TensorFileError {
        TensorFileError(path: path, problem: .malformed("\(record), byte \(opcodeStart) (\(opcode.name)): \(detail)"))
    }

    private func unsupported(_ detail: String) -> TensorFileError {
        TensorFileError(path: path, problem: .unsupportedFeature(detail))
    }

    // MARK: - The loop

    private func run() throws -> PickleValue {
        while true {
            guard position < bytes.count else {
                opcodeStart = position
                throw TensorFileError(path: path, problem: .malformed(
                    "\(record) ends after \(bytes.count) bytes without a STOP opcode (truncated pickle)"))
            }
            opcodeStart = position
            let code = bytes[position]
            position += 1
            guard let next = PickleOpcode(rawValue: code) else {
                throw TensorFileError(path: path, problem: .malformed(
                    "\(record), byte \(opcodeStart): \(PickleOpcode.describe(code))"))
            }
            opcode = next
            switch next {
            case .proto:
                let version = try readUnsigned(1)
                guard version <= 5 else { throw malformed("unknown pickle protocol \(version)") }
            case .frame:
                // Protocol 4 groups opcodes in frames; the frame length only has to fit what remains.
                let length = try readUnsigned(8)
                guard length <= bytes.count - position else {
                    throw malformed("frame of \(length) bytes, but only \(bytes.count - position) remain")
                }
            case .stop:
                let result = try pop()
                guard position == bytes.count else {
                    throw malformed("\(bytes.count - position) bytes follow the STOP opcode")
                }
                return result
            case .mark:
                guard marks.count < Self.maximumMarkDepth else {
                    throw TensorFileError(path: path, problem: .tooLarge(
                        "\(record) opens more than \(Self.maximumMarkDepth) MARKs at once"))
                }
                marks.append(stack.count)
            case .pop: _ = try pop()
            case .popMark: _ = try popToMark()
            case .dup: try push(try top())
            case .noneValue: try push(.none)
            case .newTrue: try push(.bool(true))
            case .newFalse: try push(.bool(false))
            case .binInt: try push(.int(Int(Int32(truncatingIfNeeded: try readUnsigned(4)))))
            case .binInt1: try push(.int(try readUnsigned(1)))
            case .binInt2: try push(.int(try readUnsigned(2)))
            case .long1: try push(try readLong(count: try readUnsigned(1)))
            case .long4:
                let count = Int(Int32(truncatingIfNeeded: try readUnsigned(4)))
                guard count >= 0 else { throw malformed("negative length \(count)") }
                try push(try readLong(count: count))
            case .binFloat:
                let range = try take(8)
                var bits: UInt64 = 0
                for byte in bytes[range] { bits = bits << 8 | UInt64(byte) }  // big-endian
                try push(.float(Double(bitPattern: bits)))
            case .shortBinUnicode: try push(.string(try readString(count: try readUnsigned(1))))
            case .binUnicode: try push(.string(try readString(count: try readUnsigned(4))))
            case .binUnicode8: try push(.string(try readString(count: try readUnsigned(8))))
            case .shortBinBytes: try push(.bytes(try skipBytes(count: try readUnsigned(1))))
            case .binBytes: try push(.bytes(try skipBytes(count: try readUnsigned(4))))
            case .binBytes8: try push(.bytes(try skipBytes(count: try readUnsigned(8))))
            case .emptyTuple: try push(makeTuple([]))
            case .tuple: try push(makeTuple(try popToMark()))
            case .tuple1, .tuple2, .tuple3:
                let count = Int(next.rawValue - PickleOpcode.tuple1.rawValue) + 1
                var items: [PickleValue] = []
                for _ in 0..<count { items.append(try pop()) }
                try push(makeTuple(items.reversed()))
            case .emptyList: try push(.list(makeList([])))
            case .list: try push(.list(makeList(try popToMark())))
            case .emptyDict: try push(.dict(makeDict(ordered: false)))
            case .dict:
                let items = try popToMark()
                let dict = makeDict(ordered: false)
                try setItems(items, into: dict)
                try push(.dict(dict))
            case .append:
                let value = try pop()
                try targetList().items.append(value)
            case .appends:
                let items = try popToMark()
                try targetList().items.append(contentsOf: items)
            case .setItem:
                let value = try pop()
                let key = try pop()
                try targetDict().set(key, value)
            case .setItems:
                let items = try popToMark()
                try setItems(items, into: try targetDict())
            case .binPut: try memoize(at: try readUnsigned(1))
            case .longBinPut: try memoize(at: try readUnsigned(4))
            case .memoize: try memoize(at: memo.count)
            case .binGet: try push(try memoized(try readUnsigned(1)))
            case .longBinGet: try push(try memoized(try readUnsigned(4)))
            case .global:
                let module = try readLine()
                let name = try readLine()
                try push(.global(try TorchGlobal.resolve(module: module, name: name, path: path, torchScript: torchScript)))
            case .stackGlobal:
                let name = try pop()
                let module = try pop()
                guard case .string(let moduleText) = module, case .string(let nameText) = name else {
                    throw malformed("module and name must be strings, found \(module.typeName) and \(name.typeName)")
                }
                try push(.global(try TorchGlobal.resolve(module: moduleText, name: nameText, path: path, torchScript: torchScript)))
            case .reduce:
                let arguments = try pop()
                let callable = try pop()
                guard case .tuple(let tuple) = arguments else {
                    throw malformed("the arguments are a \(arguments.typeName), not a tuple")
                }
                guard case .global(let global) = callable else {
                    throw unsupported("calling a \(callable.typeName) in a pickle is not allowed")
                }
                try push(try call(global, tuple.items))
            case .build:
                let state = try pop()
                let target = try top()
                try build(target, state: state)
            case .binPersID:
                try push(.storage(try persistentLoad(try pop())))
            case .newObj where torchScript:
                let arguments = try pop()
                let type = try pop()
                guard case .global(.torchScriptClass(let name)) = type else {
                    throw unsupported("pickle NEWOBJ of \(type.typeName) is not allowed (a TorchScript archive may instantiate only its own __torch__ classes)")
                }
                guard case .tuple(let tuple) = arguments, tuple.items.isEmpty else {
                    throw malformed("NEWOBJ of \(name) with arguments (TorchScript passes none)")
                }
                let object = PickleObject(className: name)
                objects.append(object)
                try push(.object(object))
            default:
                throw unsupported("pickle opcode \(PickleOpcode.describe(code)) is not allowed in a checkpoint")
            }
        }
    }

    // MARK: - Reading the bytes

    /// The range of the next `count` bytes, which must all be there.
    private func take(_ count: Int) throws -> Range<Int> {
        guard count >= 0, count <= bytes.count - position else {
            throw malformed("needs \(count) bytes, but the pickle ends after \(bytes.count - position) (truncated)")
        }
        defer { position += count }
        return position..<(position + count)
    }

    /// A little-endian unsigned integer of `size` bytes (8 at most); throws when it exceeds `Int.max`.
    private func readUnsigned(_ size: Int) throws -> Int {
        var value: UInt64 = 0
        for (index, byte) in bytes[try take(size)].enumerated() { value |= UInt64(byte) << (8 * index) }
        guard value <= UInt64(Int.max) else { throw malformed("length \(value) is larger than any file") }
        return Int(value)
    }

    /// A little-endian two's complement integer of `count` bytes (LONG1, LONG4).
    private func readLong(count: Int) throws -> PickleValue {
        let range = try take(count)
        guard count > 0 else { return .int(0) }
        let digits = bytes[range]
        let negative = digits.last! & 0x80 != 0
        var value: UInt64 = 0
        for (index, byte) in digits.prefix(8).enumerated() { value |= UInt64(byte) << (8 * index) }
        if count < 8, negative { value |= ~0 << (8 * count) }
        if count > 8 {
            // Wider than 64 bits: it fits only if the extra bytes merely repeat the sign.
            let fill: UInt8 = negative ? 0xFF : 0
            let fits = digits.dropFirst(8).allSatisfy { $0 == fill } && (digits[range.lowerBound + 7] & 0x80 != 0) == negative
            if !fits { return .largeInt }
        }
        return .int(Int(Int64(bitPattern: value)))
    }

    /// The UTF-8 string of `count` bytes.
    private func readString(count: Int) throws -> String {
        let range = try take(count)
        guard let text = String(validating: bytes[range], as: UTF8.self) else { throw malformed("string is not valid UTF-8") }
        return text
    }

    /// Skips a bytes object of `count` bytes (its content is of no use) and returns its length.
    private func skipBytes(count: Int) throws -> Int {
        _ = try take(count)
        return count
    }

    /// A GLOBAL operand: text up to a newline, at most `maximumGlobalNameLength` bytes.
    private func readLine() throws -> String {
        let end = min(bytes.count, position + Self.maximumGlobalNameLength + 1)
        guard let newline = bytes[position..<end].firstIndex(of: 0x0A) else {
            throw malformed("a module or name longer than \(Self.maximumGlobalNameLength) bytes, or not ended by a newline")
        }
        let range = try take(newline - position + 1)
        guard let text = String(validating: bytes[range.dropLast()], as: UTF8.self) else {
            throw malformed("module or name is not valid UTF-8")
        }
        return text
    }

    // MARK: - The stack

    /// The stack's floor: values below the last MARK belong to an outer frame.
    private var fence: Int { marks.last ?? 0 }

    private func push(_ value: PickleValue) throws {
        guard stack.count < Self.maximumStackDepth else {
            throw TensorFileError(path: path, problem: .tooLarge("\(record) stacks more than \(Self.maximumStackDepth) values"))
        }
        stack.append(value)
    }

    private func pop() throws -> PickleValue {
        guard stack.count > fence else { throw malformed(marks.isEmpty ? "the stack is empty" : "only a MARK is on the stack") }
        return stack.removeLast()
    }

    private func top() throws -> PickleValue {
        guard stack.count > fence, let last = stack.last else {
            throw malformed(marks.isEmpty ? "the stack is empty" : "only a MARK is on the stack")
        }
        return last
    }

    /// The values above the last MARK, in order, removing them and the MARK.
    private func popToMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw malformed("no MARK is on the stack") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private func memoize(at index: Int) throws {
        let value = try top()
        if memo[index] == nil, memo.count >= Self.maximumMemoSize {
            throw TensorFileError(path: path, problem: .tooLarge("\(record) memoizes more than \(Self.maximumMemoSize) values"))
        }
        memo[index] = value
    }

    private func memoized(_ index: Int) throws -> PickleValue {
        guard let value = memo[index] else { throw malformed("memo entry \(index) was never set") }
        return value
    }

    // MARK: - Containers

    private func makeTuple(_ items: [PickleValue]) -> PickleValue {
        let tuple = PickleTuple(items)
        tuples.append(tuple)
        return .tuple(tuple)
    }

    private func makeList(_ items: [PickleValue]) -> PickleList {
        let list = PickleList()
        list.items = items
        lists.append(list)
        return list
    }

    private func makeDict(ordered: Bool) -> PickleDict {
        let dict = PickleDict(isOrderedDict: ordered)
        dicts.append(dict)
        return dict
    }

    private func targetList() throws -> PickleList {
        let target = try top()
        guard case .list(let list) = target else { throw malformed("appends to a \(target.typeName), not a list") }
        return list
    }

    private func targetDict() throws -> PickleDict {
        let target = try top()
        guard case .dict(let dict) = target else { throw malformed("sets an item of a \(target.typeName), not a dict") }
        return dict
    }

    private func setItems(_ items: [PickleValue], into dict: PickleDict) throws {
        guard items.count % 2 == 0 else { throw malformed("\(items.count) values cannot be key-value pairs") }
        for index in stride(from: 0, to: items.count, by: 2) { dict.set(items[index], items[index + 1]) }
    }

    /// Empties every container, so that cycles are broken and nested values are freed one by one.
    private func release() {
        for tuple in tuples { tuple.items = [] }
        for list in lists { list.items = [] }
        for dict in dicts { dict.removeAll() }
        for object in objects { object.attributes = nil }
        stack = []
        memo = [:]
    }

    // MARK: - Globals, persistent ids, BUILD

    private func call(_ global: TorchGlobal, _ arguments: [PickleValue]) throws -> PickleValue {
        switch global {
        case .orderedDict:
            guard arguments.isEmpty else { throw unsupported("collections.OrderedDict called with arguments") }
            return .dict(makeDict(ordered: true))
        case .torchSize:
            guard arguments.count == 1, let dimensions = sequence(arguments[0]) else {
                throw malformed("torch.Size expects one tuple")
            }
            return makeTuple(dimensions)
        case .rebuildTensorV2, .rebuildTensorV3:
            return .tensor(try rebuildTensor(global, arguments))
        case .rebuildParameter, .rebuildParameterWithState:
            let count = global == .rebuildParameter ? 3 : 4
            guard arguments.count == count, case .tensor = arguments[0] else {
                throw malformed("\(global.qualifiedName) expects \(count) arguments, the first a tensor")
            }
            return arguments[0]
        case .storageType, .dtype, .torchScriptClass:
            throw unsupported("calling \(global.qualifiedName) in a pickle is not allowed")
        case .jitPickleHelper(let name):
            let count = name == "restore_type_tag" ? 2 : 1
            guard arguments.count == count else { throw malformed("\(global.qualifiedName) expects \(count) argument\(count == 1 ? "" : "s")") }
            return arguments[0]
        }
    }

    /// The items of a tuple or a list.
    private func sequence(_ value: PickleValue) -> [PickleValue]? {
        switch value {
        case .tuple(let tuple): tuple.items
        case .list(let list): list.items
        default: nil
        }
    }

    private func rebuildTensor(_ function: TorchGlobal, _ arguments: [PickleValue]) throws -> TensorReference {
        let name = function.qualifiedName
        let isV3 = function == .rebuildTensorV3
        let required = isV3 ? 7 : 6
        guard arguments.count == required || arguments.count == required + 1 else {
            throw malformed("\(name) expects \(required) or \(required + 1) arguments, found \(arguments.count)")
        }
        func integers(_ value: PickleValue, _ what: String) throws -> [Int] {
            guard let items = sequence(value) else { throw malformed("\(name): \(what) is a \(value.typeName), not a tuple") }
            return try items.map { item in
                guard case .int(let number) = item else { throw malformed("\(name): \(what) holds a \(item.typeName)") }
                return number
            }
        }
        guard case .storage(let storage) = arguments[0] else {
            throw malformed("\(name): the storage is a \(arguments[0].typeName)")
        }
        guard case .int(let offset) = arguments[1] else {
            throw malformed("\(name): the storage offset is a \(arguments[1].typeName)")
        }
        let shape = try integers(arguments[2], "the size")
        let strides = try integers(arguments[3], "the stride")
        guard shape.count == strides.count else {
            throw malformed("\(name): size has \(shape.count) dimensions but stride has \(strides.count)")
        }
        guard case .bool = arguments[4] else { throw malformed("\(name): requires_grad is a \(arguments[4].typeName)") }
        switch arguments[5] {
        case .none, .dict: break  // backward hooks: torch saves an empty OrderedDict; never used here
        default: throw malformed("\(name): the backward hooks are a \(arguments[5].typeName)")
        }
        var dtype = storage.type.dtype
        if isV3 {
            guard case .global(.dtype(let given)) = arguments[6] else {
                throw malformed("\(name): the dtype is a \(arguments[6].typeName)")
            }
            dtype = given
        }
        if arguments.count == required + 1 {
            switch arguments[required] {
            case .none: break
            case .dict(let metadata) where metadata.entries.isEmpty: break
            case .dict(let metadata):
                let keys = metadata.entries.map { entry in
                    if case .string(let key) = entry.key { key } else { entry.key.typeName }
                }
                throw unsupported("tensor metadata \(keys) (conjugate or negative bits, or a tensor subclass)")
            default: throw malformed("\(name): the metadata is a \(arguments[required].typeName)")
            }
        }
        return TensorReference(storage: storage, dtype: dtype, offset: offset, shape: shape, strides: strides)
    }

    /// The storage a persistent id `('storage', storage_type, key, location, numel)` names.
    private func persistentLoad(_ id: PickleValue) throws -> StorageReference {
        guard let items = sequence(id), let kind = items.first, case .string(let kindName) = kind else {
            throw malformed("the persistent id is a \(id.typeName), not ('storage', type, key, location, numel)")
        }
        guard kindName == "storage" else { throw unsupported("persistent id of kind \"\(kindName)\"") }
        guard items.count == 5, case .global(.storageType(let type)) = items[1], case .string(let key) = items[2],
              case .string = items[3], case .int(let count) = items[4]
        else {
            throw malformed("the persistent id is not ('storage', storage type, key, location, numel): \(items.map(\.typeName))")
        }
        guard count >= 0 else { throw malformed("storage \"\(key)\" declares \(count) elements") }
        let storage = StorageReference(key: key, type: type, elementCount: count)
        if let earlier = storages[key] {
            // torch reinterprets a storage named again with another type only when the byte counts agree.
            let (bytes, overflow) = count.multipliedReportingOverflow(by: type.dtype.byteSize)
            let (earlierBytes, earlierOverflow) = earlier.elementCount.multipliedReportingOverflow(by: earlier.type.dtype.byteSize)
            guard earlier == storage || (!overflow && !earlierOverflow && bytes == earlierBytes) else {
                throw malformed("storage \"\(key)\" is declared as \(earlier.elementCount) × \(earlier.type.qualifiedName) and as \(count) × \(type.qualifiedName)")
            }
        } else {
            storages[key] = storage
        }
        return storage
    }

    private func build(_ target: PickleValue, state: PickleValue) throws {
        if case .object(let object) = target {
            guard object.attributes == nil else { throw malformed("BUILD of \(object.className) a second time") }
            guard case .dict(let attributes) = state else {
                throw unsupported("pickle BUILD of \(object.className) with a \(state.typeName) state (a TorchScript module's state is a dict of its attributes; one with its own __setstate__ is not read)")
            }
            object.attributes = attributes
            return
        }
        guard case .dict(let dict) = target, dict.isOrderedDict else {
            throw unsupported("pickle BUILD of a \(target.typeName) is not allowed (only an OrderedDict's attributes are)")
        }
        switch state {
        case .none, .dict: break  // an OrderedDict's __dict__ (a state_dict's _metadata): ignored
        default: throw unsupported("pickle BUILD of an OrderedDict with a \(state.typeName) state")
        }
    }
}
