#!/usr/bin/env python3
"""PyTorch checkpoint fixtures for Tests/ModelsTests/TorchCheckpointTests.swift, written by torch.save.

Write the fixtures (run from the repository root):
    /root/torch-venv/bin/python scripts/golden/torch_checkpoints.py

Every file is written by torch.save itself (zip format, and the legacy pickle format of
torch < 1.6 through `_use_new_zipfile_serialization=False`), except `tar.pth`: no torch release
that still writes the tar format (torch < 0.1.10) runs today, so it is assembled here in that
layout (tarfile + pickle, as `torch/serialization.py`'s `legacy_load` reads it) and checked by
loading it back with torch.load. `expected.json` holds, for each tensor the reader must return,
its dtype, shape and values (widened to float32, exact for the chosen values).
"""
import argparse
import collections
import io
import json
import os
import pickle
import struct
import sys
import tarfile

import torch
from safetensors.torch import load_file

OUT = os.path.join("Tests", "ModelsTests", "Golden", "torch")


def tensors():
    """name -> tensor; views with offsets and strides, every dtype the reader supports."""
    base = torch.arange(40, dtype=torch.float32) * 0.25 - 3.0          # exact in f16 / bf16
    sd = collections.OrderedDict()
    sd["conv.weight"] = base[:24].reshape(2, 3, 2, 2).clone()
    sd["conv.bias"] = torch.tensor([1.5, -0.125, 3.0e-5])
    sd["half.weight"] = base[:12].reshape(3, 4).to(torch.float16)
    sd["bfloat.weight"] = base[:6].reshape(2, 3).to(torch.bfloat16)
    sd["double.weight"] = torch.tensor([[0.1, -0.2], [1e-3, 12345.678]], dtype=torch.float64)
    sd["bn.num_batches_tracked"] = torch.tensor(7, dtype=torch.int64)
    sd["bn.running_mean"] = torch.tensor([0.5, -0.5])
    # Views of one storage: an offset slice, a transposed (strided) view, a step slice.
    shared = torch.arange(30, dtype=torch.float32) * 0.5
    sd["view.offset"] = shared[7:13].view(2, 3)
    sd["view.transposed"] = shared[:12].view(3, 4).t()
    sd["view.step"] = shared[1:30:4]
    sd["scalar.weight"] = torch.tensor(2.5)
    sd["empty.weight"] = torch.zeros(0, 3)
    sd["param.weight"] = torch.nn.Parameter(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    return sd


def dtype_name(t):
    return {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
            torch.float64: "F64", torch.int64: "I64"}[t.dtype]


def expected_entry(t):
    return {"dtype": dtype_name(t), "shape": list(t.shape), "values": t.detach().double().flatten().tolist()}


def small_state_dict(scale):
    sd = collections.OrderedDict()
    sd["layer.weight"] = torch.arange(6, dtype=torch.float32).reshape(2, 3) * scale
    sd["layer.bias"] = torch.tensor([scale, -scale])
    return sd


class Evil:
    """What a malicious checkpoint holds: unpickling it would call os.system."""
    def __reduce__(self):
        return (os.system, ("echo segscope-fixture-should-never-run",))


def write_tar(path, sd):
    """The tar format of torch < 0.1.10: `sys_info`, `storages`, `tensors`, `pickle` members."""
    storages = collections.OrderedDict()   # storage key -> (tensor storage, type name)
    tensor_records = []
    type_names = {torch.float32: "FloatStorage", torch.float64: "DoubleStorage",
                  torch.float16: "HalfStorage", torch.int64: "LongStorage"}
    tensor_types = {torch.float32: "FloatTensor", torch.float64: "DoubleTensor",
                    torch.float16: "HalfTensor", torch.int64: "LongTensor"}

    class StorageType:
        """Pickles as the global `torch.<Name>Storage`."""
        def __init__(self, name):
            self.name = name

    def storage_key(t):
        ptr = t.untyped_storage().data_ptr()
        key = str(ptr)
        if key not in storages:
            storages[key] = (t, type_names[t.dtype])
        return key

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, torch.Tensor):
                return str(id(obj))
            return None

    for name, t in sd.items():
        tensor_records.append((id(t), storage_key(t), t))

    def global_ref(module, name):
        # A protocol-2 GLOBAL opcode without importing anything when written.
        return b"c" + module.encode() + b"\n" + name.encode() + b"\n"

    def dump_storage_header(key, type_name):
        # (key, location, storage_type) with storage_type = torch.<type_name>
        out = io.BytesIO()
        out.write(b"\x80\x02")
        out.write(pickle.dumps(key, protocol=2)[2:-1])
        out.write(pickle.dumps("cpu", protocol=2)[2:-1])
        out.write(global_ref("torch", type_name))
        out.write(b"\x87.")   # TUPLE3, STOP
        return out.getvalue()

    def dump_tensor_header(key, storage_id, tensor_type):
        out = io.BytesIO()
        out.write(b"\x80\x02")
        out.write(pickle.dumps(key, protocol=2)[2:-1])
        out.write(pickle.dumps(storage_id, protocol=2)[2:-1])
        out.write(global_ref("torch", tensor_type))
        out.write(b"\x87.")
        return out.getvalue()

    st = io.BytesIO()
    pickle.dump(len(storages), st, protocol=2)
    for key, (t, type_name) in storages.items():
        st.write(dump_storage_header(key, type_name))
        raw = t.untyped_storage()
        numel = raw.nbytes() // t.element_size()
        st.write(struct.pack("<q", numel))
        st.write(bytes(raw.cpu().numpy() if hasattr(raw, "numpy") else bytearray(raw)))
    pickle.dump([], st, protocol=2)   # storage views

    te = io.BytesIO()
    pickle.dump(len(tensor_records), te, protocol=2)
    for key, storage_id, t in tensor_records:
        te.write(dump_tensor_header(key, storage_id, tensor_types[t.dtype]))
        te.write(struct.pack("<i", t.dim()))
        te.write(b"\0\0\0\0")
        te.write(struct.pack(f"<{t.dim()}q", *t.shape))
        te.write(struct.pack(f"<{t.dim()}q", *t.stride()))
        te.write(struct.pack("<q", t.storage_offset()))

    pk = io.BytesIO()
    P(pk, protocol=2).dump(collections.OrderedDict((name, t) for name, t in sd.items()))

    sys_info = io.BytesIO()
    pickle.dump({"protocol_version": 1000, "little_endian": True,
                 "type_sizes": {"short": 2, "int": 4, "long": 8}}, sys_info, protocol=2)

    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for member, data in [("sys_info", sys_info), ("storages", st), ("tensors", te), ("pickle", pk)]:
            info = tarfile.TarInfo(member)
            info.size = len(data.getvalue())
            tar.addfile(info, io.BytesIO(data.getvalue()))


def main():
    argparse.ArgumentParser(description=__doc__).parse_args()
    os.makedirs(OUT, exist_ok=True)
    sd = tensors()
    torch.save(sd, os.path.join(OUT, "zip.pth"))
    torch.save(sd, os.path.join(OUT, "legacy.pth"), _use_new_zipfile_serialization=False)

    # A training checkpoint: the weights under "model" with DataParallel's "module." prefix,
    # next to an optimizer state, an epoch number and an argparse Namespace (an unknown global).
    wrapped = collections.OrderedDict(("module." + k, v) for k, v in small_state_dict(1.0).items())
    opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1, momentum=0.9)
    torch.save({"epoch": 3, "model": wrapped, "optimizer": opt.state_dict(),
                "args": argparse.Namespace(lr=0.1, arch="tiny")}, os.path.join(OUT, "wrapped.pth"))
    # Two state dicts under names that say nothing: the reader must ask for --key.
    torch.save({"student": small_state_dict(1.0), "teacher": small_state_dict(2.0)},
               os.path.join(OUT, "two-models.pth"))
    # A malicious pickle (os.system); torch.load(weights_only=True) refuses it as well.
    torch.save({"weight": torch.ones(2), "payload": Evil()}, os.path.join(OUT, "malicious.pth"))

    tar_sd = collections.OrderedDict()
    tar_sd["conv.weight"] = sd["conv.weight"]
    tar_sd["double.weight"] = sd["double.weight"]
    tar_sd["bn.num_batches_tracked"] = sd["bn.num_batches_tracked"]
    tar_sd["view.transposed"] = sd["view.transposed"]
    write_tar(os.path.join(OUT, "tar.pth"), tar_sd)

    # The xunet parity fixture re-saved by torch.save (zip): the reader must return what safetensors holds.
    xunet = load_file(os.path.join("Tests", "ModelsTests", "Golden", "xunet.safetensors"))
    torch.save(collections.OrderedDict(xunet), os.path.join(OUT, "xunet.pth"))

    # Check every file with torch.load itself before describing what the reader must return.
    for name in ["zip.pth", "legacy.pth"]:
        back = torch.load(os.path.join(OUT, name), weights_only=True)
        for key, value in sd.items():
            assert back[key].dtype == value.dtype and torch.equal(back[key], value.detach()), (name, key)
    back = torch.load(os.path.join(OUT, "tar.pth"), weights_only=False)
    for key, value in tar_sd.items():
        assert torch.equal(back[key], value), ("tar.pth", key)

    expected = {
        "tensors": {k: expected_entry(v) for k, v in sd.items()},
        "tar": {k: expected_entry(v) for k, v in tar_sd.items()},
        "small1": {k: expected_entry(v) for k, v in small_state_dict(1.0).items()},
        "small2": {k: expected_entry(v) for k, v in small_state_dict(2.0).items()},
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    for name in sorted(os.listdir(OUT)):
        print(f"{name}: {os.path.getsize(os.path.join(OUT, name))} bytes")


if __name__ == "__main__":
    sys.exit(main())
