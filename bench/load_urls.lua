-- wrk script: GET the URLs of a file (one a line) in turn, each wrk thread from its own slice.
--
--   wrk -t2 -c16 -d20s -s bench/load_urls.lua http://127.0.0.1:8000 -- urls.txt
--
-- Thread n of N starts at line 1 + (n - 1) * lines / N and walks on, so a list at least as long
-- as the run's request count is read once: every request is the first read of its URL. The
-- connections of a thread share its position. Prints one line for bench/api_http.py:
--   wrk-result {"requests": ..., "non_200": ..., "wrapped": ..., ...}
-- where non_200 counts responses other than 200 and wrapped is true when a thread came back
-- to its first URL (some URLs were then read twice).

local threads = {}

function setup(thread)
   thread:set("number", #threads)
   table.insert(threads, thread)
end

function init(args)
   paths = {}
   for line in io.lines(args[1]) do
      if line ~= "" then
         -- wrk connects to the address given on its command line; requests carry paths only.
         paths[#paths + 1] = line:gsub("^https?://[^/]+", "")
      end
   end
   local thread_count = tonumber(args[2] or "1")
   first = 1 + math.floor(number * #paths / thread_count)
   position = first
   sent = 0
   non_200 = 0
   wrapped = false
end

function request()
   local path = paths[position]
   position = position + 1
   if position > #paths then
      position = 1
   end
   if position == first then
      wrapped = true
   end
   sent = sent + 1
   return wrk.format("GET", path)
end

function response(status, headers, body)
   if status ~= 200 then
      non_200 = non_200 + 1
      if non_200 <= 3 then
         io.stderr:write(string.format("non-200: %d %s\n", status, body:sub(1, 200)))
      end
   end
end

function done(summary, latency, requests)
   local non_200_total, wrapped_any = 0, false
   for _, thread in ipairs(threads) do
      non_200_total = non_200_total + thread:get("non_200")
      wrapped_any = wrapped_any or thread:get("wrapped")
   end
   local errors = summary.errors
   io.write(string.format(
      'wrk-result {"requests": %d, "duration_us": %d, "non_200": %d, "connect": %d, "read": %d, '
         .. '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
         .. '"max_us": %d, "wrapped": %s}\n',
      summary.requests, summary.duration, non_200_total, errors.connect, errors.read, errors.write,
      errors.status, errors.timeout, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, tostring(wrapped_any)
   ))
end
