#!/usr/bin/env python3
"""Measurement side of bench/connections.sh (standard library only).

    connections.py PORT NOTIFY_SOCKET PID WATCHDOG_SECONDS DURATION_SECONDS CONNECTIONS IDLE TRICKLE

Phase 1 (baseline): wrk POSTs /tasks at CONNECTIONS connections for DURATION while a prober sends
GET /healthz on a fresh connection every 50 ms. Phase 2: IDLE keep-alive connections (each sent one
request and read its answer, then stays silent) and TRICKLE connections that send one byte of a
request head every 10 s are opened and held, the daemon's RSS is read before and after, and phase 1
is run again with them held. Phase 3: they are closed and phase 1 runs once more, so the ratio
compares the held run with the mean of the runs before and after it (the tables grow and
PostgreSQL's speed drifts during a run). Throughout, the WATCHDOG=1 datagrams on NOTIFY_SOCKET are
timed.
Prints KEY=VALUE lines that connections.sh turns into the summary.
"""
import os, re, selectors, socket, subprocess, sys, threading, time

port, notify_path, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
watchdog_s, duration, connections, idle_n, trickle_n = float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
lua = os.path.join(os.path.dirname(os.path.abspath(__file__)), "api.lua")

pings = []
stop = threading.Event()  # ends the trickling
done = threading.Event()  # ends the watch of the pings

def watch_pings(sock):
    sock.settimeout(0.2)
    while not done.is_set():
        try:
            data = sock.recv(4096)
        except socket.timeout:
            continue
        if b"WATCHDOG=1" in data:
            pings.append(time.monotonic())

def rss_kb():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

def probe(latencies, until):
    request = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
    failures = 0
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5, source_address=("127.0.0.2", 0)) as s:
                s.sendall(request)
                answer = s.recv(64)
            if not answer.startswith(b"HTTP/1.1 200"):
                failures += 1
            latencies.append((time.monotonic() - started) * 1000)
        except OSError:
            failures += 1
        time.sleep(max(0, 0.05 - (time.monotonic() - started)))
    return failures

def percentile(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q + 0.999999) - 1)]

def run_load(label):
    latencies = []
    result = {}
    until = time.monotonic() + duration + 1
    prober = threading.Thread(target=lambda: result.setdefault("failures", probe(latencies, until)))
    prober.start()
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", lua, f"http://127.0.0.1:{port}/tasks"],
                         capture_output=True, text=True)
    prober.join()
    sys.stderr.write(out.stdout + out.stderr)
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out.stdout).group(1))
    p99 = float(re.search(r"p99_us=([0-9.]+)", out.stdout).group(1)) / 1000
    errors = sum(int(x) for x in re.findall(r"(?:non2xx|connect|read|write|timeout)=([0-9]+)", out.stdout.split("BENCH", 1)[-1]))
    print(f"{label}_rps={rps:.0f}")
    print(f"{label}_p99_ms={p99:.2f}")
    print(f"{label}_errors={errors}")
    print(f"{label}_healthz_p99_ms={percentile(latencies, 0.99):.2f}")
    print(f"{label}_healthz_max_ms={max(latencies) if latencies else float('nan'):.2f}")
    print(f"{label}_healthz_failures={result.get('failures', 0)}")
    return rps

def hold(idle, trickle):
    """Opens the connections; returns them with a thread that trickles bytes."""
    held = []
    request = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    sel = selectors.DefaultSelector()
    # Spread over 127.0.0.0/8 so that no per-address limit applies either way.
    def connect(n):
        source = f"127.1.{(n // 250) % 250}.{n % 250 + 1}"
        s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
        return s
    for n in range(idle):
        s = connect(n)
        s.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                raise SystemExit(f"idle connection {n} closed before its answer")
            answer += chunk
        held.append(s)
    trickling = []
    for n in range(trickle):
        s = connect(idle + n)
        s.sendall(b"G")
        trickling.append(s)
    head = b"ET /healthz HTTP/1.1\r\nHost: x\r\nX-Trickle: " + b"a" * 4096
    def trickler():
        offset = 0
        while not stop.is_set():
            if stop.wait(10):
                break
            byte = head[offset % len(head):offset % len(head) + 1]
            offset += 1
            for s in trickling:
                try:
                    s.send(byte)
                except OSError:
                    pass
    thread = threading.Thread(target=trickler, daemon=True)
    thread.start()
    return held + trickling

notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify.bind(notify_path)
threading.Thread(target=watch_pings, args=(notify,), daemon=True).start()
time.sleep(watchdog_s)  # the first pings
started = time.monotonic()
base_rps = run_load("base")
rss_before = rss_kb()
held = hold(idle_n, trickle_n)
time.sleep(2)
rss_after = rss_kb()
print(f"held={len(held)}")
print(f"rss_before_kb={rss_before}")
print(f"rss_after_kb={rss_after}")
print(f"rss_per_connection_bytes={(rss_after - rss_before) * 1024 / max(1, len(held)):.0f}")
held_rps = run_load("held")
time.sleep(12)  # one more trickle round while the connections are held
stop.set()
for s in held:
    s.close()
time.sleep(2)
after_rps = run_load("after")
ended = time.monotonic()
done.set()
window = [t for t in pings if started <= t <= ended]
gaps = [b - a for a, b in zip(window, window[1:])]
alone = (base_rps + after_rps) / 2
print(f"ratio={held_rps / alone if alone else 0:.2f}")
print(f"pings={len(window)}")
print(f"max_ping_gap_s={max(gaps) if gaps else float('nan'):.2f}")
print(f"run_s={ended - started:.0f}")
