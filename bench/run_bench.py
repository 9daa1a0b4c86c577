#!/usr/bin/python3
"""The cost of a login with pam_verif8, against the floor of its three bare libcurl requests.

Every login runs in a process of its own (bench_login, a small PAM application), as under sshd;
the measured series run real libpam with the service file from a temp dir (pam_start_confdir)
for the machine's root user, with no test wrapper in the process. The floor (bench_floor) makes
the same three HTTPS requests (send, status read, check) with bare libcurl and the same TLS
settings, one process per login.
The load test needs many users, so it runs under nss_wrapper and pam_wrapper. CPU is the
process's user+sys time from wait4(2); peak RSS is its ru_maxrss. verif8-sandbox answers on
127.0.0.1; its own CPU is not counted. Prints figures only: there is no pass or fail.

usage: bench/run_bench.py [--build DIR] [-n LOGINS] [--load-logins N] [--workers N]"""

import argparse
import concurrent.futures
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "harness"))

import verif8_harness as harness  # noqa: E402

PAM_AUTHINFO_UNAVAIL = 9


BENCH_RUN = None  # set in main: the small launcher that measures each process


def run_measured(command, env):
    """Runs one process to its end: (exit status, cpu ms, wall ms, peak RSS KiB, stdout)."""
    result = subprocess.run([BENCH_RUN] + command, env=env, capture_output=True, text=True)
    report = result.stderr.strip().splitlines()[-1]
    fields = dict(item.split("=", 1) for item in report.split()[1:])
    return (int(fields["status"]), float(fields["cpu_ms"]), float(fields["wall_ms"]),
            int(fields["maxrss_kb"]), result.stdout)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class Series:
    def __init__(self, name):
        self.name = name
        self.cpu, self.wall, self.rss, self.failures = [], [], [], 0

    def add(self, status, cpu, wall, rss):
        if status != 0:
            self.failures += 1
        self.cpu.append(cpu)
        self.wall.append(wall)
        self.rss.append(rss)

    def median(self, values):
        return statistics.median(values) if values else float("nan")

    def line(self):
        return (f"{self.name:<34} cpu {self.median(self.cpu):6.2f} / {percentile(self.cpu, .95):6.2f}"
                f"   wall {self.median(self.wall):6.2f} / {percentile(self.wall, .95):6.2f}"
                f"   rss {max(self.rss) / 1024:5.1f} MiB"
                + (f"   FAILED {self.failures}" if self.failures else ""))


def ratio_line(name, module, floor):
    return (f"{name:<34} cpu {module.median(module.cpu) / floor.median(floor.cpu):5.2f}x"
            f"   wall {module.median(module.wall) / floor.median(floor.wall):5.2f}x"
            f"   rss {max(module.rss) / max(floor.rss):5.2f}x")


def system_store_copy(target, extra_ca):
    """A copy of the system's trust store, bundle and hashed directory, plus the sandbox CA."""
    directory = target / "certs"
    directory.mkdir(parents=True)
    for pem in Path("/etc/ssl/certs").glob("*.pem"):
        shutil.copyfile(pem.resolve(), directory / pem.name)
    shutil.copyfile(extra_ca, directory / "verif8-sandbox-ca.pem")
    subprocess.run(["openssl", "rehash", str(directory)], check=True)
    bundle = target / "ca-certificates.crt"
    bundle.write_bytes(Path("/etc/ssl/certs/ca-certificates.crt").read_bytes()
                       + Path(extra_ca).read_bytes())
    count = len(list(directory.glob("*.pem")))
    return directory, bundle, count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=str(ROOT / "build"))
    parser.add_argument("-n", "--logins", type=int, default=50)
    parser.add_argument("--load-logins", type=int, default=200)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    build = Path(args.build).resolve()
    module = build / "src" / "pam_verif8.so"
    bench_login = str(build / "bench" / "bench_login")
    bench_floor = str(build / "bench" / "bench_floor")
    bench_load = str(build / "bench" / "bench_load")
    global BENCH_RUN
    BENCH_RUN = str(build / "bench" / "bench_run")

    work = harness.temp_dir("verif8-bench-")
    # u000-u003 for the series, the load test's own users, and two for the outage figures.
    count = max(args.load_logins, 4) + 2
    users = {f"u{i:03d}": (3000 + i, f"u{i:03d} +6590{i:06d} sms") for i in range(count)}
    # The measured series log in as the machine's root (it exists without nss_wrapper); the
    # users file gives root a number of its own. Nothing of the machine is changed.
    root_phone = "+6599999999"
    down_user, failover_user = f"u{count - 2:03d}", f"u{count - 1:03d}"
    try:
        world = harness.PamWorld(work / "world", users=users)
        with open(world.users_file, "a") as users_file:
            users_file.write(f"root {root_phone} sms\n")
        confdir = work / "pam.d"
        confdir.mkdir()
        with harness.Sandbox(work / "sandbox", extra_args=["--quiet", "--tls-faults"],
                             stdout=open(work / "sandbox.out", "w")) as sandbox:
            certs, bundle, ca_count = system_store_copy(work / "store", sandbox.ca_file)
            permit = harness.system_module("pam_permit.so")

            def service(name, **overrides):
                settings = dict(state_dir=work / f"state-{name}", user_send_limit="1000/1",
                                source_send_limit="1000/1", phone_send_limit="1000/1")
                settings.update(overrides)
                config = harness.write_secure(work / f"{name}.conf", harness.config_text(
                    sandbox, world.users_file, **settings))
                world.service(name, module, f"conf={config}")
                (confdir / name).write_text(f"auth required {module} conf={config}\n")

            service("system", ca_file=None, ca_path=certs)
            service("bundle", ca_file=bundle)
            service("onefile")
            service("down", api_url=sandbox.info["blackhole"], connect_timeout="2")
            service("failover", api_url=f"{sandbox.info['blackhole']} {sandbox.url}",
                    connect_timeout="2")
            (world.services / "noop").write_text(f"auth required {permit}\n")
            (confdir / "noop").write_text(f"auth required {permit}\n")
            env = world.env()
            env["PAM_WRAPPER_DEBUGLEVEL"] = "0"

            def login(name, user):
                return run_measured([bench_login, name, user, users[user][1].split()[1],
                                     sandbox.outbox], env)

            def root_login(name):
                # Real libpam and the real NSS, no wrapper: what sshd's child would run.
                return run_measured([bench_login, name, "root", root_phone, sandbox.outbox,
                                     str(confdir)], os.environ)

            def floor(user, store_flag, store):
                return run_measured([bench_floor, sandbox.url, sandbox.subaccount, sandbox.api_key,
                                     users[user][1].split()[1], sandbox.outbox, store_flag,
                                     str(store)], os.environ)

            series = {name: Series(title) for name, title in [
                ("module-system", "module, system store (ca_path)"),
                ("floor-system", "floor, system store (hashed dir)"),
                ("module-onefile", "module, ca_file with one CA"),
                ("floor-onefile", "floor, one CA file"),
                ("module-bundle", "module, whole bundle (ca_file)"),
                ("pam-noop", "PAM app alone, pam_permit"),
            ]}
            prompts = []
            for _ in range(args.logins):  # interleaved, so that drift hits every series alike
                status, cpu, wall, rss, out = root_login("system")
                series["module-system"].add(status, cpu, wall, rss)
                prompts.append(float(out.split("prompt_ms=")[1]))
                series["floor-system"].add(*floor("u001", "--ca-path", certs)[:4])
                series["module-onefile"].add(*root_login("onefile")[:4])
                series["floor-onefile"].add(*floor("u003", "--ca-file", sandbox.ca_file)[:4])
                series["module-bundle"].add(*root_login("bundle")[:4])
                series["pam-noop"].add(*run_measured([bench_login, "noop", "root", "+0",
                                                      sandbox.outbox, str(confdir)],
                                                     os.environ)[:4])

            loads = {}
            # libpam is what every PAM host has loaded already, libstdc++ what a module linked
            # with the shared C++ runtime would add to a C host such as sshd.
            for name, target in [("nothing", None), ("libc.so.6", "libc.so.6"),
                                 ("libpam.so.0", "libpam.so.0"),
                                 ("libstdc++.so.6", "libstdc++.so.6"),
                                 ("libcurl.so.4", "libcurl.so.4"), ("pam_verif8.so", str(module))]:
                cpus = [run_measured([bench_load] + ([target] if target else []), os.environ)[1]
                        for _ in range(args.logins)]
                loads[name] = statistics.median(cpus)

            # Under load: distinct users, so that no two logins share a destination.
            load_users = [f"u{i:03d}" for i in range(args.load_logins)]
            started = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(args.workers) as pool:
                results = list(pool.map(lambda user: login("system", user), load_users))
            load_wall = time.monotonic() - started
            load_ok = sum(1 for status, *_ in results if status == 0)

            down_status, _, down_wall, _, _ = login("down", down_user)
            over_status, _, over_wall, _, _ = login("failover", failover_user)
    finally:
        harness.remove_tree(work)

    print(f"pam_verif8 login benchmark: {args.logins} logins per series, one process per login, "
          f"{os.cpu_count()} cores; CPU and wall in ms (median / p95)")
    print(f"system store: {ca_count} CAs, as a hashed directory and as one bundle")
    for name in ("module-system", "floor-system", "module-onefile", "floor-onefile",
                 "module-bundle", "pam-noop"):
        print(series[name].line())
    print(ratio_line("ratio module/floor, system store", series["module-system"],
                     series["floor-system"]))
    print(ratio_line("ratio module/floor, one CA file", series["module-onefile"],
                     series["floor-onefile"]))
    # The module only ever runs inside a PAM application; what it adds is the login minus that
    # application doing nothing.
    noop = series["pam-noop"].median(series["pam-noop"].cpu)
    for name, floor_name, title in [("module-system", "floor-system", "system store"),
                                    ("module-onefile", "floor-onefile", "one CA file")]:
        module_cpu = series[name].median(series[name].cpu) - noop
        floor_cpu = series[floor_name].median(series[floor_name].cpu)
        print(f"{'module net of the PAM app, ' + title:<34} cpu {module_cpu:6.2f} ms = "
              f"{module_cpu / floor_cpu:4.2f}x the floor")
    print("loading (CPU ms per process, median): " + ", ".join(
        f"{name} {ms:.2f}" for name, ms in loads.items()))
    print(f"time to the prompt (pam_authenticate to the code prompt): "
          f"{statistics.median(prompts):.2f} / {percentile(prompts, .95):.2f} ms")
    walls = [wall for _, _, wall, _, _ in results]
    failures = sorted({(status, out.strip()) for status, _, _, _, out in results if status != 0})
    print(f"under load: {args.load_logins} logins, {args.workers} workers: {load_ok} verified, "
          f"{args.load_logins - load_ok} failed, {args.load_logins / load_wall:.1f} logins/s, "
          f"wall p95 {percentile(walls, .95):.0f} ms"
          + (f"; failures: {failures}" if failures else ""))
    print(f"API down (black hole, connect_timeout 2 s): decided in {down_wall / 1000:.2f} s "
          f"({'PAM_AUTHINFO_UNAVAIL' if down_status == 1 else 'exit ' + str(down_status)})")
    print(f"two URLs (black hole, then the sandbox): "
          f"{'verified' if over_status == 0 else 'NOT verified'} in {over_wall / 1000:.2f} s")
    failed = sum(s.failures for s in series.values()) + (args.load_logins - load_ok) + (
        over_status != 0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
