/// An instance of a TorchScript class (`__torch__.…`) made by `NEWOBJ`: an inert bag of attributes that `BUILD`
/// fills with a dict (submodules, parameters, buffers, plain values). Nothing of the class is ever run or looked
/// up: its name is only a label, and the archive's `code/` is never read.
final class PickleObject {
    /// The class's qualified name, e.g. `__torch__.torch.nn.modules.rnn.LSTM`.
    let className: String
    /// The attributes `BUILD` gave, or nil before it.
    var attributes: PickleDict?

    init(className: String) { self.className = className }
}
