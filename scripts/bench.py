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


def run(cmd, cwd, env=None):
    """Runs cmd (with env, if given), returns (seconds, stderr); fails loudly."""
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
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


def codec():
    """The codec: encode + decode of a record of about 1 KiB, against copying its bytes."""
    example("codec_bench")


def test_run():
    """`cargo iso test` on a counter with a case of 100 calls, against the build it starts with."""
    env = dict(os.environ, CARGO_ISO_SHARED_TARGET_DIR=str(ROOT / "target" / "bench-shared"))
    with tempfile.TemporaryDirectory() as parent:
        subprocess.run(["cargo", "iso", "new", "-q", "tested"], cwd=parent, env=env, check=True)
        guest = Path(parent) / "tested"
        calls = "".join(f'[[call]]\ncall = "increment(1)"\nexpect = "{n}"\n\n' for n in range(1, 101))
        (guest / "tests" / "iso" / "hundred.toml").write_text(calls)
        run(["cargo", "iso", "test", "-q"], guest, env)  # the first build, and a warm cache
        builds, tests = [], []
        for _ in range(RUNS):
            builds.append(run(["cargo", "iso", "build", "-q"], guest, env)[0])
            tests.append(run(["cargo", "iso", "test", "-q"], guest, env)[0])
    build, test = statistics.median(builds), statistics.median(tests)
    beyond = test - build
    verdict = "ok" if beyond <= 1 else "OVER"
    print(f"\ncargo iso test, 100 recorded calls (median of {RUNS}):")
    print(f"  cargo iso build (up to date)   {ms(build)}")
    print(f"  cargo iso test                 {ms(test)} = {ms(beyond)} beyond the build  (target: at most 1 s)  [{verdict}]")


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


def fixture(parent, name):
    """A copy of tests/fixtures/<name> as a guest crate named `bench-<name>`, depending on this checkout."""
    guest = Path(parent) / f"bench-{name}"
    shutil.copytree(ROOT / "tests" / "fixtures" / name, guest)
    for path in guest.rglob("*"):
        if path.is_file():
            path.write_text(path.read_text().replace("@NAME@", f"bench-{name}").replace("@ISO_ROOT@", str(ROOT)))
    return guest


def runtime():
    """The runtime against raw wasmtime: a wired call, an async call, and throughput over 100 instances."""
    env = dict(os.environ, CARGO_ISO_SHARED_TARGET_DIR=str(ROOT / "target" / "bench-shared"))
    with tempfile.TemporaryDirectory() as parent:
        subprocess.run(["cargo", "iso", "new", "-q", "counter"], cwd=parent, env=env, check=True)
        guests = [Path(parent) / "counter", fixture(parent, "store"), fixture(parent, "front")]
        paths = []
        for guest in guests:
            subprocess.run(["cargo", "iso", "build", "-q", "--release"], cwd=guest, env=env, check=True)
            paths.append(str(guest / "target" / "iso" / "release" / (guest.name.replace("-", "_") + ".wasm")))
        print()
        subprocess.run(["cargo", "run", "--quiet", "--release", "--locked", "-p", "iso-host", "--example", "runtime_bench", "--",
                        *paths], cwd=ROOT, check=True)


def nats():
    """A remote call over NATS against a bare request/reply of the same bytes; calls per second through one and two hosts."""
    env = dict(os.environ, CARGO_ISO_SHARED_TARGET_DIR=str(ROOT / "target" / "bench-shared"))
    with tempfile.TemporaryDirectory() as parent:
        guest = fixture(parent, "store")
        subprocess.run(["cargo", "iso", "build", "-q", "--release"], cwd=guest, env=env, check=True)
        subprocess.run(["cargo", "run", "--quiet", "--release", "--locked", "-p", "iso-nats", "--example", "nats_bench", "--",
                        str(guest / "target" / "iso" / "release" / "bench_store.wasm")], cwd=ROOT, check=True)


def misbehave_release(parent):
    """The misbehave fixture built for release in `parent`; its component's path."""
    env = dict(os.environ, CARGO_ISO_SHARED_TARGET_DIR=str(ROOT / "target" / "bench-shared"))
    guest = fixture(parent, "misbehave")
    subprocess.run(["cargo", "iso", "build", "-q", "--release"], cwd=guest, env=env, check=True)
    return guest / "target" / "iso" / "release" / "bench_misbehave.wasm"


def example(name, *args):
    """Runs iso-host's example `name` (a bench) in release."""
    subprocess.run(["cargo", "run", "--quiet", "--release", "--locked", "-p", "iso-host", "--example", name, "--",
                    *map(str, args)], cwd=ROOT, check=True)


def storage():
    """Durable kv: a committed call against the same call in memory and against a bare fsync."""
    with tempfile.TemporaryDirectory() as parent:
        wasm = misbehave_release(parent)
        # On the disk the data folder would be on (target/), not a tmpfs.
        scratch = ROOT / "target" / "bench-storage"
        shutil.rmtree(scratch, ignore_errors=True)
        example("storage_bench", wasm, scratch)
        shutil.rmtree(scratch, ignore_errors=True)


def versions():
    """A call to the primary with a candidate shadowing it, against the same call without;
    a call logged to the event log, against the same call not logged."""
    with tempfile.TemporaryDirectory() as parent:
        example("versions_bench", misbehave_release(parent), Path(parent) / "data")


def state_save_restore():
    print()
    subprocess.run(["cargo", "run", "--quiet", "--release", "--locked", "-p", "iso-schema", "--example", "state_bench"], cwd=ROOT, check=True)


class DevHost:
    """`cargo-iso iso dev --watch` on a guest (run directly, so its pid is the host's)."""

    def __init__(self, guest, env):
        binary = shutil.which("cargo-iso") or sys.exit("bench: cargo-iso is not installed")
        self.proc = subprocess.Popen([binary, "iso", "dev", "--watch"], cwd=guest, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.wait_for("Serving")

    def wait_for(self, needle):
        for line in self.proc.stderr:
            if needle in line:
                return line
            if line.lstrip().startswith("error"):
                sys.exit(f"bench: dev host: {line}")
        sys.exit(f"bench: the dev host ended before printing {needle!r}")

    def call(self, call):
        self.proc.stdin.write(call + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def rss_kib(self):
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", status).group(1))

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def edit_get(lib, original, k):
    lib.write_text(original.replace("state().count\n", f"state().count + {k}\n"))


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def dev_reload():
    """Edit-to-live latency of `dev --watch` next to the bare incremental cargo build of the same edit."""
    edits = int(os.environ.get("BENCH_RELOADS", "20"))
    env = dict(os.environ, CARGO_ISO_SHARED_TARGET_DIR=str(ROOT / "target" / "bench-shared"), CARGO_TERM_COLOR="never")
    with tempfile.TemporaryDirectory() as parent:
        subprocess.run(["cargo", "iso", "new", "-q", "live"], cwd=parent, env=env, check=True)
        guest = Path(parent) / "live"
        bare = Path(parent) / "bare"
        shutil.copytree(guest, bare)
        bare_build = ["cargo", "build", "-q", "--lib", "--target", "wasm32-unknown-unknown"]
        run(bare_build, bare)  # warm its own target dir
        host = DevHost(guest, env)
        lib, bare_lib = guest / "src" / "lib.rs", bare / "src" / "lib.rs"
        original = lib.read_text()
        live, raw, after_build = [], [], []
        host.call("increment(1)")
        for k in range(1, edits + 1):  # interleaved, so load spikes hit both
            start = time.perf_counter()
            edit_get(lib, original, k)
            line = host.wait_for("Reloaded")
            live.append(time.perf_counter() - start)
            stages = dict((name, int(value)) for name, value in re.findall(r"(\w+) (\d+)", line.split(":", 1)[1]))
            after_build.append(stages["componentize"] + stages["compile"] + stages["swap"])
            if host.call("get()") != str(1 + k):
                sys.exit(f"bench: version {k} answered wrongly")
            edit_get(bare_lib, original, k)
            raw.append(run(bare_build, bare)[0])
        live_med, raw_med = statistics.median(live), statistics.median(raw)
        post = statistics.median(after_build)
        print(f"\ndev --watch, edit to live ({edits} edits of the counter's `get`)")
        print(f"  bare incremental cargo build    median {ms(raw_med)}, p95 {ms(percentile(raw, 0.95))}")
        print(f"  edit to live (dev --watch)      median {ms(live_med)}, p95 {ms(percentile(live, 0.95))}"
              f"  = {live_med / raw_med:.2f}x bare  (target 1.15x) [{'ok' if live_med <= 1.15 * raw_med else 'OVER'}]")
        print(f"  last status line: {line.strip()}")
        print(f"  stages after the build (componentize + compile + swap): median {post} ms, max {max(after_build)} ms"
              f"  (target 50 ms) [{'ok' if post <= 50 else 'OVER'}]")
        reload_memory(host, lib, original, count=1)
        host.close()


def pair_reload():
    """Edit-to-live of the store in the `pair` template under `dev --watch`, next to the bare
    incremental cargo build of the store alone; the front must not be rebuilt."""
    edits = int(os.environ.get("BENCH_RELOADS", "20"))
    env = dict(os.environ, CARGO_ISO_SHARED_TARGET_DIR=str(ROOT / "target" / "bench-shared"), CARGO_TERM_COLOR="never")
    with tempfile.TemporaryDirectory() as parent:
        subprocess.run(["cargo", "iso", "new", "-q", "shop", "--template", "pair"], cwd=parent, env=env, check=True)
        shop = Path(parent) / "shop"
        bare = Path(parent) / "bare"
        shutil.copytree(shop, bare)
        bare_build = ["cargo", "build", "-q", "--lib", "--target", "wasm32-unknown-unknown", "-p", "store"]
        run(bare_build, bare)  # warm its own target dir
        host = DevHost(shop, env)
        lib, bare_lib = shop / "store" / "src" / "lib.rs", bare / "store" / "src" / "lib.rs"
        original = lib.read_text()
        step = lambda path, k: path.write_text(original.replace("*visits += 1;", f"*visits += {k};"))
        live, raw = [], []
        visits = int(re.search(r"visit (\d+)", host.call('greet("ada")')).group(1))
        for k in range(1, edits + 1):  # interleaved, so load spikes hit both
            start = time.perf_counter()
            step(lib, k)
            line = host.wait_for("Reloaded")
            live.append(time.perf_counter() - start)
            if "Reloaded store" not in line or "front unchanged" not in line:
                sys.exit(f"bench: expected the store alone to reload: {line}")
            visits += k
            if host.call('greet("ada")') != f'"hello ada, visit {visits}"':
                sys.exit(f"bench: version {k} of the store answered wrongly (or lost its state)")
            step(bare_lib, k)
            raw.append(run(bare_build, bare)[0])
        live_med, raw_med = statistics.median(live), statistics.median(raw)
        print(f"\ndev --watch on the pair template, edit to live ({edits} edits of the store)")
        print(f"  bare incremental cargo build of the store   median {ms(raw_med)}, p95 {ms(percentile(raw, 0.95))}")
        print(f"  edit to live (dev --watch)                  median {ms(live_med)}, p95 {ms(percentile(live, 0.95))}"
              f"  = {live_med / raw_med:.2f}x bare  (target 1.15x) [{'ok' if live_med <= 1.15 * raw_med else 'OVER'}]")
        print(f"  last status line: {line.strip()}")
        host.close()


def reload_memory(host, lib, original, count):
    """RSS after the 10th and the 100th reload in a row; every reload must keep the state."""
    rss = {}
    for n in range(1, 101):
        edit_get(lib, original, 1000 + n)
        host.wait_for("Reloaded")
        count += 1
        if host.call("increment(1)") != str(count):
            sys.exit(f"bench: reload {n} lost the state (expected count {count})")
        if n in (10, 100):
            rss[n] = host.rss_kib()
    growth = rss[100] / rss[10] - 1
    print(f"\n100 reloads in a row: RSS after the 10th {rss[10] // 1024} MiB, after the 100th {rss[100] // 1024} MiB"
          f" = {growth * 100:+.1f}%  (target within 20%) [{'ok' if abs(growth) <= 0.2 else 'OVER'}]")


def first_dev():
    """The first `dev` after `build` on a new counter, in a cold build cache: it builds the
    guest's dependencies once more, for the lean `iso-dev` profile; a second start does not."""
    shared = ROOT / "target" / "bench-first-dev"
    shutil.rmtree(shared, ignore_errors=True)
    env = dict(os.environ, CARGO_ISO_SHARED_TARGET_DIR=str(shared), CARGO_TERM_COLOR="never")
    with tempfile.TemporaryDirectory() as parent:
        subprocess.run(["cargo", "iso", "new", "-q", "first"], cwd=parent, env=env, check=True)
        guest = Path(parent) / "first"
        build, _ = run(["cargo", "iso", "build", "-q"], guest, env)
        starts = []
        for _ in range(2):
            start = time.perf_counter()
            host = DevHost(guest, env)
            starts.append(time.perf_counter() - start)
            host.close()
    shutil.rmtree(shared, ignore_errors=True)
    print(f"\nfirst cargo iso dev after cargo iso build (new counter, cold build cache)")
    print(f"  cargo iso build, cold               {build:.1f} s")
    print(f"  first cargo iso dev, to serving     {starts[0]:.1f} s  = {starts[0] / build:.2f}x the cold build"
          f"  (dependencies built once more for the iso-dev profile; the status line says so)")
    print(f"  second cargo iso dev, to serving    {starts[1]:.1f} s  = {starts[1] / build:.2f}x the cold build")


def check_compat():
    """check-compat on two template-size release components given as .wasm files."""
    env = dict(os.environ, CARGO_ISO_SHARED_TARGET_DIR=str(ROOT / "target" / "bench-shared"))
    with tempfile.TemporaryDirectory() as parent:
        subprocess.run(["cargo", "iso", "new", "-q", "compat"], cwd=parent, env=env, check=True)
        guest = Path(parent) / "compat"
        paths = []
        for version, body in (("v1", "state().count"), ("v2", "state().count * 2")):
            lib = guest / "src" / "lib.rs"
            lib.write_text(lib.read_text().replace("state().count\n", body + "\n", 1))
            subprocess.run(["cargo", "iso", "build", "-q", "--release"], cwd=guest, env=env, check=True)
            path = Path(parent) / f"{version}.wasm"
            shutil.copy(guest / "target" / "iso" / "release" / "compat.wasm", path)
            paths.append(str(path))
        times = [run(["cargo-iso", "iso", "check-compat", *paths], parent)[0] for _ in range(RUNS)]
    median = statistics.median(times)
    print(f"\ncheck-compat, two release counter components (.wasm, state schemas read too), {RUNS} runs:"
          f" median {ms(median)}  (target 100 ms) [{'ok' if median <= 0.1 else 'OVER'}]")


if __name__ == "__main__":
    if sys.argv[1:] == ["check-compat"]:
        check_compat()
        sys.exit()
    if sys.argv[1:] == ["dev"]:
        dev_reload()
        sys.exit()
    if sys.argv[1:] == ["pair"]:
        pair_reload()
        sys.exit()
    if sys.argv[1:] == ["host"]:
        host()
        sys.exit()
    if sys.argv[1:] == ["first-dev"]:
        first_dev()
        sys.exit()
    if sys.argv[1:] == ["runtime"]:
        runtime()
        sys.exit()
    if sys.argv[1:] == ["storage"]:
        storage()
        sys.exit()
    if sys.argv[1:] == ["versions"]:
        versions()
        sys.exit()
    if sys.argv[1:] == ["codec"]:
        codec()
        sys.exit()
    if sys.argv[1:] == ["nats"]:
        nats()
        sys.exit()
    if sys.argv[1:] == ["test"]:
        test_run()
        sys.exit()
    main()
    second_guest_first_build()
    state_save_restore()
    host()
    runtime()
    storage()
    versions()
    codec()
    nats()
    test_run()
    dev_reload()
    pair_reload()
    first_dev()
    check_compat()
