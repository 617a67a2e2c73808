-- wrk script for bench/wrk.py: each wrk thread sends the request bodies of its own file, in
-- order, one per request, and counts the answers the phase expects.
--
-- wrk -t T -c C -d S -s bench/wrk_verify.lua URL -- BODIES AUTHORIZATION STATUS NEEDLE
--   BODIES         the bodies' file prefix: thread i reads BODIES.i, one JSON body a line
--   AUTHORIZATION  the Authorization header ("-" for none)
--   STATUS         the status of an expected answer (200 for valid codes, 401 for wrong)
--   NEEDLE         text an expected answer's body contains ("-" for any)
--
-- The files are made so that a token's next code is thousands of requests after its
-- previous one: the previous one has always been answered when the next one is sent.
-- A thread that runs out of bodies sends its last one again; the server refuses it as a
-- replay, and the phase reports "exhausted".

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

function init(args)
   bodies = {}
   for line in io.lines(args[1] .. "." .. id) do
      bodies[#bodies + 1] = line
   end
   headers = { ["Content-Type"] = "application/json" }
   if args[2] ~= "-" then
      headers["Authorization"] = args[2]
   end
   expected_status = tonumber(args[3])
   needle = args[4] ~= "-" and args[4] or nil
   sent, ok, unexpected, exhausted = 0, 0, 0, 0
   sample = ""
end

function request()
   sent = sent + 1
   local body = bodies[sent]
   if body == nil then
      exhausted = exhausted + 1
      body = bodies[#bodies]
   end
   return wrk.format("POST", nil, headers, body)
end

function response(status, _, body)
   if status == expected_status and (needle == nil or string.find(body, needle, 1, true)) then
      ok = ok + 1
   else
      unexpected = unexpected + 1
      if sample == "" then
         sample = status .. " " .. string.sub(body or "", 1, 160)
      end
   end
end

function done(summary, latency, _)
   local total_ok, total_unexpected, total_exhausted, first = 0, 0, 0, ""
   for _, thread in ipairs(threads) do
      total_ok = total_ok + thread:get("ok")
      total_unexpected = total_unexpected + thread:get("unexpected")
      total_exhausted = total_exhausted + thread:get("exhausted")
      if first == "" then
         first = thread:get("sample")
      end
   end
   local errors = summary.errors
   io.write(string.format(
      'RESULT {"ok": %d, "unexpected": %d, "exhausted": %d, "requests": %d, '
         .. '"duration_us": %d, "p50_us": %d, "p99_us": %d, "transport_errors": %d, '
         .. '"sample": "%s"}\n',
      total_ok, total_unexpected, total_exhausted, summary.requests, summary.duration,
      latency:percentile(50), latency:percentile(99),
      errors.connect + errors.read + errors.write + errors.timeout,
      (string.gsub(first, '[%c"\\]', "?"))))
end
