#!/usr/bin/env python3
"""Keras (TensorFlow 2.x) reference for the pix2pix training-step benchmark.

Builds the same pix2pix as the project's TF.js model (src/model/: U-Net generator with instance
normalisation, 70x70 PatchGAN discriminator, BCE-with-logits + 100 * L1, Adam(2e-4, beta_1=0.5)),
then times one training step (D and G updates, as in Pix2Pix.trainStep) in graph mode
(@tf.function) and in eager mode, on random data.

Prints one line of JSON on stdout; progress goes to stderr.

    python pix2pix_step.py [--ngf 64] [--ndf NGF] [--size 256] [--batch 1] [--steps 10]
                           [--warmup 2] [--threads 0] [--modes graph,eager] [--seed 0]
                           [--policy float32|mixed_bfloat16]

Run it with the venv that bench/keras-reference/setup.sh creates.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TF's C++ start-up logging

import tensorflow as tf  # noqa: E402
import keras  # noqa: E402  (Keras 3, the one tf.keras points to in TF 2.16+)
from keras import layers  # noqa: E402

IN_CHANNELS = 1
OUT_CHANNELS = 1
DROPOUT_BLOCKS = 3
DROPOUT_RATE = 0.5
LAMBDA_L1 = 100.0
EPS_IN = 1e-5


def log(msg: str) -> None:
    print(f"[pix2pix_step] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- layers

class InstanceNorm(layers.Layer):
    """Instance normalisation: mean/variance over H, W per sample and channel, then a learnable
    per-channel scale (init ~N(1, 0.02), as the TF.js model) and offset (init 0)."""

    def __init__(self, epsilon: float = EPS_IN, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        c = int(input_shape[-1])
        self.scale = self.add_weight(
            name="scale", shape=(c,), initializer=keras.initializers.RandomNormal(1.0, 0.02), trainable=True)
        self.offset = self.add_weight(name="offset", shape=(c,), initializer="zeros", trainable=True)

    def call(self, x):
        # Statistics in float32 whatever the policy (as Keras' own normalisation layers do under
        # mixed_bfloat16); the result goes back in the layer's compute dtype.
        dtype = x.dtype
        x = tf.cast(x, tf.float32)
        mean, var = tf.nn.moments(x, axes=[1, 2], keepdims=True)
        y = (x - mean) * tf.math.rsqrt(var + self.epsilon) * tf.cast(self.scale, tf.float32) \
            + tf.cast(self.offset, tf.float32)
        return tf.cast(y, dtype)


def _kinit():
    return keras.initializers.RandomNormal(0.0, 0.02)


def conv(filters: int, stride: int, name: str) -> layers.Layer:
    return layers.Conv2D(filters, 4, strides=stride, padding="same", use_bias=True,
                         kernel_initializer=_kinit(), bias_initializer="zeros", name=name)


def upconv(filters: int, name: str) -> layers.Layer:
    return layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=True,
                                  kernel_initializer=_kinit(), bias_initializer="zeros", name=name)


# ----------------------------------------------------------------------------- networks

def enc_channels(ngf: int, i: int) -> int:
    """Channels of encoder level i (1-based): min(ngf * 2^(i-1), 8 * ngf)."""
    return min(ngf * 2 ** (i - 1), 8 * ngf)


def build_generator(size: int, ngf: int) -> keras.Model:
    L = int(round(math.log2(size)))
    x_in = keras.Input((size, size, IN_CHANNELS), name="mri")
    skips = []
    h = conv(enc_channels(ngf, 1), 2, "enc1")(x_in)
    skips.append(h)
    for i in range(2, L + 1):
        h = layers.LeakyReLU(negative_slope=0.2)(h)
        h = conv(enc_channels(ngf, i), 2, f"enc{i}")(h)
        if i < L:  # innermost level (1x1) has no norm
            h = InstanceNorm(name=f"enc{i}_norm")(h)
        skips.append(h)
    for i in range(L, 1, -1):
        h = layers.ReLU()(h)
        h = upconv(enc_channels(ngf, i - 1), f"dec{i}")(h)
        h = InstanceNorm(name=f"dec{i}_norm")(h)
        if L - i < DROPOUT_BLOCKS:
            h = layers.Dropout(DROPOUT_RATE, name=f"dec{i}_dropout")(h)
        h = layers.Concatenate(axis=-1)([h, skips[i - 2]])
    h = layers.ReLU()(h)
    h = upconv(OUT_CHANNELS, "out")(h)
    out = layers.Activation("tanh", name="sct")(h)
    return keras.Model(x_in, out, name="G")


def build_discriminator(size: int, ndf: int) -> keras.Model:
    mri = keras.Input((size, size, IN_CHANNELS), name="mri")
    ct = keras.Input((size, size, OUT_CHANNELS), name="ct")
    h = layers.Concatenate(axis=-1)([mri, ct])
    for k, (stride, mult, norm) in enumerate([(2, 1, False), (2, 2, True), (2, 4, True), (1, 8, True)], start=1):
        h = conv(ndf * mult, stride, f"c{k}")(h)
        if norm:
            h = InstanceNorm(name=f"c{k}_norm")(h)
        h = layers.LeakyReLU(negative_slope=0.2)(h)
    logits = conv(1, 1, "logits")(h)  # [B, S/8, S/8, 1] patch logits
    return keras.Model([mri, ct], logits, name="D")


# ----------------------------------------------------------------------------- training step

def bce_logits(logits, target: float):
    logits = tf.cast(logits, tf.float32)  # losses in float32 under mixed_bfloat16
    labels = tf.ones_like(logits) if target == 1.0 else tf.zeros_like(logits)
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


def make_train_step(G: keras.Model, D: keras.Model, opt_g, opt_d):
    g_vars = G.trainable_variables
    d_vars = D.trainable_variables
    # Keras 3 variables wrap a tf.Variable (.value); GradientTape.watch wants the tf.Variable.
    g_watch = [v.value for v in g_vars]
    d_watch = [v.value for v in d_vars]

    def train_step(mri, ct):
        # Each tape watches only its own network's variables, so neither backward pass computes
        # gradients for the other network's weights (the TF.js step gets the same effect with
        # constant copies of D in the G term and a stop-gradient on the fake in the D term).
        with tf.GradientTape(watch_accessed_variables=False) as g_tape, \
                tf.GradientTape(watch_accessed_variables=False) as d_tape:
            g_tape.watch(g_watch)
            d_tape.watch(d_watch)
            fake = tf.cast(G(mri, training=True), tf.float32)  # one generator forward feeds both losses
            d_real = D([mri, ct], training=True)
            d_fake = D([mri, tf.stop_gradient(fake)], training=True)
            d_loss = 0.5 * (bce_logits(d_real, 1.0) + bce_logits(d_fake, 0.0))
            g_adv = bce_logits(D([mri, fake], training=True), 1.0)
            g_l1 = tf.reduce_mean(tf.abs(fake - ct))
            g_loss = g_adv + LAMBDA_L1 * g_l1
        d_grads = d_tape.gradient(d_loss, d_vars)
        g_grads = g_tape.gradient(g_loss, g_vars)
        opt_d.apply_gradients(zip(d_grads, d_vars))
        opt_g.apply_gradients(zip(g_grads, g_vars))
        return tf.stack([g_adv, g_l1, g_loss, d_loss])

    return train_step


def count_params(model: keras.Model) -> int:
    return int(sum(int(tf.size(v)) for v in model.trainable_variables))


def bench_mode(mode: str, args) -> dict:
    keras.utils.set_random_seed(args.seed)
    G = build_generator(args.size, args.ngf)
    D = build_discriminator(args.size, args.ndf)
    opt_g = keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.999, epsilon=1e-7)
    opt_d = keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.999, epsilon=1e-7)
    opt_g.build(G.trainable_variables)
    opt_d.build(D.trainable_variables)
    step = make_train_step(G, D, opt_g, opt_d)
    if mode == "graph":
        step = tf.function(step, jit_compile=args.xla)

    shape = (args.batch, args.size, args.size, 1)
    mri = tf.random.uniform(shape, -1.0, 1.0, seed=args.seed + 1)
    ct = tf.random.uniform(shape, -1.0, 1.0, seed=args.seed + 2)

    warm = []
    load_before = os.getloadavg()[0]
    for _ in range(args.warmup):
        t0 = time.perf_counter()
        losses = step(mri, ct).numpy()  # .numpy() waits for the step to finish
        warm.append(time.perf_counter() - t0)
    log(f"{mode}: warm-up {', '.join(f'{t:.2f}' for t in warm)} s")
    times, cpus = [], []
    for _ in range(args.steps):
        c0 = time.process_time()
        t0 = time.perf_counter()
        losses = step(mri, ct).numpy()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    cpu_per_step = statistics.mean(cpus)
    log(f"{mode}: {args.steps} steps, mean {statistics.mean(times):.3f} s, "
        f"median {statistics.median(times):.3f} s, min {min(times):.3f} s, cpu {cpu_per_step:.3f} s/step, losses gAdv/gL1/g/d {[round(float(v), 4) for v in losses]}")
    return {
        "mean": statistics.mean(times),
        "median": statistics.median(times),
        "min": min(times),
        "max": max(times),
        "warmup_s": warm,
        "cpu_s_per_step": cpu_per_step,
        "steps_s": [round(t, 4) for t in times],
        "steps_cpu_s": [round(c, 4) for c in cpus],
        "loadavg_1min_before": load_before,
        "params_G": count_params(G),
        "params_D": count_params(D),
        "conv_compute_dtype": G.get_layer("enc1").compute_dtype,
        "final_losses": {k: float(v) for k, v in zip(["g_adv", "g_l1", "g", "d"], losses)},
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ngf", type=int, default=64)
    p.add_argument("--ndf", type=int, default=None,
                   help="discriminator width (default: --ngf, as bench/train-step)")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--steps", type=int, default=10, help="timed steps per mode")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps per mode (graph: includes tracing)")
    p.add_argument("--threads", type=int, default=0,
                   help="intra-op threads (0: TensorFlow's default, all cores)")
    p.add_argument("--inter-threads", type=int, default=0, help="inter-op threads (0: TensorFlow's default)")
    p.add_argument("--modes", default="graph,eager", help="comma-separated subset of graph,eager")
    p.add_argument("--xla", action="store_true", help="graph mode with jit_compile=True (off by default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--policy", default="float32", choices=["float32", "mixed_bfloat16"],
                   help="Keras dtype policy (keras.mixed_precision.set_global_policy): mixed_bfloat16 "
                        "computes layers in bfloat16 with float32 variables; instance norm and the "
                        "losses stay float32")
    args = p.parse_args(argv)

    if args.ndf is None:
        args.ndf = args.ngf
    L = math.log2(args.size)
    if args.size < 16 or not L.is_integer():
        p.error("--size must be a power of two >= 16")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in ("graph", "eager") for m in modes):
        p.error("--modes: use graph, eager or graph,eager")
    if args.steps < 1 or args.warmup < 1:
        p.error("--steps and --warmup must be >= 1")

    keras.mixed_precision.set_global_policy(args.policy)
    if args.threads > 0:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    if args.inter_threads > 0:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_threads)

    load = os.getloadavg()[0]
    if load > 0.5:
        log(f"WARNING: 1-min load average is {load:.2f} before the benchmark; other processes compete "
            f"for the {os.cpu_count()} cores and the times will be too high")
    log(f"tensorflow {tf.__version__}, keras {keras.__version__}, ngf {args.ngf}, ndf {args.ndf}, "
        f"policy {args.policy}, size {args.size}, batch {args.batch}, steps {args.steps}, warmup {args.warmup}, threads {args.threads}")
    t_start = time.perf_counter()
    res = {m: bench_mode(m, args) for m in modes}
    first = res[modes[0]]
    out = {
        "graph_s_per_step": res["graph"]["mean"] if "graph" in res else None,
        "eager_s_per_step": res["eager"]["mean"] if "eager" in res else None,
        "params_G": first["params_G"],
        "params_D": first["params_D"],
        "policy": args.policy,
        "conv_compute_dtype": first["conv_compute_dtype"],
        "tf_version": tf.__version__,
        "keras_version": keras.__version__,
        "graph_median_s": res["graph"]["median"] if "graph" in res else None,
        "eager_median_s": res["eager"]["median"] if "eager" in res else None,
        "graph_min_s": res["graph"]["min"] if "graph" in res else None,
        "eager_min_s": res["eager"]["min"] if "eager" in res else None,
        # process CPU time (user+sys, all threads) per timed step: ~2x wall time when both cores
        # are busy with this benchmark; much less than that means other load stole the CPUs.
        "graph_cpu_s_per_step": res["graph"]["cpu_s_per_step"] if "graph" in res else None,
        "eager_cpu_s_per_step": res["eager"]["cpu_s_per_step"] if "eager" in res else None,
        "graph_steps_s": res["graph"]["steps_s"] if "graph" in res else None,
        "eager_steps_s": res["eager"]["steps_s"] if "eager" in res else None,
        "graph_steps_cpu_s": res["graph"]["steps_cpu_s"] if "graph" in res else None,
        "eager_steps_cpu_s": res["eager"]["steps_cpu_s"] if "eager" in res else None,
        "graph_warmup_s": res["graph"]["warmup_s"] if "graph" in res else None,
        "eager_warmup_s": res["eager"]["warmup_s"] if "eager" in res else None,
        "config": {"ngf": args.ngf, "ndf": args.ndf, "size": args.size, "batch": args.batch,
                   "steps": args.steps, "warmup": args.warmup, "threads": args.threads,
                   "inter_threads": args.inter_threads, "xla": args.xla, "policy": args.policy,
                   "intra_op_threads_effective": tf.config.threading.get_intra_op_parallelism_threads(),
                   "cpu_count": os.cpu_count(),
                   "onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default")},
        "loadavg_1min_start": load,
        "loadavg_1min_end": os.getloadavg()[0],
        "total_s": round(time.perf_counter() - t_start, 1),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
