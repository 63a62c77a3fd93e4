-- wrk script: POST /transactions with async false, each request buying a different fresh rate
-- collected by collect_rates.lua (a rate bought twice would answer the first purchase from the
-- fast path, so running out of rates is reported and fails the run).
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "ShippoToken " .. os.getenv("TOKEN")

local n, all = 0, {}
function setup(thread)
  n = n + 1
  all[n] = thread
  thread:set("id", n)
  thread:set("threads", tonumber(os.getenv("THREADS") or "2"))
end

rates, next_rate, bad, reused = {}, 1, 0, 0
function init(args)
  local i = 0
  for file in io.popen("ls " .. os.getenv("RATES_DIR") .. "/rates-*.txt"):lines() do
    for line in io.lines(file) do
      i = i + 1
      if i % threads == id - 1 then rates[#rates + 1] = line end
    end
  end
end

function request()
  local rate = rates[next_rate]
  if rate == nil then
    reused = reused + 1
    next_rate = 1
    rate = rates[1]
  end
  next_rate = next_rate + 1
  return wrk.format("POST", "/transactions", nil, '{"rate":"' .. rate .. '","async":false}')
end

function response(status, headers, body)
  if status ~= 201 or not body:find('"status":"SUCCESS"', 1, true) then
    if bad == 0 then io.stderr:write("first unsuccessful purchase: ", status, " ", body, "\n") end
    bad = bad + 1
  end
end

-- done() runs in the main state: the counters live in each thread's.
function done(summary, latency, requests)
  local failed, twice = 0, 0
  for _, t in ipairs(all) do
    failed = failed + t:get("bad")
    twice = twice + t:get("reused")
  end
  io.write(string.format("unsuccessful purchases: %d\nrates bought twice: %d\n", failed, twice))
end
