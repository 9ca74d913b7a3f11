-- The request mixes of scripts/bench-service for wrk (examples/service/README.md has the
-- routes). The mix is wrk's first script argument: `wrk ... -s service_mix.lua URL -- cached`.
--   cached  90 % GET /users/{id}, 10 % GET /users?ids= with 20 ids
--   mixed   60 % GET /users/{id}, 10 % GET /users?ids= with 20 ids,
--           20 % GET /users/{id}/posts, 10 % POST /posts with 2 posts
-- Every user id is drawn Zipf (s = 1) over the 10,000 seeded users: user 1 the most popular.
-- When the run ends, done() prints one line "wrk-json {...}" with the totals and the
-- latency percentiles in microseconds, which bench_service.py reads. With a second argument
-- `statuses` (`-- mixed statuses`), every response is also counted by status and the line
-- says how many requests were sent ("sent") and answered, by status ("statuses"); wrk hands
-- a response to the script only when the script asks for it, which costs time, so plain runs
-- leave it off.

local users = 10000
local ids_per_list = 20
local posts_per_batch = 2

local mixes = {
  cached = {{0.90, "user"}, {1.00, "users"}},
  mixed = {{0.60, "user"}, {0.70, "users"}, {0.90, "posts"}, {1.00, "post"}},
}

local cdf = {}
local mix

local function zipf_id()
  local u = math.random()
  local lo, hi = 1, users
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < u then lo = mid + 1 else hi = mid end
  end
  return lo
end

local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("thread_number", counter)
  threads[counter] = thread
end

-- Per thread (each wrk thread has its own Lua state): requests written, responses by status.
sent = 0
statuses = {}

local function count_status(status)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function init(args)
  local name = args[1] or "cached"
  mix = mixes[name]
  if mix == nil then
    io.stderr:write("service_mix.lua: unknown mix '" .. name .. "' (cached or mixed)\n")
    os.exit(2)
  end
  local sum = 0
  for i = 1, users do
    sum = sum + 1 / i
    cdf[i] = sum
  end
  for i = 1, users do cdf[i] = cdf[i] / sum end
  math.randomseed(12345 + 7919 * (thread_number or 0))
  if args[2] == "statuses" then
    response = count_status
  elseif args[2] ~= nil then
    io.stderr:write("service_mix.lua: unknown option '" .. args[2] .. "' (statuses)\n")
    os.exit(2)
  end
end

local function ids_list()
  local parts = {}
  for i = 1, ids_per_list do parts[i] = tostring(zipf_id()) end
  return table.concat(parts, ",")
end

local function post_body()
  local items = {}
  for i = 1, posts_per_batch do
    items[i] = string.format('{"user_id":%d,"title":"Load %d","body":"Written under load"}',
                             zipf_id(), i)
  end
  return "[" .. table.concat(items, ",") .. "]"
end

local json_headers = {["Content-Type"] = "application/json"}

function request()
  sent = sent + 1
  local u = math.random()
  local kind
  for _, step in ipairs(mix) do
    if u <= step[1] then kind = step[2]; break end
  end
  kind = kind or mix[#mix][2]
  if kind == "user" then
    return wrk.format("GET", "/users/" .. zipf_id())
  elseif kind == "users" then
    return wrk.format("GET", "/users?ids=" .. ids_list())
  elseif kind == "posts" then
    return wrk.format("GET", "/users/" .. zipf_id() .. "/posts")
  end
  return wrk.format("POST", "/posts", json_headers, post_body())
end

function done(summary, latency, requests)
  local e = summary.errors
  local total_sent = 0
  local by_status = {}
  for _, thread in ipairs(threads) do
    total_sent = total_sent + (thread:get("sent") or 0)
    for status, n in pairs(thread:get("statuses") or {}) do
      by_status[status] = (by_status[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(by_status) do parts[#parts + 1] = string.format('"%s":%d', status, n) end
  table.sort(parts)
  io.write(string.format(
    'wrk-json {"sent":%d,"statuses":{%s},"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    total_sent, table.concat(parts, ","), summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
