-- wrk script: POST /carrier_accounts/{id}/events, each request one signed EasyPost tracker event
-- from $EVENTS_FILE (lines "<X-Hmac-Signature>\t<body>", made by bench/events.py), every event new:
-- a distinct parcel and time. Running out of events is reported (later requests are replays).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local n = 0
function setup(thread)
  n = n + 1
  thread:set("id", n)
  thread:set("threads", tonumber(os.getenv("THREADS") or "2"))
end

events, next_event, replays = {}, 1, 0
function init(args)
  local i = 0
  for line in io.lines(os.getenv("EVENTS_FILE")) do
    i = i + 1
    if i % threads == id - 1 then
      local sig, body = line:match("^([^\t]+)\t(.*)$")
      events[#events + 1] = {sig, body}
    end
  end
end

function request()
  local e = events[next_event]
  if e == nil then
    replays = replays + 1
    next_event = 1
    e = events[1]
  end
  next_event = next_event + 1
  wrk.headers["X-Hmac-Signature"] = e[1]
  return wrk.format(nil, nil, nil, e[2])
end
