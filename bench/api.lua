-- wrk script for bench/api.sh: POST /tasks with a minimal body, counting non-2xx responses.
-- done() prints a machine-readable "BENCH ..." line (latencies in microseconds) that api.sh parses.

wrk.method = "POST"
wrk.body = '{"title":"bench"}'
wrk.headers["Content-Type"] = "application/json"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
  statuses = {}
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  local byStatus = {}
  for _, thread in ipairs(threads) do
    total = total + thread:get("non2xx")
    for status, count in pairs(thread:get("statuses")) do
      byStatus[status] = (byStatus[status] or 0) + count
    end
  end
  local e = summary.errors
  if total > 0 then
    local parts = {}
    for status, count in pairs(byStatus) do table.insert(parts, status .. "x" .. count) end
    table.sort(parts)
    io.write(string.format("non-2xx responses: %d (%s)\n", total, table.concat(parts, " ")))
  else
    io.write("non-2xx responses: 0\n")
  end
  io.write(string.format(
    "BENCH requests=%d duration_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d mean_us=%.1f p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, total, e.connect, e.read, e.write, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(99)))
end
