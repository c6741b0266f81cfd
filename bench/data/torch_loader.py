#!/usr/bin/python3
"""bench/data/torch_loader.py - the usual hand-rolled loader, for comparison.

What a PyTorch user writes for our HDF5 layout: an h5py Dataset of windows
(each worker opens the files lazily), z-score normalisation, a DataLoader
with shuffling, worker processes and pinned batches. Reads the same samples
as s2s-bench-data and prints the same figures:

  torch_loader.py --data 'DIR/*.h5' --stats DIR/stats.h5 --window 3 \
                  --batch 8 --workers 2 --batches 200
"""
import argparse
import glob
import time

import h5py
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset


class Windows(Dataset):
    def __init__(self, files, window, stats):
        self.files = files
        self.window = window
        self.index = []
        for fi, f in enumerate(files):
            with h5py.File(f, "r") as h:
                n = h["fields"].shape[0]
                self.shape = h["fields"].shape[1:]
            self.index += [(fi, t) for t in range(n - window + 1)]
        with h5py.File(stats, "r") as s:
            self.mean = np.asarray(s["mean"], np.float32)[:, None, None]
            self.std = np.asarray(s["std"], np.float32)[:, None, None]
        self.handles = None

    def __len__(self):
        return len(self.index)

    def __getitem__(self, i):
        if self.handles is None:  # one set of handles per worker process
            self.handles = [h5py.File(f, "r") for f in self.files]
        fi, t = self.index[i]
        x = self.handles[fi]["fields"][t:t + self.window]
        return torch.from_numpy((x - self.mean) / self.std)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--window", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batches", type=int, default=200)
    a = ap.parse_args()
    files = []
    for f in sorted(glob.glob(a.data)):  # skip the stats file beside them
        with h5py.File(f, "r") as h:
            if "fields" in h:
                files.append(f)
    ds = Windows(files, a.window, a.stats)
    dl = DataLoader(ds, batch_size=a.batch, shuffle=True, drop_last=True,
                    num_workers=a.workers, persistent_workers=a.workers > 0,
                    prefetch_factor=2 if a.workers > 0 else None)
    t0 = time.perf_counter()
    first = None
    n = 0
    while n < a.batches:
        for b in dl:
            if first is None:
                first = time.perf_counter() - t0
            n += 1
            if n == a.batches:
                break
    secs = time.perf_counter() - t0
    samples = n * a.batch
    gb = samples * a.window * int(np.prod(ds.shape)) * 4 / 1e9
    print(f"torch DataLoader (h5py, {a.workers} workers): {samples} samples "
          f"in {secs:.2f} s: {samples / secs:.1f} samples/s, {gb / secs:.3f} GB/s, "
          f"first batch after {first:.2f} s")


if __name__ == "__main__":
    main()
