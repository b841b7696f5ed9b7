-- wrk script for `embedrec serve` (scripts/reliability.sh):
--   wrk -t2 -c8 -d30s --latency -s benchmarks/wrk/load.lua http://127.0.0.1:PORT \
--       -- MODE USERS_FILE ITEMS_FILE
-- MODE: `recommend` (GET /v1/users/{u}/recommendations?n=10 only) or `mixed` (equal
-- shares, in turn: that GET, GET /v1/items/{i}/similar?n=10, POST /v1/recommend with a
-- new user's 20 ratings of distinct items, POST /v1/predict with 10 pairs). USERS_FILE
-- and ITEMS_FILE list raw ids the model knows, one a line, so no 404 is expected.
-- Prints wrk's figures, then machine-readable lines: the status counts, requests/s,
-- and latency percentiles in ms.

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

local mode, users, items = "recommend", {}, {}
local turn = 0
codes = {}

function init(args)
  mode = args[1] or "recommend"
  for line in io.lines(args[2]) do
    if line ~= "" then users[#users + 1] = line end
  end
  for line in io.lines(args[3]) do
    if line ~= "" then items[#items + 1] = line end
  end
  math.randomseed(12345 + 7919 * (tid or 0))
end

local json_headers = { ["Content-Type"] = "application/json" }

local function user() return users[math.random(#users)] end
local function item() return items[math.random(#items)] end

local function fold_in_body()
  local chosen, parts = {}, {}
  while #parts < 20 do
    local i = item()
    if not chosen[i] then
      chosen[i] = true
      parts[#parts + 1] = string.format('{"item":"%s","rating":%d}', i, math.random(1, 5))
    end
  end
  return '{"ratings":[' .. table.concat(parts, ",") .. '],"n":10}'
end

local function predict_body()
  local parts = {}
  for _ = 1, 10 do
    parts[#parts + 1] = string.format('{"user":"%s","item":"%s"}', user(), item())
  end
  return '{"pairs":[' .. table.concat(parts, ",") .. ']}'
end

function request()
  local k = 0
  if mode == "mixed" then
    k = turn % 4
    turn = turn + 1
  end
  if k == 0 then
    return wrk.format("GET", "/v1/users/" .. user() .. "/recommendations?n=10")
  elseif k == 1 then
    return wrk.format("GET", "/v1/items/" .. item() .. "/similar?n=10")
  elseif k == 2 then
    return wrk.format("POST", "/v1/recommend", json_headers, fold_in_body())
  else
    return wrk.format("POST", "/v1/predict", json_headers, predict_body())
  end
end

function response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("codes")) do
      total[status] = (total[status] or 0) + n
    end
  end
  local non2xx = 0
  for status, n in pairs(total) do
    io.write(string.format("status %d: %d\n", status, n))
    if status < 200 or status > 299 then non2xx = non2xx + n end
  end
  io.write(string.format("requests %d\n", summary.requests))
  io.write(string.format("errors connect %d read %d write %d timeout %d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
  io.write(string.format("non2xx %d\n", non2xx))
  io.write(string.format("rps %.0f\n", summary.requests / (summary.duration / 1e6)))
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    io.write(string.format("p%s_ms %.3f\n", p, latency:percentile(p) / 1000))
  end
  io.write(string.format("max_ms %.3f\n", latency.max / 1000))
end
