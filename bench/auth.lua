-- wrk script: send the demo API key (from $BENCH_API_KEY) on every request.
local key = os.getenv("BENCH_API_KEY")
if not key or key == "" then
  error("BENCH_API_KEY is not set")
end
wrk.headers["Authorization"] = "Bearer " .. key
