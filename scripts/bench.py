"""cargo-iso benchmarks: each figure next to its raw baseline from the same run."""

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "target" / "bench-guests"
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
EDITS = int(os.environ.get("BENCH_EDITS", "5"))


def run(cmd, cwd):
    """Runs cmd, returns (seconds, stderr); fails loudly."""
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"bench: {' '.join(map(str, cmd))} failed:\n{done.stderr}")
    return elapsed, done.stderr


def sample_guest(parent):
    guest = Path(parent) / "bench-hello"
    shutil.copytree(ROOT / "tests" / "fixtures" / "hello", guest)
    manifest = guest / "Cargo.toml"
    manifest.write_text(manifest.read_text().replace("@NAME@", "bench-hello"))
    return guest


def ms(seconds):
    return f"{seconds * 1000:.1f} ms"


def main():
    with tempfile.TemporaryDirectory() as parent:
        guest = sample_guest(parent)
        iso = ["cargo", "iso", "build", "-q", "--target-dir", str(TARGET)]
        raw = ["cargo", "build", "-q", "--target", "wasm32-unknown-unknown", "--target-dir", str(TARGET)]
        run(iso, guest)  # warm: dependencies, lock file, first component
        run(raw, guest)

        iso_noop, raw_noop = [], []
        for _ in range(RUNS):  # interleaved, so load spikes hit both
            iso_noop.append(run(iso, guest)[0])
            raw_noop.append(run(raw, guest)[0])
        iso_med, raw_med = statistics.median(iso_noop), statistics.median(raw_noop)
        bound = 1.2 * raw_med + 0.050
        print(f"no-op build ({RUNS} runs, medians)")
        print(f"  cargo build --target wasm32-unknown-unknown  {ms(raw_med)}")
        print(f"  cargo iso build                             {ms(iso_med)}  = {iso_med / raw_med:.2f}x raw")
        verdict = "ok" if iso_med <= bound else "OVER"
        print(f"  target: at most 1.2x raw + 50 ms = {ms(bound)}  [{verdict}]")

        lib = guest / "src" / "lib.rs"
        original = lib.read_text()
        iso_edit, raw_edit, componentize = [], [], []
        for i in range(EDITS):
            lib.write_text(original.replace("a.wrapping_add(b)", f"a.wrapping_add(b).wrapping_add({i})"))
            seconds, stderr = run(["cargo", "iso", "build", "-v", "--target-dir", str(TARGET)], guest)
            iso_edit.append(seconds)
            match = re.search(r"Componentized \S+ in ([\d.]+)(µs|ms|s)", stderr)
            if match:
                scale = {"µs": 1e-6, "ms": 1e-3, "s": 1.0}[match.group(2)]
                componentize.append(float(match.group(1)) * scale)
            lib.write_text(original.replace("a.wrapping_add(b)", f"a.wrapping_sub(b).wrapping_add({i})"))
            raw_edit.append(run(raw, guest)[0])
        lib.write_text(original)
        iso_med, raw_med = statistics.median(iso_edit), statistics.median(raw_edit)
        print(f"\nedit and rebuild ({EDITS} edits, medians)")
        print(f"  cargo build --target wasm32-unknown-unknown  {ms(raw_med)}")
        print(f"  cargo iso build                             {ms(iso_med)}  = {iso_med / raw_med:.2f}x raw")
        if componentize:
            print(f"  componentize (read, encode, validate, write) {ms(statistics.median(componentize))}"
                  f"  (debug module, {(TARGET / 'iso' / 'debug' / 'bench_hello.wasm').stat().st_size // 1024} KiB)")


def second_guest_first_build():
    """A fresh guest's first build, after another guest warmed the shared build cache."""
    env = dict(os.environ, CARGO_ISO_SHARED_TARGET_DIR=str(ROOT / "target" / "bench-shared"))
    with tempfile.TemporaryDirectory() as parent:
        for name in ("first-guest", "second-guest"):
            subprocess.run(["cargo", "iso", "new", "-q", name], cwd=parent, env=env, check=True)
        subprocess.run(["cargo", "iso", "build", "-q"], cwd=Path(parent) / "first-guest", env=env, check=True)
        start = time.perf_counter()
        subprocess.run(["cargo", "iso", "build", "-q"], cwd=Path(parent) / "second-guest", env=env, check=True)
        seconds = time.perf_counter() - start
    verdict = "ok" if seconds <= 10 else "OVER"
    print(f"\nsecond scaffolded guest, first cargo iso build: {seconds:.2f} s  (target: at most 10 s)  [{verdict}]")


def host():
    """iso-host against raw wasmtime, on the counter template's release component."""
    with tempfile.TemporaryDirectory() as parent:
        subprocess.run(["cargo", "iso", "new", "-q", "counter"], cwd=parent, check=True)
        guest = Path(parent) / "counter"
        subprocess.run(["cargo", "iso", "build", "-q", "--release"], cwd=guest, check=True)
        print()
        subprocess.run(["cargo", "run", "--quiet", "--release", "--locked", "-p", "iso-host", "--example", "host_bench", "--",
                        str(guest / "target" / "iso" / "release" / "counter.wasm")], cwd=ROOT, check=True)


def state_save_restore():
    print()
    subprocess.run(["cargo", "run", "--quiet", "--release", "--locked", "-p", "iso-schema", "--example", "state_bench"], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
    second_guest_first_build()
    state_save_restore()
    host()
