#!/usr/bin/env python3
"""Makes Fixtures/keras/: small Keras 3 models saved by Keras itself, with Keras's own outputs, for the Keras reader.

Usage (from anywhere):  tools/.venv/bin/python tools/keras_fixtures.py
(Keras 3 on the jax backend, CPU: `pip install keras jax`, pinned in tools/requirements-ci.txt.)

Per fixture, Fixtures/keras/<name>/:
  model.keras, model.h5 (legacy `model.save`), model.weights.h5 (`save_weights`) (lstm_keras2_style: only a model.h5,
      the lstm fixture's as TensorFlow-era Keras 2 wrote it); stacked_lstm also has sharded
      weights (sharded.weights.json + sharded_0000N.weights.h5);
  inputs.npz    `input` float32 [B, T, I] (Keras is batch-first); `h0` [L·D, B, H] and `c0` where the fixture has
                initial states, in PyTorch's layout (index layer·D + direction);
  expected.npz  computed by Keras: `output` [B, T, D·H] (the last layer's sequence), `h_n` [L·D, B, H], `c_n` (LSTM);
  torch.npz     the PyTorch state_dict the weights map to, derived here in numpy (the reference for our converter);
  fixture.json  the configuration, and the flags a reader of model.weights.h5 alone needs (it has no configuration).
A file with several recurrent modules (encoder_decoder) has inputs.<module>.npz and expected.<module>.npz instead.

Keras's states come from probe layers: each layer's configuration with return_sequences and return_state set,
given the same weights and called layer by layer; the probes' output is checked against the saved model's own.
Weights are seeded uniform values in ±0.5 (biases included: Keras would start them at zero). Re-running gives the
same numbers (the files carry Keras's save dates, so their bytes differ).
"""
import json
import os
import shutil

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Fixtures", "keras")
CLASS = {"rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def recurrent(mode, units, name, bidirectional=False, **kwargs):
    layer = CLASS[mode](units, return_sequences=True, name=None if bidirectional else name, **kwargs)
    return keras.layers.Bidirectional(layer, name=name) if bidirectional else layer


def seed_weights(model, rng):
    for layer in model.layers:
        layer.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype(np.float32) for w in layer.get_weights()])


def probe_layer(layer, input_shape):
    """The layer again, returning its sequence and final states, with the same weights."""
    config = layer.get_config()
    if isinstance(layer, keras.layers.Bidirectional):
        for key in ("layer", "backward_layer"):
            if key in config:
                config[key]["config"].update(return_sequences=True, return_state=True)
    else:
        config.update(return_sequences=True, return_state=True)
    probe = type(layer).from_config(config)
    probe.build(input_shape)
    probe.set_weights(layer.get_weights())
    return probe


def keras_states(layers, x, h0=None, c0=None):
    """Runs `layers` (a stack) with probes: the last sequence, h_n and c_n in PyTorch's layout."""
    hs, cs, sequence = [], [], x
    for index, layer in enumerate(layers):
        bidirectional = isinstance(layer, keras.layers.Bidirectional)
        directions = 2 if bidirectional else 1
        lstm = isinstance(layer.forward_layer if bidirectional else layer, keras.layers.LSTM)
        initial = None
        if h0 is not None:
            initial = []
            for d in range(directions):
                initial.append(h0[index * directions + d])
                if lstm:
                    initial.append(c0[index * directions + d])
        probe = probe_layer(layer, sequence.shape)
        result = probe(sequence, initial_state=initial) if initial is not None else probe(sequence)
        sequence, states = np.asarray(result[0]), [np.asarray(s) for s in result[1:]]
        per = 2 if lstm else 1
        for d in range(directions):
            hs.append(states[d * per])
            if lstm:
                cs.append(states[d * per + 1])
    return sequence, np.stack(hs), (np.stack(cs) if cs else None)


def probe_agreement(name, model_output, probe_output):
    """max |model(x) − probe|, failing loudly unless the saved model and the probes agree (atol 1e-6)."""
    model_output = np.asarray(model_output)
    np.testing.assert_allclose(model_output, probe_output, atol=1e-6,
                               err_msg=f"{name}: the probes do not compute what the saved model computes")
    return float(np.abs(model_output - probe_output).max())


def torch_state_dict(layers, prefix=""):
    """PyTorch's tensors for a stack of Keras layers, by the documented mapping (KerasMapping)."""
    out = {}
    name = (lambda local: f"{prefix}.{local}") if prefix else (lambda local: local)
    for index, layer in enumerate(layers):
        cells = [layer.forward_layer, layer.backward_layer] if isinstance(layer, keras.layers.Bidirectional) else [layer]
        for direction, cell_layer in enumerate(cells):
            weights = cell_layer.get_weights()
            units = cell_layer.units
            gates = {keras.layers.LSTM: 4, keras.layers.GRU: 3, keras.layers.SimpleRNN: 1}[type(cell_layer)]
            order = [1, 0, 2] if gates == 3 else list(range(gates))

            def reorder(matrix):  # rows in Keras's gate order → PyTorch's
                return np.concatenate([matrix[g * units:(g + 1) * units] for g in order])
            suffix = f"_l{index}" + ("_reverse" if direction else "")
            out[name("weight_ih" + suffix)] = reorder(weights[0].T)
            out[name("weight_hh" + suffix)] = reorder(weights[1].T)
            if len(weights) == 3:
                bias = weights[2]
                if bias.ndim == 2:
                    out[name("bias_ih" + suffix)], out[name("bias_hh" + suffix)] = reorder(bias[0]), reorder(bias[1])
                else:
                    out[name("bias_ih" + suffix)], out[name("bias_hh" + suffix)] = reorder(bias), np.zeros_like(bias)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def new_folder(name):
    folder = os.path.join(OUT, name)
    os.makedirs(folder)
    return folder


def write_fixture(folder, fixture):
    with open(os.path.join(folder, "fixture.json"), "w") as f:
        json.dump(fixture, f, indent=1, sort_keys=True)
        f.write("\n")


def save_model_files(model, folder, sharded=False):
    model.save(os.path.join(folder, "model.keras"))
    model.save(os.path.join(folder, "model.h5"))
    model.save_weights(os.path.join(folder, "model.weights.h5"))
    if sharded:
        model.save_weights(os.path.join(folder, "sharded.weights.json"), max_shard_size=0.0000004)


def make(name, mode, units=4, inputs=3, layers=1, bidirectional=False, batch=2, steps=6, states=False,
         sharded=False, **kwargs):
    rng = np.random.default_rng(sum(map(ord, name)))
    folder = new_folder(name)
    model = keras.Sequential([keras.Input((None, inputs))] + [
        recurrent(mode, units, f"{'bidirectional' if bidirectional else mode}{'' if k == 0 else f'_{k}'}",
                  bidirectional, **kwargs) for k in range(layers)])
    seed_weights(model, rng)
    x = rng.uniform(-1, 1, (batch, steps, inputs)).astype(np.float32)
    directions = 2 if bidirectional else 1
    feeds = {"input": x}
    h0 = c0 = None
    if states:
        h0 = rng.uniform(-0.5, 0.5, (layers * directions, batch, units)).astype(np.float32)
        feeds["h0"] = h0
        if mode == "lstm":
            c0 = rng.uniform(-0.5, 0.5, (layers * directions, batch, units)).astype(np.float32)
            feeds["c0"] = c0
    output, h_n, c_n = keras_states(model.layers, x, h0, c0)
    # The saved model has no initial state: with one, the probes are checked without it.
    agreement = probe_agreement(name, model(x), keras_states(model.layers, x)[0] if states else output)
    expected = {"output": output, "h_n": h_n}
    if c_n is not None:
        expected["c_n"] = c_n
    np.savez(os.path.join(folder, "inputs.npz"), **feeds)
    np.savez(os.path.join(folder, "expected.npz"), **expected)
    np.savez(os.path.join(folder, "torch.npz"), **torch_state_dict(model.layers))
    save_model_files(model, folder, sharded)
    flags = []
    if mode == "rnn" and kwargs.get("activation") == "relu":
        flags += ["--nonlinearity", "relu"]
    if mode == "gru" and kwargs.get("reset_after") is False and kwargs.get("use_bias") is False:
        flags += ["--reset-after", "false"]
    fixture = {"mode": mode, "bias": kwargs.get("use_bias", True), "num_layers": layers, "bidirectional": bidirectional,
               "input_size": inputs, "hidden_size": units, "modules": [""], "weights_h5_flags": flags,
               "keras_version": keras.__version__}
    if mode == "rnn":
        fixture["nonlinearity"] = kwargs.get("activation", "tanh")
    if mode == "gru":
        fixture["reset_after"] = kwargs.get("reset_after", True)
    write_fixture(folder, fixture)
    print(f"{name}: output {output.shape}, h_n {h_n.shape}, max |model(x) - probe| {agreement:.2g}")


def make_embedding_lstm_dense():
    name = "embedding_lstm_dense"
    rng = np.random.default_rng(7)
    folder = new_folder(name)
    model = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(11, 3),
                              keras.layers.LSTM(4, return_sequences=True), keras.layers.Dense(2)])
    seed_weights(model, rng)
    tokens = rng.integers(0, 11, (2, 5)).astype(np.int32)
    embedded = np.asarray(model.layers[0](tokens))
    output, h_n, c_n = keras_states([model.layers[1]], embedded)
    # named, so that Keras's automatic names of the models made after this one stay as they were
    up_to_lstm = keras.Model(model.inputs[0], model.layers[1].output, name="up_to_lstm")
    agreement = probe_agreement(name, up_to_lstm(tokens), output)
    np.testing.assert_allclose(np.asarray(model.layers[2](np.asarray(model.layers[1](embedded)))),
                               np.asarray(model(tokens)), atol=1e-6)
    np.savez(os.path.join(folder, "inputs.npz"), input=embedded, tokens=tokens)
    np.savez(os.path.join(folder, "expected.npz"), output=output, h_n=h_n, c_n=c_n)
    np.savez(os.path.join(folder, "torch.npz"), **torch_state_dict([model.layers[1]]))
    save_model_files(model, folder)
    write_fixture(folder, {"mode": "lstm", "bias": True, "num_layers": 1, "bidirectional": False, "input_size": 3,
                           "hidden_size": 4, "modules": [""], "weights_h5_flags": [], "keras_version": keras.__version__,
                           "other_tensors": 3})
    print(f"{name}: output {output.shape}, max |model(x) - probe| {agreement:.2g} (the LSTM's output)")


def make_encoder_decoder():
    name = "encoder_decoder"
    rng = np.random.default_rng(8)
    folder = new_folder(name)
    a, b = keras.Input((None, 3), name="a"), keras.Input((None, 2), name="b")
    encoder = keras.layers.LSTM(4, return_sequences=True, name="encoder")
    decoder = keras.layers.GRU(5, return_sequences=True, name="decoder")
    model = keras.Model([a, b], [encoder(a), decoder(b)])
    seed_weights(model, rng)
    torch, agreement = {}, 0.0
    xs = [rng.uniform(-1, 1, (2, 5, width)).astype(np.float32) for width in (3, 2)]
    for layer, x, model_output in zip([encoder, decoder], xs, model(xs)):
        output, h_n, c_n = keras_states([layer], x)
        agreement = max(agreement, probe_agreement(f"{name}/{layer.name}", model_output, output))
        np.savez(os.path.join(folder, f"inputs.{layer.name}.npz"), input=x)
        np.savez(os.path.join(folder, f"expected.{layer.name}.npz"), output=output, h_n=h_n,
                 **({"c_n": c_n} if c_n is not None else {}))
        torch.update(torch_state_dict([layer], prefix=layer.name))
    np.savez(os.path.join(folder, "torch.npz"), **torch)
    save_model_files(model, folder)
    write_fixture(folder, {"modules": ["encoder", "decoder"], "weights_h5_flags": [], "keras_version": keras.__version__})
    print(f"{name}: modules encoder, decoder, max |model(x) - probe| {agreement:.2g}")


def make_keras2_style():
    """The lstm fixture's legacy .h5 rewritten as TensorFlow-era Keras 2 wrote it: weight names with a `:0` suffix
    and no model prefix, fixed-length byte strings, and a weight_names attribute split into weight_names0,
    weight_names1 (Keras 2 splits attributes past HDF5's 64 KiB header limit that way)."""
    name = "lstm_keras2_style"
    folder = new_folder(name)
    source = os.path.join(OUT, "lstm")
    for copied in ("inputs.npz", "expected.npz", "torch.npz", "fixture.json"):
        shutil.copy(os.path.join(source, copied), folder)
    with h5py.File(os.path.join(source, "model.h5"), "r") as old:
        config = json.loads(old.attrs["model_config"])
        weights = [np.asarray(old["model_weights/lstm/" + str(path)]) for path in old["model_weights/lstm"].attrs["weight_names"]]
    for layer in config["config"]["layers"]:
        layer.pop("module", None)
    with h5py.File(os.path.join(folder, "model.h5"), "w") as f:
        f.attrs["model_config"] = json.dumps(config).encode()
        f.attrs["keras_version"] = b"2.15.0"
        f.attrs["backend"] = b"tensorflow"
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = np.array([b"lstm"], dtype="S")
        layer = group.create_group("lstm")
        names = [b"lstm/lstm_cell/kernel:0", b"lstm/lstm_cell/recurrent_kernel:0", b"lstm/lstm_cell/bias:0"]
        layer.attrs["weight_names0"] = np.array(names[:2], dtype="S")
        layer.attrs["weight_names1"] = np.array(names[2:], dtype="S")
        for leaf, arr in zip(("kernel:0", "recurrent_kernel:0", "bias:0"), weights):
            layer.create_dataset(f"lstm/lstm_cell/{leaf}", data=arr, track_times=False)
    print(f"{name}: the lstm fixture as Keras 2 wrote it")


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    make("simplernn_tanh", "rnn")
    make("simplernn_relu", "rnn", activation="relu")
    make("simplernn_nobias", "rnn", use_bias=False)
    make("lstm", "lstm")
    make("lstm_nobias", "lstm", use_bias=False)
    make("lstm_h0", "lstm", states=True)
    make("gru", "gru")
    make("gru_nobias", "gru", use_bias=False)
    make("gru_reset_before", "gru", reset_after=False)
    make("gru_reset_before_nobias", "gru", reset_after=False, use_bias=False)
    make("gru_reset_before_h0", "gru", reset_after=False, states=True, units=5)
    make("bidirectional_lstm", "lstm", bidirectional=True)
    make("bidirectional_gru", "gru", bidirectional=True, units=5)
    make("bidirectional_simplernn_h0", "rnn", bidirectional=True, states=True)
    make("stacked_lstm", "lstm", layers=2, sharded=True)
    make("stacked_bidirectional_gru", "gru", layers=2, bidirectional=True, batch=3, steps=5)
    make_keras2_style()
    make_embedding_lstm_dense()
    make_encoder_decoder()
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, names in os.walk(OUT) for n in names)
    print(f"{total} bytes in {OUT}")


if __name__ == "__main__":
    main()
