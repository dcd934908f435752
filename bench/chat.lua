-- wrk script: a small non-streamed chat request, and a one-line summary.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_KEY") or "sk-bench-master")
local stream = os.getenv("BENCH_STREAM") == "1"
if stream then
  wrk.body = '{"model":"bench","stream":true,"messages":[{"role":"user","content":"Hello there, how are you today?"}]}'
else
  wrk.body = '{"model":"bench","messages":[{"role":"user","content":"Hello there, how are you today?"}]}'
end

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT rps=%.0f p50_us=%d p99_us=%d requests=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
    summary.requests, errors))
end
