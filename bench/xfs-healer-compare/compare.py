#!/usr/bin/env python3
"""Side-by-side benchmark of xfsprogs' xfs_healer and `fshealer xfs-healer`, as whole processes, on one stream.

Run through bench/xfs-healer-compare.sh (it builds the shim, finds both binaries and enters a private mount
namespace). Here: make a scratch XFS on a loop device, write the streams, then for each mode run the two programs
in alternated pairs — each on COUNT records and on 2 records, so start-up can be subtracted — and report medians and
spread of the net events/s, peak RSS, idle RSS, system call counts (strace -c -f) and whether stdout/stderr/exit
codes were identical. Both programs run under the name "xfs_healer" (a symlink), with stdout to /dev/null.
"""
import argparse
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mkstream  # noqa: E402

MODES = {
    "default": [],
    "quiet": ["--quiet"],
    "repair": ["--repair", "--quiet"],
}
LABEL = {"default": "default (one line per event)", "quiet": "`--quiet`", "repair": "`--repair --quiet`"}
GOAL = {"default": 2.0, "quiet": 3.0, "repair": 1.5}


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout.strip()


class Scratch:
    """A 1 GiB sparse image on a loop device, XFS with rmapbt (so the autofsck default is "log only"), mounted."""

    def __init__(self, work):
        self.img = os.path.join(work, "img")
        self.mnt = os.path.join(work, "mnt")
        self.loop = None
        self.mounted = False
        os.makedirs(self.mnt)
        with open(self.img, "wb") as f:
            f.truncate(1 << 30)
        self.loop = sh("losetup", "-f", "--show", self.img)
        sh("mkfs.xfs", "-q", "-f", "-m", "rmapbt=1", self.loop)
        sh("mount", "-t", "xfs", self.loop, self.mnt)
        self.mounted = True

    def close(self):
        if self.mounted:
            subprocess.run(["umount", self.mnt], check=False)
        if self.loop:
            subprocess.run(["losetup", "-d", self.loop], check=False)


RUNRSS = None


def run(prog, args, mnt, env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
    """One whole process (prog: (command list, extra environment)), started and timed by runrss (a fork from this
    Python process would inherit its 20 MiB peak RSS); returns (wall s, cpu s, peak RSS KiB, exit code)."""
    res = os.path.join(os.path.dirname(RUNRSS), "runrss.out")
    subprocess.run([RUNRSS, res, *prog[0], *args, mnt], env=dict(env, **prog[1]), stdout=stdout, stderr=stderr, check=True)
    with open(res) as f:
        wall, cpu, rss, rc = f.read().split()
    return float(wall), float(cpu), int(rss), int(rc)


def idle_rss(prog, args, mnt, env, work, seconds):
    """Resident set after `seconds` waiting on an empty monitor (a FIFO the shim hands out as the monitor fd)."""
    fifo = os.path.join(work, "idle.fifo")
    if os.path.exists(fifo):
        os.unlink(fifo)
    os.mkfifo(fifo)
    e = dict(env, HEALTHMON_SHIM_STREAM=fifo, **prog[1])
    p = subprocess.Popen([*prog[0], *args, mnt], env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:  # the shim opens the FIFO for reading when the program opens its monitor
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:
            if p.poll() is not None or time.monotonic() > deadline:
                p.kill()
                raise SystemExit(f"{prog}: never opened the monitor (exit {p.poll()})")
            time.sleep(0.01)
    os.set_blocking(fd, True)
    with open(fd, "wb", buffering=0) as w:
        w.write(mkstream.rec(mkstream.MOUNT, mkstream.RUNNING))
        time.sleep(seconds)
        rss = hwm = 0
        with open(f"/proc/{p.pid}/status") as st:
            for line in st:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
        w.write(mkstream.rec(mkstream.MOUNT, mkstream.UNMOUNT))
    p.wait(timeout=60)
    return rss, hwm


def strace_counts(prog, args, mnt, env, work, tag):
    out = os.path.join(work, f"strace-{tag}.txt")
    subprocess.run(["strace", "-c", "-f", "-o", out, *prog[0], *args, mnt], env=dict(env, **prog[1]),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    counts = {}
    with open(out) as f:
        for line in f:
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", line)
            if m:
                counts[m.group(2)] = int(m.group(1))
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?total\s*$", line)
            if m:
                counts["total"] = int(m.group(1))
    return counts


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt_range(xs, scale=1.0, unit="", digits=2):
    if not xs:
        return "–"
    return f"{med(xs) * scale:.{digits}f}{unit} ({min(xs) * scale:.{digits}f}–{max(xs) * scale:.{digits}f})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xfs-healer", required=True)
    ap.add_argument("--fshealer", required=True, help="the fshealer binary: runs `fshealer xfs-healer ARGS`")
    ap.add_argument("--dropin", help="the fshealer-xfs-healer binary (the per-mount drop-in)")
    ap.add_argument("--shim", required=True)
    ap.add_argument("--runrss", required=True)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--modes", default="default,quiet,repair")
    ap.add_argument("--strace-records", type=int, default=100_000)
    ap.add_argument("--no-strace", action="store_true")
    ap.add_argument("--idle-seconds", type=float, default=6.0)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    modes = [m for m in a.modes.split(",") if m]
    global RUNRSS
    RUNRSS = os.path.abspath(a.runrss)

    work = tempfile.mkdtemp(prefix="fshealer-xhc-")
    scratch = None
    try:
        # the released program as installed (argv[0] ".../xfs_healer"), fshealer's two ways to run the drop-in
        d = os.path.join(work, "xfs_healer")
        os.makedirs(d)
        os.symlink(os.path.abspath(a.xfs_healer), os.path.join(d, "xfs_healer"))
        progs = {"xfs_healer": ([os.path.join(d, "xfs_healer")], {})}
        if a.dropin:
            progs["fshealer-xfs-healer"] = ([os.path.abspath(a.dropin)], {})
        # `fshealer xfs-healer` as installed (it hands over to fshealer-xfs-healer beside it before its runtime starts),
        # and kept in the 14 MB binary
        progs["fshealer xfs-healer"] = ([os.path.abspath(a.fshealer), "xfs-healer"], {})
        progs["fshealer xfs-healer, in-process"] = ([os.path.abspath(a.fshealer), "xfs-healer"], {"FSHEALER_XFS_HEALER_INPROCESS": "1"})
        scratch = Scratch(work)
        big, small, mid = (os.path.join(work, f"s{n}") for n in ("big", "small", "mid"))
        mkstream.main(["mkstream", big, str(a.records)])
        mkstream.main(["mkstream", small, "2"])
        mkstream.main(["mkstream", mid, str(a.strace_records)])
        base = dict(os.environ, LD_PRELOAD=os.path.abspath(a.shim))
        base.pop("SERVICE_MODE", None)
        load0 = os.getloadavg()

        results = {}
        for mode in modes:
            args = MODES[mode]
            r = {n: {"big": [], "small": [], "cpub": [], "cpus": [], "rss": []} for n in progs}
            for pair in range(a.pairs):
                order = list(progs) if pair % 2 == 0 else list(reversed(progs))   # alternated
                for n in order:
                    wb, cb, mb, rcb = run(progs[n], args, scratch.mnt, dict(base, HEALTHMON_SHIM_STREAM=big))
                    ws, cs, _, rcs = run(progs[n], args, scratch.mnt, dict(base, HEALTHMON_SHIM_STREAM=small))
                    if rcb != 0 or rcs != 0:
                        raise SystemExit(f"{n} {mode}: exit code {rcb}/{rcs}")
                    r[n]["big"].append(wb)
                    r[n]["small"].append(ws)
                    r[n]["cpub"].append(cb)
                    r[n]["cpus"].append(cs)
                    r[n]["rss"].append(mb / 1024)
                    print(f"  {mode:8} round {pair + 1} {n:20}: {wb:7.3f} s ({ws * 1000:.1f} ms for 2), "
                          f"cpu {cb:6.3f} s, peak {mb / 1024:.1f} MiB", flush=True)
            # same output?
            same = {}
            outs = {}
            for n in progs:
                o, e = os.path.join(work, f"{mode}-{n}.out"), os.path.join(work, f"{mode}-{n}.err")
                with open(o, "wb") as fo, open(e, "wb") as fe:
                    _, _, _, rc = run(progs[n], args, scratch.mnt, dict(base, HEALTHMON_SHIM_STREAM=mid), fo, fe)
                outs[n] = (digest(o), digest(e), rc)
            same = {n: outs[n] == outs["xfs_healer"] for n in progs if n != "xfs_healer"}
            idle = {n: idle_rss(progs[n], args, scratch.mnt, base, work, a.idle_seconds) for n in progs}
            sc = {}
            if not a.no_strace and shutil.which("strace"):
                for n in progs:
                    sc[n] = strace_counts(progs[n], args, scratch.mnt, dict(base, HEALTHMON_SHIM_STREAM=mid), work, f"{mode}-{n}")
            # start-up = the fastest of the 2-record runs (on a loaded machine the noise only ever adds time)
            for n in progs:
                s0, c0 = min(r[n]["small"]), min(r[n]["cpus"])
                r[n]["net"] = [b - s0 for b in r[n]["big"]]
                r[n]["cpu"] = [c - c0 for c in r[n]["cpub"]]
            results[mode] = (r, same, outs, idle, sc)
        load1 = os.getloadavg()

        ev = a.records - 2
        print()
        print(f"{a.records:,} records, {a.pairs} rounds (each program in turn, order alternated), net of start-up (time for "
              f"{a.records:,} records minus the fastest run on 2 records); medians (min–max). "
              f"Load average {load0[0]:.1f} → {load1[0]:.1f} on {os.cpu_count()} CPUs.")
        print()
        ours = [n for n in progs if n != "xfs_healer"]
        print("| mode | program | net time for the storm | events/s | ratio (xfs_healer's time / ours) | goal "
              "| CPU time | peak RSS (storm) | idle RSS | stdout, stderr, exit identical |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for mode, (r, same, outs, idle, sc) in results.items():
            c = r["xfs_healer"]
            print(f"| {LABEL[mode]} | xfs_healer 7.2.0 | {fmt_range(c['net'], unit=' s')} | {ev / med(c['net']) / 1e6:.2f} M/s "
                  f"| | | {med(c['cpu']):.2f} s | {fmt_range(c['rss'], digits=1)} MiB | {idle['xfs_healer'][0] / 1024:.1f} MiB | |")
            for n in ours:
                f = r[n]
                ratio = med(c["net"]) / med(f["net"])
                paired = [cn / fn for cn, fn in zip(c["net"], f["net"])]   # same round, adjacent runs
                print(f"| | {n} | {fmt_range(f['net'], unit=' s')} | {ev / med(f['net']) / 1e6:.2f} M/s "
                      f"| **{ratio:.2f}×** (rounds {min(paired):.2f}–{max(paired):.2f}) "
                      f"| ≥ {GOAL[mode]}× {'✔' if ratio >= GOAL[mode] else '✘'} "
                      f"| {med(f['cpu']):.2f} s ({med(c['cpu']) / med(f['cpu']):.1f}× less) "
                      f"| {fmt_range(f['rss'], digits=1)} MiB {'✔' if max(f['rss']) <= 8 else '✘'} "
                      f"| {idle[n][0] / 1024:.1f} MiB {'✔' if idle[n][0] <= 6 * 1024 else '✘'} "
                      f"| {'yes' if same[n] else 'NO'} |")
        if any(res[4] for res in results.values()):
            print()
            print(f"System calls for {a.strace_records:,} records (strace -c -f; the shim's answers are not system calls):")
            print()
            keys = ["total", "write", "read", "futex", "madvise", "openat", "ioctl", "close", "mmap", "munmap", "mprotect"]
            print("| mode | program | " + " | ".join(keys) + " |")
            print("|---|---|" + "---|" * len(keys))
            for mode, (_, _, _, _, sc) in results.items():
                for n in sc:
                    print(f"| {mode} | {n} | " + " | ".join(f"{sc[n].get(k, 0):,}" for k in keys) + " |")
        for mode, (_, same, outs, _, _) in results.items():
            if not all(same.values()):
                print(f"\n{mode}: outputs differ: {outs} (kept in {work})")
                a.keep = True
    finally:
        if scratch:
            scratch.close()
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work directory kept: {work}")


if __name__ == "__main__":
    main()
