#!/usr/bin/python3
"""PyTorch-eager reference for the speed benchmark (bench/speed/run).

The same work as advkfp's CLIs, written the way the paper's code and torchattacks write it: a plain
nn.Module, DataLoader batches, torch.optim.Adam + StepLR, FGSM and PGD loops with autograd.
One step per process, so start-up time and peak RSS are measured like the CLIs'. Each step writes
a JSON result (--out); `first_batch_at` is time.monotonic() (CLOCK_MONOTONIC, the clock the driver
reads before it starts this process) when the first batch starts, and `seconds` is the time from
there to the end of the last batch.

Data are the dataset folders written by prepare-data (dataset.json + gzip IDX, uint8 / 255), and
models are TorchScript files: advkfp's model.pt is loaded into the nn.Module below parameter by
parameter, so both sides start from the same weights.
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset


class PaperCNN(nn.Module):
    """Conv(1->32,3x3,pad 1) ReLU MaxPool2, Conv(32->64,3x3,pad 1) ReLU MaxPool2, Linear 3136->128 ReLU,
    Linear 128->10: the model of src/model/classifier.cpp, parameters in the same order."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, num_classes)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


# --- data and models ---------------------------------------------------------------------------

def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        sys.exit(f"reference: {path}: only uint8 IDX files are supported")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    t = torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8)
    return t.reshape(dims)


def load_dataset(folder):
    with open(os.path.join(folder, "dataset.json")) as f:
        manifest = json.load(f)
    images = read_idx(os.path.join(folder, manifest["images"]))
    images = images.reshape(-1, *manifest["image_shape"]).to(torch.float32).div_(255.0)
    labels = read_idx(os.path.join(folder, manifest["labels"])).to(torch.int64)
    return images, labels


def load_model(path):
    """A PaperCNN holding the parameters of the TorchScript file at `path` (advkfp's model.pt, or
    one this script saved)."""
    scripted = torch.jit.load(path)
    model = PaperCNN()
    src = list(scripted.parameters())
    dst = list(model.parameters())
    if len(src) != len(dst) or any(s.shape != d.shape for s, d in zip(src, dst)):
        sys.exit(f"reference: {path}: parameters do not match the paper CNN")
    with torch.no_grad():
        for s, d in zip(src, dst):
            d.copy_(s)
    return model


def save_model(model, path):
    torch.jit.script(model).save(path)


def batches(images, labels, batch_size, order=None):
    # The paper's loaders: DataLoader over the tensors; `order` is the epoch's shuffled index list.
    return DataLoader(TensorDataset(images, labels), batch_size=batch_size, sampler=order)


def accuracy(model, images, labels, batch_size):
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in batches(images, labels, batch_size):
            correct += (model(x).argmax(1) == y).sum().item()
    return correct / max(len(labels), 1)


# --- attacks, as torchattacks writes them ------------------------------------------------------

def fgsm(model, images, labels, eps):
    images = images.clone().detach().requires_grad_(True)
    cost = F.cross_entropy(model(images), labels)
    grad = torch.autograd.grad(cost, images)[0]
    return torch.clamp(images + eps * grad.sign(), 0, 1).detach()


def pgd(model, images, labels, eps, alpha, steps, random_start, generator):
    images = images.clone().detach()
    adv = images.clone().detach()
    if random_start:
        adv = adv + torch.empty_like(adv).uniform_(-eps, eps, generator=generator)
        adv = torch.clamp(adv, 0, 1).detach()
    for _ in range(steps):
        adv.requires_grad_(True)
        cost = F.cross_entropy(model(adv), labels)
        grad = torch.autograd.grad(cost, adv)[0]
        adv = adv.detach() + alpha * grad.sign()
        delta = torch.clamp(adv - images, -eps, eps)
        adv = torch.clamp(images + delta, 0, 1).detach()
    return adv


# --- steps -------------------------------------------------------------------------------------

class Loop:
    """Times a batch loop: first-batch start (monotonic) and seconds to the end of the last batch."""

    def __enter__(self):
        self.start = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.seconds = time.monotonic() - self.start


def step_matmul(a):
    """Square fp32 matmul GFLOP/s, the machine's reference peak on these threads."""
    n = a.matmul_size
    x, y = torch.rand(n, n), torch.rand(n, n)
    out = torch.empty(n, n)
    torch.mm(x, y, out=out)  # warm-up: thread pool, pages
    best, spent, reps = float("inf"), 0.0, 0
    while reps < 3 or (spent < a.matmul_seconds and reps < 50):
        t = time.perf_counter()
        torch.mm(x, y, out=out)
        dt = time.perf_counter() - t
        best, spent, reps = min(best, dt), spent + dt, reps + 1
    return {"size": n, "repeats": reps, "seconds": best, "gflops": 2.0 * n ** 3 / best / 1e9}


def train_epoch(model, opt, images, labels, batch_size, gen, prepare=None):
    order = torch.randperm(len(labels), generator=gen).tolist()
    for x, y in batches(images, labels, batch_size, order):
        if prepare is not None:
            x = prepare(x, y)
        model.train()
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()


def step_train(a):
    images, labels = load_dataset(a.dataset)
    model = load_model(a.model)  # the initial weights advkfp's train draws for this seed
    gen = torch.Generator().manual_seed(a.seed)
    opt = torch.optim.Adam(model.parameters(), lr=a.learning_rate)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
    with Loop() as loop:
        for _ in range(a.epochs):
            train_epoch(model, opt, images, labels, a.batch_size, gen)
            sched.step()
    save_model(model, a.save)
    return {"images": len(labels) * a.epochs, "first_batch_at": loop.start, "seconds": loop.seconds}


def step_evaluate(a):
    images, labels = load_dataset(a.dataset)
    model = load_model(a.model)
    model.eval()
    correct = 0
    with Loop() as loop, torch.no_grad():
        for x, y in batches(images, labels, a.batch_size):
            correct += (model(x).argmax(1) == y).sum().item()
    return {"images": len(labels), "first_batch_at": loop.start, "seconds": loop.seconds,
            "accuracy": correct / max(len(labels), 1)}


def step_attack(a):
    images, labels = load_dataset(a.dataset)
    model = load_model(a.model)
    model.eval()
    gen = torch.Generator().manual_seed(a.seed)
    alpha = 2.5 * a.epsilon / a.steps
    out = []
    with Loop() as loop:
        for x, y in batches(images, labels, a.batch_size):
            if a.step == "fgsm":
                out.append(fgsm(model, x, y, a.epsilon))
            else:
                out.append(pgd(model, x, y, a.epsilon, alpha, a.steps, True, gen))
    adv = torch.cat(out) if out else images
    return {"images": len(labels), "first_batch_at": loop.start, "seconds": loop.seconds,
            "accuracy": accuracy(model, adv, labels, a.batch_size)}


def step_pgd_at(a):
    """One epoch of Madry PGD training fine-tuning the given model, like pgd-train: per batch the
    first round(fraction * B) images are replaced by PGD examples crafted in eval mode."""
    images, labels = load_dataset(a.dataset)
    model = load_model(a.model)
    gen = torch.Generator().manual_seed(a.seed)
    attack_gen = torch.Generator().manual_seed(a.seed + 1)
    opt = torch.optim.Adam(model.parameters(), lr=a.learning_rate)
    alpha = 2.5 * a.epsilon / a.steps

    def prepare(x, y):
        k = int(math.floor(a.adversarial_fraction * len(y) + 0.5))
        if k == 0:
            return x
        model.eval()
        adv = pgd(model, x[:k], y[:k], a.epsilon, alpha, a.steps, True, attack_gen)
        return torch.cat([adv, x[k:]])

    with Loop() as loop:
        for _ in range(a.epochs):
            train_epoch(model, opt, images, labels, a.batch_size, gen, prepare)
    save_model(model, a.save)
    return {"images": len(labels) * a.epochs, "first_batch_at": loop.start, "seconds": loop.seconds}


def step_accuracy(a):
    """Clean test accuracy of each model file, all through the same PaperCNN forward."""
    images, labels = load_dataset(a.dataset)
    return {"accuracy": {m: accuracy(load_model(m), images, labels, a.batch_size) for m in a.models}}


def step_profile(a):
    """Per-operator self CPU time of a few training batches and PGD steps (torch.profiler)."""
    from torch.profiler import ProfilerActivity, profile
    images, labels = load_dataset(a.dataset)
    model = load_model(a.model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = images[:a.batch_size], labels[:a.batch_size]
    out = {}
    for name, fn in (("train", lambda: (opt.zero_grad(), F.cross_entropy(model.train()(x), y).backward(), opt.step())),
                     ("pgd-step", lambda: pgd(model.eval(), x, y, a.epsilon, a.epsilon / 4, 1, False, None)),
                     ("evaluate", lambda: torch.no_grad()(lambda: model.eval()(x))())):
        for _ in range(3):
            fn()
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
            for _ in range(a.profile_batches):
                fn()
        rows = []
        for e in prof.key_averages(group_by_input_shape=True):
            rows.append({"op": e.key, "shapes": str(e.input_shapes),
                         "self_ms": e.self_cpu_time_total / 1000 / a.profile_batches,
                         "calls": e.count / a.profile_batches})
        rows.sort(key=lambda r: -r["self_ms"])
        out[name] = rows[:12]
    return {"profile": out}


STEPS = {"matmul": step_matmul, "train": step_train, "evaluate": step_evaluate,
         "fgsm": step_attack, "pgd": step_attack, "pgd-at": step_pgd_at,
         "accuracy": step_accuracy, "profile": step_profile}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("step", choices=sorted(STEPS))
    p.add_argument("--out", required=True, help="result JSON")
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dataset")
    p.add_argument("--model", help="TorchScript model.pt to start from or to attack")
    p.add_argument("--models", nargs="*", default=[], help="accuracy: model files to evaluate")
    p.add_argument("--save", help="train, pgd-at: where to write the resulting TorchScript model")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--epsilon", type=float, default=0.15)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--adversarial-fraction", type=float, default=0.5)
    p.add_argument("--matmul-size", type=int, default=2048)
    p.add_argument("--matmul-seconds", type=float, default=2.0)
    p.add_argument("--profile-batches", type=int, default=10)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    result = STEPS[a.step](a)
    result.update(step=a.step, threads=torch.get_num_threads(), torch=torch.__version__)
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
