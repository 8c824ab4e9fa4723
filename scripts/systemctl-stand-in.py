#!/usr/bin/python3
"""systemctl inside scripts/test-deb.sh's scratch host, where systemd is not booted (it must never
run as PID 1 on the test machine). It logs every call to /run/systemctl-stand-in/calls and does
for outboxd's units what systemd does for them:

  start      the unit's ExecStart as systemd.exec(5) composes it: working directory /, User= and
             Group= with no other groups, UMask=, the manager's PATH, USER/LOGNAME/HOME/SHELL,
             Environment= then EnvironmentFile= (which overrides), INVOCATION_ID and a
             NOTIFY_SOCKET; it returns once READY=1 arrives (Type=notify), or fails when the
             process ends first or TimeoutStartSec (90 s) passes. A supervisor process of its own
             keeps reading the socket and records the exit status (WATCHDOG_USEC is not set).
  stop       SIGTERM to the main process, SIGKILL after TimeoutStopSec; prints nothing.
  restart, try-restart (only a unit that runs), is-active, is-enabled, enable, disable
             (the [Install] WantedBy= links under /etc/systemd/system), daemon-reload (nothing).

State per unit in /run/systemctl-stand-in: <unit>.state (active, inactive, failed), .pid, .exit,
.log (the process's stdout and stderr), .notify (the datagrams received).
"""
import os
import pwd
import grp
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid

STATE = "/run/systemctl-stand-in"


def unit_file(unit):
    for folder in ("/etc/systemd/system", "/lib/systemd/system"):
        path = os.path.join(folder, unit)
        if os.path.isfile(path) and not os.path.islink(path):
            return path
    return None


def parse(unit):
    path = unit_file(unit)
    if path is None:
        raise SystemExit(f"Unit {unit} not found.")
    values = {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line[0] in "#;[" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values.setdefault(key, []).append(value)
    return values


def seconds(text, default):
    if not text:
        return default
    text = text.strip()
    for suffix, factor in (("ms", 0.001), ("min", 60), ("s", 1), ("m", 60)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def read(unit, suffix, default=""):
    try:
        with open(os.path.join(STATE, unit + suffix), encoding="utf-8") as handle:
            return handle.read().strip()
    except FileNotFoundError:
        return default


def write(unit, suffix, text):
    path = os.path.join(STATE, unit + suffix)
    with open(path + ".new", "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    os.replace(path + ".new", path)


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def environment(values, user, notify):
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin", "LANG": "C.UTF-8"}
    if user:
        entry = pwd.getpwnam(user)
        env.update(USER=user, LOGNAME=user, HOME=entry.pw_dir, SHELL=entry.pw_shell)
    for assignment in values.get("Environment", []):
        for word in shlex.split(assignment):
            key, value = word.split("=", 1)
            env[key] = value
    for name in values.get("EnvironmentFile", []):
        optional = name.startswith("-")
        name = name.lstrip("-")
        if not os.path.exists(name) and optional:
            continue
        for line in open(name, encoding="utf-8"):
            line = line.strip()
            if not line or line[0] in "#;" or "=" not in line:
                continue
            key, value = line.split("=", 1)
            env[key.strip()] = value.strip()
    env["INVOCATION_ID"] = uuid.uuid4().hex
    env["NOTIFY_SOCKET"] = notify
    return env


def supervise(unit):
    """The unit's manager while it runs (started detached by `start`)."""
    values = parse(unit)
    user = values.get("User", [None])[-1]
    group = values.get("Group", [None])[-1]
    notify = os.path.join(STATE, unit + ".sock")
    if os.path.exists(notify):
        os.unlink(notify)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(notify)
    os.chmod(notify, 0o666)
    listener.settimeout(0.2)
    umask = int(values.get("UMask", ["0022"])[-1], 8)

    def demote():
        os.umask(umask)
        if group:
            os.setgroups([])
            os.setgid(grp.getgrnam(group).gr_gid)
        if user:
            os.setuid(pwd.getpwnam(user).pw_uid)

    command = shlex.split(values["ExecStart"][-1])
    log = open(os.path.join(STATE, unit + ".log"), "ab")
    process = subprocess.Popen(command, cwd="/", env=environment(values, user, notify), preexec_fn=demote,
                               stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    write(unit, ".pid", str(process.pid))
    with open(os.path.join(STATE, unit + ".notify"), "a", encoding="utf-8") as received:
        while process.poll() is None:
            try:
                message = listener.recv(4096).decode("utf-8", "replace")
            except socket.timeout:
                continue
            received.write(message.replace("\n", " ") + "\n")
            received.flush()
            if "READY=1" in message.split("\n"):
                write(unit, ".state", "active")
    code = process.returncode if process.returncode >= 0 else 128 - process.returncode
    write(unit, ".exit", str(code))
    write(unit, ".state", "inactive" if code == 0 else "failed")


def start(unit):
    if read(unit, ".state") in ("active", "activating"):
        return 0
    parse(unit)
    for suffix in (".exit", ".pid"):
        if os.path.exists(os.path.join(STATE, unit + suffix)):
            os.unlink(os.path.join(STATE, unit + suffix))
    write(unit, ".state", "activating")
    subprocess.Popen([sys.executable, os.path.abspath(__file__), "--supervise", unit], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        state = read(unit, ".state")
        if state == "active":
            return 0
        if state in ("inactive", "failed"):
            print(f"Job for {unit} failed: exit {read(unit, '.exit')}", file=sys.stderr)
            return 1
        time.sleep(0.05)
    print(f"Job for {unit} timed out", file=sys.stderr)
    stop(unit)
    return 1


def stop(unit):
    pid = read(unit, ".pid")
    if read(unit, ".state") not in ("active", "activating") or not pid:
        return 0
    pid = int(pid)
    timeout = seconds(parse(unit).get("TimeoutStopSec", ["90s"])[-1], 90)
    if alive(pid):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while read(unit, ".exit") == "" and time.monotonic() < deadline:
        time.sleep(0.05)
    if read(unit, ".exit") == "" and alive(pid):
        os.kill(pid, signal.SIGKILL)
        while read(unit, ".exit") == "":
            time.sleep(0.05)
    return 0


def links(unit):
    return [os.path.join("/etc/systemd/system", target + ".wants", unit)
            for target in " ".join(parse(unit).get("WantedBy", [])).split()]


def main(argv):
    os.makedirs(STATE, exist_ok=True)
    if argv[:1] == ["--supervise"]:
        supervise(argv[1])
        return 0
    with open(os.path.join(STATE, "calls"), "a", encoding="utf-8") as calls:
        calls.write(" ".join(argv) + "\n")
    words = [word for word in argv if not word.startswith("-")]
    if not words:
        return 0
    command, units = words[0], words[1:]
    if command == "daemon-reload":
        return 0
    if command in ("start", "stop", "restart", "try-restart"):
        status = 0
        for unit in units:
            running = read(unit, ".state") in ("active", "activating")
            if command == "try-restart" and not running:
                continue
            if command != "start":
                stop(unit)
            if command != "stop":
                status = start(unit) or status
        return status
    if command == "is-active":
        states = [read(unit, ".state", "inactive") for unit in units]
        if "--quiet" not in argv and "-q" not in argv:
            print("\n".join("active" if state == "activating" else state for state in states))
        return 0 if all(state == "active" for state in states) else 3
    if command == "is-enabled":
        enabled = [all(os.path.islink(link) for link in links(unit)) and links(unit) != [] for unit in units]
        if "--quiet" not in argv and "-q" not in argv:
            print("\n".join("enabled" if flag else "disabled" for flag in enabled))
        return 0 if all(enabled) else 1
    if command in ("enable", "disable"):
        for unit in units:
            for link in links(unit):
                if command == "enable" and not os.path.islink(link):
                    os.makedirs(os.path.dirname(link), exist_ok=True)
                    os.symlink(unit_file(unit), link)
                    print(f"Created symlink {link} \u2192 {unit_file(unit)}.")
                elif command == "disable" and os.path.islink(link):
                    os.unlink(link)
                    print(f"Removed \"{link}\".")
        return 0
    print(f"systemctl stand-in: {command} is not supported", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
